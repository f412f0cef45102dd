"""Account commands (第十六至十九条): registration, role grants, sign-in, sessions, departure.

Each method checks its plain arguments, does the effects a decision cannot (hashing and
verifying passwords, drawing initial passwords and session tokens, verifying an external scan),
and runs the decisions of :mod:`qiandao.workflow.accounts` on the command runner. A password is
verified (and a new one hashed) outside any transaction, so a slow hash never holds the database
on the paths anyone can call; the facts it is checked against are read first (``_read``), and
the decision that follows reloads them.

Lockout: a password guess is counted before it is verified, atomically
(``AccountRepository.count_failure``: parallel guesses wait for each other, so none is lost or
turned into an error); once the count reaches the policy's limit no guess is verified, only the
dummy hash is. Wrong and unknown credentials get the same refusal at the same cost.

Retries: every command that saves a new version of an account retries any version conflict, up to
:data:`_CONTENDED` times; each attempt reloads the account and decides again. A sign-in's save
may collide with the failure counts of parallel guesses; an
admin's theft report, unlock or departure does not depend on the version the admin saw, and a
thief's sign-in attempts must not make a theft report fail. Registration (which adds an account)
and authentication, sign-out and external sign-in (which only write sessions) keep the runner's
default: only conflicts the store marks retryable run again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs

from qiandao._core import Actor, Once, R, Tx, _Core, check_ids, once
from qiandao.accounts import (
    PasswordPolicy,
    PolicyChange,
    check_policy_floor,
    generate_initial_password,
    new_session_token,
    normalise_password,
    normalise_phone,
    usable_password,
    watermark_text,
)
from qiandao.errors import (
    AccountError,
    AuthenticationFailed,
    DeliveryFailed,
    DeliveryMissing,
    HasherMissing,
    InvalidInput,
    NotFound,
    PasswordPolicyViolation,
)
from qiandao.lanes import LanePosition
from qiandao.model import (
    Account,
    AccountEvent,
    AccountEventKind,
    AccountView,
    ExternalIdentity,
    GrantProposal,
    ProposalState,
    RoleGrant,
    Session,
)
from qiandao.paging import (
    EPOCH,
    Page,
    page_of,
    page_start,
    sequence_id,
)
from qiandao.ports.security import CredentialDelivery, PasswordHasher
from qiandao.ports.store import IdempotencyRecord
from qiandao.rules.roles import ADMIN_ROLES, Role
from qiandao.rules.text import require_reason
from qiandao.workflow import accounts
from qiandao.workflow.accounts import AccountChange, InitialPassword, Issue, Registration, SignIn
from qiandao.workflow.context import Context

__all__ = ["AccountCommands"]

_MAX_REASON_CHARS = 2_000
_CONTENDED = 5
"""Tries of an account write that may collide with parallel sign-ins of the same account."""


def _issue(hasher: PasswordHasher, policy: PasswordPolicy, account: Account) -> InitialPassword:
    """A random initial password meeting ``policy``, and its hash (effects)."""
    password = generate_initial_password(policy, phone=account.phone, real_name=account.real_name)
    return InitialPassword(password, hasher.hash(password))


def _deliver(delivery: CredentialDelivery, account: Account, password: str) -> None:
    """Hand ``password`` to the person (before the commit); ``DeliveryFailed`` if it raises.

    The exception rolls the command back: an account whose password no one received is never
    saved (an unlocked account could not be unlocked again).
    """
    if account.phone is None:  # registration and unlock always leave a number
        raise DeliveryFailed(account_id=account.id)
    try:
        delivery.deliver(account, account.phone, password)
    except Exception as exc:  # any failure of the port: not delivered
        raise DeliveryFailed(account_id=account.id) from exc


def _ctx(tx: Tx, jurisdiction: str) -> Context:
    """The context of a jurisdiction with the password policy its security admin set, if any."""
    ctx = tx.context(jurisdiction)
    stored = tx.uow.accounts.policy(jurisdiction) if jurisdiction else None
    return ctx if stored is None else attrs.evolve(ctx, password_policy=stored.policy)


def _context(tx: Tx, account: Account | None) -> Context:
    """The context of an account's jurisdiction (any context serves when there is no account)."""
    return _ctx(tx, account.jurisdiction if account is not None else "")


def _session(tx: Tx, key: str | None) -> tuple[Context, Session, Account]:
    """A known session of a token, its account, and the context of the account's jurisdiction."""
    session = accounts.known_session(None if key is None else tx.uow.sessions.get(key))
    account = tx.uow.accounts.get(session.account_id)
    tx.audit_subject(account.id, account.jurisdiction)
    return _ctx(tx, account.jurisdiction), session, account


# --- work of the commands (run by the command runner) ---------------------------------------


def _register(
    tx: Tx,
    actor: Actor,
    request: Registration,
    issue: Issue,
    platform: str,
    delivery: CredentialDelivery,
) -> Account:
    unit = None if request.unit_id is None else tx.uow.units.get(request.unit_id)
    taken = tx.uow.accounts.by_phone(request.phone)
    ctx = _ctx(tx, request.jurisdiction or actor.jurisdiction)
    if request.role not in ADMIN_ROLES:  # a content role: a proposal, no password yet
        pending, proposal = accounts.propose_registration(
            ctx, actor, request, unit, taken, platform
        )
        added = tx.add_account(pending)
        _stage_proposal(tx, added, proposal)
        return added
    account, password = accounts.register(ctx, actor, request, unit, taken, issue, platform)
    added = tx.add_account(account)
    _deliver(delivery, added, password)
    return added


def _stage_proposal(tx: Tx, account: Account, proposal: GrantProposal) -> None:
    tx.uow.accounts.add_proposal(proposal)
    tx.account_event(account, AccountEventKind.GRANT_PROPOSED, proposal.grant)


_BOOTSTRAPPED = "bootstrap"
"""The key of the record the first admin's transaction adds (a client key is never stored
without its account's prefix and ``:``, so no key collides with it): two concurrent
``bootstrap_admin`` calls on an empty store both insert it, and the loser runs again."""


def _bootstrap_admin(tx: Tx, request: Registration, issue: Issue) -> tuple[Account, str]:
    others = bool(tx.uow.accounts.list())
    taken = tx.uow.accounts.by_phone(request.phone)
    ctx = _ctx(tx, request.jurisdiction or "")
    account, password = accounts.bootstrap_admin(ctx, request, others, taken, issue)
    added = tx.add_account(account)
    tx.uow.idempotency.add(IdempotencyRecord(_BOOTSTRAPPED, "", added.id, "bootstrap_admin"))
    return added, password


def _sign_in_target(tx: Tx, number: str) -> tuple[Account, str, bool] | None:
    found = tx.uow.accounts.by_phone(number)
    if found is not None:
        tx.audit_subject(found.id, found.jurisdiction)
    return accounts.sign_in_target(_context(tx, found), found)


def _count_failure(tx: Tx, account_id: str) -> int | None:
    """Count a guess before it is verified (a run-out lock lifted first); ``None``: not to be
    verified (the limit is reached, or the account is no longer active)."""
    stored = tx.uow.accounts.get(account_id)
    target = accounts.count_target(_ctx(tx, stored.jurisdiction), stored)
    if target is None:
        return None
    current, limit = target
    tx.save_account(stored, current)
    return tx.uow.accounts.count_failure(account_id, limit)


def _failed_attempt(tx: Tx, account_id: str) -> AccountError:
    """A wrong password verified before it was counted: count it, then lock at the threshold."""
    _count_failure(tx, account_id)
    stored = tx.uow.accounts.get(account_id)
    tx.save_account(stored, accounts.failed_attempt(_ctx(tx, stored.jurisdiction), stored))
    return AuthenticationFailed()


def _sign_in(
    tx: Tx, account_id: str, seen_hash: str, token: str, verified: bool, rehashed: str | None
) -> SignIn | AccountError:
    stored = tx.uow.accounts.get(account_id)
    change, result = accounts.sign_in(
        _ctx(tx, stored.jurisdiction),
        stored,
        seen_hash,
        token,
        verified=verified,
        rehashed=rehashed,
    )
    tx.change_account(stored, change)
    return result


def _authenticate(tx: Tx, key: str | None) -> Actor:
    ctx, session, account = _session(tx, key)
    change, actor = accounts.authenticate(ctx, session, account)
    tx.change_account(account, change)
    return actor


def _sign_out(tx: Tx, key: str | None) -> None:
    ended = accounts.sign_out(None if key is None else tx.uow.sessions.get(key))
    if ended is not None:
        tx.audit_subject(ended.account_id)
        tx.uow.sessions.put(ended)


def _password_change_target(tx: Tx, key: str | None) -> Account:
    ctx, session, account = _session(tx, key)
    return accounts.password_change_target(ctx, session, account)


def _change_password(tx: Tx, key: str | None, seen_hash: str, new_hash: str, token: str) -> SignIn:
    ctx, session, account = _session(tx, key)
    change, result = accounts.change_password(ctx, session, account, seen_hash, new_hash, token)
    tx.change_account(account, change)
    return result


def _report_theft(tx: Tx, actor: Actor, account_id: str, platform: str) -> Account:
    stored = tx.uow.accounts.get(account_id)
    return tx.change_account(stored, accounts.report_theft(actor, stored, platform))


def _unlock(
    tx: Tx,
    actor: Actor,
    account_id: str,
    issue: Issue,
    platform: str,
    delivery: CredentialDelivery,
) -> Account:
    stored = tx.uow.accounts.get(account_id)
    policy = accounts.policy_of(_ctx(tx, stored.jurisdiction))
    change, password = accounts.unlock(actor, stored, issue, platform, policy)
    unlocked = tx.change_account(stored, change)
    _deliver(delivery, unlocked, password)
    return unlocked


def _depart(tx: Tx, actor: Actor, account_id: str, platform: str) -> Account:
    stored = tx.uow.accounts.get(account_id)
    change = accounts.depart(_ctx(tx, stored.jurisdiction), actor, stored, platform)
    return tx.change_account(stored, change)


def _grant_role(
    tx: Tx, actor: Actor, account_id: str, grant: RoleGrant, platform: str
) -> GrantProposal:
    stored = tx.uow.accounts.get(account_id)
    unit = None if grant.unit_id is None else tx.uow.units.get(grant.unit_id)
    pending = tx.uow.accounts.proposals(state=ProposalState.PENDING, account_id=account_id)
    ctx = _ctx(tx, stored.jurisdiction)
    change, proposal = accounts.grant_role(ctx, actor, stored, grant, unit, pending, platform)
    tx.uow.accounts.add_proposal(proposal)
    tx.change_account(stored, change)
    return proposal


def _proposal_facts(tx: Tx, proposal_id: str) -> tuple[Context, GrantProposal, Account]:
    proposal = tx.uow.accounts.get_proposal(proposal_id)
    account = tx.uow.accounts.get(proposal.account_id)
    return _ctx(tx, account.jurisdiction), proposal, account


def _decide_proposal(
    tx: Tx, stored: Account, proposal: GrantProposal, change: AccountChange, decided: GrantProposal
) -> Account:
    tx.uow.accounts.save_proposal(decided, proposal.version)
    return tx.change_account(stored, change)


def _approve_grant(
    tx: Tx,
    actor: Actor,
    proposal_id: str,
    issue: Issue,
    platform: str,
    delivery: CredentialDelivery,
) -> GrantProposal:
    ctx, proposal, stored = _proposal_facts(tx, proposal_id)
    grant = proposal.grant
    unit = None if grant.unit_id is None else tx.uow.units.get(grant.unit_id)
    try:
        proposer: Account | None = tx.uow.accounts.get(proposal.proposer_id)
    except NotFound:
        proposer = None
    change, decided, password = accounts.approve_grant(
        ctx, actor, stored, proposal, unit, issue, platform, proposer
    )
    approved = _decide_proposal(tx, stored, proposal, change, decided)
    if password is not None:
        _deliver(delivery, approved, password)
    return decided


def _reject_grant(
    tx: Tx, actor: Actor, proposal_id: str, reason: str, platform: str
) -> GrantProposal:
    ctx, proposal, stored = _proposal_facts(tx, proposal_id)
    change, decided = accounts.reject_grant(ctx, actor, stored, proposal, reason, platform)
    _decide_proposal(tx, stored, proposal, change, decided)
    return decided


def _set_password_policy(
    tx: Tx, actor: Actor, jurisdiction: str, policy: PasswordPolicy, platform: str
) -> PolicyChange:
    changes = tx.uow.accounts.policy_changes(jurisdiction)
    ctx = _ctx(tx, jurisdiction)
    change = accounts.set_password_policy(ctx, actor, jurisdiction, policy, len(changes), platform)
    tx.uow.accounts.append_policy_change(change)
    return change


def _policy(tx: Tx, jurisdiction: str) -> PasswordPolicy:
    return accounts.policy_of(_ctx(tx, jurisdiction))


def _revoke_role(tx: Tx, actor: Actor, account_id: str, grant: RoleGrant, platform: str) -> Account:
    stored = tx.uow.accounts.get(account_id)
    return tx.change_account(stored, accounts.revoke_role(actor, stored, grant, platform))


def _account_history(
    tx: Tx, actor: Actor, account_id: str, platform: str
) -> tuple[AccountEvent, ...]:
    accounts.check_history_reader(actor, tx.uow.accounts.get(account_id), platform)
    return tuple(tx.uow.accounts.events(account_id))


def _proposal_position(proposal: GrantProposal) -> LanePosition:
    """A proposal's place in its list: oldest first, then by id."""
    return LanePosition(0, proposal.proposed_at, proposal.id, proposal.id)


def _sequence_position(event: AccountEvent | PolicyChange) -> LanePosition:
    """An event's place in its log: by its sequence number."""
    key = sequence_id(event.sequence)
    return LanePosition(0, EPOCH, key, key)


def _proposals(
    tx: Tx, jurisdiction: str | None, state: ProposalState | None
) -> tuple[GrantProposal, ...]:
    return tuple(tx.uow.accounts.proposals(jurisdiction, state))


def _policy_changes(tx: Tx, jurisdiction: str) -> tuple[PolicyChange, ...]:
    return tuple(tx.uow.accounts.policy_changes(jurisdiction))


def _select_grant(tx: Tx, key: str | None, grant: RoleGrant) -> Actor:
    ctx, session, account = _session(tx, key)
    change, actor = accounts.select_grant(ctx, session, account, grant)
    tx.change_account(account, change)
    return actor


def _full_session(tx: Tx, key: str | None) -> None:
    ctx, session, account = _session(tx, key)
    accounts.full_session(ctx, session, account)


def _bind_external(tx: Tx, key: str | None, identity: ExternalIdentity) -> Account:
    ctx, session, account = _session(tx, key)
    holder = tx.uow.accounts.by_external(identity.provider, identity.subject)
    change = accounts.bind_external(ctx, session, account, identity, holder)
    return tx.change_account(account, change)


def _sign_in_external(tx: Tx, identity: ExternalIdentity, token: str) -> SignIn:
    found = tx.uow.accounts.by_external(identity.provider, identity.subject)
    if found is not None:
        tx.audit_subject(found.id, found.jurisdiction)
    change, result = accounts.sign_in_external(_context(tx, found), found, identity.provider, token)
    tx.change_account(change.account, change)  # the bound account, unchanged: a new session
    return result


def _account_again(tx: Tx, account_id: str) -> Account:
    """The account a first call with the key registered or changed, as stored now."""
    return tx.uow.accounts.get(account_id)


def _proposal_again(tx: Tx, proposal_id: str) -> GrantProposal:
    """The grant proposal a first call with the key made or decided, as stored now."""
    return tx.uow.accounts.get_proposal(proposal_id)


def _policy_change_again(tx: Tx, change_id: str) -> PolicyChange:
    """The policy change a first call with the key recorded (``PolicyChange.id``)."""
    jurisdiction, _, sequence = change_id.rpartition("#")
    changes = tx.uow.accounts.policy_changes(jurisdiction)
    return next(c for c in changes if str(c.sequence) == sequence)


class AccountCommands(_Core):
    """Registration, sign-in, sessions, password change, theft reports, unlock and departure."""

    _dummy_hash: str | None = None

    # --- effects and facts ----------------------------------------------------------------

    def _hasher(self) -> PasswordHasher:
        if self.hasher is None:
            raise HasherMissing()
        return self.hasher

    def _issuer(self) -> Issue:
        """How initial passwords are drawn and hashed (``HasherMissing`` without a hasher)."""
        return functools.partial(_issue, self._hasher())

    def _delivery(self) -> CredentialDelivery:
        """Where new passwords go: to the person only (``DeliveryMissing`` without one)."""
        if self.credential_delivery is None:
            raise DeliveryMissing()
        return self.credential_delivery

    def password_policy(self, jurisdiction: str) -> PasswordPolicy:
        """The password and lockout policy in force in a jurisdiction: the one its security
        admin set (:meth:`set_password_policy`), else its RuleSet's profile."""
        place = accounts.check_place(jurisdiction)  # text, checked at the boundary
        return self._read(None, functools.partial(_policy, jurisdiction=place))

    def _verify_dummy(self, password: str) -> None:
        """Spend the same hashing work as a real check, so unknown numbers are not revealed."""
        hasher = self._hasher()
        if self._dummy_hash is None:
            self._dummy_hash = hasher.hash(new_session_token())
        self._verify(self._dummy_hash, password)  # as many verifications as a known number

    def _verify(self, password_hash: str, password: str) -> tuple[bool, bool]:
        """Whether ``password`` (NFKC) matches, and whether the hash must be redone.

        A password set before passwords were normalised is also tried as typed, and then
        rehashed in NFKC.
        """
        hasher = self._hasher()
        normal = normalise_password(password)
        if hasher.verify(password_hash, normal):
            return True, hasher.needs_rehash(password_hash)
        if normal != password and hasher.verify(password_hash, password):
            return True, True
        return False, False

    def _reused(self, account: Account, new_password: str) -> bool:
        """Whether ``new_password`` (NFKC) is the current or one of the recent passwords."""
        hasher = self._hasher()
        hashes = (account.password_hash, *account.password_history)
        return any(h and hasher.verify(h, new_password) for h in hashes)

    def _count_failure(self, account_id: str, password: str) -> None:
        """Count a guess as failed before verifying it (committed); when the limit is reached,
        spend the dummy verification instead and raise ``AuthenticationFailed``."""
        work = functools.partial(_count_failure, account_id=account_id)
        counted = self._transact(None, work, any_conflict=True, attempts=_CONTENDED, audit=False)
        if counted is None:
            self._verify_dummy(password)
            raise AuthenticationFailed()

    def _failed_attempt(self, account_id: str) -> AccountError:
        """Count a wrong password and lock at the threshold (committed); the refusal to raise."""
        work = functools.partial(_failed_attempt, account_id=account_id)
        return self._transact(None, work, any_conflict=True, attempts=_CONTENDED)

    def _contended(
        self,
        actor: Actor | None,
        work: Callable[[Tx], R],
        key: Once | None,
        again: Callable[[Tx, str], R],
    ) -> R:
        """Run an account write that may collide with parallel sign-ins (any conflict retried,
        see above), once per idempotency ``key`` (a retry gets ``again``: the first result)."""
        return self._transact_once(actor, key, work, again, any_conflict=True, attempts=_CONTENDED)

    def _account(
        self,
        actor: Actor | None,
        work: Callable[[Tx], Account],
        key: Once | None = None,
    ) -> AccountView:
        """:meth:`_contended` for a command returning an account, returned as the
        :class:`AccountView` the actor may see: no credentials, the phone masked but to the
        person themself."""
        account = self._contended(actor, work, key, _account_again)
        return AccountView.of(account, actor.account_id if actor else None)

    # --- registration ---------------------------------------------------------------------

    def register(
        self,
        actor: Actor,
        *,
        real_name: str,
        phone: str,
        role: Role | str,
        jurisdiction: str | None = None,
        unit_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> AccountView:
        """Register a real-name account (第十六条); returns it, never its password.

        Only the system admin registers. The username is the normalised mobile number; unit
        accounts (承办单位) name an existing active unit and take its jurisdiction. The random
        initial password goes to the person's phone through the ``credential_delivery`` port
        (三员分立: the admin never sees it) and must be changed at first sign-in. Without a
        delivery: ``account.delivery_missing``; if it fails: ``account.delivery_failed``, and
        nothing is registered.
        """
        if unit_id is not None:
            check_ids(unit_id=unit_id)
        accounts.require_admin(actor, "注册账号")
        issue = self._issuer()
        delivery = self._delivery()
        request = accounts.registration(
            real_name=real_name, phone=phone, role=role, jurisdiction=jurisdiction, unit_id=unit_id
        )
        work = functools.partial(
            _register,
            actor=actor,
            request=request,
            issue=issue,
            platform=self._platform(),
            delivery=delivery,
        )
        key = once(actor, idempotency_key, "register", request)
        account = self._transact_once(actor, key, work, _account_again)
        return AccountView.of(account, actor.account_id)

    def bootstrap_admin(
        self, *, real_name: str, phone: str, jurisdiction: str | None = None
    ) -> tuple[AccountView, str]:
        """Create the first 系统管理员 of an empty store; returns it and its initial password, once.

        Refused (``PermissionDenied``) as soon as any account exists: from then on only a
        system admin registers accounts. The one password returned: the installer runs this on
        the console of an empty store, before any administrator exists to learn it, and it must
        be changed at first sign-in. Every later password goes through ``credential_delivery``.
        """
        issue = self._issuer()
        request = accounts.admin_registration(
            real_name=real_name, phone=phone, jurisdiction=jurisdiction or self._platform()
        )
        account, password = self._transact(  # a parallel call's record conflicts: run again
            None,
            functools.partial(_bootstrap_admin, request=request, issue=issue),
            any_conflict=True,
        )
        return AccountView.of(account, None), password

    # --- sign-in and sessions -------------------------------------------------------------

    def sign_in(self, phone: str, password: str) -> SignIn:
        """Sign in with mobile number and password (第十六、十七条).

        Unknown number, wrong password, or any password while locked after failures:
        ``AuthenticationFailed``, the same for all and at the same hashing cost. Each guess is
        counted before it is verified; the wrong one at the policy's threshold locks the
        account, and later guesses are not verified until the lock runs out. Only the right
        password of a theft-locked account (or of one locked by a parallel guess meanwhile)
        learns of the lock (``AccountLocked``).
        """
        hasher = self._hasher()
        if not usable_password(password):  # not text, or lone surrogates: cannot be hashed
            self._verify_dummy("")
            raise AuthenticationFailed()
        try:
            number = normalise_phone(phone)
        except InvalidInput:
            number = None
        target = (
            None
            if number is None
            else self._read(None, functools.partial(_sign_in_target, number=number))
        )
        if target is None:
            self._verify_dummy(password)
            raise AuthenticationFailed()
        account, seen_hash, counted = target
        if counted:
            self._count_failure(account.id, password)
        verified, redo = self._verify(seen_hash, password)
        rehashed = hasher.hash(normalise_password(password)) if verified and redo else None
        work = functools.partial(
            _sign_in,
            account_id=account.id,
            seen_hash=seen_hash,
            token=new_session_token(),
            verified=verified,
            rehashed=rehashed,
        )
        result = self._transact(None, work, any_conflict=True, attempts=_CONTENDED)
        if isinstance(result, AccountError):
            raise result
        return result

    def authenticate(self, token: str) -> Actor:
        """The actor of a live session, in the session's role grant; refreshes its idle timer.

        The timer (``last_seen``) is written at most once a minute: page views within a minute
        write nothing. ``SessionExpired`` for an unknown, revoked or idle session, one past its
        absolute lifetime, or one whose grant was revoked; ``PasswordChangeRequired`` while the
        session only allows changing the password, or once the password is past its maximum age;
        ``GrantRequired`` while a person with several grants has not selected one.
        """
        key = accounts.session_key(token)
        return self._transact(None, functools.partial(_authenticate, key=key))

    def select_grant(self, token: str, grant: RoleGrant) -> Actor:
        """Act in one of the person's role grants in this session (第九、十六条); may switch.

        ``GrantNotHeld`` for a grant the person does not hold; the session must be full.
        """
        key = accounts.session_key(token)
        if not isinstance(grant, RoleGrant):
            raise InvalidInput("须指定所选角色", field="grant")
        return self._transact(None, functools.partial(_select_grant, key=key, grant=grant))

    def sign_out(self, token: str) -> None:
        """End one session (nothing happens for an unknown or ended session)."""
        self._transact(None, functools.partial(_sign_out, key=accounts.session_key(token)))

    def change_password(self, token: str, old_password: str, new_password: str) -> SignIn:
        """Change the password (第十六条): every session ends and a new full one is returned.

        A wrong old password counts as a failed sign-in (atomically, after it is verified: the
        caller already holds a session, and a refused change must change nothing); the one at
        the policy's threshold locks the account (``AuthenticationFailed`` either way). Both
        passwords are normalised with NFKC; the new one must meet the policy
        (``PasswordPolicyViolation``) and must not be one of the policy's ``history`` last
        passwords (failure ``reused``).
        """
        hasher = self._hasher()
        key = accounts.session_key(token)
        account = self._read(None, functools.partial(_password_change_target, key=key))
        seen_hash = account.password_hash
        if (
            not usable_password(old_password)
            or seen_hash is None
            or not self._verify(seen_hash, old_password)[0]
        ):
            raise self._failed_attempt(account.id)
        policy = self.password_policy(account.jurisdiction)
        accounts.check_new_password(policy, account, normalise_password(old_password), new_password)
        new = normalise_password(new_password)
        if self._reused(account, new):
            raise PasswordPolicyViolation(
                f"新密码不得与最近{policy.history}次使用的密码相同",
                failures=("reused",),
                profile=policy.profile.value,
            )
        work = functools.partial(
            _change_password,
            key=key,
            seen_hash=seen_hash,
            new_hash=hasher.hash(new),
            token=new_session_token(),
        )
        return self._transact(None, work, any_conflict=True, attempts=_CONTENDED)

    # --- theft, unlock, departure ---------------------------------------------------------

    def report_theft(
        self, actor: Actor, account_id: str, *, idempotency_key: str | None = None
    ) -> AccountView:
        """Report stolen credentials (第十七条): lock the account and end all its sessions.

        The account's owner or the system admin may report; only the admin unlocks.
        """
        check_ids(account_id=account_id)
        accounts.check_reporter(actor, account_id)
        work = functools.partial(
            _report_theft, actor=actor, account_id=account_id, platform=self._platform()
        )
        key = once(actor, idempotency_key, "report_theft", account_id)
        return self._account(actor, work, key)

    def unlock(
        self, actor: Actor, account_id: str, *, idempotency_key: str | None = None
    ) -> AccountView:
        """Unlock a locked account with a new random initial password; returns the account only.

        The old password is no longer trusted (theft) or was forgotten (lockout), so the next
        sign-in must change the new one (第十六、十七条). Existing sessions end. The password
        goes to the person's phone through ``credential_delivery``, never to the admin (三员分立,
        第十九条): ``account.delivery_missing`` without one, ``account.delivery_failed`` (and the
        account stays locked) if it fails.
        """
        check_ids(account_id=account_id)
        accounts.require_any_admin(actor, "解锁账号或重置密码")
        work = functools.partial(
            _unlock,
            actor=actor,
            account_id=account_id,
            issue=self._issuer(),
            platform=self._platform(),
            delivery=self._delivery(),
        )
        key = once(actor, idempotency_key, "unlock", account_id)
        return self._account(actor, work, key)

    def depart(
        self, actor: Actor, account_id: str, *, idempotency_key: str | None = None
    ) -> AccountView:
        """Delete the account of someone who left (第十七条): no sign-in, credentials or bindings.

        The row stays (id and real name) so items, ratings and audit records remain attributed.
        """
        check_ids(account_id=account_id)
        accounts.check_departure(actor, account_id)
        work = functools.partial(
            _depart, actor=actor, account_id=account_id, platform=self._platform()
        )
        key = once(actor, idempotency_key, "depart", account_id)
        return self._account(actor, work, key)

    # --- role grants ------------------------------------------------------------------------

    def grant_role(
        self,
        actor: Actor,
        account_id: str,
        role: Role | str,
        jurisdiction: str,
        unit_id: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> GrantProposal:
        """Propose a content role grant for a person (第九、十六、十七条); only the system admin.

        The grant takes effect when the security admin approves it (:meth:`approve_grant`,
        三员分立, 第十九条); returns the pending proposal. Refused: a grant already held or
        pending (``GrantAlreadyHeld``), an administrator role or a grant to an admin's account
        (``AdminSeparation``), a deleted account or one still waiting for its first grant,
        outside the admin's scope.
        """
        check_ids(account_id=account_id)
        if unit_id is not None:
            check_ids(unit_id=unit_id)
        accounts.check_grant_manager(actor)
        grant = accounts.role_grant(role, jurisdiction, unit_id)
        work = functools.partial(
            _grant_role, actor=actor, account_id=account_id, grant=grant, platform=self._platform()
        )
        key = once(actor, idempotency_key, "grant_role", account_id, grant)
        return self._contended(actor, work, key, _proposal_again)

    def approve_grant(
        self, actor: Actor, proposal_id: str, *, idempotency_key: str | None = None
    ) -> GrantProposal:
        """Approve a proposed grant (三员分立, 第十九条): it joins the account; only the security
        admin of the account's and the grant's scope, never the proposer (``SelfApproval``).

        The separation and the other checks of the proposal are made again. A registration's
        first grant also issues the initial password, delivered to the person through
        ``credential_delivery`` (``account.delivery_failed``: nothing is approved); it must be
        changed at first sign-in. A decided proposal is ``state.invalid_transition``.
        """
        check_ids(proposal_id=proposal_id)
        accounts.require_security_admin(actor, "批准角色申请")
        work = functools.partial(
            _approve_grant,
            actor=actor,
            proposal_id=proposal_id,
            issue=self._issuer(),
            platform=self._platform(),
            delivery=self._delivery(),
        )
        key = once(actor, idempotency_key, "approve_grant", proposal_id)
        return self._contended(actor, work, key, _proposal_again)

    def reject_grant(
        self, actor: Actor, proposal_id: str, reason: str, *, idempotency_key: str | None = None
    ) -> GrantProposal:
        """Reject a proposed grant with a reason (三员分立, 第十九条); as :meth:`approve_grant`
        only the security admin, never the proposer. A rejected registration deletes the
        account that never could sign in (its number may be registered again)."""
        check_ids(proposal_id=proposal_id)
        accounts.require_security_admin(actor, "驳回角色申请")
        text = require_reason(reason, max_chars=_MAX_REASON_CHARS, article="第十九条")
        work = functools.partial(
            _reject_grant,
            actor=actor,
            proposal_id=proposal_id,
            reason=text,
            platform=self._platform(),
        )
        key = once(actor, idempotency_key, "reject_grant", proposal_id, text)
        return self._contended(actor, work, key, _proposal_again)

    def grant_proposals(
        self,
        actor: Actor,
        *,
        jurisdiction: str | None = None,
        state: ProposalState | str | None = "pending",
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[GrantProposal]:
        """Grant proposals of a jurisdiction (pending by default; ``None``: any state), oldest
        first, a page at a time; for the security and system admins of its scope (the
        platform's: every one). ``cursor``: the previous page's ``next_cursor``; one of another
        list, filter or account is ``input.invalid`` (field ``cursor``)."""
        wanted = None if state is None else ProposalState.parse(state, "state")
        listing = f"grant_proposals:{jurisdiction}:{None if wanted is None else wanted.value}"
        after = page_start(limit, cursor, listing, actor.account_id)
        place = accounts.check_proposal_reader(actor, jurisdiction, self._platform())
        work = functools.partial(_proposals, jurisdiction=place, state=wanted)
        rows = self._read(actor, work)
        return page_of(rows, _proposal_position, limit, after, listing, actor.account_id)

    def set_password_policy(
        self,
        actor: Actor,
        jurisdiction: str,
        policy: PasswordPolicy,
        *,
        idempotency_key: str | None = None,
    ) -> PolicyChange:
        """Set a jurisdiction's password and lockout policy (第十九条); the security admin of
        its scope alone. Never below its profile's figures (``account.policy_too_weak``); every
        account decision of the jurisdiction uses it from then on. Returns the change (who,
        when, old and new policy), which is the log the audit admin reads."""
        accounts.require_security_admin(actor, "设置口令与锁定策略")
        place = accounts.check_place(jurisdiction)
        check_policy_floor(policy, self.rules_for(place).accounts.password_profile)
        work = functools.partial(
            _set_password_policy,
            actor=actor,
            jurisdiction=place,
            policy=policy,
            platform=self._platform(),
        )
        key = once(actor, idempotency_key, "set_password_policy", place, policy)
        return self._contended(actor, work, key, _policy_change_again)

    def password_policy_changes(
        self, actor: Actor, jurisdiction: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[PolicyChange]:
        """A jurisdiction's password policy changes in order, a page at a time (``cursor`` as
        in :meth:`grant_proposals`); the audit admin of its scope alone (三员分立, 第十九条)."""
        accounts.require_audit_admin(actor)
        place = accounts.check_place(jurisdiction)
        listing = f"password_policy_changes:{place}"
        after = page_start(limit, cursor, listing, actor.account_id)
        accounts.check_admin_scope(actor, place, self._platform())
        rows = self._read(actor, functools.partial(_policy_changes, jurisdiction=place))
        return page_of(rows, _sequence_position, limit, after, listing, actor.account_id)

    def revoke_role(
        self, actor: Actor, account_id: str, grant: RoleGrant, *, idempotency_key: str | None = None
    ) -> AccountView:
        """Revoke one role grant (第十七条); the sessions that selected it end.

        Refused: a grant not held (``GrantNotHeld``), the last grant (``LastGrant``: departure
        is :meth:`depart`), a deleted account, outside the admin's scope.
        """
        check_ids(account_id=account_id)
        accounts.check_grant_manager(actor)
        if not isinstance(grant, RoleGrant):
            raise InvalidInput("须指定要撤销的角色", field="grant")
        work = functools.partial(
            _revoke_role, actor=actor, account_id=account_id, grant=grant, platform=self._platform()
        )
        key = once(actor, idempotency_key, "revoke_role", account_id, grant)
        return self._account(actor, work, key)

    def watermark(self, actor: Actor) -> str:
        """The 第十八条 screen watermark for the actor's pages: real name, the phone's last four
        digits and the time now (Shanghai), from the actor's own verified account.

        Hosts overlay it on every page and export so that a photograph names its taker; it
        reads only the caller's own account, so it is not an audited read.
        """
        now = self.now()
        with self._reading(actor) as uow:
            account = uow.accounts.get(actor.account_id)
        return watermark_text(account, now)

    def account_history(
        self, actor: Actor, account_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[AccountEvent]:
        """The account's events in order (registration, grants, locks, departure, …), a page
        at a time (``cursor`` as in :meth:`grant_proposals`).

        For the audit admin whose scope covers the account alone (三员分立, 第十七、十九条): the
        system admin whose acts it records does not read it.
        """
        check_ids(account_id=account_id)
        listing = f"account_history:{account_id}"
        after = page_start(limit, cursor, listing, actor.account_id)
        work = functools.partial(
            _account_history, actor=actor, account_id=account_id, platform=self._platform()
        )
        rows = self._read(actor, work)
        return page_of(rows, _sequence_position, limit, after, listing, actor.account_id)

    # --- external identity (浙政钉) --------------------------------------------------------

    def _external_identity(self, provider: str, ticket: str) -> ExternalIdentity:
        """The identity the provider vouches for (its verification is an effect)."""
        source = self.identity_providers.get(provider) if isinstance(provider, str) else None
        if source is None:
            raise InvalidInput(f"未配置外部登录方式：{provider}", field="provider")
        return accounts.verified_identity(provider, source.verify(ticket))

    def bind_external(self, token: str, provider: str, ticket: str) -> AccountView:
        """Bind an external identity (浙政钉 scan) to the signed-in account (第十七条).

        One identity binds one account, and an account has one identity per provider.
        """
        key = accounts.session_key(token)
        self._read(None, functools.partial(_full_session, key=key))
        identity = self._external_identity(provider, ticket)
        work = functools.partial(_bind_external, key=key, identity=identity)
        account = self._contended(None, work, None, _account_again)
        return AccountView.of(account, account.id)  # the person themself

    def sign_in_external(self, provider: str, ticket: str) -> SignIn:
        """Sign in with an external identity already bound to an account (浙政钉 scan).

        An unbound identity gets ``AuthenticationFailed``; locked and deleted accounts are
        refused as for a password sign-in.
        """
        identity = self._external_identity(provider, ticket)
        work = functools.partial(_sign_in_external, identity=identity, token=new_session_token())
        return self._transact(None, work)
