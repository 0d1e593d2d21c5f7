"""Request coalescing: concurrent identical requests share one call (single flight).

The first caller of a key becomes its *leader*; callers that arrive while the leader
works become *followers* and wait for the leader's outcome instead of calling again.

- The leader ends its flight in exactly one way: :meth:`resolve` (a value every follower
  receives), :meth:`fail` (an error every follower raises, the same exception object) or
  :meth:`abandon` (the leader was cancelled or its consumer went away: followers proceed
  on their own, and the first of them to come back leads a new flight). Leaving the
  ``with`` block without resolving or failing abandons, so every path releases the key.
- A follower waits at most ``timeout`` seconds; past it, it proceeds on its own (the
  leader may be stuck), so a wait is always bounded.
- At most ``max_in_flight`` keys are tracked; beyond, callers proceed uncoalesced rather
  than grow the table without limit.

Two sides with the same shape: :class:`ThreadCoalescer` (threads) and
:class:`TaskCoalescer` (asyncio tasks, one table per event loop). Neither knows about
caches or models: values are opaque.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Hashable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_MAX_IN_FLIGHT = 1024


class _Abandoned:
    """The leader gave up without an outcome; followers proceed on their own."""


_ABANDONED = _Abandoned()


class Proceed(Exception):
    """Raised to a follower that must proceed on its own."""


class LeaderAbandoned(Proceed):
    """The leader gave up without an outcome: claim again (one follower leads anew)."""


class LeaderTimedOut(Proceed):
    """The leader did not finish within the follower's timeout: call on your own."""


def _check_limits(max_in_flight: int) -> None:
    if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int):
        raise TypeError(f"max_in_flight must be an int, got {max_in_flight!r}")
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")


# -- threads ----------------------------------------------------------------------------


class _ThreadFlight(Generic[T]):
    __slots__ = ("done", "error", "owner", "value")

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()
        self.value: T | _Abandoned = _ABANDONED
        self.error: BaseException | None = None


class ThreadLead(Generic[T]):
    """The leader's handle on a flight (a context manager that always releases the key)."""

    def __init__(self, owner: ThreadCoalescer[T], key: Hashable, flight: _ThreadFlight[T]):
        self._owner = owner
        self._key = key
        self._flight = flight

    def resolve(self, value: T) -> None:
        """Hand ``value`` to every follower (now and until the flight is released)."""
        self._settle(value, None)

    def fail(self, error: BaseException) -> None:
        """Make every follower raise ``error`` (the same object)."""
        self._settle(_ABANDONED, error)

    def abandon(self) -> None:
        """Let followers proceed on their own."""
        self._settle(_ABANDONED, None)

    def _settle(self, value: T | _Abandoned, error: BaseException | None) -> None:
        flight = self._flight
        if flight.done.is_set():
            return
        flight.value, flight.error = value, error
        flight.done.set()

    def release(self) -> None:
        """Forget the key (abandoning the flight if it has no outcome yet)."""
        self.abandon()
        self._owner._release(self._key, self._flight)

    def __enter__(self) -> ThreadLead[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class ThreadFollow(Generic[T]):
    """A follower's handle: :meth:`wait` returns the leader's value or raises."""

    def __init__(self, owner: ThreadCoalescer[T], flight: _ThreadFlight[T]):
        self._owner = owner
        self._flight = flight

    def wait(self, timeout: float) -> T:
        """The leader's value; its error; or :class:`Proceed` (abandoned or timed out)."""
        flight = self._flight
        self._owner._count_follower(+1)
        try:
            done = flight.done.wait(timeout)
        finally:
            self._owner._count_follower(-1)
        if not done:
            raise LeaderTimedOut(f"the leader did not finish within {timeout} s")
        if flight.error is not None:
            raise flight.error
        if isinstance(flight.value, _Abandoned):
            raise LeaderAbandoned("the leader abandoned the request")
        return flight.value


class ThreadCoalescer(Generic[T]):
    """Single flight for threads."""

    def __init__(self, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        _check_limits(max_in_flight)
        self._max = max_in_flight
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _ThreadFlight[T]] = {}
        self._followers = 0

    def __len__(self) -> int:
        """Keys in flight now."""
        with self._lock:
            return len(self._flights)

    @property
    def followers(self) -> int:
        """Followers waiting now (what a test waits for before letting a leader finish)."""
        with self._lock:
            return self._followers

    def _count_follower(self, step: int) -> None:
        with self._lock:
            self._followers += step

    def claim(self, key: Hashable) -> ThreadLead[T] | ThreadFollow[T] | None:
        """Lead ``key``, follow its leader, or ``None`` when the table is full."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                if flight.owner == threading.get_ident():
                    return None  # the leader is a suspended stream of this very thread
                return ThreadFollow(self, flight)
            if len(self._flights) >= self._max:
                return None
            flight = self._flights[key] = _ThreadFlight()
            return ThreadLead(self, key, flight)

    def _release(self, key: Hashable, flight: _ThreadFlight[T]) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]


# -- asyncio ----------------------------------------------------------------------------

_Slot = tuple[asyncio.AbstractEventLoop, Hashable]


class _TaskFlight(Generic[T]):
    __slots__ = ("future", "owner")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.owner = asyncio.current_task()
        self.future: asyncio.Future[T | _Abandoned] = loop.create_future()


class TaskLead(Generic[T]):
    """The leader's handle on an asyncio flight (releases the key on every exit)."""

    def __init__(self, owner: TaskCoalescer[T], slot: _Slot, flight: _TaskFlight[T]):
        self._owner = owner
        self._slot = slot
        self._flight = flight

    def resolve(self, value: T) -> None:
        """Hand ``value`` to every follower."""
        future = self._flight.future
        if not future.done():
            future.set_result(value)

    def fail(self, error: BaseException) -> None:
        """Make every follower raise ``error`` (the same object)."""
        future = self._flight.future
        if not future.done():
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" log without followers

    def abandon(self) -> None:
        """Let followers proceed on their own."""
        future = self._flight.future
        if not future.done():
            future.set_result(_ABANDONED)

    def release(self) -> None:
        """Forget the key (abandoning the flight if it has no outcome yet)."""
        self.abandon()
        self._owner._release(self._slot, self._flight)

    def __enter__(self) -> TaskLead[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class TaskFollow(Generic[T]):
    """A follower's handle: ``await wait(timeout)`` returns the leader's value or raises."""

    def __init__(self, owner: TaskCoalescer[T], flight: _TaskFlight[T]):
        self._owner = owner
        self._flight = flight

    async def wait(self, timeout: float) -> T:
        """The leader's value; its error; or :class:`Proceed` (abandoned or timed out).

        Cancelling the follower cancels only its wait, never the leader's flight.
        """
        self._owner._count_follower(+1)
        try:
            value = await asyncio.wait_for(asyncio.shield(self._flight.future), timeout)
        except asyncio.TimeoutError:
            raise LeaderTimedOut(f"the leader did not finish within {timeout} s") from None
        finally:
            self._owner._count_follower(-1)
        if isinstance(value, _Abandoned):
            raise LeaderAbandoned("the leader abandoned the request")
        return value


class TaskCoalescer(Generic[T]):
    """Single flight for asyncio tasks; flights never cross event loops."""

    def __init__(self, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        _check_limits(max_in_flight)
        self._max = max_in_flight
        # claim and release run on their loop's thread, but several loops (threads) may
        # share one coalescer: the lock guards the table, and keys carry their loop.
        self._lock = threading.Lock()
        self._flights: dict[_Slot, _TaskFlight[T]] = {}
        self._followers = 0

    def __len__(self) -> int:
        """Keys in flight now (all loops)."""
        with self._lock:
            return len(self._flights)

    @property
    def followers(self) -> int:
        """Followers waiting now (all loops)."""
        with self._lock:
            return self._followers

    def _count_follower(self, step: int) -> None:
        with self._lock:
            self._followers += step

    def claim(self, key: Hashable) -> TaskLead[T] | TaskFollow[T] | None:
        """Lead ``key``, follow its leader, or ``None`` when the table is full.

        Must be called from a running event loop.
        """
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        with self._lock:
            flight = self._flights.get(slot)
            if flight is not None:
                if flight.owner is not None and flight.owner is asyncio.current_task():
                    return None  # the leader is a suspended stream of this very task
                return TaskFollow(self, flight)
            if len(self._flights) >= self._max:
                return None
            flight = self._flights[slot] = _TaskFlight(loop)
            return TaskLead(self, slot, flight)

    def _release(self, slot: _Slot, flight: _TaskFlight[T]) -> None:
        with self._lock:
            if self._flights.get(slot) is flight:
                del self._flights[slot]
