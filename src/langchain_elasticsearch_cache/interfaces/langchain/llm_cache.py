"""LangChain ``BaseCache`` over any LLM-record repository, sync and async."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import timedelta
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.outputs import Generation
from langchain_core.runnables import run_in_executor

from ...domain.entries import ListedLlmEntry, LlmRecord
from ...domain.errors import ConfigurationError, UncacheableAnswerError
from ...domain.keys import KeyScheme
from ...domain.policies import LlmCachePolicy
from ...domain.ports import AsyncRepository, Repository
from ._batching import LookupBatcher
from ._lifecycle import AsyncLifecycle, SyncLifecycle
from ._runtime import CacheStatistics, Clock, Runtime, Tally, utc_now
from .sync_refusal import sync_call_refused


def _lookup_tally(result: list[Generation] | None) -> Tally:
    return (0, 1, 0) if result is None else (1, 0, 0)


def _write_tally(_: None) -> Tally:
    return (0, 0, 1)


def _check_page_size(page_size: int) -> None:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
        raise ConfigurationError(
            f"page_size must be a positive integer (entries fetched per request), got {page_size!r}"
        )


class _LlmCacheBase(BaseCache):
    """Options shared by the sync and async classes (the seed's, plus ours)."""

    def __init__(
        self,
        *,
        store_input: bool = True,
        store_input_params: bool = True,
        metadata: Mapping[str, Any] | None = None,
        key_scheme: KeyScheme | str | None = None,
        ttl: timedelta | float | None = None,
        fail_open: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._policy = LlmCachePolicy(
            key_scheme=key_scheme,
            store_input=store_input,
            store_input_params=store_input_params,
            metadata=metadata,
            ttl=ttl,
        )
        self._runtime = Runtime(fail_open=fail_open)
        self._clock: Clock = clock or utc_now

    def _record(
        self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE
    ) -> LlmRecord | None:
        """The record to write, or ``None`` (counted, warned once) when the answer could
        never be read back: writing it would cost a request per call and a miss per lookup.
        """
        try:
            return self._policy.record(prompt, llm_string, return_val, self._clock())
        except UncacheableAnswerError as exc:
            self._runtime.skip_uncacheable("update", exc)
            return None

    def _listed(
        self, records: Iterator[LlmRecord], include_expired: bool
    ) -> Iterator[ListedLlmEntry]:
        now = self._clock()
        for record in records:
            entry = self._policy.listed_entry(record, now, include_expired=include_expired)
            if entry is not None:
                yield entry

    async def _alisted(
        self, records: AsyncIterator[LlmRecord], include_expired: bool
    ) -> AsyncIterator[ListedLlmEntry]:
        now = self._clock()
        async for record in records:
            entry = self._policy.listed_entry(record, now, include_expired=include_expired)
            if entry is not None:
                yield entry

    @property
    def policy(self) -> LlmCachePolicy:
        return self._policy

    @property
    def statistics(self) -> CacheStatistics:
        """An immutable snapshot of hits, misses, writes, errors and latencies."""
        return self._runtime.statistics()

    def reset_statistics(self) -> None:
        self._runtime.reset_statistics()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(key_scheme={self._policy.key_scheme.name!r}, "
            f"ttl={self._policy.ttl!r}, fail_open={self._runtime.fail_open!r})"
        )


class RepositoryLlmCache(_LlmCacheBase, SyncLifecycle):
    """A synchronous LangChain LLM cache over any :class:`Repository` of LLM records.

    ``set_llm_cache(RepositoryLlmCache(my_repository))`` plugs in a custom adapter.
    The async methods inherited from ``BaseCache`` run these in an executor.

    Args:
        repository: Where the entries are kept.
        **options: The cache options, by name: ``store_input``, ``store_input_params``,
            ``metadata``, ``key_scheme``, ``ttl``, ``fail_open``, ``clock`` (as in
            :class:`ElasticsearchCache`).

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, repository: Repository[LlmRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository
        self._runtime.describe(repository)

    @property
    def repository(self) -> Repository[LlmRecord]:
        return self._repository

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = self._policy.key(prompt, llm_string)
        return self._runtime.run(
            "lookup",
            lambda: self._policy.generations(self._repository.get(key), self._clock()),
            None,
            _lookup_tally,
        )

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        record = self._record(prompt, llm_string, return_val)
        if record is None:
            return
        self._runtime.run("update", lambda: self._repository.put(record), None, _write_tally)

    def clear(self, **kwargs: Any) -> None:
        self._runtime.run("clear", self._repository.clear, 0)

    def delete(self, prompt: str, llm_string: str) -> bool:
        """Invalidate the entry of ``(prompt, llm_string)``; True when one was deleted.

        Behind an alias every copy is removed. With ``fail_open`` an unavailable backend
        makes it a no-op that returns False, as ``update`` is.
        """
        key = self._policy.key(prompt, llm_string)
        return self._runtime.run("delete", lambda: self._repository.delete_many([key]) > 0, False)

    async def adelete(self, prompt: str, llm_string: str) -> bool:
        """:meth:`delete`, run in an executor (as ``BaseCache`` runs ``alookup``)."""
        return await run_in_executor(None, self.delete, prompt, llm_string)

    def entries(
        self, *, page_size: int = 1000, include_expired: bool = False
    ) -> Iterator[ListedLlmEntry]:
        """Stream the entries: ``(prompt, llm_string, timestamp)`` and ``key`` each.

        Memory is bounded by ``page_size``: the store is read a page at a time (a point in
        time and ``search_after`` on Elasticsearch), never loaded whole; stopping early
        stops the reading. Expired entries (older than ``ttl``) are left out, as lookups
        ignore them, unless ``include_expired=True``. ``prompt`` / ``llm_string`` are
        ``None`` for entries written with ``store_input=False`` /
        ``store_input_params=False``; documents of another key scheme sharing the index
        are left out. Answers are not decoded. Not fail-open: an unavailable backend
        raises, since a listing cut short would look complete.
        """
        _check_page_size(page_size)  # now, not at the first next()
        return self._listed(self._repository.scan(page_size=page_size), include_expired)


class AsyncRepositoryLlmCache(_LlmCacheBase, AsyncLifecycle):
    """An asynchronous LangChain LLM cache over any :class:`AsyncRepository`.

    As in the seed, the sync methods raise: use ``alookup`` / ``aupdate`` / ``aclear``.

    Args:
        repository: Where the entries are kept.
        **options: The cache options, by name: ``store_input``, ``store_input_params``,
            ``metadata``, ``key_scheme``, ``ttl``, ``fail_open``, ``clock`` (as in
            :class:`ElasticsearchCache`).

    Raises:
        ConfigurationError: An option is not valid.
    """

    def __init__(self, repository: AsyncRepository[LlmRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository
        self._runtime.describe(repository)
        # concurrent alookup calls share mget requests (see _batching)
        self._lookups = LookupBatcher(repository)

    @property
    def repository(self) -> AsyncRepository[LlmRecord]:
        return self._repository

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        raise sync_call_refused(self, "lookup")

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        raise sync_call_refused(self, "update")

    def clear(self, **kwargs: Any) -> None:
        raise sync_call_refused(self, "clear")

    def delete(self, prompt: str, llm_string: str) -> bool:
        raise NotImplementedError("This class is asynchronous, use adelete()")

    def entries(
        self, *, page_size: int = 1000, include_expired: bool = False
    ) -> Iterator[ListedLlmEntry]:
        raise NotImplementedError("This class is asynchronous, use aentries()")

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = self._policy.key(prompt, llm_string)

        async def call() -> list[Generation] | None:
            return self._policy.generations(await self._lookups.get(key), self._clock())

        return await self._runtime.arun("lookup", call, None, _lookup_tally)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        record = self._record(prompt, llm_string, return_val)
        if record is None:
            return
        await self._runtime.arun("update", lambda: self._repository.put(record), None, _write_tally)

    async def aclear(self, **kwargs: Any) -> None:
        await self._runtime.arun("clear", self._repository.clear, 0)

    async def adelete(self, prompt: str, llm_string: str) -> bool:
        """Invalidate the entry of ``(prompt, llm_string)``; True when one was deleted.

        Behind an alias every copy is removed. With ``fail_open`` an unavailable backend
        makes it a no-op that returns False, as ``aupdate`` is.
        """
        key = self._policy.key(prompt, llm_string)

        async def call() -> bool:
            return await self._repository.delete_many([key]) > 0

        return await self._runtime.arun("delete", call, False)

    def aentries(
        self, *, page_size: int = 1000, include_expired: bool = False
    ) -> AsyncIterator[ListedLlmEntry]:
        """Stream the entries with ``async for``; the same rules as the synchronous
        classes' ``entries`` (memory bounded by ``page_size``, expired entries left out
        unless ``include_expired=True``, not fail-open)."""
        _check_page_size(page_size)  # now, not at the first __anext__()
        return self._alisted(self._repository.scan(page_size=page_size), include_expired)
