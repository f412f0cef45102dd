"""Role grants: one person, one account, several roles; and the account event log.

Upgrade: create ``qd_account_grants`` (one row per grant, indexed by jurisdiction and role) and
``qd_account_events``; give every account one grant, its old role in its jurisdiction with its
unit (the unit lived only in the document), rewriting each document to the new shape; drop
``qd_accounts.role``. Downgrade: single-role accounts again, refused (before any change) while an
active or locked account holds several grants (a departed account, whose grants cannot be revoked,
keeps its first); the account event log is dropped, and every session document loses its selected
``grant``, which 0002-era code does not know (the converter forbids unknown keys).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS  # InnoDB, utf8mb4, binary collation
_BATCH = 500  # accounts read and rewritten per round trip
_GRANTS_INDEX = "ix_qd_account_grants_jurisdiction_role"
_DOCUMENT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

# the tables as this revision knows them (not as ``schema`` may describe them later)
_accounts = sa.table(
    "qd_accounts",
    sa.column("id", Key(64)),
    sa.column("jurisdiction", Key(64)),
    sa.column("role", Key(32)),
    sa.column("doc", sa.Text()),
)
_grants = sa.table(
    "qd_account_grants",
    sa.column("account_id", Key(64)),
    sa.column("seq", sa.Integer()),
    sa.column("role", Key(32)),
    sa.column("jurisdiction", Key(64)),
    sa.column("unit_id", Key(64)),
)
_sessions = sa.table(
    "qd_sessions",
    sa.column("token_hash", Key(64)),
    sa.column("doc", sa.Text()),
)
_identities = sa.table(
    "qd_external_identities",
    sa.column("provider", Key(64)),
    sa.column("subject", Key(255)),
    sa.column("account_id", Key(64)),
)


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _batches(conn: sa.Connection, table: Any, key: str, *columns: Any) -> Iterator[sa.Row[Any]]:
    """The rows of ``table`` (``key`` and ``columns``) in batches by ``key``."""
    after: str | None = None
    while True:
        stmt = sa.select(table.c[key], *columns).order_by(table.c[key]).limit(_BATCH)
        if after is not None:
            stmt = stmt.where(table.c[key] > after)
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def _stored_accounts(conn: sa.Connection) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """Every account's id, role column (``None`` once dropped) and document, in id batches."""
    role = _accounts.c.role if _has_role(conn) else sa.null()
    for row in _batches(conn, _accounts, "id", role.label("role"), _accounts.c.doc):
        yield row.id, row.role, json.loads(row.doc)


def _has_role(conn: sa.Connection) -> bool:
    return any(c["name"] == "role" for c in sa.inspect(conn).get_columns("qd_accounts"))


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"],
        ["qd_accounts.id"],
        name=f"fk_{table}_account_id_qd_accounts",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "qd_account_grants",
        sa.Column("account_id", Key(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", Key(32), nullable=False),
        sa.Column("jurisdiction", Key(64), nullable=False),
        sa.Column("unit_id", Key(64), nullable=True),
        _account_fk("qd_account_grants"),
        sa.PrimaryKeyConstraint("account_id", "seq", name="pk_qd_account_grants"),
        **_OPTIONS,
    )
    op.create_index(_GRANTS_INDEX, "qd_account_grants", ["jurisdiction", "role"], unique=False)
    op.create_table(
        "qd_account_events",
        sa.Column("account_id", Key(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", Key(32), nullable=False),
        sa.Column("actor_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        _account_fk("qd_account_events"),
        sa.PrimaryKeyConstraint("account_id", "sequence", name="pk_qd_account_events"),
        **_OPTIONS,
    )

    conn = op.get_bind()
    grants: list[dict[str, Any]] = []
    for account_id, role, doc in _stored_accounts(conn):
        old_role = doc.pop("role", role)
        unit_id = doc.pop("unit_id", None)
        grant = {"role": old_role, "jurisdiction": doc["jurisdiction"], "unit_id": unit_id}
        doc["grants"] = [grant]
        conn.execute(
            sa.update(_accounts).where(_accounts.c.id == account_id).values(doc=_dumps(doc))
        )
        grants.append({"account_id": account_id, "seq": 1, **grant})
        if len(grants) >= _BATCH:
            conn.execute(sa.insert(_grants), grants)
            grants = []
    if grants:
        conn.execute(sa.insert(_grants), grants)
    _drop_role(conn)


def _drop_role(conn: sa.Connection) -> None:
    """Drop ``qd_accounts.role``; SQLite drops it in place (a batch copy of the table would
    cascade-delete the rows of its child tables, since foreign keys are enforced)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ALTER TABLE qd_accounts DROP COLUMN role")
    else:
        op.drop_column("qd_accounts", "role")


# --- downgrade: single-role accounts ----------------------------------------------------------


def _strip_session_grants(conn: sa.Connection) -> None:
    """Every session document without ``grant`` (0002-era code refuses unknown keys)."""
    for row in _batches(conn, _sessions, "token_hash", _sessions.c.doc):
        doc = json.loads(row.doc)
        if "grant" in doc:
            del doc["grant"]
            conn.execute(
                sa.update(_sessions)
                .where(_sessions.c.token_hash == row.token_hash)
                .values(doc=_dumps(doc))
            )


def downgrade() -> None:
    conn = op.get_bind()
    stored = list(_stored_accounts(conn))
    # a departed account's grants cannot be revoked (it keeps them for attribution): it keeps
    # its first grant; anyone else must be left with one grant by the admin first
    several = sorted(
        account_id
        for account_id, _, doc in stored
        if len(doc["grants"]) != 1 and doc.get("status") != "deleted"
    )
    if several:
        raise RuntimeError(
            "cannot downgrade below 0003: these accounts hold several role grants "
            f"(revoke all but one first): {', '.join(several[:20])}"
            + (f" and {len(several) - 20} more" if len(several) > 20 else "")
        )
    identities = [dict(r._mapping) for r in conn.execute(sa.select(_identities))]
    op.drop_index(_GRANTS_INDEX, table_name="qd_account_grants")
    op.drop_table("qd_account_grants")
    op.drop_table("qd_account_events")
    op.add_column("qd_accounts", sa.Column("role", Key(32), nullable=True))
    for account_id, _, doc in stored:
        grant = doc.pop("grants")[0]
        doc["role"] = grant["role"]
        doc["unit_id"] = grant["unit_id"]
        doc["jurisdiction"] = grant["jurisdiction"]
        conn.execute(
            sa.update(_accounts)
            .where(_accounts.c.id == account_id)
            .values(role=grant["role"], jurisdiction=grant["jurisdiction"], doc=_dumps(doc))
        )
    # SQLite copies the table to change a column's nullability; with foreign keys enforced, that
    # deletes the external identities (ON DELETE CASCADE), so they are put back afterwards.
    with op.batch_alter_table("qd_accounts") as batch:
        batch.alter_column("role", existing_type=Key(32), nullable=False)
    kept = conn.execute(sa.select(sa.func.count()).select_from(_identities)).scalar()
    if kept != len(identities):
        conn.execute(sa.delete(_identities))
        if identities:
            conn.execute(sa.insert(_identities), identities)
    _strip_session_grants(conn)
