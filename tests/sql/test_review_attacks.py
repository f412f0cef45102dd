"""Adversarial review of issue 9 (the trust boundary), kept as regression tests: the findings
(each failed before its fix) and the attacks that held."""

from __future__ import annotations

import functools

import attrs
import pytest

from qiandao import Actor, PasswordPolicy, PasswordProfile, Role
from qiandao.errors import QiandaoError
from qiandao.model import AccountStatus, Channel
from qiandao.ports.store import Store
from qiandao.testing import enrol
from tests.helpers import DH, ZS, World, fails, make_world
from tests.sql.test_grants import PHONE, Office

DJCP = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
OWASP = PasswordPolicy.for_profile(PasswordProfile.OWASP_ASVS)


@pytest.fixture
def office(any_store: Store) -> Office:
    return Office(any_store)


# --- findings -------------------------------------------------------------------------------


def test_policy_cannot_be_loosened_by_naming_a_weaker_profile(office: Office) -> None:
    """The zhoushan rules are 等保三级 (5 tries, 30 min lockout, 3 classes, 90-day expiry).
    A policy that names OWASP_ASVS passes check_policy_floor against OWASP's own figures:
    10 tries, 15 min lockout, no character classes, no expiry."""
    qd = office.qd
    assert qd.password_policy(ZS).profile is PasswordProfile.DJCP_LEVEL3
    fails(
        "account.policy_too_weak",
        functools.partial(qd.set_password_policy, office.security, ZS, OWASP),
    )


def test_proposal_of_a_departed_system_admin_cannot_be_approved(office: Office) -> None:
    """Two-person rule: the proposer must still be a system admin when the grant is approved.
    Here a second system admin proposes, is deleted (or loses the role), and the security admin
    still approves: the grant rests on one person who is no longer in office."""
    qd = office.qd
    rogue = Actor("rogue-admin", Role.SYSTEM_ADMIN, ZS)
    enrol(office.store, rogue)
    pending = qd.register(rogue, real_name="李四", phone="13900139000", role=Role.CHAIR)
    qd.depart(office.admin, rogue.account_id)
    (proposal,) = [
        p for p in qd.grant_proposals(office.security).items if p.account_id == pending.id
    ]
    with pytest.raises(QiandaoError):
        qd.approve_grant(office.security, proposal.id)


def test_approval_of_a_theft_locked_pending_registration_is_refused(office: Office) -> None:
    """The system admin reports theft on a pending registration (no grant, no password).
    approve_grant then issues a password and the grant to a LOCKED account, which the system
    admin may now unlock: the admin chose when (and that) a second password is issued, outside
    the two-person decision. Approval should require an ACTIVE account (or reject)."""
    qd = office.qd
    pending = qd.register(office.admin, real_name="李四", phone="13900139000", role=Role.CHAIR)
    qd.report_theft(office.admin, pending.id)
    assert office.account(pending.id).status is AccountStatus.LOCKED
    (proposal,) = [
        p for p in qd.grant_proposals(office.security).items if p.account_id == pending.id
    ]
    with pytest.raises(QiandaoError):
        qd.approve_grant(office.security, proposal.id)


def _memory_world() -> World:
    return make_world()


def test_key_scope_cannot_collide_between_two_accounts() -> None:
    """The scoped key is ``f"{account_id}:{client_key}"``; ids may contain ':' (check_id allows
    it; enrol and host-chosen ids do). Account "x" with key "y:z" and account "x:y" with key "z"
    would share one record: so a key never holds ':'."""
    w = _memory_world()
    x, xy = Actor("x", Role.MEMBER, ZS), Actor("x:y", Role.MEMBER, ZS)
    enrol(w.store, x, xy)
    data = {
        "title": "海岛渔民养老保险",
        "body": "渔民反映养老保险缴费年限计算不一致。",
        "category": "hot_issue",
    }
    fails("input.invalid", lambda: w.qd.submit_new(x, data, idempotency_key="y:z"))  # no ':'
    first = w.qd.submit_new(x, data, idempotency_key="y-z")
    second = w.qd.submit_new(xy, data, idempotency_key="z")
    assert second.id != first.id


def test_unit_result_does_not_reveal_the_submitters_kind() -> None:
    """``channel`` is derived from the submitter's role (委员/信息员/联系点/组织/约稿): neither a
    command's result nor ``item_detail`` tells a unit what kind of person wrote the item."""
    w = _memory_world()
    item, (a,) = w.assigned(("u-a", True))
    result = w.qd.accept(w.unit("u-a"), item.id, a.id)
    assert w.qd.item_detail(w.unit("u-a"), item.id).channel is Channel.WITHHELD
    assert result.channel is Channel.WITHHELD is not item.channel


# --- attacks that held ------------------------------------------------------------------------


def test_unlock_of_pending_account_refused(office: Office) -> None:
    qd = office.qd
    pending = qd.register(office.admin, real_name="李四", phone="13900139000", role=Role.CHAIR)
    qd.report_theft(office.admin, pending.id)
    fails("state.invalid_transition", functools.partial(qd.unlock, office.admin, pending.id))


def test_register_reject_reregister_gives_no_password(office: Office) -> None:
    qd = office.qd
    sent = len(office.phones.sent)
    first = qd.register(office.admin, real_name="周", phone="13900139001", role=Role.CHAIR)
    (p,) = [x for x in qd.grant_proposals(office.security).items if x.account_id == first.id]
    qd.reject_grant(office.security, p.id, "不符合条件")
    again = qd.register(office.admin, real_name="周", phone="13900139001", role=Role.CHAIR)
    assert again.id != first.id and again.grants == ()
    assert office.phones.sent[sent:] == []
    fails("state.invalid_transition", functools.partial(qd.approve_grant, office.security, p.id))


def test_county_security_admin_cannot_approve_city_proposal(office: Office) -> None:
    qd = office.qd
    county_security = Actor("sec-dh", Role.SECURITY_ADMIN, DH)
    enrol(office.store, county_security)
    pending = qd.register(office.admin, real_name="李四", phone="13900139000", role=Role.CHAIR)
    (p,) = [x for x in qd.grant_proposals(office.security).items if x.account_id == pending.id]
    fails(
        "permission.jurisdiction",
        functools.partial(qd.approve_grant, county_security, p.id),
    )


def test_departed_security_admin_refused_everywhere(office: Office) -> None:
    qd = office.qd
    sec = office.security
    qd.depart(office.auditor, sec.account_id)  # the auditor manages the security admin
    for call in (
        functools.partial(qd.grant_proposals, sec),
        functools.partial(qd.set_password_policy, sec, ZS, DJCP),
    ):
        fails("account.actor_refused", call)
    aud = office.auditor
    qd.report_theft(aud, aud.account_id)  # the owner reports it (the security admin is gone)
    fails("account.actor_refused", functools.partial(qd.password_policy_changes, aud, ZS))
    fails(
        "account.actor_refused",
        functools.partial(qd.account_history, aud, office.admin_id),
    )


def test_keyed_unlock_retry_returns_no_credentials(office: Office) -> None:
    qd = office.qd
    person = office.person()
    qd.report_theft(office.admin, person)
    first = qd.unlock(office.admin, person, idempotency_key="k1")
    again = qd.unlock(office.admin, person, idempotency_key="k1")
    for view in (first, again):
        assert not {"password_hash", "password_history"} & set(attrs.fields_dict(type(view)))
        assert view.phone_masked and "****" in (view.phone or "")


def test_key_reused_across_account_commands_conflicts(office: Office) -> None:
    qd = office.qd
    person = office.person()
    qd.report_theft(office.admin, person, idempotency_key="same")
    with pytest.raises(QiandaoError) as caught:
        qd.unlock(office.admin, person, idempotency_key="same")
    assert "idempotency" in caught.value.code


def test_revoked_actor_keyed_retry_refused() -> None:
    w = make_world()
    item = w.issued()
    w.qd.assign(w.editor, item.id, [("u-a", True)], idempotency_key="k")
    with w.store.unit_of_work() as uow:
        acc = uow.accounts.get(w.editor.account_id)
        uow.accounts.save(attrs.evolve(acc, version=acc.version + 1, grants=()), acc.version)
        uow.commit()
    fails(
        "account.actor_refused",
        functools.partial(w.qd.assign, w.editor, item.id, [("u-a", True)], idempotency_key="k"),
    )


def test_unit_cannot_see_other_unit_via_explain_deadline() -> None:
    w = make_world()
    item, assignments = w.assigned(("u-a", True), ("u-b", False))
    b = next(a for a in assignments if a.unit_id == "u-b")
    ua = w.unit("u-a")
    for call in (
        functools.partial(w.qd.explain_deadline, ua, item.id, b.id),
        functools.partial(w.qd.accept, ua, item.id, b.id),
        functools.partial(w.qd.reply, ua, item.id, b.id, "已办理"),
        functools.partial(w.qd.request_extension, ua, item.id, b.id, 5, "需要时间"),
    ):
        error = fails("not_found", call)
        assert "u-b" not in repr(error.details) and "u-b" not in str(error)


def test_failed_guesses_do_not_stop_a_signed_in_person(office: Office) -> None:
    """``live_session`` keeps the sessions of an account locked after failed guesses (only a
    theft lock ends them), so ``authenticate`` still returns the actor; but ``check_actor``
    refuses every account LOCKED with ``locked_until`` in the future. Anyone who knows a
    person's phone number (the username) guesses 5 times and every command and query of the
    person fails with ``account.actor_refused`` for the lockout time, again and again."""
    qd = office.qd
    office.person()
    signed = office.sign_in()
    for _ in range(office.qd.password_policy(ZS).max_failed_attempts):
        with pytest.raises(QiandaoError):
            qd.sign_in(PHONE, "Wrong#guess2026")
    actor = qd.authenticate(signed.token)  # the session lives on, by design
    qd.my_items(actor)  # HOLE: account.actor_refused


def test_system_admin_alone_cannot_remove_the_auditor_and_the_security_admin(
    office: Office,
) -> None:
    """三员 check each other, but the system admin alone departs (or theft-locks until it
    unlocks them) the audit and security admins, then registers a security admin on a second
    phone (an admin role: a password at once) who approves the system admin's proposals.
    Nothing here needs a second person; the audit log is then read by no one."""
    qd = office.qd
    for checker in (office.auditor, office.security):
        for command in (qd.depart, qd.report_theft, qd.unlock):
            before = office.snapshot(checker.account_id)
            fails("permission.denied", functools.partial(command, office.admin, checker.account_id))
            assert office.snapshot(checker.account_id) == before
    # each of the two is managed by the other: a theft report and an unlock by the auditor
    assert qd.report_theft(office.auditor, office.security.account_id).status.value == "locked"
    assert qd.unlock(office.auditor, office.security.account_id).status.value == "active"
    fails("permission.denied", functools.partial(qd.depart, office.security, office.admin_id))
