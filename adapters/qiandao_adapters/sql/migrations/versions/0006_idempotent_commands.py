"""Idempotency keys on every command: ``qd_idempotency`` remembers which command a key ran.

Upgrade: rename ``qd_idempotency.item_id`` to ``result_id`` (the id of the record the first call
produced: an item, an account or a commission) and add ``command`` (the public command's name).
Existing rows were written by ``submit_new`` and get ``command = 'submit_new'``; their keys and
fingerprints are unchanged, so a retry of an old submission still returns its item.

Downgrade deletes the keys of every other command (0005-era code would read their result as an
item id), then drops ``command`` and renames ``result_id`` back to ``item_id``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from qiandao_adapters.sql.schema import Key

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "qd_idempotency"
_SUBMIT = "submit_new"  # the one command that took a key before 0006
_keys = sa.table(_TABLE, sa.column("command", Key(64)))


def _id_type() -> sa.types.TypeEngine[str]:
    """The id column's type as ALTER must restate it (SQLite's table copy takes the plain one)."""
    return sa.String(64) if op.get_bind().dialect.name == "sqlite" else Key(64)


def upgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.alter_column(
            "item_id", new_column_name="result_id", existing_type=_id_type(), nullable=False
        )
        batch.add_column(sa.Column("command", Key(64), nullable=True))
    op.get_bind().execute(sa.update(_keys).values(command=_SUBMIT))
    with op.batch_alter_table(_TABLE) as batch:
        batch.alter_column("command", existing_type=_id_type(), nullable=False)


def downgrade() -> None:
    op.get_bind().execute(sa.delete(_keys).where(_keys.c.command != _SUBMIT))
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column("command")
        batch.alter_column(
            "result_id", new_column_name="item_id", existing_type=_id_type(), nullable=False
        )
