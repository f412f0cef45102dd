"""三员分立 enforced (第十九条, GB/T 22239 三级): two people for a content grant, the security
admin alone sets the password policy, the audit admin alone reads the account audit; on the
memory store and every SQL store."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from qiandao import (
    AccountEventKind,
    Actor,
    PasswordPolicy,
    PasswordProfile,
    ProposalState,
    Role,
    RoleGrant,
)
from qiandao.ports.store import Store
from qiandao.testing import enrol
from tests.helpers import DH, ZS, fails
from tests.sql.test_grants import ADMIN_PHONE, PASSWORD, PHONE, Office

DJCP = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
TIGHTER = attrs.evolve(DJCP, min_length=12, max_failed_attempts=3, lockout_minutes=60)
OWN_PHONE = "13700137009"  # the system admin's second phone


@pytest.fixture
def office(any_store: Store) -> Office:
    """The office on the memory store and on every SQL store."""
    return Office(any_store)


def _unchanged(office: Office, account_id: str, code: str, call: Callable[[], object]) -> None:
    """``call`` fails with ``code``; the account, its log and the proposals are unchanged."""
    before = (*office.snapshot(account_id), _proposals(office))
    fails(code, call)
    assert (*office.snapshot(account_id), _proposals(office)) == before


def _proposals(office: Office) -> object:
    return office.qd.grant_proposals(office.security, state=None).items


def _kinds(office: Office, account_id: str) -> list[AccountEventKind]:
    return [e.kind for e in office.qd.account_history(office.auditor, account_id).items]


# --- the takeover of the issue, refused at every step -------------------------------------------


def test_the_takeover_of_a_chair_is_refused_at_every_step(office: Office) -> None:
    """The system admin tries to read a chair's 涉密 bodies: each step fails and changes nothing."""
    qd, admin, admin_id = office.qd, office.admin, office.admin_id
    chair = office.person(role=Role.CHAIR)
    sent = len(office.phones.sent)
    # 1-2. unlock the chair's active account to receive a new password
    _unchanged(
        office, chair, "state.invalid_transition", functools.partial(qd.unlock, admin, chair)
    )
    # register a chair or office account on the admin's own phone: the number is taken ...
    for role in (Role.CHAIR, Role.OFFICE_HEAD, Role.EDITOR):
        fails(
            "account.duplicate",
            functools.partial(qd.register, admin, real_name="周系统", phone=ADMIN_PHONE, role=role),
        )
    # ... and on a second phone it is only a proposal: no grant, no password, no sign-in
    pending = qd.register(admin, real_name="周系统", phone=OWN_PHONE, role=Role.CHAIR)
    assert pending.grants == ()
    assert office.account(pending.id).password_hash is None
    assert office.phones.sent[sent:] == []  # no password was issued to anyone
    fails("account.auth_failed", functools.partial(qd.sign_in, OWN_PHONE, PASSWORD))
    (proposal,) = qd.grant_proposals(office.security).items
    assert (proposal.account_id, proposal.proposer_id) == (pending.id, admin_id)
    assert proposal.grant == RoleGrant(Role.CHAIR, ZS)
    # 3. approve their own proposal: not as system admin, and not as the proposer in any role
    _unchanged(
        office,
        pending.id,
        "permission.denied",
        functools.partial(qd.approve_grant, admin, proposal.id),
    )
    # posing as a security admin: the account holds no such grant (the decision itself would
    # also refuse the proposer, permission.self_approval: tests/workflow/test_accounts.py)
    as_security = Actor(admin_id, Role.SECURITY_ADMIN, ZS)
    _unchanged(
        office,
        pending.id,
        "account.actor_refused",
        functools.partial(qd.approve_grant, as_security, proposal.id),
    )
    _unchanged(
        office,
        pending.id,
        "account.actor_refused",
        functools.partial(qd.reject_grant, as_security, proposal.id, "自己驳回"),
    )
    # 4. grant itself a content role: a 三员 account never holds one
    for role in (Role.CHAIR, Role.MEMBER, Role.OFFICE_HEAD):
        _unchanged(
            office,
            admin_id,
            "account.admin_separation",
            functools.partial(qd.grant_role, admin, admin_id, role, ZS, None),
        )
    # 5. loosen the password and lockout policy
    weak = attrs.evolve(DJCP, max_failed_attempts=100)
    fails("permission.denied", functools.partial(qd.set_password_policy, admin, ZS, weak))
    assert qd.password_policy(ZS) == DJCP
    # 6. read the account history (to learn what happened, or to hide it)
    fails("permission.denied", functools.partial(qd.account_history, admin, chair))
    fails("permission.denied", functools.partial(qd.account_history, admin, pending.id))
    # the security admin refuses the proposal: the account is gone, its number free again
    rejected = qd.reject_grant(office.security, proposal.id, "系统管理员不得持有内容角色")
    assert (rejected.state, rejected.decider_id) == (
        ProposalState.REJECTED,
        office.security.account_id,
    )
    assert office.account(pending.id).status.value == "deleted"
    fails("account.auth_failed", functools.partial(qd.sign_in, OWN_PHONE, PASSWORD))
    assert office.phones.sent[sent:] == []
    assert _kinds(office, pending.id) == [
        AccountEventKind.REGISTERED,
        AccountEventKind.GRANT_PROPOSED,
        AccountEventKind.GRANT_REJECTED,
    ]
    assert office.sign_in().actor == Actor(chair, Role.CHAIR, ZS)  # the chair is untouched


# --- two people for a content grant -------------------------------------------------------------


def test_a_registered_person_signs_in_only_after_the_security_admin_approves(
    office: Office,
) -> None:
    qd = office.qd
    pending = qd.register(office.admin, real_name="张三", phone=PHONE, role=Role.EDITOR)
    (proposal,) = qd.grant_proposals(office.admin).items  # the proposer sees it too
    assert proposal.state is ProposalState.PENDING
    for who in (office.admin, office.auditor, Actor("m", Role.MEMBER, ZS)):
        _unchanged(
            office,
            pending.id,
            "permission.denied",
            functools.partial(qd.approve_grant, who, proposal.id),
        )
    county_security = Actor("sec-dh", Role.SECURITY_ADMIN, DH)
    enrol(office.store, county_security)
    _unchanged(
        office,
        pending.id,
        "permission.jurisdiction",
        functools.partial(qd.approve_grant, county_security, proposal.id),
    )
    fails(
        "permission.jurisdiction",
        functools.partial(qd.grant_proposals, county_security, jurisdiction=ZS),
    )
    assert qd.grant_proposals(county_security).items == ()
    approved = qd.approve_grant(office.security, proposal.id)
    assert (approved.state, approved.decider_id, approved.decided_at) == (
        ProposalState.APPROVED,
        office.security.account_id,
        office.clock.now(),
    )
    delivered = office.phones.sent[-1]
    assert (delivered.account_id, delivered.phone) == (pending.id, PHONE)
    assert delivered.password not in repr(approved)
    first = qd.sign_in(PHONE, delivered.password)
    assert first.must_change_password
    changed = qd.change_password(first.token, delivered.password, PASSWORD)
    assert changed.actor == Actor(pending.id, Role.EDITOR, ZS)
    # decided once: neither approved nor rejected again
    for call in (
        functools.partial(qd.approve_grant, office.security, proposal.id),
        functools.partial(qd.reject_grant, office.security, proposal.id, "再驳回"),
    ):
        _unchanged(office, pending.id, "state.invalid_transition", call)
    assert qd.grant_proposals(office.security).items == ()
    assert qd.grant_proposals(office.security, state="approved").items == (approved,)
    fails("not_found", functools.partial(qd.approve_grant, office.security, "p-unknown"))


def test_a_grant_is_proposed_then_approved_or_rejected_with_a_reason(office: Office) -> None:
    qd = office.qd
    person = office.person()
    editor = RoleGrant(Role.EDITOR, ZS)
    proposal = qd.grant_role(office.admin, person, Role.EDITOR, ZS)
    assert office.account(person).grants == (RoleGrant(Role.MEMBER, ZS),)  # not yet
    _unchanged(
        office,
        person,
        "account.grant_held",
        functools.partial(qd.grant_role, office.admin, person, Role.EDITOR, ZS, None),
    )
    for reason in ("", "  "):
        _unchanged(
            office,
            person,
            "reason.required",
            functools.partial(qd.reject_grant, office.security, proposal.id, reason),
        )
    rejected = qd.reject_grant(office.security, proposal.id, "暂不需要")
    assert (rejected.state, rejected.reason) == (ProposalState.REJECTED, "暂不需要")
    assert office.account(person).grants == (RoleGrant(Role.MEMBER, ZS),)
    assert office.account(person).status.value == "active"  # a held account stays
    again = qd.grant_role(office.admin, person, Role.EDITOR, ZS)
    qd.approve_grant(office.security, again.id)
    assert office.account(person).grants == (RoleGrant(Role.MEMBER, ZS), editor)
    assert _kinds(office, person)[-4:] == [
        AccountEventKind.GRANT_PROPOSED,
        AccountEventKind.GRANT_REJECTED,
        AccountEventKind.GRANT_PROPOSED,
        AccountEventKind.GRANT_APPROVED,
    ]


def test_the_approval_checks_the_account_again(office: Office) -> None:
    """Separation and state are checked at approval too: what changed since the proposal counts."""
    qd = office.qd
    person = office.person()
    proposal = qd.grant_role(office.admin, person, Role.EDITOR, ZS)
    with office.store.unit_of_work() as uow:  # became an admin meanwhile (outside the commands)
        stored = uow.accounts.get(person)
        admin_grant = (RoleGrant(Role.AUDIT_ADMIN, ZS),)
        uow.accounts.save(
            attrs.evolve(stored, grants=admin_grant, version=stored.version + 1), stored.version
        )
        uow.commit()
    _unchanged(
        office,
        person,
        "account.admin_separation",
        functools.partial(qd.approve_grant, office.security, proposal.id),
    )
    other = office.person(phone="13800138001")
    departing = qd.grant_role(office.admin, other, Role.EDITOR, ZS)
    qd.depart(office.admin, other)
    _unchanged(
        office,
        other,
        "state.invalid_transition",
        functools.partial(qd.approve_grant, office.security, departing.id),
    )
    # an account waiting for its first grant gets no second proposal meanwhile, and no password
    # by a theft report and an unlock (its password comes with the approval only)
    pending = qd.register(office.admin, real_name="李四", phone="13800138002", role=Role.MEMBER)
    _unchanged(
        office,
        pending.id,
        "state.invalid_transition",
        functools.partial(qd.grant_role, office.admin, pending.id, Role.EDITOR, ZS, None),
    )
    sent = len(office.phones.sent)
    qd.report_theft(office.admin, pending.id)
    _unchanged(
        office,
        pending.id,
        "state.invalid_transition",
        functools.partial(qd.unlock, office.admin, pending.id),
    )
    assert len(office.phones.sent) == sent


def test_three_admin_accounts_are_registered_directly_and_stand_alone(office: Office) -> None:
    """The system admin registers the security and audit admins (their roles read no content);
    they sign in with passwords delivered to them and can never take a content grant."""
    for actor in (office.security, office.auditor):
        assert office.account(actor.account_id).grants == (RoleGrant(actor.role, ZS),)
        _unchanged(
            office,
            actor.account_id,
            "account.admin_separation",
            functools.partial(
                office.qd.grant_role, office.admin, actor.account_id, Role.MEMBER, ZS, None
            ),
        )
    person = office.person()
    _unchanged(
        office,
        person,
        "account.admin_separation",
        functools.partial(
            office.qd.grant_role, office.admin, person, Role.SECURITY_ADMIN, ZS, None
        ),
    )


# --- the password and lockout policy: the security admin alone ----------------------------------


def test_the_security_admin_alone_sets_the_policy_and_every_decision_uses_it(
    office: Office,
) -> None:
    qd = office.qd
    person = office.person()
    for who in (office.admin, office.auditor, Actor(person, Role.MEMBER, ZS)):
        fails("permission.denied", functools.partial(qd.set_password_policy, who, ZS, TIGHTER))
    county_security = Actor("sec-dh", Role.SECURITY_ADMIN, DH)
    enrol(office.store, county_security)
    fails(
        "permission.jurisdiction",
        functools.partial(qd.set_password_policy, county_security, ZS, TIGHTER),
    )
    for weaker in (
        attrs.evolve(DJCP, min_length=6),
        attrs.evolve(DJCP, max_failed_attempts=6),
        attrs.evolve(DJCP, max_age_days=None),
        attrs.evolve(DJCP, idle_timeout_minutes=60),
        attrs.evolve(DJCP, refuse_common=False),
    ):
        fails(
            "account.policy_too_weak",
            functools.partial(qd.set_password_policy, office.security, ZS, weaker),
        )
    not_a_policy: Any = "strict"
    fails(
        "input.invalid",
        functools.partial(qd.set_password_policy, office.security, ZS, not_a_policy),
    )
    assert (
        qd.password_policy(ZS) == DJCP
        and qd.password_policy_changes(office.auditor, ZS).items == ()
    )
    change = qd.set_password_policy(office.security, ZS, TIGHTER)
    assert (change.sequence, change.policy, change.previous, change.actor_id) == (
        1,
        TIGHTER,
        DJCP,
        office.security.account_id,
    )
    assert qd.password_policy(ZS) == TIGHTER
    assert qd.password_policy(DH) == DJCP  # another jurisdiction keeps its profile
    # the new lockout: three wrong passwords lock the account
    for _ in range(TIGHTER.max_failed_attempts):
        fails("account.auth_failed", functools.partial(office.sign_in_with, "Wrong#2026pass"))
    fails("account.auth_failed", office.sign_in)
    assert office.account(person).status.value == "locked"
    office.clock.advance(minutes=TIGHTER.lockout_minutes)
    signed = office.sign_in()
    # the new length: 12 characters at least
    short = fails(
        "account.password_policy",
        functools.partial(qd.change_password, signed.token, PASSWORD, "Short#2026x"),
    )
    assert "too_short" in short.details["failures"]
    # the log is read by the audit admin alone
    assert qd.password_policy_changes(office.auditor, ZS).items == (change,)
    for who in (office.admin, office.security):
        fails("permission.denied", functools.partial(qd.password_policy_changes, who, ZS))
    back = qd.set_password_policy(office.security, ZS, DJCP)
    assert (back.sequence, back.previous) == (2, TIGHTER)
    assert qd.password_policy(ZS) == DJCP
