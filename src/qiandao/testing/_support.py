"""Helpers the shipped contract suites share (private: their names may change)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

__all__ = ["JOIN_SECONDS", "property_of", "run_threads", "run_threads_while_polling"]

#: How long a test waits for one of its threads before calling it stuck.
JOIN_SECONDS = 60.0


def run_threads(target: Callable[[int], None], count: int) -> None:
    """Run ``target(0)`` … ``target(count - 1)`` in daemon threads; fail if any is still running
    after :data:`JOIN_SECONDS` (a deadlock). ``target`` reports its own errors."""
    threads = [
        threading.Thread(target=target, args=(index,), daemon=True, name=f"contract-{index}")
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running (deadlock?): {stuck}"


def run_threads_while_polling(
    target: Callable[[int], None], count: int, poll: Callable[[bool], bool]
) -> None:
    """:func:`run_threads` while one more thread calls ``poll(finished)`` until it returns
    ``True``; ``finished`` says every ``target`` had ended before that call, so a poll that
    sees ``finished`` sees all they did. An error of ``poll`` is raised here after the join."""
    errors: list[BaseException] = []
    done = threading.Event()

    def poller() -> None:
        try:
            while not poll(done.is_set()):
                pass
        except BaseException as exc:  # raised below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=poller, daemon=True, name="contract-poller")
    thread.start()
    try:
        run_threads(target, count)
    finally:
        done.set()
        thread.join(JOIN_SECONDS)
    assert not thread.is_alive(), "the polling thread is still running (deadlock?)"
    if errors:
        raise errors[0]


def property_of(
    max_examples: int | None, *strategies: st.SearchStrategy[Any]
) -> Callable[..., Any]:
    """``given(*strategies)`` with no deadline, ``max_examples`` each (``None``: the profile's)."""
    tuned = settings(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        max_examples=settings().max_examples if max_examples is None else max_examples,
    )
    return lambda check: tuned(given(*strategies)(check))
