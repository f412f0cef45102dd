"""Accounts (第十六至十九条): registration, sign-in, lockout, sessions, theft, unlock, departure.

Decisions only. The service does the effects around them: it hashes and verifies passwords
(the ``PasswordHasher`` port), draws initial passwords and session tokens at random, asks an
identity provider to verify a scan, and hands what these functions decide to its one command
runner, which saves an account as its next version with a version check.

Decisions written down here (see also ``docs/workflow.md``):

* Only the 系统管理员 registers (a content role: a proposal), unlocks and deletes accounts. A
  system admin registers in their own jurisdiction; the admin of the platform's own
  jurisdiction (the default rules, normally the city office that runs the platform,
  第六、十六条) may register in any jurisdiction.
* An admin's scope over a person (unlock, departure, a theft report on their behalf, reading the
  history) covers the person's home jurisdiction and the jurisdiction of every grant they hold
  (:func:`check_admin_scope_over`): a county admin never unlocks someone who also acts for the
  city. Adding or revoking a grant checks the home
  jurisdiction and the grant changed only, so the city admin manages a city grant of a county
  person while the county admin cannot touch a county grant of a city person.
* Unknown numbers and wrong passwords get the same ``AuthenticationFailed`` (the service spends
  the same hashing work on both). Consecutive failures are counted (the one write a refused
  sign-in makes) and lock the account for the policy's lockout time; the lock lifts by itself
  when it runs out.
* A theft report locks the account until the system admin unlocks it, and removes every external
  identity binding (a thief holding the password may have bound their own 浙政钉; the owner binds
  again after recovery). Unlocking issues a new random initial password that must be changed at
  the next sign-in: after a theft or a lockout the old password cannot be trusted or has been
  forgotten. Only a locked account is unlocked.
* A new or reset password is never returned to an administrator (三员分立, 第十九条): the
  decisions here return it to the service, which hands it to the person through the
  ``CredentialDelivery`` port (SMS) before the command commits; an undelivered password
  changes nothing. Only the first admin's (``bootstrap_admin``, run by the installer on an
  empty store) is returned.
* Changing the password ends every session of the account and starts a new one. The password
  replaced (by a change or an unlock) goes into the account's ``password_history`` (hashes only,
  the policy's ``history`` last passwords with the current one); the service refuses a new
  password matching any of them (``reused``).
* A session ends after the idle timeout and, however busy, after the absolute lifetime
  (``session_lifetime_hours``, 12 by default). ``authenticate`` refreshes ``last_seen`` (a
  write) at most once a minute, so the idle timeout is exact to that minute: a session may end
  up to a minute before the idle timeout after its very last use, never after. A password that
  passes its maximum age while a session is open makes that session allow only the change,
  from the next ``authenticate`` on. ``expires_at`` (when the session ends unless used again)
  lets the periodic job purge ended sessions by index.
* A session that only allows changing the password (first sign-in, expired password) allows
  nothing else, binding an external identity included.
* 三员分立 (第十九条, GB/T 22239 三级): a grant that reads content (every role but the three
  admins') needs two people. The system admin's ``grant_role`` or ``register`` only makes a
  :class:`~qiandao.model.GrantProposal`; the security admin of the account's and the grant's
  scope approves it (the grant joins the account) or rejects it with a reason; whoever proposed
  it, or is its subject, never decides (compared by account id). A registered content account
  has no grant and no password until the approval, which issues its initial password; a
  rejected registration is deleted. The three admin roles are registered directly by the
  system admin (the first by the installer): they read no content, and a security admin must
  exist before anything can be approved. The security admin alone sets a jurisdiction's
  password and lockout policy (never below its profile), which every decision here then uses
  (:func:`policy_of`); the audit admin alone reads the account and policy logs.
* One person, one account, one or more role grants (:class:`~qiandao.model.RoleGrant`). A session
  acts in one grant: the only one, or the one the person selects after signing in. Revoking a
  grant ends the sessions that selected it; the last grant is never revoked (departure is
  ``depart``). An administrator grant (三员) is never combined with any other grant.
* Every registration, grant proposal, approval, rejection and revocation, theft lock, unlock,
  password change, departure, external identity binding and removal of the bindings is an
  :class:`~qiandao.model.AccountEvent`,
  stored with the account in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

import attrs

from qiandao.accounts import (
    PasswordPolicy,
    PolicyChange,
    check_password,
    check_policy_floor,
    hash_token,
    normalise_password,
    normalise_phone,
    password_expired,
)
from qiandao.actor import Actor
from qiandao.errors import (
    AccountError,
    AccountLocked,
    ActorRefused,
    AdminSeparation,
    AuthenticationFailed,
    DuplicateAccount,
    GrantAlreadyHeld,
    GrantNotHeld,
    GrantRequired,
    InvalidInput,
    InvalidTransition,
    JurisdictionDenied,
    LastGrant,
    PasswordChangeRequired,
    PasswordPolicyViolation,
    PermissionDenied,
    SelfApproval,
    SessionExpired,
)
from qiandao.model import (
    Account,
    AccountEventKind,
    AccountStatus,
    ExternalIdentity,
    GrantProposal,
    ProposalState,
    RoleGrant,
    Session,
    Unit,
)
from qiandao.rules.roles import ADMIN_ROLES, Role
from qiandao.rules.ruleset import PasswordProfile, RuleSet
from qiandao.rules.text import clean_text, is_id
from qiandao.workflow.context import Context

__all__ = [
    "SEEN_EVERY",
    "AccountChange",
    "InitialPassword",
    "Issue",
    "Registration",
    "SignIn",
    "actor_of",
    "admin_registration",
    "approve_grant",
    "authenticate",
    "bind_external",
    "bootstrap_admin",
    "change_password",
    "check_admin_scope",
    "check_admin_scope_over",
    "check_departure",
    "check_grant_manager",
    "check_history_reader",
    "check_new_password",
    "check_place",
    "check_proposal_reader",
    "check_reporter",
    "count_target",
    "depart",
    "effective",
    "failed_attempt",
    "full_session",
    "grant_role",
    "known_session",
    "live_session",
    "lock_expired",
    "must_change_password",
    "password_change_target",
    "password_policy",
    "policy_of",
    "propose_registration",
    "refuse_unusable",
    "register",
    "registration",
    "reject_grant",
    "replace_password",
    "report_theft",
    "require_admin",
    "require_audit_admin",
    "require_security_admin",
    "revoke_role",
    "role_grant",
    "select_grant",
    "session_actor",
    "session_expiry",
    "session_grant",
    "session_key",
    "set_password_policy",
    "sign_in",
    "sign_in_external",
    "sign_in_target",
    "sign_out",
    "start_session",
    "unlock",
    "verified_identity",
]

_MAX_NAME_CHARS = 50
_MAX_JURISDICTION_CHARS = 100
_FAILURE_LOCK_REASON = "连续登录失败次数过多，已临时锁定"
_THEFT_LOCK_REASON = "账号或密码失窃，已锁定"
SEEN_EVERY = timedelta(minutes=1)
"""How often ``authenticate`` writes a session's ``last_seen`` at most."""


@attrs.frozen
class SignIn:
    """A successful sign-in: the session token (returned once), who, and whether to change first.

    When ``must_change_password`` is true the session only allows :meth:`change_password`
    (first sign-in with the initial password, or the password is older than the policy allows),
    and ``actor`` is ``None``: nothing else may be done before the change (第十六条).
    ``grants`` are the person's role grants; with more than one, ``actor`` is ``None`` until the
    host calls ``select_grant`` with one of them.
    """

    token: str = attrs.field(repr=False)
    actor: Actor | None
    must_change_password: bool = False
    grants: tuple[RoleGrant, ...] = ()


@attrs.frozen
class InitialPassword:
    """A random initial password (shown once, to its owner) and its hash (all the store keeps)."""

    password: str = attrs.field(repr=False)
    """The password, shown once to its owner; never in ``repr``."""
    password_hash: str = attrs.field(repr=False)
    """Its hash, all the store keeps."""


Issue: TypeAlias = Callable[[PasswordPolicy, Account], InitialPassword]
"""Draws an initial password meeting a policy for an account and hashes it (an effect)."""


@attrs.frozen
class Registration:
    """The checked plain fields of a registration; the place is settled once the unit is known."""

    real_name: str
    """The person's real name, cleaned."""
    phone: str
    """The normalised mobile number."""
    role: Role
    """The role the account is registered for."""
    jurisdiction: str | None = None
    """Code of the jurisdiction, if given (else settled from the unit or the admin)."""
    unit_id: str | None = None
    """The handling unit of a unit account, if any."""


@attrs.frozen
class AccountChange:
    """What a command decided for one account: its next state and what becomes of its sessions.

    ``account`` is saved as the next version when it differs from the stored account;
    ``end_sessions`` ends every session of the account and ``end_grant`` the sessions that
    selected that grant, before ``session`` is started or refreshed. ``event`` (with ``grant``)
    is appended to the account's event log, then each of ``also`` (without a grant).
    """

    account: Account
    """The account as it becomes (saved when it differs from the stored one)."""
    end_sessions: bool = False
    """Whether every session of the account ends."""
    session: Session | None = None
    """A session to start or refresh, after the others end."""
    event: AccountEventKind | None = None
    """The event to append to the account's log, if any."""
    grant: RoleGrant | None = None
    """The role grant that event is about, if any."""
    end_grant: RoleGrant | None = None
    """End the sessions that selected this grant."""
    also: tuple[AccountEventKind, ...] = ()
    """Further events appended after ``event`` (without a grant)."""


# --- small rules ----------------------------------------------------------------------------


def password_policy(rules: RuleSet) -> PasswordPolicy:
    """The password and session policy of a jurisdiction's rules (第十九条)."""
    return PasswordPolicy.for_profile(rules.accounts.password_profile)


def policy_of(ctx: Context) -> PasswordPolicy:
    """The policy in force: the one the security admin set, else the rules' profile."""
    return ctx.password_policy or password_policy(ctx.rules)


def session_expiry(policy: PasswordPolicy, created_at: datetime, last_seen: datetime) -> datetime:
    """When a session last seen at ``last_seen`` ends unless used again (idle or lifetime)."""
    return min(last_seen + policy.idle_timeout, created_at + policy.session_lifetime)


def replace_password(policy: PasswordPolicy, account: Account, new_hash: str) -> Account:
    """The account with ``new_hash``; the replaced hash joins the history (newest first)."""
    kept = policy.history - 1
    previous = (account.password_hash,) if account.password_hash else ()
    history = (*previous, *account.password_history)[:kept] if kept else ()
    return attrs.evolve(account, password_hash=new_hash, password_history=history)


def actor_of(account: Account, grant: RoleGrant) -> Actor:
    """The person acting in one grant: its role, jurisdiction and unit (the account id stays)."""
    return Actor(account.id, grant.role, grant.jurisdiction, grant.unit_id)


def _sole_grant(account: Account) -> RoleGrant | None:
    return account.grants[0] if len(account.grants) == 1 else None


def lock_expired(account: Account, ctx: Context) -> bool:
    """Whether a temporary lock (after failures) has run out."""
    return (
        account.status is AccountStatus.LOCKED
        and account.locked_until is not None
        and ctx.now >= account.locked_until
    )


def effective(account: Account, ctx: Context) -> Account:
    """The account with a run-out temporary lock lifted (and its failures forgotten)."""
    if lock_expired(account, ctx):
        return attrs.evolve(
            account,
            status=AccountStatus.ACTIVE,
            locked_until=None,
            lock_reason="",
            failed_attempts=0,
        )
    return account


def _unusable(account: Account) -> AccountLocked | None:
    """Why the (effective) account may not sign in, or ``None``."""
    if account.status is AccountStatus.DELETED:
        return AccountLocked("账号已删除", article="第十七条", status=account.status.value)
    if account.status is AccountStatus.LOCKED:
        return AccountLocked(
            locked_until=account.locked_until.isoformat() if account.locked_until else "",
            reason=account.lock_reason,
        )
    return None


def theft_locked(account: Account) -> bool:
    """Locked by a theft report (until an admin unlocks it), not by failed sign-ins."""
    return account.status is AccountStatus.LOCKED and account.locked_until is None


def ended(account: Account) -> bool:
    """Departed or theft-locked: its sessions and its actors are over."""
    return account.status is AccountStatus.DELETED or theft_locked(account)


def check_actor(account: Account | None, actor: Actor) -> None:
    """Refuse an actor whose account (``None``: not found) is departed, theft-locked or lacks
    the actor's grant (role, jurisdiction, unit exactly). One refusal for every reason.

    A temporary lock after failed sign-ins stops new sign-ins only, as it leaves the account's
    sessions alive (:func:`live_session`): otherwise anyone who knows a number could stop its
    owner, signed in, by guessing wrong a few times. A theft report ends the sessions and is
    refused here too.
    """
    if account is None or ended(account) or actor.grant not in account.grants:
        raise ActorRefused(account_id=actor.account_id)


def refuse_unusable(account: Account) -> None:
    """Raise ``AccountLocked`` unless the (effective) account may sign in."""
    refusal = _unusable(account)
    if refusal is not None:
        raise refusal


def must_change_password(ctx: Context, account: Account) -> bool:
    """Whether a new session only allows changing the password (first use, or expired)."""
    return account.must_change_password or password_expired(
        policy_of(ctx), account.password_changed_at, ctx.now
    )


def require_audit_admin(actor: Actor) -> None:
    """Only the 审计管理员 reads audit records (三员分立, 第十九条): not the admin they audit."""
    if actor.role is not Role.AUDIT_ADMIN:
        raise PermissionDenied(
            "只有审计管理员可以查看审计记录", article="第十九条", role=actor.role.value
        )


def check_history_reader(actor: Actor, account: Account, platform: str) -> None:
    """The audit admin of the account's scope alone reads its history (第十七、十九条)."""
    require_audit_admin(actor)
    check_admin_scope_over(actor, account, platform)


def require_admin(actor: Actor, what: str) -> None:
    """Only the 系统管理员 manages accounts (第十七条); ``what`` names the act refused."""
    if actor.role is not Role.SYSTEM_ADMIN:
        raise PermissionDenied(
            f"只有系统管理员可以{what}", article="第十七条", role=actor.role.value
        )


def _covers(admin_place: str, jurisdiction: str, platform: str) -> bool:
    """An admin of ``admin_place`` acts there; the admin of the ``platform``'s everywhere."""
    return admin_place in (jurisdiction, platform)


def check_admin_scope(actor: Actor, jurisdiction: str, platform: str) -> None:
    """An admin acts in their own jurisdiction; the admin of the ``platform``'s in any."""
    if not _covers(actor.jurisdiction, jurisdiction, platform):
        raise JurisdictionDenied(jurisdiction=jurisdiction)


_OVERSEERS = {Role.SECURITY_ADMIN: Role.AUDIT_ADMIN, Role.AUDIT_ADMIN: Role.SECURITY_ADMIN}
"""Who unlocks, departs and reports the theft of a security or audit admin's account: the
other of the two, never the system admin (三员分立, 第十九条)."""


def require_manager(actor: Actor, account: Account, what: str) -> None:
    """The admin who manages ``account``: the system admin, except for the security and audit
    admins, whom the other of the two manages. So the system admin alone can neither remove
    nor reset the two who check it (and then put its own security admin in their place)."""
    manager = next(
        (_OVERSEERS[g.role] for g in account.grants if g.role in _OVERSEERS), Role.SYSTEM_ADMIN
    )
    if actor.role is not manager:
        raise PermissionDenied(
            f"只有{manager.label}可以{what}", article="第十九条", role=actor.role.value
        )


def require_any_admin(actor: Actor, what: str) -> None:
    """A 三员 actor: the boundary check before the account is loaded (:func:`require_manager`
    then says which admin manages it)."""
    if actor.role not in ADMIN_ROLES:
        raise PermissionDenied(f"只有管理员可以{what}", article="第十七条", role=actor.role.value)


def check_admin_scope_over(actor: Actor, account: Account, platform: str) -> None:
    """An admin's scope over a person: their home jurisdiction and every grant's (第十七条).

    Unlocking (which sets a new password), departure, a theft report on the
    person's behalf and reading their history act on the person in every role they hold, so a
    county admin is refused (``JurisdictionDenied``) for someone who also holds a city grant.
    """
    check_admin_scope(actor, account.jurisdiction, platform)
    for grant in account.grants:
        check_admin_scope(actor, grant.jurisdiction, platform)


# --- registration (第十六条) ----------------------------------------------------------------


def _person(real_name: object, phone: object) -> tuple[str, str]:
    return clean_text(
        real_name, "real_name", label="姓名", max_chars=_MAX_NAME_CHARS
    ), normalise_phone(phone)


def check_place(raw: object) -> str:
    """A jurisdiction named at the boundary, checked as text (所属政协)."""
    return clean_text(raw, "jurisdiction", label="所属政协", max_chars=_MAX_JURISDICTION_CHARS)


def registration(
    *,
    real_name: object,
    phone: object,
    role: Role | str,
    jurisdiction: str | None = None,
    unit_id: str | None = None,
) -> Registration:
    """Check the plain fields of a registration: the username is the normalised mobile number.

    Only a 承办单位 account names a unit, and it must (第十条).
    """
    name, number = _person(real_name, phone)
    chosen = _role_and_unit(role, unit_id)
    return Registration(name, number, chosen, jurisdiction, unit_id)


def _role_and_unit(role: object, unit_id: object) -> Role:
    """The role of a grant; only a 承办单位 grant names a unit, and it must (第十条)."""
    chosen = Role.parse(role, "role")
    if unit_id is not None and chosen is not Role.HANDLING_UNIT:
        raise InvalidInput("只有承办单位账号可以关联承办单位", field="unit_id")
    if chosen is Role.HANDLING_UNIT and (not isinstance(unit_id, str) or not unit_id.strip()):
        raise InvalidInput("承办单位账号须指定所属承办单位（第十条）", field="unit_id")
    return chosen


def role_grant(role: object, jurisdiction: object, unit_id: object = None) -> RoleGrant:
    """Check the plain fields of a grant to add or revoke (its unit is checked once loaded)."""
    chosen = _role_and_unit(role, unit_id)
    return RoleGrant(
        chosen, check_place(jurisdiction), unit_id if isinstance(unit_id, str) else None
    )


def admin_registration(*, real_name: object, phone: object, jurisdiction: str) -> Registration:
    """Check the fields of the first 系统管理员 (its place is checked at once: there is no unit)."""
    name, number = _person(real_name, phone)
    return Registration(name, number, Role.SYSTEM_ADMIN, check_place(jurisdiction))


def _new_account(
    ctx: Context, request: Registration, place: str, taken: Account | None, issue: Issue
) -> tuple[Account, str]:
    """A new account with a random initial password that must be changed at first use."""
    if taken is not None:
        raise DuplicateAccount(phone_tail=request.phone[-4:])
    account = Account(
        id=ctx.new_id(),
        version=1,
        real_name=request.real_name,
        grants=(RoleGrant(request.role, place, request.unit_id),),
        jurisdiction=place,
        created_at=ctx.now,
        phone=request.phone,
        must_change_password=True,
    )
    initial = issue(policy_of(ctx), account)
    return attrs.evolve(account, password_hash=initial.password_hash), initial.password


def _registration_place(
    actor: Actor, request: Registration, unit: Unit | None, platform: str
) -> str:
    """Where a registered person belongs: the unit's jurisdiction (an active unit), the one
    named, else the admin's; within the admin's scope."""
    require_admin(actor, "注册账号")
    place = request.jurisdiction
    if unit is not None:
        if not unit.active:
            raise InvalidInput("该承办单位已停用", field="unit_id")
        if place is not None and place != unit.jurisdiction:
            raise InvalidInput("账号所属政协与承办单位不一致", field="jurisdiction")
        place = unit.jurisdiction
    place = check_place(place or actor.jurisdiction)
    check_admin_scope(actor, place, platform)
    return place


def register(
    ctx: Context,
    actor: Actor,
    request: Registration,
    unit: Unit | None,
    taken: Account | None,
    issue: Issue,
    platform: str,
) -> tuple[Account, str]:
    """Register a 三员 account (第十六、十九条): the new account and its initial password.

    Only an administrator role is registered at once (it reads no content); a content role is
    :func:`propose_registration`. ``taken`` is the account already holding the number, if any;
    ``platform`` is the platform's jurisdiction.
    """
    place = _registration_place(actor, request, unit, platform)
    if request.role not in ADMIN_ROLES:  # the service routes a content role to a proposal
        raise AdminSeparation(role=request.role.value)
    return _new_account(ctx, request, place, taken, issue)


def propose_registration(
    ctx: Context,
    actor: Actor,
    request: Registration,
    unit: Unit | None,
    taken: Account | None,
    platform: str,
) -> tuple[Account, GrantProposal]:
    """Register a person with a content role (三员分立, 第十九条): a pending account and a proposal.

    The account has no grant and no password, so it cannot sign in; the grant and the initial
    password come when the security admin approves (:func:`approve_grant`). A unit account
    takes its unit's jurisdiction (the unit must be active).
    """
    place = _registration_place(actor, request, unit, platform)
    if taken is not None:
        raise DuplicateAccount(phone_tail=request.phone[-4:])
    account = Account(
        id=ctx.new_id(),
        version=1,
        real_name=request.real_name,
        grants=(),
        jurisdiction=place,
        created_at=ctx.now,
        phone=request.phone,
        must_change_password=True,
    )
    grant = RoleGrant(request.role, place, request.unit_id)
    return account, _proposal(ctx, actor, account, grant)


def bootstrap_admin(
    ctx: Context, request: Registration, others: bool, taken: Account | None, issue: Issue
) -> tuple[Account, str]:
    """The first 系统管理员 of an empty store; refused once ``others`` (any account) exist."""
    if others:
        raise PermissionDenied("已有账号，须由系统管理员注册", article="第十六条")
    return _new_account(ctx, request, check_place(request.jurisdiction), taken, issue)


# --- password sign-in and lockout (第十六、十七、十九条) --------------------------------------


def sign_in_target(ctx: Context, found: Account | None) -> tuple[Account, str, bool] | None:
    """The account a number names, the hash to verify, and whether a guess is counted first.

    ``None`` when no password may be checked: an unknown number, an account without a password
    (departed), or one locked after failures whose lock is still running (its guesses are not
    verified, so no guess past the limit is ever checked). The service then spends the same
    hashing work on a dummy hash and refuses alike (``AuthenticationFailed``): a wrong or
    unknown credential never reveals whether the account exists or is locked.

    An active account (or one whose temporary lock has run out) is counted before its password
    is verified (:func:`count_target`). Any other account with a password (theft-locked) is
    verified without counting: the right password reveals the lock (``AccountLocked``), a wrong
    one is ``AuthenticationFailed``. Its old password is replaced when it is unlocked, so the
    check tells a guesser nothing lasting.
    """
    if found is None or found.password_hash is None:
        return None
    current = effective(found, ctx)
    if current.status is AccountStatus.ACTIVE:
        return found, found.password_hash, True
    if current.status is AccountStatus.LOCKED and current.locked_until is not None:
        return None
    return found, found.password_hash, False


def count_target(ctx: Context, account: Account) -> tuple[Account, int] | None:
    """The account to count a guess on (a run-out lock lifted) and the policy's limit.

    ``None`` when the account is not active: nothing is counted and the guess is not verified.
    """
    current = effective(account, ctx)
    if current.status is not AccountStatus.ACTIVE:
        return None
    return current, policy_of(ctx).max_failed_attempts


def failed_attempt(ctx: Context, account: Account) -> Account:
    """The account after a wrong password that is already counted: locked at the threshold.

    Failures are counted before the password is verified (``AccountRepository.count_failure``),
    so parallel guesses lose no count and none past the limit is verified; the guess that
    finds its count at the policy's threshold wrong locks the account. The caller is refused
    with ``AuthenticationFailed`` whatever happens, so the lock is not revealed to a wrong
    password. An account that is not active (locked meanwhile, or deleted) is left as it is.
    """
    current = effective(account, ctx)
    policy = policy_of(ctx)
    if current.status is not AccountStatus.ACTIVE or (
        current.failed_attempts < policy.max_failed_attempts
    ):
        return account
    return attrs.evolve(
        current,
        status=AccountStatus.LOCKED,
        locked_until=ctx.now + policy.lockout,
        lock_reason=_FAILURE_LOCK_REASON,
    )


def start_session(ctx: Context, account: Account, token: str) -> tuple[Session, SignIn]:
    """A new session of ``token`` (only its hash is stored) and what the caller is told."""
    change_only = must_change_password(ctx, account)
    sole = _sole_grant(account)
    session = Session(
        token_hash=hash_token(token),
        account_id=account.id,
        created_at=ctx.now,
        last_seen=ctx.now,
        password_change_only=change_only,
        grant=sole,
        expires_at=session_expiry(policy_of(ctx), ctx.now, ctx.now),
    )
    actor = None if change_only or sole is None else actor_of(account, sole)
    return session, SignIn(token, actor, change_only, account.grants)


def sign_in(
    ctx: Context,
    account: Account,
    seen_hash: str,
    token: str,
    *,
    verified: bool,
    rehashed: str | None = None,
) -> tuple[AccountChange, SignIn | AccountError]:
    """The outcome of a password sign-in, given whether the password matched ``seen_hash``.

    A wrong password (already counted) locks the account at the threshold
    (:func:`failed_attempt`); ``AuthenticationFailed`` is returned, to be raised once the lock is
    saved. A right one reveals a lock (``AccountLocked``), else resets the count, stores
    ``rehashed`` (the password hashed with current parameters) if given, and starts a session
    of ``token``. A password changed since it was verified is refused.
    """
    if not verified:
        return AccountChange(failed_attempt(ctx, account)), AuthenticationFailed()
    current = effective(account, ctx)
    refuse_unusable(current)
    if current.password_hash != seen_hash:
        raise AuthenticationFailed()
    signed_in = attrs.evolve(
        current, failed_attempts=0, password_hash=rehashed or current.password_hash
    )
    session, result = start_session(ctx, signed_in, token)
    return AccountChange(signed_in, session=session), result


# --- sessions ---------------------------------------------------------------------------------


def session_key(token: object) -> str | None:
    """The stored key of a session token, or ``None`` for what cannot be a token (not an id:
    :func:`qiandao.rules.text.is_id`), which then fails as an unknown token does."""
    if not is_id(token):
        return None
    return hash_token(token)


def known_session(session: Session | None) -> Session:
    """The session, unless it is unknown or ended (``SessionExpired``)."""
    if session is None or session.revoked:
        raise SessionExpired()
    return session


def live_session(ctx: Context, session: Session, account: Account) -> None:
    """Raise ``SessionExpired`` when the account is gone or theft-locked, or the session idle
    (``details["idle"]``) or past its absolute lifetime (``details["lifetime"]``)."""
    if ended(account):
        raise SessionExpired()
    policy = policy_of(ctx)
    if ctx.now - session.created_at >= policy.session_lifetime:
        raise SessionExpired(
            f"登录已超过{policy.session_lifetime_hours}小时，请重新登录", lifetime=True
        )
    if ctx.now - session.last_seen > policy.idle_timeout:
        raise SessionExpired(f"超过{policy.idle_timeout_minutes}分钟未操作，请重新登录", idle=True)


def _seen(ctx: Context, session: Session) -> Session:
    """The session used now: ``last_seen`` and ``expires_at`` moved on."""
    expires = session_expiry(policy_of(ctx), session.created_at, ctx.now)
    return attrs.evolve(session, last_seen=ctx.now, expires_at=expires)


def full_session(ctx: Context, session: Session, account: Account) -> None:
    """Refuse unless the session is live and allows more than changing the password (第十六条)."""
    live_session(ctx, session, account)
    if session.password_change_only or must_change_password(ctx, account):
        raise PasswordChangeRequired(
            None if account.must_change_password else "密码已超过有效期，须先修改密码"
        )


def session_grant(session: Session, account: Account) -> RoleGrant:
    """The grant a session acts in: the one it selected, else the person's only grant.

    A selected grant revoked since ends the session (``SessionExpired``); several grants and
    none selected is ``GrantRequired``.
    """
    if session.grant is not None:
        if session.grant not in account.grants:
            raise SessionExpired("该角色已被撤销，请重新登录", grant_revoked=True)
        return session.grant
    sole = _sole_grant(account)
    if sole is None:
        raise GrantRequired(grants=len(account.grants))
    return sole


def session_actor(ctx: Context, session: Session, account: Account) -> Actor:
    """The actor of a full live session: the person acting in the session's grant."""
    full_session(ctx, session, account)
    return actor_of(account, session_grant(session, account))


def authenticate(ctx: Context, session: Session, account: Account) -> tuple[AccountChange, Actor]:
    """The actor of a full live session, whose idle timer starts again.

    ``last_seen`` is written only when it is at least :data:`SEEN_EVERY` old, so page views
    within a minute write nothing.
    """
    actor = session_actor(ctx, session, account)
    seen = _seen(ctx, session) if ctx.now - session.last_seen >= SEEN_EVERY else None
    return AccountChange(account, session=seen), actor


def select_grant(
    ctx: Context, session: Session, account: Account, grant: RoleGrant
) -> tuple[AccountChange, Actor]:
    """Act in ``grant`` from now on in this session (one the person holds); may switch again."""
    full_session(ctx, session, account)
    if grant not in account.grants:
        raise GrantNotHeld(role=grant.role.value, jurisdiction=grant.jurisdiction)
    chosen = attrs.evolve(_seen(ctx, session), grant=grant)
    return AccountChange(account, session=chosen), actor_of(account, grant)


def sign_out(session: Session | None) -> Session | None:
    """The ended session, or ``None`` when there is nothing to end."""
    if session is None or session.revoked:
        return None
    return attrs.evolve(session, revoked=True)


# --- password change (第十六、十九条) ------------------------------------------------------------


def password_change_target(ctx: Context, session: Session, account: Account) -> Account:
    """The account whose password a live session may change, before the old one is verified."""
    live_session(ctx, session, account)
    current = effective(account, ctx)
    refuse_unusable(current)
    return current


def check_new_password(
    policy: PasswordPolicy, account: Account, old_password: str, new_password: object
) -> None:
    """The new password meets the policy and differs from the old one (both NFKC, unhashed)."""
    check_password(policy, new_password, phone=account.phone, real_name=account.real_name)
    if isinstance(new_password, str) and normalise_password(new_password) == old_password:
        raise PasswordPolicyViolation("新密码不得与原密码相同", failures=("same_as_old",))


def change_password(
    ctx: Context,
    session: Session,
    account: Account,
    seen_hash: str,
    new_hash: str,
    token: str,
) -> tuple[AccountChange, SignIn]:
    """Store ``new_hash``: every session ends and a full one of ``token`` starts.

    Refused (``SessionExpired``) when the password changed since the old one was verified.
    """
    live_session(ctx, session, account)
    if account.password_hash != seen_hash:
        raise SessionExpired()
    current = effective(account, ctx)
    refuse_unusable(current)
    changed = attrs.evolve(
        replace_password(policy_of(ctx), current, new_hash),
        must_change_password=False,
        password_changed_at=ctx.now,
        failed_attempts=0,
    )
    new_session, result = start_session(ctx, changed, token)
    change = AccountChange(
        changed, end_sessions=True, session=new_session, event=AccountEventKind.PASSWORD_CHANGED
    )
    return change, result


# --- theft, unlock, departure (第十七条) ---------------------------------------------------------


def _refuse_deleted(account: Account, *, or_without_phone: bool = False) -> None:
    if account.status is AccountStatus.DELETED or (or_without_phone and account.phone is None):
        raise InvalidTransition("账号已删除", article="第十七条", account=account.id)


def check_reporter(actor: Actor, account_id: str) -> None:
    """The owner reports their own account; only an admin another's (its manager, see
    :func:`require_manager`, checked once the account is loaded)."""
    if actor.account_id != account_id:
        require_any_admin(actor, "代为报告账号失窃")


def report_theft(actor: Actor, account: Account, platform: str) -> AccountChange:
    """Stolen credentials: lock the account until the admin unlocks it, end every session.

    Every external identity binding is removed as well (a LOCKED event, then IDENTITY_UNBOUND
    when there was one): whoever held the password may have bound their own identity, and it
    must not outlive the recovery. The owner binds again after the unlock.
    """
    check_reporter(actor, account.id)
    if actor.account_id != account.id:
        require_manager(actor, account, "代为报告账号失窃")
        check_admin_scope_over(actor, account, platform)
    _refuse_deleted(account)
    locked = attrs.evolve(
        account,
        status=AccountStatus.LOCKED,
        locked_until=None,
        lock_reason=_THEFT_LOCK_REASON,
        external_ids=frozenset(),
    )
    unbound = (AccountEventKind.IDENTITY_UNBOUND,) if account.external_ids else ()
    return AccountChange(locked, end_sessions=True, event=AccountEventKind.LOCKED, also=unbound)


def unlock(
    actor: Actor,
    account: Account,
    issue: Issue,
    platform: str,
    policy: PasswordPolicy | None = None,
) -> tuple[AccountChange, str]:
    """Unlock a locked account: a new initial password, to be changed at the next sign-in.

    The old password is no longer trusted (theft) or was forgotten (lockout); sessions end.
    It joins the password history of ``policy`` (the account's; 等保三级's when omitted), so
    it cannot be chosen again at the change. An active account is refused
    (``state.invalid_transition``): an administrator never resets the password of someone who
    can still sign in (三员分立, 第十九条); so is an account still waiting for its first grant,
    whose password comes only with the security admin's approval.
    """
    if policy is None:
        policy = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
    require_manager(actor, account, "解锁账号或重置密码")
    check_admin_scope_over(actor, account, platform)
    _refuse_deleted(account, or_without_phone=True)
    if account.status is not AccountStatus.LOCKED:  # 三员: no taking over an active account
        raise InvalidTransition(
            "只能解锁已锁定的账号", article="第十九条", status=account.status.value
        )
    if not account.grants:  # 三员: a registration's password comes only with its approval
        raise InvalidTransition("账号尚待审批", article="第十九条", account=account.id)
    initial = issue(policy, account)
    unlocked = attrs.evolve(
        replace_password(policy, account, initial.password_hash),
        status=AccountStatus.ACTIVE,
        must_change_password=True,
        failed_attempts=0,
        locked_until=None,
        lock_reason="",
    )
    return AccountChange(unlocked, end_sessions=True, event=AccountEventKind.UNLOCKED), (
        initial.password
    )


def check_departure(actor: Actor, account_id: str) -> None:
    """Only an admin deletes accounts (the account's manager, :func:`require_manager`), and
    never their own."""
    require_any_admin(actor, "删除账号")
    if actor.account_id == account_id:
        raise PermissionDenied("不得删除本人账号", article="第十七条")


def depart(ctx: Context, actor: Actor, account: Account, platform: str) -> AccountChange:
    """Someone left: no sign-in, credentials or bindings; the row stays for attribution."""
    check_departure(actor, account.id)
    require_manager(actor, account, "删除账号")
    check_admin_scope_over(actor, account, platform)
    _refuse_deleted(account)
    gone = attrs.evolve(
        account,
        status=AccountStatus.DELETED,
        phone=None,
        password_hash=None,
        password_history=(),
        must_change_password=False,
        failed_attempts=0,
        locked_until=None,
        lock_reason="",
        external_ids=frozenset(),
        deleted_at=ctx.now,
    )
    return AccountChange(gone, end_sessions=True, event=AccountEventKind.DEPARTED)


# --- role grants (第九、十六、十七条) ------------------------------------------------------------


def check_grant_manager(actor: Actor) -> None:
    """Only the system admin proposes and revokes role grants (第十七条)."""
    require_admin(actor, "调整账号角色")


def require_security_admin(actor: Actor, what: str) -> None:
    """Only the 安全管理员 does ``what`` (三员分立, 第十九条)."""
    if actor.role is not Role.SECURITY_ADMIN:
        raise PermissionDenied(
            f"只有安全管理员可以{what}", article="第十九条", role=actor.role.value
        )


def _check_separation(held: tuple[RoleGrant, ...], grant: RoleGrant) -> None:
    """三员分立: an admin grant stands alone, and nothing joins an admin's grant."""
    if held and (grant.role in ADMIN_ROLES or any(g.role in ADMIN_ROLES for g in held)):
        raise AdminSeparation(role=grant.role.value)


def _check_addable(account: Account, grant: RoleGrant, unit: Unit | None) -> None:
    """``grant`` may join the account now: not deleted, an active unit of the grant's
    jurisdiction, not held yet, and never beside an admin grant (三员分立)."""
    _refuse_deleted(account)
    if unit is not None:
        if not unit.active:
            raise InvalidInput("该承办单位已停用", field="unit_id")
        if unit.jurisdiction != grant.jurisdiction:
            raise InvalidInput("角色所属政协与承办单位不一致", field="jurisdiction")
    if grant in account.grants:
        raise GrantAlreadyHeld(role=grant.role.value, jurisdiction=grant.jurisdiction)
    _check_separation(account.grants, grant)


def _proposal(ctx: Context, actor: Actor, account: Account, grant: RoleGrant) -> GrantProposal:
    return GrantProposal(ctx.new_id(), 1, account.id, grant, actor.account_id, ctx.now)


def grant_role(
    ctx: Context,
    actor: Actor,
    account: Account,
    grant: RoleGrant,
    unit: Unit | None,
    pending: Sequence[GrantProposal],
    platform: str,
) -> tuple[AccountChange, GrantProposal]:
    """Propose a content role grant for a person (第九条: one person, several roles); it takes
    effect when the security admin approves it (三员分立, 第十九条).

    The admin's scope must cover the account's home jurisdiction and the grant's (not the
    person's other grants: the city admin proposes a city grant for a county person); a 承办单位
    grant names an active unit of that jurisdiction. Refused: an administrator role
    (``AdminSeparation``: a 三员 grant comes only with its own account), a grant held or already
    ``pending`` (``GrantAlreadyHeld``), an account still waiting for its first grant
    (``InvalidTransition``). The account is unchanged; a GRANT_PROPOSED event is logged.
    """
    check_grant_manager(actor)
    check_admin_scope(actor, account.jurisdiction, platform)
    check_admin_scope(actor, grant.jurisdiction, platform)
    if grant.role in ADMIN_ROLES:
        raise AdminSeparation(role=grant.role.value)
    _check_addable(account, grant, unit)
    if not account.grants:
        raise InvalidTransition("账号尚待审批", article="第十九条", account=account.id)
    if any(p.grant == grant for p in pending):
        raise GrantAlreadyHeld(role=grant.role.value, jurisdiction=grant.jurisdiction, pending=True)
    change = AccountChange(account, event=AccountEventKind.GRANT_PROPOSED, grant=grant)
    return change, _proposal(ctx, actor, account, grant)


def _check_decider(
    actor: Actor, account: Account, proposal: GrantProposal, platform: str, what: str
) -> None:
    """The security admin of the account's and the grant's scope decides a pending proposal,
    never one they proposed or one for themself (``SelfApproval``)."""
    require_security_admin(actor, what)
    check_admin_scope(actor, account.jurisdiction, platform)
    check_admin_scope(actor, proposal.grant.jurisdiction, platform)
    if actor.account_id in (proposal.proposer_id, proposal.account_id):
        raise SelfApproval()
    if proposal.state is not ProposalState.PENDING:
        raise InvalidTransition("该角色申请已处理", article="第十九条", state=proposal.state.value)


def _check_proposer(
    proposer: Account | None, account: Account, proposal: GrantProposal, platform: str
) -> None:
    """The proposer still holds a system admin grant covering the account and the grant (an
    admin who left or lost the role leaves no proposal that can still be approved)."""
    held = () if proposer is None or proposer.status is AccountStatus.DELETED else proposer.grants
    places = (account.jurisdiction, proposal.grant.jurisdiction)
    if not any(
        grant.role is Role.SYSTEM_ADMIN
        and all(_covers(grant.jurisdiction, place, platform) for place in places)
        for grant in held
    ):
        raise InvalidTransition(
            "提议人已不再是有权的系统管理员，该申请不能批准", article="第十九条"
        )


def _decided(
    ctx: Context, actor: Actor, proposal: GrantProposal, state: ProposalState, reason: str = ""
) -> GrantProposal:
    return attrs.evolve(
        proposal,
        version=proposal.version + 1,
        state=state,
        decider_id=actor.account_id,
        decided_at=ctx.now,
        reason=reason,
    )


def approve_grant(
    ctx: Context,
    actor: Actor,
    account: Account,
    proposal: GrantProposal,
    unit: Unit | None,
    issue: Issue,
    platform: str,
    proposer: Account | None = None,
) -> tuple[AccountChange, GrantProposal, str | None]:
    """The security admin approves a proposed grant: it joins the account (三员分立, 第十九条).

    Checked again at approval: the account is not deleted or theft-locked, the grant not held,
    never beside an admin grant, its unit active; and the proposer (``None``: gone) is still an
    active system admin whose scope covers the account and the grant, as a proposal carries
    the proposer's authority. A registration's first grant also issues the initial password
    (returned for delivery to the person, never to an admin), to be changed at first sign-in.
    """
    _check_decider(actor, account, proposal, platform, "批准角色申请")
    _check_proposer(proposer, account, proposal, platform)
    if theft_locked(account):
        raise InvalidTransition("账号已挂失锁定，不能批准角色申请", article="第十九条")
    _check_addable(account, proposal.grant, unit)
    added = attrs.evolve(account, grants=(*account.grants, proposal.grant))
    password = None
    if not account.grants:  # a registration waiting for its first grant: its first password
        initial = issue(policy_of(ctx), added)
        added = attrs.evolve(added, password_hash=initial.password_hash, must_change_password=True)
        password = initial.password
    change = AccountChange(added, event=AccountEventKind.GRANT_APPROVED, grant=proposal.grant)
    return change, _decided(ctx, actor, proposal, ProposalState.APPROVED), password


def reject_grant(
    ctx: Context,
    actor: Actor,
    account: Account,
    proposal: GrantProposal,
    reason: str,
    platform: str,
) -> tuple[AccountChange, GrantProposal]:
    """The security admin rejects a proposed grant, with a reason (三员分立, 第十九条).

    A registration rejected leaves an account that never could sign in: it is deleted at once
    (no phone, so the number can be registered again).
    """
    _check_decider(actor, account, proposal, platform, "驳回角色申请")
    changed = account
    if not account.grants and account.status is not AccountStatus.DELETED:
        changed = attrs.evolve(
            account, status=AccountStatus.DELETED, phone=None, deleted_at=ctx.now
        )
    change = AccountChange(changed, event=AccountEventKind.GRANT_REJECTED, grant=proposal.grant)
    return change, _decided(ctx, actor, proposal, ProposalState.REJECTED, reason)


def check_proposal_reader(actor: Actor, jurisdiction: str | None, platform: str) -> str | None:
    """The security and system admins list proposals of their jurisdiction (the platform's: any,
    or the one named); the jurisdiction to list, ``None`` for all."""
    if actor.role not in (Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN):
        raise PermissionDenied(
            "只有安全管理员或系统管理员可以查看角色申请", article="第十九条", role=actor.role.value
        )
    if jurisdiction is None:
        return None if actor.jurisdiction == platform else actor.jurisdiction
    place = check_place(jurisdiction)
    check_admin_scope(actor, place, platform)
    return place


def set_password_policy(
    ctx: Context,
    actor: Actor,
    jurisdiction: str,
    policy: PasswordPolicy,
    changes: int,
    platform: str,
) -> PolicyChange:
    """The security admin sets a jurisdiction's password and lockout policy (第十九条).

    Not below the figures of its own profile nor of the jurisdiction's
    (:func:`qiandao.accounts.check_policy_floor`); ``changes``
    is how many changes the jurisdiction has had; the change records the policy replaced.
    """
    require_security_admin(actor, "设置口令与锁定策略")
    check_admin_scope(actor, jurisdiction, platform)
    check_policy_floor(policy, ctx.rules.accounts.password_profile)
    return PolicyChange(
        jurisdiction, changes + 1, policy, policy_of(ctx), actor.account_id, ctx.now
    )


def revoke_role(actor: Actor, account: Account, grant: RoleGrant, platform: str) -> AccountChange:
    """Revoke one role grant; the sessions that selected it end. The last grant stays.

    As for :func:`grant_role`, the admin's scope covers the home jurisdiction and the grant
    revoked: the county admin cannot revoke a county grant of a city person.
    """
    check_grant_manager(actor)
    check_admin_scope(actor, account.jurisdiction, platform)
    check_admin_scope(actor, grant.jurisdiction, platform)
    _refuse_deleted(account)
    if grant not in account.grants:
        raise GrantNotHeld(role=grant.role.value, jurisdiction=grant.jurisdiction)
    if len(account.grants) == 1:
        raise LastGrant()
    kept = attrs.evolve(account, grants=tuple(g for g in account.grants if g != grant))
    return AccountChange(kept, event=AccountEventKind.GRANT_REVOKED, grant=grant, end_grant=grant)


# --- external identity (浙政钉) ------------------------------------------------------------------


def verified_identity(provider: str, identity: ExternalIdentity) -> ExternalIdentity:
    """The identity a provider vouched for, unless it names another provider or no one."""
    if identity.provider != provider or not identity.subject:
        raise AuthenticationFailed("外部身份校验失败", provider=provider)
    return identity


def bind_external(
    ctx: Context,
    session: Session,
    account: Account,
    identity: ExternalIdentity,
    holder: Account | None,
) -> AccountChange:
    """Bind ``identity`` to the signed-in account; ``holder`` is the account holding it, if any.

    One identity binds one account, and an account has one identity per provider. Binding it
    again changes nothing; a new binding is an IDENTITY_BOUND event.
    """
    full_session(ctx, session, account)
    if identity in account.external_ids:
        return AccountChange(account)
    if holder is not None:
        raise DuplicateAccount("该外部身份已绑定其他账号", article="第十七条")
    if any(known.provider == identity.provider for known in account.external_ids):
        raise DuplicateAccount("本账号已绑定该平台的其他身份", article="第十七条")
    bound = attrs.evolve(account, external_ids=account.external_ids | {identity})
    return AccountChange(
        bound,
        session=_seen(ctx, session),
        event=AccountEventKind.IDENTITY_BOUND,
    )


def sign_in_external(
    ctx: Context, account: Account | None, provider: str, token: str
) -> tuple[AccountChange, SignIn]:
    """Sign in with an identity bound to ``account``: a session of ``token``, as for a password.

    An unbound identity is refused; locked and deleted accounts are refused as for a password.
    """
    if account is None:
        raise AuthenticationFailed("该外部身份未绑定账号", provider=provider)
    current = effective(account, ctx)
    refuse_unusable(current)
    session, result = start_session(ctx, current, token)
    return AccountChange(account, session=session), result
