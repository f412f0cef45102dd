"""The one error hierarchy: every refusal has a stable ``code``, a kind, a Chinese message and
its article.

Host applications match on ``code`` (stable across releases) or on ``kind`` (which gives the HTTP
status), show ``message`` to people, and may cite ``article`` (the article of the regulation the
refusal enforces; empty for purely technical refusals, which no article governs).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import date
from typing import Any, ClassVar, Self

import attrs

__all__ = [
    "AccountError",
    "AccountLocked",
    "ActorRefused",
    "AdminSeparation",
    "AnalysisUnavailable",
    "AuditError",
    "AuditRetention",
    "AuditTampered",
    "AuditUnavailable",
    "AuthenticationFailed",
    "CalendarError",
    "ChannelMismatch",
    "CiphertextInvalid",
    "CiphertextTampered",
    "ConcurrencyConflict",
    "CryptoError",
    "CryptoUnavailable",
    "DeadlinePassed",
    "DeliveryFailed",
    "DeliveryMissing",
    "DuplicateAccount",
    "ErrorKind",
    "FieldProblem",
    "GrantAlreadyHeld",
    "GrantNotHeld",
    "GrantRequired",
    "HasherMissing",
    "IdempotencyConflict",
    "InvalidDate",
    "InvalidInput",
    "InvalidTransition",
    "InvalidWorkdayCount",
    "JurisdictionDenied",
    "JurisdictionExists",
    "KeyMissing",
    "KeyUnknown",
    "LabelledEnum",
    "LastGrant",
    "LimitExceeded",
    "MigrationFailed",
    "NotFound",
    "OutcomeUnknown",
    "PasswordChangeRequired",
    "PasswordPolicyTooWeak",
    "PasswordPolicyViolation",
    "PermissionDenied",
    "QiandaoError",
    "RatingWindowOpen",
    "ReasonRequired",
    "ReportFontMissing",
    "RuleSetError",
    "ScheduleFileError",
    "SecrecyRefused",
    "SelfApproval",
    "SelfReviewForbidden",
    "SessionExpired",
    "StoreNotMigrated",
    "StoreSchemaUnknown",
    "StoreUnavailable",
    "UnitBusy",
    "UnitExists",
    "WindowClosed",
    "WrongSigner",
    "YearOutOfRange",
]


class LabelledEnum(str, enum.Enum):
    """A string enum whose members also carry a Chinese ``label`` for display.

    The value is the stable code stored and exchanged; the label is what a person reads.
    (It lives here, beside the ``InvalidInput`` its :meth:`parse` raises and the
    :class:`ErrorKind` built on it; :mod:`qiandao._enum` re-exports it.)
    """

    _value_: str
    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self._value_

    @classmethod
    def parse(cls, raw: object, field: str = "") -> Self:
        """Return the member for a value, a member name or a Chinese label.

        ``field`` is the payload path the value came from (``"rating"``, ``"destinations[0]"``),
        named by the ``InvalidInput`` raised for anything else.
        """
        if isinstance(raw, cls):
            return raw
        if isinstance(raw, str):
            for member in cls:
                if raw in (member.value, member.name, member.label):
                    return member
        allowed = "、".join(m.value for m in cls)
        raise InvalidInput(f"无效的取值：{raw!r}（可选：{allowed}）", field=field)


class ErrorKind(LabelledEnum):
    """What kind of refusal an error is; the kind gives the HTTP status a host answers with."""

    INVALID_INPUT = "invalid_input", "输入不合法"
    NOT_SIGNED_IN = "not_signed_in", "未登录或登录已失效"
    PERMISSION = "permission", "无权操作"
    NOT_FOUND = "not_found", "对象不存在"
    CONFLICT = "conflict", "与当前状态冲突"
    UNAVAILABLE = "unavailable", "暂不可用或结果未知"

    @property
    def http_status(self) -> int:
        """The HTTP status of this kind (422, 401, 403, 404, 409, 503)."""
        return _STATUS[self]


_STATUS = {
    ErrorKind.INVALID_INPUT: 422,
    ErrorKind.NOT_SIGNED_IN: 401,
    ErrorKind.PERMISSION: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
}


@attrs.frozen
class FieldProblem:
    """One bad field of an input: its payload path in English (``title``, ``destinations[0]``,
    ``""`` for the whole payload) and what is wrong, in Chinese."""

    path: str
    """The field's payload path in English (``title``, ``destinations[0]``; ``""``: whole)."""
    message: str
    """What is wrong with it, in Chinese."""


_PROBLEM = re.compile(r"^(?P<message>.*) @ \$(?P<path>[.\[].*)?$", re.S)


def _problem(text: str) -> FieldProblem:
    """A converter problem (``消息 @ $.title``) as a :class:`FieldProblem`."""
    match = _PROBLEM.match(text)
    if match is None:
        return FieldProblem("", text)
    return FieldProblem((match["path"] or "").removeprefix("."), match["message"])


def _native(value: Any) -> Any:
    """A detail as JSON-native data: enums by wire code, days and instants in ISO 8601."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, date):  # and datetime: ISO 8601 with its offset
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(_native(k)): _native(v) for k, v in value.items()}
    if isinstance(value, AbstractSet):
        return sorted((_native(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [_native(v) for v in value]
    return str(value)


class QiandaoError(Exception):
    """Base of every error qiandao raises on purpose.

    ``code`` is stable and machine-readable; ``kind`` is what kind of refusal it is (its
    ``http_status``); ``message`` is Chinese and for people; ``article`` names the regulation's
    article (第N条) enforced, or is empty; ``details`` is context (``field``: the payload path
    of the bad value; ``errors``: every bad field of a structured input).
    """

    code: ClassVar[str] = "qiandao.error"
    kind: ClassVar[ErrorKind] = ErrorKind.CONFLICT
    article: str = ""
    default_message: ClassVar[str] = "操作失败"

    def __init__(
        self, message: str | None = None, *, article: str | None = None, **details: Any
    ) -> None:
        self.message = message or self.default_message
        if article is not None:
            self.article = article
        self.details: Mapping[str, Any] = details
        super().__init__(self.message)

    def __str__(self) -> str:
        suffix = f"（{self.article}）" if self.article and self.article not in self.message else ""
        return f"[{self.code}] {self.message}{suffix}"

    @property
    def http_status(self) -> int:
        """The HTTP status a host answers with: the status of the error's ``kind``."""
        return self.kind.http_status

    @property
    def field(self) -> str:
        """The English payload path of the bad value (``title``, ``destinations[0]``), or ``""``."""
        field = self.details.get("field", "")
        if not field and self.errors:
            return self.errors[0].path  # the first bad field of a structured input
        return field if isinstance(field, str) else str(field)

    @property
    def errors(self) -> tuple[FieldProblem, ...]:
        """Every bad field of a structured input (path and Chinese message), in order."""
        found = self.details.get("errors", ())
        if isinstance(found, str) or not isinstance(found, list | tuple):
            return ()
        return tuple(p if isinstance(p, FieldProblem) else _problem(str(p)) for p in found)

    def as_dict(self) -> dict[str, Any]:
        """The JSON-native form a host sends: code, kind, status, message, article, field,
        field errors (``[{"path", "message"}]``) and the other details."""
        return {
            "code": self.code,
            "kind": self.kind.value,
            "http_status": self.http_status,
            "message": self.message,
            "article": self.article,
            "field": self.field,
            "errors": [{"path": p.path, "message": p.message} for p in self.errors],
            "details": {
                str(k): _native(v) for k, v in self.details.items() if k not in {"field", "errors"}
            },
        }


# --- input and configuration -------------------------------------------------------------


class InvalidInput(QiandaoError):
    """A value failed validation at the boundary (wrong type, empty, too long, bad format)."""

    code = "input.invalid"
    kind = ErrorKind.INVALID_INPUT
    default_message = "输入不合法"


class LimitExceeded(InvalidInput):
    """A field is larger than the configured limit."""

    code = "input.too_large"
    kind = ErrorKind.INVALID_INPUT
    default_message = "输入超过长度限制"


class ChannelMismatch(InvalidInput):
    """A payload names a channel other than the one its submitter and commission give."""

    code = "input.channel_mismatch"
    kind = ErrorKind.INVALID_INPUT
    article = "第七条"
    default_message = "报送渠道由报送人身份决定，不能另行指定"


class RuleSetError(QiandaoError):
    """A jurisdiction's rule file or override is malformed; every bad field is named by path."""

    code = "rules.invalid"
    kind = ErrorKind.INVALID_INPUT
    article = "第二十条"
    default_message = "规则配置有误"


# --- calendar ----------------------------------------------------------------------------


class CalendarError(QiandaoError):
    """Base of working-day calendar errors."""

    code = "calendar.error"
    kind = ErrorKind.INVALID_INPUT
    article = "第十条"
    default_message = "工作日计算失败"


class InvalidDate(CalendarError):
    """Not a date (a string, a datetime where a date is needed, an impossible day)."""

    code = "calendar.invalid_date"
    kind = ErrorKind.INVALID_INPUT
    default_message = "日期不合法"


class InvalidWorkdayCount(CalendarError):
    """The number of working days is not an integer or is outside the supported span."""

    code = "calendar.invalid_count"
    kind = ErrorKind.INVALID_INPUT
    default_message = "工作日数不合法"


class YearOutOfRange(CalendarError):
    """The date lies outside the years the calendar can answer."""

    code = "calendar.year_out_of_range"
    kind = ErrorKind.INVALID_INPUT
    default_message = "年份超出日历支持范围"


class ScheduleFileError(CalendarError):
    """A holiday schedule file is unreadable or has a bad entry (the entry is named)."""

    code = "calendar.schedule_invalid"
    kind = ErrorKind.INVALID_INPUT
    default_message = "节假日安排文件有误"


# --- workflow ----------------------------------------------------------------------------


class NotFound(QiandaoError):
    """The item, assignment, account or unit does not exist (or the actor may not know it does)."""

    code = "not_found"
    kind = ErrorKind.NOT_FOUND
    default_message = "对象不存在"


class PermissionDenied(QiandaoError):
    """The actor's role may not run this command."""

    code = "permission.denied"
    kind = ErrorKind.PERMISSION
    article = "第六条"
    default_message = "无权执行此操作"


class WrongSigner(PermissionDenied):
    """The signer's tier does not match the tier the destinations require."""

    code = "permission.signer_tier"
    kind = ErrorKind.PERMISSION
    article = "第九条"
    default_message = "签发人层级与报送去向不符"


class JurisdictionDenied(PermissionDenied):
    """The actor belongs to another jurisdiction (city or county CPPCC)."""

    code = "permission.jurisdiction"
    kind = ErrorKind.PERMISSION
    article = "第十五条"
    default_message = "不属于本级政协管辖范围"


class SelfReviewForbidden(PermissionDenied):
    """Nobody reviews or signs an item they authored."""

    code = "permission.self_review"
    kind = ErrorKind.PERMISSION
    article = "第九条"
    default_message = "不得审核或签发本人撰写的信息"


class SelfApproval(PermissionDenied):
    """三员分立: no one approves or rejects a role grant they proposed (two people, 第十九条)."""

    code = "permission.self_approval"
    kind = ErrorKind.PERMISSION
    article = "第十九条"
    default_message = "不得审批本人提出的角色申请"


class InvalidTransition(QiandaoError):
    """The command is not allowed in the object's current state."""

    code = "state.invalid_transition"
    kind = ErrorKind.CONFLICT
    article = "第九条"
    default_message = "当前状态下不能执行此操作"


class UnitBusy(InvalidTransition):
    """A unit with open assignments cannot be retired: merge it into the unit taking its work
    over, or let the assignments finish first (第十条)."""

    code = "unit.busy"
    article = "第十条"
    default_message = "该承办单位尚有未办结的交办，不能撤销；请先合并到承接单位"


class UnitExists(QiandaoError):
    """A unit id is taken (units are never deleted, so an id is never reused)."""

    code = "unit.duplicate"
    kind = ErrorKind.CONFLICT
    article = "第十条"
    default_message = "承办单位编号已存在"


class JurisdictionExists(QiandaoError):
    """A jurisdiction code is taken."""

    code = "jurisdiction.duplicate"
    kind = ErrorKind.CONFLICT
    article = "第十五条"
    default_message = "政协编码已存在"


class ReasonRequired(QiandaoError):
    """A decline, send-back, rejection or extension needs a written reason."""

    code = "reason.required"
    kind = ErrorKind.INVALID_INPUT
    article = "第十条"
    default_message = "不属于本单位职责范围的，应说明理由（第十条）"


class DeadlinePassed(QiandaoError):
    """A window (decline, extension request) has closed."""

    code = "deadline.passed"
    kind = ErrorKind.CONFLICT
    article = "第十条"
    default_message = "已超过规定期限"


class WindowClosed(QiandaoError):
    """The rating window is closed or the item is closed."""

    code = "rating.window_closed"
    kind = ErrorKind.CONFLICT
    article = "第十二条"
    default_message = "评价期限已过或信息已办结"


class RatingWindowOpen(QiandaoError):
    """Closing would end a rating window the author has not used yet (第十二条)."""

    code = "rating.window_open"
    kind = ErrorKind.CONFLICT
    article = "第十二条"
    default_message = "答复的评价期限尚未届满且未评价，暂不能办结"


class SecrecyRefused(QiandaoError):
    """The deployment refuses 涉密 bodies at intake (保密法)."""

    code = "secrecy.refused"
    kind = ErrorKind.INVALID_INPUT
    article = "第十四条"
    default_message = "本系统不得录入涉密信息正文，请线下办理"


class ConcurrencyConflict(QiandaoError):
    """Someone else changed the object first (optimistic version check failed)."""

    code = "store.conflict"
    kind = ErrorKind.CONFLICT
    default_message = "数据已被他人修改，请刷新后重试"


class IdempotencyConflict(QiandaoError):
    """The same idempotency key was used with a different payload."""

    code = "store.idempotency_conflict"
    kind = ErrorKind.CONFLICT
    default_message = "同一幂等键对应了不同的提交内容"


class StoreUnavailable(QiandaoError):
    """The database is down or dropped the connection; nothing was written."""

    code = "store.unavailable"
    kind = ErrorKind.UNAVAILABLE
    default_message = "数据库暂不可用，本次操作未生效"


class StoreNotMigrated(StoreUnavailable):
    """The database has no qiandao tables, or an older revision of them: the host must run the
    migrations (``python -m qiandao db upgrade``) before the store is used; nothing was written."""

    code = "store.not_migrated"
    default_message = (
        "数据库尚未建表或未升级到本版本的结构，"
        "请先运行 python -m qiandao db upgrade --url <数据库URL>"
    )


class StoreSchemaUnknown(StoreUnavailable):
    """The database is at a migration revision this code does not know (upgraded by a newer
    qiandao): running older code on it could corrupt data, so the store refuses it."""

    code = "store.schema_unknown"
    default_message = (
        "数据库结构版本不为本版本 qiandao 所知（可能已由更新的版本升级），请升级 qiandao"
    )


class MigrationFailed(StoreUnavailable):
    """A migration failed while upgrading the database: ``details`` names the revision that
    failed (``revision``), the database's own message (``cause``) and what to check (``hint``)."""

    code = "store.migration_failed"
    default_message = "数据库升级失败"


class OutcomeUnknown(QiandaoError):
    """The connection failed during COMMIT: the command may have landed. Never retried by the
    library; retry with the same ``idempotency_key`` to get the first outcome without a repeat."""

    code = "store.outcome_unknown"
    kind = ErrorKind.UNAVAILABLE
    default_message = "提交时与数据库的连接中断，本次操作可能已生效，请使用同一幂等键重试"


class AnalysisUnavailable(QiandaoError):
    """The service was built without a text analyzer (``Qiandao(..., analyzer=None)``), so it
    keeps no similarity index and cannot tell which items are alike."""

    code = "analysis.unavailable"
    kind = ErrorKind.UNAVAILABLE
    article = "第九条"
    default_message = (
        "未配置文本分析器，无法查找相似信息：构造 Qiandao 时传入 analyzer="
        "MinHashAnalyzer()（from qiandao_adapters.analysis import MinHashAnalyzer）"
    )


# --- accounts ----------------------------------------------------------------------------


class AuditError(QiandaoError):
    """Base of audit errors (第十九条: 安全审计)."""

    code = "audit.error"
    kind = ErrorKind.UNAVAILABLE
    article = "第十九条"
    default_message = "安全审计操作失败"


class AuditUnavailable(AuditError):
    """The audit record of an action could not be written, so the action is refused: no
    audit, no access."""

    code = "audit.unavailable"
    kind = ErrorKind.UNAVAILABLE
    default_message = "审计记录无法写入，操作未执行"


class AuditTampered(AuditError):
    """The audit does not verify (``details``: the first bad record's shard, sequence and
    reason): a purge is refused, so that it cannot erase the evidence."""

    code = "audit.tampered"
    kind = ErrorKind.CONFLICT
    default_message = "审计记录校验未通过，疑被篡改，不得清理"


class AuditRetention(AuditError):
    """Audit records are kept at least 180 days: a shorter retention, or a purge of records
    younger than the retention, is refused."""

    code = "audit.retention"
    kind = ErrorKind.CONFLICT
    default_message = "审计记录保存期限不足，不得清理"


class AccountError(QiandaoError):
    """Base of account and sign-in errors."""

    code = "account.error"
    kind = ErrorKind.CONFLICT
    article = "第十六条"
    default_message = "账号操作失败"


class DuplicateAccount(AccountError):
    """The normalised mobile number is already registered."""

    code = "account.duplicate"
    kind = ErrorKind.CONFLICT
    default_message = "该手机号码已注册"


class AuthenticationFailed(AccountError):
    """Wrong username or password (never says which)."""

    code = "account.auth_failed"
    kind = ErrorKind.NOT_SIGNED_IN
    article = "第十七条"
    default_message = "用户名或密码错误"


class ActorRefused(AccountError):
    """The acting account is unknown, departed or locked, or no longer holds the actor's grant.

    Every command and query checks its ``Actor`` against the stored account first (an actor a
    host kept from an old session, or built by hand, is not believed); the host signs in again.
    The details never say which of the reasons applies.
    """

    code = "account.actor_refused"
    kind = ErrorKind.NOT_SIGNED_IN
    article = "第十七条"
    default_message = "操作人身份无效，请重新登录"


class AccountLocked(AccountError):
    """Locked after repeated failures, a theft report, or deleted on departure."""

    code = "account.locked"
    kind = ErrorKind.PERMISSION
    article = "第十七条"
    default_message = "账号已锁定，请联系市政协办公室系统管理员"


class HasherMissing(AccountError):
    """The service was created without a password hasher, so passwords cannot be handled."""

    code = "account.hasher_missing"
    kind = ErrorKind.UNAVAILABLE
    article = "第十九条"
    default_message = "未配置密码哈希器，无法处理密码"


class DeliveryMissing(AccountError):
    """The service was created without a credential delivery, so no password can be issued.

    A new or reset password never goes to the administrator who asked for it (三员分立), only
    to the person, through the :class:`~qiandao.ports.security.CredentialDelivery` port.
    """

    code = "account.delivery_missing"
    kind = ErrorKind.UNAVAILABLE
    article = "第十九条"
    default_message = "未配置密码送达方式，无法发放初始密码"


class DeliveryFailed(AccountError):
    """The new password could not be delivered to the person; nothing was changed."""

    code = "account.delivery_failed"
    kind = ErrorKind.UNAVAILABLE
    article = "第十九条"
    default_message = "初始密码未能送达本人，账号未作变更，请稍后重试"


class PasswordChangeRequired(AccountError):
    """First sign-in (or an expired password): change it before anything else."""

    code = "account.password_change_required"
    kind = ErrorKind.PERMISSION
    article = "第十六条"
    default_message = "首次登录须先修改初始密码"


class PasswordPolicyViolation(AccountError):
    """The new password does not meet the policy profile."""

    code = "account.password_policy"
    kind = ErrorKind.INVALID_INPUT
    article = "第十九条"
    default_message = "密码不符合安全策略"


class SessionExpired(AccountError):
    """The session is unknown, revoked or idle for too long."""

    code = "account.session_expired"
    kind = ErrorKind.NOT_SIGNED_IN
    article = "第十七条"
    default_message = "会话已失效，请重新登录"


class GrantRequired(AccountError):
    """The person holds several role grants and the session has not selected one."""

    code = "account.grant_required"
    kind = ErrorKind.PERMISSION
    article = "第十六条"
    default_message = "请先选择本次登录使用的角色"


class GrantNotHeld(AccountError):
    """The account does not hold the role grant named (selection or revocation)."""

    code = "account.grant_not_held"
    kind = ErrorKind.CONFLICT
    article = "第十七条"
    default_message = "该账号未持有此角色"


class GrantAlreadyHeld(AccountError):
    """The account already holds the role grant to add."""

    code = "account.grant_held"
    kind = ErrorKind.CONFLICT
    article = "第十七条"
    default_message = "该账号已持有此角色"


class LastGrant(AccountError):
    """Revoking the only grant would leave an account that cannot act; departure is ``depart``."""

    code = "account.last_grant"
    kind = ErrorKind.CONFLICT
    article = "第十七条"
    default_message = "不能撤销账号的唯一角色；人员离职请删除账号"


class AdminSeparation(AccountError):
    """三员分立: an administrator grant is never combined with any other grant."""

    code = "account.admin_separation"
    kind = ErrorKind.CONFLICT
    article = "第十九条"
    default_message = "系统管理员、安全管理员、审计管理员不得兼任其他角色"


class PasswordPolicyTooWeak(AccountError):
    """A jurisdiction's password policy may not fall below the floor of its profile (第十九条)."""

    code = "account.policy_too_weak"
    kind = ErrorKind.INVALID_INPUT
    article = "第十九条"
    default_message = "口令策略低于所选标准的最低要求"


class CryptoError(QiandaoError):
    """Base of encryption errors: a sealed value that cannot be opened, or a missing backend."""

    code = "crypto.error"
    kind = ErrorKind.UNAVAILABLE
    article = "第十九条"
    default_message = "加密操作失败"


class CiphertextInvalid(CryptoError):
    """A sealed value is malformed (its encoding, algorithm, key id, nonce or length)."""

    code = "crypto.invalid"
    kind = ErrorKind.UNAVAILABLE
    default_message = "密文格式无效"


class KeyUnknown(CryptoError):
    """The key id a sealed value names is not one this cipher or key provider holds."""

    code = "crypto.key_unknown"
    kind = ErrorKind.UNAVAILABLE
    default_message = "密钥不存在或已销毁"


class CiphertextTampered(CryptoError):
    """Authentication failed: the nonce, ciphertext, tag, key or associated data do not match."""

    code = "crypto.tampered"
    kind = ErrorKind.UNAVAILABLE
    default_message = "密文校验失败，数据可能被篡改"


class KeyMissing(CryptoError):
    """No key-encryption key is configured (``QIANDAO_KEYS`` / ``QIANDAO_KEY_FILE``) for a store
    that encrypts at rest; the host must configure one before it starts."""

    code = "crypto.key_missing"
    kind = ErrorKind.UNAVAILABLE
    default_message = "未配置加密密钥（QIANDAO_KEYS 或 QIANDAO_KEY_FILE），不能启动加密存储"


class CryptoUnavailable(CryptoError):
    """The cryptography backend lacks an algorithm asked for (e.g. an OpenSSL without SM4)."""

    code = "crypto.unavailable"
    kind = ErrorKind.UNAVAILABLE
    default_message = "当前加密库不支持所需算法"


# --- reports ------------------------------------------------------------------------------


class ReportFontMissing(QiandaoError):
    """No font with Chinese glyphs was found for a report's charts (第十一条 通报): install one
    (Debian ``fonts-noto-cjk``) or name a font file in ``QIANDAO_CJK_FONT``."""

    code = "report.font_missing"
    kind = ErrorKind.UNAVAILABLE
    article = "第十一条"
    default_message = (
        "未找到中文字体，无法绘制通报图表：请安装 Noto Sans CJK（fonts-noto-cjk）"
        "或用环境变量 QIANDAO_CJK_FONT 指定字体文件"
    )
