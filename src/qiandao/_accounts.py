"""Account commands (第十六至十九条): registration, sign-in, sessions, theft, departure.

Decisions written down here (see also ``docs/``):

* Only the 系统管理员 registers, unlocks and deletes accounts. A system admin registers in their
  own jurisdiction; the admin of the platform's own jurisdiction (the default rules, normally the
  city office that runs the platform, 第六、十六条) may register in any jurisdiction.
* Unknown numbers and wrong passwords get the same ``AuthenticationFailed`` after the same amount
  of hashing work. Consecutive failures are counted (the one write a refused sign-in makes) and
  lock the account for the policy's lockout time; the lock lifts by itself when it runs out.
* A theft report locks the account until the system admin unlocks it. Unlocking (or resetting)
  issues a new random initial password, shown once, that must be changed at the next sign-in:
  after a theft or a lockout the old password cannot be trusted or has been forgotten.
* Changing the password revokes every session of the account and returns a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NoReturn, TypeVar

import attrs

from qiandao._core import Actor
from qiandao._legacy import _LegacyCore
from qiandao.accounts import (
    PasswordPolicy,
    check_password,
    generate_initial_password,
    hash_token,
    new_session_token,
    normalise_phone,
    password_expired,
)
from qiandao.errors import (
    AccountError,
    AccountLocked,
    AuthenticationFailed,
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    InvalidTransition,
    JurisdictionDenied,
    PasswordChangeRequired,
    PasswordPolicyViolation,
    PermissionDenied,
    SessionExpired,
)
from qiandao.model import Account, AccountStatus, ExternalIdentity, Session
from qiandao.ports.security import PasswordHasher
from qiandao.ports.store import UnitOfWork
from qiandao.rules.roles import Role
from qiandao.rules.text import clean_text

__all__ = ["AccountCommands", "HasherMissing", "SignIn"]

T = TypeVar("T")

_RETRIES = 5
_MAX_NAME_CHARS = 50
_FAILURE_LOCK_REASON = "连续登录失败次数过多，已临时锁定"
_THEFT_LOCK_REASON = "账号或密码失窃，已锁定"


class HasherMissing(AccountError):
    """The service was created without a password hasher, so passwords cannot be handled."""

    code = "account.hasher_missing"
    article = "第十九条"
    default_message = "未配置密码哈希器，无法处理密码"


@attrs.frozen
class SignIn:
    """A successful sign-in: the session token (returned once), who, and whether to change first.

    When ``must_change_password`` is true the session only allows :meth:`change_password`
    (first sign-in with the initial password, or the password is older than the policy allows),
    and ``actor`` is ``None``: nothing else may be done before the change (第十六条).
    """

    token: str = attrs.field(repr=False)
    actor: Actor | None
    must_change_password: bool = False


def _actor(account: Account) -> Actor:
    return Actor(account.id, account.role, account.jurisdiction, account.unit_id)


def _lock_expired(account: Account, now: datetime) -> bool:
    return (
        account.status is AccountStatus.LOCKED
        and account.locked_until is not None
        and now >= account.locked_until
    )


def _effective(account: Account, now: datetime) -> Account:
    """The account with a run-out temporary lock lifted (not saved by itself)."""
    if _lock_expired(account, now):
        return attrs.evolve(
            account,
            status=AccountStatus.ACTIVE,
            locked_until=None,
            lock_reason="",
            failed_attempts=0,
        )
    return account


def _refuse_unusable(account: Account) -> None:
    """Raise unless the (effective) account may sign in."""
    if account.status is AccountStatus.DELETED:
        raise AccountLocked("账号已删除", article="第十七条", status=account.status.value)
    if account.status is AccountStatus.LOCKED:
        raise AccountLocked(
            locked_until=account.locked_until.isoformat() if account.locked_until else "",
            reason=account.lock_reason,
        )


class AccountCommands(_LegacyCore):
    """Registration, sign-in, sessions, password change, theft reports, unlock and departure."""

    _dummy_hash: str | None = None

    # --- helpers --------------------------------------------------------------------------

    def _hasher(self) -> PasswordHasher:
        if self.hasher is None:
            raise HasherMissing()
        return self.hasher

    def _instant(self, now: datetime | None) -> datetime:
        if now is None:
            return self.now()
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise InvalidInput("时间必须带时区", field="now")
        return now

    def password_policy(self, jurisdiction: str) -> PasswordPolicy:
        """The password and session policy of a jurisdiction (its RuleSet's profile)."""
        return PasswordPolicy.for_profile(self.rules_for(jurisdiction).accounts.password_profile)

    def _verify_dummy(self, password: str) -> None:
        """Spend the same hashing work as a real check, so unknown numbers are not revealed."""
        hasher = self._hasher()
        if self._dummy_hash is None:
            self._dummy_hash = hasher.hash(new_session_token())
        hasher.verify(self._dummy_hash, password)

    @staticmethod
    def _require_admin(actor: Actor, what: str) -> None:
        if actor.role is not Role.SYSTEM_ADMIN:
            raise PermissionDenied(
                f"只有系统管理员可以{what}", article="第十七条", role=actor.role.value
            )

    def _check_admin_scope(self, actor: Actor, jurisdiction: str) -> None:
        if actor.jurisdiction not in (jurisdiction, self._default_rules.jurisdiction):
            raise JurisdictionDenied(jurisdiction=jurisdiction)

    def _admin_target(self, uow: UnitOfWork, actor: Actor, account_id: str) -> Account:
        account = uow.accounts.get(account_id)
        self._check_admin_scope(actor, account.jurisdiction)
        return account

    def _retrying(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a unit of work and commit; start again on a concurrent change."""
        for attempt in range(_RETRIES):
            try:
                with self.store.unit_of_work() as uow:
                    result = work(uow)
                    uow.commit()
                    return result
            except ConcurrencyConflict:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _new_session(
        self, uow: UnitOfWork, account: Account, now: datetime, *, change_only: bool
    ) -> str:
        token = new_session_token()
        uow.sessions.put(
            Session(
                token_hash=hash_token(token),
                account_id=account.id,
                created_at=now,
                last_seen=now,
                password_change_only=change_only,
            )
        )
        return token

    def _change_only(self, account: Account, now: datetime) -> bool:
        policy = self.password_policy(account.jurisdiction)
        return account.must_change_password or password_expired(
            policy, account.password_changed_at, now
        )

    def _live_session(
        self, uow: UnitOfWork, token: object, now: datetime
    ) -> tuple[Session, Account]:
        """The session of ``token`` and its account, or ``SessionExpired``."""
        if not isinstance(token, str) or not token:
            raise SessionExpired()
        session = uow.sessions.get(hash_token(token))
        if session is None or session.revoked:
            raise SessionExpired()
        account = uow.accounts.get(session.account_id)
        if account.status is AccountStatus.DELETED or (
            account.status is AccountStatus.LOCKED and account.locked_until is None
        ):
            raise SessionExpired()
        policy = self.password_policy(account.jurisdiction)
        if now - session.last_seen > policy.idle_timeout:
            raise SessionExpired(
                f"超过{policy.idle_timeout_minutes}分钟未操作，请重新登录", idle=True
            )
        return session, account

    def _record_failure(self, account_id: str, now: datetime) -> Account:
        """Count one failed password check (committed); lock at the policy's threshold."""

        def work(uow: UnitOfWork) -> Account:
            stored = uow.accounts.get(account_id)
            account = _effective(stored, now)
            if account.status is not AccountStatus.ACTIVE:
                return account
            policy = self.password_policy(account.jurisdiction)
            failures = account.failed_attempts + 1
            updated = attrs.evolve(account, version=stored.version + 1, failed_attempts=failures)
            if failures >= policy.max_failed_attempts:
                updated = attrs.evolve(
                    updated,
                    status=AccountStatus.LOCKED,
                    locked_until=now + policy.lockout,
                    lock_reason=_FAILURE_LOCK_REASON,
                )
            uow.accounts.save(updated, stored.version)
            return updated

        return self._retrying(work)

    def _refuse_after_failure(self, account: Account) -> NoReturn:
        if account.status is AccountStatus.LOCKED:
            _refuse_unusable(account)
        raise AuthenticationFailed()

    def _create(
        self,
        uow: UnitOfWork,
        *,
        name: str,
        number: str,
        role: Role,
        place: str,
        unit_id: str | None,
        now: datetime,
    ) -> tuple[Account, str]:
        """Stage a new account with a random initial password (must be changed at first use)."""
        hasher = self._hasher()
        if uow.accounts.by_phone(number) is not None:
            raise DuplicateAccount(phone_tail=number[-4:])
        policy = self.password_policy(place)
        password = generate_initial_password(policy, phone=number, real_name=name)
        account = Account(
            id=self.new_id(),
            version=1,
            real_name=name,
            role=role,
            jurisdiction=place,
            created_at=now,
            phone=number,
            unit_id=unit_id,
            password_hash=hasher.hash(password),
            must_change_password=True,
        )
        uow.accounts.add(account)
        return account, password

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
    ) -> tuple[Account, str]:
        """Register a real-name account (第十六条); returns it and its initial password, once.

        Only the system admin registers. The username is the normalised mobile number; unit
        accounts (承办单位) name an existing active unit and take its jurisdiction.
        """
        self._require_admin(actor, "注册账号")
        self._hasher()
        name = clean_text(real_name, "姓名", max_chars=_MAX_NAME_CHARS)
        number = normalise_phone(phone)
        chosen = Role.parse(role)
        if unit_id is not None and chosen is not Role.HANDLING_UNIT:
            raise InvalidInput("只有承办单位账号可以关联承办单位", field="unit_id")
        if chosen is Role.HANDLING_UNIT and not unit_id:
            raise InvalidInput("承办单位账号须指定所属承办单位（第十条）", field="unit_id")
        now = self.now()
        with self.store.unit_of_work() as uow:
            place = jurisdiction
            if unit_id is not None:
                unit = uow.units.get(unit_id)
                if not unit.active:
                    raise InvalidInput("该承办单位已停用", field="unit_id")
                if place is not None and place != unit.jurisdiction:
                    raise InvalidInput("账号所属政协与承办单位不一致", field="jurisdiction")
                place = unit.jurisdiction
            place = clean_text(place or actor.jurisdiction, "所属政协", max_chars=100)
            self._check_admin_scope(actor, place)
            created = self._create(
                uow, name=name, number=number, role=chosen, place=place, unit_id=unit_id, now=now
            )
            uow.commit()
        return created

    def bootstrap_admin(
        self, *, real_name: str, phone: str, jurisdiction: str | None = None
    ) -> tuple[Account, str]:
        """Create the first 系统管理员 of an empty store; returns it and its initial password, once.

        Refused (``PermissionDenied``) as soon as any account exists: from then on only a
        system admin registers accounts.
        """
        self._hasher()
        name = clean_text(real_name, "姓名", max_chars=_MAX_NAME_CHARS)
        number = normalise_phone(phone)
        place = clean_text(
            jurisdiction or self._default_rules.jurisdiction, "所属政协", max_chars=100
        )
        now = self.now()
        with self.store.unit_of_work() as uow:
            if uow.accounts.list():
                raise PermissionDenied("已有账号，须由系统管理员注册", article="第十六条")
            created = self._create(
                uow,
                name=name,
                number=number,
                role=Role.SYSTEM_ADMIN,
                place=place,
                unit_id=None,
                now=now,
            )
            uow.commit()
        return created

    # --- sign-in and sessions -------------------------------------------------------------

    def sign_in(self, phone: str, password: str, *, now: datetime | None = None) -> SignIn:
        """Sign in with mobile number and password (第十六、十七条).

        Unknown number or wrong password: ``AuthenticationFailed`` (the same for both). Each
        failure is counted; at the policy's threshold the account locks (``AccountLocked``).
        """
        instant = self._instant(now)
        hasher = self._hasher()
        if not isinstance(password, str):
            raise AuthenticationFailed()
        try:
            number = normalise_phone(phone)
        except InvalidInput:
            self._verify_dummy(password)
            raise AuthenticationFailed() from None
        with self.store.unit_of_work() as uow:
            found = uow.accounts.by_phone(number)
        if found is None or found.password_hash is None:
            self._verify_dummy(password)
            raise AuthenticationFailed()
        account = _effective(found, instant)
        _refuse_unusable(account)
        stored_hash = found.password_hash
        if not hasher.verify(stored_hash, password):
            self._refuse_after_failure(self._record_failure(found.id, instant))
        rehashed = hasher.hash(password) if hasher.needs_rehash(stored_hash) else None

        def work(uow: UnitOfWork) -> SignIn:
            stored = uow.accounts.get(found.id)
            current = _effective(stored, instant)
            _refuse_unusable(current)
            if current.password_hash != stored_hash:  # changed meanwhile: check again
                raise AuthenticationFailed()
            updated = attrs.evolve(
                current,
                failed_attempts=0,
                password_hash=rehashed or current.password_hash,
            )
            if updated != stored:
                updated = attrs.evolve(updated, version=stored.version + 1)
                uow.accounts.save(updated, stored.version)
            change_only = self._change_only(updated, instant)
            token = self._new_session(uow, updated, instant, change_only=change_only)
            return SignIn(token, None if change_only else _actor(updated), change_only)

        return self._retrying(work)

    def authenticate(self, token: str, *, now: datetime | None = None) -> Actor:
        """The actor of a live session; refreshes its idle timer.

        ``SessionExpired`` for an unknown, revoked or idle session; ``PasswordChangeRequired``
        while the session only allows changing the password.
        """
        instant = self._instant(now)
        with self.store.unit_of_work() as uow:
            session, account = self._live_session(uow, token, instant)
            if session.password_change_only:
                raise PasswordChangeRequired(
                    None if account.must_change_password else "密码已超过有效期，须先修改密码"
                )
            uow.sessions.put(attrs.evolve(session, last_seen=instant))
            uow.commit()
        return _actor(account)

    def sign_out(self, token: str) -> None:
        """End one session (nothing happens for an unknown or ended session)."""
        if not isinstance(token, str) or not token:
            return
        with self.store.unit_of_work() as uow:
            session = uow.sessions.get(hash_token(token))
            if session is None or session.revoked:
                return
            uow.sessions.put(attrs.evolve(session, revoked=True))
            uow.commit()

    def change_password(
        self,
        token: str,
        old_password: str,
        new_password: str,
        *,
        now: datetime | None = None,
    ) -> SignIn:
        """Change the password (第十六条): every session ends and a new full one is returned.

        A wrong old password counts as a failed sign-in.
        """
        instant = self._instant(now)
        hasher = self._hasher()
        with self.store.unit_of_work() as uow:
            _, found = self._live_session(uow, token, instant)
        account = _effective(found, instant)
        _refuse_unusable(account)
        policy = self.password_policy(account.jurisdiction)
        if (
            not isinstance(old_password, str)
            or found.password_hash is None
            or not hasher.verify(found.password_hash, old_password)
        ):
            self._refuse_after_failure(self._record_failure(found.id, instant))
        check_password(policy, new_password, phone=account.phone, real_name=account.real_name)
        if new_password == old_password:
            raise PasswordPolicyViolation("新密码不得与原密码相同", failures=("same_as_old",))
        new_hash = hasher.hash(new_password)

        def work(uow: UnitOfWork) -> SignIn:
            self._live_session(uow, token, instant)
            stored = uow.accounts.get(found.id)
            if stored.password_hash != found.password_hash:
                raise SessionExpired()
            current = _effective(stored, instant)
            _refuse_unusable(current)
            updated = attrs.evolve(
                current,
                version=stored.version + 1,
                password_hash=new_hash,
                must_change_password=False,
                password_changed_at=instant,
                failed_attempts=0,
            )
            uow.accounts.save(updated, stored.version)
            uow.sessions.revoke_all(updated.id)
            new_token = self._new_session(uow, updated, instant, change_only=False)
            return SignIn(new_token, _actor(updated), False)

        return self._retrying(work)

    # --- theft, unlock, departure ---------------------------------------------------------

    def report_theft(self, actor: Actor, account_id: str) -> Account:
        """Report stolen credentials (第十七条): lock the account and end all its sessions.

        The account's owner or the system admin may report; only the admin unlocks.
        """
        if actor.account_id != account_id:
            self._require_admin(actor, "代为报告账号失窃")
        with self.store.unit_of_work() as uow:
            stored = uow.accounts.get(account_id)
            if actor.account_id != account_id:
                self._check_admin_scope(actor, stored.jurisdiction)
            if stored.status is AccountStatus.DELETED:
                raise InvalidTransition("账号已删除", article="第十七条", account=account_id)
            updated = attrs.evolve(
                stored,
                version=stored.version + 1,
                status=AccountStatus.LOCKED,
                locked_until=None,
                lock_reason=_THEFT_LOCK_REASON,
            )
            uow.accounts.save(updated, stored.version)
            uow.sessions.revoke_all(account_id)
            uow.commit()
        return updated

    def unlock(self, actor: Actor, account_id: str) -> tuple[Account, str]:
        """Unlock (or reset) an account: a new random initial password, returned once.

        The old password is no longer trusted (theft) or was forgotten (lockout), so the next
        sign-in must change the new one (第十六、十七条). Existing sessions end.
        """
        self._require_admin(actor, "解锁账号或重置密码")
        hasher = self._hasher()
        with self.store.unit_of_work() as uow:
            stored = self._admin_target(uow, actor, account_id)
            if stored.status is AccountStatus.DELETED or stored.phone is None:
                raise InvalidTransition("账号已删除", article="第十七条", account=account_id)
            policy = self.password_policy(stored.jurisdiction)
            password = generate_initial_password(
                policy, phone=stored.phone, real_name=stored.real_name
            )
            updated = attrs.evolve(
                stored,
                version=stored.version + 1,
                status=AccountStatus.ACTIVE,
                password_hash=hasher.hash(password),
                must_change_password=True,
                failed_attempts=0,
                locked_until=None,
                lock_reason="",
            )
            uow.accounts.save(updated, stored.version)
            uow.sessions.revoke_all(account_id)
            uow.commit()
        return updated, password

    def depart(self, actor: Actor, account_id: str) -> Account:
        """Delete the account of someone who left (第十七条): no sign-in, credentials or bindings.

        The row stays (id and real name) so items, ratings and audit records remain attributed.
        """
        self._require_admin(actor, "删除账号")
        if actor.account_id == account_id:
            raise PermissionDenied("不得删除本人账号", article="第十七条")
        now = self.now()
        with self.store.unit_of_work() as uow:
            stored = self._admin_target(uow, actor, account_id)
            if stored.status is AccountStatus.DELETED:
                raise InvalidTransition("账号已删除", article="第十七条", account=account_id)
            updated = attrs.evolve(
                stored,
                version=stored.version + 1,
                status=AccountStatus.DELETED,
                phone=None,
                password_hash=None,
                must_change_password=False,
                failed_attempts=0,
                locked_until=None,
                lock_reason="",
                external_ids=frozenset(),
                deleted_at=now,
            )
            uow.accounts.save(updated, stored.version)
            uow.sessions.revoke_all(account_id)
            uow.commit()
        return updated

    # --- external identity (浙政钉) --------------------------------------------------------

    def _external_identity(self, provider: str, ticket: str) -> ExternalIdentity:
        source = self.identity_providers.get(provider)
        if source is None:
            raise InvalidInput(f"未配置外部登录方式：{provider}", field="provider")
        identity = source.verify(ticket)
        if identity.provider != provider or not identity.subject:
            raise AuthenticationFailed("外部身份校验失败", provider=provider)
        return identity

    def bind_external(
        self, token: str, provider: str, ticket: str, *, now: datetime | None = None
    ) -> Account:
        """Bind an external identity (浙政钉 scan) to the signed-in account (第十七条).

        One identity binds one account, and an account has one identity per provider.
        """
        instant = self._instant(now)
        with self.store.unit_of_work() as uow:
            session, _ = self._live_session(uow, token, instant)
            if session.password_change_only:
                raise PasswordChangeRequired()
        identity = self._external_identity(provider, ticket)

        def work(uow: UnitOfWork) -> Account:
            session, stored = self._live_session(uow, token, instant)
            if session.password_change_only:  # pragma: no cover - checked above
                raise PasswordChangeRequired()
            if identity in stored.external_ids:
                return stored
            holder = uow.accounts.by_external(identity.provider, identity.subject)
            if holder is not None:
                raise DuplicateAccount("该外部身份已绑定其他账号", article="第十七条")
            if any(e.provider == provider for e in stored.external_ids):
                raise DuplicateAccount("本账号已绑定该平台的其他身份", article="第十七条")
            updated = attrs.evolve(
                stored,
                version=stored.version + 1,
                external_ids=stored.external_ids | {identity},
            )
            uow.accounts.save(updated, stored.version)
            uow.sessions.put(attrs.evolve(session, last_seen=instant))
            return updated

        return self._retrying(work)

    def sign_in_external(
        self, provider: str, ticket: str, *, now: datetime | None = None
    ) -> SignIn:
        """Sign in with an external identity already bound to an account (浙政钉 scan).

        An unbound identity gets ``AuthenticationFailed``; locked and deleted accounts are
        refused as for a password sign-in.
        """
        instant = self._instant(now)
        identity = self._external_identity(provider, ticket)

        def work(uow: UnitOfWork) -> SignIn:
            found = uow.accounts.by_external(identity.provider, identity.subject)
            if found is None:
                raise AuthenticationFailed("该外部身份未绑定账号", provider=provider)
            account = _effective(found, instant)
            _refuse_unusable(account)
            change_only = self._change_only(account, instant)
            token = self._new_session(uow, account, instant, change_only=change_only)
            return SignIn(token, None if change_only else _actor(account), change_only)

        return self._retrying(work)
