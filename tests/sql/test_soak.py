"""Concurrency soak: 8 processes × 200 commands aimed at the same items, on each database.

0 lost updates (each item's version equals its successful commands), every conflict reported as
a concurrency error, invariants intact (events replay to the stored item).
"""

from __future__ import annotations

import os

import pytest

from tests.sql.conftest import Backend
from tests.sql.soak import soak

PROCESSES = int(os.environ.get("QIANDAO_SOAK_PROCESSES", "8"))
COMMANDS = int(os.environ.get("QIANDAO_SOAK_COMMANDS", "200"))


@pytest.mark.slow
def test_soak(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    backend.store()  # empties every table
    report = soak(backend.url, PROCESSES, COMMANDS)
    with capsys.disabled():
        print(f"\n[soak {backend.name}] {report}")
    assert report.other_errors == ()
    assert report.lost_updates == 0
    assert report.succeeded + report.conflicts == report.commands
    assert report.succeeded > 0
