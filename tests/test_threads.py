"""ServiceThreads: the counted start and stop shared by the job runner, the job dispatcher and
the webhook sender."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from mina.threads import ServiceThreads


def test_the_first_start_starts_and_the_last_stop_stops() -> None:
    threads = ServiceThreads("a service")
    ran = threading.Event()
    made: list[int] = []

    def work() -> None:
        ran.set()
        threads.stopping.wait()

    def targets() -> dict[str, Callable[[], None]]:
        made.append(1)
        return {"worker": work}

    threads.start(targets)
    threads.start(targets)  # a second lifespan of the same app
    assert ran.wait(5) and made == [1]
    assert [t.name for t in threading.enumerate()].count("worker") == 1

    assert threads.stop(5) is False  # the first lifespan ends: the thread keeps running
    assert not threads.stopping.is_set()
    assert threads.stop(5) is True
    assert threads.stopping.is_set()
    assert "worker" not in [t.name for t in threading.enumerate()]

    ran.clear()
    threads.start(targets)  # started again after a full stop
    assert ran.wait(5) and made == [1, 1] and not threads.stopping.is_set()
    assert threads.stop(5)


def test_wake_rouses_a_thread_blocked_elsewhere_and_a_stuck_one_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads = ServiceThreads("the queue service")
    woken = threading.Event()
    release = threading.Event()
    threads.start(lambda: {"blocked": woken.wait, "stuck": release.wait})
    with caplog.at_level(logging.WARNING, logger="mina.threads"):
        assert threads.stop(0.3, wake=woken.set)
    assert "the queue service: thread stuck did not stop in time" in caplog.text
    assert "blocked" not in caplog.text
    release.set()


def test_no_targets_start_nothing_but_still_count() -> None:
    threads = ServiceThreads("idle")
    threads.start(dict)
    threads.start(dict)
    assert threads.stop(1) is False
    assert threads.stop(1) is True
