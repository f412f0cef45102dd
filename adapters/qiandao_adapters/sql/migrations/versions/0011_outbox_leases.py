"""The outbox's states, backoff and dispatcher leases; named leases for the periodic job.

Upgrade: ``qd_outbox`` gains ``state`` (``dispatched`` for rows already sent, else ``pending``),
``next_attempt_at`` (the row's ``recorded_at``: every waiting notice is due at once),
``claimed_by`` / ``lease_until`` (the dispatcher holding it), ``last_attempt_at`` and
``last_error``; its index becomes (state, next_attempt_at, seq). ``qd_leases`` holds one row per
named lease (the periodic job's run).

Downgrade drops ``qd_leases`` and the new columns: dead and discarded notices count as
dispatched again (the older code would otherwise send them forever); pending ones stay pending.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_INDEX = "ix_qd_outbox_dispatched_at_attempts_recorded_at_seq"
_NEW_INDEX = "ix_qd_outbox_state_next_attempt_at_seq"
_NEW_COLUMNS = (
    "state",
    "next_attempt_at",
    "claimed_by",
    "lease_until",
    "last_attempt_at",
    "last_error",
)
_outbox = sa.table(
    "qd_outbox",
    sa.column("recorded_at", UtcDateTime()),
    sa.column("dispatched_at", UtcDateTime()),
    sa.column("last_attempt_at", UtcDateTime()),
    sa.column("state", Key(32)),
    sa.column("next_attempt_at", UtcDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("qd_outbox") as batch:
        batch.add_column(sa.Column("state", Key(32), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("claimed_by", Key(128), nullable=True))
        batch.add_column(sa.Column("lease_until", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("last_error", Key(128), nullable=True))
    t = _outbox
    sent = sa.case((t.c.dispatched_at.is_(None), "pending"), else_="dispatched")
    op.execute(sa.update(t).values(state=sent, next_attempt_at=t.c.recorded_at))
    with op.batch_alter_table("qd_outbox") as batch:
        batch.alter_column("state", existing_type=Key(32), nullable=False)
        batch.alter_column("next_attempt_at", existing_type=UtcDateTime(), nullable=False)
        batch.drop_index(_OLD_INDEX)
        batch.create_index(_NEW_INDEX, ["state", "next_attempt_at", "seq"])
    op.create_table(
        "qd_leases",
        sa.Column("name", Key(32), nullable=False),
        sa.Column("owner", Key(128), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_qd_leases"),
        **MYSQL_TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table("qd_leases")
    t = _outbox
    given_up = sa.and_(t.c.dispatched_at.is_(None), t.c.state.in_(["dead", "discarded"]))
    at = sa.func.coalesce(t.c.last_attempt_at, t.c.recorded_at)
    op.execute(sa.update(t).where(given_up).values(dispatched_at=at))
    with op.batch_alter_table("qd_outbox") as batch:
        batch.drop_index(_NEW_INDEX)
        batch.create_index(_OLD_INDEX, ["dispatched_at", "attempts", "recorded_at", "seq"])
        for column in _NEW_COLUMNS:
            batch.drop_column(column)
