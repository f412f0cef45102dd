"""Units and jurisdictions as data: unit versions and events, the jurisdictions table.

Upgrade: ``qd_units`` gains ``version`` (every existing unit at 1, as its document reads
without one); create ``qd_unit_events`` (each unit's log: added, renamed, merged, absorbed,
retired; the document is the event) and ``qd_jurisdictions`` (code, display name, parent link,
version), seeded with 舟山市 and its four 县（区）. No existing row changes otherwise.

Downgrade drops both tables and the column, and rewrites each unit's document without the
fields older code does not read (``version``, ``merged_into``): a merged unit stays retired.
It is refused, before any change, while an item event records a unit merge (``unit_merged``):
older code cannot read those events (they are sealed, so they cannot be rewritten here).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from qiandao_adapters.sql.schema import MYSQL_TABLE_OPTIONS, Key, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONS = MYSQL_TABLE_OPTIONS
_DOCUMENT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_SEED = [  # as this revision knows them (not as the model may describe them later)
    ("zhoushan", "舟山市", None),
    ("zhoushan.dinghai", "定海区", "zhoushan"),
    ("zhoushan.putuo", "普陀区", "zhoushan"),
    ("zhoushan.daishan", "岱山县", "zhoushan"),
    ("zhoushan.shengsi", "嵊泗县", "zhoushan"),
]
_units = sa.table(
    "qd_units",
    sa.column("id", Key(64)),
    sa.column("version", sa.Integer()),
    sa.column("doc", sa.Text()),
)
_events = sa.table("qd_events", sa.column("kind", Key(32)))


def upgrade() -> None:
    op.add_column("qd_units", sa.Column("version", sa.Integer(), nullable=True))
    op.execute(sa.update(_units).values(version=1))
    with op.batch_alter_table("qd_units") as batch:
        batch.alter_column("version", existing_type=sa.Integer(), nullable=False)
    op.create_table(
        "qd_unit_events",
        sa.Column("unit_id", Key(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", Key(32), nullable=False),
        sa.Column("actor_id", Key(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("doc", _DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["qd_units.id"],
            name="fk_qd_unit_events_unit_id_qd_units",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "sequence", name="pk_qd_unit_events"),
        **_OPTIONS,
    )
    places = op.create_table(
        "qd_jurisdictions",
        sa.Column("code", Key(64), nullable=False),
        sa.Column("name", Key(100), nullable=False),
        sa.Column("parent", Key(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_qd_jurisdictions"),
        **_OPTIONS,
    )
    assert places is not None
    op.bulk_insert(
        places,
        [{"code": c, "name": n, "parent": p, "version": 1} for c, n, p in _SEED],
    )


def downgrade() -> None:
    bind = op.get_bind()
    merges = bind.execute(
        sa.select(sa.func.count()).select_from(_events).where(_events.c.kind == "unit_merged")
    ).scalar()
    if merges:
        raise RuntimeError(
            f"不能降级到 0009：{merges} 条信息事件记录了承办单位合并（unit_merged），旧版本无法读取"
        )
    for unit_id, doc in bind.execute(sa.select(_units.c.id, _units.c.doc)).all():
        body = json.loads(doc)
        body.pop("version", None)
        body.pop("merged_into", None)
        bind.execute(
            sa.update(_units)
            .where(_units.c.id == unit_id)
            .values(doc=json.dumps(body, ensure_ascii=False, separators=(",", ":")))
        )
    op.drop_table("qd_jurisdictions")
    op.drop_table("qd_unit_events")
    with op.batch_alter_table("qd_units") as batch:
        batch.drop_column("version")
