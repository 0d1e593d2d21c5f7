"""Single flight for threads and asyncio tasks: one leader, shared outcome, bounded waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from langchain_elasticsearch_cache.interfaces.langchain.coalescing import (
    LeaderAbandoned,
    LeaderTimedOut,
    TaskCoalescer,
    TaskFollow,
    TaskLead,
    ThreadCoalescer,
    ThreadFollow,
    ThreadLead,
)


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    event = threading.Event()
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        event.wait(0.005)
    raise AssertionError("condition not reached")


def _followers(
    coalescer: ThreadCoalescer[str], key: str, count: int
) -> tuple[list[object], list[threading.Thread]]:
    outcomes: list[object] = []

    def follow() -> None:
        claim = coalescer.claim(key)
        assert isinstance(claim, ThreadFollow)
        try:
            outcomes.append(claim.wait(10))
        except BaseException as error:
            outcomes.append(error)

    threads = [threading.Thread(target=follow) for _ in range(count)]
    for thread in threads:
        thread.start()
    _until(lambda: coalescer.followers == count)
    return outcomes, threads


# -- threads ----------------------------------------------------------------------------


def test_thread_followers_receive_the_leaders_value_and_the_key_is_released() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, ThreadLead)
    outcomes, threads = _followers(coalescer, "k", 20)
    with lead:
        lead.resolve("answer")
    for thread in threads:
        thread.join()
    assert outcomes == ["answer"] * 20
    assert len(coalescer) == 0 and coalescer.followers == 0
    assert isinstance(coalescer.claim("k"), ThreadLead)  # a later request leads anew


def test_thread_failure_reaches_every_follower_as_the_same_exception() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, ThreadLead)
    outcomes, threads = _followers(coalescer, "k", 10)
    error = RuntimeError("model down")
    with lead:
        lead.fail(error)
    for thread in threads:
        thread.join()
    assert all(outcome is error for outcome in outcomes)
    assert len(coalescer) == 0


def test_thread_abandoned_flight_lets_followers_claim_again() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, ThreadLead)
    outcomes, threads = _followers(coalescer, "k", 3)
    lead.release()  # no outcome: e.g. the consumer closed the stream
    for thread in threads:
        thread.join()
    assert all(isinstance(outcome, LeaderAbandoned) for outcome in outcomes)
    assert len(coalescer) == 0


def test_thread_leader_leaving_by_an_exception_abandons_and_releases() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    with pytest.raises(KeyboardInterrupt), coalescer.claim("k"):  # type: ignore[union-attr]
        raise KeyboardInterrupt
    assert len(coalescer) == 0


def test_thread_follower_wait_is_bounded() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    lead = coalescer.claim("k")
    result: list[object] = []

    def follow() -> None:
        claim = coalescer.claim("k")
        assert isinstance(claim, ThreadFollow)
        try:
            claim.wait(0.01)
        except LeaderTimedOut as error:
            result.append(error)

    other = threading.Thread(target=follow)
    other.start()
    other.join()
    assert len(result) == 1 and "did not finish" in str(result[0])
    assert isinstance(lead, ThreadLead)
    lead.release()


def test_thread_same_thread_never_follows_its_own_flight() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, ThreadLead)
    assert coalescer.claim("k") is None  # would deadlock: proceed alone instead
    lead.release()


def test_thread_table_is_bounded() -> None:
    coalescer: ThreadCoalescer[str] = ThreadCoalescer(max_in_flight=2)
    first, second = coalescer.claim("a"), coalescer.claim("b")
    assert coalescer.claim("c") is None
    assert isinstance(first, ThreadLead) and isinstance(second, ThreadLead)
    first.release()
    third = coalescer.claim("c")
    assert isinstance(third, ThreadLead)
    second.release()
    third.release()
    assert len(coalescer) == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_table_size_is_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="max_in_flight"):
        ThreadCoalescer(max_in_flight=bad)  # type: ignore[arg-type]
    with pytest.raises((TypeError, ValueError), match="max_in_flight"):
        TaskCoalescer(max_in_flight=bad)  # type: ignore[arg-type]


# -- asyncio ----------------------------------------------------------------------------


async def _until_async(condition: Callable[[], bool]) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def _follow(coalescer: TaskCoalescer[str], key: str) -> object:
    claim = coalescer.claim(key)
    assert isinstance(claim, TaskFollow)
    try:
        return await claim.wait(10)
    except Exception as error:
        return error


async def test_task_followers_share_value_failure_and_abandonment() -> None:
    coalescer: TaskCoalescer[str] = TaskCoalescer()
    for outcome_kind in ("value", "error", "abandon"):
        lead = coalescer.claim("k")
        assert isinstance(lead, TaskLead)
        followers = [asyncio.create_task(_follow(coalescer, "k")) for _ in range(50)]
        await _until_async(lambda: coalescer.followers == 50)
        error = RuntimeError("down")
        with lead:
            if outcome_kind == "value":
                lead.resolve("answer")
            elif outcome_kind == "error":
                lead.fail(error)
        outcomes = await asyncio.gather(*followers)
        if outcome_kind == "value":
            assert outcomes == ["answer"] * 50
        elif outcome_kind == "error":
            assert all(outcome is error for outcome in outcomes)
        else:
            assert all(isinstance(outcome, LeaderAbandoned) for outcome in outcomes)
        assert len(coalescer) == 0 and coalescer.followers == 0


async def test_task_follower_cancel_leaves_the_leader_alone_and_wait_is_bounded() -> None:
    coalescer: TaskCoalescer[str] = TaskCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, TaskLead)
    follower = asyncio.create_task(_follow(coalescer, "k"))
    await _until_async(lambda: coalescer.followers == 1)
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower

    async def follow_briefly() -> object:
        claim = coalescer.claim("k")
        assert isinstance(claim, TaskFollow)
        try:
            return await claim.wait(0.01)
        except LeaderTimedOut as error:
            return error

    assert isinstance(await asyncio.create_task(follow_briefly()), LeaderTimedOut)
    lead.resolve("still fine")  # the leader was not disturbed by either follower
    assert await asyncio.create_task(_follow(coalescer, "k")) == "still fine"
    lead.release()
    assert len(coalescer) == 0 and coalescer.followers == 0


async def test_task_same_task_never_follows_its_own_flight() -> None:
    coalescer: TaskCoalescer[str] = TaskCoalescer()
    lead = coalescer.claim("k")
    assert isinstance(lead, TaskLead)
    assert coalescer.claim("k") is None
    lead.release()


def test_task_flights_do_not_cross_event_loops() -> None:
    coalescer: TaskCoalescer[str] = TaskCoalescer()
    held, finish = threading.Event(), threading.Event()
    results: list[bool] = []

    async def hold_a_flight() -> None:
        lead = coalescer.claim("k")
        results.append(isinstance(lead, TaskLead))
        held.set()
        while not finish.is_set():
            await asyncio.sleep(0.001)
        assert isinstance(lead, TaskLead)
        lead.release()

    async def claim_in_another_loop() -> None:
        lead = coalescer.claim("k")  # same key, other loop: its future could not be awaited
        results.append(isinstance(lead, TaskLead))
        assert isinstance(lead, TaskLead)
        lead.release()

    thread = threading.Thread(target=lambda: asyncio.run(hold_a_flight()))
    thread.start()
    assert held.wait(10)
    asyncio.run(claim_in_another_loop())
    finish.set()
    thread.join()
    assert results == [True, True]
    assert len(coalescer) == 0
