"""Pure account rules (第十六至十九条): usernames, password policy profiles, tokens, watermark.

Nothing here touches storage or the clock; :mod:`qiandao._accounts` runs the commands.

Profiles (第十九条):

* 等保三级 (GB/T 22239-2019 level 3, common practice): at least 8 characters of at least 3 of the
  4 classes (lower case, upper case, digits, other), lockout for 30 minutes after 5 consecutive
  failures, sessions end after 30 idle minutes, and the password must be changed every 90 days.
* OWASP ASVS (v4.0 §2.1, §2.2, §3.3): at least 12 characters, no composition rules, up to 128
  characters accepted (ASVS asks for at least 64), no periodic rotation, lockout for 15 minutes
  after 10 consecutive failures, sessions end after 30 idle minutes.

Both profiles also refuse control, zero-width and bidi characters (and lone surrogates), a
password whose digits contain the account's mobile number, one containing the real name, a short
list of notoriously common passwords, also with digits and symbols added before or after
(``Password1!``), and the last :attr:`PasswordPolicy.history` passwords (only their hashes are
kept). Passwords are normalised with NFKC (:func:`normalise_password`) before they are checked,
hashed or verified, so a full-width ``Ａ`` and an ``A`` are the same character. Sessions end after
the idle timeout and, in any case, :attr:`PasswordPolicy.session_lifetime_hours` (12 by default)
after sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from qiandao.errors import InvalidInput, PasswordPolicyTooWeak, PasswordPolicyViolation
from qiandao.model import Account
from qiandao.rules.ruleset import PasswordProfile

__all__ = [
    "CHARACTER_CLASSES",
    "PasswordPolicy",
    "PolicyChange",
    "character_classes",
    "check_password",
    "check_policy_floor",
    "generate_initial_password",
    "hash_token",
    "new_session_token",
    "normalise_password",
    "normalise_phone",
    "password_expired",
    "usable_password",
    "watermark_text",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""China Standard Time (``Asia/Shanghai``): the zone of calendar days and shown instants."""

CHARACTER_CLASSES: dict[str, str] = {
    "lower": "小写字母",
    "upper": "大写字母",
    "digit": "数字",
    "other": "特殊字符",
}

_NOT_DIGITS = re.compile(r"[^0-9]")
_AFFIX = "[" + re.escape(string.digits + string.punctuation + " ") + "]+"
_AROUND_WORD = re.compile(f"^{_AFFIX}|{_AFFIX}$")

# Words that stay common with digits and symbols added before or after (``Password1!``,
# ``admin@2024``): compared with the letters left once those are stripped from both ends.
_COMMON_WORDS = frozenset(
    {
        "a",
        "aa",
        "abc",
        "abcd",
        "abcdef",
        "admin",
        "administrator",
        "iloveyou",
        "letmein",
        "passw0rd",
        "password",
        "p@ssw0rd",
        "p@ssword",
        "qiandao",
        "qwerty",
        "qwertyuiop",
        "root",
        "test",
        "welcome",
        "woaini",
        "zhoushan",
    }
)

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）\u3000]")
_MOBILE = re.compile(r"1[3-9]\d{9}")

# A few passwords every cracking list starts with; a host wanting a breached-password check
# (ASVS 2.1.7) runs it before calling the service.
_COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "admin123",
        "admin@123",
        "qwerty123",
        "qwertyuiop",
        "1qaz2wsx",
        "1qaz@wsx",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "zaq12wsx",
        "abc12345",
        "abcd1234",
        "a1234567",
        "a12345678",
        "aa123456",
        "iloveyou",
        "woaini1314",
        "woaini520",
        "12345678",
        "123456789",
        "1234567890",
        "123456789012",
        "87654321",
        "11111111",
        "88888888",
        "66666666",
        "00000000",
        "qiandao123",
        "zhoushan123",
    }
)


def normalise_phone(raw: object) -> str:
    """The mainland mobile number as 11 digits, or ``InvalidInput`` (field ``phone``).

    Spaces, dashes and brackets are ignored and a ``+86``, ``0086`` or ``86`` prefix is dropped:
    ``'138 0013 8000'`` and ``'+86-13800138000'`` both become ``'13800138000'``.
    """
    if not isinstance(raw, str):
        raise InvalidInput("手机号码必须是文本", field="phone")
    digits = _PHONE_SEPARATORS.sub("", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not (digits.isascii() and _MOBILE.fullmatch(digits)):
        raise InvalidInput(
            "手机号码须为11位中国大陆手机号（以13至19开头）", field="phone", article="第十六条"
        )
    return digits


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, got {value}")


def _at_least_min_length(
    instance: PasswordPolicy, attribute: attrs.Attribute[int], value: int
) -> None:
    if value < instance.min_length:
        raise ValueError(f"max_length {value} is below min_length {instance.min_length}")


def _optional_positive(
    instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1 or None, got {value}")


@attrs.frozen
class PasswordPolicy:
    """The figures of a password and session profile (第十九条)."""

    profile: PasswordProfile
    """The named profile these figures start from."""
    min_length: int = attrs.field(validator=_positive)
    """Fewest characters a password may have."""
    max_length: int = attrs.field(validator=_at_least_min_length)
    """Most characters a password may have."""
    min_classes: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(4)])
    """Fewest character classes (upper, lower, digit, symbol; 0 to 4) it must mix."""
    max_failed_attempts: int = attrs.field(validator=_positive)
    """Failed sign-ins in a row after which the account is locked."""
    lockout_minutes: int = attrs.field(validator=_positive)
    """Minutes an account stays locked after too many failures."""
    idle_timeout_minutes: int = attrs.field(validator=_positive)
    """Minutes a session may stay unused before it ends."""
    max_age_days: int | None = attrs.field(default=None, validator=_optional_positive)
    """Days after which a password must be changed; ``None``: never."""
    refuse_common: bool = True
    """Whether notoriously common passwords (also with digits or symbols added) are refused."""
    session_lifetime_hours: int = attrs.field(default=12, validator=_positive)
    """Hours a session lasts from sign-in at most, however busy."""
    history: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    """How many recent passwords a new one may not repeat."""

    @classmethod
    def for_profile(cls, profile: PasswordProfile) -> PasswordPolicy:
        """The figures of a named profile (等保三级 or OWASP ASVS)."""
        if profile is PasswordProfile.OWASP_ASVS:
            return cls(
                profile=profile,
                min_length=12,
                max_length=128,
                min_classes=0,
                max_failed_attempts=10,
                lockout_minutes=15,
                idle_timeout_minutes=30,
                max_age_days=None,
            )
        return cls(
            profile=profile,
            min_length=8,
            max_length=128,
            min_classes=3,
            max_failed_attempts=5,
            lockout_minutes=30,
            idle_timeout_minutes=30,
            max_age_days=90,
        )

    @property
    def lockout(self) -> timedelta:
        """How long an account stays locked after too many failures."""
        return timedelta(minutes=self.lockout_minutes)

    @property
    def idle_timeout(self) -> timedelta:
        """How long a session may stay unused."""
        return timedelta(minutes=self.idle_timeout_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        """How long a session lasts from sign-in at most, however busy (absolute lifetime)."""
        return timedelta(hours=self.session_lifetime_hours)

    def describe(self) -> str:
        """The policy in one Chinese sentence, for a password form's hint."""
        parts = [f"密码长度{self.min_length}至{self.max_length}位"]
        if self.min_classes:
            parts.append(f"须包含大写字母、小写字母、数字、特殊字符中的至少{self.min_classes}类")
        parts.append("不得包含手机号码或姓名")
        parts.append(f"不得与最近{self.history}次使用的密码相同")
        if self.max_age_days:
            parts.append(f"每{self.max_age_days}天须更换一次")
        return "，".join(parts) + "。"


def _weaker(policy: PasswordPolicy, floor: PasswordPolicy) -> tuple[str, ...]:
    """The figures of ``policy`` that are weaker than ``floor``'s (by field name)."""
    weaker = [
        name
        for name, below in (
            ("min_length", policy.min_length < floor.min_length),
            ("min_classes", policy.min_classes < floor.min_classes),
            ("max_failed_attempts", policy.max_failed_attempts > floor.max_failed_attempts),
            ("lockout_minutes", policy.lockout_minutes < floor.lockout_minutes),
            ("idle_timeout_minutes", policy.idle_timeout_minutes > floor.idle_timeout_minutes),
            ("refuse_common", floor.refuse_common and not policy.refuse_common),
            (
                "session_lifetime_hours",
                policy.session_lifetime_hours > floor.session_lifetime_hours,
            ),
            ("history", policy.history < floor.history),
        )
        if below
    ]
    if floor.max_age_days is not None and (
        policy.max_age_days is None or policy.max_age_days > floor.max_age_days
    ):
        weaker.append("max_age_days")
    return tuple(weaker)


def check_policy_floor(policy: object, floor: PasswordProfile | None = None) -> PasswordPolicy:
    """``policy`` unless it is not a policy, or weaker than the figures of its own profile or
    of ``floor`` (the jurisdiction's profile, from its RuleSet).

    A jurisdiction may tighten its profile (longer passwords, fewer tries, shorter sessions),
    never loosen it, also not by naming another profile: a 等保三级 jurisdiction keeps at least
    the 等保三级 figures (第十九条). ``PasswordPolicyTooWeak`` names the weaker figures in
    ``details["failures"]``.
    """
    if not isinstance(policy, PasswordPolicy):
        raise InvalidInput("须提供口令策略", field="policy")
    profiles = {policy.profile} if floor is None else {policy.profile, floor}
    found = {name for p in profiles for name in _weaker(policy, PasswordPolicy.for_profile(p))}
    weaker = tuple(sorted(found))
    if weaker:
        raise PasswordPolicyTooWeak(failures=weaker, profile=policy.profile.value)
    return policy


@attrs.frozen
class PolicyChange:
    """One change of a jurisdiction's password and lockout policy, by its security admin.

    ``sequence`` runs 1, 2, 3… per jurisdiction; ``previous`` is the policy in force before
    (the profile's figures for the first change). The log is append-only: it is the event.
    """

    jurisdiction: str
    """Code of the jurisdiction whose policy changed."""
    sequence: int
    """Position in the jurisdiction's log: 1, 2, 3..."""
    policy: PasswordPolicy
    """The policy in force from this change on."""
    previous: PasswordPolicy
    """The policy in force before (the profile's figures for the first change)."""
    actor_id: str
    """Account id of the security admin who changed it."""
    at: datetime
    """When it changed (an aware datetime)."""

    @property
    def id(self) -> str:
        """``"<jurisdiction>#<sequence>"``: names the change (e.g. an idempotency record's)."""
        return f"{self.jurisdiction}#{self.sequence}"


def character_classes(password: str) -> frozenset[str]:
    """Which of the four classes (lower, upper, digit, other) ``password`` uses."""
    found: set[str] = set()
    for char in password:
        if char in string.ascii_lowercase:
            found.add("lower")
        elif char in string.ascii_uppercase:
            found.add("upper")
        elif char in string.digits:
            found.add("digit")
        elif not char.isspace():
            found.add("other")
    return frozenset(found)


def _invisible(char: str) -> str | None:
    """The failure code of a character a password may not hold, or ``None``."""
    category = unicodedata.category(char)
    if category in ("Cc", "Zl", "Zp"):
        return "control_chars"
    if category == "Cf":  # zero-width, bidi controls and overrides, BOM, soft hyphen
        return "format_chars"
    if category == "Cs":
        return "surrogates"
    return None


def normalise_password(password: str) -> str:
    """``password`` in NFKC: what is checked, hashed and verified (``Ａ１`` is ``A1``).

    A lone surrogate (not text) is kept as it is; :func:`check_password` refuses it and
    :func:`usable_password` tells a sign-in not to try it.
    """
    if any(unicodedata.category(c) == "Cs" for c in password):
        return password
    return unicodedata.normalize("NFKC", password)


def usable_password(password: object) -> bool:
    """Whether ``password`` is text that can be hashed (a ``str`` without lone surrogates)."""
    return isinstance(password, str) and not any(unicodedata.category(c) == "Cs" for c in password)


def check_password(
    policy: PasswordPolicy,
    password: object,
    *,
    phone: str | None = None,
    real_name: str | None = None,
) -> None:
    """Raise ``PasswordPolicyViolation`` naming every rule ``password`` breaks (else return).

    ``password`` is checked after NFKC normalisation (:func:`normalise_password`).
    ``details["failures"]`` holds stable codes: ``type`` (not text), ``too_short``,
    ``too_long``, ``classes``, ``control_chars``, ``format_chars`` (zero-width and bidi
    characters), ``surrogates`` (lone surrogates), ``contains_phone`` (the digits of the
    password contain the mobile number), ``contains_name``, ``common``. Reusing a recent
    password (``reused``) is checked by the service, which holds the hashes.
    """
    if not isinstance(password, str):
        raise PasswordPolicyViolation("密码必须是文本", failures=("type",))
    password = normalise_password(password)
    failures: list[str] = []
    messages: list[str] = []
    if len(password) < policy.min_length:
        failures.append("too_short")
        messages.append(f"密码长度不得少于{policy.min_length}位")
    if len(password) > policy.max_length:
        failures.append("too_long")
        messages.append(f"密码长度不得超过{policy.max_length}位")
    classes = character_classes(password)
    if len(classes) < policy.min_classes:
        failures.append("classes")
        messages.append(
            f"密码须包含大写字母、小写字母、数字、特殊字符中的至少{policy.min_classes}类"
        )
    bad = {code for code in map(_invisible, password) if code is not None}
    for code, message in (
        ("control_chars", "密码不得包含控制字符"),
        ("format_chars", "密码不得包含零宽字符或文字方向控制字符"),
        ("surrogates", "密码包含无效字符"),
    ):
        if code in bad:
            failures.append(code)
            messages.append(message)
    if phone and phone in _NOT_DIGITS.sub("", password):
        failures.append("contains_phone")
        messages.append("密码不得包含手机号码")
    name = (real_name or "").strip()
    if len(name) >= 2 and name.casefold() in password.casefold():
        failures.append("contains_name")
        messages.append("密码不得包含姓名")
    if policy.refuse_common and _is_common(password):
        failures.append("common")
        messages.append("密码过于常见，容易被猜中")
    if failures:
        raise PasswordPolicyViolation(
            "；".join(messages),
            failures=tuple(failures),
            profile=policy.profile.value,
        )


def _is_common(password: str) -> bool:
    folded = password.casefold()
    if folded in _COMMON_PASSWORDS or (len(set(folded)) == 1 and len(folded) > 0):
        return True
    word = _AROUND_WORD.sub("", folded)
    return word in _COMMON_WORDS or word in _COMMON_PASSWORDS


_GEN_LOWER = "abcdefghijkmnpqrstuvwxyz"  # no l, o
_GEN_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
_GEN_DIGITS = "23456789"  # no 0, 1
_GEN_OTHER = "!#$%&*+-=?@^_"
_GEN_ALL = _GEN_LOWER + _GEN_UPPER + _GEN_DIGITS + _GEN_OTHER


def generate_initial_password(
    policy: PasswordPolicy, *, phone: str | None = None, real_name: str | None = None
) -> str:
    """A random initial password meeting ``policy``, easy to read aloud (no 0/O, 1/l/I)."""
    length = min(max(policy.min_length + 4, 12), policy.max_length)
    length = max(length, 4)
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(pool) for pool in (_GEN_LOWER, _GEN_UPPER, _GEN_DIGITS, _GEN_OTHER)]
        chars += [secrets.choice(_GEN_ALL) for _ in range(length - len(chars))]
        rng.shuffle(chars)
        candidate = "".join(chars)
        try:
            check_password(policy, candidate, phone=phone, real_name=real_name)
        except PasswordPolicyViolation:  # pragma: no cover - astronomically unlikely
            continue
        return candidate


def password_expired(policy: PasswordPolicy, changed_at: datetime | None, now: datetime) -> bool:
    """Whether a password set at ``changed_at`` must be changed now (periodic change)."""
    if policy.max_age_days is None or changed_at is None:
        return False
    return now - changed_at >= timedelta(days=policy.max_age_days)


def new_session_token() -> str:
    """A fresh random session token (256 bits, URL-safe); shown to the client once."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of a session token: all the store ever keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def watermark_text(account: Account, now: datetime) -> str:
    """The screen watermark of 第十八条: real name, last 4 phone digits, Shanghai time."""
    tail = account.phone[-4:] if account.phone else "----"
    local = now.astimezone(SHANGHAI) if now.utcoffset() is not None else now
    return f"{account.real_name} {tail} {local:%Y-%m-%d %H:%M}"
