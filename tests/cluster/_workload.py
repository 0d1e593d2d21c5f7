"""Write-and-read loops run against caches while a scenario kills and restarts nodes.

A :class:`CacheKind` says how to build one kind of cache and how to write and read one
fresh key through it; :data:`CACHE_KINDS` lists the kinds the failure scenarios cover. A
new kind is one more ``CacheKind(...)`` in that list: the scenarios run every kind at once,
one thread each. The semantic cache's reads ask each key in other words, so every read is an
exact-key miss followed by a filtered kNN search.

A :class:`Workload` runs one cache in a thread: write a fresh key, read it back, pause,
again, until stopped. It counts every call and every failure (an exception), remembers
every *acknowledged* write (the write returned without an exception), and afterwards reads
each acknowledged key back (:meth:`Workload.verify`): one that is not found is a lost write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.outputs import Generation

from langchain_elasticsearch_cache import (
    ElasticsearchCache,
    ElasticsearchEmbeddingsCache,
    ElasticsearchSemanticCache,
)

LLM_STRING = "cluster-test-model"
# a pause between iterations keeps each loop at a few calls a second: the machine is shared
PAUSE_SECONDS = 0.25


def _llm_write(cache: Any, key: str) -> None:
    cache.update(key, LLM_STRING, [Generation(text=f"answer to {key}")])


def _llm_read(cache: Any, keys: list[str]) -> list[bool]:
    return [cache.lookup(key, LLM_STRING) == [Generation(text=f"answer to {key}")] for key in keys]


def _bytes_write(cache: Any, key: str) -> None:
    cache.mset([(key, f"vector of {key}".encode())])


def _bytes_read(cache: Any, keys: list[str]) -> list[bool]:
    found = cache.mget(keys)
    return [value == f"vector of {key}".encode() for key, value in zip(keys, found, strict=True)]


class _QuestionEmbedding(DeterministicFakeEmbedding):
    """A fake model that reads only the part of a prompt before ``#``: ``"k#again"`` means
    the same as ``"k"``, so reading it back is a semantic (kNN) hit, not an exact one."""

    def embed_query(self, text: str) -> list[float]:
        return super().embed_query(text.split("#")[0])


def _semantic_cache(index_name: str, **options: Any) -> ElasticsearchSemanticCache:
    # wait_for: the entry is searchable (found by kNN) when the write returns
    return ElasticsearchSemanticCache(
        index_name, _QuestionEmbedding(size=32), refresh="wait_for", **options
    )


def _semantic_read(cache: Any, keys: list[str]) -> list[bool]:
    """Each key asked in other words (an exact-key miss, then the kNN search)."""
    return [
        cache.lookup(f"{key}#again", LLM_STRING) == [Generation(text=f"answer to {key}")]
        for key in keys
    ]


@attrs.frozen
class CacheKind:
    """One kind of cache under test: its class and how to write and read a key."""

    name: str
    build: Callable[..., Any]  # (index_name, **connection options) -> cache
    write: Callable[[Any, str], None]  # one acknowledged write of a fresh key
    read: Callable[[Any, list[str]], list[bool]]  # per key: found with the written value
    write_call: str  # the operation names counted in the report
    read_call: str


CACHE_KINDS: list[CacheKind] = [
    CacheKind("llm", ElasticsearchCache, _llm_write, _llm_read, "update", "lookup"),
    CacheKind(
        "embeddings", ElasticsearchEmbeddingsCache, _bytes_write, _bytes_read, "mset", "mget"
    ),
    CacheKind("semantic", _semantic_cache, _llm_write, _semantic_read, "update", "lookup"),
]


@attrs.define
class Workload:
    """One cache in a write-then-read loop on a thread of its own."""

    label: str
    kind: CacheKind
    cache: Any
    prefix: str
    fail_open: bool = False  # the cache was built with fail_open=True
    calls: int = 0
    failures: int = 0
    misses: int = 0  # a fresh key read back right after its acknowledged write, not found
    iterations: int = 0
    acknowledged: list[str] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    lost: list[str] = attrs.field(factory=list)
    _stop: threading.Event = attrs.field(factory=threading.Event)
    _thread: threading.Thread | None = None
    _progress: threading.Condition = attrs.field(factory=threading.Condition)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.label, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=600)
            assert not self._thread.is_alive(), f"{self.label}: the loop did not stop"

    def wait_for_iterations(self, more: int, timeout: float = 600.0) -> None:
        """Block until the loop has done ``more`` further iterations (not a timing:
        it makes sure calls were made during the state the scenario is in)."""
        with self._progress:
            target = self.iterations + more
            done = self._progress.wait_for(
                lambda: self.iterations >= target or self._thread is None, timeout
            )
        assert done, f"{self.label}: only {self.iterations} of {target} iterations done"

    def _call(self, call: Callable[[], Any]) -> Any:
        self.calls += 1
        try:
            return call()
        except Exception as error:
            self.failures += 1
            if len(self.errors) < 5:
                self.errors.append(f"{type(error).__name__}: {error}")
            return None

    def _writer(self, key: str) -> Callable[[], bool]:
        def write() -> bool:
            self.kind.write(self.cache, key)
            return True

        return write

    def _reader(self, key: str) -> Callable[[], list[bool]]:
        return lambda: self.kind.read(self.cache, [key])

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            key = f"{self.prefix}-{number}"
            number += 1
            if self._call(self._writer(key)):
                self.acknowledged.append(key)
                found = self._call(self._reader(key))
                if found is not None and not found[0]:
                    self.misses += 1
            with self._progress:
                self.iterations += 1
                self._progress.notify_all()
            self._stop.wait(PAUSE_SECONDS)

    def verify(self, batch: int = 100) -> None:
        """Read every acknowledged key back (after the scenario, cluster green)."""
        self.lost = []
        for start in range(0, len(self.acknowledged), batch):
            keys = self.acknowledged[start : start + batch]
            found = self.kind.read(self.cache, keys)
            self.lost.extend(key for key, ok in zip(keys, found, strict=True) if not ok)

    def report(self, scenario: str) -> str:
        head = f"{scenario:<26} {self.label:<28} calls={self.calls:<5} failures={self.failures:<3}"
        if self.fail_open:
            # a fail-open write during the outage is skipped, not stored: "acknowledged"
            # means answered, and what went without the cache is counted by the cache
            absorbed = self.cache.statistics.failed_open
            return f"{head} answered={self.calls - self.failures:<5} without-cache={absorbed}"
        return (
            f"{head} misses={self.misses:<3} acknowledged={len(self.acknowledged):<4} "
            f"lost={len(self.lost)}"
        )
