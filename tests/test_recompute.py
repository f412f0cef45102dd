"""When the official schedule of a new year is loaded, provisional deadlines are recomputed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qiandao import StoreUnavailable
from qiandao._jobs import SYSTEM_ACTOR_ID
from qiandao.rules.workdays import ChinaWorkdays
from tests.helpers import at, make_world
from tests.wrappers import DelegatingUnitOfWork

SCHEDULE_2027 = """
[[years]]
year = 2027
[[years.notices]]
title = "测试用2027年安排（非官方）"
number = "测试〔2026〕1号"
published = 2026-11-20
[[years.holidays]]
name = "元旦"
start = 2027-01-01
end = 2027-01-05
[[years.makeup_workdays]]
name = "元旦"
days = [2027-01-09]
"""


def test_loading_the_official_year_moves_provisional_deadlines(tmp_path: Path) -> None:
    world = make_world(at(2026, 12, 15))
    item, (a,) = world.assigned(("u-a", True))
    assert a.provisional  # due in 2027, a year without an official schedule yet
    provisional_due = a.due
    path = tmp_path / "2027.toml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    official = ChinaWorkdays.official().load_schedule(path)
    world.notifier.sent.clear()

    assert world.qd.adopt_calendar(official) == 1
    moved = world.load(item.id).assignments[0]
    start = date(2026, 12, 15)
    assert not moved.provisional
    assert moved.due == official.add_working_days(start, 15)
    assert moved.due != provisional_due
    assert [n.kind for n in world.notifier.sent] == ["deadline_recomputed"]
    assert world.notifier.sent[0].recipients == ("unit:u-a",)
    assert world.events(item.id)[-1].actor_id == SYSTEM_ACTOR_ID
    # a second adoption of the same calendar changes nothing
    assert world.qd.adopt_calendar(official) == 0


class _FailOnce(DelegatingUnitOfWork):
    def __init__(self, inner: Any, budget: list[int]) -> None:
        super().__init__(inner)
        self._budget = budget

    def commit(self) -> None:
        if self._budget and self._budget[0] > 0:
            self._budget[0] -= 1
            if self._budget[0] == 0:
                raise StoreUnavailable()
        self._inner.commit()


def test_a_failed_adoption_can_be_run_again(tmp_path: Path) -> None:
    world = make_world(at(2026, 12, 15))
    first, _ = world.assigned(("u-a", True))
    second, _ = world.assigned(("u-b", True))
    path = tmp_path / "2027.toml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    official = ChinaWorkdays.official().load_schedule(path)
    inner = world.store
    budget = [2]  # the second item's commit fails: the store went away mid-run

    class Flaky:
        def unit_of_work(self) -> Any:
            return _FailOnce(inner.unit_of_work(), budget)

    world.qd.notifier = None  # only the items' own commits count here
    world.qd.store = Flaky()
    with pytest.raises(StoreUnavailable):
        world.qd.adopt_calendar(official)
    world.qd.store = inner
    assert world.qd.adopt_calendar(official) == 1  # only what was left
    expected = official.add_working_days(date(2026, 12, 15), 15)
    for item in (first, second):
        (a,) = world.load(item.id).assignments
        assert (a.due, a.provisional) == (expected, False)
