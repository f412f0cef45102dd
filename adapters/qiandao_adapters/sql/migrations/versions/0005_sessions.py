"""Sessions purged by index: ``qd_sessions.expires_at``.

Upgrade: add to ``qd_sessions`` the nullable column ``expires_at`` (when the session ends unless
used again: the idle timeout after ``last_seen``, capped by the absolute lifetime after
``created_at``) and its index ``ix_qd_sessions_expires_at``, by which the periodic job deletes
ended sessions. Existing rows are backfilled from their documents with the figures every
profile shares (30 idle minutes, 12 hours at most; the longest of the profiles, so no live
session is purged early); their documents are left as they are.

Downgrade drops the index and the column, and returns the documents to the shape 0004-era code
reads (its converter forbids unknown keys): every session document loses ``expires_at`` and every
account document loses ``password_history`` (the hashes of the replaced passwords: the last
passwords may then be reused).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from qiandao.accounts import PasswordPolicy
from qiandao.model import Session
from qiandao.rules.ruleset import PasswordProfile
from qiandao_adapters.sql.rows import loads
from qiandao_adapters.sql.schema import Key, UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500  # rows read per round trip
_INDEX = "ix_qd_sessions_expires_at"

_sessions = sa.table(
    "qd_sessions",
    sa.column("token_hash", Key(128)),
    sa.column("doc", sa.Text()),
    sa.column("expires_at", UtcDateTime()),
)
_accounts = sa.table(
    "qd_accounts",
    sa.column("id", Key(64)),
    sa.column("doc", sa.Text()),
)


def _documents(conn: sa.Connection, table: sa.TableClause, key: str) -> Iterator[tuple[str, str]]:
    """Every row's key and document, in batches by key (a large table is never read at once)."""
    column = table.c[key]
    after: str | None = None
    while True:
        stmt = sa.select(column, table.c.doc).order_by(column).limit(_BATCH)
        if after is not None:
            stmt = stmt.where(column > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            yield row[0], row[1]
        after = rows[-1][0]


def _expiry(session: Session) -> datetime:
    """When a session stored before 0005 ends unless used again, under the longest profile."""
    policies = [PasswordPolicy.for_profile(p) for p in PasswordProfile]
    idle = max(p.idle_timeout for p in policies)
    lifetime = max(p.session_lifetime for p in policies)
    return min(session.last_seen + idle, session.created_at + lifetime)


def upgrade() -> None:
    op.add_column("qd_sessions", sa.Column("expires_at", UtcDateTime(), nullable=True))
    conn = op.get_bind()
    for token_hash, doc in list(_documents(conn, _sessions, "token_hash")):
        expires = _expiry(loads(doc, Session))
        conn.execute(
            sa.update(_sessions)
            .where(_sessions.c.token_hash == token_hash)
            .values(expires_at=expires)
        )
    op.create_index(_INDEX, "qd_sessions", ["expires_at"], unique=False)


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _strip(conn: sa.Connection, table: sa.TableClause, key: str, newer: str) -> None:
    """Remove the key ``newer`` from every document of ``table`` that has it."""
    for row_key, text in list(_documents(conn, table, key)):
        doc = json.loads(text)
        if newer in doc:
            del doc[newer]
            conn.execute(sa.update(table).where(table.c[key] == row_key).values(doc=_dumps(doc)))


def downgrade() -> None:
    conn = op.get_bind()
    _strip(conn, _sessions, "token_hash", "expires_at")
    _strip(conn, _accounts, "id", "password_history")
    op.drop_index(_INDEX, table_name="qd_sessions")
    op.drop_column("qd_sessions", "expires_at")
