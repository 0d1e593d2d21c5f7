"""Faults on nodes of their own (never the session's node): a crash and an overload.

* SIGKILL in the middle of a stream of acknowledged writes, restart on the same data and
  ports: every write acknowledged before the kill is read back. Elasticsearch acknowledges
  an index or bulk request only after its translog is fsynced
  (``index.translog.durability: request``, the default, checked here), so an
  acknowledged write survives the crash of the process, and the test shows it.
* A node with a one-thread write pool and a write queue of one
  (``thread_pool.write.size=1``, ``thread_pool.write.queue_size=1``) under many
  concurrent writers: it rejects with 429, the whole request for a single-document write
  and per item inside a 200 bulk response (``es_rejected_execution_exception``). The
  client retries those with backoff (the transport on ``retry_on_status``, the
  repository for bulk items and single writes), so the callers see no error and nothing
  acknowledged is missing; the node's own rejection counter shows the 429s happened.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    create_elasticsearch_client,
)
from langchain_elasticsearch_cache.adapters.elasticsearch.client import DEFAULT_RETRY_ON_STATUS

from ._nodes import local_node

pytestmark = pytest.mark.elasticsearch

INDEX = "faults"


def _wait_for_index(client: Elasticsearch, index: str) -> None:
    client.cluster.health(index=index, wait_for_status="yellow", timeout="60s")


class _Writers:
    """Threads writing until told to stop or until a write fails (after the kill)."""

    def __init__(self, cache: ElasticsearchCache, store: ElasticsearchEmbeddingsCache) -> None:
        self.cache, self.store = cache, store
        self.llm: dict[str, str] = {}
        self.vectors: dict[str, bytes] = {}
        self.failed: dict[str, int] = {"update": 0, "mset": 0}
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._updates, args=(n,), daemon=True) for n in range(2)
        ] + [threading.Thread(target=self._msets, args=(n,), daemon=True) for n in range(2)]

    def _updates(self, thread: int) -> None:
        n = 0
        while not self.stop.is_set():
            prompt = f"prompt-{thread}-{n}"
            try:
                self.cache.update(prompt, "llm", [Generation(text=f"answer-{n}")])
            except Exception:
                self.failed["update"] += 1
                return
            self.llm[prompt] = f"answer-{n}"  # acknowledged
            n += 1

    def _msets(self, thread: int) -> None:
        n = 0
        while not self.stop.is_set():
            batch = [(f"vector-{thread}-{n}-{i}", f"{n}:{i}".encode()) for i in range(10)]
            try:
                self.store.mset(batch)
            except Exception:
                self.failed["mset"] += 1
                return
            self.vectors.update(batch)  # acknowledged
            n += 1

    @property
    def acknowledged(self) -> int:
        return len(self.llm) + len(self.vectors)


def test_acknowledged_writes_survive_sigkill() -> None:
    with local_node() as node:
        admin = Elasticsearch(node.url, request_timeout=60)
        try:
            cache = ElasticsearchCache(INDEX, es_url=node.url, max_retries=1)
            store = ElasticsearchEmbeddingsCache(f"{INDEX}-emb", es_url=node.url, max_retries=1)
            cache.update("warm", "up", [Generation(text="x")])
            store.mset([("warm", b"up")])
            for index in (INDEX, f"{INDEX}-emb"):
                settings = admin.indices.get_settings(index=index, include_defaults=True)
                durability = settings[index]["defaults"]["index"]["translog"]["durability"]
                assert durability.lower() == "request"  # fsync before the acknowledgement

            writers = _Writers(cache, store)
            for thread in writers.threads:
                thread.start()
            deadline = time.monotonic() + 60
            while writers.acknowledged < 2000 and time.monotonic() < deadline:
                time.sleep(0.05)
            acknowledged_at_kill = writers.acknowledged
            node.kill()  # SIGKILL to the node's process group, writers still writing
            for thread in writers.threads:
                thread.join(timeout=60)
            assert not any(thread.is_alive() for thread in writers.threads)
            acknowledged = writers.acknowledged  # includes the ones in flight at the kill

            node.restart()
            _wait_for_index(admin, f"{INDEX},{INDEX}-emb")
            # the same cache objects carry on after the restart (same port)
            lost = [
                prompt
                for prompt, answer in writers.llm.items()
                if cache.lookup(prompt, "llm") != [Generation(text=answer)]
            ]
            keys = list(writers.vectors)
            lost += [
                key
                for key, value in zip(keys, store.mget(keys), strict=True)
                if value != writers.vectors[key]
            ]
            cache.close()
            store.close()
        finally:
            admin.close()
    print(
        f"\nSIGKILL: {acknowledged} writes acknowledged ({len(writers.llm)} updates, "
        f"{len(writers.vectors)} vectors in {len(writers.vectors) // 10} msets; "
        f"{acknowledged_at_kill} when the kill was sent), failed after the kill "
        f"{writers.failed}, lost {len(lost)}"
    )
    assert acknowledged >= 2000
    assert lost == []


def _rejections(client: Elasticsearch) -> int:
    stats = client.nodes.stats(metric="thread_pool", filter_path="nodes.*.thread_pool.write")
    return sum(int(node["thread_pool"]["write"]["rejected"]) for node in stats["nodes"].values())


def test_429_rejections_are_retried_and_nothing_is_lost() -> None:
    overloaded = {"thread_pool.write.size": "1", "thread_pool.write.queue_size": "1"}
    with local_node(settings=overloaded) as node:
        factory_client = create_elasticsearch_client(node.url)
        try:
            assert 429 in DEFAULT_RETRY_ON_STATUS
            assert 429 in factory_client.transport.retry_on_status
        finally:
            factory_client.close()

        admin = Elasticsearch(node.url, request_timeout=60)
        cache = ElasticsearchCache(INDEX, es_url=node.url)
        store = ElasticsearchEmbeddingsCache(f"{INDEX}-emb", es_url=node.url)
        results: dict[str, Any] = {"errors": [], "llm": {}, "vectors": {}}
        lock = threading.Lock()
        try:
            cache.update("warm", "up", [Generation(text="x")])
            store.mset([("warm", b"up")])
            rejected_before = _rejections(admin)
            start = threading.Barrier(20)

            def msets(thread: int) -> None:
                start.wait()
                for n in range(8):
                    batch = [
                        (f"v-{thread}-{n}-{i}", f"{thread}:{n}:{i}".encode()) for i in range(100)
                    ]
                    try:
                        store.mset(batch)
                    except Exception as error:
                        with lock:
                            results["errors"].append(repr(error)[:300])
                    else:
                        with lock:
                            results["vectors"].update(batch)

            def updates(thread: int) -> None:
                start.wait()
                for n in range(40):
                    prompt = f"p-{thread}-{n}"
                    try:
                        cache.update(prompt, "llm", [Generation(text=prompt)])
                    except Exception as error:
                        with lock:
                            results["errors"].append(repr(error)[:300])
                    else:
                        with lock:
                            results["llm"][prompt] = prompt

            threads = [threading.Thread(target=msets, args=(n,)) for n in range(12)]
            threads += [threading.Thread(target=updates, args=(n,)) for n in range(8)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
            elapsed = time.monotonic() - started
            rejected = _rejections(admin) - rejected_before

            lost = [
                p
                for p, a in results["llm"].items()
                if cache.lookup(p, "llm") != [Generation(text=a)]
            ]
            keys = list(results["vectors"])
            lost += [
                key
                for key, value in zip(keys, store.mget(keys), strict=True)
                if value != results["vectors"][key]
            ]
        finally:
            cache.close()
            store.close()
            admin.close()
    attempted = 12 * 8 * 100 + 8 * 40
    written = len(results["vectors"]) + len(results["llm"])
    print(
        f"\n429: {attempted} writes ({12 * 8} msets of 100, {8 * 40} updates) by 20 threads "
        f"in {elapsed:.1f}s; the node rejected {rejected} requests or items with 429; "
        f"errors {len(results['errors'])}, acknowledged {written}, lost {len(lost)}"
    )
    assert rejected > 0, "the node was not overloaded: the test proves nothing"
    assert results["errors"] == []
    assert written == attempted
    assert lost == []
