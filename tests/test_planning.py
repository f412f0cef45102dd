"""The annual plan (第六条): who sets it, its validation, its progress, the bulletin, reminders."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import pytest

from qiandao._core import Actor
from qiandao.audit import AuditQuery
from qiandao.model import Account, FocusCategory
from qiandao.planning import (
    PlanRevision,
    Target,
    TargetMeasure,
    TargetScope,
    progress_of,
)
from qiandao.rules.points import Period
from qiandao.rules.roles import Role
from qiandao.statistics import StatisticsQuery
from qiandao.testing import enrol
from tests.helpers import ZS, World, at, fails, make_world

AUDITOR = Actor("audit-1", Role.AUDIT_ADMIN, ZS)
CONTACT = Actor("cp1", Role.CONTACT_POINT, ZS)

S, M = TargetScope, TargetMeasure
TARGETS = (
    Target(S.ROLE, M.SUBMITTED, 2, role=Role.MEMBER),
    Target(S.ROLE, M.ADOPTED, 1, role=Role.MEMBER),
    Target(S.ROLE, M.SUBMITTED, 4, role=Role.CONTACT_POINT),
    Target(S.JURISDICTION, M.SUBMITTED, 3),
    Target(S.JURISDICTION, M.ADOPTED, 1),
    Target(S.CATEGORY, M.SUBMITTED, 2, category=FocusCategory.HOT_ISSUE),
)


@pytest.fixture
def w() -> World:
    world = make_world()
    enrol(world.store, AUDITOR)
    with world.store.unit_of_work() as uow:
        grant = CONTACT.grant
        uow.accounts.add(Account("cp1", 1, "定海联系点", (grant,), ZS, world.clock.now()))
        uow.commit()
    return world


def _work(w: World) -> None:
    """An adopted item by 委员 m1 with m2 (hot issue), and one more by m1 (emergency)."""
    w.issued()
    w.qd.submit_new(w.member, {"title": "台风预警", "body": "正文", "category": "emergency"})


# --- setting the plan ---------------------------------------------------------------------------


def test_the_office_sets_the_plan_and_a_new_revision_keeps_the_former(w: World) -> None:
    first = w.qd.set_annual_plan(w.editor, 2026, TARGETS, note="年初计划", expected_revision=0)
    assert (first.id, first.jurisdiction, first.year, first.revision) == (f"{ZS}:2026", ZS, 2026, 1)
    assert first.targets == TARGETS and first.set_by == w.editor.account_id
    w.clock.advance(days=30)
    second = w.qd.set_annual_plan(w.head, 2026, TARGETS[:2], note="调整", expected_revision=1)
    assert (second.revision, second.targets, second.set_by) == (2, TARGETS[:2], "h1")
    assert second.history == (PlanRevision(1, TARGETS, "e1", first.set_at, "年初计划"),)
    assert w.qd.annual_plan(w.deputy, 2026) == second
    assert w.qd.annual_plan(w.member, 2026).targets == TARGETS[:2]  # submitters read it
    # a county's plan is its own
    fails("not_found", lambda: w.qd.annual_plan(w.county["editor"], 2026))


def test_a_stale_revision_is_a_conflict_and_changes_nothing(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    fails(
        "store.conflict",
        lambda: w.qd.set_annual_plan(w.head, 2026, TARGETS[:1], expected_revision=0),
    )
    assert w.qd.annual_plan(w.editor, 2026).revision == 1


@pytest.mark.parametrize("who", ["member", "deputy", "unit", "admin"])
def test_only_the_editor_and_the_office_head_set_the_plan(w: World, who: str) -> None:
    actors = {"member": w.member, "deputy": w.deputy, "unit": w.unit("u-a"), "admin": AUDITOR}
    fails("permission.denied", lambda: w.qd.set_annual_plan(actors[who], 2026, TARGETS))
    fails("not_found", lambda: w.qd.annual_plan(w.editor, 2026))


def test_units_and_admins_read_no_plan_nor_progress(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    for actor in (w.unit("u-a"), AUDITOR):
        fails("permission.denied", functools.partial(w.qd.annual_plan, actor, 2026))
        fails("permission.denied", functools.partial(w.qd.plan_progress, actor, 2026))


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([], "targets"),
        ("targets", "targets"),
        ([{"scope": "role"}], "targets[0]"),
        ([Target(S.ROLE, M.SUBMITTED, 2)], "targets[0].role"),
        ([Target(S.ROLE, M.SUBMITTED, 2, role=Role.EDITOR)], "targets[0].role"),
        ([Target(S.JURISDICTION, M.SUBMITTED, 2, role=Role.MEMBER)], "targets[0].role"),
        ([Target(S.CATEGORY, M.ADOPTED, 1)], "targets[0].category"),
        (
            [Target(S.JURISDICTION, M.ADOPTED, 1, category=FocusCategory.EMERGENCY)],
            "targets[0].category",
        ),
        ([TARGETS[0], Target(S.JURISDICTION, M.SUBMITTED, 0)], "targets[1].minimum"),
        ([Target(S.JURISDICTION, M.SUBMITTED, True)], "targets[0].minimum"),
        ([Target(S.JURISDICTION, M.SUBMITTED, 10**6)], "targets[0].minimum"),
        ([Target("everyone", M.SUBMITTED, 1)], "targets[0].scope"),  # type: ignore[arg-type]
        ([Target(S.JURISDICTION, "read", 1)], "targets[0].measure"),  # type: ignore[arg-type]
        ([TARGETS[3], TARGETS[3]], "targets[1]"),
    ],
)
def test_bad_targets_are_refused_with_their_path(w: World, targets: Any, field: str) -> None:
    error = fails("input.invalid", lambda: w.qd.set_annual_plan(w.editor, 2026, targets))
    assert error.field == field


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"year": 1900}, "year"),
        ({"year": "2026"}, "year"),
        ({"note": "x" * 501}, "note"),
        ({"expected_revision": -1}, "expected_revision"),
        ({"expected_revision": "1"}, "expected_revision"),
    ],
)
def test_bad_arguments_are_refused(w: World, arguments: dict[str, Any], field: str) -> None:
    given: dict[str, Any] = {"year": 2026, "targets": TARGETS, **arguments}
    with pytest.raises(Exception) as caught:
        w.qd.set_annual_plan(w.editor, **given)
    assert getattr(caught.value, "code", "") in ("input.invalid", "input.too_large")
    assert getattr(caught.value, "field", "") == field


def test_setting_the_plan_is_audited(w: World) -> None:
    plan = w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    query = AuditQuery(action="set_annual_plan", target_id=plan.id)
    (record,) = w.qd.audit_log(AUDITOR, query).records
    assert record.entry.events == ("plan_set",)
    assert record.entry.account_id == w.editor.account_id
    fails("permission.denied", lambda: w.qd.set_annual_plan(w.member, 2026, TARGETS))
    refused = w.qd.audit_log(AUDITOR, AuditQuery(action="set_annual_plan", account_id="m1"))
    assert [r.entry.code for r in refused.records] == ["permission.denied"]


# --- progress -----------------------------------------------------------------------------------


def _line(progress: Any, index: int) -> tuple[Any, ...]:
    t = progress.targets[index]
    return t.actual, t.goal, t.share, t.met, [(p.person_id, p.count, p.behind) for p in t.people]


def test_progress_counts_the_years_statistics(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    _work(w)
    progress = w.qd.plan_progress(w.editor, 2026)
    assert progress.period == Period(date(2026, 1, 1), date(2026, 3, 2))
    assert _line(progress, 0) == (
        1,
        3,
        0.3333,
        False,
        [("m1", 2, False), ("m2", 1, True), ("m3", 0, True)],
    )
    assert _line(progress, 1) == (
        2,
        3,
        0.6667,
        False,
        [("m1", 1, False), ("m2", 1, False), ("m3", 0, True)],
    )
    assert _line(progress, 2) == (0, 1, 0.0, False, [("cp1", 0, True)])
    assert progress.targets[2].people[0].name == "定海联系点"
    assert _line(progress, 3)[:4] == (2, 3, 0.6667, False)
    assert _line(progress, 4)[:4] == (1, 1, 1.0, True)
    assert _line(progress, 5)[:4] == (1, 2, 0.5, False)
    assert progress.targets[0].behind == ("m2", "m3")
    # the same numbers as the store's statistics of the year so far, by the pure function
    with w.store.unit_of_work() as uow:
        stats = uow.items.statistics(StatisticsQuery(ZS, progress.period, date(2026, 3, 2)))
    plan = w.qd.annual_plan(w.editor, 2026)
    names = {
        Role.MEMBER: {"m1": "m1", "m2": "m2", "m3": "m3"},
        Role.CONTACT_POINT: {"cp1": "定海联系点"},
    }
    assert progress_of(plan, stats, names) == progress


def test_a_submitter_sees_only_their_own_groups_targets_and_line(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    _work(w)
    mine = w.qd.plan_progress(w.coauthor, 2026)
    assert [t.target for t in mine.targets] == list(TARGETS[:2])
    assert _line(mine, 0) == (0, 1, 0.0, False, [("m2", 1, True)])
    assert _line(mine, 1) == (1, 1, 1.0, True, [("m2", 1, False)])
    contact = w.qd.plan_progress(CONTACT, 2026)
    assert [t.target for t in contact.targets] == [TARGETS[2]]
    assert w.qd.annual_plan(w.member, 2026).reminded == ()


def test_progress_without_a_plan_is_not_found_and_its_read_is_audited(w: World) -> None:
    fails("not_found", lambda: w.qd.plan_progress(w.editor, 2026))
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    w.qd.plan_progress(w.editor, 2026)
    records = w.qd.audit_log(AUDITOR, AuditQuery(action="plan_progress", account_id="e1")).records
    assert [r.entry.code for r in records] == ["not_found", None]  # the refusal, then the read


def test_the_bulletin_carries_the_plans_progress_to_the_quarters_end(w: World) -> None:
    assert w.qd.quarterly_bulletin(w.editor, 2026, 1).plan is None
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    _work(w)
    w.clock.set(at(2026, 5, 6))
    w.qd.submit_new(w.member, {"title": "第二季度", "body": "正文", "category": "hot_issue"})
    first = w.qd.quarterly_bulletin(w.editor, 2026, 1).plan
    assert first is not None and first.period == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert _line(first, 3)[0] == 2  # the second quarter's item is not counted yet
    second = w.qd.quarterly_bulletin(w.editor, 2026, 2).plan
    assert second == w.qd.plan_progress(w.editor, 2026)  # the quarter has not ended: to today
    assert second is not None and _line(second, 3)[0] == 3
    assert w.qd.annual_bulletin(w.editor, 2026).plan == second
    assert w.qd.quarterly_bulletin(w.county["editor"], 2026, 1).plan is None


# --- reminders ----------------------------------------------------------------------------------


def _plan_notices(w: World) -> list[tuple[tuple[str, ...], str]]:
    return [(n.recipients, n.text) for n in w.notifier.sent if n.kind == "plan_behind"]


def test_the_job_reminds_whoever_is_behind_in_the_last_quarter_once(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    _work(w)
    w.clock.set(at(2026, 9, 30, 20))
    assert w.qd.run_due_jobs().plan_reminders == 0  # not before the last quarter
    assert _plan_notices(w) == []
    w.clock.set(at(2026, 10, 8))
    assert w.qd.run_due_jobs().plan_reminders == 3  # m2, m3 and the contact point
    sent = _plan_notices(w)
    assert [r for r, _ in sent] == [("cp1",), ("m2",), ("m3",)]
    assert all("2026" in text for _, text in sent)
    assert w.qd.annual_plan(w.editor, 2026).reminded == ("cp1", "m2", "m3")
    w.clock.set(at(2026, 11, 9))
    assert w.qd.run_due_jobs().plan_reminders == 0  # once a year
    assert len(_plan_notices(w)) == 3
    (record,) = w.qd.audit_log(
        AUDITOR, AuditQuery(action="run_due_jobs", target_id=f"{ZS}:2026")
    ).records
    assert "plan_reminded" in record.entry.events


def test_a_plan_of_another_year_and_people_on_target_are_not_reminded(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2027, TARGETS)
    only_adoption = (Target(S.ROLE, M.ADOPTED, 1, role=Role.MEMBER),)
    w.qd.set_annual_plan(w.county["editor"], 2026, only_adoption)
    w.issued(w.county)  # dh-m1 and dh-m2 adopted; dh-m3 is behind
    w.clock.set(at(2026, 12, 1))
    assert w.qd.run_due_jobs().plan_reminders == 1
    assert [r for r, _ in _plan_notices(w)] == [("dh-m3",)]


def test_a_new_revision_keeps_who_was_reminded(w: World) -> None:
    w.qd.set_annual_plan(w.editor, 2026, TARGETS)
    w.clock.set(at(2026, 10, 8))
    w.qd.run_due_jobs()
    revised = w.qd.set_annual_plan(w.editor, 2026, TARGETS[:1], expected_revision=1)
    assert revised.reminded == ("cp1", "m1", "m2", "m3")  # nothing submitted: all behind
    assert w.qd.run_due_jobs().plan_reminders == 0
