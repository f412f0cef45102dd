"""Hot topics (issue 13): the term index, derived from the texts at write time.

Upgrade: ``qd_topics`` (per item its jurisdiction, category, sector, channel and day of
submission), ``qd_topic_terms`` (one row per term of an item: its key and how often the text
says it, with the item's jurisdiction, day and category for the period counts) and
``qd_topic_words`` (term key -> word, sealed under encryption). Items already stored are not
indexed here (the migration has no analyzer and, under encryption, no plain text): an item
enters the index when its text is next written.

Downgrade drops the three tables.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import (
    CODE_LENGTH,
    ID_LENGTH,
    JURISDICTION_LENGTH,
    MYSQL_TABLE_OPTIONS,
    SECTOR_LENGTH,
    TERM_LENGTH,
    Document,
    Key,
)

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qd_topics",
        sa.Column("item_id", Key(ID_LENGTH), nullable=False),
        sa.Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
        sa.Column("category", Key(CODE_LENGTH), nullable=False),
        sa.Column("sector", Key(SECTOR_LENGTH), nullable=False),
        sa.Column("channel", Key(CODE_LENGTH), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_qd_topics"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_table(
        "qd_topic_terms",
        sa.Column("item_id", Key(ID_LENGTH), nullable=False),
        sa.Column("term", Key(TERM_LENGTH), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", Key(JURISDICTION_LENGTH), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", Key(CODE_LENGTH), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "term", name="pk_qd_topic_terms"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index(
        "ix_qd_topic_terms_jurisdiction_day_category_term",
        "qd_topic_terms",
        ["jurisdiction", "day", "category", "term"],
        unique=False,
    )
    op.create_index(
        "ix_qd_topic_terms_term_jurisdiction_day",
        "qd_topic_terms",
        ["term", "jurisdiction", "day"],
        unique=False,
    )
    op.create_table(
        "qd_topic_words",
        sa.Column("term", Key(TERM_LENGTH), nullable=False),
        sa.Column("word", Document, nullable=False),
        sa.PrimaryKeyConstraint("term", name="pk_qd_topic_words"),
        **MYSQL_TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("qd_topic_words")
    op.drop_index("ix_qd_topic_terms_term_jurisdiction_day", table_name="qd_topic_terms")
    op.drop_index("ix_qd_topic_terms_jurisdiction_day_category_term", table_name="qd_topic_terms")
    op.drop_table("qd_topic_terms")
    op.drop_table("qd_topics")
