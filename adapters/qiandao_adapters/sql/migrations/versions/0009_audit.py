"""The security audit (第十九条): chained audit records and each shard's head.

Upgrade: create ``qd_audit`` (one row per record: shard and sequence, the columns the audit
query filters on, the hash algorithm, the previous and own hash, and the canonical document the
hash covers), ``qd_audit_targets`` (every target of a record, for the query) and
``qd_audit_heads`` (each shard's last sequence and hash, one row per shard,
seeded at sequence 0). No existing row changes; the log starts empty.

Downgrade drops the three tables: the audit is lost (export or keep a backup first).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS
_DOCUMENT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_GENESIS = "0" * 64
_SHARDS = [f"{n:02d}" for n in range(16)] + ["cp"]  # as this revision knows them


def upgrade() -> None:
    op.create_table(
        "qd_audit",
        sa.Column("shard", Key(8), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("action", Key(64), nullable=False),
        sa.Column("account_id", Key(64), nullable=True),
        sa.Column("target_id", Key(64), nullable=True),
        sa.Column("jurisdiction", Key(64), nullable=True),
        sa.Column("outcome", Key(32), nullable=False),
        sa.Column("algorithm", Key(16), nullable=False),
        sa.Column("previous", Key(128), nullable=False),
        sa.Column("hash", Key(128), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("shard", "sequence", name="pk_qd_audit"),
        **_OPTIONS,
    )
    for name, columns in (
        ("ix_qd_audit_at_shard_sequence", ["at", "shard", "sequence"]),
        ("ix_qd_audit_account_id_at", ["account_id", "at"]),
        ("ix_qd_audit_action_at", ["action", "at"]),
        ("ix_qd_audit_target_id_at", ["target_id", "at"]),
    ):
        op.create_index(name, "qd_audit", columns)
    op.create_table(
        "qd_audit_targets",
        sa.Column("shard", Key(8), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("target_id", Key(64), nullable=False),
        sa.PrimaryKeyConstraint("shard", "sequence", "target_id", name="pk_qd_audit_targets"),
        sa.ForeignKeyConstraint(
            ["shard", "sequence"],
            ["qd_audit.shard", "qd_audit.sequence"],
            name="fk_qd_audit_targets_shard_qd_audit",
            ondelete="CASCADE",
        ),
        **_OPTIONS,
    )
    op.create_index("ix_qd_audit_targets_target_id", "qd_audit_targets", ["target_id"])
    heads = op.create_table(
        "qd_audit_heads",
        sa.Column("shard", Key(8), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("hash", Key(128), nullable=False),
        sa.PrimaryKeyConstraint("shard", name="pk_qd_audit_heads"),
        **_OPTIONS,
    )
    assert heads is not None
    op.bulk_insert(heads, [{"shard": s, "sequence": 0, "hash": _GENESIS} for s in _SHARDS])


def downgrade() -> None:
    op.drop_table("qd_audit_heads")
    op.drop_table("qd_audit_targets")
    op.drop_table("qd_audit")
