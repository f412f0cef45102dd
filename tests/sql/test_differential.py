"""Same command sequence, same results: memory and each SQL store run in lockstep.

The workflow state machine drives a "twin" service: every command goes to a service on the
in-memory store and to one on the SQL store under test (with identical id sequences). Both must
succeed with equal results or refuse with the same error code, and after every step both stores
hold exactly the same items. The fixed runs of the workflow machine run the same way.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import initialize, invariant

from qiandao import JobReport, Qiandao, QiandaoError
from qiandao.ports.store import ItemQuery, Store
from qiandao_adapters.sql import SqlStore
from tests import test_stateful as stateful
from tests.sql.conftest import Backend

_EXAMPLES = int(
    os.environ.get("QIANDAO_SQL_STATEFUL_EXAMPLES", "12" if os.environ.get("CI") else "5")
)


def _service(store: Store, clock: Any) -> Qiandao:
    counter = itertools.count()
    return Qiandao(
        store,
        clock=clock,
        calendar=stateful.CALENDAR,
        rules=stateful.RULES,
        ids=lambda: f"id{next(counter):08d}",
        hasher=None,
    )


class Twin:
    """Calls each command on both services and insists on the same outcome."""

    def __init__(self, left: Qiandao, right: Qiandao) -> None:
        self.left = left
        self.right = right

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def both(*args: Any, **kwargs: Any) -> Any:
            outcomes = []
            for service in (self.left, self.right):
                try:
                    outcomes.append(("ok", getattr(service, name)(*args, **kwargs)))
                except QiandaoError as error:
                    outcomes.append(("error", error))
            (kind_l, left), (kind_r, right) = outcomes
            assert kind_l == kind_r, (name, left, right)
            if kind_l == "error":
                assert left.code == right.code, (name, left.code, right.code)
                raise left
            if isinstance(left, JobReport) and isinstance(right, JobReport):
                # the anchors of the two stores' audits differ (keyed on SQL, unkeyed in memory)
                left, right = (attrs.evolve(r, audit_anchor="") for r in (left, right))
            assert left == right, name
            return left

        return both


class DifferentialMachine(stateful.VisibilityAtTheEnd, stateful.WorkflowMachine):
    """The workflow machine on memory, mirrored command by command on a SQL store."""

    make_sql: ClassVar[Callable[[], Store] | None] = None

    def __init__(self) -> None:
        super().__init__()
        make_sql = type(self).make_sql
        assert make_sql is not None
        self.sql_store = make_sql()
        self.qd = Twin(_service(self.store, self.clock), _service(self.sql_store, self.clock))  # type: ignore[assignment]

    @initialize()
    def add_units(self) -> None:
        super().add_units()
        with self.store.unit_of_work() as source, self.sql_store.unit_of_work() as target:
            for unit in source.units.list():
                target.units.add(unit)
            for account in source.accounts.list():
                target.accounts.add(account)
            target.commit()

    @invariant()
    def both_stores_hold_the_same_items(self) -> None:
        with self.store.unit_of_work() as a, self.sql_store.unit_of_work() as b:
            assert a.items.find(ItemQuery()) == b.items.find(ItemQuery())


def _run(make_sql: Callable[[], Store]) -> None:
    DifferentialMachine.make_sql = make_sql
    try:
        DifferentialMachine.TestCase.settings = settings(
            max_examples=_EXAMPLES,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        DifferentialMachine.TestCase("runTest").runTest()
    finally:
        DifferentialMachine.make_sql = None


@pytest.mark.parametrize("script", stateful.FIXED_RUNS, ids=lambda script: script.__name__)
def test_fixed_runs_agree(script: Callable[[stateful.FixedRun], None], backend: Backend) -> None:
    DifferentialMachine.make_sql = backend.store
    try:
        script(stateful.FixedRun(DifferentialMachine()))
    finally:
        DifferentialMachine.make_sql = None


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql", "mysql"])
def test_memory_and_sql_agree(backend_name: str, request: pytest.FixtureRequest) -> None:
    fixture = {"sqlite": "sqlite_backend", "postgresql": "postgres_backend"}.get(
        backend_name, "mysql_backend"
    )
    backend: Backend = request.getfixturevalue(fixture)
    stores: list[SqlStore] = []

    def make() -> Store:
        store = backend.store()
        stores.append(store)
        return store

    _run(make)
    assert stores
