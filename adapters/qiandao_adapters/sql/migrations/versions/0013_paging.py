"""Keyset paging (issue 11): the item indexes carry the id that breaks ties.

Upgrade: ``(published, issued_at)`` becomes ``(published, issued_at, id)`` and ``(created_at)``
becomes ``(created_at, id)``, so a page of published items, or of all items newest first,
starting after a cursor is one index range read backwards, whatever its depth. No row changes.

Downgrade restores the two former indexes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_T = "qd_items"
_NEW: tuple[tuple[str, ...], ...] = (("published", "issued_at", "id"), ("created_at", "id"))
_OLD: tuple[tuple[str, ...], ...] = (("published", "issued_at"), ("created_at",))


def _name(columns: Sequence[str]) -> str:
    return f"ix_{_T}_{'_'.join(columns)}"


def upgrade() -> None:
    for columns in _NEW:
        op.create_index(_name(columns), _T, list(columns), unique=False)
    for columns in _OLD:
        op.drop_index(_name(columns), table_name=_T)


def downgrade() -> None:
    for columns in _OLD:
        op.create_index(_name(columns), _T, list(columns), unique=False)
    for columns in _NEW:
        op.drop_index(_name(columns), table_name=_T)
