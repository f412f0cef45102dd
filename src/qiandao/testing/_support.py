"""Helpers the shipped contract suites share (private: their names may change)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["JOIN_SECONDS", "run_threads"]

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
