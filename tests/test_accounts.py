"""Accounts and security (第十六至十九条, DESIGN §2.8)."""

from __future__ import annotations

import io
import itertools
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from qiandao import AccountView, HasherMissing, Qiandao, SignIn
from qiandao._accounts import AccountCommands
from qiandao._core import Actor
from qiandao.accounts import (
    PasswordPolicy,
    character_classes,
    check_password,
    generate_initial_password,
    hash_token,
    normalise_password,
    normalise_phone,
    password_expired,
    watermark_text,
)
from qiandao.errors import (
    AccountLocked,
    AuthenticationFailed,
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    InvalidTransition,
    JurisdictionDenied,
    NotFound,
    PasswordChangeRequired,
    PasswordPolicyViolation,
    PermissionDenied,
    QiandaoError,
    SessionExpired,
)
from qiandao.model import Account, AccountStatus, ExternalIdentity, RoleGrant, Session, Unit
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import PasswordProfile, RuleSet
from qiandao.testing import ManualClock, enrol, sample_account
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import ConsoleDelivery, Delivered, RecordingDelivery
from qiandao_adapters.memory import MemoryStore
from tests.helpers import FakeZzd

SHANGHAI = timezone(timedelta(hours=8))
START = datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)
ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, "zhoushan")
SECURITY = Actor("security-1", Role.SECURITY_ADMIN, "zhoushan")
PHONE = "13800138000"
NEW_PASSWORD = "Haidao#2026wind"
DJCP = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
ASVS = PasswordPolicy.for_profile(PasswordProfile.OWASP_ASVS)
FAST = Argon2Hasher.fast()


class _Svc(AccountCommands):
    """The account commands; new passwords go to a recording phone unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("credential_delivery", RecordingDelivery())
        super().__init__(*args, **kwargs)


def _delivered(svc: _Svc, account: Account | AccountView) -> str:
    """The last password delivered to the account's phone (never returned to the admin)."""
    assert isinstance(svc.credential_delivery, RecordingDelivery)
    return svc.credential_delivery.password_of(svc.credential_delivery.phone_of(account.id))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    enrol(store, ADMIN, SECURITY, at=START)  # the service checks every actor against its account
    return store


@pytest.fixture
def svc(store: MemoryStore, clock: ManualClock) -> _Svc:
    return _Svc(store, clock=clock, hasher=FAST, identity_providers=[FakeZzd()])


def _approve(svc: _Svc, account: AccountView) -> Account:
    """The account once the security admin approved its pending grants (三员分立)."""
    for proposal in svc.grant_proposals(SECURITY).items:
        if proposal.account_id == account.id:
            svc.approve_grant(SECURITY, proposal.id)
    return svc._read(None, lambda tx: tx.uow.accounts.get(account.id))


def _enrol(svc: _Svc, actor: Actor = ADMIN, **fields: Any) -> Account:
    """Register a content account (a proposal) and approve it: the account as it now stands."""
    return _approve(svc, svc.register(actor, **fields))


def _register(svc: _Svc, phone: str = PHONE, role: Role = Role.MEMBER) -> tuple[Account, str]:
    """A registered (and approved) account and the initial password its phone received."""
    account = _enrol(svc, real_name="张三", phone=phone, role=role)
    return account, _delivered(svc, account)


def _ready(svc: _Svc, phone: str = PHONE) -> tuple[Account, SignIn]:
    """A registered account whose initial password has been changed to NEW_PASSWORD."""
    account, initial = _register(svc, phone)
    first = svc.sign_in(phone, initial)
    return account, svc.change_password(first.token, initial, NEW_PASSWORD)


def _stored(store: MemoryStore, account_id: str) -> Account:
    with store.unit_of_work() as uow:
        return uow.accounts.get(account_id)


# --- pure rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "+86-13800138000",
        "+86 138-0013-8000",
        "0086 13800138000",
        "8613800138000",
        " 138\u30000013 8000 ",
    ],
)
def test_phone_forms_normalise(raw: str) -> None:
    assert normalise_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    ["", "1380013800", "138001380001", "12800138000", "23800138000", "+1 13800138000",
     "1380013800a", "１３８００１３８０００", "0571-88888888", None, 13800138000],
)  # fmt: skip
def test_invalid_phones_refused(raw: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(raw)
    assert caught.value.code == "input.invalid"
    assert caught.value.details["field"] == "phone"


def test_profiles_figures() -> None:
    assert (DJCP.min_length, DJCP.min_classes, DJCP.max_failed_attempts) == (8, 3, 5)
    assert (DJCP.lockout_minutes, DJCP.idle_timeout_minutes, DJCP.max_age_days) == (30, 30, 90)
    assert (ASVS.min_length, ASVS.min_classes, ASVS.max_length) == (12, 0, 128)
    assert (ASVS.max_failed_attempts, ASVS.lockout_minutes, ASVS.max_age_days) == (10, 15, None)
    assert "90" in DJCP.describe()
    with pytest.raises(ValueError):
        PasswordPolicy(PasswordProfile.OWASP_ASVS, 12, 8, 0, 10, 15, 30)


@pytest.mark.parametrize(
    ("policy", "password", "failures"),
    [
        (DJCP, "Ab1!", {"too_short"}),
        (DJCP, "abcdefgh12", {"classes"}),
        (DJCP, "Zs13800138000", {"contains_phone"}),
        (DJCP, "P@ssw0rd", {"common"}),
        (DJCP, "Tab\there1!", {"control_chars"}),
        (DJCP, "张三Ab12345", {"contains_name"}),
        (DJCP, "x" * 129, {"too_long", "classes", "common"}),
        (ASVS, "Ab1!Ab1!Ab1", {"too_short"}),
        (ASVS, "a" * 129, {"too_long", "common"}),
        (ASVS, "123456789012", {"common"}),
        # the digits of the password are compared with the number, whatever separates them
        (DJCP, "Zs138-0013-8000!", {"contains_phone"}),
        (DJCP, "Zs１３８００１３８０００!", {"contains_phone"}),  # full width: NFKC first
        # common words with digits and symbols added before or after
        (DJCP, "Password1!", {"common"}),
        (DJCP, "!!Admin@2024", {"common"}),
        (ASVS, "Password2024!!", {"common"}),
        (DJCP, "Ｐａｓｓｗｏｒｄ１!", {"common"}),  # full width is the same word
        # zero-width, bidi and control characters, lone surrogates
        (DJCP, "Hai\u200bdao#26", {"format_chars"}),
        (DJCP, "Hai\u200ddao#26", {"format_chars"}),
        (DJCP, "Hai\u202edao#26", {"format_chars"}),
        (DJCP, "Hai\u2066dao#26", {"format_chars"}),
        (DJCP, "\ufeffHaidao#26", {"format_chars"}),
        (DJCP, "Hai\u2028dao#26", {"control_chars"}),
        (DJCP, "Hai\x7fdao#26", {"control_chars"}),
        (DJCP, "Hai\ud800dao#26", {"surrogates"}),
    ],
)
def test_policy_violations(policy: PasswordPolicy, password: str, failures: set[str]) -> None:
    with pytest.raises(PasswordPolicyViolation) as caught:
        check_password(policy, password, phone=PHONE, real_name="张三")
    assert caught.value.code == "account.password_policy"
    assert set(caught.value.details["failures"]) == failures


@pytest.mark.parametrize(
    ("policy", "password"),
    [
        (DJCP, "Haidao#26"),
        (DJCP, "haidao#2026"),  # three classes suffice
        (ASVS, "correct horse battery staple"),  # no composition rules, spaces allowed
        (ASVS, "千岛议家的海风吹过东海渔场"),  # any Unicode
        (ASVS, "x1" * 32),  # 64 characters are accepted
        (DJCP, "Passage#26"),  # a common word inside another word is no common password
        (ASVS, "海风Password吹过东海渔场"),  # letters around the word
        (DJCP, "Haidao#0013800"),  # part of the number only
    ],
)
def test_policy_accepts(policy: PasswordPolicy, password: str) -> None:
    check_password(policy, password, phone=PHONE, real_name="张三")


def test_checks_apply_after_nfkc() -> None:
    # the ligature ﬁ (U+FB01) is two characters after NFKC: the length counts them
    check_password(ASVS, "ﬁ" * 6 + "sh", phone=PHONE)  # 14 characters after NFKC, 8 typed
    with pytest.raises(PasswordPolicyViolation) as caught:
        check_password(DJCP, "ｐａｓｓ１２３４", phone=PHONE)
    assert caught.value.details["failures"] == ("classes",)  # ASCII letters and digits
    assert normalise_password("Ｈａｉｄａｏ＃２６") == "Haidao#26"


@pytest.mark.parametrize("password", [None, 12345678, b"Haidao#26", ["Haidao#26"]])
def test_a_password_that_is_not_text_is_refused_with_a_code(password: object) -> None:
    with pytest.raises(PasswordPolicyViolation) as caught:
        check_password(DJCP, password)
    assert caught.value.details["failures"] == ("type",)


def test_the_same_password_differs_by_profile() -> None:
    check_password(DJCP, "Zhou#shan1", phone=PHONE, real_name="张三")
    with pytest.raises(PasswordPolicyViolation):
        check_password(ASVS, "Zhou#shan1", phone=PHONE, real_name="张三")
    check_password(ASVS, "zhoushanfishingport", phone=PHONE, real_name="张三")
    with pytest.raises(PasswordPolicyViolation):
        check_password(DJCP, "zhoushanfishingport", phone=PHONE, real_name="张三")


@pytest.mark.parametrize("policy", [DJCP, ASVS])
def test_generated_passwords_meet_the_policy(policy: PasswordPolicy) -> None:
    seen = set()
    for _ in range(50):
        password = generate_initial_password(policy, phone=PHONE, real_name="张三")
        check_password(policy, password, phone=PHONE, real_name="张三")
        assert len(character_classes(password)) == 4
        seen.add(password)
    assert len(seen) == 50


def test_password_expiry() -> None:
    assert not password_expired(DJCP, START, START + timedelta(days=89))
    assert password_expired(DJCP, START, START + timedelta(days=90))
    assert not password_expired(ASVS, START, START + timedelta(days=3650))
    assert not password_expired(DJCP, None, START)


def test_watermark_text() -> None:
    account = Account(
        "a1", 1, "张三", (RoleGrant(Role.MEMBER, "zhoushan"),), "zhoushan", START, phone=PHONE
    )
    assert watermark_text(account, START) == "张三 8000 2026-11-26 10:00"
    assert watermark_text(account, datetime(2026, 11, 26, 2, tzinfo=UTC)).endswith("10:00")


def test_watermark_names_the_verified_actor_and_the_time(svc: _Svc, clock: ManualClock) -> None:
    account, signed = _ready(svc)
    assert signed.actor is not None
    clock.advance(minutes=7)
    assert svc.watermark(signed.actor) == watermark_text(account, clock.now())
    assert svc.watermark(signed.actor).startswith("张三 8000 ")
    # a forged actor (another role, or an account that is not there) gets no watermark
    with pytest.raises(QiandaoError) as refused:
        svc.watermark(Actor(account.id, Role.EDITOR, "zhoushan"))
    assert refused.value.code == "account.actor_refused"
    with pytest.raises(QiandaoError) as unknown:
        svc.watermark(Actor("ghost", Role.MEMBER, "zhoushan"))
    assert unknown.value.code == "account.actor_refused"


# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["138 0013 8000", "+86-13800138000"])
def test_register_normalises_phone(svc: _Svc, store: MemoryStore, phone: str) -> None:
    account = _enrol(svc, real_name=" 张三 ", phone=phone, role="member")
    initial = _delivered(svc, account)
    assert account.phone == PHONE
    assert account.real_name == "张三"
    assert account.grants == (RoleGrant(Role.MEMBER, "zhoushan"),)
    assert account.jurisdiction == "zhoushan"
    assert account.must_change_password
    stored = _stored(store, account.id)
    assert stored.password_hash is not None
    assert initial not in stored.password_hash
    assert FAST.verify(stored.password_hash, initial)
    check_password(DJCP, initial, phone=PHONE, real_name="张三")


def test_register_refuses_bad_phone_duplicates_and_non_admins(svc: _Svc) -> None:
    with pytest.raises(InvalidInput) as bad:
        svc.register(ADMIN, real_name="张三", phone="1234", role=Role.MEMBER)
    assert bad.value.code == "input.invalid"
    _register(svc)
    with pytest.raises(DuplicateAccount) as dup:
        svc.register(ADMIN, real_name="李四", phone="+86 138 0013 8000", role=Role.MEMBER)
    assert dup.value.code == "account.duplicate"
    for role in (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.EDITOR, Role.MEMBER):
        with pytest.raises(PermissionDenied) as denied:
            svc.register(
                Actor("x", role, "zhoushan"), real_name="王五", phone="13900139000", role="member"
            )
        assert denied.value.code == "permission.denied"


def test_unit_accounts_need_an_existing_unit(svc: _Svc, store: MemoryStore) -> None:
    with store.unit_of_work() as uow:
        uow.units.add(Unit("u-1", "定海区交通运输局", "dinghai"))
        uow.units.add(Unit("u-old", "已撤并单位", "zhoushan", active=False))
        uow.commit()
    with pytest.raises(InvalidInput):
        _register(svc, role=Role.HANDLING_UNIT)
    with pytest.raises(NotFound):
        svc.register(ADMIN, real_name="交通局", phone=PHONE, role="handling_unit", unit_id="u-9")
    with pytest.raises(InvalidInput):
        svc.register(ADMIN, real_name="撤并", phone=PHONE, role="handling_unit", unit_id="u-old")
    with pytest.raises(InvalidInput):
        svc.register(ADMIN, real_name="委员", phone=PHONE, role="member", unit_id="u-1")
    account = _enrol(svc, real_name="交通局", phone=PHONE, role=Role.HANDLING_UNIT, unit_id="u-1")
    assert account.grants == (RoleGrant(Role.HANDLING_UNIT, "dinghai", "u-1"),)
    assert account.jurisdiction == "dinghai"


def test_county_admin_registers_only_in_its_county(svc: _Svc, store: MemoryStore) -> None:
    county = Actor("admin-dh", Role.SYSTEM_ADMIN, "dinghai")
    enrol(store, county, at=START)
    account = svc.register(county, real_name="赵六", phone=PHONE, role="member")
    assert account.jurisdiction == "dinghai"
    with pytest.raises(JurisdictionDenied):
        svc.register(
            county, real_name="钱七", phone="13900139000", role="member", jurisdiction="putuo"
        )
    city = svc.register(
        ADMIN, real_name="孙八", phone="13900139000", role="member", jurisdiction="putuo"
    )
    assert city.jurisdiction == "putuo"


def test_bootstrap_admin_only_on_an_empty_store(clock: ManualClock) -> None:
    svc = _Svc(MemoryStore(), clock=clock, hasher=FAST)
    admin, initial = svc.bootstrap_admin(real_name="系统管理员", phone="13700137000")
    assert admin.grants == (RoleGrant(Role.SYSTEM_ADMIN, "zhoushan"),)
    first = svc.sign_in("13700137000", initial)
    assert first.must_change_password
    with pytest.raises(PermissionDenied):
        svc.bootstrap_admin(real_name="另一人", phone="13600136000")


def test_a_service_without_a_hasher_choice_is_refused_at_construction(
    store: MemoryStore, clock: ManualClock
) -> None:
    for service in (_Svc, Qiandao):
        with pytest.raises(HasherMissing) as caught:
            service(store, clock=clock)
        assert caught.value.code == "account.hasher_missing"
        assert caught.value.details["field"] == "hasher"


def test_with_hasher_none_passwords_are_refused(store: MemoryStore, clock: ManualClock) -> None:
    svc = _Svc(store, clock=clock, hasher=None)
    with pytest.raises(HasherMissing) as caught:
        _register(svc)
    assert isinstance(caught.value, QiandaoError)


# --- sign-in, first change, sessions ------------------------------------------------------


def test_first_sign_in_forces_password_change(svc: _Svc, store: MemoryStore) -> None:
    account, initial = _register(svc)
    first = svc.sign_in("138-0013-8000", initial)
    assert first.must_change_password
    assert first.actor is None  # nothing may be done before the change (第十六条)
    assert first.token not in repr(first)
    with pytest.raises(PasswordChangeRequired) as caught:
        svc.authenticate(first.token)
    assert caught.value.code == "account.password_change_required"
    with pytest.raises(PasswordChangeRequired):
        svc.bind_external(first.token, "zzd", "ok:u1")

    changed = svc.change_password(first.token, initial, NEW_PASSWORD)
    assert not changed.must_change_password
    assert svc.authenticate(changed.token) == Actor(account.id, Role.MEMBER, "zhoushan")
    with pytest.raises(SessionExpired):  # the change-only session ended with the change
        svc.authenticate(first.token)
    stored = _stored(store, account.id)
    assert not stored.must_change_password
    assert stored.password_changed_at == START
    again = svc.sign_in(PHONE, NEW_PASSWORD)
    assert not again.must_change_password
    assert svc.authenticate(again.token).account_id == account.id


def test_only_the_token_hash_is_stored(svc: _Svc, store: MemoryStore) -> None:
    _, signed = _ready(svc)
    with store.unit_of_work() as uow:
        session = uow.sessions.get(hash_token(signed.token))
        assert session is not None
        assert uow.sessions.get(signed.token) is None
    assert session.token_hash != signed.token


def test_unknown_phone_and_wrong_password_get_the_same_error(svc: _Svc) -> None:
    _ready(svc)
    errors = []
    for phone, password in [("13900139000", NEW_PASSWORD), (PHONE, "Wrong#pass1"), ("x", "y")]:
        with pytest.raises(AuthenticationFailed) as caught:
            svc.sign_in(phone, password)
        errors.append((caught.value.code, caught.value.message, dict(caught.value.details)))
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][0] == "account.auth_failed"


@pytest.mark.parametrize(
    ("profile", "new_password", "failures"),
    [
        (PasswordProfile.DJCP_LEVEL3, "haidao2026", {"classes"}),
        (PasswordProfile.DJCP_LEVEL3, "Hd#1", {"too_short"}),
        (PasswordProfile.DJCP_LEVEL3, "Me#13800138000", {"contains_phone"}),
        (PasswordProfile.OWASP_ASVS, "Haidao#2026", {"too_short"}),
        (PasswordProfile.OWASP_ASVS, "a" * 129, {"too_long", "common"}),
    ],
)
def test_change_password_enforces_the_profile(
    store: MemoryStore,
    clock: ManualClock,
    profile: PasswordProfile,
    new_password: str,
    failures: set[str],
) -> None:
    rules = RuleSet.zhoushan().with_overrides({"accounts": {"password_profile": profile.value}})
    svc = _Svc(store, clock=clock, hasher=FAST, rules=rules)
    account, initial = _register(svc)
    first = svc.sign_in(PHONE, initial)
    before = _stored(store, account.id)
    with pytest.raises(PasswordPolicyViolation) as caught:
        svc.change_password(first.token, initial, new_password)
    assert caught.value.code == "account.password_policy"
    assert set(caught.value.details["failures"]) == failures
    assert _stored(store, account.id) == before  # a refused command changes nothing
    with pytest.raises(PasswordPolicyViolation):
        svc.change_password(first.token, initial, initial)
    assert svc.change_password(first.token, initial, "a long and calm sea breeze!9")


def test_change_password_with_wrong_old_password(svc: _Svc, store: MemoryStore) -> None:
    account, initial = _register(svc)
    first = svc.sign_in(PHONE, initial)
    with pytest.raises(AuthenticationFailed):
        svc.change_password(first.token, "Not#theold1", NEW_PASSWORD)
    assert _stored(store, account.id).failed_attempts == 1
    assert svc.change_password(first.token, initial, NEW_PASSWORD).token


def test_change_password_revokes_every_session(svc: _Svc) -> None:
    _, first = _ready(svc)
    other = svc.sign_in(PHONE, NEW_PASSWORD)
    rotated = svc.change_password(other.token, NEW_PASSWORD, "Another#Pass9")
    for token in (first.token, other.token):
        with pytest.raises(SessionExpired):
            svc.authenticate(token)
    assert svc.authenticate(rotated.token) == first.actor


def test_idle_timeout_and_activity(svc: _Svc, clock: ManualClock) -> None:
    _, signed = _ready(svc)
    clock.advance(minutes=29)
    svc.authenticate(signed.token)  # activity refreshes the idle timer
    clock.advance(minutes=29)
    svc.authenticate(signed.token)
    clock.advance(minutes=31)
    with pytest.raises(SessionExpired) as caught:
        svc.authenticate(signed.token)
    assert caught.value.code == "account.session_expired"
    with pytest.raises(SessionExpired):
        svc.authenticate("no-such-token")


def test_a_session_ends_after_its_absolute_lifetime_however_busy(
    svc: _Svc, clock: ManualClock
) -> None:
    _, signed = _ready(svc)
    for _ in range(12 * 3 - 1):  # every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        svc.authenticate(signed.token)
    clock.advance(minutes=20)  # 12 hours after sign-in
    with pytest.raises(SessionExpired) as caught:
        svc.authenticate(signed.token)
    assert caught.value.details["lifetime"] is True


def test_the_lifetime_is_set_per_profile() -> None:
    assert DJCP.session_lifetime_hours == ASVS.session_lifetime_hours == 12
    assert DJCP.session_lifetime == timedelta(hours=12)
    assert attrs.evolve(DJCP, session_lifetime_hours=8).session_lifetime == timedelta(hours=8)
    with pytest.raises(ValueError):
        attrs.evolve(DJCP, session_lifetime_hours=0)


def _session_of(store: MemoryStore, token: str) -> Session:
    with store.unit_of_work() as uow:
        session = uow.sessions.get(hash_token(token))
    assert session is not None
    return session


def test_authenticate_writes_last_seen_at_most_once_a_minute(
    svc: _Svc, store: MemoryStore, clock: ManualClock
) -> None:
    _, signed = _ready(svc)
    signed_at = clock.now()
    for _ in range(5):
        clock.advance(seconds=11)
        svc.authenticate(signed.token)  # page views within the minute write nothing
        assert _session_of(store, signed.token).last_seen == signed_at
    clock.advance(seconds=5)  # 60 s after the last write
    svc.authenticate(signed.token)
    seen = _session_of(store, signed.token)
    assert seen.last_seen == clock.now()
    assert seen.expires_at == clock.now() + DJCP.idle_timeout


def test_the_idle_timeout_is_exact_to_the_minute(
    svc: _Svc, store: MemoryStore, clock: ManualClock
) -> None:
    _, signed = _ready(svc)
    clock.advance(seconds=59)
    svc.authenticate(signed.token)  # not written: 59 s after the last write
    clock.advance(minutes=29, seconds=1)  # 30 min after the last write, 29 min 1 s after use
    svc.authenticate(signed.token)  # still live (written now)
    clock.advance(minutes=30, seconds=1)
    with pytest.raises(SessionExpired) as caught:
        svc.authenticate(signed.token)
    assert caught.value.details["idle"] is True


def test_a_password_past_its_age_stops_an_open_session(svc: _Svc, clock: ManualClock) -> None:
    _ready(svc)
    clock.advance(days=90, minutes=-10)
    signed = svc.sign_in(PHONE, NEW_PASSWORD)
    assert not signed.must_change_password
    assert svc.authenticate(signed.token) == signed.actor
    clock.advance(minutes=20)  # the password is now 90 days old
    with pytest.raises(PasswordChangeRequired) as caught:
        svc.authenticate(signed.token)
    assert caught.value.code == "account.password_change_required"
    fresh = svc.change_password(signed.token, NEW_PASSWORD, "Spring#Tide2027")
    assert svc.authenticate(fresh.token) == signed.actor


def test_the_last_five_passwords_are_refused_only_their_hashes_kept(
    svc: _Svc, store: MemoryStore
) -> None:
    account, signed = _ready(svc)
    used = [NEW_PASSWORD, "Spring#Tide27", "Autumn#Tide28", "Winter#Tide29", "Summer#Tide30"]
    token = signed.token
    for old, new in itertools.pairwise(used):
        token = svc.change_password(token, old, new).token
    stored = _stored(store, account.id)
    assert len(stored.password_history) == 4
    assert not {*used} & {stored.password_hash, *stored.password_history}
    for reused in used[:-1]:
        with pytest.raises(PasswordPolicyViolation) as caught:
            svc.change_password(token, used[-1], reused)
        assert caught.value.details["failures"] == ("reused",)
    assert _stored(store, account.id) == stored  # a refusal changes nothing
    token = svc.change_password(token, used[-1], "Harbour#Light31").token
    # the first password is now six passwords ago
    token = svc.change_password(token, "Harbour#Light31", NEW_PASSWORD).token
    assert svc.authenticate(token) == signed.actor


def test_an_unlock_keeps_the_stolen_password_in_the_history(svc: _Svc) -> None:
    account, _ = _ready(svc)
    svc.report_theft(ADMIN, account.id)
    initial = _delivered(svc, svc.unlock(ADMIN, account.id))
    first = svc.sign_in(PHONE, initial)
    with pytest.raises(PasswordPolicyViolation) as caught:
        svc.change_password(first.token, initial, NEW_PASSWORD)
    assert caught.value.details["failures"] == ("reused",)


def test_passwords_are_normalised_before_hashing_and_verifying(svc: _Svc) -> None:
    _, initial = _register(svc)
    first = svc.sign_in(PHONE, initial)
    svc.change_password(first.token, initial, "Ｈａｉｄａｏ＃２０２６ｗｉｎｄ")
    assert svc.sign_in(PHONE, "Haidao#2026wind").actor is not None
    assert svc.sign_in(PHONE, "Ｈａｉｄａｏ#2026wind").actor is not None


def test_a_password_set_before_normalisation_still_signs_in_and_is_rehashed(
    svc: _Svc, store: MemoryStore
) -> None:
    account, _ = _ready(svc)
    typed = "Ｈａｉｄａｏ＃２０２６ｗｉｎｄ"
    with store.unit_of_work() as uow:  # as an older version stored it: hashed as typed
        before = uow.accounts.get(account.id)
        legacy = attrs.evolve(before, version=before.version + 1, password_hash=FAST.hash(typed))
        uow.accounts.save(legacy, before.version)
        uow.commit()
    assert svc.sign_in(PHONE, typed).actor is not None
    assert FAST.verify(_stored(store, account.id).password_hash or "", "Haidao#2026wind")
    assert svc.sign_in(PHONE, "Haidao#2026wind").actor is not None


@pytest.mark.parametrize("bad", ["\ud800", "Haidao\udfff#26", None, 42, ["x"], {"a": 1}])
def test_passwords_and_tokens_that_are_not_text_are_refused_with_a_code(
    svc: _Svc, store: MemoryStore, bad: Any
) -> None:
    account, signed = _ready(svc)
    stored = _stored(store, account.id)
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, bad)
    with pytest.raises(SessionExpired):
        svc.authenticate(bad)
    with pytest.raises(PasswordPolicyViolation) as caught:
        svc.change_password(signed.token, NEW_PASSWORD, bad)
    assert caught.value.code == "account.password_policy"
    with pytest.raises(AuthenticationFailed):
        svc.change_password(signed.token, bad, "Spring#Tide2027")
    assert _stored(store, account.id).password_hash == stored.password_hash


def test_sign_out(svc: _Svc) -> None:
    _, signed = _ready(svc)
    svc.sign_out(signed.token)
    svc.sign_out(signed.token)
    svc.sign_out("unknown")
    with pytest.raises(SessionExpired):
        svc.authenticate(signed.token)


def test_periodic_change_under_djcp(svc: _Svc, clock: ManualClock) -> None:
    _ready(svc)
    clock.advance(days=90)
    expired = svc.sign_in(PHONE, NEW_PASSWORD)
    assert expired.must_change_password
    with pytest.raises(PasswordChangeRequired):
        svc.authenticate(expired.token)
    fresh = svc.change_password(expired.token, NEW_PASSWORD, "Spring#Tide2027")
    assert svc.authenticate(fresh.token) == fresh.actor
    assert fresh.actor is not None


def test_no_periodic_change_under_asvs(store: MemoryStore, clock: ManualClock) -> None:
    rules = RuleSet.zhoushan().with_overrides({"accounts": {"password_profile": "owasp_asvs"}})
    svc = _Svc(store, clock=clock, hasher=FAST, rules=rules)
    _, initial = _register(svc)
    first = svc.sign_in(PHONE, initial)
    svc.change_password(first.token, initial, "a long and calm sea breeze")
    clock.advance(days=400)
    assert not svc.sign_in(PHONE, "a long and calm sea breeze").must_change_password


# --- lockout ------------------------------------------------------------------------------


def test_lockout_after_failures_and_release(
    svc: _Svc, store: MemoryStore, clock: ManualClock
) -> None:
    account, _ = _ready(svc)
    for _ in range(DJCP.max_failed_attempts - 1):
        with pytest.raises(AuthenticationFailed):
            svc.sign_in(PHONE, "Wrong#pass1")
    assert _stored(store, account.id).failed_attempts == DJCP.max_failed_attempts - 1
    with pytest.raises(AuthenticationFailed) as caught:  # the lock is not revealed to a guess
        svc.sign_in(PHONE, "Wrong#pass1")
    assert caught.value.code == "account.auth_failed"
    locked = _stored(store, account.id)
    assert locked.status is AccountStatus.LOCKED
    assert locked.locked_until == START + timedelta(minutes=30)
    with pytest.raises(AuthenticationFailed) as caught:  # even the right one is not checked
        svc.sign_in(PHONE, NEW_PASSWORD)
    assert caught.value.code == "account.auth_failed"
    clock.advance(minutes=29)
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, NEW_PASSWORD)
    assert _stored(store, account.id) == locked  # guesses while locked change nothing
    clock.advance(minutes=1)
    signed = svc.sign_in(PHONE, NEW_PASSWORD)
    assert svc.authenticate(signed.token).account_id == account.id
    released = _stored(store, account.id)
    assert (released.status, released.failed_attempts, released.locked_until) == (
        AccountStatus.ACTIVE,
        0,
        None,
    )


def test_a_run_out_lock_starts_counting_afresh(
    svc: _Svc, store: MemoryStore, clock: ManualClock
) -> None:
    account, _ = _ready(svc)
    for _ in range(DJCP.max_failed_attempts):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            svc.sign_in(PHONE, "Wrong#pass1")
    clock.advance(minutes=31)
    with pytest.raises(AuthenticationFailed) as caught:
        svc.sign_in(PHONE, "Wrong#pass1")
    assert not isinstance(caught.value, AccountLocked)
    assert _stored(store, account.id).failed_attempts == 1


def test_asvs_lockout_figures(store: MemoryStore, clock: ManualClock) -> None:
    rules = RuleSet.zhoushan().with_overrides({"accounts": {"password_profile": "owasp_asvs"}})
    svc = _Svc(store, clock=clock, hasher=FAST, rules=rules)
    account, _ = _register(svc)
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            svc.sign_in(PHONE, "wrong password")
    assert _stored(store, account.id).status is AccountStatus.LOCKED
    clock.advance(minutes=15)
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, "wrong password")


class _FlakyStore:
    """A MemoryStore whose next ``conflicts`` commits fail as if someone else wrote first."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.conflicts = 0

    def unit_of_work(self) -> Any:
        uow = self.inner.unit_of_work()
        commit = uow.commit

        def flaky_commit() -> None:
            if self.conflicts:
                self.conflicts -= 1
                raise ConcurrencyConflict()
            commit()

        uow.commit = flaky_commit  # type: ignore[method-assign]
        return uow


def test_failures_are_counted_despite_concurrent_writes(
    store: MemoryStore, clock: ManualClock
) -> None:
    flaky = _FlakyStore(store)
    svc = _Svc(flaky, clock=clock, hasher=FAST)
    account, _ = _register(svc)
    flaky.conflicts = 2
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, "Wrong#pass1")
    assert _stored(store, account.id).failed_attempts == 1
    flaky.conflicts = 99
    with pytest.raises(ConcurrencyConflict):
        svc.sign_in(PHONE, "Wrong#pass1")


def test_success_resets_the_failure_count(svc: _Svc, store: MemoryStore) -> None:
    account, _ = _ready(svc)
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            svc.sign_in(PHONE, "Wrong#pass1")
    svc.sign_in(PHONE, NEW_PASSWORD)
    assert _stored(store, account.id).failed_attempts == 0


def test_a_lockout_leaves_live_sessions_alone(svc: _Svc) -> None:
    _, signed = _ready(svc)
    for _ in range(DJCP.max_failed_attempts):
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            svc.sign_in(PHONE, "Wrong#pass1")
    assert svc.authenticate(signed.token) == signed.actor


# --- theft, unlock, departure -------------------------------------------------------------


def test_theft_report_locks_and_revokes(svc: _Svc, store: MemoryStore, clock: ManualClock) -> None:
    account, signed = _ready(svc)
    other = svc.sign_in(PHONE, NEW_PASSWORD)
    assert signed.actor is not None
    locked = svc.report_theft(signed.actor, account.id)
    assert locked.status is AccountStatus.LOCKED
    assert locked.locked_until is None
    assert "失窃" in locked.lock_reason
    for token in (signed.token, other.token):
        with pytest.raises(SessionExpired):
            svc.authenticate(token)
    clock.advance(days=2)  # does not run out
    with pytest.raises(AccountLocked):
        svc.sign_in(PHONE, NEW_PASSWORD)

    unlocked = svc.unlock(ADMIN, account.id)
    initial = _delivered(svc, unlocked)
    assert unlocked.status is AccountStatus.ACTIVE
    assert unlocked.must_change_password
    with pytest.raises(AuthenticationFailed):  # the stolen password is dead
        svc.sign_in(PHONE, NEW_PASSWORD)
    assert svc.sign_in(PHONE, initial).must_change_password


def test_theft_report_permissions(svc: _Svc) -> None:
    account, _ = _register(svc)
    other, _ = _register(svc, phone="13900139000")
    stranger = Actor(other.id, Role.MEMBER, "zhoushan")
    with pytest.raises(PermissionDenied):
        svc.report_theft(stranger, account.id)
    with pytest.raises(PermissionDenied):
        svc.report_theft(SECURITY, account.id)  # a member's manager is the system admin
    assert svc.report_theft(ADMIN, account.id).status is AccountStatus.LOCKED
    with pytest.raises(PermissionDenied):
        svc.unlock(stranger, account.id)


def test_departure_keeps_the_row_without_credentials(
    svc: _Svc, store: MemoryStore, clock: ManualClock
) -> None:
    account, signed = _ready(svc)
    svc.bind_external(signed.token, "zzd", "ok:zhangsan")
    clock.advance(days=1)
    gone = svc.depart(ADMIN, account.id)
    assert gone.status is AccountStatus.DELETED
    assert (gone.phone, gone.external_ids) == (None, frozenset())
    assert _stored(store, account.id).password_hash is None
    assert gone.deleted_at == START + timedelta(days=1)
    stored = _stored(store, account.id)
    assert (stored.id, stored.real_name) == (account.id, "张三")  # attribution stays
    with pytest.raises(SessionExpired):
        svc.authenticate(signed.token)
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        svc.sign_in_external("zzd", "ok:zhangsan")
    with pytest.raises(InvalidTransition):
        svc.depart(ADMIN, account.id)
    with pytest.raises(InvalidTransition):
        svc.unlock(ADMIN, account.id)
    with pytest.raises(InvalidTransition):
        svc.report_theft(ADMIN, account.id)
    # The number is free again for a successor.
    successor, _ = _register(svc)
    assert successor.id != account.id


def test_departure_permissions(svc: _Svc, store: MemoryStore) -> None:
    account, _ = _register(svc)
    auditor = Actor("aud", Role.AUDIT_ADMIN, "zhoushan")
    county = Actor("adm-ps", Role.SYSTEM_ADMIN, "putuo")
    enrol(store, auditor, county, at=START)
    with pytest.raises(PermissionDenied):
        svc.depart(auditor, account.id)
    with pytest.raises(JurisdictionDenied):
        svc.depart(county, account.id)
    with pytest.raises(PermissionDenied):
        svc.depart(ADMIN, ADMIN.account_id)


# --- rehash -------------------------------------------------------------------------------


def test_rehash_on_sign_in_when_parameters_change(store: MemoryStore, clock: ManualClock) -> None:
    old = Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1)
    new = Argon2Hasher(time_cost=2, memory_cost=128, parallelism=1)
    account, _ = _ready(_Svc(store, clock=clock, hasher=old))
    before = _stored(store, account.id)
    assert before.password_hash is not None
    assert "m=64,t=1" in before.password_hash
    assert new.needs_rehash(before.password_hash)

    _Svc(store, clock=clock, hasher=new).sign_in(PHONE, NEW_PASSWORD)
    after = _stored(store, account.id)
    assert after.password_hash is not None
    assert "m=128,t=2" in after.password_hash
    assert after.version == before.version + 2  # the guess counted, then the sign-in
    assert not new.needs_rehash(after.password_hash)
    assert new.verify(after.password_hash, NEW_PASSWORD)

    _Svc(store, clock=clock, hasher=new).sign_in(PHONE, NEW_PASSWORD)
    again = _stored(store, account.id)
    assert again.password_hash == after.password_hash  # nothing left to rehash
    assert again.version == after.version + 2  # only the guess counted and forgiven


def test_argon2_hasher() -> None:
    hashed = FAST.hash("秘密 pass")
    assert hashed.startswith("$argon2id$")
    assert FAST.verify(hashed, "秘密 pass")
    assert not FAST.verify(hashed, "秘密 pasS")
    assert not FAST.verify("not a hash", "x")
    assert not FAST.needs_rehash(hashed)
    assert FAST.needs_rehash("not a hash")
    assert "memory_cost=64" in repr(FAST)
    default = Argon2Hasher()
    assert (default.time_cost, default.memory_cost, default.parallelism) == (3, 65536, 4)


# --- external identity --------------------------------------------------------------------


def test_external_binding_and_sign_in(svc: _Svc, store: MemoryStore) -> None:
    account, signed = _ready(svc)
    bound = svc.bind_external(signed.token, "zzd", "ok:zs-001")
    assert bound.external_ids == frozenset({ExternalIdentity("zzd", "zs-001")})
    assert svc.bind_external(signed.token, "zzd", "ok:zs-001") == bound  # idempotent

    scanned = svc.sign_in_external("zzd", "ok:zs-001")
    assert scanned.actor == signed.actor
    assert not scanned.must_change_password
    assert svc.authenticate(scanned.token) == signed.actor

    with pytest.raises(AuthenticationFailed):
        svc.sign_in_external("zzd", "ok:nobody")
    with pytest.raises(AuthenticationFailed):
        svc.sign_in_external("zzd", "forged")
    with pytest.raises(InvalidInput):
        svc.sign_in_external("wechat", "ok:zs-001")
    with pytest.raises(DuplicateAccount):  # one identity per provider per account
        svc.bind_external(signed.token, "zzd", "ok:zs-002")

    _, other = _ready(svc, phone="13900139000")
    with pytest.raises(DuplicateAccount):  # one account per identity
        svc.bind_external(other.token, "zzd", "ok:zs-001")

    for _ in range(5):  # a lockout after failures keeps the binding, and refuses it
        with pytest.raises((AuthenticationFailed, AccountLocked)):
            svc.sign_in(PHONE, "wrong-password")
    with pytest.raises(AccountLocked):
        svc.sign_in_external("zzd", "ok:zs-001")
    # A lockout after failed guesses stops new sign-ins only: the owner, still signed in, may
    # act (a stranger's guesses must not lock them out), and reports the theft, which ends
    # the sessions and removes the binding.
    svc.report_theft(signed.actor, account.id)
    with pytest.raises(QiandaoError) as refused:  # theft-locked: the old actor is refused
        svc.report_theft(signed.actor, account.id)
    assert refused.value.code == "account.actor_refused"
    assert _stored(store, account.id).external_ids == frozenset()
    with pytest.raises(AuthenticationFailed):
        svc.sign_in_external("zzd", "ok:zs-001")


class _NaiveClock:
    """A misconfigured clock: its instants carry no time zone."""

    def now(self) -> datetime:
        return datetime(2026, 11, 26, 10)


def test_the_clock_is_the_only_time_and_must_be_aware(svc: _Svc, store: MemoryStore) -> None:
    _, initial = _register(svc)
    naive = _Svc(store, clock=_NaiveClock(), hasher=FAST)
    with pytest.raises(InvalidInput) as caught:
        naive.sign_in(PHONE, initial)
    assert caught.value.details["field"] == "clock"


class _CountingHasher:
    """The fast hasher, recording each verification and the parameters of the hash it checked."""

    def __init__(self) -> None:
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        return FAST.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash.rsplit("$", 2)[0])  # algorithm and cost, not the salt
        return FAST.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return FAST.needs_rehash(password_hash)


@pytest.mark.parametrize(
    "phone",
    [
        "13900000000",  # a well-formed number nobody has
        "12345",  # not a mainland mobile number at all
        "+86 138 0013 8000",  # the real account, written another way: a wrong password
    ],
)
def test_a_refused_sign_in_costs_one_real_verification_whoever_asks(
    store: MemoryStore, clock: ManualClock, phone: str
) -> None:
    """Unknown and malformed numbers cost the same hashing work as a wrong password (第十九条),
    so the time a refusal takes does not reveal which numbers have accounts."""
    hasher = _CountingHasher()
    svc = _Svc(store, clock=clock, hasher=hasher)
    _ready(svc)
    hasher.verified.clear()
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(PHONE, "wrong-password-1")
    (real,) = hasher.verified
    hasher.verified.clear()
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(phone, "wrong-password-2")
    assert hasher.verified == [real]  # one verification, of a hash with the same parameters


def test_the_console_delivery_prints_the_message_for_the_phone(svc: _Svc) -> None:
    stream = io.StringIO()
    svc.credential_delivery = ConsoleDelivery(stream)
    account = _enrol(svc, real_name="张三", phone=PHONE, role="member")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith(f"【短信 → {PHONE}】张三您好，您的初始密码为 ")
    password = line.split("初始密码为 ")[1].split("，")[0]
    assert svc.sign_in(PHONE, password).must_change_password
    assert password not in repr(account)


def test_the_recording_delivery_fails_when_told_to() -> None:
    phones = RecordingDelivery()
    account = sample_account("acc-1")
    phones.fail_next(1)
    with pytest.raises(ConnectionError):
        phones.deliver(account, PHONE, "pw-1")
    phones.deliver(account, PHONE, "pw-2")
    assert phones.sent == [Delivered("acc-1", PHONE, "pw-2")]
    assert phones.password_of(PHONE) == "pw-2"
    with pytest.raises(KeyError):
        phones.password_of("13900139000")
    with pytest.raises(ValueError):
        phones.fail_next(-1)


# --- no enumeration oracle: unknown, locked and active answer a wrong password alike ------------

LOCKED_PHONE = "13900139001"  # locked after failures
STOLEN_PHONE = "13900139002"  # locked by a theft report
UNKNOWN_PHONE = "13900139009"


def _three_accounts(svc: _Svc) -> tuple[Account, Account]:
    """PHONE active; LOCKED_PHONE locked after failures; STOLEN_PHONE theft-locked."""
    _ready(svc)
    locked, _ = _ready(svc, LOCKED_PHONE)
    for _ in range(DJCP.max_failed_attempts):
        with pytest.raises(AuthenticationFailed):
            svc.sign_in(LOCKED_PHONE, "Wrong#pass1")
    stolen, _ = _ready(svc, STOLEN_PHONE)
    svc.report_theft(ADMIN, stolen.id)
    return locked, stolen


def test_a_locked_account_answers_a_wrong_password_like_an_unknown_number(
    store: MemoryStore, clock: ManualClock
) -> None:
    """Same error, same details, one verification of a hash with the same parameters, nothing
    changed: a guess cannot tell an unknown, a locked and an active account apart (第十九条)."""
    hasher = _CountingHasher()
    svc = _Svc(store, clock=clock, hasher=hasher)
    locked, stolen = _three_accounts(svc)
    assert _stored(store, locked.id).status is AccountStatus.LOCKED
    before = {a.id: _stored(store, a.id) for a in (locked, stolen)}
    real = (_stored(store, locked.id).password_hash or "").rsplit("$", 2)[0]
    answers = []
    for phone in (UNKNOWN_PHONE, PHONE, LOCKED_PHONE, STOLEN_PHONE):
        hasher.verified.clear()
        with pytest.raises(AuthenticationFailed) as caught:
            svc.sign_in(phone, "Wrong#guess9")
        answers.append((caught.value.code, caught.value.message, dict(caught.value.details)))
        assert hasher.verified == [real], phone  # one verification, of the same parameters
    assert answers == [answers[0]] * 4
    assert answers[0][0] == "account.auth_failed"
    assert {a.id: _stored(store, a.id) for a in (locked, stolen)} == before


def test_the_lock_is_revealed_only_after_the_right_password(
    store: MemoryStore, clock: ManualClock
) -> None:
    """A theft lock is told to the right password only (its password is replaced at unlock).
    A lock after failures is not even told then: checking the right password while locked
    would let guessing go on through the lock, so it is refused alike until the lock runs
    out."""
    hasher = _CountingHasher()
    svc = _Svc(store, clock=clock, hasher=hasher)
    _three_accounts(svc)
    with pytest.raises(AccountLocked) as caught:
        svc.sign_in(STOLEN_PHONE, NEW_PASSWORD)
    assert caught.value.code == "account.locked"
    assert caught.value.details["reason"]
    with pytest.raises(AuthenticationFailed):
        svc.sign_in(LOCKED_PHONE, NEW_PASSWORD)
    clock.advance(minutes=DJCP.lockout_minutes)
    assert svc.sign_in(LOCKED_PHONE, NEW_PASSWORD).actor is not None


def test_refusals_take_the_same_time_whoever_is_asked(
    store: MemoryStore, clock: ManualClock
) -> None:
    """Timed: the fastest refusal of a locked account, theft-locked account and active account
    lies within a third of an unknown number's (locked accounts once answered in ~1 ms, unknown
    numbers in a full hash). The fastest of fifteen is what the work costs; a median moves with
    whatever else the machine runs (the suite runs on several workers)."""
    hasher = Argon2Hasher(time_cost=2, memory_cost=8192, parallelism=1)  # ~10 ms a verification
    svc = _Svc(store, clock=clock, hasher=hasher)
    _three_accounts(svc)
    phones = (UNKNOWN_PHONE, LOCKED_PHONE, STOLEN_PHONE, PHONE)
    times: dict[str, list[float]] = {phone: [] for phone in phones}
    for n in range(15):
        for phone in phones:  # interleaved, so drift in the machine's load hits all alike
            started = time.perf_counter()
            with pytest.raises(AuthenticationFailed):
                svc.sign_in(phone, f"Wrong#guess{n}")
            times[phone].append(time.perf_counter() - started)
        svc.sign_in(PHONE, NEW_PASSWORD)  # the active account's count starts afresh
    fastest = {phone: min(spent) for phone, spent in times.items()}
    unknown = fastest[UNKNOWN_PHONE]
    for spent in fastest.values():
        assert unknown * 2 / 3 <= spent <= unknown * 3 / 2, fastest
