"""The periodic job reads only what is due: ``qd_assignments.attention`` and ``attention_day``.

Upgrade: add to ``qd_assignments`` the nullable columns ``attention`` (what the job does next for
the assignment: ``due_soon``, ``due_today``, ``overdue``, ``very_overdue`` or ``rating_close``;
:func:`qiandao.attention.attention`) and ``attention_day`` (the due day, or the last day of the
rating window), and the index ``ix_qd_assignments_attention`` (attention, attention_day, id,
item_id). Existing rows are backfilled from their clear columns, since the documents may be
sealed: a window awaiting its first rating is ``rating_close`` on ``rating_pending_until``; an
assignment awaiting its unit whose very-overdue reminder has not gone out is ``due_soon`` on its
due day (the earliest it can be: no reminder is missed; one whose later reminders were already
sent is read by each run until its next reminder goes out, which writes its exact key); the
rest have none.

Downgrade drops the index and the columns (no document changes).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import Key

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_qd_assignments_attention"
_AWAITING_UNIT = ("pending", "accepted", "extension_requested")  # as of 0017

_assignments = sa.table(
    "qd_assignments",
    sa.column("state", Key(32)),
    sa.column("due", sa.Date()),
    sa.column("rating_pending_until", sa.Date()),
    sa.column("reminders_done", sa.Boolean()),
    sa.column("attention", Key(32)),
    sa.column("attention_day", sa.Date()),
)


def upgrade() -> None:
    op.add_column("qd_assignments", sa.Column("attention", Key(32), nullable=True))
    op.add_column("qd_assignments", sa.Column("attention_day", sa.Date(), nullable=True))
    a = _assignments.c
    op.execute(
        _assignments.update()
        .where(a.rating_pending_until.is_not(None), a.state.not_in(_AWAITING_UNIT))
        .values(attention="rating_close", attention_day=a.rating_pending_until)
    )
    op.execute(
        _assignments.update()
        .where(a.state.in_(_AWAITING_UNIT), a.reminders_done == sa.false())
        .values(attention="due_soon", attention_day=a.due)
    )
    op.create_index(
        _INDEX, "qd_assignments", ["attention", "attention_day", "id", "item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="qd_assignments")
    with op.batch_alter_table("qd_assignments") as batch:
        batch.drop_column("attention_day")
        batch.drop_column("attention")
