"""LangChain ``BaseCache`` over any LLM-record repository, sync and async."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.outputs import Generation

from ...domain.entries import LlmRecord
from ...domain.keys import KeyScheme
from ...domain.policies import LlmCachePolicy
from ...domain.ports import AsyncRepository, Repository
from ._batching import LookupBatcher
from ._lifecycle import AsyncLifecycle, SyncLifecycle
from ._runtime import CacheStatistics, Clock, Runtime, Tally, utc_now


def _lookup_tally(result: list[Generation] | None) -> Tally:
    return (0, 1, 0) if result is None else (1, 0, 0)


def _write_tally(_: None) -> Tally:
    return (0, 0, 1)


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
    """

    def __init__(self, repository: Repository[LlmRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository

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
        record = self._policy.record(prompt, llm_string, return_val, self._clock())
        self._runtime.run("update", lambda: self._repository.put(record), None, _write_tally)

    def clear(self, **kwargs: Any) -> None:
        self._runtime.run("clear", self._repository.clear, 0)


class AsyncRepositoryLlmCache(_LlmCacheBase, AsyncLifecycle):
    """An asynchronous LangChain LLM cache over any :class:`AsyncRepository`.

    As in the seed, the sync methods raise: use ``alookup`` / ``aupdate`` / ``aclear``.
    """

    def __init__(self, repository: AsyncRepository[LlmRecord], **options: Any) -> None:
        super().__init__(**options)
        self._repository = repository
        # concurrent alookup calls share mget requests (see _batching)
        self._lookups = LookupBatcher(repository)

    @property
    def repository(self) -> AsyncRepository[LlmRecord]:
        return self._repository

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        raise NotImplementedError("This class is asynchronous, use alookup()")

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        raise NotImplementedError("This class is asynchronous, use aupdate()")

    def clear(self, **kwargs: Any) -> None:
        raise NotImplementedError("This class is asynchronous, use aclear()")

    async def alookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key = self._policy.key(prompt, llm_string)

        async def call() -> list[Generation] | None:
            return self._policy.generations(await self._lookups.get(key), self._clock())

        return await self._runtime.arun("lookup", call, None, _lookup_tally)

    async def aupdate(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        record = self._policy.record(prompt, llm_string, return_val, self._clock())
        await self._runtime.arun("update", lambda: self._repository.put(record), None, _write_tally)

    async def aclear(self, **kwargs: Any) -> None:
        await self._runtime.arun("clear", self._repository.clear, 0)
