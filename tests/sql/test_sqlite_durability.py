"""SQLite at ``synchronous=NORMAL`` in WAL (issue 14): a process killed with SIGKILL while it
commits commands loses none it reported as committed, and the database stays intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from qiandao.ports.store import ItemQuery
from qiandao.testing import enrol
from qiandao_adapters.sql import SqlStore, make_engine
from tests.sql.crash_writer import MEMBER

ROOT = Path(__file__).resolve().parents[2]


def _reported_before_kill(url: str, commits: int) -> list[str]:
    """Run the writer, kill it with SIGKILL after ``commits`` reported commits; every id it
    reported (those read after the kill included)."""
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.sql.crash_writer", url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    reported: list[str] = []
    try:
        for line in writer.stdout:
            reported.append(line.strip())
            if len(reported) >= commits:
                os.kill(writer.pid, signal.SIGKILL)  # mid-way through the next command
                break
        reported += [line.strip() for line in writer.stdout if line.strip()]
    finally:
        writer.kill()
        writer.wait(30)
    assert writer.returncode == -signal.SIGKILL
    return reported


def test_a_killed_writer_loses_no_reported_command_and_the_database_is_intact(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    store = SqlStore(url, create=True)
    enrol(store, MEMBER)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    store.dispose()
    reported: list[str] = []
    for commits in (5, 12):  # two kills, the second on top of the first one's database
        reported += _reported_before_kill(url, commits)
    store = SqlStore(url)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
    with store.unit_of_work() as uow:
        stored = {item.id for item in uow.items.find(ItemQuery())}
    store.dispose()
    assert len(reported) >= 17
    assert set(reported) <= stored


def test_a_host_can_ask_for_a_sync_on_every_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'full.db'}", sqlite_synchronous="FULL")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
    with pytest.raises(ValueError):
        make_engine(f"sqlite:///{tmp_path / 'off.db'}", sqlite_synchronous="OFF")
