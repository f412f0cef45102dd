"""The account decisions (第十六至十九条) as pure functions: no store, no hasher, no clock."""

from __future__ import annotations

import functools
import itertools
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from qiandao import SHANGHAI, Actor, QiandaoError
from qiandao.accounts import PasswordPolicy, hash_token
from qiandao.model import (
    Account,
    AccountEventKind,
    AccountStatus,
    ExternalIdentity,
    GrantProposal,
    RoleGrant,
    Session,
    Unit,
)
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import PasswordProfile, RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_account, sample_session
from qiandao.workflow import accounts
from qiandao.workflow.accounts import AccountChange, InitialPassword, Registration, SignIn
from qiandao.workflow.context import Context

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
EXPIRES = NOW + timedelta(minutes=30)  # a session seen now ends after 30 idle minutes
ZS = "zhoushan"
ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
COUNTY_ADMIN = Actor("admin-dh", Role.SYSTEM_ADMIN, "dinghai")
MEMBER = Actor("member-001", Role.MEMBER, ZS)
MEMBER_GRANT = RoleGrant(Role.MEMBER, ZS)
PHONE = "13800138000"
ZZD = ExternalIdentity("zzd", "zs-001")
CALENDAR = ChinaWorkdays.official()


def ctx(at: datetime = NOW, rules: RuleSet | None = None) -> Context:
    counter = itertools.count(1)
    return Context(rules or RuleSet.zhoushan(), CALENDAR, at, lambda: f"acc-{next(counter)}")


def asvs() -> RuleSet:
    return RuleSet.zhoushan().with_overrides({"accounts": {"password_profile": "owasp_asvs"}})


def account(**changes: Any) -> Account:
    """An active member account with a password, no failures and no lock."""
    base = sample_account(
        "member-001",
        phone=PHONE,
        real_name="张三",
        failed_attempts=0,
        locked_until=None,
        lock_reason="",
        password_hash="hash:old",
        password_changed_at=NOW - timedelta(days=1),
        external_ids=frozenset(),
    )
    return attrs.evolve(base, **changes)


def session(**changes: Any) -> Session:
    base = sample_session(
        hash_token("tok"),
        "member-001",
        created_at=NOW - timedelta(hours=1),
        last_seen=NOW - timedelta(minutes=5),
        password_change_only=False,
    )
    return attrs.evolve(base, **changes)


def issue(policy: PasswordPolicy, target: Account) -> InitialPassword:
    """A deterministic stand-in for the service's random password and hasher."""
    return InitialPassword(f"init-{target.id}", f"hash:init:{target.jurisdiction}")


def code_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(QiandaoError) as caught:
        call()
    return caught.value.code


def request(**changes: Any) -> Registration:
    return attrs.evolve(Registration("张三", PHONE, Role.MEMBER), **changes)


# --- small rules --------------------------------------------------------------------------


def test_the_policy_follows_the_rules_profile() -> None:
    assert accounts.password_policy(RuleSet.zhoushan()).profile is PasswordProfile.DJCP_LEVEL3
    assert accounts.password_policy(asvs()).max_failed_attempts == 10


def test_only_the_admin_manages_accounts_in_scope() -> None:
    accounts.require_admin(ADMIN, "注册账号")
    assert code_of(lambda: accounts.require_admin(MEMBER, "注册账号")) == "permission.denied"
    accounts.check_admin_scope(COUNTY_ADMIN, "dinghai", ZS)
    accounts.check_admin_scope(ADMIN, "putuo", ZS)  # the platform's admin acts everywhere
    denied = code_of(lambda: accounts.check_admin_scope(COUNTY_ADMIN, "putuo", ZS))
    assert denied == "permission.jurisdiction"


def test_an_admins_scope_over_a_person_covers_every_grant() -> None:
    """Home jurisdiction and every grant's: a county admin never acts on a city grant holder."""
    county = RoleGrant(Role.MEMBER, "dinghai")
    city = RoleGrant(Role.SECRETARY_GENERAL, ZS)
    both = account(jurisdiction="dinghai", grants=(county, city))
    accounts.check_admin_scope_over(ADMIN, both, ZS)
    county_only = account(jurisdiction="dinghai", grants=(county,))
    accounts.check_admin_scope_over(COUNTY_ADMIN, county_only, ZS)
    county_auditor = Actor("aud-dh", Role.AUDIT_ADMIN, "dinghai")
    theft = attrs.evolve(both, status=AccountStatus.LOCKED, locked_until=None)
    for call in (
        lambda: accounts.check_admin_scope_over(COUNTY_ADMIN, both, ZS),
        lambda: accounts.unlock(COUNTY_ADMIN, theft, issue, ZS),
        lambda: accounts.depart(ctx(), COUNTY_ADMIN, both, ZS),
        lambda: accounts.report_theft(COUNTY_ADMIN, both, ZS),
        lambda: accounts.check_history_reader(county_auditor, both, ZS),
        # grant changes: the home jurisdiction and the grant changed
        lambda: accounts.revoke_role(
            COUNTY_ADMIN, account(grants=(MEMBER_GRANT, county)), county, ZS
        ),
    ):
        assert code_of(call) == "permission.jurisdiction"
    assert accounts.report_theft(ADMIN, both, ZS).account.status is AccountStatus.LOCKED
    owner = Actor(both.id, Role.MEMBER, "dinghai")  # the owner reports their own theft
    assert accounts.report_theft(owner, both, ZS).account.status is AccountStatus.LOCKED


def test_a_run_out_lock_lifts_by_itself() -> None:
    locked = account(
        status=AccountStatus.LOCKED,
        locked_until=NOW + timedelta(minutes=1),
        failed_attempts=5,
        lock_reason="x",
    )
    assert not accounts.lock_expired(locked, ctx())
    assert accounts.effective(locked, ctx()) == locked
    later = ctx(NOW + timedelta(minutes=1))
    assert accounts.lock_expired(locked, later)
    lifted = accounts.effective(locked, later)
    assert (lifted.status, lifted.failed_attempts, lifted.locked_until, lifted.lock_reason) == (
        AccountStatus.ACTIVE,
        0,
        None,
        "",
    )
    theft = account(status=AccountStatus.LOCKED, locked_until=None)
    assert accounts.effective(theft, ctx(NOW + timedelta(days=400))) == theft
    assert code_of(lambda: accounts.refuse_unusable(theft)) == "account.locked"
    gone = account(status=AccountStatus.DELETED)
    assert code_of(lambda: accounts.refuse_unusable(gone)) == "account.locked"


# --- registration -------------------------------------------------------------------------


def test_registration_checks_plain_fields() -> None:
    checked = accounts.registration(real_name=" 张三 ", phone="+86 138-0013-8000", role="member")
    assert checked == Registration("张三", PHONE, Role.MEMBER)
    assert code_of(lambda: accounts.registration(real_name="张三", phone="1", role="member")) == (
        "input.invalid"
    )
    for role, unit_id in ((Role.MEMBER, "u-1"), (Role.HANDLING_UNIT, None)):
        refused = code_of(
            lambda role=role, unit_id=unit_id: accounts.registration(
                real_name="张三", phone=PHONE, role=role, unit_id=unit_id
            )
        )
        assert refused == "input.invalid"
    admin = accounts.admin_registration(real_name="管理员", phone=PHONE, jurisdiction=" zhoushan ")
    assert (admin.role, admin.jurisdiction) == (Role.SYSTEM_ADMIN, ZS)


def test_register_makes_an_admin_account_that_must_change_its_initial_password() -> None:
    new, password = accounts.register(
        ctx(), ADMIN, request(role=Role.SECURITY_ADMIN), None, None, issue, ZS
    )
    assert new == Account(
        id="acc-1",
        version=1,
        real_name="张三",
        grants=(RoleGrant(Role.SECURITY_ADMIN, ZS),),
        jurisdiction=ZS,
        created_at=NOW,
        phone=PHONE,
        password_hash="hash:init:zhoushan",
        must_change_password=True,
    )
    assert password == "init-acc-1"
    content = lambda: accounts.register(ctx(), ADMIN, request(), None, None, issue, ZS)  # noqa: E731
    assert code_of(content) == "account.admin_separation"  # a content role is only proposed


def test_a_content_registration_is_a_pending_account_and_a_proposal() -> None:
    """三员: no grant and no password until the security admin approves (第十九条)."""
    pending, proposal = accounts.propose_registration(ctx(), ADMIN, request(), None, None, ZS)
    assert (pending.grants, pending.password_hash, pending.phone) == ((), None, PHONE)
    assert proposal == GrantProposal(
        "acc-2", 1, pending.id, RoleGrant(Role.MEMBER, ZS), ADMIN.account_id, NOW
    )


def test_no_one_decides_a_proposal_they_made_or_one_for_themself() -> None:
    """The decision's own check (behind the service's actor check, which refuses an admin
    posing in another role first): the proposer and the person granted never decide."""
    pending, proposal = accounts.propose_registration(ctx(), ADMIN, request(), None, None, ZS)
    for who in (ADMIN.account_id, pending.id):
        posing = Actor(who, Role.SECURITY_ADMIN, ZS)
        approve = functools.partial(
            accounts.approve_grant, ctx(), posing, pending, proposal, None, issue, ZS
        )
        reject = functools.partial(
            accounts.reject_grant, ctx(), posing, pending, proposal, "理由", ZS
        )
        assert code_of(approve) == "permission.self_approval"
        assert code_of(reject) == "permission.self_approval"
    security = Actor("security-1", Role.SECURITY_ADMIN, ZS)
    proposer = account(id=ADMIN.account_id, grants=(RoleGrant(Role.SYSTEM_ADMIN, ZS),))
    gone = attrs.evolve(proposer, status=AccountStatus.DELETED)
    for standing in (None, gone, account(id=ADMIN.account_id)):  # left, or no longer an admin
        stale = functools.partial(
            accounts.approve_grant, ctx(), security, pending, proposal, None, issue, ZS, standing
        )
        assert code_of(stale) == "state.invalid_transition"
    _, approved, password = accounts.approve_grant(
        ctx(), security, pending, proposal, None, issue, ZS, proposer
    )
    assert (approved.state.value, password) == ("approved", f"init-{pending.id}")


def test_register_places_unit_accounts_and_respects_the_admin_scope() -> None:
    unit = Unit("u-1", "定海区交通运输局", "dinghai")
    unit_request = request(role=Role.HANDLING_UNIT, unit_id="u-1")
    placed, proposal = accounts.propose_registration(ctx(), ADMIN, unit_request, unit, None, ZS)
    assert proposal.grant == RoleGrant(Role.HANDLING_UNIT, "dinghai", "u-1")
    assert placed.jurisdiction == "dinghai"
    county, _ = accounts.propose_registration(ctx(), COUNTY_ADMIN, request(), None, None, ZS)
    assert county.jurisdiction == "dinghai"

    def register(actor: Actor, req: Registration, unit: Unit | None = None) -> object:
        return lambda: accounts.propose_registration(ctx(), actor, req, unit, None, ZS)

    stopped = attrs.evolve(unit, active=False)
    assert code_of(register(ADMIN, unit_request, stopped)) == "input.invalid"
    elsewhere = attrs.evolve(unit_request, jurisdiction="putuo")
    assert code_of(register(ADMIN, elsewhere, unit)) == "input.invalid"
    putuo = request(jurisdiction="putuo")
    assert code_of(register(COUNTY_ADMIN, putuo)) == "permission.jurisdiction"
    assert code_of(register(MEMBER, request())) == "permission.denied"
    taken = account()
    duplicate = lambda: accounts.propose_registration(ctx(), ADMIN, request(), None, taken, ZS)  # noqa: E731
    assert code_of(duplicate) == "account.duplicate"


def test_bootstrap_only_on_an_empty_store() -> None:
    req = accounts.admin_registration(real_name="管理员", phone=PHONE, jurisdiction=ZS)
    admin, password = accounts.bootstrap_admin(ctx(), req, False, None, issue)
    assert (admin.grants, admin.must_change_password, password) == (
        (RoleGrant(Role.SYSTEM_ADMIN, ZS),),
        True,
        "init-acc-1",
    )
    refused = code_of(lambda: accounts.bootstrap_admin(ctx(), req, True, None, issue))
    assert refused == "permission.denied"


# --- password sign-in and lockout ---------------------------------------------------------


def test_the_sign_in_target_before_any_hashing() -> None:
    found = account()
    assert accounts.sign_in_target(ctx(), None) is None
    assert accounts.sign_in_target(ctx(), account(password_hash=None)) is None
    assert accounts.sign_in_target(ctx(), found) == (found, "hash:old", True)
    locked = account(status=AccountStatus.LOCKED, locked_until=NOW + timedelta(minutes=5))
    assert accounts.sign_in_target(ctx(), locked) is None  # not checked, not revealed
    assert accounts.sign_in_target(ctx(NOW + timedelta(minutes=5)), locked) == (
        locked,
        "hash:old",
        True,
    )
    theft = account(status=AccountStatus.LOCKED, locked_until=None)
    assert accounts.sign_in_target(ctx(), theft) == (theft, "hash:old", False)


def test_a_guess_is_counted_on_an_active_account_only() -> None:
    assert accounts.count_target(ctx(), account()) == (account(), 5)
    assert accounts.count_target(ctx(rules=asvs()), account()) == (account(), 10)
    locked = account(status=AccountStatus.LOCKED, locked_until=NOW + timedelta(minutes=5))
    assert accounts.count_target(ctx(), locked) is None
    assert accounts.count_target(ctx(), account(status=AccountStatus.DELETED)) is None
    run_out = attrs.evolve(locked, failed_attempts=5, lock_reason="x")
    lifted, _ = accounts.count_target(ctx(NOW + timedelta(minutes=5)), run_out) or (None, 0)
    assert lifted is not None
    assert (lifted.status, lifted.failed_attempts) == (AccountStatus.ACTIVE, 0)


@pytest.mark.parametrize(("rules", "threshold", "minutes"), [(None, 5, 30), (asvs(), 10, 15)])
def test_failures_lock_at_the_threshold(
    rules: RuleSet | None, threshold: int, minutes: int
) -> None:
    for count in range(threshold):  # counted already (count_failure): below it nothing changes
        counted = account(failed_attempts=count)
        assert accounts.failed_attempt(ctx(rules=rules), counted) == counted
    locked = accounts.failed_attempt(ctx(rules=rules), account(failed_attempts=threshold))
    assert locked.status is AccountStatus.LOCKED
    assert locked.failed_attempts == threshold
    assert locked.locked_until == NOW + timedelta(minutes=minutes)
    assert locked.version == account().version  # the runner moves versions, not decisions


def test_a_failure_on_a_locked_or_deleted_account_changes_nothing() -> None:
    theft = account(status=AccountStatus.LOCKED, locked_until=None, failed_attempts=5)
    assert accounts.failed_attempt(ctx(), theft) == theft
    gone = account(status=AccountStatus.DELETED, failed_attempts=5)
    assert accounts.failed_attempt(ctx(), gone) == gone


def test_a_verified_sign_in_resets_the_count_and_starts_a_session() -> None:
    stored = account(failed_attempts=3)
    change, result = accounts.sign_in(ctx(), stored, "hash:old", "tok", verified=True)
    assert change.account == attrs.evolve(stored, failed_attempts=0)
    assert not change.end_sessions
    assert change.session == Session(
        hash_token("tok"), stored.id, NOW, NOW, grant=stored.grants[0], expires_at=EXPIRES
    )
    assert result == SignIn("tok", Actor(stored.id, Role.MEMBER, ZS), False, stored.grants)

    rehashed, _ = accounts.sign_in(
        ctx(), stored, "hash:old", "tok", verified=True, rehashed="hash:new"
    )
    assert rehashed.account.password_hash == "hash:new"


def test_a_wrong_password_locks_at_the_threshold_and_is_refused_alike() -> None:
    change, result = accounts.sign_in(
        ctx(), account(failed_attempts=1), "hash:old", "tok", verified=False
    )
    assert change == AccountChange(account(failed_attempts=1))  # counted before verifying
    assert isinstance(result, QiandaoError)
    assert result.code == "account.auth_failed"
    change, result = accounts.sign_in(
        ctx(), account(failed_attempts=5), "hash:old", "tok", verified=False
    )
    assert change.account.status is AccountStatus.LOCKED
    assert isinstance(result, QiandaoError)
    assert result.code == "account.auth_failed"  # the lock is revealed to the right password only


def test_the_right_password_reveals_a_lock() -> None:
    theft = account(status=AccountStatus.LOCKED, locked_until=None, lock_reason="失窃")
    refused = code_of(lambda: accounts.sign_in(ctx(), theft, "hash:old", "tok", verified=True))
    assert refused == "account.locked"


@pytest.mark.parametrize(
    ("stored", "at", "change_only"),
    [
        (account(must_change_password=True), NOW, True),
        (account(), NOW + timedelta(days=88, hours=23), False),
        (account(), NOW + timedelta(days=89), True),  # 90 days since the change
    ],
)
def test_first_use_and_expired_passwords_get_a_change_only_session(
    stored: Account, at: datetime, change_only: bool
) -> None:
    change, result = accounts.sign_in(ctx(at), stored, "hash:old", "tok", verified=True)
    assert isinstance(result, SignIn)
    assert result.must_change_password is change_only
    assert (result.actor is None) is change_only
    assert change.session is not None
    assert change.session.password_change_only is change_only


def test_no_periodic_change_under_asvs() -> None:
    later = ctx(NOW + timedelta(days=400), asvs())
    assert not accounts.must_change_password(later, account())


def test_a_sign_in_refuses_a_changed_password_or_a_locked_account() -> None:
    changed = lambda: accounts.sign_in(ctx(), account(), "hash:older", "t", verified=True)  # noqa: E731
    assert code_of(changed) == "account.auth_failed"
    locked = account(status=AccountStatus.LOCKED, locked_until=None)
    theft = lambda: accounts.sign_in(ctx(), locked, "hash:old", "t", verified=True)  # noqa: E731
    assert code_of(theft) == "account.locked"


# --- sessions -----------------------------------------------------------------------------


def test_session_keys_and_known_sessions() -> None:
    assert accounts.session_key("tok") == hash_token("tok")
    assert accounts.session_key("") is None
    assert accounts.session_key(42) is None
    assert code_of(lambda: accounts.known_session(None)) == "account.session_expired"
    ended = session(revoked=True)
    assert code_of(lambda: accounts.known_session(ended)) == "account.session_expired"
    assert accounts.known_session(session()) == session()


def test_a_live_session_ends_with_theft_departure_or_idleness() -> None:
    accounts.live_session(ctx(), session(), account())
    temporarily = account(status=AccountStatus.LOCKED, locked_until=NOW + timedelta(minutes=5))
    accounts.live_session(ctx(), session(), temporarily)  # a lockout leaves sessions alone
    for gone in (
        account(status=AccountStatus.LOCKED, locked_until=None),
        account(status=AccountStatus.DELETED),
    ):
        refused = code_of(lambda gone=gone: accounts.live_session(ctx(), session(), gone))
        assert refused == "account.session_expired"
    idle = ctx(NOW + timedelta(minutes=26))  # 31 minutes after it was last seen
    with pytest.raises(QiandaoError) as caught:
        accounts.live_session(idle, session(), account())
    assert (caught.value.code, caught.value.details["idle"]) == ("account.session_expired", True)


def test_authenticate_refreshes_a_full_session_only() -> None:
    change, actor = accounts.authenticate(ctx(), session(), account())
    assert actor == Actor("member-001", Role.MEMBER, ZS)
    assert change == AccountChange(account(), session=session(last_seen=NOW, expires_at=EXPIRES))
    change_only = session(password_change_only=True)
    refused = code_of(lambda: accounts.authenticate(ctx(), change_only, account()))
    assert refused == "account.password_change_required"


def test_sign_out_ends_a_live_session_once() -> None:
    assert accounts.sign_out(session()) == session(revoked=True)
    assert accounts.sign_out(session(revoked=True)) is None
    assert accounts.sign_out(None) is None


# --- password change ----------------------------------------------------------------------


def test_the_password_change_target_and_the_new_password() -> None:
    change_only = session(password_change_only=True)
    assert accounts.password_change_target(ctx(), change_only, account()) == account()
    locked = account(status=AccountStatus.LOCKED, locked_until=NOW + timedelta(minutes=5))
    refused = code_of(lambda: accounts.password_change_target(ctx(), session(), locked))
    assert refused == "account.locked"
    policy = accounts.password_policy(RuleSet.zhoushan())
    accounts.check_new_password(policy, account(), "Old#pass2026", "Haidao#2026wind")
    for new in ("haidao2026", "Me#13800138000", "Old#pass2026"):
        with pytest.raises(QiandaoError) as caught:
            accounts.check_new_password(policy, account(), "Old#pass2026", new)
        assert caught.value.code == "account.password_policy"


def test_change_password_ends_every_session_and_starts_a_full_one() -> None:
    first = account(must_change_password=True, failed_attempts=1)
    change, result = accounts.change_password(
        ctx(), session(password_change_only=True), first, "hash:old", "hash:new", "tok2"
    )
    assert change.account == attrs.evolve(
        first,
        password_hash="hash:new",
        password_history=("hash:old",),
        must_change_password=False,
        password_changed_at=NOW,
        failed_attempts=0,
    )
    assert change.end_sessions
    assert change.session == Session(
        hash_token("tok2"), first.id, NOW, NOW, grant=first.grants[0], expires_at=EXPIRES
    )
    assert result == SignIn("tok2", Actor(first.id, Role.MEMBER, ZS), False, first.grants)
    raced = lambda: accounts.change_password(  # noqa: E731
        ctx(), session(), account(), "hash:older", "hash:new", "tok2"
    )
    assert code_of(raced) == "account.session_expired"


# --- theft, unlock, departure -------------------------------------------------------------


def test_a_theft_report_locks_until_unlocked_and_ends_sessions() -> None:
    change = accounts.report_theft(MEMBER, account(), ZS)
    assert change.end_sessions
    locked = change.account
    assert (locked.status, locked.locked_until) == (AccountStatus.LOCKED, None)
    assert "失窃" in locked.lock_reason
    assert accounts.report_theft(ADMIN, account(), ZS).account == locked
    stranger = Actor("member-002", Role.MEMBER, ZS)
    assert code_of(lambda: accounts.report_theft(stranger, account(), ZS)) == "permission.denied"
    putuo_admin = Actor("adm-pt", Role.SYSTEM_ADMIN, "putuo")
    assert code_of(lambda: accounts.report_theft(putuo_admin, account(), ZS)) == (
        "permission.jurisdiction"
    )
    gone = account(status=AccountStatus.DELETED)
    assert code_of(lambda: accounts.report_theft(ADMIN, gone, ZS)) == "state.invalid_transition"
    assert (change.event, change.also) == (AccountEventKind.LOCKED, ())


def test_a_theft_report_removes_every_external_binding() -> None:
    bound = account(external_ids=frozenset({ZZD, ExternalIdentity("wx", "w-1")}))
    change = accounts.report_theft(MEMBER, bound, ZS)
    assert change.account.external_ids == frozenset()
    assert (change.event, change.also) == (
        AccountEventKind.LOCKED,
        (AccountEventKind.IDENTITY_UNBOUND,),
    )


def test_unlock_issues_a_new_initial_password() -> None:
    theft = account(status=AccountStatus.LOCKED, locked_until=None, lock_reason="失窃")
    change, password = accounts.unlock(ADMIN, theft, issue, ZS)
    assert password == "init-member-001"
    assert change == AccountChange(
        attrs.evolve(
            account(),
            password_hash="hash:init:zhoushan",
            password_history=("hash:old",),
            must_change_password=True,
        ),
        end_sessions=True,
        event=AccountEventKind.UNLOCKED,
    )
    assert code_of(lambda: accounts.unlock(MEMBER, theft, issue, ZS)) == "permission.denied"
    for gone in (account(status=AccountStatus.DELETED), account(phone=None)):
        refused = code_of(lambda gone=gone: accounts.unlock(ADMIN, gone, issue, ZS))
        assert refused == "state.invalid_transition"


def test_only_a_locked_account_is_unlocked() -> None:
    """三员: an administrator never resets the password of an active account (第十九条)."""
    active = account(status=AccountStatus.ACTIVE, locked_until=None, lock_reason="")
    drawn: list[Account] = []

    def issue(policy: PasswordPolicy, a: Account) -> accounts.InitialPassword:
        drawn.append(a)
        return accounts.InitialPassword("Init#2026zs", "hash:init")

    assert code_of(lambda: accounts.unlock(ADMIN, active, issue, ZS)) == "state.invalid_transition"
    assert drawn == []  # no password was even drawn


def test_departure_keeps_the_row_without_credentials() -> None:
    bound = account(external_ids=frozenset({ZZD}))
    change = accounts.depart(ctx(), ADMIN, bound, ZS)
    gone = change.account
    assert change.end_sessions
    assert (gone.status, gone.phone, gone.password_hash, gone.external_ids, gone.deleted_at) == (
        AccountStatus.DELETED,
        None,
        None,
        frozenset(),
        NOW,
    )
    assert (gone.id, gone.real_name) == (bound.id, bound.real_name)
    assert code_of(lambda: accounts.depart(ctx(), ADMIN, gone, ZS)) == "state.invalid_transition"
    auditor = Actor("aud", Role.AUDIT_ADMIN, ZS)
    member = attrs.evolve(bound, status=AccountStatus.ACTIVE)  # a member's manager: the admin
    assert code_of(lambda: accounts.depart(ctx(), auditor, member, ZS)) == "permission.denied"
    assert code_of(lambda: accounts.check_departure(ADMIN, ADMIN.account_id)) == (
        "permission.denied"
    )
    putuo_admin = Actor("adm-pt", Role.SYSTEM_ADMIN, "putuo")
    assert code_of(lambda: accounts.depart(ctx(), putuo_admin, bound, ZS)) == (
        "permission.jurisdiction"
    )


# --- external identity --------------------------------------------------------------------


def test_a_provider_must_vouch_for_someone_of_its_own() -> None:
    assert accounts.verified_identity("zzd", ZZD) == ZZD
    for bad in (ExternalIdentity("wx", "zs-001"), ExternalIdentity("zzd", "")):
        refused = code_of(lambda bad=bad: accounts.verified_identity("zzd", bad))
        assert refused == "account.auth_failed"


def test_binding_an_external_identity() -> None:
    change = accounts.bind_external(ctx(), session(), account(), ZZD, None)
    assert change.account.external_ids == frozenset({ZZD})
    assert change.session == session(last_seen=NOW, expires_at=EXPIRES)
    assert change.event is AccountEventKind.IDENTITY_BOUND
    bound = change.account
    assert accounts.bind_external(ctx(), session(), bound, ZZD, bound) == AccountChange(bound)

    def bind(target: Account, identity: ExternalIdentity, holder: Account | None) -> object:
        return lambda: accounts.bind_external(ctx(), session(), target, identity, holder)

    other = account(id="member-002")
    assert code_of(bind(account(), ZZD, other)) == "account.duplicate"
    assert code_of(bind(bound, ExternalIdentity("zzd", "zs-002"), None)) == "account.duplicate"
    change_only = session(password_change_only=True)
    refused = code_of(lambda: accounts.bind_external(ctx(), change_only, account(), ZZD, None))
    assert refused == "account.password_change_required"


def test_external_sign_in_starts_a_session_of_the_bound_account() -> None:
    bound = account(external_ids=frozenset({ZZD}))
    change, result = accounts.sign_in_external(ctx(), bound, "zzd", "tok")
    assert change == AccountChange(
        bound,
        session=Session(
            hash_token("tok"), bound.id, NOW, NOW, grant=bound.grants[0], expires_at=EXPIRES
        ),
    )
    assert result == SignIn("tok", Actor(bound.id, Role.MEMBER, ZS), False, bound.grants)
    unbound = lambda: accounts.sign_in_external(ctx(), None, "zzd", "tok")  # noqa: E731
    assert code_of(unbound) == "account.auth_failed"
    theft = attrs.evolve(bound, status=AccountStatus.LOCKED, locked_until=None)
    locked = lambda: accounts.sign_in_external(ctx(), theft, "zzd", "tok")  # noqa: E731
    assert code_of(locked) == "account.locked"
