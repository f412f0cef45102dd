"""The SQL schema (SQLAlchemy Core): one ``MetaData``, every table prefixed ``qd_``.

Each aggregate is stored whole as a JSON document (``doc``, written through the one cattrs
converter); the other columns are derived copies that queries filter and sort on, rewritten on
every save. Child tables (authors, assignments, text versions, feedback, credits) are rewritten
with their item in the same transaction.

Types are chosen to behave the same on SQLite, PostgreSQL and MySQL/MariaDB:

- :class:`Key`: a bounded ``VARCHAR`` (MariaDB indexes need a bound) that compares and sorts by
  code point everywhere, as Python does: ``COLLATE "C"`` on PostgreSQL, a binary *no-pad*
  collation on MySQL/MariaDB (``'a' = 'a '`` is true under a PAD SPACE collation), and SQLite's
  default ``BINARY``.
- :class:`UtcDateTime`: timezone-aware instants stored as UTC (``timestamptz`` on PostgreSQL,
  ``DATETIME(6)`` on MySQL/MariaDB, ISO text on SQLite); naive datetimes are refused.
- :data:`Document`: unbounded text (``LONGTEXT`` on MySQL/MariaDB, whose ``TEXT`` stops at 64 KiB).

Tables are ``utf8mb4`` on MySQL/MariaDB so that every character, emoji included, round-trips.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from qiandao.model import ID_LENGTH

__all__ = [
    "EVENT_LOG",
    "ID_LENGTH",
    "Counter",
    "Document",
    "Key",
    "UtcDateTime",
    "account_events",
    "account_grants",
    "accounts",
    "assignments",
    "audit",
    "audit_head_rows",
    "audit_heads",
    "audit_targets",
    "commissions",
    "credits",
    "data_keys",
    "event_log_head",
    "events",
    "external_identities",
    "feedback",
    "grant_proposals",
    "idempotency",
    "item_authors",
    "items",
    "jurisdiction_seed_rows",
    "jurisdictions",
    "leases",
    "metadata",
    "outbox",
    "password_policies",
    "plans",
    "review_overruns",
    "sessions",
    "similarity",
    "similarity_bands",
    "text_versions",
    "topic_terms",
    "topic_words",
    "topics",
    "unit_events",
    "units",
]

# ID_LENGTH (qiandao.model): the longest id (item, account, unit, assignment, event, ...)

CODE_LENGTH = 32  # enum values (states, roles, kinds)
JURISDICTION_LENGTH = 64
JURISDICTION_NAME_LENGTH = 100  # qiandao.workflow.units.NAME_CHARS
SECTOR_LENGTH = 100  # the intake limit of 界别
CREDIT_KIND_LENGTH = 64  # "reported_to_principal_or_province" is longer than a code
PHONE_LENGTH = 128  # room for a keyed blind index instead of the plain number
TOKEN_HASH_LENGTH = 128
PROVIDER_LENGTH = 64
SUBJECT_LENGTH = 255
IDEMPOTENCY_KEY_LENGTH = 320  # "<account id>:<client key of up to 200 characters>"
FINGERPRINT_LENGTH = 128
COMMAND_LENGTH = 64  # a public command's name, e.g. "submit_new"
DESTINATIONS_KEY_LENGTH = 128  # every destination value, sorted, comma-separated
KEY_ID_LENGTH = 64  # a data key's id, a key-id token of qiandao.ports.crypto.Sealed
OWNER_LENGTH = 128  # a dispatcher's id, e.g. "<host>:<pid>:<random>"
ERROR_LENGTH = 128  # the type name of a notifier's last failure
TERM_LENGTH = 128  # a hot-topic term key: the word (at most 16 characters) or its HMAC, hex
SCOPE_LENGTH = ID_LENGTH + 16  # "text", "index" or "person:<account id>"

MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _is_mysql(dialect: Dialect) -> bool:
    return dialect.name in ("mysql", "mariadb")


class Key(TypeDecorator[str]):
    """A bounded string that compares and sorts by code point on every database."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.max_length = length

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # SQLAlchemy asks again for every expanding IN list it renders; adapting a type costs
        # about half a millisecond, so the adapted type is kept per dialect and length
        wanted = (type(dialect), bool(getattr(dialect, "is_mariadb", False)), self.max_length)
        found = _KEY_IMPLS.get(wanted)
        if found is None:
            found = _KEY_IMPLS[wanted] = self._impl_for(dialect)
        return found

    def _impl_for(self, dialect: Dialect) -> TypeEngine[Any]:
        length = self.max_length
        if dialect.name == "postgresql":
            return dialect.type_descriptor(String(length, collation="C"))
        if _is_mysql(dialect):
            nopad = (
                "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
            )
            return dialect.type_descriptor(
                mysql.VARCHAR(length, charset="utf8mb4", collation=nopad)
            )
        return dialect.type_descriptor(String(length))


_KEY_IMPLS: dict[tuple[type[Dialect], bool, int], TypeEngine[Any]] = {}
"""The adapted type of each (dialect class, MariaDB?, length) of :class:`Key` (the class, not
the name: each driver of a database adapts types its own way)."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant, stored as UTC with microseconds; read back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_mysql(dialect):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime cannot be stored: {value!r}")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Document: TypeEngine[str] = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
"""A JSON document or long text."""

Counter: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
"""An auto-incremented 64-bit counter (SQLite: ``INTEGER PRIMARY KEY``, its rowid)."""


def _id(name: str, **kwargs: Any) -> Column[str]:
    return Column(name, Key(ID_LENGTH), **kwargs)


def _code(name: str, **kwargs: Any) -> Column[str]:
    return Column(name, Key(CODE_LENGTH), **kwargs)


def _item_fk() -> Column[str]:
    return Column(
        "item_id",
        Key(ID_LENGTH),
        ForeignKey("qd_items.id", name=None, ondelete="CASCADE"),
        nullable=False,
    )


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""Every table of the SQL store, with a fixed naming convention for constraints and indexes."""

items = Table(
    "qd_items",
    metadata,
    _id("id", primary_key=True),
    Column("version", Integer, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    _code("state", nullable=False),
    _id("lead_author_id", nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("secret", Boolean, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("issued_at", UtcDateTime, nullable=True),
    _id("commission_id", nullable=True),
    # the bulletin's breakdowns: the Asia/Shanghai day of submission and the grouping keys
    Column("submitted_on", Date, nullable=True),
    _code("category", nullable=False),
    _code("channel", nullable=False),
    Column("sector", Key(SECTOR_LENGTH), nullable=False),
    Column("adopted", Boolean, nullable=False),
    Column("doc", Document, nullable=False),
    # the lanes (qiandao.lanes): lane, urgent first (0) or not (1), when the item entered its
    # state, the destinations as one key (the signer's tier), the review reminder done
    _code("lane", nullable=True),
    Column("priority", Integer, nullable=False),
    Column("state_since", UtcDateTime, nullable=False),
    Column("destinations_key", Key(DESTINATIONS_KEY_LENGTH), nullable=False),
    Column("review_reminded", Boolean, nullable=False),
    # a lane's first page and its count are one range of this index (in keyset order)
    Index(
        "ix_qd_items_lane_order",
        "jurisdiction",
        "lane",
        "priority",
        "state_since",
        "id",
        "destinations_key",
    ),
    Index("ix_qd_items_review_waits", "review_reminded", "lane", "priority", "state_since"),
    Index(None, "state"),
    Index(None, "jurisdiction", "state"),
    # keyset pages of published items and of an author's items (read backwards: newest first)
    Index(None, "published", "issued_at", "id"),
    Index(None, "created_at", "id"),
    Index(None, "commission_id"),
    # covers the breakdown query (an index-only scan of one period)
    Index(
        "ix_qd_items_jurisdiction_submitted_on_groups",
        "jurisdiction",
        "submitted_on",
        "category",
        "channel",
        "sector",
        "adopted",
    ),
    **MYSQL_TABLE_OPTIONS,
)

# The lead author and the co-authors of each item (for "items by author").
item_authors = Table(
    "qd_item_authors",
    metadata,
    _item_fk(),
    _id("account_id", nullable=False),
    PrimaryKeyConstraint("item_id", "account_id"),
    Index(None, "account_id"),
    **MYSQL_TABLE_OPTIONS,
)

assignments = Table(
    "qd_assignments",
    metadata,
    _item_fk(),
    _id("id", nullable=False),
    _id("unit_id", nullable=False),
    _code("state", nullable=False),
    Column("due", Date, nullable=False),
    Column("lead", Boolean, nullable=False),
    # copies for the overdue list and the unit statistics
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("assigned_on", Date, nullable=False),
    Column("last_replied_on", Date, nullable=True),
    Column("reply_workdays", Integer, nullable=True),
    _code("rating", nullable=False),
    Column("extended", Boolean, nullable=False),
    Column("declined", Boolean, nullable=False),
    Column("rating_pending_until", Date, nullable=True),  # for closing rating windows
    Column("reminders_done", Boolean, nullable=False),  # the job can skip it
    # the lanes: the item's urgency (0 urgent, 1 not), the office's and the unit's lane
    Column("priority", Integer, nullable=False),
    _code("office_lane", nullable=True),
    _code("unit_lane", nullable=True),
    # what the periodic job does next and the day it counts from (qiandao.attention, 0017);
    # a run reads only the rows of each kind whose day is before that kind's cut-off
    _code("attention", nullable=True),
    Column("attention_day", Date, nullable=True),
    PrimaryKeyConstraint("item_id", "id"),
    Index("ix_qd_assignments_attention", "attention", "attention_day", "id", "item_id"),
    Index(
        "ix_qd_assignments_office_lane_order",
        "jurisdiction",
        "office_lane",
        "priority",
        "due",
        "id",
        "item_id",
    ),
    Index(
        "ix_qd_assignments_unit_lane_order",
        "unit_id",
        "unit_lane",
        "priority",
        "due",
        "id",
        "item_id",
    ),
    Index(None, "state", "due"),
    Index(None, "id"),
    Index(None, "jurisdiction", "is_open", "due", "id", "item_id"),
    Index(None, "is_open", "reminders_done", "due"),
    Index(None, "unit_id", "is_open", "due", "id", "item_id"),
    Index(None, "jurisdiction", "assigned_on"),
    Index(None, "rating_pending_until"),
    **MYSQL_TABLE_OPTIONS,
)

text_versions = Table(
    "qd_text_versions",
    metadata,
    _item_fk(),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Document, nullable=False),
    _id("editor_id", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("item_id", "number"),
    **MYSQL_TABLE_OPTIONS,
)

feedback = Table(
    "qd_feedback",
    metadata,
    _item_fk(),
    Column("seq", Integer, nullable=False),
    _code("kind", nullable=False),
    _code("level", nullable=True),
    _code("rank", nullable=True),
    Column("on_date", Date, nullable=False),
    PrimaryKeyConstraint("item_id", "seq"),
    **MYSQL_TABLE_OPTIONS,
)

# One row per credit of an item, exactly ``qiandao.statistics.credits_of(item)`` in its order
# (``seq`` from 1), with the Asia/Shanghai day the credit counts on and the item's
# jurisdiction: the person statistics sum one index range of one period.
credits = Table(
    "qd_credits",
    metadata,
    _item_fk(),
    Column("seq", Integer, nullable=False),
    _id("person_id", nullable=False),
    Column("kind", Key(CREDIT_KIND_LENGTH), nullable=False),
    _code("level", nullable=True),  # ADOPTED_BY credits only
    _code("rank", nullable=True),  # INSTRUCTION credits only
    Column("on_date", Date, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    PrimaryKeyConstraint("item_id", "seq"),
    Index(None, "jurisdiction", "on_date", "person_id", "kind", "level", "rank"),
    **MYSQL_TABLE_OPTIONS,
)

# One row per review stage that waited past its window (``Item.review_overruns``), with the
# Asia/Shanghai day the job found it and the item's jurisdiction: the bulletin counts a range.
review_overruns = Table(
    "qd_review_overruns",
    metadata,
    _item_fk(),
    Column("seq", Integer, nullable=False),
    _code("stage", nullable=False),
    Column("on_date", Date, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    PrimaryKeyConstraint("item_id", "seq"),
    Index(None, "jurisdiction", "on_date"),
    **MYSQL_TABLE_OPTIONS,
)

events = Table(
    "qd_events",
    metadata,
    _id("id", primary_key=True),
    _id("item_id", nullable=False),
    Column("sequence", Integer, nullable=False),
    _code("kind", nullable=False),
    _id("actor_id", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("doc", Document, nullable=False),
    # the store-wide position of the change feed (0012): 1, 2, 3... in commit order
    Column("position", BigInteger, nullable=False),
    UniqueConstraint("item_id", "sequence"),
    UniqueConstraint("position"),
    **MYSQL_TABLE_OPTIONS,
)

EVENT_LOG = "events"
"""The one row of ``qd_event_log_head``."""

event_log_head = Table(
    "qd_event_log_head",
    metadata,
    Column("name", Key(CODE_LENGTH), primary_key=True),
    Column("position", BigInteger, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
"""The last position given to an event (0012): one row, locked by each commit that appends
events from the moment it numbers them to its end, so positions follow commit order."""


def _seed_event_log_head(target: Table, connection: Any, **_: Any) -> None:
    connection.execute(target.insert(), [{"name": EVENT_LOG, "position": 0}])


event.listen(event_log_head, "after_create", _seed_event_log_head)

outbox = Table(
    "qd_outbox",
    metadata,
    # ``seq`` keeps the order notices were recorded in when they share an instant.
    Column("seq", Counter, primary_key=True, autoincrement=True),
    _id("notice_id", nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("doc", Document, nullable=False),
    # 0011: the state, backoff and the dispatcher's lease
    _code("state", nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_by", Key(OWNER_LENGTH), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Key(ERROR_LENGTH), nullable=True),
    UniqueConstraint("notice_id"),
    Index(None, "state", "next_attempt_at", "seq"),  # what a dispatcher claims next
    **MYSQL_TABLE_OPTIONS,
)

# Named leases (0011): one holder at a time until ``lease_until`` (the periodic job's run).
leases = Table(
    "qd_leases",
    metadata,
    Column("name", Key(CODE_LENGTH), primary_key=True),
    Column("owner", Key(OWNER_LENGTH), nullable=False),
    Column("lease_until", UtcDateTime, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

accounts = Table(
    "qd_accounts",
    metadata,
    _id("id", primary_key=True),
    Column("version", Integer, nullable=False),
    Column("phone", Key(PHONE_LENGTH), nullable=True),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    _code("status", nullable=False),
    Column("doc", Document, nullable=False),
    UniqueConstraint("phone"),
    Index(None, "jurisdiction"),
    **MYSQL_TABLE_OPTIONS,
)


def _account_fk() -> Column[str]:
    return Column(
        "account_id",
        Key(ID_LENGTH),
        ForeignKey("qd_accounts.id", ondelete="CASCADE"),
        nullable=False,
    )


# One row per role grant of an account (``seq`` from 1, in the account's order), rewritten with
# the account: "who holds role R in jurisdiction J" is one index range.
account_grants = Table(
    "qd_account_grants",
    metadata,
    _account_fk(),
    Column("seq", Integer, nullable=False),
    _code("role", nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    _id("unit_id", nullable=True),
    PrimaryKeyConstraint("account_id", "seq"),
    Index(None, "jurisdiction", "role"),
    **MYSQL_TABLE_OPTIONS,
)

# The append-only log of account changes (registration, grants, locks, departure).
account_events = Table(
    "qd_account_events",
    metadata,
    _account_fk(),
    Column("sequence", Integer, nullable=False),
    _code("kind", nullable=False),
    _id("actor_id", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("doc", Document, nullable=False),
    PrimaryKeyConstraint("account_id", "sequence"),
    **MYSQL_TABLE_OPTIONS,
)

# Content grants proposed by the system admin, waiting for (or decided by) the security admin
# (三员分立, 0007); the account row gains the grant only at approval.
grant_proposals = Table(
    "qd_grant_proposals",
    metadata,
    _id("id", primary_key=True),
    Column("version", Integer, nullable=False),
    _account_fk(),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    _code("state", nullable=False),
    Column("proposed_at", UtcDateTime, nullable=False),
    Column("doc", Document, nullable=False),
    Index(None, "jurisdiction", "state", "proposed_at"),
    Index(None, "account_id"),
    **MYSQL_TABLE_OPTIONS,
)

# Each jurisdiction's append-only log of password and lockout policy changes (0007); the
# latest is in force.
password_policies = Table(
    "qd_password_policies",
    metadata,
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("sequence", Integer, nullable=False),
    _id("actor_id", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("doc", Document, nullable=False),
    PrimaryKeyConstraint("jurisdiction", "sequence"),
    **MYSQL_TABLE_OPTIONS,
)

external_identities = Table(
    "qd_external_identities",
    metadata,
    Column("provider", Key(PROVIDER_LENGTH), nullable=False),
    Column("subject", Key(SUBJECT_LENGTH), nullable=False),
    Column(
        "account_id",
        Key(ID_LENGTH),
        ForeignKey("qd_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    PrimaryKeyConstraint("account_id", "provider", "subject"),
    UniqueConstraint("provider", "subject"),
    **MYSQL_TABLE_OPTIONS,
)

sessions = Table(
    "qd_sessions",
    metadata,
    Column("token_hash", Key(TOKEN_HASH_LENGTH), primary_key=True),
    _id("account_id", nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("doc", Document, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),  # purged after it (0005)
    Index(None, "account_id"),
    Index(None, "expires_at"),
    **MYSQL_TABLE_OPTIONS,
)

units = Table(
    "qd_units",
    metadata,
    _id("id", primary_key=True),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("doc", Document, nullable=False),
    Column("version", Integer, nullable=False),  # compare-and-set on save (0010)
    Index(None, "jurisdiction"),
    **MYSQL_TABLE_OPTIONS,
)

# Each unit's event log (0010): added, renamed, merged, absorbed, retired; the document is the
# UnitEvent, the unit as it became.
unit_events = Table(
    "qd_unit_events",
    metadata,
    Column(
        "unit_id",
        Key(ID_LENGTH),
        ForeignKey("qd_units.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("sequence", Integer, nullable=False),
    _code("kind", nullable=False),
    _id("actor_id", nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("doc", Document, nullable=False),
    PrimaryKeyConstraint("unit_id", "sequence"),
    **MYSQL_TABLE_OPTIONS,
)

# Jurisdictions as data (0010): code, display name, parent link (the CPPCC reported to).
jurisdictions = Table(
    "qd_jurisdictions",
    metadata,
    Column("code", Key(JURISDICTION_LENGTH), primary_key=True),
    Column("name", Key(JURISDICTION_NAME_LENGTH), nullable=False),
    Column("parent", Key(JURISDICTION_LENGTH), nullable=True),
    Column("version", Integer, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)


def jurisdiction_seed_rows() -> list[dict[str, Any]]:
    """The rows of the jurisdictions every new store starts with (舟山市 and its 县（区）)."""
    from qiandao.model import ZHOUSHAN_JURISDICTIONS

    return [
        {"code": j.code, "name": j.name, "parent": j.parent, "version": j.version}
        for j in ZHOUSHAN_JURISDICTIONS
    ]


def _seed_jurisdictions(target: Table, connection: Any, **_: Any) -> None:
    connection.execute(target.insert(), jurisdiction_seed_rows())


event.listen(jurisdictions, "after_create", _seed_jurisdictions)

commissions = Table(
    "qd_commissions",
    metadata,
    _id("id", primary_key=True),
    Column("version", Integer, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("doc", Document, nullable=False),
    Index(None, "jurisdiction"),
    **MYSQL_TABLE_OPTIONS,
)

# Annual plans (0016, 第六条): one row per jurisdiction and year, the plan in clear (targets and
# the ids of who set them and who was reminded: no 社情民意 content, nothing sealed).
plans = Table(
    "qd_plans",
    metadata,
    _id("id", primary_key=True),
    Column("version", Integer, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("year", Integer, nullable=False),
    Column("doc", Document, nullable=False),
    Index(None, "year"),
    **MYSQL_TABLE_OPTIONS,
)

idempotency = Table(
    "qd_idempotency",
    metadata,
    Column("key", Key(IDEMPOTENCY_KEY_LENGTH), primary_key=True),
    Column("fingerprint", Key(FINGERPRINT_LENGTH), nullable=False),
    _id("result_id", nullable=False),
    Column("command", Key(COMMAND_LENGTH), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# The data keys of encryption at rest (0008), each wrapped by the key provider's key-encryption
# key: the store-wide text key (one generation per ``keys rotate --reencrypt``), the blind-index
# key, and one key per person (``person:<account id>``; deleted when the person departs).
data_keys = Table(
    "qd_data_keys",
    metadata,
    Column("key_id", Key(KEY_ID_LENGTH), primary_key=True),
    Column("scope", Key(SCOPE_LENGTH), nullable=False),
    Column("generation", Integer, nullable=False),
    _code("algorithm", nullable=False),
    Column("wrapped", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("scope", "generation"),
    **MYSQL_TABLE_OPTIONS,
)

AUDIT_SHARD_LENGTH = 8
AUDIT_ACTION_LENGTH = 64
AUDIT_HASH_LENGTH = 128
AUDIT_ALGORITHM_LENGTH = 16
AUDIT_CODE_LENGTH = 64

audit = Table(
    "qd_audit",
    metadata,
    Column("shard", Key(AUDIT_SHARD_LENGTH), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("action", Key(AUDIT_ACTION_LENGTH), nullable=False),
    _id("account_id", nullable=True),
    _id("target_id", nullable=True),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=True),
    Column("outcome", Key(CODE_LENGTH), nullable=False),
    Column("algorithm", Key(AUDIT_ALGORITHM_LENGTH), nullable=False),
    Column("previous", Key(AUDIT_HASH_LENGTH), nullable=False),
    Column("hash", Key(AUDIT_HASH_LENGTH), nullable=False),
    Column("doc", Document, nullable=False),  # the canonical encoding the hash covers
    PrimaryKeyConstraint("shard", "sequence"),
    Index(None, "at", "shard", "sequence"),
    Index(None, "account_id", "at"),
    Index(None, "action", "at"),
    Index(None, "target_id", "at"),
    **MYSQL_TABLE_OPTIONS,
)
"""The audit log (第十九条): appended only; ``doc`` is what the record's hash covers."""

audit_targets = Table(
    "qd_audit_targets",
    metadata,
    Column("shard", Key(AUDIT_SHARD_LENGTH), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    _id("target_id", nullable=False),
    PrimaryKeyConstraint("shard", "sequence", "target_id"),
    ForeignKeyConstraint(
        ["shard", "sequence"], ["qd_audit.shard", "qd_audit.sequence"], ondelete="CASCADE"
    ),
    Index(None, "target_id"),
    **MYSQL_TABLE_OPTIONS,
)
"""The targets of each audit record after its first (which is ``qd_audit.target_id``), so that
the audit query finds a record by any of them (an index of the document: not covered by the
hash, and purged with its record)."""

audit_heads = Table(
    "qd_audit_heads",
    metadata,
    Column("shard", Key(AUDIT_SHARD_LENGTH), primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", Key(AUDIT_HASH_LENGTH), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
"""Each audit shard's last record, one row per shard from the start (locked by each append)."""


def audit_head_rows() -> list[dict[str, Any]]:
    """The head rows of an empty audit log: every shard at sequence 0."""
    from qiandao.audit import AUDIT_SHARDS, CHECKPOINT_SHARD, GENESIS

    shards = [f"{n:02d}" for n in range(AUDIT_SHARDS)] + [CHECKPOINT_SHARD]
    return [{"shard": shard, "sequence": 0, "hash": GENESIS} for shard in shards]


def _seed_audit_heads(target: Table, connection: Any, **_: Any) -> None:
    connection.execute(target.insert(), audit_head_rows())


event.listen(audit_heads, "after_create", _seed_audit_heads)


# The similarity index (0014, qiandao.similarity): per indexed item its jurisdiction, submission
# time and MinHash signature (hex, 8 digits a value), and one row per LSH band whose key the
# lookup finds by an index (with the jurisdiction and time, so that the index covers the
# count). No text: it tells which items are alike, not what they say.
similarity = Table(
    "qd_similarity",
    metadata,
    _id("item_id", primary_key=True),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("signature", Document, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

similarity_bands = Table(
    "qd_similarity_bands",
    metadata,
    _id("item_id", nullable=False),
    Column("band", Integer, nullable=False),
    Column("band_key", BigInteger, nullable=False),
    # copies of the item's row: the lookup counts shared keys from the index alone
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("item_id", "band"),
    Index(None, "band_key", "jurisdiction", "at", "item_id"),
    **MYSQL_TABLE_OPTIONS,
)


# The hot-topic term index (0015, qiandao.topics): per indexed item where, what about, through
# which channel and on which day it was submitted, and one row per term (its key, how often the
# text says it, and the item's facts again, so a period's counts read one index). Under
# encryption a term's key is its HMAC under the blind-index key and the word is kept, sealed,
# in qd_topic_words (SEALED); otherwise the key is the word itself.
topics = Table(
    "qd_topics",
    metadata,
    _id("item_id", primary_key=True),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    _code("category", nullable=False),
    Column("sector", Key(SECTOR_LENGTH), nullable=False),
    _code("channel", nullable=False),
    Column("day", Date, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

topic_terms = Table(
    "qd_topic_terms",
    metadata,
    _id("item_id", nullable=False),
    Column("term", Key(TERM_LENGTH), nullable=False),
    Column("occurrences", Integer, nullable=False),
    Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
    Column("day", Date, nullable=False),
    _code("category", nullable=False),
    PrimaryKeyConstraint("item_id", "term"),
    Index(None, "jurisdiction", "day", "category", "term"),
    Index(None, "term", "jurisdiction", "day"),
    **MYSQL_TABLE_OPTIONS,
)

topic_words = Table(
    "qd_topic_words",
    metadata,
    Column("term", Key(TERM_LENGTH), primary_key=True),
    Column("word", Document, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
