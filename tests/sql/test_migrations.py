"""Alembic: ``upgrade`` builds exactly ``schema.metadata`` on an empty database (no drift)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Engine,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    column,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import (
    table as light_table,
)

from qiandao import Actor, Qiandao
from qiandao.accounts import PasswordPolicy, PolicyChange, hash_token
from qiandao.attention import Attention, attention
from qiandao.events import Event, EventKind, replay
from qiandao.lanes import Lane
from qiandao.model import (
    Account,
    AccountEvent,
    AccountEventKind,
    AccountStatus,
    Channel,
    ExternalIdentity,
    GrantProposal,
    Item,
    ReviewOverrun,
    ReviewStage,
    RoleGrant,
    Unit,
)
from qiandao.ports.store import AttentionQuery, LaneQuery
from qiandao.queries import lane_counts, lane_rows, needing_attention
from qiandao.rules.deadlines import SHANGHAI, DeadlineStatus
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES
from qiandao.rules.points import Credit, CreditKind, LeaderRank, Period
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import PasswordProfile
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.statistics import StatisticsQuery, credits_of, statistics_of
from qiandao.testing import ManualClock, enrol
from qiandao.testing.builders import (
    sample_account,
    sample_events,
    sample_item,
    sample_session,
    sample_unit,
    statistics_corpus,
)
from qiandao.testing.store import attention_corpus
from qiandao.workflow import intake
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.sql import SqlStore, alembic_config, make_engine, metadata, upgrade
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.migrations import VERSION_TABLE
from qiandao_adapters.sql.rows import (
    account_row,
    assignment_row,
    credit_from_row,
    dumps,
    event_row,
    feedback_rows,
    item_children,
    item_row,
    loads,
    overrun_rows,
    text_rows,
)
from qiandao_adapters.sql.schema import Key, UtcDateTime
from tests.helpers import World, make_world
from tests.helpers import at as lane_at
from tests.sql.conftest import Backend, audit_tables_for_a_while, reset_schema
from tests.test_recompute import SCHEDULE_2027


def _drop_everything(engine: Engine) -> None:
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


@pytest.fixture
def empty(backend: Backend) -> Iterator[Engine]:
    """The backend's database with no qiandao table; the module schema is restored after."""
    _drop_everything(backend.engine)
    yield backend.engine
    reset_schema(backend.engine)


def _include(name: str | None, type_: str, _parents: Any) -> bool:
    return type_ != "table" or (name is not None and name.startswith("qd_"))


def _shape(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys and indexes as the database reports them."""
    inspector = inspect(engine)
    shape: dict[str, Any] = {}
    for table in sorted(t for t in inspector.get_table_names() if t.startswith("qd_")):
        if table == VERSION_TABLE:
            continue
        shape[table] = {
            "columns": [(c["name"], c["nullable"]) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")
                and i["name"] not in {u["name"] for u in inspector.get_unique_constraints(table)}
            ),
        }
    return shape


def _expected_shape() -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        shape[table.name] = {
            "columns": [(c.name, c.nullable) for c in table.columns],
            "primary_key": [c.name for c in table.primary_key.columns],
            "unique": sorted(
                (c.name, tuple(col.name for col in c.columns))
                for c in table.constraints
                if isinstance(c, UniqueConstraint)
            ),
            "foreign_keys": sorted(
                (
                    tuple(fk.parent.name for fk in c.elements),
                    c.referred_table.name,
                    tuple(fk.column.name for fk in c.elements),
                )
                for c in table.foreign_key_constraints
            ),
            "indexes": sorted(
                (i.name, tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes
            ),
        }
    return shape


def _collations(engine: Engine) -> set[tuple[str, str, str | None]]:
    """(table, column, collation) of every ``Key`` column, as the database reports it."""
    found: set[tuple[str, str, str | None]] = set()
    keys = {
        (t.name, c.name)
        for t in metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, Key)
    }
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name LIKE 'qd\\_%'"
                )
            )
        elif engine.dialect.name == "mysql":
            rows = conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = DATABASE() AND table_name LIKE 'qd\\_%'"
                )
            )
        else:
            return found
        for table, column, collation in rows:
            if (table, column) in keys:
                found.add((table, column, collation))
    return found


def _assert_no_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "version_table": VERSION_TABLE, "include_name": _include},
        )
        assert compare_metadata(context, metadata) == []
    assert _shape(engine) == _expected_shape()


def test_upgrade_builds_exactly_the_metadata(empty: Engine) -> None:
    upgrade(empty)
    _assert_no_drift(empty)
    with empty.connect() as conn:
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0017"


def test_upgrade_matches_create_all_down_to_collations(empty: Engine) -> None:
    """Key columns sort by code point: ``C`` on PostgreSQL, binary no-pad on MariaDB."""
    upgrade(empty)
    migrated = _collations(empty)
    _drop_everything(empty)
    metadata.create_all(empty)
    _assert_no_drift(empty)
    assert _collations(empty) == migrated
    if empty.dialect.name == "postgresql":
        assert {c for _, _, c in migrated} == {"C"}
    if empty.dialect.name == "mysql":
        assert {c for _, _, c in migrated} <= {"utf8mb4_nopad_bin", "utf8mb4_0900_bin"}
        assert len(migrated) > 0


def test_upgrade_is_idempotent_and_the_store_works_on_it(empty: Engine) -> None:
    upgrade(empty)
    upgrade(empty)
    store = SqlStore(empty, plaintext=True)
    with store.unit_of_work() as uow:
        uow.items.add(sample_item("item-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get("item-1") == sample_item("item-1")


def test_upgrade_from_a_url(sqlite_file: Any) -> None:
    url = sqlite_file()
    upgrade(url)
    engine = make_engine(url)
    try:
        _assert_no_drift(engine)
    finally:
        engine.dispose()


def test_downgrade_removes_every_table(empty: Engine) -> None:
    upgrade(empty)
    config = alembic_config()
    with empty.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert _shape(empty) == {}


# --- 0002: credits as rows ------------------------------------------------------------------

_OLD_AUTHORS = light_table(
    "qd_item_authors",
    column("item_id", Key(64)),
    column("account_id", Key(64)),
    column("is_author", Boolean()),
    column("jurisdiction", Key(64)),
    column("submitted_on", Date()),
    column("issued_on", Date()),
)
_OLD_FEEDBACK = light_table(
    "qd_feedback",
    *(column(name, Key(64)) for name in ("item_id", "kind", "level", "rank", "jurisdiction")),
    column("seq", Integer()),
    column("on_date", Date()),
    column("credited", Boolean()),
)
_QUARTERS = (Period.quarter(2025, 1), Period.quarter(2025, 2), Period.year(2025))


def _as_older(item: Item) -> Item:
    """``item`` as it reads after a downgrade below 0004: without the fields 0003-era code
    does not know (``state_since``, overruns, provisional rating windows, shared feedback)."""
    return attrs.evolve(
        item,
        state_since=None,
        review_overruns=(),
        assignments=tuple(attrs.evolve(a, rating_provisional=False) for a in item.assignments),
        feedback=tuple(attrs.evolve(f, shared_with_units=False) for f in item.feedback),
    )


def _downgradable(items: list[Item]) -> list[Item]:
    """``items`` without the channel 0003-era code lacks (collective items refuse a downgrade
    below 0004): their channel becomes ``member``."""
    return [
        attrs.evolve(i, channel=Channel.MEMBER) if i.channel is Channel.COLLECTIVE else i
        for i in items
    ]


def _before_0012(table: Table) -> list[Column[Any]]:
    """The columns of ``table`` a revision before 0012 has (``qd_events.position`` is new;
    so are the attention columns of 0017)."""
    return [
        c
        for c in table.c
        if not (table is s.events and c.name == "position")
        and not (table is s.assignments and c.name in _ATTENTION_COLUMNS)
    ]


def _at_revision(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


# the columns 0004 adds (absent before it)
_LANE_ITEM_COLUMNS = ("lane", "priority", "state_since", "destinations_key", "review_reminded")
_LANE_ASSIGNMENT_COLUMNS = ("priority", "office_lane", "unit_lane")
_ATTENTION_COLUMNS = ("attention", "attention_day")  # 0017


def _without(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in names}


def _write_before_lanes(engine: Engine, items: list[Item]) -> None:
    """The item and assignment rows as a store before 0004 wrote them."""
    with engine.begin() as conn:
        conn.execute(insert(s.items), [_without(item_row(i), _LANE_ITEM_COLUMNS) for i in items])
        conn.execute(
            insert(s.assignments),
            [
                _without(assignment_row(i, a), _LANE_ASSIGNMENT_COLUMNS + _ATTENTION_COLUMNS)
                for i in items
                for a in i.assignments
            ],
        )


def _write_at_0001(engine: Engine, items: list[Item]) -> None:
    """Items as the 0001 store kept them; the old credit columns stay empty, because the
    backfill must credit from the documents alone."""
    _write_before_lanes(engine, items)
    with engine.begin() as conn:
        conn.execute(insert(s.text_versions), [r for i in items for r in text_rows(i)])
        authors = [
            {
                "item_id": i.id,
                "account_id": p,
                "is_author": p in i.authors,
                "jurisdiction": i.jurisdiction,
            }
            for i in items
            for p in sorted(i.authors | i.merged_authors)
        ]
        conn.execute(insert(_OLD_AUTHORS), authors)
        feedback = [
            {**r, "jurisdiction": i.jurisdiction, "credited": False}
            for i in items
            for r in feedback_rows(i)
        ]
        conn.execute(insert(_OLD_FEEDBACK), feedback)


def _stored_credits(engine: Engine) -> dict[str, list[Credit]]:
    found: dict[str, list[Credit]] = {}
    with engine.connect() as conn:
        stmt = select(s.credits).order_by(s.credits.c.item_id, s.credits.c.seq)
        for row in conn.execute(stmt):
            found.setdefault(row.item_id, []).append(credit_from_row(row._mapping))
    return found


def _assert_credits_are_credits_of(engine: Engine, items: list[Item]) -> None:
    assert _stored_credits(engine) == {i.id: credits_of(i) for i in items if credits_of(i)}
    with engine.connect() as conn:
        authors = set(conn.execute(select(s.item_authors.c.item_id, s.item_authors.c.account_id)))
    assert authors == {(i.id, p) for i in items for p in i.authors}
    with SqlStore(engine, plaintext=True, check_revision=False).unit_of_work() as uow:
        assert [uow.items.get(i.id) for i in items] == items
        for period in _QUARTERS:
            for jurisdiction in (None, "zhoushan"):
                query = StatisticsQuery(jurisdiction, period, date(2025, 5, 1))
                assert uow.items.statistics(query) == statistics_of(items, query)


def test_upgrade_from_0001_backfills_credits_of_every_item(empty: Engine) -> None:
    items = statistics_corpus(60)
    _at_revision(empty, "0001")
    _write_at_0001(empty, items)
    upgrade(empty)
    _assert_no_drift(empty)
    _assert_credits_are_credits_of(empty, items)


def test_downgrade_to_0001_restores_its_columns_and_upgrade_again(empty: Engine) -> None:
    items = _downgradable(statistics_corpus(60, seed=7))
    upgrade(empty)
    with SqlStore(empty, plaintext=True, check_revision=False).unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.commit()
    _at_revision(empty, "0001", down=True)
    with empty.connect() as conn:
        authors = {(r.item_id, r.account_id): r for r in conn.execute(select(_OLD_AUTHORS))}
        credited = Counter(r.item_id for r in conn.execute(select(_OLD_FEEDBACK)) if r.credited)
    assert set(authors) == {(i.id, p) for i in items for p in i.authors | i.merged_authors}
    for item in items:
        credits = credits_of(item)
        for (item_id, person), row in authors.items():
            if item_id == item.id:
                assert row.is_author == (person in item.authors)
                mine = {c.kind: c.on for c in credits if c.person_id == person}
                assert row.submitted_on == mine.get(CreditKind.SUBMITTED)
                assert row.issued_on == mine.get(CreditKind.ADOPTED)
        # each credited feedback record earns one credit per person credited with adoption
        kinds = Counter(c.kind for c in credits)
        earned = kinds[CreditKind.ADOPTED_BY] + kinds[CreditKind.INSTRUCTION]
        assert earned == credited[item.id] * kinds[CreditKind.ADOPTED]
    upgrade(empty)
    _assert_no_drift(empty)
    _assert_credits_are_credits_of(empty, [_as_older(i) for i in items])


# --- 0003: role grants ------------------------------------------------------------------------

_OLD_ACCOUNTS = light_table(
    "qd_accounts",
    *(column(name, Key(64)) for name in ("id", "phone", "jurisdiction", "role", "status")),
    column("version", Integer()),
    column("doc", Text()),
)
_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
_PASSWORD = "Haidao#2026wind"


def _old_doc(account: Account, role: Role, unit_id: str | None) -> dict[str, Any]:
    """The 0002 document of ``account``: one role and a unit, no grants."""
    doc = json.loads(dumps(account))
    del doc["grants"]
    return {**doc, "role": role.value, "unit_id": unit_id}


_OLD_UNITS = light_table(
    "qd_units", column("id"), column("jurisdiction"), column("active"), column("doc")
)
"""``qd_units`` as revisions before 0010 knew it (no ``version``)."""


def _old_unit(unit: Unit) -> dict[str, Any]:
    """The ``qd_units`` row of ``unit`` as code before 0010 wrote it."""
    body = {
        "id": unit.id,
        "name": unit.name,
        "jurisdiction": unit.jurisdiction,
        "active": unit.active,
    }
    return {
        "id": unit.id,
        "jurisdiction": unit.jurisdiction,
        "active": unit.active,
        "doc": json.dumps(body, ensure_ascii=False),
    }


def _people_at_0002(engine: Engine) -> dict[str, tuple[Role, str, str | None]]:
    """An account of every role (a unit account, a departed one, one bound to 浙政钉) and a
    live session, written as 0002 kept them; their role, jurisdiction and unit by id."""
    hashed = Argon2Hasher.fast().hash(_PASSWORD)
    people: dict[str, tuple[Role, str, str | None]] = {}
    rows: list[dict[str, Any]] = []
    for number, role in enumerate(Role):
        account_id = f"acc-{role.value}"
        place = "dinghai" if role is Role.HANDLING_UNIT else "zhoushan"
        unit = "u-'%_" if role is Role.HANDLING_UNIT else None
        account = sample_account(
            account_id,
            phone=f"1380000{number:04d}",
            jurisdiction=place,
            password_hash=hashed,
            password_changed_at=_NOW - timedelta(days=1),
            failed_attempts=0,
            locked_until=None,
            lock_reason="",
            external_ids=frozenset(),
        )
        if role is Role.ORGANISATION:  # departed: no phone, no credentials
            account = attrs.evolve(
                account, phone=None, password_hash=None, status=AccountStatus.DELETED
            )
        if role is Role.MEMBER:
            account = attrs.evolve(account, external_ids=frozenset({ExternalIdentity("zzd", "z")}))
        people[account_id] = (role, place, unit)
        row = {**account_row(account), "role": role.value}
        rows.append({**row, "doc": json.dumps(_old_doc(account, role, unit), ensure_ascii=False)})
    session = json.loads(
        dumps(
            sample_session(
                hash_token("tok-old"),
                "acc-editor",
                created_at=_NOW - timedelta(hours=1),
                last_seen=_NOW,
            )
        )
    )
    del session["grant"]
    session.pop("expires_at", None)  # 0002 knew no such key
    with engine.begin() as conn:
        conn.execute(insert(_OLD_UNITS), [_old_unit(sample_unit("u-'%_", jurisdiction="dinghai"))])
        conn.execute(insert(_OLD_ACCOUNTS), rows)
        conn.execute(
            insert(s.external_identities),
            [{"provider": "zzd", "subject": "z", "account_id": "acc-member"}],
        )
        conn.execute(
            insert(s.sessions),
            [
                {
                    "token_hash": hash_token("tok-old"),
                    "account_id": "acc-editor",
                    "revoked": False,
                    "doc": json.dumps(
                        {**session, "password_change_only": False}, ensure_ascii=False
                    ),
                }
            ],
        )
    return people


def _service(engine: Engine) -> Qiandao:
    return Qiandao(
        SqlStore(engine, plaintext=True, check_revision=False),
        clock=ManualClock(_NOW),
        hasher=Argon2Hasher.fast(),
    )


def test_upgrade_from_0002_gives_every_account_one_grant_and_downgrade_restores_roles(
    empty: Engine,
) -> None:
    _at_revision(empty, "0002")
    people = _people_at_0002(empty)
    upgrade(empty)
    _assert_no_drift(empty)
    qd = _service(empty)
    with SqlStore(empty, plaintext=True, check_revision=False).unit_of_work() as uow:
        for account_id, (role, place, unit) in people.items():
            account = uow.accounts.get(account_id)
            assert account.grants == (RoleGrant(role, place, unit),)
            assert account.jurisdiction == place
            departed = account.status is AccountStatus.DELETED
            assert uow.accounts.holders(role, place) == ([] if departed else [account])
            assert uow.accounts.events(account_id) == []
        assert uow.accounts.get("acc-organisation").status is AccountStatus.DELETED
        assert uow.accounts.by_external("zzd", "z") == uow.accounts.get("acc-member")
    assert qd.authenticate("tok-old") == Actor("acc-editor", Role.EDITOR, "zhoushan")
    for account_id, (role, place, unit) in people.items():
        if role is Role.ORGANISATION:
            continue
        with SqlStore(empty, plaintext=True, check_revision=False).unit_of_work() as uow:
            phone = uow.accounts.get(account_id).phone
        assert phone is not None
        signed = qd.sign_in(phone, _PASSWORD)
        assert signed.actor == Actor(account_id, role, place, unit)

    _at_revision(empty, "0002", down=True)
    with empty.connect() as conn:
        old = {r.id: r for r in conn.execute(select(_OLD_ACCOUNTS))}
        bound = conn.execute(select(s.external_identities.c.account_id)).scalars().all()
    assert bound == ["acc-member"]
    for account_id, (role, place, unit) in people.items():
        doc = json.loads(old[account_id].doc)
        assert (old[account_id].role, old[account_id].jurisdiction) == (role.value, place)
        assert (doc["role"], doc["unit_id"], doc["jurisdiction"]) == (role.value, unit, place)
        assert "grants" not in doc
    upgrade(empty)
    _assert_no_drift(empty)


def test_downgrade_below_0003_is_refused_while_someone_holds_several_grants(
    empty: Engine,
) -> None:
    upgrade(empty)
    store = SqlStore(empty, plaintext=True, check_revision=False)
    chair = sample_account(
        "acc-chair",
        grants=(RoleGrant(Role.MEMBER, "zhoushan"), RoleGrant(Role.CHAIR, "zhoushan")),
    )
    with store.unit_of_work() as uow:
        uow.accounts.add(chair)
        uow.commit()
    _at_revision(empty, "0003", down=True)
    with pytest.raises(RuntimeError, match="acc-chair"):
        _at_revision(empty, "0002", down=True)
    with empty.connect() as conn:
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0003"
    upgrade(empty)
    _assert_no_drift(empty)
    with store.unit_of_work() as uow:
        assert uow.accounts.get("acc-chair") == chair


# --- 0004: lanes -----------------------------------------------------------------------------


def _lane_corpus() -> list[Item]:
    """Items as documents before 0004 hold them (no ``state_since``), some with overruns."""
    items = [attrs.evolve(i, state_since=None) for i in statistics_corpus(60, seed=11)]
    overrun = ReviewOverrun(
        ReviewStage.PRELIMINARY,
        since=datetime(2025, 3, 3, 9, tzinfo=UTC),
        at=datetime(2025, 3, 10, 1, tzinfo=UTC),
        waited_workdays=5,
        window_workdays=3,
    )
    return [
        attrs.evolve(i, review_overruns=(overrun,)) if n % 7 == 0 else i
        for n, i in enumerate(items)
    ]


def _lane_columns(
    engine: Engine,
) -> tuple[dict[str, tuple[Any, ...]], dict[tuple[str, str], tuple[Any, ...]]]:
    with engine.connect() as conn:
        items = {
            r.id: tuple(r[1:])
            for r in conn.execute(select(s.items.c.id, *(s.items.c[n] for n in _LANE_ITEM_COLUMNS)))
        }
        assignments = {
            (r.item_id, r.id): tuple(r[2:])
            for r in conn.execute(
                select(
                    s.assignments.c.item_id,
                    s.assignments.c.id,
                    *(s.assignments.c[n] for n in _LANE_ASSIGNMENT_COLUMNS),
                )
            )
        }
    return items, assignments


def test_upgrade_to_lanes_backfills_the_lane_columns_from_the_documents(empty: Engine) -> None:
    items = _lane_corpus()
    _at_revision(empty, "0003")
    _write_before_lanes(empty, items)
    with empty.begin() as conn:
        for table in (s.item_authors, s.text_versions, s.feedback, s.credits):
            rows = [r for i in items for t, rows in item_children(i) if t is table for r in rows]
            if rows:
                conn.execute(insert(table), rows)
    upgrade(empty)
    _assert_no_drift(empty)
    stored_items, stored_assignments = _lane_columns(empty)
    assert stored_items == {i.id: tuple(item_row(i)[n] for n in _LANE_ITEM_COLUMNS) for i in items}
    assert stored_assignments == {
        (i.id, a.id): tuple(assignment_row(i, a)[n] for n in _LANE_ASSIGNMENT_COLUMNS)
        for i in items
        for a in i.assignments
    }
    with empty.connect() as conn:
        overruns = [dict(r._mapping) for r in conn.execute(select(s.review_overruns))]
    assert sorted(overruns, key=lambda r: r["item_id"]) == [
        r for i in items for r in overrun_rows(i)
    ]
    with SqlStore(empty, plaintext=True, check_revision=False).unit_of_work() as uow:
        for lane in Lane:
            query = LaneQuery(lane)
            assert uow.items.lane(query) == lane_rows(items, query), lane
        assert uow.items.lane_counts([LaneQuery(lane) for lane in Lane]) == lane_counts(
            items, [LaneQuery(lane) for lane in Lane]
        )
        stats = StatisticsQuery(None, Period.year(2025), date(2025, 5, 1))
        assert uow.items.statistics(stats) == statistics_of(items, stats)
        assert uow.items.statistics(stats).overdue_reviews > 0


def test_downgrade_from_lanes_keeps_the_items(empty: Engine) -> None:
    items = _downgradable(_lane_corpus())
    upgrade(empty)
    with SqlStore(empty, plaintext=True, check_revision=False).unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.commit()
    _at_revision(empty, "0003", down=True)
    with empty.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("qd_items")}
        assert not columns & set(_LANE_ITEM_COLUMNS)
        assert conn.execute(select(func.count()).select_from(s.credits)).scalar_one() > 0
    upgrade(empty)
    _assert_no_drift(empty)
    stored_items, _ = _lane_columns(empty)
    older = [_as_older(i) for i in items]
    assert stored_items == {i.id: tuple(item_row(i)[n] for n in _LANE_ITEM_COLUMNS) for i in older}


# --- downgrades give back what the older code reads -------------------------------------------

_NEWER_ITEM_KEYS = {"state_since", "review_overruns"}


def _newer_keys(doc: dict[str, Any]) -> set[str]:
    """The keys of an item document that 0003-era code does not know."""
    found = _NEWER_ITEM_KEYS & set(doc)
    for a in doc["assignments"]:
        found |= {"rating_provisional"} & set(a)
    for f in doc["feedback"]:
        found |= {"shared_with_units"} & set(f)
    return found


def _documents(engine: Engine, table: Any, key: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {r[0]: json.loads(r[1]) for r in conn.execute(select(table.c[key], table.c.doc))}


def test_downgrade_to_0002_leaves_documents_the_older_code_reads(empty: Engine) -> None:
    items = _downgradable([sample_item("item-1"), *statistics_corpus(30, seed=5)])
    assert any(i.assignments for i in items) and any(i.feedback for i in items)
    upgrade(empty)
    store = SqlStore(empty, plaintext=True, check_revision=False)
    member, chair = RoleGrant(Role.MEMBER, "zhoushan"), RoleGrant(Role.CHAIR, "zhoushan")
    departed = sample_account(
        "acc-gone",
        phone=None,
        password_hash=None,
        status=AccountStatus.DELETED,
        external_ids=frozenset(),
        grants=(chair, member),
    )
    bound = sample_account("acc-bound", phone="13800000001")
    at = bound.created_at
    kinds = (
        AccountEventKind.REGISTERED,
        AccountEventKind.IDENTITY_BOUND,
        AccountEventKind.PASSWORD_CHANGED,
        AccountEventKind.LOCKED,
        AccountEventKind.IDENTITY_UNBOUND,
        AccountEventKind.UNLOCKED,
    )
    with store.unit_of_work() as uow:
        for item in items:
            uow.items.add(item)
        uow.accounts.add(departed)
        uow.accounts.add(bound)
        uow.accounts.append_events(
            [AccountEvent("acc-bound", n, k, "admin", at) for n, k in enumerate(kinds, 1)]
        )
        uow.sessions.put(sample_session("tok-1", "acc-bound", grant=bound.grants[0]))
        uow.sessions.put(sample_session("tok-2", "acc-bound"))
        uow.commit()
    assert any(_newer_keys(doc) for doc in _documents(empty, s.items, "id").values())

    _at_revision(empty, "0003", down=True)
    assert all(not _newer_keys(doc) for doc in _documents(empty, s.items, "id").values())
    with empty.connect() as conn:
        events = conn.execute(
            select(s.account_events.c.sequence, s.account_events.c.kind, s.account_events.c.doc)
            .where(s.account_events.c.account_id == "acc-bound")
            .order_by(s.account_events.c.sequence)
        ).all()
    assert [(e.sequence, e.kind) for e in events] == [
        (1, "registered"),
        (2, "password_changed"),
        (3, "locked"),
        (4, "unlocked"),
    ]
    assert [json.loads(e.doc)["sequence"] for e in events] == [1, 2, 3, 4]

    _at_revision(empty, "0002", down=True)
    assert all(not _newer_keys(doc) for doc in _documents(empty, s.items, "id").values())
    sessions = _documents(empty, s.sessions, "token_hash")
    assert set(sessions) == {"tok-1", "tok-2"}
    assert all("grant" not in doc for doc in sessions.values())
    with empty.connect() as conn:
        old = {r.id: r for r in conn.execute(select(_OLD_ACCOUNTS))}
    gone = json.loads(old["acc-gone"].doc)
    assert (old["acc-gone"].role, gone["role"], gone["status"]) == ("chair", "chair", "deleted")
    assert "grants" not in gone

    upgrade(empty)
    _assert_no_drift(empty)
    with store.unit_of_work() as uow:
        assert [uow.items.get(i.id) for i in items] == [_as_older(i) for i in items]
        assert uow.accounts.get("acc-gone").grants == (chair,)
        assert uow.sessions.get("tok-1") == sample_session("tok-1", "acc-bound")


# --- 0004's downgrade: item events as 0003-era code reads them ---------------------------------

# the EventKind values 0003-era code knows: every kind of 0004 but review_overdue and
# rating_window_recomputed, written out (not derived from EventKind, which later kinds extend)
_PRE_CYCLE_EVENT_KINDS = frozenset(
    {
        "drafted",
        "draft_edited",
        "submitted",
        "withdrawn",
        "returned",
        "resubmitted",
        "rejected",
        "merged",
        "merge_received",
        "preliminary_passed",
        "deputy_approved",
        "sent_back",
        "signed",
        "assigned",
        "accepted",
        "declined",
        "reassigned",
        "overruled",
        "extension_requested",
        "extension_approved",
        "extension_refused",
        "replied",
        "all_replied",
        "rated",
        "rating_closed",
        "rehandle_ordered",
        "assignment_cancelled",
        "closed",
        "feedback_recorded",
        "publication_consent_set",
        "reclassified",
        "reported_up",
        "reminder_sent",
        "deadline_recomputed",
    }
)


def _newer_event_keys(doc: dict[str, Any]) -> set[str]:
    """The keys of an item event document that 0003-era code does not know, wherever its
    change holds an item, an assignment, a feedback record or an ``ItemPatch``."""
    change = doc["change"]
    found = set()
    if change["item"] is not None:
        found |= _newer_keys(change["item"])
    if change["assignment"] is not None:
        found |= {"rating_provisional"} & set(change["assignment"])
    if change["feedback"] is not None:
        found |= {"shared_with_units"} & set(change["feedback"])
    return found | ({"review_overruns"} & set(change["fields"]))


def _event_rows(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    """(item id, kind column, document) of every item event, in order."""
    e = s.events
    with engine.connect() as conn:
        rows = conn.execute(
            select(e.c.item_id, e.c.kind, e.c.doc).order_by(e.c.item_id, e.c.sequence)
        ).all()
    return [(r.item_id, r.kind, json.loads(r.doc)) for r in rows]


def _world_with_every_newer_event(engine: Engine, tmp_path: Any) -> World:
    """Items whose events carry every key and kind 0003-era code lacks: a late review
    (review_overdue, review overruns), feedback shared with the units, and a provisional rating
    window recounted by ``adopt_calendar`` (rating_window_recomputed)."""
    w = make_world(store=SqlStore(engine, plaintext=True, check_revision=False))
    w.clock.set(lane_at(2026, 3, 2, 10))
    w.qd.submit_new(w.member, {"title": "待初审", "body": "正文", "category": "hot_issue"})
    w.clock.set(lane_at(2026, 3, 6, 10))
    assert w.qd.run_due_jobs().reviews_reminded == 1
    item, _ = w.assigned()
    w.qd.record_instruction(
        w.editor, item.id, "张某某", LeaderRank.CITY_PRINCIPAL_LEADER, date(2026, 3, 6), "请研究。",
        shared_with_units=True,
    )  # fmt: skip
    w.clock.set(lane_at(2026, 12, 15))
    waiting, (a,) = w.accepted()
    w.qd.reply(w.unit("u-a"), waiting.id, a.id, "答复。")
    path = tmp_path / "2027.toml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    assert w.qd.adopt_calendar(ChinaWorkdays.official().load_schedule(path)) == 1
    return w


def test_downgrade_below_lanes_leaves_item_events_the_older_code_reads(
    empty: Engine, tmp_path: Any
) -> None:
    upgrade(empty)
    w = _world_with_every_newer_event(empty, tmp_path)
    with w.store.unit_of_work() as uow:
        ids = sorted({item_id for item_id, _, _ in _event_rows(empty)})
        stored = {i: uow.items.get(i) for i in ids}
    before = _event_rows(empty)
    kinds = {kind for _, kind, _ in before}
    assert {"review_overdue", "rating_window_recomputed"} <= kinds
    newer = set().union(*(_newer_event_keys(doc) for _, _, doc in before))
    assert newer == {"state_since", "review_overruns", "rating_provisional", "shared_with_units"}

    assert {k.value for k in EventKind} >= _PRE_CYCLE_EVENT_KINDS
    _at_revision(empty, "0003", down=True)
    after = _event_rows(empty)
    assert len(after) == len(before)
    for _, kind, doc in after:
        assert not _newer_event_keys(doc), doc
        assert kind == doc["kind"] and kind in _PRE_CYCLE_EVENT_KINDS
    assert {(b[1], a[1]) for b, a in zip(before, after, strict=True) if b[1] != a[1]} == {
        ("review_overdue", "reminder_sent"),
        ("rating_window_recomputed", "deadline_recomputed"),
    }
    # the rewritten events replay (current code reads them too) to the item less what was stripped
    for item_id in ids:
        events = [
            loads(json.dumps(doc, ensure_ascii=False), Event) for i, _, doc in after if i == item_id
        ]
        replayed = replay(events)
        assert replayed is not None
        assert _as_older(replayed) == _as_older(stored[item_id]), item_id

    upgrade(empty)
    _assert_no_drift(empty)


def test_downgrade_below_lanes_is_refused_while_collective_items_exist(empty: Engine) -> None:
    upgrade(empty)
    w = make_world(store=SqlStore(empty, plaintext=True, check_revision=False))
    w.qd.submit_new(w.member, {"title": "委员", "body": "正文", "category": "hot_issue"})
    organisation = Actor("g1", Role.ORGANISATION, "zhoushan")
    enrol(w.store, organisation)
    collective = w.qd.submit_new(
        organisation, {"title": "集体报送", "body": "正文", "category": "hot_issue"}
    )
    assert collective.channel is Channel.COLLECTIVE

    def everything() -> dict[str, Any]:
        with empty.connect() as conn:
            return {
                t.name: sorted(tuple(r) for r in conn.execute(select(*_before_0012(t))))
                for t in (s.items, s.events, s.assignments, s.review_overruns, s.account_events)
            }

    _at_revision(empty, "0004", down=True)  # DDL commits at once on MariaDB: step by step
    kept = everything()
    with pytest.raises(RuntimeError, match=collective.id):
        _at_revision(empty, "0003", down=True)
    with empty.connect() as conn:
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0004"
    assert everything() == kept
    upgrade(empty)
    _assert_no_drift(empty)


# --- 0005: sessions purged by index -----------------------------------------------------------

_SESSIONS_AT_0004 = light_table(
    "qd_sessions",
    column("token_hash", Key(128)),
    column("account_id", Key(64)),
    column("revoked", Boolean()),
    column("doc", Text()),
)


def _session_doc_at_0004(**changes: Any) -> dict[str, Any]:
    token = changes.pop("token")
    session = sample_session(hash_token(token), "acc-a", password_change_only=False, **changes)
    doc = json.loads(dumps(session))
    doc.pop("expires_at", None)  # 0004 knew no such key
    return {
        "token_hash": session.token_hash,
        "account_id": "acc-a",
        "revoked": False,
        "doc": json.dumps(doc, ensure_ascii=False),
    }


def _expiries(engine: Engine) -> dict[str, datetime | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(s.sessions.c.token_hash, s.sessions.c.expires_at)).all()
    return {token_hash: expires for token_hash, expires in rows}


def test_upgrade_to_sessions_backfills_expiry_and_the_job_purges_ended_ones(
    empty: Engine,
) -> None:
    _at_revision(empty, "0004")
    rows = [
        _session_doc_at_0004(
            token="t-live",
            created_at=_NOW - timedelta(hours=1),
            last_seen=_NOW - timedelta(minutes=10),
        ),
        _session_doc_at_0004(  # busy, but signed in 13 hours ago
            token="t-old",
            created_at=_NOW - timedelta(hours=13),
            last_seen=_NOW - timedelta(minutes=1),
        ),
        _session_doc_at_0004(  # idle for 40 minutes
            token="t-idle",
            created_at=_NOW - timedelta(hours=2),
            last_seen=_NOW - timedelta(minutes=40),
        ),
    ]
    with empty.begin() as conn:
        conn.execute(insert(_SESSIONS_AT_0004), rows)
    upgrade(empty)
    _assert_no_drift(empty)
    assert _expiries(empty) == {
        hash_token("t-live"): _NOW + timedelta(minutes=20),
        hash_token("t-old"): _NOW - timedelta(hours=1),
        hash_token("t-idle"): _NOW - timedelta(minutes=10),
    }
    qd = _service(empty)
    assert qd.run_due_jobs().sessions_purged == 2
    assert set(_expiries(empty)) == {hash_token("t-live")}
    assert qd.run_due_jobs().sessions_purged == 0


def test_downgrade_below_sessions_leaves_documents_the_older_code_reads(empty: Engine) -> None:
    upgrade(empty)
    store = SqlStore(empty, plaintext=True, check_revision=False)
    with store.unit_of_work() as uow:
        uow.accounts.add(sample_account("acc-h", password_history=("hash:1", "hash:2")))
        uow.sessions.put(sample_session("t-1", "acc-h", expires_at=_NOW))
        uow.commit()
    _at_revision(empty, "0004", down=True)
    with empty.connect() as conn:
        account_doc = json.loads(conn.execute(select(_OLD_ACCOUNTS.c.doc)).scalar_one())
        session_doc = json.loads(conn.execute(select(_SESSIONS_AT_0004.c.doc)).scalar_one())
        version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    assert version == "0004"
    assert "password_history" not in account_doc
    assert "expires_at" not in session_doc
    assert "expires_at" not in {c["name"] for c in inspect(empty).get_columns("qd_sessions")}
    assert "ix_qd_sessions_expires_at" not in {
        i["name"] for i in inspect(empty).get_indexes("qd_sessions")
    }
    upgrade(empty)
    _assert_no_drift(empty)
    with store.unit_of_work() as uow:
        assert uow.accounts.get("acc-h").password_history == ()
        session = uow.sessions.get("t-1")
    assert session is not None
    assert session.expires_at is None  # the column is backfilled, the document stays
    assert _expiries(empty)["t-1"] is not None


# --- 0006: idempotency keys on every command ---------------------------------------------------

_KEYS_AT_0005 = light_table(
    "qd_idempotency",
    column("key", Key(320)),
    column("fingerprint", Key(128)),
    column("item_id", Key(64)),
)
_SUBMITTER = Actor("m1", Role.MEMBER, "zhoushan")
_DRAFT = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}


def test_upgrade_to_0006_keeps_a_submission_key_valid_and_downgrade_keeps_only_those(
    empty: Engine,
) -> None:
    """A key ``submit_new`` stored before 0006 still returns its item after the upgrade; the
    downgrade drops the keys of other commands (older code would read them as item ids)."""
    _at_revision(empty, "0005")
    qd = _service(empty)
    enrol(qd.store, _SUBMITTER)
    with audit_tables_for_a_while(empty):  # today's service records its commands
        item = qd.submit_new(_SUBMITTER, _DRAFT)
    fingerprint = intake.fingerprint(intake.draft_input(_DRAFT))
    with empty.begin() as conn:
        conn.execute(
            insert(_KEYS_AT_0005).values(key="m1:req-1", fingerprint=fingerprint, item_id=item.id)
        )
    upgrade(empty)
    _assert_no_drift(empty)
    again = qd.submit_new(_SUBMITTER, _DRAFT, idempotency_key="req-1")
    assert again.id == item.id
    drafted = qd.draft(_SUBMITTER, _DRAFT, idempotency_key="req-2")
    _at_revision(empty, "0005", down=True)
    with empty.connect() as conn:
        rows = conn.execute(select(_KEYS_AT_0005)).all()
    assert [tuple(r) for r in rows] == [("m1:req-1", fingerprint, item.id)]
    upgrade(empty)
    _assert_no_drift(empty)
    assert qd.submit_new(_SUBMITTER, _DRAFT, idempotency_key="req-1").id == item.id
    assert qd.draft(_SUBMITTER, _DRAFT, idempotency_key="req-2").id != drafted.id


# --- 0007: 三员分立 (grant proposals, password policies) ---------------------------------------


def _two_person_history(engine: Engine) -> tuple[SqlStore, str]:
    """A store at head with a person whose log holds every kind 0007 adds: registered as a
    proposal, approved; an editor grant proposed and rejected; a policy set."""
    upgrade(engine)
    store = SqlStore(engine, plaintext=True, check_revision=False)
    policy = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
    tighter = attrs.evolve(policy, min_length=12)
    member, editor = RoleGrant(Role.MEMBER, "zhoushan"), RoleGrant(Role.EDITOR, "zhoushan")
    account = sample_account("acc-p", grants=(member,))
    kinds = [
        (AccountEventKind.REGISTERED, None),
        (AccountEventKind.GRANT_PROPOSED, member),
        (AccountEventKind.GRANT_APPROVED, member),
        (AccountEventKind.PASSWORD_CHANGED, None),
        (AccountEventKind.GRANT_PROPOSED, editor),
        (AccountEventKind.GRANT_REJECTED, editor),
        (AccountEventKind.LOCKED, None),
    ]
    with store.unit_of_work() as uow:
        uow.accounts.add(account)
        uow.accounts.append_events(
            [AccountEvent("acc-p", n, k, "adm", _NOW, g) for n, (k, g) in enumerate(kinds, 1)]
        )
        uow.accounts.add_proposal(GrantProposal("p-1", 1, "acc-p", editor, "adm", _NOW))
        uow.accounts.append_policy_change(PolicyChange("zhoushan", 1, tighter, policy, "sec", _NOW))
        uow.commit()
    return store, account.id


def test_downgrade_below_separation_leaves_account_events_the_older_code_reads(
    empty: Engine,
) -> None:
    store, person = _two_person_history(empty)
    _at_revision(empty, "0006", down=True)
    tables = set(inspect(empty).get_table_names())
    assert {"qd_grant_proposals", "qd_password_policies"}.isdisjoint(tables)
    with empty.connect() as conn:
        rows = conn.execute(
            select(s.account_events.c.sequence, s.account_events.c.kind, s.account_events.c.doc)
            .where(s.account_events.c.account_id == person)
            .order_by(s.account_events.c.sequence)
        ).all()
    older = {"registered", "grant_added", "password_changed", "locked"}
    assert [(n, k) for n, k, _ in rows] == [
        (1, "registered"),
        (2, "grant_added"),
        (3, "password_changed"),
        (4, "locked"),
    ]
    for sequence, kind, doc in rows:
        assert (json.loads(doc)["sequence"], json.loads(doc)["kind"]) == (sequence, kind)
        assert kind in older
    upgrade(empty)
    _assert_no_drift(empty)
    with store.unit_of_work() as uow:
        assert [e.kind for e in uow.accounts.events(person)][1] is AccountEventKind.GRANT_ADDED
        assert uow.accounts.proposals() == []
        assert uow.accounts.policy("zhoushan") is None


def test_upgrade_to_separation_keeps_every_grant_held(empty: Engine) -> None:
    _at_revision(empty, "0006")
    store = SqlStore(empty, plaintext=True, check_revision=False)
    with store.unit_of_work() as uow:
        uow.accounts.add(sample_account("acc-h"))
        uow.commit()
    upgrade(empty)
    _assert_no_drift(empty)
    with store.unit_of_work() as uow:
        assert uow.accounts.get("acc-h") == sample_account("acc-h")
        assert uow.accounts.proposals() == []


# --- 0009: the audit ---------------------------------------------------------------------------


def test_upgrade_to_0009_seeds_every_head_and_downgrade_drops_the_audit(empty: Engine) -> None:
    """Each shard's head starts at sequence 0; the service appends after the upgrade; the
    downgrade to 0007 drops both tables (and nothing else)."""
    upgrade(empty)
    with empty.connect() as conn:
        heads = conn.execute(select(s.audit_heads.c.shard, s.audit_heads.c.sequence)).all()
    assert sorted(heads) == sorted((shard, 0) for shard in [f"{n:02d}" for n in range(16)] + ["cp"])
    qd = _service(empty)
    enrol(qd.store, _SUBMITTER)
    qd.submit_new(_SUBMITTER, _DRAFT)
    from qiandao import check_audit

    verified = check_audit(qd.store)
    assert verified.ok and verified.records == 1
    _at_revision(empty, "0007", down=True)
    with empty.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert "qd_audit" not in tables and "qd_audit_heads" not in tables
    assert "qd_items" in tables


def test_0013_gives_the_item_indexes_their_tie_breaking_id_and_downgrade_restores_them(
    empty: Engine,
) -> None:
    """Keyset pages seek on (published, issued_at, id) and (created_at, id); the downgrade to
    0009 puts back the indexes without the id."""

    def item_indexes() -> set[str]:
        with empty.connect() as conn:
            return {str(ix["name"]) for ix in inspect(conn).get_indexes("qd_items")}

    upgrade(empty)
    after = item_indexes()
    assert {"ix_qd_items_published_issued_at_id", "ix_qd_items_created_at_id"} <= after
    assert not {"ix_qd_items_published_issued_at", "ix_qd_items_created_at"} & after
    _at_revision(empty, "0009", down=True)
    before = item_indexes()
    assert {"ix_qd_items_published_issued_at", "ix_qd_items_created_at"} <= before
    assert not {"ix_qd_items_published_issued_at_id", "ix_qd_items_created_at_id"} & before


def test_0014_adds_the_similarity_index_and_downgrade_removes_it(empty: Engine) -> None:
    """The index tables come with 0014 (empty: stored items enter as their text is written)
    and go with its downgrade; the items are untouched."""

    def tables() -> set[str]:
        with empty.connect() as conn:
            return set(inspect(conn).get_table_names())

    upgrade(empty)
    assert {"qd_similarity", "qd_similarity_bands"} <= tables()
    with empty.connect() as conn:
        indexes = {str(ix["name"]) for ix in inspect(conn).get_indexes("qd_similarity_bands")}
    assert "ix_qd_similarity_bands_band_key_jurisdiction_at_item_id" in indexes
    _at_revision(empty, "0013", down=True)
    assert not {"qd_similarity", "qd_similarity_bands"} & tables()
    assert "qd_items" in tables()


def test_0015_adds_the_topic_index_and_downgrade_removes_it(empty: Engine) -> None:
    """The term index tables come with 0015 (empty: stored items enter as their text is
    written) and go with its downgrade; the similarity index of 0014 stays."""
    names = {"qd_topics", "qd_topic_terms", "qd_topic_words"}

    def tables() -> set[str]:
        with empty.connect() as conn:
            return set(inspect(conn).get_table_names())

    upgrade(empty)
    assert names <= tables()
    with empty.connect() as conn:
        indexes = {str(ix["name"]) for ix in inspect(conn).get_indexes("qd_topic_terms")}
    assert {
        "ix_qd_topic_terms_jurisdiction_day_category_term",
        "ix_qd_topic_terms_term_jurisdiction_day",
    } <= indexes
    _at_revision(empty, "0014", down=True)
    assert not names & tables()
    assert "qd_similarity" in tables()


# --- 0010: units and jurisdictions as data ----------------------------------------------------


def test_upgrade_to_0010_versions_every_unit_and_seeds_the_jurisdictions(empty: Engine) -> None:
    """A unit written before 0010 reads at version 1 and can be renamed by command; the
    downgrade leaves a unit document the older code reads, and is refused after a merge."""
    _at_revision(empty, "0009")
    old = sample_unit("u-old-1")
    row = _old_unit(old)
    body = json.loads(row["doc"])
    with empty.begin() as conn:
        conn.execute(insert(_OLD_UNITS), [row])
    _at_revision(empty, "0010")  # (drift from the models is checked at head elsewhere)
    store = SqlStore(empty, plaintext=True)
    with store.unit_of_work() as uow:
        assert uow.units.get(old.id) == old
        assert [j.code for j in uow.jurisdictions.list()] == [
            "zhoushan",
            "zhoushan.daishan",
            "zhoushan.dinghai",
            "zhoushan.putuo",
            "zhoushan.shengsi",
        ]
    admin = Actor("admin-1", Role.SYSTEM_ADMIN, "zhoushan")
    qd = _service(empty)
    enrol(qd.store, admin)
    assert qd.rename_unit(admin, old.id, "新名称").version == 2
    qd.add_unit(admin, "u-new-1", "新单位")
    qd.retire_unit(admin, "u-new-1")
    _at_revision(empty, "0009", down=True)
    with empty.connect() as conn:
        docs: dict[str, str] = {
            row.id: row.doc for row in conn.execute(text("SELECT id, doc FROM qd_units"))
        }
        tables = set(inspect(conn).get_table_names())
    assert "qd_jurisdictions" not in tables and "qd_unit_events" not in tables
    assert json.loads(docs[old.id]) == {**body, "name": "新名称"}
    assert json.loads(docs["u-new-1"])["active"] is False


def test_downgrade_below_0010_is_refused_while_an_item_records_a_unit_merge(
    empty: Engine,
) -> None:
    upgrade(empty)
    with empty.begin() as conn:
        conn.execute(
            insert(s.events).values(
                id="e-1",
                item_id="i-1",
                sequence=1,
                kind="unit_merged",
                actor_id="admin-1",
                at=datetime(2026, 3, 2, tzinfo=UTC),
                doc="{}",
                position=1,
            )
        )
    with pytest.raises(RuntimeError, match="unit_merged"):
        _at_revision(empty, "0009", down=True)
    with empty.connect() as conn:
        assert "qd_jurisdictions" in set(inspect(conn).get_table_names())


# --- 0011: the outbox's states and leases -----------------------------------------------------


def test_upgrade_to_0011_gives_outbox_rows_a_state_and_downgrade_keeps_dead_ones_sent(
    empty: Engine,
) -> None:
    _at_revision(empty, "0009")
    recorded = datetime(2026, 11, 2, 9, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {"notice_id": "evt-sent", "dispatched_at": recorded + timedelta(minutes=1)},
        {"notice_id": "evt-wait", "dispatched_at": None},
        {"notice_id": "evt-dead", "dispatched_at": None},
    ]
    legacy = light_table(
        "qd_outbox",
        column("notice_id"),
        column("recorded_at", UtcDateTime()),
        column("dispatched_at", UtcDateTime()),
        column("attempts"),
        column("doc"),
    )
    with empty.begin() as conn:
        conn.execute(
            insert(legacy),
            [{**r, "recorded_at": recorded, "attempts": 1, "doc": "{}"} for r in rows],
        )
    upgrade(empty)
    _assert_no_drift(empty)
    t = s.outbox

    def states() -> dict[str, tuple[str, datetime]]:
        with empty.connect() as conn:
            found = conn.execute(select(t.c.notice_id, t.c.state, t.c.next_attempt_at)).all()
        return {r.notice_id: (r.state, r.next_attempt_at) for r in found}

    assert states() == {
        "evt-sent": ("dispatched", recorded),
        "evt-wait": ("pending", recorded),  # due at once
        "evt-dead": ("pending", recorded),
    }
    failed_at = recorded + timedelta(hours=1)
    with empty.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.notice_id == "evt-dead")
            .values(state="dead", last_attempt_at=failed_at)
        )
    _at_revision(empty, "0009", down=True)
    assert "qd_leases" not in inspect(empty).get_table_names()
    with empty.connect() as conn:
        sent = dict(conn.execute(select(legacy.c.notice_id, legacy.c.dispatched_at)).all())
    assert sent == {  # the older code would send a dead notice forever: it counts as sent
        "evt-sent": recorded + timedelta(minutes=1),
        "evt-wait": None,
        "evt-dead": failed_at,
    }
    upgrade(empty)
    assert {k: v[0] for k, v in states().items()} == {
        "evt-sent": "dispatched",
        "evt-wait": "pending",
        "evt-dead": "dispatched",
    }


# --- 0012: the change feed's positions ----------------------------------------------------------


def _positions(engine: Engine) -> list[tuple[int, str, int]]:
    e = s.events
    with engine.connect() as conn:
        rows = conn.execute(select(e.c.position, e.c.item_id, e.c.sequence).order_by(e.c.position))
        return [(r.position, r.item_id, r.sequence) for r in rows]


def test_upgrade_to_0012_numbers_events_in_time_order_and_the_store_goes_on(empty: Engine) -> None:
    """Existing events get positions 1..n in (at, item_id, sequence) order, the head is n, a
    store on the upgraded database numbers on from there; the downgrade drops both."""
    _at_revision(empty, "0009")
    a, b = sample_item("item-a"), sample_item("item-b")
    base = datetime(2026, 3, 2, 1, tzinfo=UTC)
    instants = {("item-a", 1): 0, ("item-b", 1): 1, ("item-a", 2): 1, ("item-b", 2): 3}
    events = [
        attrs.evolve(e, at=base + timedelta(minutes=instants[(e.item_id, e.sequence)]))
        for e in (*sample_events(a)[:2], *sample_events(b, prefix="evb")[:2])
    ]
    with empty.begin() as conn:
        conn.execute(insert(s.events), [event_row(e) for e in events])
    upgrade(empty)
    _assert_no_drift(empty)
    assert _positions(empty) == [
        (1, "item-a", 1),
        (2, "item-a", 2),  # a tie at minute 1: item id, then sequence
        (3, "item-b", 1),
        (4, "item-b", 2),
    ]
    with empty.connect() as conn:
        assert conn.execute(select(s.event_log_head.c.position)).scalar_one() == 4
    store = SqlStore(empty, plaintext=True)
    with store.unit_of_work() as uow:
        uow.events.append(sample_events(a)[2:3])
        uow.commit()
    with store.unit_of_work() as uow:
        logged = uow.events.since(3, 10)
    assert [(x.position, x.event.item_id, x.event.sequence) for x in logged] == [
        (4, "item-b", 2),
        (5, "item-a", 3),
    ]
    _at_revision(empty, "0009", down=True)
    with empty.connect() as conn:
        assert "qd_event_log_head" not in set(inspect(conn).get_table_names())
        assert "position" not in {c["name"] for c in inspect(conn).get_columns("qd_events")}
        assert conn.execute(select(func.count()).select_from(s.events)).scalar_one() == 5


# --- 0017: the periodic job's attention key ---------------------------------------------------


def test_upgrade_to_0017_backfills_attention_keys_that_miss_no_reminder(empty: Engine) -> None:
    """From clear columns alone: a window awaiting a rating closes on its last day, open work
    whose last reminder is not out waits from its first (``due_soon``); nothing the exact key
    finds is left out, and the store's own saves write exact keys again."""
    _at_revision(empty, "0016")
    items = attention_corpus()
    with empty.begin() as conn:
        conn.execute(insert(s.items), [item_row(i) for i in items])
        for table, _ in item_children(items[0]):
            rows = [r for i in items for t, rows in item_children(i) if t is table for r in rows]
            if table is s.assignments:
                rows = [_without(r, _ATTENTION_COLUMNS) for r in rows]
            if rows:
                conn.execute(insert(table), rows)
    upgrade(empty)
    _assert_no_drift(empty)
    with empty.connect() as conn:
        stored = {
            (r.item_id, r.id): (r.attention, r.attention_day)
            for r in conn.execute(select(s.assignments))
        }
    for item in items:
        for a in item.assignments:
            key = attention(a)
            expected: tuple[str | None, date | None] = (None, None)
            if key is not None and key.kind is Attention.RATING_CLOSE:
                expected = (key.kind.value, key.day)
            elif key is not None:
                expected = (Attention.DUE_SOON.value, a.due)
            assert stored[(item.id, a.id)] == expected, (item.id, a.id)
    far = date(2100, 1, 1)
    store = SqlStore(empty, plaintext=True)
    with store.unit_of_work() as uow:
        found = {
            (p.item_id, p.id)
            for kind in Attention
            for p in uow.items.needing_attention(AttentionQuery(kind, far))
        }
        exact = {
            (p.item_id, p.id)
            for kind in Attention
            for p in needing_attention(items, AttentionQuery(kind, far))
        }
        assert found == exact  # every key that can come is kept, under its kind or due_soon
        # the job's next reminder rewrites the key (here: the last one, so none is left)
        item = next(i for i in items if any(a.state in AWAITING_UNIT_STATES for a in i.assignments))
        done = frozenset(DeadlineStatus)
        reminded = attrs.evolve(
            item,
            version=item.version + 1,
            assignments=tuple(
                attrs.evolve(a, reminders=done) if a.state in AWAITING_UNIT_STATES else a
                for a in item.assignments
            ),
        )
        uow.items.save(reminded, item.version)
        uow.commit()
    with empty.connect() as conn:
        mine = select(s.assignments).where(s.assignments.c.item_id == reminded.id)
        assert {(r.id, r.attention, r.attention_day) for r in conn.execute(mine)} == {
            (r["id"], r["attention"], r["attention_day"])
            for r in (assignment_row(reminded, a) for a in reminded.assignments)
        }
    _at_revision(empty, "0016", down=True)
    with empty.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("qd_assignments")}
    assert not columns & set(_ATTENTION_COLUMNS)
