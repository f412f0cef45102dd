"""The initial schema of the SQL store.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS  # InnoDB, utf8mb4, binary collation


def _doc(name: str = "doc") -> sa.Column[Any]:
    document = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
    return sa.Column(name, document, nullable=False)


def _item_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["item_id"], ["qd_items.id"], name=f"fk_{table}_item_id_qd_items", ondelete="CASCADE"
    )


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{'_'.join(columns)}", table, list(columns), unique=False)


def upgrade() -> None:
    op.create_table(
        "qd_items",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("state", Key(32), nullable=False),
        sa.Column("lead_author_id", Key(64), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("submitted_at", UtcDateTime(), nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=True),
        sa.Column("commission_id", Key(64), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("category", Key(32), nullable=False),
        sa.Column("channel", Key(32), nullable=False),
        sa.Column("sector", Key(100), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("id", name="pk_qd_items"),
        **_OPTIONS,
    )
    _index("qd_items", "state")
    _index("qd_items", "jurisdiction", "state")
    _index("qd_items", "published", "issued_at")
    _index("qd_items", "created_at")
    _index("qd_items", "commission_id")
    op.create_index(
        "ix_qd_items_jurisdiction_submitted_on_groups",
        "qd_items",
        ["jurisdiction", "submitted_on", "category", "channel", "sector", "adopted"],
        unique=False,
    )

    op.create_table(
        "qd_item_authors",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("account_id", Key(64), nullable=False),
        sa.Column("is_author", sa.Boolean(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("upward", Key(64), nullable=True),
        _item_fk("qd_item_authors"),
        sa.PrimaryKeyConstraint("item_id", "account_id", name="pk_qd_item_authors"),
        **_OPTIONS,
    )
    _index("qd_item_authors", "account_id")
    _index("qd_item_authors", "jurisdiction", "submitted_on", "account_id")
    _index("qd_item_authors", "jurisdiction", "issued_on", "account_id", "upward")

    op.create_table(
        "qd_assignments",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("id", Key(64), nullable=False),
        sa.Column("unit_id", Key(64), nullable=False),
        sa.Column("state", Key(32), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("lead", sa.Boolean(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.Column("last_replied_on", sa.Date(), nullable=True),
        sa.Column("reply_workdays", sa.Integer(), nullable=True),
        sa.Column("rating", Key(32), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("rating_pending_until", sa.Date(), nullable=True),
        sa.Column("reminders_done", sa.Boolean(), nullable=False),
        _item_fk("qd_assignments"),
        sa.PrimaryKeyConstraint("item_id", "id", name="pk_qd_assignments"),
        **_OPTIONS,
    )
    _index("qd_assignments", "state", "due")
    _index("qd_assignments", "id")
    _index("qd_assignments", "jurisdiction", "is_open", "due", "id", "item_id")
    _index("qd_assignments", "is_open", "reminders_done", "due")
    _index("qd_assignments", "unit_id", "is_open", "due", "id", "item_id")
    _index("qd_assignments", "jurisdiction", "assigned_on")
    _index("qd_assignments", "rating_pending_until")

    op.create_table(
        "qd_text_versions",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        _doc("body"),
        sa.Column("editor_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        _item_fk("qd_text_versions"),
        sa.PrimaryKeyConstraint("item_id", "number", name="pk_qd_text_versions"),
        **_OPTIONS,
    )

    op.create_table(
        "qd_feedback",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", Key(32), nullable=False),
        sa.Column("level", Key(32), nullable=True),
        sa.Column("rank", Key(32), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("credited", sa.Boolean(), nullable=False),
        _item_fk("qd_feedback"),
        sa.PrimaryKeyConstraint("item_id", "seq", name="pk_qd_feedback"),
        **_OPTIONS,
    )
    _index("qd_feedback", "jurisdiction", "on_date")

    op.create_table(
        "qd_events",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", Key(32), nullable=False),
        sa.Column("actor_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("id", name="pk_qd_events"),
        sa.UniqueConstraint("item_id", "sequence", name="uq_qd_events_item_id_sequence"),
        **_OPTIONS,
    )

    op.create_table(
        "qd_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("notice_id", Key(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("dispatched_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("seq", name="pk_qd_outbox"),
        sa.UniqueConstraint("notice_id", name="uq_qd_outbox_notice_id"),
        **_OPTIONS,
    )
    _index("qd_outbox", "dispatched_at", "attempts", "recorded_at", "seq")

    op.create_table(
        "qd_accounts",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("phone", Key(128), nullable=True),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("role", Key(32), nullable=False),
        sa.Column("status", Key(32), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("id", name="pk_qd_accounts"),
        sa.UniqueConstraint("phone", name="uq_qd_accounts_phone"),
        **_OPTIONS,
    )
    _index("qd_accounts", "jurisdiction")

    op.create_table(
        "qd_external_identities",
        sa.Column("provider", Key(64), nullable=False),
        sa.Column("subject", Key(255), nullable=False),
        sa.Column("account_id", Key(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["qd_accounts.id"],
            name="fk_qd_external_identities_account_id_qd_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "provider", "subject", name="pk_qd_external_identities"
        ),
        sa.UniqueConstraint(
            "provider", "subject", name="uq_qd_external_identities_provider_subject"
        ),
        **_OPTIONS,
    )

    op.create_table(
        "qd_sessions",
        sa.Column("token_hash", Key(128), nullable=False),
        sa.Column("account_id", Key(64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("token_hash", name="pk_qd_sessions"),
        **_OPTIONS,
    )
    _index("qd_sessions", "account_id")

    op.create_table(
        "qd_units",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("id", name="pk_qd_units"),
        **_OPTIONS,
    )
    _index("qd_units", "jurisdiction")

    op.create_table(
        "qd_commissions",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        _doc(),
        sa.PrimaryKeyConstraint("id", name="pk_qd_commissions"),
        **_OPTIONS,
    )
    _index("qd_commissions", "jurisdiction")

    op.create_table(
        "qd_idempotency",
        sa.Column("key", Key(320), nullable=False),
        sa.Column("fingerprint", Key(128), nullable=False),
        sa.Column("item_id", Key(64), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_qd_idempotency"),
        **_OPTIONS,
    )


def downgrade() -> None:
    for table in (
        "qd_idempotency",
        "qd_commissions",
        "qd_units",
        "qd_sessions",
        "qd_external_identities",
        "qd_accounts",
        "qd_outbox",
        "qd_events",
        "qd_feedback",
        "qd_text_versions",
        "qd_assignments",
        "qd_item_authors",
        "qd_items",
    ):
        op.drop_table(table)
