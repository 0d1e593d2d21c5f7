"""SIGTERM during an export: raised as :class:`Terminated` (a ``KeyboardInterrupt``, so
every cleanup that Ctrl-C runs, runs), only inside the block; the handler found before is
put back after it, also when the block raised."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

import pytest

from langchain_elasticsearch_cache.interfaces.cli.transfer import (
    EXIT_TERMINATED,
    Terminated,
    sigterm_interrupts,
)


def test_sigterm_inside_the_block_raises_terminated_and_the_handler_is_restored() -> None:
    seen: list[int] = []

    def previous(signum: int, frame: FrameType | None) -> None:
        seen.append(signum)

    before = signal.signal(signal.SIGTERM, previous)
    found_after = False
    try:
        with pytest.raises(Terminated), sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)  # handled before the next statement
            found_after = True  # not reached
        assert not found_after
        assert signal.getsignal(signal.SIGTERM) is previous
        os.kill(os.getpid(), signal.SIGTERM)  # the previous handler again
        assert seen == [signal.SIGTERM]
        with sigterm_interrupts():
            pass
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, before)


def test_terminated_is_an_interruption_with_the_shell_exit_code() -> None:
    assert issubclass(Terminated, KeyboardInterrupt)
    assert EXIT_TERMINATED == 143


def test_outside_the_main_thread_the_block_runs_unchanged() -> None:
    found: list[object] = []

    def run() -> None:
        with sigterm_interrupts():
            found.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert found == [before]
