"""三员分立: proposed content grants and each jurisdiction's password policy log.

Upgrade: create ``qd_grant_proposals`` (a content grant the system admin proposed, waiting for
or decided by the security admin: id, version, account, the grant's jurisdiction, state,
proposed_at and the document) and ``qd_password_policies`` (the append-only log of a
jurisdiction's password and lockout policy changes; the latest is in force). No existing row
changes: grants held before stay held.

Downgrade drops both tables: every jurisdiction falls back to its rules' profile, and pending
proposals are lost (an account registered for one keeps no grant and no password, so it never
signs in; register it again after the upgrade). The account events older code cannot read are
rewritten: ``grant_approved`` becomes ``grant_added`` (the grant joined the account), and
``grant_proposed`` and ``grant_rejected`` are removed, the account's later events renumbered so
its sequences still run 1, 2, 3…

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS  # InnoDB, utf8mb4, binary collation
_DOCUMENT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_PROPOSALS = "qd_grant_proposals"
_POLICIES = "qd_password_policies"
_BY_PLACE = "ix_qd_grant_proposals_jurisdiction_state_proposed_at"
_BY_ACCOUNT = "ix_qd_grant_proposals_account_id"
_REMOVED = ("grant_proposed", "grant_rejected")
_RENAMED = {"grant_approved": "grant_added"}

# the table as this revision knows it (not as ``schema`` may describe it later)
_events = sa.table(
    "qd_account_events",
    sa.column("account_id", Key(64)),
    sa.column("sequence", sa.Integer()),
    sa.column("kind", Key(32)),
    sa.column("actor_id", Key(64)),
    sa.column("at", UtcDateTime()),
    sa.column("doc", sa.Text()),
)


def upgrade() -> None:
    op.create_table(
        _PROPOSALS,
        sa.Column("id", Key(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("account_id", Key(64), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("state", Key(32), nullable=False),
        sa.Column("proposed_at", UtcDateTime(), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["qd_accounts.id"],
            name=f"fk_{_PROPOSALS}_account_id_qd_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{_PROPOSALS}"),
        **_OPTIONS,
    )
    op.create_index(_BY_PLACE, _PROPOSALS, ["jurisdiction", "state", "proposed_at"])
    op.create_index(_BY_ACCOUNT, _PROPOSALS, ["account_id"])
    op.create_table(
        _POLICIES,
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("actor_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        sa.PrimaryKeyConstraint("jurisdiction", "sequence", name=f"pk_{_POLICIES}"),
        **_OPTIONS,
    )


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _rewrite_events(conn: sa.Connection, account_id: str) -> None:
    """The account's log without the kinds older code lacks, renumbered from 1."""
    e = _events
    rows = conn.execute(
        sa.select(e.c.kind, e.c.actor_id, e.c.at, e.c.doc)
        .where(e.c.account_id == account_id)
        .order_by(e.c.sequence)
    ).all()
    kept: list[dict[str, Any]] = []
    for row in rows:
        if row.kind in _REMOVED:
            continue
        kind = _RENAMED.get(row.kind, row.kind)
        doc = json.loads(row.doc)
        doc["kind"], doc["sequence"] = kind, len(kept) + 1
        kept.append(
            {
                "account_id": account_id,
                "sequence": len(kept) + 1,
                "kind": kind,
                "actor_id": row.actor_id,
                "at": row.at,
                "doc": _dumps(doc),
            }
        )
    conn.execute(sa.delete(e).where(e.c.account_id == account_id))
    if kept:
        conn.execute(sa.insert(e), kept)


def downgrade() -> None:
    conn = op.get_bind()
    newer = (*_REMOVED, *_RENAMED)
    touched = conn.execute(
        sa.select(_events.c.account_id).where(_events.c.kind.in_(newer)).distinct()
    ).scalars()
    for account_id in sorted(touched):
        _rewrite_events(conn, account_id)
    op.drop_table(_POLICIES)
    op.drop_table(_PROPOSALS)  # with its indexes (MariaDB keeps the foreign key's otherwise)
