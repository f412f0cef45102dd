"""The workflow state machine of ``tests/test_stateful.py``, run through the SQL store.

Random command sequences go through the real service into SQLite, PostgreSQL and MariaDB; every
step is checked against the same invariants (legal transitions, sign-off tiers, publication,
deadlines, unit visibility, replaying the stored events rebuilds the stored item).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings

from qiandao import Qiandao
from qiandao.ports.store import Store
from qiandao_adapters.sql import SqlStore
from tests import test_stateful as stateful
from tests.sql.conftest import Backend

_EXAMPLES = int(
    os.environ.get("QIANDAO_SQL_STATEFUL_EXAMPLES", "12" if os.environ.get("CI") else "6")
)
_SETTINGS = settings(
    max_examples=_EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_made: list[SqlStore] = []


class SqlWorkflowMachine(stateful.VisibilityAtTheEnd, stateful.WorkflowMachine):
    """The same machine, its store swapped for the SQL store under test."""

    make_store: ClassVar[Callable[[], Store] | None] = None
    machines: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        make_store = type(self).make_store
        assert make_store is not None, "set SqlWorkflowMachine.make_store first"
        type(self).machines += 1
        self.store = make_store()
        self.qd = Qiandao(
            self.store,
            clock=self.clock,
            calendar=stateful.CALENDAR,
            rules=stateful.RULES,
            hasher=None,
        )


def _run(make_store: Callable[[], Store]) -> None:
    SqlWorkflowMachine.make_store = make_store
    SqlWorkflowMachine.machines = 0
    try:
        SqlWorkflowMachine.TestCase.settings = _SETTINGS
        SqlWorkflowMachine.TestCase("runTest").runTest()
    finally:
        SqlWorkflowMachine.make_store = None
        while _made:
            _made.pop().dispose()
    assert SqlWorkflowMachine.machines >= min(_EXAMPLES, 2)


@pytest.fixture
def sqlite_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="qiandao-workflow-") as directory:
        yield Path(directory)


def test_workflow_on_sqlite(sqlite_directory: Path) -> None:
    counter = iter(range(1_000_000))

    def make() -> Store:
        store = SqlStore(f"sqlite:///{sqlite_directory / f'wf-{next(counter)}.db'}")
        store.create_all()
        _made.append(store)
        return store

    _run(make)


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_workflow_on_a_server(server: str, request: pytest.FixtureRequest) -> None:
    fixture = "postgres_backend" if server == "postgresql" else "mysql_backend"
    backend: Backend = request.getfixturevalue(fixture)
    _run(backend.store)
