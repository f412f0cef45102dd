"""Similar items (issue 13): the similarity index, derived from the texts at write time.

Upgrade: ``qd_similarity`` (per item its jurisdiction, submission time and MinHash signature)
and ``qd_similarity_bands`` (one row per LSH band with copies of the jurisdiction and time,
found by an index on its key that covers the lookup's count). Items already stored are
not indexed here (the migration has no analyzer and, under encryption, no plain text): an item
enters the index when its text is next written; a host indexes the rest with its analyzer.

Downgrade drops both tables.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import (
    ID_LENGTH,
    JURISDICTION_LENGTH,
    MYSQL_TABLE_OPTIONS,
    Document,
    Key,
    UtcDateTime,
)

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qd_similarity",
        sa.Column("item_id", Key(ID_LENGTH), nullable=False),
        sa.Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("signature", Document, nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_qd_similarity"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "qd_similarity_bands",
        sa.Column("item_id", Key(ID_LENGTH), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "band", name="pk_qd_similarity_bands"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_qd_similarity_bands_band_key_jurisdiction_at_item_id",
        "qd_similarity_bands",
        ["band_key", "jurisdiction", "at", "item_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_qd_similarity_bands_band_key_jurisdiction_at_item_id", table_name="qd_similarity_bands"
    )
    op.drop_table("qd_similarity_bands")
    op.drop_table("qd_similarity")
