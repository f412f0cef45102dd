"""When the official schedule of a new year is loaded, provisional deadlines are recomputed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from qiandao.rules.workdays import ChinaWorkdays
from tests.helpers import at, make_world

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
    # a second adoption of the same calendar changes nothing
    assert world.qd.adopt_calendar(official) == 0
