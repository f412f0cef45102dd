"""The one error hierarchy: every refusal has a stable ``code``, a Chinese message and its article.

Host applications match on ``code`` (stable across releases), show ``message`` to people, and may
cite ``article`` (the article of the regulation or the design rule the refusal enforces).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AccountError",
    "AccountLocked",
    "ActorRefused",
    "AdminSeparation",
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
    "KeyMissing",
    "KeyUnknown",
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
    "RuleSetError",
    "ScheduleFileError",
    "SecrecyRefused",
    "SelfApproval",
    "SelfReviewForbidden",
    "SessionExpired",
    "StoreNotMigrated",
    "StoreSchemaUnknown",
    "StoreUnavailable",
    "WindowClosed",
    "WrongSigner",
    "YearOutOfRange",
]


class QiandaoError(Exception):
    """Base of every error qiandao raises on purpose.

    ``code`` is stable and machine-readable; ``message`` is Chinese and for people;
    ``article`` names the article (第N条) or design rule enforced; ``details`` is context.
    """

    code: ClassVar[str] = "qiandao.error"
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

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form for host APIs."""
        return {
            "code": self.code,
            "message": self.message,
            "article": self.article,
            "details": {k: str(v) for k, v in self.details.items()},
        }


# --- input and configuration -------------------------------------------------------------


class InvalidInput(QiandaoError):
    """A value failed validation at the boundary (wrong type, empty, too long, bad format)."""

    code = "input.invalid"
    article = "设计§3"
    default_message = "输入不合法"


class LimitExceeded(InvalidInput):
    """A field is larger than the configured limit."""

    code = "input.too_large"
    default_message = "输入超过长度限制"


class ChannelMismatch(InvalidInput):
    """A payload names a channel other than the one its submitter and commission give."""

    code = "input.channel_mismatch"
    article = "第七条"
    default_message = "报送渠道由报送人身份决定，不能另行指定"


class RuleSetError(QiandaoError):
    """A jurisdiction's rule file or override is malformed; every bad field is named by path."""

    code = "rules.invalid"
    article = "第二十条"
    default_message = "规则配置有误"


# --- calendar ----------------------------------------------------------------------------


class CalendarError(QiandaoError):
    """Base of working-day calendar errors."""

    code = "calendar.error"
    article = "第十条"
    default_message = "工作日计算失败"


class InvalidDate(CalendarError):
    """Not a date (a string, a datetime where a date is needed, an impossible day)."""

    code = "calendar.invalid_date"
    default_message = "日期不合法"


class InvalidWorkdayCount(CalendarError):
    """The number of working days is not an integer or is outside the supported span."""

    code = "calendar.invalid_count"
    default_message = "工作日数不合法"


class YearOutOfRange(CalendarError):
    """The date lies outside the years the calendar can answer."""

    code = "calendar.year_out_of_range"
    default_message = "年份超出日历支持范围"


class ScheduleFileError(CalendarError):
    """A holiday schedule file is unreadable or has a bad entry (the entry is named)."""

    code = "calendar.schedule_invalid"
    default_message = "节假日安排文件有误"


# --- workflow ----------------------------------------------------------------------------


class NotFound(QiandaoError):
    """The item, assignment, account or unit does not exist (or the actor may not know it does)."""

    code = "not_found"
    default_message = "对象不存在"


class PermissionDenied(QiandaoError):
    """The actor's role may not run this command."""

    code = "permission.denied"
    article = "第六条"
    default_message = "无权执行此操作"


class WrongSigner(PermissionDenied):
    """The signer's tier does not match the tier the destinations require."""

    code = "permission.signer_tier"
    article = "第九条"
    default_message = "签发人层级与报送去向不符"


class JurisdictionDenied(PermissionDenied):
    """The actor belongs to another jurisdiction (city or county CPPCC)."""

    code = "permission.jurisdiction"
    article = "第十五条"
    default_message = "不属于本级政协管辖范围"


class SelfReviewForbidden(PermissionDenied):
    """Nobody reviews or signs an item they authored."""

    code = "permission.self_review"
    article = "第九条"
    default_message = "不得审核或签发本人撰写的信息"


class SelfApproval(PermissionDenied):
    """三员分立: no one approves or rejects a role grant they proposed (two people, 第十九条)."""

    code = "permission.self_approval"
    article = "第十九条"
    default_message = "不得审批本人提出的角色申请"


class InvalidTransition(QiandaoError):
    """The command is not allowed in the object's current state."""

    code = "state.invalid_transition"
    article = "第九条"
    default_message = "当前状态下不能执行此操作"


class ReasonRequired(QiandaoError):
    """A decline, send-back, rejection or extension needs a written reason."""

    code = "reason.required"
    article = "第十条"
    default_message = "不属于本单位职责范围的，应说明理由（第十条）"


class DeadlinePassed(QiandaoError):
    """A window (decline, extension request) has closed."""

    code = "deadline.passed"
    article = "第十条"
    default_message = "已超过规定期限"


class WindowClosed(QiandaoError):
    """The rating window is closed or the item is closed."""

    code = "rating.window_closed"
    article = "第十二条"
    default_message = "评价期限已过或信息已办结"


class RatingWindowOpen(QiandaoError):
    """Closing would end a rating window the author has not used yet (第十二条)."""

    code = "rating.window_open"
    article = "第十二条"
    default_message = "答复的评价期限尚未届满且未评价，暂不能办结"


class SecrecyRefused(QiandaoError):
    """The deployment refuses 涉密 bodies at intake (保密法)."""

    code = "secrecy.refused"
    article = "第十四条"
    default_message = "本系统不得录入涉密信息正文，请线下办理"


class ConcurrencyConflict(QiandaoError):
    """Someone else changed the object first (optimistic version check failed)."""

    code = "store.conflict"
    article = "设计§3"
    default_message = "数据已被他人修改，请刷新后重试"


class IdempotencyConflict(QiandaoError):
    """The same idempotency key was used with a different payload."""

    code = "store.idempotency_conflict"
    article = "设计§3"
    default_message = "同一幂等键对应了不同的提交内容"


class StoreUnavailable(QiandaoError):
    """The database is down or dropped the connection; nothing was written."""

    code = "store.unavailable"
    article = "设计§3"
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
    article = "设计§3"
    default_message = "提交时与数据库的连接中断，本次操作可能已生效，请使用同一幂等键重试"


# --- accounts ----------------------------------------------------------------------------


class AuditError(QiandaoError):
    """Base of audit errors (第十九条: 安全审计)."""

    code = "audit.error"
    article = "第十九条"
    default_message = "安全审计操作失败"


class AuditUnavailable(AuditError):
    """The audit record of an action could not be written, so the action is refused: no
    audit, no access."""

    code = "audit.unavailable"
    default_message = "审计记录无法写入，操作未执行"


class AuditTampered(AuditError):
    """The audit does not verify (``details``: the first bad record's shard, sequence and
    reason): a purge is refused, so that it cannot erase the evidence."""

    code = "audit.tampered"
    default_message = "审计记录校验未通过，疑被篡改，不得清理"


class AuditRetention(AuditError):
    """Audit records are kept at least 180 days: a shorter retention, or a purge of records
    younger than the retention, is refused."""

    code = "audit.retention"
    default_message = "审计记录保存期限不足，不得清理"


class AccountError(QiandaoError):
    """Base of account and sign-in errors."""

    code = "account.error"
    article = "第十六条"
    default_message = "账号操作失败"


class DuplicateAccount(AccountError):
    """The normalised mobile number is already registered."""

    code = "account.duplicate"
    default_message = "该手机号码已注册"


class AuthenticationFailed(AccountError):
    """Wrong username or password (never says which)."""

    code = "account.auth_failed"
    article = "第十七条"
    default_message = "用户名或密码错误"


class ActorRefused(AccountError):
    """The acting account is unknown, departed or locked, or no longer holds the actor's grant.

    Every command and query checks its ``Actor`` against the stored account first (an actor a
    host kept from an old session, or built by hand, is not believed); the host signs in again.
    The details never say which of the reasons applies.
    """

    code = "account.actor_refused"
    article = "第十七条"
    default_message = "操作人身份无效，请重新登录"


class AccountLocked(AccountError):
    """Locked after repeated failures, a theft report, or deleted on departure."""

    code = "account.locked"
    article = "第十七条"
    default_message = "账号已锁定，请联系市政协办公室系统管理员"


class HasherMissing(AccountError):
    """The service was created without a password hasher, so passwords cannot be handled."""

    code = "account.hasher_missing"
    article = "第十九条"
    default_message = "未配置密码哈希器，无法处理密码"


class DeliveryMissing(AccountError):
    """The service was created without a credential delivery, so no password can be issued.

    A new or reset password never goes to the administrator who asked for it (三员分立), only
    to the person, through the :class:`~qiandao.ports.security.CredentialDelivery` port.
    """

    code = "account.delivery_missing"
    article = "第十九条"
    default_message = "未配置密码送达方式，无法发放初始密码"


class DeliveryFailed(AccountError):
    """The new password could not be delivered to the person; nothing was changed."""

    code = "account.delivery_failed"
    article = "第十九条"
    default_message = "初始密码未能送达本人，账号未作变更，请稍后重试"


class PasswordChangeRequired(AccountError):
    """First sign-in (or an expired password): change it before anything else."""

    code = "account.password_change_required"
    article = "第十六条"
    default_message = "首次登录须先修改初始密码"


class PasswordPolicyViolation(AccountError):
    """The new password does not meet the policy profile."""

    code = "account.password_policy"
    article = "第十九条"
    default_message = "密码不符合安全策略"


class SessionExpired(AccountError):
    """The session is unknown, revoked or idle for too long."""

    code = "account.session_expired"
    article = "第十七条"
    default_message = "会话已失效，请重新登录"


class GrantRequired(AccountError):
    """The person holds several role grants and the session has not selected one."""

    code = "account.grant_required"
    article = "第十六条"
    default_message = "请先选择本次登录使用的角色"


class GrantNotHeld(AccountError):
    """The account does not hold the role grant named (selection or revocation)."""

    code = "account.grant_not_held"
    article = "第十七条"
    default_message = "该账号未持有此角色"


class GrantAlreadyHeld(AccountError):
    """The account already holds the role grant to add."""

    code = "account.grant_held"
    article = "第十七条"
    default_message = "该账号已持有此角色"


class LastGrant(AccountError):
    """Revoking the only grant would leave an account that cannot act; departure is ``depart``."""

    code = "account.last_grant"
    article = "第十七条"
    default_message = "不能撤销账号的唯一角色；人员离职请删除账号"


class AdminSeparation(AccountError):
    """三员分立: an administrator grant is never combined with any other grant."""

    code = "account.admin_separation"
    article = "第十九条"
    default_message = "系统管理员、安全管理员、审计管理员不得兼任其他角色"


class PasswordPolicyTooWeak(AccountError):
    """A jurisdiction's password policy may not fall below the floor of its profile (第十九条)."""

    code = "account.policy_too_weak"
    article = "第十九条"
    default_message = "口令策略低于所选标准的最低要求"


class CryptoError(QiandaoError):
    """Base of encryption errors: a sealed value that cannot be opened, or a missing backend."""

    code = "crypto.error"
    article = "第十九条"
    default_message = "加密操作失败"


class CiphertextInvalid(CryptoError):
    """A sealed value is malformed (its encoding, algorithm, key id, nonce or length)."""

    code = "crypto.invalid"
    default_message = "密文格式无效"


class KeyUnknown(CryptoError):
    """The key id a sealed value names is not one this cipher or key provider holds."""

    code = "crypto.key_unknown"
    default_message = "密钥不存在或已销毁"


class CiphertextTampered(CryptoError):
    """Authentication failed: the nonce, ciphertext, tag, key or associated data do not match."""

    code = "crypto.tampered"
    default_message = "密文校验失败，数据可能被篡改"


class KeyMissing(CryptoError):
    """No key-encryption key is configured (``QIANDAO_KEYS`` / ``QIANDAO_KEY_FILE``) for a store
    that encrypts at rest; the host must configure one before it starts."""

    code = "crypto.key_missing"
    default_message = "未配置加密密钥（QIANDAO_KEYS 或 QIANDAO_KEY_FILE），不能启动加密存储"


class CryptoUnavailable(CryptoError):
    """The cryptography backend lacks an algorithm asked for (e.g. an OpenSSL without SM4)."""

    code = "crypto.unavailable"
    default_message = "当前加密库不支持所需算法"
