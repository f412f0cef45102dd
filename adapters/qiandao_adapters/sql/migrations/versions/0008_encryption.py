"""Encryption at rest: the wrapped data keys.

Upgrade: create ``qd_data_keys`` (key id, scope, generation, algorithm, the wrapped key and
when it was made). No existing row changes: the store reads clear rows until
``python -m qiandao keys encrypt --url URL`` has sealed them in place (``qd_accounts.phone``
already has room for the blind-index token: 128 characters since 0001).

Downgrade drops the table, only while it holds no data key: a database with sealed values would
become unreadable (and older revisions' data migrations read clear documents), so it is refused.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "qd_data_keys"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("key_id", Key(64), nullable=False),
        sa.Column("scope", Key(80), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("algorithm", Key(32), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_qd_data_keys"),
        sa.UniqueConstraint("scope", "generation", name="uq_qd_data_keys_scope_generation"),
        **MYSQL_TABLE_OPTIONS,
    )


def downgrade() -> None:
    keys = op.get_bind().execute(sa.text(f"SELECT COUNT(*) FROM {_TABLE}")).scalar_one()
    if keys:
        raise RuntimeError(
            f"{_TABLE} holds {keys} data keys: an encrypted database cannot go below 0008"
        )
    op.drop_table(_TABLE)
