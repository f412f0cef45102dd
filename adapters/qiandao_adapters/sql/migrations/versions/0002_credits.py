"""Credits as rows: ``qd_credits`` holds ``credits_of(item)``; the old credit columns go.

Upgrade: create ``qd_credits`` and backfill it from every item's document (loaded through the
row mapping, credited by :func:`qiandao.statistics.credits_of`); keep only real authors in
``qd_item_authors`` and drop its credit columns; drop ``credited`` and ``jurisdiction`` from
``qd_feedback``. Downgrade: the 0001 columns again, filled from the same ``credits_of``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from qiandao.model import FeedbackKind, Item
from qiandao.rules.points import Credit, CreditKind
from qiandao.statistics import credits_of
from qiandao_adapters.sql.rows import credit_rows, loads
from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS  # InnoDB, utf8mb4, binary collation
_BATCH = 500  # items read and credited per round trip

# the tables as this revision knows them (not as ``schema`` may describe them later)
_items = sa.table("qd_items", sa.column("id", Key(64)), sa.column("doc", sa.Text()))
_credits = sa.table(
    "qd_credits",
    *(sa.column(name, Key(64)) for name in ("item_id", "person_id", "kind", "level", "rank")),
    sa.column("seq", sa.Integer()),
    sa.column("on_date", sa.Date()),
    sa.column("jurisdiction", Key(64)),
)
_authors = sa.table(
    "qd_item_authors",
    *(sa.column(name, Key(64)) for name in ("item_id", "account_id", "jurisdiction", "upward")),
    sa.column("is_author", sa.Boolean()),
    sa.column("submitted_on", sa.Date()),
    sa.column("issued_on", sa.Date()),
)
_feedback = sa.table(
    "qd_feedback",
    sa.column("item_id", Key(64)),
    sa.column("seq", sa.Integer()),
    sa.column("jurisdiction", Key(64)),
    sa.column("credited", sa.Boolean()),
)

_AUTHOR_INDEXES = {
    "ix_qd_item_authors_jurisdiction_submitted_on_account_id": (
        "jurisdiction",
        "submitted_on",
        "account_id",
    ),
    "ix_qd_item_authors_jurisdiction_issued_on_account_id_upward": (
        "jurisdiction",
        "issued_on",
        "account_id",
        "upward",
    ),
}
_FEEDBACK_INDEX = "ix_qd_feedback_jurisdiction_on_date"
_CREDITS_INDEX = "ix_qd_credits_jurisdiction_on_date_person_id_kind_level_rank"


def _stored_items(conn: sa.Connection) -> Iterator[Item]:
    """Every stored item, in batches by id (so a large table is never read at once)."""
    after: str | None = None
    while True:
        stmt = sa.select(_items.c.id, _items.c.doc).order_by(_items.c.id).limit(_BATCH)
        if after is not None:
            stmt = stmt.where(_items.c.id > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield loads(row.doc, Item)
        after = rows[-1].id


def upgrade() -> None:
    op.create_table(
        "qd_credits",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("person_id", Key(64), nullable=False),
        sa.Column("kind", Key(64), nullable=False),
        sa.Column("level", Key(32), nullable=True),
        sa.Column("rank", Key(32), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["qd_items.id"], name="fk_qd_credits_item_id_qd_items", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "seq", name="pk_qd_credits"),
        **_OPTIONS,
    )
    op.create_index(
        _CREDITS_INDEX,
        "qd_credits",
        ["jurisdiction", "on_date", "person_id", "kind", "level", "rank"],
        unique=False,
    )
    conn = op.get_bind()
    pending: list[dict[str, Any]] = []
    for item in _stored_items(conn):
        pending += credit_rows(item)
        if len(pending) >= _BATCH:
            conn.execute(sa.insert(_credits), pending)
            pending = []
    if pending:
        conn.execute(sa.insert(_credits), pending)

    conn.execute(sa.delete(_authors).where(_authors.c.is_author == sa.false()))
    with op.batch_alter_table("qd_item_authors") as batch:
        for name in _AUTHOR_INDEXES:
            batch.drop_index(name)
        for column in ("is_author", "jurisdiction", "submitted_on", "issued_on", "upward"):
            batch.drop_column(column)
    with op.batch_alter_table("qd_feedback") as batch:
        batch.drop_index(_FEEDBACK_INDEX)
        batch.drop_column("credited")
        batch.drop_column("jurisdiction")


# --- downgrade: the 0001 columns, from the same credits -----------------------------------


_UPWARD = (CreditKind.REPORTED_TO_CITY_LEADERS, CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE)


def _old_author_rows(item: Item, credits: Sequence[Credit]) -> list[dict[str, Any]]:
    """The 0001 rows of authors and merged authors, their credit columns read off ``credits``."""
    first: dict[tuple[str, CreditKind], Credit] = {}
    for credit in credits:
        first.setdefault((credit.person_id, credit.kind), credit)

    def day(person: str, kind: CreditKind) -> Any:
        found = first.get((person, kind))
        return None if found is None else found.on

    return [
        {
            "item_id": item.id,
            "account_id": person,
            "is_author": person in item.authors,
            "jurisdiction": item.jurisdiction,
            "submitted_on": day(person, CreditKind.SUBMITTED),
            "issued_on": day(person, CreditKind.ADOPTED),
            "upward": next((k.value for k in _UPWARD if (person, k) in first), None),
        }
        for person in sorted(item.authors | item.merged_authors)
    ]


def _old_feedback_credited(item: Item, credits: Sequence[Credit]) -> list[bool]:
    """Per feedback record (0001's ``credited``): whether ``credits`` hold its credit."""
    earned = {(c.kind, c.on, c.level, c.rank) for c in credits}
    return [
        (f.kind is FeedbackKind.ADOPTION and (CreditKind.ADOPTED_BY, f.on, f.level, None) in earned)
        or (
            f.kind is FeedbackKind.INSTRUCTION
            and (CreditKind.INSTRUCTION, f.on, None, f.rank) in earned
        )
        for f in item.feedback
    ]


def downgrade() -> None:
    with op.batch_alter_table("qd_item_authors") as batch:
        batch.add_column(sa.Column("is_author", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("jurisdiction", Key(64), nullable=True))
        batch.add_column(sa.Column("submitted_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("issued_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("upward", Key(64), nullable=True))
    with op.batch_alter_table("qd_feedback") as batch:
        batch.add_column(sa.Column("jurisdiction", Key(64), nullable=True))
        batch.add_column(sa.Column("credited", sa.Boolean(), nullable=True))

    conn = op.get_bind()
    for item in _stored_items(conn):
        credits = credits_of(item)
        conn.execute(sa.delete(_authors).where(_authors.c.item_id == item.id))
        rows = _old_author_rows(item, credits)
        if rows:
            conn.execute(sa.insert(_authors), rows)
        for seq, credited in enumerate(_old_feedback_credited(item, credits), start=1):
            conn.execute(
                sa.update(_feedback)
                .where(_feedback.c.item_id == item.id, _feedback.c.seq == seq)
                .values(jurisdiction=item.jurisdiction, credited=credited)
            )

    with op.batch_alter_table("qd_item_authors") as batch:
        batch.alter_column("is_author", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("jurisdiction", existing_type=Key(64), nullable=False)
        for name, columns in _AUTHOR_INDEXES.items():
            batch.create_index(name, list(columns), unique=False)
    with op.batch_alter_table("qd_feedback") as batch:
        batch.alter_column("jurisdiction", existing_type=Key(64), nullable=False)
        batch.alter_column("credited", existing_type=sa.Boolean(), nullable=False)
        batch.create_index(_FEEDBACK_INDEX, ["jurisdiction", "on_date"], unique=False)
    op.drop_index(_CREDITS_INDEX, table_name="qd_credits")
    op.drop_table("qd_credits")
