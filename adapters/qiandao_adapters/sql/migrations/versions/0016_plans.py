"""Annual plans (第六条): the ``qd_plans`` table.

Upgrade: create ``qd_plans`` (one row per jurisdiction and year: id ``<jurisdiction>:<year>``,
version, jurisdiction, year, and the plan as a JSON document in clear, indexed by year for the
periodic job's reminders). No existing row changes.

Downgrade drops the table (the plans are lost; older code has none).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "qd_plans",
        sa.Column("id", Key(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_qd_plans"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index("ix_qd_plans_year", "qd_plans", ["year"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_qd_plans_year", table_name="qd_plans")
    op.drop_table("qd_plans")
