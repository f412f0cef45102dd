"""Lanes and review windows: derived lane columns, their indexes, ``qd_review_overruns``.

Upgrade: add to ``qd_items`` the lane, the priority (0 urgent, 1 not), the instant the item
entered its state, the destinations key and whether its review stage was reminded; add to
``qd_assignments`` the priority and the office's and the unit's lane; create
``qd_review_overruns``; backfill every row from the item documents through the row mapping
(``item_row``, ``assignment_row``, ``overrun_rows``: documents written before this revision have
no ``state_since``, so :func:`qiandao.lanes.entered_state_at` derives it).

Downgrade drops them and returns the documents to the shape 0003-era code reads (its converter
forbids unknown keys): every item document loses the fields added since, ``state_since`` and
``review_overruns`` of the item, ``rating_provisional`` of each assignment and
``shared_with_units`` of each feedback record (a provisional rating window then reads as a final
one, shared feedback as the office's alone, and the overrun records are gone, as is their table).
Every item event document (``qd_events.doc``) loses the same keys wherever its ``Change`` holds
an item, an assignment or a feedback record, and ``review_overruns`` of its ``ItemPatch``; the two
item event kinds that code does not know become the older kind whose replay gives the same item
(``evolve`` applies the change, whatever the kind), in the document and the ``kind`` column:
``review_overdue`` → ``reminder_sent``, ``rating_window_recomputed`` → ``deadline_recomputed``.
The account events of kinds that code does not know (``identity_bound``, ``identity_unbound``)
are deleted, the remaining events of each such account renumbered 1, 2, 3….

The downgrade is refused, before any change, while an item of the channel ``collective``
(集体报送, derived for the ``organisation`` role) exists: 0003-era code has no such channel. The
error names the items (the first 20).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from qiandao.model import Item
from qiandao_adapters.sql.rows import assignment_row, item_row, loads, overrun_rows
from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS  # InnoDB, utf8mb4, binary collation
_BATCH = 500  # items read per round trip

_ITEM_COLUMNS = ("lane", "priority", "state_since", "destinations_key", "review_reminded")
_ASSIGNMENT_COLUMNS = ("priority", "office_lane", "unit_lane")
_ITEM_INDEXES = {
    "ix_qd_items_lane_order": (
        "jurisdiction",
        "lane",
        "priority",
        "state_since",
        "id",
        "destinations_key",
    ),
    "ix_qd_items_review_waits": ("review_reminded", "lane", "priority", "state_since"),
}
_ASSIGNMENT_INDEXES = {
    "ix_qd_assignments_office_lane_order": (
        "jurisdiction",
        "office_lane",
        "priority",
        "due",
        "id",
        "item_id",
    ),
    "ix_qd_assignments_unit_lane_order": (
        "unit_id",
        "unit_lane",
        "priority",
        "due",
        "id",
        "item_id",
    ),
}
_OVERRUNS_INDEX = "ix_qd_review_overruns_jurisdiction_on_date"

# what 0003-era code does not know: item document keys, item event kinds (each rewritten to
# the older kind whose replay gives the same item: ``evolve`` reads the change, not the kind),
# account event kinds, and the channel of collective submitters (第二、七条)
_NEWER_ITEM_KEYS = ("state_since", "review_overruns")
_NEWER_ASSIGNMENT_KEYS = ("rating_provisional",)
_NEWER_FEEDBACK_KEYS = ("shared_with_units",)
_NEWER_PATCH_KEYS = ("review_overruns",)
_OLDER_ITEM_EVENTS = {
    "review_overdue": "reminder_sent",
    "rating_window_recomputed": "deadline_recomputed",
}
_NEWER_ACCOUNT_EVENTS = ("identity_bound", "identity_unbound")
_NEWER_CHANNELS = ("collective",)

# the tables as this revision knows them
_items = sa.table(
    "qd_items",
    sa.column("id", Key(64)),
    sa.column("doc", sa.Text()),
    sa.column("channel", Key(32)),
    sa.column("lane", Key(32)),
    sa.column("priority", sa.Integer()),
    sa.column("state_since", UtcDateTime()),
    sa.column("destinations_key", Key(128)),
    sa.column("review_reminded", sa.Boolean()),
)
_assignments = sa.table(
    "qd_assignments",
    sa.column("item_id", Key(64)),
    sa.column("id", Key(64)),
    sa.column("priority", sa.Integer()),
    sa.column("office_lane", Key(32)),
    sa.column("unit_lane", Key(32)),
)
_events = sa.table(
    "qd_events",
    sa.column("id", Key(64)),
    sa.column("kind", Key(32)),
    sa.column("doc", sa.Text()),
)
_account_events = sa.table(
    "qd_account_events",
    sa.column("account_id", Key(64)),
    sa.column("sequence", sa.Integer()),
    sa.column("kind", Key(32)),
    sa.column("doc", sa.Text()),
)
_overruns = sa.table(
    "qd_review_overruns",
    sa.column("item_id", Key(64)),
    sa.column("seq", sa.Integer()),
    sa.column("stage", Key(32)),
    sa.column("on_date", sa.Date()),
    sa.column("jurisdiction", Key(64)),
)


def _item_documents(
    conn: sa.Connection, table: sa.TableClause = _items
) -> Iterator[tuple[str, str]]:
    """Every row's id and document (items unless told), in batches by id (so a large table is
    never read at once)."""
    after: str | None = None
    while True:
        stmt = sa.select(table.c.id, table.c.doc).order_by(table.c.id).limit(_BATCH)
        if after is not None:
            stmt = stmt.where(table.c.id > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield row.id, row.doc
        after = rows[-1].id


def _stored_items(conn: sa.Connection) -> Iterator[Item]:
    """Every stored item, as this revision's code reads it."""
    for _, doc in _item_documents(conn):
        yield loads(doc, Item)


def _backfill(conn: sa.Connection) -> None:
    """The new columns and rows of every item, from its document."""
    for item in _stored_items(conn):
        row = item_row(item)
        conn.execute(
            sa.update(_items)
            .where(_items.c.id == item.id)
            .values({name: row[name] for name in _ITEM_COLUMNS})
        )
        for a in item.assignments:
            values = assignment_row(item, a)
            conn.execute(
                sa.update(_assignments)
                .where(_assignments.c.item_id == item.id, _assignments.c.id == a.id)
                .values({name: values[name] for name in _ASSIGNMENT_COLUMNS})
            )
        overruns = overrun_rows(item)
        if overruns:
            conn.execute(sa.insert(_overruns), overruns)


def _new_columns() -> dict[str, list[sa.Column[Any]]]:
    """The columns this revision adds, NOT NULL ones with a placeholder default until filled.

    Plain ``ADD COLUMN`` everywhere: SQLite's batch mode would copy ``qd_items`` and drop the
    old table, and with foreign keys on, the drop would cascade to every child row.
    """
    return {
        "qd_items": [
            sa.Column("lane", Key(32), nullable=True),
            sa.Column("priority", sa.Integer(), nullable=False, server_default="1"),
            sa.Column(
                "state_since",
                UtcDateTime(),
                nullable=False,
                server_default=sa.text("'1970-01-01 00:00:00'"),
            ),
            sa.Column("destinations_key", Key(128), nullable=False, server_default=""),
            sa.Column("review_reminded", sa.Boolean(), nullable=False, server_default=sa.false()),
        ],
        "qd_assignments": [
            sa.Column("priority", sa.Integer(), nullable=False, server_default="1"),
            sa.Column("office_lane", Key(32), nullable=True),
            sa.Column("unit_lane", Key(32), nullable=True),
        ],
    }


def upgrade() -> None:
    added = _new_columns()
    for table, columns in added.items():
        for column in columns:
            op.add_column(table, column)
    op.create_table(
        "qd_review_overruns",
        sa.Column("item_id", Key(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stage", Key(32), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["qd_items.id"],
            name="fk_qd_review_overruns_item_id_qd_items",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "seq", name="pk_qd_review_overruns"),
        **_OPTIONS,
    )
    op.create_index(_OVERRUNS_INDEX, "qd_review_overruns", ["jurisdiction", "on_date"])

    _backfill(op.get_bind())

    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps the unused placeholder defaults
        for table, columns in added.items():
            for column in columns:
                if column.server_default is not None:
                    op.alter_column(
                        table,
                        column.name,
                        existing_type=column.type,
                        existing_nullable=False,
                        server_default=None,
                    )
    for name, indexed in _ITEM_INDEXES.items():
        op.create_index(name, "qd_items", list(indexed), unique=False)
    for name, indexed in _ASSIGNMENT_INDEXES.items():
        op.create_index(name, "qd_assignments", list(indexed), unique=False)


# --- downgrade: documents as 0003-era code reads them -----------------------------------------


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _strip(records: list[Any], keys: tuple[str, ...]) -> bool:
    """Remove in place ``keys`` from each record (a ``None`` record is skipped); whether any
    was there."""
    found = False
    for record in records:
        for key in keys:
            if record is not None and key in record:
                del record[key]
                found = True
    return found


def _older_item(doc: dict[str, Any]) -> bool:
    """Remove in place the keys 0003-era code does not know; whether any was there."""
    found = _strip([doc], _NEWER_ITEM_KEYS)
    found |= _strip(doc.get("assignments") or [], _NEWER_ASSIGNMENT_KEYS)
    return _strip(doc.get("feedback") or [], _NEWER_FEEDBACK_KEYS) or found


def _older_event(doc: dict[str, Any]) -> bool:
    """An item event document as 0003-era code reads it, in place; whether it changed.

    Wherever the ``Change`` holds an item, an assignment, a feedback record or an ``ItemPatch``,
    their newer keys go; a newer kind becomes the older one whose replay gives the same item.
    """
    found = False
    if doc.get("kind") in _OLDER_ITEM_EVENTS:
        doc["kind"] = _OLDER_ITEM_EVENTS[doc["kind"]]
        found = True
    change = doc.get("change") or {}
    if change.get("item") is not None:
        found |= _older_item(change["item"])
    found |= _strip([change.get("assignment")], _NEWER_ASSIGNMENT_KEYS)
    found |= _strip([change.get("feedback")], _NEWER_FEEDBACK_KEYS)
    return _strip([change.get("fields")], _NEWER_PATCH_KEYS) or found


def _strip_item_documents(conn: sa.Connection) -> None:
    """Every item document and item event document in the shape 0003-era code reads."""
    for item_id, text in _item_documents(conn):
        doc = json.loads(text)
        if _older_item(doc):
            conn.execute(sa.update(_items).where(_items.c.id == item_id).values(doc=_dumps(doc)))
    for event_id, text in _item_documents(conn, _events):
        doc = json.loads(text)
        if _older_event(doc):
            conn.execute(
                sa.update(_events)
                .where(_events.c.id == event_id)
                .values(kind=doc["kind"], doc=_dumps(doc))
            )


def _refuse_collective_items(conn: sa.Connection) -> None:
    """0003-era code has no channel for collective submitters: refuse while such items exist."""
    collective = _items.c.channel.in_(_NEWER_CHANNELS)
    found = (
        conn.execute(sa.select(_items.c.id).where(collective).order_by(_items.c.id).limit(20))
        .scalars()
        .all()
    )
    if found:
        total = conn.execute(
            sa.select(sa.func.count()).select_from(_items).where(collective)
        ).scalar_one()
        raise RuntimeError(
            "cannot downgrade below 0004: 0003-era code has no channel 'collective' "
            "(集体报送), and these items were submitted through it: "
            + ", ".join(found)
            + (f" and {total - len(found)} more" if total > len(found) else "")
        )


def _drop_newer_account_events(conn: sa.Connection) -> None:
    """Delete the events of kinds 0003-era code does not know; renumber the rest 1, 2, 3…."""
    e = _account_events
    newer = e.c.kind.in_(_NEWER_ACCOUNT_EVENTS)
    touched = conn.execute(sa.select(e.c.account_id).where(newer).distinct()).scalars().all()
    for account_id in touched:
        kept = conn.execute(
            sa.select(e.c.sequence, e.c.doc)
            .where(e.c.account_id == account_id, sa.not_(newer))
            .order_by(e.c.sequence)
        ).all()
        conn.execute(sa.delete(e).where(e.c.account_id == account_id, newer))
        # ascending, so each new (smaller) sequence is already free
        for sequence, row in enumerate(kept, start=1):
            if row.sequence != sequence:
                doc = json.loads(row.doc)
                doc["sequence"] = sequence
                conn.execute(
                    sa.update(e)
                    .where(e.c.account_id == account_id, e.c.sequence == row.sequence)
                    .values(sequence=sequence, doc=_dumps(doc))
                )


def downgrade() -> None:
    conn = op.get_bind()
    _refuse_collective_items(conn)  # before any change
    _strip_item_documents(conn)
    _drop_newer_account_events(conn)
    op.drop_index(_OVERRUNS_INDEX, table_name="qd_review_overruns")
    op.drop_table("qd_review_overruns")
    for name in _ASSIGNMENT_INDEXES:
        op.drop_index(name, table_name="qd_assignments")
    for name in _ITEM_INDEXES:
        op.drop_index(name, table_name="qd_items")
    for table, columns in _new_columns().items():
        for column in columns:
            op.drop_column(table, column.name)
