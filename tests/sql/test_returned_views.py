"""The property of ``tests/test_returned_views.py`` through the SQL stores: random runs on
SQLite (smaller), and every item command on every store; each command's result shows the same
actor no more than ``item_detail``."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings

from qiandao import Item
from qiandao.ports.store import Store
from qiandao_adapters.sql import SqlStore
from tests import test_returned_views as views
from tests.helpers import make_world


class SqliteViewsMachine(views.ViewsMachine):
    """The views machine on a fresh SQLite file per run."""

    directory: ClassVar[Path | None] = None
    runs: ClassVar[int] = 0
    made: ClassVar[list[SqlStore]] = []

    def __init__(self) -> None:
        super().__init__()
        assert self.directory is not None, "set SqliteViewsMachine.directory first"
        type(self).runs += 1
        store = SqlStore(f"sqlite:///{self.directory / f'views-{self.runs}.db'}")
        store.create_all()
        type(self).made.append(store)
        self.use_store(store)


@pytest.fixture
def sqlite_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="qiandao-views-") as directory:
        yield Path(directory)


def test_returned_views_on_sqlite(sqlite_directory: Path) -> None:
    SqliteViewsMachine.directory = sqlite_directory
    SqliteViewsMachine.runs = 0
    try:
        SqliteViewsMachine.TestCase.settings = settings(
            max_examples=max(settings().max_examples // 20, 3),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        SqliteViewsMachine.TestCase("runTest").runTest()
    finally:
        SqliteViewsMachine.directory = None
        while SqliteViewsMachine.made:
            SqliteViewsMachine.made.pop().dispose()
    assert SqliteViewsMachine.runs >= 2


def test_every_item_command_on_every_store(any_store: Store) -> None:
    """The issue's reproduction (a unit's accept, decline, reply and request_extension returned
    the whole item) and every other item command, on memory and every SQL store."""
    world = make_world(store=any_store)
    checked = views.Checked(world.qd)
    views.item_commands(world, checked)
    assert checked.seen[Item] == views.commands_returning(Item)
