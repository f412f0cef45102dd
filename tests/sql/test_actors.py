"""Verified actors (issue 9): every command and query believes no ``Actor`` it is handed.

The acting account must exist, be active (not departed, not locked) and hold the actor's grant
(role, jurisdiction, unit), checked in the command's own unit of work; otherwise
``account.actor_refused`` and nothing changes. Run on the memory store and every SQL store.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from sqlalchemy import event

from qiandao import (
    SHANGHAI,
    Actor,
    NewUnit,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
    RoleGrant,
    Unit,
)
from qiandao.model import AccountStatus
from qiandao.planning import Target, TargetMeasure, TargetScope
from qiandao.ports.store import Store
from qiandao.rules.points import Period
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.sql.conftest import Backend
from tests.sql.test_article_rules import snapshot

J = "zhoushan"
OTHER = "zhoushan.dinghai"
NOW = datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}
GRANT = RoleGrant(Role.MEMBER, J)

Call = Callable[[Qiandao, Actor], object]

# Every public method that takes an actor: the role its call needs, and a call with valid
# arguments (the actor check comes before any lookup, so the ids need not exist).
CALLS: dict[str, tuple[Role, Call]] = {
    "accept": (Role.HANDLING_UNIT, lambda q, a: q.accept(a, "i", "a")),
    "account_history": (Role.AUDIT_ADMIN, lambda q, a: q.account_history(a, "x")),
    "allowed_actions": (Role.EDITOR, lambda q, a: q.allowed_actions(a, "i")),
    "approve": (Role.DEPUTY, lambda q, a: q.approve(a, "i")),
    "approve_extension": (Role.EDITOR, lambda q, a: q.approve_extension(a, "i", "a")),
    "assessment": (Role.EDITOR, lambda q, a: q.assessment(a, 2026)),
    "assign": (Role.EDITOR, lambda q, a: q.assign(a, "i", ["u-1"])),
    "cancel_assignment": (Role.EDITOR, lambda q, a: q.cancel_assignment(a, "i", "a", "理由")),
    "close": (Role.EDITOR, lambda q, a: q.close(a, "i")),
    "commission_progress": (Role.EDITOR, lambda q, a: q.commission_progress(a, "c")),
    "create_commission": (
        Role.EDITOR,
        lambda q, a: q.create_commission(a, "约稿主题", ["m"], date(2026, 12, 1)),
    ),
    "decline": (Role.HANDLING_UNIT, lambda q, a: q.decline(a, "i", "a", "理由")),
    "depart": (Role.SYSTEM_ADMIN, lambda q, a: q.depart(a, "x")),
    "draft": (Role.MEMBER, lambda q, a: q.draft(a, PAYLOAD)),
    "edit_draft": (Role.MEMBER, lambda q, a: q.edit_draft(a, "i", title="标题")),
    "events_since": (Role.INTEGRATION, lambda q, a: q.events_since(a, None)),
    "explain_deadline": (Role.EDITOR, lambda q, a: q.explain_deadline(a, "i", "a")),
    "grant_role": (Role.SYSTEM_ADMIN, lambda q, a: q.grant_role(a, "x", Role.MEMBER, J)),
    "inbox": (Role.CHAIR, lambda q, a: q.inbox(a)),
    "item_detail": (Role.EDITOR, lambda q, a: q.item_detail(a, "i")),
    "lane": (Role.EDITOR, lambda q, a: q.lane(a, "preliminary")),
    "lane_counts": (Role.EDITOR, lambda q, a: q.lane_counts(a)),
    "merge": (Role.EDITOR, lambda q, a: q.merge(a, "i", "j")),
    "my_items": (Role.MEMBER, lambda q, a: q.my_items(a)),
    "order_rehandle": (Role.MEMBER, lambda q, a: q.order_rehandle(a, "i", "a", "理由")),
    "overdue": (Role.HANDLING_UNIT, lambda q, a: q.overdue(a)),
    "overdue_reviews": (Role.EDITOR, lambda q, a: q.overdue_reviews(a)),
    "overrule": (Role.EDITOR, lambda q, a: q.overrule(a, "i", "a", "理由")),
    "pass_preliminary": (
        Role.EDITOR,
        lambda q, a: q.pass_preliminary(a, "i", destinations=["forward_to_departments"]),
    ),
    "published": (Role.MEMBER, lambda q, a: q.published(a)),
    "quarterly_bulletin": (Role.EDITOR, lambda q, a: q.quarterly_bulletin(a, 2026, 3)),
    "annual_bulletin": (Role.EDITOR, lambda q, a: q.annual_bulletin(a, 2026)),
    "set_annual_plan": (
        Role.EDITOR,
        lambda q, a: q.set_annual_plan(
            a, 2026, [Target(TargetScope.JURISDICTION, TargetMeasure.SUBMITTED, 5)]
        ),
    ),
    "annual_plan": (Role.EDITOR, lambda q, a: q.annual_plan(a, 2026)),
    "plan_progress": (Role.EDITOR, lambda q, a: q.plan_progress(a, 2026)),
    "similar_items": (Role.EDITOR, lambda q, a: q.similar_items(a, "i")),
    "hot_topics": (Role.EDITOR, lambda q, a: q.hot_topics(a, Period.quarter(2026, 3))),
    "trends": (Role.EDITOR, lambda q, a: q.trends(a, [Period.quarter(2026, 3)])),
    "rate": (Role.MEMBER, lambda q, a: q.rate(a, "i", "a", Rating.SATISFIED)),
    "reassign": (Role.EDITOR, lambda q, a: q.reassign(a, "i", "a", "u-1")),
    "reclassify": (Role.EDITOR, lambda q, a: q.reclassify(a, "i", True, "理由")),
    "record_adoption": (
        Role.EDITOR,
        lambda q, a: q.record_adoption(a, "i", "city_cppcc", date(2026, 11, 1)),
    ),
    "record_implementation": (
        Role.EDITOR,
        lambda q, a: q.record_implementation(a, "i", date(2026, 11, 1), "落实"),
    ),
    "record_instruction": (
        Role.EDITOR,
        lambda q, a: q.record_instruction(a, "i", "领导", "city_leader", date(2026, 11, 1), "批示"),
    ),
    "refuse_extension": (Role.EDITOR, lambda q, a: q.refuse_extension(a, "i", "a", "理由")),
    "register": (
        Role.SYSTEM_ADMIN,
        lambda q, a: q.register(a, real_name="王五", phone="13900139000", role="member"),
    ),
    "reject": (Role.EDITOR, lambda q, a: q.reject(a, "i", "理由")),
    "reply": (Role.HANDLING_UNIT, lambda q, a: q.reply(a, "i", "a", "答复")),
    "report_theft": (Role.MEMBER, lambda q, a: q.report_theft(a, a.account_id)),
    "report_up": (Role.EDITOR, lambda q, a: q.report_up(a, "i")),
    "request_extension": (
        Role.HANDLING_UNIT,
        lambda q, a: q.request_extension(a, "i", "a", 5, "理由"),
    ),
    "resubmit": (Role.MEMBER, lambda q, a: q.resubmit(a, "i")),
    "return_for_revision": (Role.EDITOR, lambda q, a: q.return_for_revision(a, "i", "理由")),
    "revoke_role": (Role.SYSTEM_ADMIN, lambda q, a: q.revoke_role(a, "x", GRANT)),
    "send_back": (Role.DEPUTY, lambda q, a: q.send_back(a, "i", "理由")),
    "set_publication_consent": (
        Role.MEMBER,
        lambda q, a: q.set_publication_consent(a, "i", False),
    ),
    "sign": (Role.OFFICE_HEAD, lambda q, a: q.sign(a, "i")),
    "submit": (Role.MEMBER, lambda q, a: q.submit(a, "i")),
    "submit_new": (Role.MEMBER, lambda q, a: q.submit_new(a, PAYLOAD)),
    "unlock": (Role.SYSTEM_ADMIN, lambda q, a: q.unlock(a, "x")),
    "withdraw": (Role.MEMBER, lambda q, a: q.withdraw(a, "i")),
    "approve_grant": (Role.SECURITY_ADMIN, lambda q, a: q.approve_grant(a, "p")),
    "audit_log": (Role.AUDIT_ADMIN, lambda q, a: q.audit_log(a)),
    "watermark": (Role.MEMBER, lambda q, a: q.watermark(a)),
    "verify_audit": (Role.AUDIT_ADMIN, lambda q, a: q.verify_audit(a)),
    "purge_audit": (
        Role.AUDIT_ADMIN,
        lambda q, a: q.purge_audit(a, datetime(2000, 1, 1, tzinfo=UTC)),
    ),
    "reject_grant": (Role.SECURITY_ADMIN, lambda q, a: q.reject_grant(a, "p", "理由")),
    "grant_proposals": (Role.SECURITY_ADMIN, lambda q, a: q.grant_proposals(a)),
    "set_password_policy": (
        Role.SECURITY_ADMIN,
        lambda q, a: q.set_password_policy(a, J, q.password_policy(J)),
    ),
    "password_policy_changes": (
        Role.AUDIT_ADMIN,
        lambda q, a: q.password_policy_changes(a, J),
    ),
    "add_unit": (Role.SYSTEM_ADMIN, lambda q, a: q.add_unit(a, "u-new", "新单位")),
    "import_units": (
        Role.SYSTEM_ADMIN,
        lambda q, a: q.import_units(a, [NewUnit("u-new", "新单位")]),
    ),
    "rename_unit": (Role.SYSTEM_ADMIN, lambda q, a: q.rename_unit(a, "u-1", "新名")),
    "merge_units": (Role.SYSTEM_ADMIN, lambda q, a: q.merge_units(a, "u-1", "u-2")),
    "retire_unit": (Role.SYSTEM_ADMIN, lambda q, a: q.retire_unit(a, "u-1")),
    "units": (Role.EDITOR, lambda q, a: q.units(a)),
    "unit_history": (Role.SYSTEM_ADMIN, lambda q, a: q.unit_history(a, "u-1")),
    "add_jurisdiction": (
        Role.SYSTEM_ADMIN,
        lambda q, a: q.add_jurisdiction(a, "zhoushan.x", "新区", J),
    ),
    "rename_jurisdiction": (
        Role.SYSTEM_ADMIN,
        lambda q, a: q.rename_jurisdiction(a, OTHER, "定海"),
    ),
    "jurisdictions": (Role.MEMBER, lambda q, a: q.jurisdictions(a)),
}


def test_the_table_names_every_method_that_takes_an_actor() -> None:
    """A new command or query joins the table, so its actor check is attacked too."""
    taking_actor = {
        name
        for name, method in inspect.getmembers(Qiandao, inspect.isfunction)
        if not name.startswith("_") and "actor" in inspect.signature(method).parameters
    }
    assert taking_actor == set(CALLS)


def _grant(role: Role, jurisdiction: str = J) -> RoleGrant:
    return RoleGrant(role, jurisdiction, "u-1" if role is Role.HANDLING_UNIT else None)


def _actor(account_id: str, grant: RoleGrant) -> Actor:
    return Actor(account_id, grant.role, grant.jurisdiction, grant.unit_id)


def _set(store: Store, account_id: str, **changes: Any) -> None:
    with store.unit_of_work() as uow:
        before = uow.accounts.get(account_id)
        after = attrs.evolve(before, version=before.version + 1, **changes)
        uow.accounts.save(after, before.version)
        uow.commit()


def _ghosts(store: Store, role: Role) -> dict[str, Actor]:
    """Actors of ``role`` the service must refuse, one per reason, stored as that reason says."""
    grant = _grant(role)
    departed = _actor(f"departed-{role.value}", grant)
    locked = _actor(f"locked-{role.value}", grant)
    elsewhere = _actor(f"elsewhere-{role.value}", _grant(role, OTHER))
    enrol(store, departed, locked, elsewhere, at=NOW)
    _set(store, departed.account_id, status=AccountStatus.DELETED, phone=None, deleted_at=NOW)
    _set(store, locked.account_id, status=AccountStatus.LOCKED, lock_reason="被盗")
    ghosts = {
        "unknown": _actor(f"nobody-{role.value}", grant),
        "departed": departed,
        "locked": locked,
        "other_grant": _actor(elsewhere.account_id, grant),
    }
    if role is Role.HANDLING_UNIT:  # a unit actor built without its unit
        unit = _actor(f"unit-{role.value}", grant)
        enrol(store, unit, at=NOW)
        ghosts["no_unit"] = Actor(unit.account_id, role, J)
        ghosts["other_unit"] = Actor(unit.account_id, role, J, "u-2")
    return ghosts


def _service(store: Store) -> Qiandao:
    with store.unit_of_work() as uow:
        uow.units.add(Unit("u-1", "市交通运输局", J))
        uow.units.add(Unit("u-2", "市海洋与渔业局", J))
        uow.commit()
    return Qiandao(
        store,
        clock=ManualClock(NOW),
        hasher=Argon2Hasher.fast(),
        credential_delivery=RecordingDelivery(),
    )


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_method_refuses_an_actor_the_store_does_not_vouch_for(
    any_store: Store, name: str
) -> None:
    qd = _service(any_store)
    role, call = CALLS[name]
    for reason, ghost in _ghosts(any_store, role).items():
        before = snapshot(qd)
        with pytest.raises(QiandaoError) as caught:
            call(qd, ghost)
        assert caught.value.code == "account.actor_refused", (reason, caught.value)
        assert snapshot(qd) == before, reason


def test_the_reproductions_of_the_issue_are_refused(any_store: Store) -> None:
    qd = _service(any_store)
    member = Actor("m1", Role.MEMBER, J)
    unit = Actor("ua", Role.HANDLING_UNIT, J, "u-1")
    editor = Actor("e1", Role.EDITOR, J)
    enrol(any_store, member, unit, editor, at=NOW)
    qd.submit_new(member, PAYLOAD)  # a real member submits

    # A departed member's old Actor can no longer submit.
    _set(any_store, "m1", status=AccountStatus.DELETED, phone=None, deleted_at=NOW)
    before = snapshot(qd)
    with pytest.raises(QiandaoError) as departed:
        qd.submit_new(member, PAYLOAD)
    assert departed.value.code == "account.actor_refused"
    assert snapshot(qd) == before

    # An actor naming no account cannot read a chair's inbox.
    with pytest.raises(QiandaoError) as nobody:
        qd.inbox(Actor("no-such-account", Role.CHAIR, J))
    assert nobody.value.code == "account.actor_refused"

    # A unit actor built without its unit gets no unscoped overdue list.
    with pytest.raises(QiandaoError) as unscoped:
        qd.overdue(Actor("ua", Role.HANDLING_UNIT, J))
    assert unscoped.value.code == "account.actor_refused"
    assert qd.overdue(unit).items == ()  # the real unit actor is served


def test_a_lockout_after_failed_guesses_does_not_stop_a_signed_in_actor(any_store: Store) -> None:
    """Failed guesses lock new sign-ins only: anyone knowing a number could otherwise stop its
    owner, signed in, for the lockout time, again and again. A theft lock refuses."""
    qd = _service(any_store)
    member = Actor("m1", Role.MEMBER, J)
    enrol(any_store, member, at=NOW)
    _set(any_store, "m1", status=AccountStatus.LOCKED, locked_until=NOW + timedelta(minutes=5))
    assert qd.my_items(member).items == ()
    _set(any_store, "m1", locked_until=None, lock_reason="被盗")
    with pytest.raises(QiandaoError) as stolen:
        qd.my_items(member)
    assert stolen.value.code == "account.actor_refused"


def test_a_revoked_grant_refuses_the_actor_of_that_grant_only(any_store: Store) -> None:
    qd = _service(any_store)
    chair = Actor("p1", Role.CHAIR, J)
    member = Actor("p1", Role.MEMBER, J)
    enrol(any_store, chair, member, at=NOW)
    assert qd.inbox(chair) == []
    _set(any_store, "p1", grants=(member.grant,))  # the chair grant is revoked
    with pytest.raises(QiandaoError) as revoked:
        qd.inbox(chair)
    assert revoked.value.code == "account.actor_refused"
    assert qd.my_items(member).items == ()


def test_the_actor_check_reads_the_account_by_its_key_only(sqlite_backend: Backend) -> None:
    """The check costs one indexed read: SQLite's plan for it searches, never scans."""
    store = sqlite_backend.store()
    qd = _service(store)
    member = Actor("m1", Role.MEMBER, J)
    enrol(store, member, at=NOW)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(sqlite_backend.engine, "before_cursor_execute", record)
    try:
        qd.my_items(member)
    finally:
        event.remove(sqlite_backend.engine, "before_cursor_execute", record)
    reads = [(sql, p) for sql, p in seen if "qd_accounts" in sql]
    assert len(reads) == 1, reads  # one read of the actor's account per query
    with sqlite_backend.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {reads[0][0]}", reads[0][1]).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH" in details and "SCAN" not in details, details
