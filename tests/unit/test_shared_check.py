"""SharedCheck: one connection check for concurrent first calls, retried after a failure."""

from __future__ import annotations

import asyncio

import pytest

from langchain_elasticsearch_cache.adapters.elasticsearch.checked import SharedCheck
from langchain_elasticsearch_cache.domain.errors import BackendUnavailableError


class Gate:
    """A check that waits until released, then fails or succeeds as told."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self) -> None:
        await self.release.wait()
        if self.fail:
            raise BackendUnavailableError("connecting: cannot reach Elasticsearch")


async def test_concurrent_callers_share_one_failed_run_and_a_later_call_retries() -> None:
    gate = Gate()
    gate.fail = True
    check = SharedCheck(gate)
    callers = [asyncio.ensure_future(check.ensure()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, BackendUnavailableError) for o in outcomes)
    assert check.runs == 1 and not check.passed
    gate.fail = False
    await check.ensure()
    await check.ensure()
    assert check.runs == 2 and check.passed


async def test_a_cancelled_first_caller_does_not_fail_the_others() -> None:
    gate = Gate()
    check = SharedCheck(gate)
    first = asyncio.ensure_future(check.ensure())
    second = asyncio.ensure_future(check.ensure())
    await asyncio.sleep(0)
    first.cancel()
    gate.release.set()
    await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert check.runs == 1 and check.passed


def test_each_event_loop_gets_its_own_run_until_one_succeeds() -> None:
    attempts: list[int] = []

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise BackendUnavailableError("down")

    check = SharedCheck(flaky)
    with pytest.raises(BackendUnavailableError):
        asyncio.run(check.ensure())
    asyncio.run(check.ensure())  # a new loop: a new run, not the old loop's task
    asyncio.run(check.ensure())
    assert len(attempts) == 2
