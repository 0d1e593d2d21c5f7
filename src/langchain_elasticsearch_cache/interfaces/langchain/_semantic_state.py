"""The semantic caches' own bookkeeping: statistics counters, the vector memo, pending
observations.

Three small thread-safe objects a semantic cache (:mod:`.semantic_cache`) keeps besides its
repository; none of them does I/O or awaits inside its lock, so the sync and the async
cache share them:

* :class:`SemanticCounters`: what the cache counts beyond the runtime's operation
  statistics (exact and semantic hits, embedding calls, verified-hit learning), and their
  OpenTelemetry twins when telemetry is on;
* :class:`VectorMemo`: the vectors of recent misses, so that the ``update`` after a miss
  embeds nothing;
* :class:`PendingObservations`: the explored lookups of a verified cache until their
  ``update`` (which entry, at what similarity).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from ...domain.keys import encode_text
from ...domain.semantic import SemanticHit
from ...domain.semantic_records import SemanticCandidate
from .statistics import CacheStatistics, SemanticCacheStatistics
from .telemetry import CacheTelemetry, mark_semantic_hit

__all__ = [
    "SIMILARITIES_KEPT",
    "PendingObservation",
    "PendingObservations",
    "SemanticCounters",
    "VectorMemo",
]

#: How many semantic-hit similarities the statistics keep (the most recent ones).
SIMILARITIES_KEPT = 1000


class SemanticCounters:
    """What a semantic cache counts beyond the runtime's operation statistics."""

    def __init__(self, telemetry: CacheTelemetry | None = None) -> None:
        self._lock = threading.Lock()
        self._telemetry = telemetry  # OpenTelemetry's twin of these counters, if any
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.exact_hits = self.semantic_hits = 0
            self.embedding_calls = self.embedding_failures = 0
            self.explorations = self.observations = self.wrong_observations = 0
            self.judge_failures = 0
            self.similarities: deque[float] = deque(maxlen=SIMILARITIES_KEPT)

    def add(self, field: str) -> None:
        with self._lock:
            setattr(self, field, getattr(self, field) + 1)
        if self._telemetry is not None and field in ("embedding_calls", "embedding_failures"):
            self._telemetry.embedding_call(failed=field == "embedding_failures")

    def semantic_hit(self, similarity: float) -> None:
        with self._lock:
            self.semantic_hits += 1
            self.similarities.append(similarity)
        if self._telemetry is not None:
            mark_semantic_hit()

    def nearest(self, candidates: Sequence[SemanticCandidate], hit: SemanticHit | None) -> None:
        """The similarity of the nearest candidate of a search (OpenTelemetry only)."""
        if self._telemetry is not None and candidates:
            best = max(candidate.similarity for candidate in candidates)
            self._telemetry.nearest_similarity(best, hit is not None)

    def snapshot(self, base: CacheStatistics) -> SemanticCacheStatistics:
        with self._lock:
            return SemanticCacheStatistics(
                operations=base.operations,
                exact_hits=self.exact_hits,
                semantic_hits=self.semantic_hits,
                embedding_calls=self.embedding_calls,
                embedding_failures=self.embedding_failures,
                similarities=tuple(self.similarities),
                explorations=self.explorations,
                observations=self.observations,
                wrong_observations=self.wrong_observations,
                judge_failures=self.judge_failures,
            )


class VectorMemo:
    """The vectors of recent misses, by the text embedded: the update that follows a miss
    takes its vector from here. Bounded (least recently used go first), thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[bytes, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha256(encode_text(text)).digest()

    def put(self, text: str, vector: tuple[float, ...]) -> None:
        if self._size == 0:
            return
        key = self._key(text)
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)

    def pop(self, text: str) -> tuple[float, ...] | None:
        with self._lock:
            return self._vectors.pop(self._key(text), None)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)


@attrs.frozen
class PendingObservation:
    """An explored lookup waiting for its update: which entry, at what similarity."""

    key: str
    similarity: float
    expires: datetime


class PendingObservations:
    """Explored lookups by ``(prompt, llm_string)`` until their ``update``: bounded (least
    recently explored go first), expiring, thread-safe (no await inside the lock)."""

    def __init__(self, size: int, ttl: timedelta) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[bytes, PendingObservation] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(prompt: str, llm_string: str) -> bytes:
        digest = hashlib.sha256(encode_text(prompt))
        digest.update(b"\0")
        digest.update(encode_text(llm_string))
        return digest.digest()

    def put(self, prompt: str, llm_string: str, key: str, similarity: float, now: datetime) -> None:
        item = PendingObservation(key=key, similarity=similarity, expires=now + self._ttl)
        slot = self._key(prompt, llm_string)
        with self._lock:
            self._items[slot] = item
            self._items.move_to_end(slot)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, prompt: str, llm_string: str, now: datetime) -> PendingObservation | None:
        with self._lock:
            item = self._items.pop(self._key(prompt, llm_string), None)
        return item if item is not None and now < item.expires else None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
