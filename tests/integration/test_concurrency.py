"""Many processes and threads on one index from a cold start: no error, nothing lost.

8 processes (spawned, so nothing is shared but the node) x 4 threads x 200 operations:
LLM ``update`` / ``lookup`` and byte-store ``mset`` / ``mget`` mixed at random, on two
indices (one per cache kind: they may not share one) that do not exist when they start
(every thread races to create them). Each thread reads its
own writes back as it goes; each process reports what was acknowledged, and the parent
then reads every acknowledged write back.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
from elasticsearch import Elasticsearch
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import ElasticsearchCache, ElasticsearchEmbeddingsCache

from ._workers import mixed_worker

pytestmark = pytest.mark.elasticsearch

PROCESSES, THREADS, OPERATIONS = 8, 4, 200


def test_processes_and_threads_on_one_index_from_a_cold_start(
    es_url: str, es_client: Elasticsearch, index_name: str
) -> None:
    assert not es_client.indices.exists(index=index_name)
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(mixed_worker, es_url, index_name, process, THREADS, OPERATIONS)
            for process in range(PROCESSES)
        ]
        results = [future.result(timeout=300) for future in futures]
    elapsed = time.monotonic() - started

    errors = [error for result in results for error in result["errors"]]
    counts = {name: sum(r["counts"][name] for r in results) for name in results[0]["counts"]}
    llm: dict[str, str] = {}
    vectors: dict[str, str] = {}
    shared: dict[str, set[str]] = {}
    for result in results:
        llm.update(result["llm"])  # keys are per thread: no two threads write one key
        vectors.update(result["vectors"])
        for key, value in result["shared"]:
            shared.setdefault(key, set()).add(value)

    lost: list[str] = []
    with (
        ElasticsearchCache(index_name, es_url=es_url) as cache,
        ElasticsearchEmbeddingsCache(f"{index_name}-emb", es_url=es_url, namespace="ns") as store,
    ):
        for composite, answer in llm.items():
            prompt, llm_string = composite.split("\x1f")
            if cache.lookup(prompt, llm_string) != [Generation(text=answer)]:
                lost.append(composite)
        keys = list(vectors)
        for key, value in zip(keys, store.mget(keys), strict=True):
            if value is None or value.hex() != vectors[key]:
                lost.append(key)
        shared_keys = list(shared)
        for key, value in zip(shared_keys, store.mget(shared_keys), strict=True):
            if value is None or value.hex() not in shared[key]:
                lost.append(key)

    operations = sum(counts[name] for name in ("lookup", "update", "mset", "mget"))
    print(
        f"\nconcurrency: {PROCESSES} processes x {THREADS} threads x {OPERATIONS} ops = "
        f"{operations} operations ({counts}) in {elapsed:.1f}s; acknowledged writes "
        f"checked: {len(llm)} LLM keys, {len(vectors)} + {len(shared)} shared vector keys; "
        f"errors {len(errors)}, stale reads {counts['stale_reads']}, lost {len(lost)}"
    )
    assert errors == [], errors[:3]
    assert operations + len(errors) == PROCESSES * THREADS * OPERATIONS
    assert counts["stale_reads"] == 0
    assert lost == []
    assert es_client.indices.exists(index=index_name)
    assert es_client.indices.exists(index=f"{index_name}-emb")
    assert len(es_client.indices.get(index=f"{index_name}*")) == 2  # one each, no twin
