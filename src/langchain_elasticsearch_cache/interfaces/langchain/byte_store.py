"""LangChain ``ByteStore`` (for ``CacheBackedEmbeddings``) over any embedding repository.

``mset`` with ``fail_open=True`` skips entries the backend refuses to store
(``EntryRefusedError``: too large, or not fitting the mapping): the others are stored,
the refused ones counted as ``refused`` (per key), and the embeddings already computed
reach the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

from langchain_core.stores import ByteStore

from ...domain.entries import EmbeddingRecord
from ...domain.errors import KeysNotStoredError
from ...domain.keys import KeyScheme
from ...domain.policies import EmbeddingCachePolicy
from ...domain.ports import AsyncRepository, Repository
from ._lifecycle import AsyncLifecycle, SyncLifecycle
from ._runtime import CacheStatistics, Clock, Runtime, Tally, utc_now

_NO_KEYS = (
    "this store was created with store_input=False, so the original keys are not kept "
    "and cannot be listed; create it with store_input=True to use yield_keys()"
)


def _mget_tally(values: list[bytes | None]) -> Tally:
    hits = sum(value is not None for value in values)
    return (hits, len(values) - hits, 0)


def _mset_tally(count: int) -> Tally:
    return (0, 0, count)


class _ByteStoreBase(ByteStore):
    def __init__(
        self,
        *,
        store_input: bool = True,
        metadata: Mapping[str, Any] | None = None,
        namespace: str | None = None,
        key_scheme: KeyScheme | str | None = None,
        ttl: timedelta | float | None = None,
        fail_open: bool = False,
        clock: Clock | None = None,
        scan_page_size: int = 1000,
    ) -> None:
        self._policy = EmbeddingCachePolicy(
            key_scheme=key_scheme,
            namespace=namespace,
            store_input=store_input,
            metadata=metadata,
            ttl=ttl,
        )
        self._runtime = Runtime(fail_open=fail_open, kind="embeddings")
        self._clock: Clock = clock or utc_now
        self._scan_page_size = scan_page_size

    @property
    def policy(self) -> EmbeddingCachePolicy:
        return self._policy

    @property
    def statistics(self) -> CacheStatistics:
        """An immutable snapshot of hits, misses, writes, errors and latencies."""
        return self._runtime.statistics()

    def reset_statistics(self) -> None:
        self._runtime.reset_statistics()

    def _records(self, pairs: Sequence[tuple[str, bytes]]) -> list[EmbeddingRecord]:
        now = self._clock()
        return [self._policy.record(key, value, now) for key, value in pairs]

    def _values(self, records: Sequence[EmbeddingRecord | None]) -> list[bytes | None]:
        now = self._clock()
        return [self._policy.value(record, now) for record in records]

    def _check_listable(self) -> None:
        if not self._policy.store_input:
            raise KeysNotStoredError(_NO_KEYS)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(namespace={self._policy.namespace!r}, "
            f"key_scheme={self._policy.key_scheme.name!r}, ttl={self._policy.ttl!r}, "
            f"fail_open={self._runtime.fail_open!r})"
        )


class RepositoryByteStore(_ByteStoreBase, SyncLifecycle):
    """A synchronous LangChain ``ByteStore`` over any :class:`Repository` of embeddings.

    Args:
        repository: Where the entries are kept.
        **options: The cache options, by name: ``store_input``, ``metadata``,
            ``namespace``, ``key_scheme``, ``ttl``, ``fail_open``, ``clock`` (as in
            :class:`ElasticsearchEmbeddingsCache`), and ``scan_page_size``: keys fetched
            per request by ``yield_keys``.

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, repository: Repository[EmbeddingRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository
        self._runtime.describe(repository)

    @property
    def repository(self) -> Repository[EmbeddingRecord]:
        return self._repository

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        ids = [self._policy.key(key) for key in keys]
        if not ids:
            return []
        return self._runtime.run(
            "mget",
            lambda: self._values(self._repository.get_many(ids)),
            [None] * len(ids),
            _mget_tally,
        )

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        records = self._records(key_value_pairs)
        if not records:
            return

        def call() -> int:
            self._repository.put_many(records)
            return len(records)

        self._runtime.run("mset", call, 0, _mset_tally)

    def mdelete(self, keys: Sequence[str]) -> None:
        ids = [self._policy.key(key) for key in keys]
        if ids:
            self._runtime.run("mdelete", lambda: self._repository.delete_many(ids), 0)

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        """Stream the stored keys of this namespace (that start with ``prefix``)."""
        self._check_listable()
        now = self._clock()
        for record in self._repository.scan(page_size=self._scan_page_size):
            key = self._policy.listed_key(record, prefix, now)
            if key is not None:
                yield key


class AsyncRepositoryByteStore(_ByteStoreBase, AsyncLifecycle):
    """An asynchronous ``ByteStore`` over any :class:`AsyncRepository` of embeddings.

    As in the seed, the sync methods raise: use ``amget`` / ``amset`` / ``amdelete`` /
    ``ayield_keys``.

    Args:
        repository: Where the entries are kept.
        **options: The cache options, by name: ``store_input``, ``metadata``,
            ``namespace``, ``key_scheme``, ``ttl``, ``fail_open``, ``clock`` (as in
            :class:`ElasticsearchEmbeddingsCache`), and ``scan_page_size``: keys fetched
            per request by ``yield_keys``.

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, repository: AsyncRepository[EmbeddingRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository
        self._runtime.describe(repository)

    @property
    def repository(self) -> AsyncRepository[EmbeddingRecord]:
        return self._repository

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        raise NotImplementedError("This class is asynchronous, use amget()")

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        raise NotImplementedError("This class is asynchronous, use amset()")

    def mdelete(self, keys: Sequence[str]) -> None:
        raise NotImplementedError("This class is asynchronous, use amdelete()")

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        raise NotImplementedError("This class is asynchronous, use ayield_keys()")

    async def amget(self, keys: Sequence[str]) -> list[bytes | None]:
        ids = [self._policy.key(key) for key in keys]
        if not ids:
            return []

        async def call() -> list[bytes | None]:
            return self._values(await self._repository.get_many(ids))

        return await self._runtime.arun("mget", call, [None] * len(ids), _mget_tally)

    async def amset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        records = self._records(key_value_pairs)
        if not records:
            return

        async def call() -> int:
            await self._repository.put_many(records)
            return len(records)

        await self._runtime.arun("mset", call, 0, _mset_tally)

    async def amdelete(self, keys: Sequence[str]) -> None:
        ids = [self._policy.key(key) for key in keys]
        if ids:
            await self._runtime.arun("mdelete", lambda: self._repository.delete_many(ids), 0)

    async def ayield_keys(self, *, prefix: str | None = None) -> AsyncIterator[str]:
        """Stream the stored keys of this namespace (that start with ``prefix``)."""
        self._check_listable()
        now = self._clock()
        async for record in self._repository.scan(page_size=self._scan_page_size):
            key = self._policy.listed_key(record, prefix, now)
            if key is not None:
                yield key
