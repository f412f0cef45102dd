"""The change feed: a store-wide position for every item event.

Upgrade: add to ``qd_events`` the column ``position`` (1, 2, 3... over the whole log, the
cursor of ``Qiandao.events_since``) with the unique constraint ``uq_qd_events_position``, and
create ``qd_event_log_head`` (one row, ``events``: the last position given, locked by each
commit that appends events so that positions follow commit order). Existing events are numbered
in a deterministic order, (``at``, ``item_id``, ``sequence``), and the head is set to their
count. No document changes.

Downgrade drops the head table, the constraint and the column (followers' cursors are lost).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000  # rows numbered per round trip
_UNIQUE = "uq_qd_events_position"

_events = sa.table(
    "qd_events",
    sa.column("id", Key(64)),
    sa.column("item_id", Key(64)),
    sa.column("sequence", sa.Integer()),
    sa.column("at", UtcDateTime()),
    sa.column("position", sa.BigInteger()),
)


def _number(conn: sa.Connection) -> int:
    """Give every event its position in (at, item_id, sequence) order, in batches by keyset;
    how many were numbered."""
    e = _events
    order = (e.c.at, e.c.item_id, e.c.sequence)
    done = 0
    after: tuple[object, ...] | None = None
    while True:
        stmt = sa.select(e.c.id, *order).order_by(*order).limit(_BATCH)
        if after is not None:
            bound = (sa.literal(v, c.type) for v, c in zip(after, order, strict=True))
            stmt = stmt.where(sa.tuple_(*order) > sa.tuple_(*bound))
        rows = conn.execute(stmt).all()
        if not rows:
            return done
        conn.execute(
            sa.update(e).where(e.c.id == sa.bindparam("row_id")).values(position=sa.bindparam("p")),
            [{"row_id": row.id, "p": done + n} for n, row in enumerate(rows, start=1)],
        )
        done += len(rows)
        last = rows[-1]
        after = (last.at, last.item_id, last.sequence)


def upgrade() -> None:
    op.add_column("qd_events", sa.Column("position", sa.BigInteger(), nullable=True))
    count = _number(op.get_bind())
    with op.batch_alter_table("qd_events") as batch:
        batch.alter_column("position", existing_type=sa.BigInteger(), nullable=False)
        batch.create_unique_constraint(_UNIQUE, ["position"])
    head = op.create_table(
        "qd_event_log_head",
        sa.Column("name", Key(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_qd_event_log_head"),
        **MYSQL_TABLE_OPTIONS,
    )
    assert head is not None
    op.bulk_insert(head, [{"name": "events", "position": count}])


def downgrade() -> None:
    op.drop_table("qd_event_log_head")
    with op.batch_alter_table("qd_events") as batch:
        batch.drop_constraint(_UNIQUE, type_="unique")
        batch.drop_column("position")
