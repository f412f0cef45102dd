"""The annual plan on every store: progress from the store's statistics, reminders once."""

from __future__ import annotations

from qiandao.model import Account, RoleGrant
from qiandao.planning import Target, TargetMeasure, TargetScope
from qiandao.ports.store import Store
from qiandao.rules.roles import Role
from tests.helpers import ZS, at, make_world

S, M = TargetScope, TargetMeasure
TARGETS = (
    Target(S.ROLE, M.SUBMITTED, 2, role=Role.MEMBER),
    Target(S.ROLE, M.SUBMITTED, 4, role=Role.CONTACT_POINT),
    Target(S.JURISDICTION, M.ADOPTED, 1),
)


def test_progress_bulletin_and_reminders_agree_on_every_store(any_store: Store) -> None:
    w = make_world(store=any_store)
    with any_store.unit_of_work() as uow:
        grant = RoleGrant(Role.CONTACT_POINT, ZS)
        uow.accounts.add(Account("cp1", 1, "联系点", (grant,), ZS, w.clock.now()))
        uow.commit()
    w.qd.set_annual_plan(w.editor, 2026, TARGETS, note="年初 '%_\\")
    w.issued()  # m1 and m2 submit together; adopted
    w.qd.submit_new(w.member, {"title": "二", "body": "正文", "category": "emergency"})
    progress = w.qd.plan_progress(w.editor, 2026)
    member, contact, office = progress.targets
    assert [(p.person_id, p.count, p.behind) for p in member.people] == [
        ("m1", 2, False),
        ("m2", 1, True),
        ("m3", 0, True),
    ]
    assert [(p.person_id, p.name) for p in contact.people] == [("cp1", "联系点")]
    assert (office.actual, office.goal, office.met) == (1, 1, True)
    assert w.qd.quarterly_bulletin(w.editor, 2026, 1).plan == progress
    w.clock.set(at(2026, 10, 12))
    assert w.qd.run_due_jobs().plan_reminders == 3
    assert w.qd.run_due_jobs().plan_reminders == 0
    plan = w.qd.annual_plan(w.editor, 2026)
    assert (plan.reminded, plan.note, plan.revision) == (("cp1", "m2", "m3"), "年初 '%_\\", 1)
    revised = w.qd.set_annual_plan(w.head, 2026, TARGETS[:1], expected_revision=1)
    assert w.qd.annual_plan(w.member, 2026).targets == revised.targets
    assert revised.history[0].targets == TARGETS
