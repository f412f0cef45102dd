"""The SQL store: SQLAlchemy Core over SQLite (embedded default), PostgreSQL and MySQL/MariaDB.

One unit of work is one connection and one transaction. Saves are compare-and-set on the version
column (``UPDATE ... WHERE id = :id AND version = :expected``, the row count checked); child rows
are rewritten in the same transaction. Every repository call that writes runs inside a
savepoint, so a refused call (a conflict, a duplicate) leaves the unit of work as it was and
usable, as in the in-memory store. Queries are pushed down to SQL on the derived columns, load
documents only for the rows returned, and give the same rows in the same order as
:mod:`qiandao.queries`.

PostgreSQL and MySQL/MariaDB run at ``READ COMMITTED``. SQLite runs in WAL mode with foreign keys
on and a busy timeout; a unit of work reads without a transaction until its first write, which
begins ``BEGIN IMMEDIATE`` (one writer at a time, waiting up to the busy timeout): readers never
wait for writers, and two units of work in one thread can read, then write one after the other.
Driver errors are translated in :mod:`qiandao_adapters.sql.errors`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Result,
    Table,
    and_,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from qiandao.converter import CONVERTER
from qiandao.errors import (
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    LimitExceeded,
    NotFound,
)
from qiandao.events import Event
from qiandao.model import (
    Account,
    Assignment,
    Commission,
    Feedback,
    FeedbackKind,
    Item,
    Session,
    Unit,
)
from qiandao.ports.notify import Notice
from qiandao.ports.store import (
    AssignmentQuery,
    IdempotencyRecord,
    ItemOrder,
    ItemQuery,
    OutboxMessage,
)
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import (
    AWAITING_UNIT_STATES,
    OPEN_ASSIGNMENT_STATES,
    ItemState,
)
from qiandao.rules.points import AdoptionLevel, CreditKind, LeaderRank
from qiandao.rules.rating import Rating
from qiandao.statistics import (
    CreditKey,
    GroupCounts,
    PersonCounts,
    Statistics,
    StatisticsQuery,
    UnitCounts,
    upward_credit,
)
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.errors import aborts_transaction, translate, translated

__all__ = ["SqlStore", "SqlUnitOfWork", "configure_sqlite", "make_engine"]

T = TypeVar("T")


# --- engines -------------------------------------------------------------------------------


def make_engine(url: str | URL, *, busy_timeout: float = 30.0, **kwargs: Any) -> Engine:
    """An engine configured for the store.

    SQLite: ``BEGIN IMMEDIATE``, busy timeout, foreign keys, WAL for files, one shared
    connection for ``:memory:``. PostgreSQL and MySQL/MariaDB: ``READ COMMITTED``, pre-ping,
    and ``utf8mb4`` for MySQL/MariaDB unless the URL names a charset.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(parsed, **kwargs)
    configure_sqlite(engine, busy_timeout=busy_timeout)
    return engine


_READ_PHASE = "qiandao_read_phase"


def _sqlite_begin(conn: Connection) -> None:
    if not conn.get_execution_options().get(_READ_PHASE, False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def configure_sqlite(engine: Engine, *, busy_timeout: float = 30.0, wal: bool = True) -> None:
    """Give a SQLite engine real transactions (the pysqlite recipe of the SQLAlchemy docs).

    pysqlite's own transaction handling is switched off and every transaction starts with
    ``BEGIN IMMEDIATE`` (except a unit of work's read phase); each new connection gets a busy
    timeout, ``foreign_keys=ON`` and, for a file, WAL journaling. A no-op for other databases
    and for an engine already configured.
    """
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _sqlite_begin):
        return
    file_backed = engine.url.database not in (None, "", ":memory:")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal and file_backed:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _sqlite_begin)


# --- documents -----------------------------------------------------------------------------


def _dumps(value: object) -> str:
    return json.dumps(CONVERTER.unstructure(value), ensure_ascii=False, separators=(",", ":"))


def _loads(doc: str, cls: type[T]) -> T:
    return CONVERTER.structure(json.loads(doc), cls)


def _load_event(doc: str) -> Event:
    return _loads(doc, Event)


# --- rows ------------------------------------------------------------------------------------


def _check(table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Refuse a value longer than its bounded column before the database sees it."""
    for row in rows:
        for name, value in row.items():
            column_type = table.c[name].type
            if isinstance(column_type, s.Key) and isinstance(value, str):
                limit = column_type.max_length
                if len(value) > limit:
                    raise LimitExceeded(
                        f"{table.name}.{name}超过{limit}个字符的上限",
                        field=f"{table.name}.{name}",
                        limit=limit,
                        length=len(value),
                    )


def _item_row(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "version": item.version,
        "jurisdiction": item.jurisdiction,
        "state": item.state.value,
        "lead_author_id": item.lead_author_id,
        "urgent": item.urgent,
        "secret": item.secret,
        "published": item.published,
        "created_at": item.created_at,
        "submitted_at": item.submitted_at,
        "issued_at": item.issued_at,
        "commission_id": item.commission_id,
        "submitted_on": None if item.submitted_at is None else local_day(item.submitted_at),
        "category": item.category.value,
        "channel": item.channel.value,
        "sector": item.sector,
        "adopted": item.adopted,
        "doc": _dumps(item),
    }


def _credited(item: Item) -> bool:
    """Whether adoption, upward reports and feedback earn credits (as in ``credits_of``)."""
    return item.adopted and item.issued_at is not None


def _author_rows(item: Item) -> list[dict[str, Any]]:
    """The credited people of ``item`` with the credits they earn (see ``credits_of``)."""
    authors = item.authors
    submitted_on = None
    if item.submitted_at is not None and item.state not in _UNCREDITED_STATES:
        submitted_on = local_day(item.submitted_at)
    issued_on, upward = None, None
    if _credited(item):
        assert item.issued_at is not None
        issued_on = local_day(item.issued_at)
        kind = upward_credit(item.destinations)
        upward = None if kind is None else kind.value
    return [
        {
            "item_id": item.id,
            "account_id": person,
            "is_author": person in authors,
            "jurisdiction": item.jurisdiction,
            "submitted_on": submitted_on if person in authors else None,
            "issued_on": issued_on,
            "upward": upward,
        }
        for person in sorted(authors | item.merged_authors)
    ]


def _feedback_credited(item: Item, f: Feedback) -> bool:
    return _credited(item) and (
        (f.kind is FeedbackKind.ADOPTION and f.level is not None)
        or (f.kind is FeedbackKind.INSTRUCTION and f.rank is not None)
    )


def _assignment_row(item: Item, a: Assignment) -> dict[str, Any]:
    replied = bool(a.replies)
    return {
        "item_id": item.id,
        "id": a.id,
        "unit_id": a.unit_id,
        "state": a.state.value,
        "due": a.due,
        "lead": a.lead,
        "jurisdiction": item.jurisdiction,
        "is_open": a.open,
        "assigned_on": local_day(a.assigned_at),
        "last_replied_on": local_day(a.replies[-1].at) if replied else None,
        "reply_workdays": a.reply_workdays if replied else None,
        "rating": a.rating.value,
        "extended": a.approved_extensions > 0,
        "declined": a.decline_reason is not None,
        "rating_pending_until": a.rating_pending_until,
        "reminders_done": a.reminders_done,
    }


def _item_children(item: Item) -> list[tuple[Table, list[dict[str, Any]]]]:
    return [
        (s.item_authors, _author_rows(item)),
        (s.assignments, [_assignment_row(item, a) for a in item.assignments]),
        (
            s.text_versions,
            [
                {
                    "item_id": item.id,
                    "number": t.number,
                    "title": t.title,
                    "body": t.body,
                    "editor_id": t.editor_id,
                    "at": t.at,
                }
                for t in item.texts
            ],
        ),
        (
            s.feedback,
            [
                {
                    "item_id": item.id,
                    "seq": seq,
                    "kind": f.kind.value,
                    "level": None if f.level is None else f.level.value,
                    "rank": None if f.rank is None else f.rank.value,
                    "on_date": f.on,
                    "jurisdiction": item.jurisdiction,
                    "credited": _feedback_credited(item, f),
                }
                for seq, f in enumerate(item.feedback, start=1)
            ],
        ),
    ]


def _account_row(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "version": account.version,
        "phone": account.phone,
        "jurisdiction": account.jurisdiction,
        "role": account.role.value,
        "status": account.status.value,
        "doc": _dumps(account),
    }


def _identity_rows(account: Account) -> list[dict[str, Any]]:
    return [
        {"provider": e.provider, "subject": e.subject, "account_id": account.id}
        for e in sorted(account.external_ids, key=lambda e: (e.provider, e.subject))
    ]


def _session_row(session: Session) -> dict[str, Any]:
    return {
        "token_hash": session.token_hash,
        "account_id": session.account_id,
        "revoked": session.revoked,
        "doc": _dumps(session),
    }


# --- the unit of work ----------------------------------------------------------------------


class SqlUnitOfWork:
    """One transaction over every repository; opened lazily, closed by commit or rollback."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._deferred_writes = engine.dialect.name == "sqlite"
        self._writing = False
        # set when the server aborted the whole transaction: nothing more may run or commit
        self._lost: ConcurrencyConflict | None = None
        self.items = _Items(self)
        self.events = _Events(self)
        self.outbox = _Outbox(self)
        self.accounts = _Accounts(self)
        self.sessions = _Sessions(self)
        self.units = _Units(self)
        self.commissions = _Commissions(self)
        self.idempotency = _Idempotency(self)

    # transaction handling

    def connection(self, *, write: bool = False) -> Connection:
        """This unit of work's connection; ``write`` makes sure its transaction has begun.

        PostgreSQL and MySQL/MariaDB: one ``READ COMMITTED`` transaction from the first
        statement. SQLite: reads before the first write run on their own (so units of work that
        only read never wait for a writer, and a read never makes a later write fail); the first
        write begins ``BEGIN IMMEDIATE``, waiting up to the busy timeout for another writer.
        """
        if self._lost is not None:
            raise self._lost
        if self._conn is None:
            with translated():
                conn = self._engine.connect()
            if self._deferred_writes:
                conn.execution_options(**{_READ_PHASE: True})
            self._conn = conn
            self._writing = not self._deferred_writes
        conn = self._conn
        if write and not self._writing:
            try:
                with translated():
                    if conn.in_transaction():
                        conn.commit()  # ends the read phase; nothing was written
                    conn.execution_options(**{_READ_PHASE: False})
                    conn.begin()
            except BaseException:
                self._discard()
                raise
            self._writing = True
        return conn

    @property
    def dialect(self) -> str:
        """The database dialect's name (``sqlite``, ``postgresql``, ``mysql``)."""
        return self._engine.dialect.name

    def execute(
        self, statement: Executable, params: Any = None, *, write: bool = False
    ) -> Result[Any]:
        """Run one statement in this unit of work, with driver errors translated."""
        conn = self.connection(write=write)
        with translated():
            return conn.execute(statement, params)

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A savepoint: the block's writes all happen, or none and the error propagates.

        When the server has aborted the whole transaction (an InnoDB deadlock also drops the
        savepoint), the unit of work is lost: every later call and the commit raise the same
        retryable conflict, so no part of it can be committed.
        """
        conn = self.connection(write=True)
        with translated():
            savepoint = conn.begin_nested()
        try:
            yield conn
        except BaseException as error:
            if aborts_transaction(error):
                self._discard()
                self._lost = ConcurrencyConflict(
                    "数据库因死锁回滚了本次操作，请重试", retryable=True, cause="deadlock"
                )
                raise self._lost from error
            with translated():
                if savepoint.is_active:
                    savepoint.rollback()
            found = translate(error)
            if found is not None and found is not error:
                raise found from error
            raise
        with translated():
            savepoint.commit()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lost = None
        self._discard()

    def commit(self) -> None:
        """Make everything since the last commit visible to others, or raise and keep none."""
        if self._lost is not None:
            lost, self._lost = self._lost, None
            raise lost
        self._end(Connection.commit)

    def rollback(self) -> None:
        """Drop everything since the last commit."""
        self._lost = None
        self._end(Connection.rollback)

    def _end(self, end: Callable[[Connection], None]) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with translated():
                end(conn)
        finally:
            conn.close()

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except Exception:  # the server rolls back a transaction whose connection is gone
            conn.invalidate()
        finally:
            conn.close()

    # helpers shared by the repositories

    def insert_rows(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        if rows:
            conn.execute(insert(table), list(rows))

    def insert_missing(
        self, conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str
    ) -> None:
        """Insert the rows whose key is not there yet; leave existing rows alone."""
        if not rows:
            return
        name = self.dialect
        if name in ("postgresql", "sqlite"):
            dialect_insert = pg_dialect.insert if name == "postgresql" else sqlite_dialect.insert
            conn.execute(
                dialect_insert(table).on_conflict_do_nothing(index_elements=[key]), list(rows)
            )
        elif name in ("mysql", "mariadb"):
            stmt = mysql_dialect.insert(table)
            conn.execute(stmt.on_duplicate_key_update({key: stmt.inserted[key]}), list(rows))
        else:
            present = set(
                conn.execute(
                    select(table.c[key]).where(table.c[key].in_([r[key] for r in rows]))
                ).scalars()
            )
            self.insert_rows(conn, table, [r for r in rows if r[key] not in present])

    def upsert(self, conn: Connection, table: Table, row: Mapping[str, Any], key: str) -> None:
        """Insert the row, or overwrite the row with the same key."""
        values = {k: v for k, v in row.items() if k != key}
        name = self.dialect
        if name in ("postgresql", "sqlite"):
            dialect_insert = pg_dialect.insert if name == "postgresql" else sqlite_dialect.insert
            stmt = dialect_insert(table).values(row)
            conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=values))
        elif name in ("mysql", "mariadb"):
            conn.execute(mysql_dialect.insert(table).values(row).on_duplicate_key_update(values))
        else:
            result = conn.execute(update(table).where(table.c[key] == row[key]).values(values))
            if _rowcount(result) == 0:
                conn.execute(insert(table).values(row))


def _rowcount(result: Result[Any]) -> int:
    return result.rowcount if isinstance(result, CursorResult) else -1


def _require(row: Any, what: str, key: str) -> str:
    if row is None:
        raise NotFound(f"{what}不存在：{key}", id=key)
    doc: str = row[0]
    return doc


def _compare_and_set(
    conn: Connection,
    table: Table,
    *,
    key: str,
    expected_version: int,
    values: Mapping[str, Any],
    what: str,
) -> None:
    """``UPDATE ... WHERE id = :key AND version = :expected``; NotFound or ConcurrencyConflict."""
    result = conn.execute(
        update(table)
        .where(table.c.id == key, table.c.version == expected_version)
        .values({k: v for k, v in values.items() if k != "id"})
    )
    if _rowcount(result) == 1:
        return
    actual = conn.execute(select(table.c.version).where(table.c.id == key)).scalar()
    if actual is None:
        raise NotFound(f"{what}不存在：{key}", id=key)
    raise ConcurrencyConflict(id=key, expected=expected_version, actual=actual)


def _add_conflict(what: str, key: str) -> ConcurrencyConflict:
    return ConcurrencyConflict(f"{what}已存在：{key}", id=key)


# --- items ---------------------------------------------------------------------------------


_I = s.items
_A = s.assignments
_UNCREDITED_STATES = frozenset({ItemState.DRAFT, ItemState.WITHDRAWN})


def _conditions(query: ItemQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.jurisdiction is not None:
        found.append(_I.c.jurisdiction == query.jurisdiction)
    if query.states is not None:
        found.append(_I.c.state.in_(sorted(state.value for state in query.states)))
    if query.author_id is not None:
        found.append(
            exists().where(
                s.item_authors.c.item_id == _I.c.id,
                s.item_authors.c.account_id == query.author_id,
                s.item_authors.c.is_author == true(),
            )
        )
    if query.unit_id is not None:
        found.append(exists().where(_A.c.item_id == _I.c.id, _A.c.unit_id == query.unit_id))
    if query.published_only:
        found.append(_I.c.published == true())
    if query.commission_id is not None:
        found.append(_I.c.commission_id == query.commission_id)
    return found


def _ordering(order: ItemOrder) -> list[Any]:
    if order is ItemOrder.URGENT_FIRST:
        return [
            _I.c.urgent.desc(),
            func.coalesce(_I.c.submitted_at, _I.c.created_at).asc(),
            _I.c.id.asc(),
        ]
    return [_I.c.created_at.desc(), _I.c.id.asc()]


def _check_paging(limit: int | None, offset: int = 0) -> None:
    if (limit is not None and limit < 0) or offset < 0:
        raise InvalidInput("分页参数不能为负数", limit=limit, offset=offset)


class _Items:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, item_id: str) -> Item:
        row = self._uow.execute(select(_I.c.doc).where(_I.c.id == item_id)).first()
        return _loads(_require(row, "信息", item_id), Item)

    def add(self, item: Item) -> None:
        row = _item_row(item)
        children = _item_children(item)
        _check(_I, [row])
        for table, rows in children:
            _check(table, rows)
        with self._uow.atomic() as conn:
            if conn.execute(select(_I.c.id).where(_I.c.id == item.id)).first() is not None:
                raise _add_conflict("信息", item.id)
            conn.execute(insert(_I).values(row))
            for table, rows in children:
                self._uow.insert_rows(conn, table, rows)

    def save(self, item: Item, expected_version: int) -> None:
        row = _item_row(item)
        children = _item_children(item)
        _check(_I, [row])
        for table, rows in children:
            _check(table, rows)
        with self._uow.atomic() as conn:
            _compare_and_set(
                conn, _I, key=item.id, expected_version=expected_version, values=row, what="信息"
            )
            for table, rows in children:
                conn.execute(delete(table).where(table.c.item_id == item.id))
                self._uow.insert_rows(conn, table, rows)

    def find(self, query: ItemQuery) -> list[Item]:
        _check_paging(query.limit, query.offset)
        if query.order is ItemOrder.ISSUED_NEWEST_FIRST:
            return self._issued_newest_first(query)
        return self._page(_conditions(query), _ordering(query.order), query.limit, query.offset)

    def _page(
        self,
        conditions: Sequence[ColumnElement[bool]],
        ordering: Sequence[Any],
        limit: int | None,
        offset: int,
    ) -> list[Item]:
        stmt = select(_I.c.doc).where(*conditions).order_by(*ordering)
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        return [_loads(doc, Item) for doc in self._uow.execute(stmt).scalars()]

    def _issued_newest_first(self, query: ItemQuery) -> list[Item]:
        """Issued items newest first, then the never-issued ones by id, as two queries.

        One ``ORDER BY CASE WHEN issued_at IS NULL …`` would sort every matching row before
        paging; ``issued_at DESC, id`` alone is read in order from the (published, issued_at)
        index, so a page of published items costs the page, not the whole list.
        """
        base = _conditions(query)
        issued = self._page(
            [*base, _I.c.issued_at.is_not(None)],
            [_I.c.issued_at.desc(), _I.c.id.asc()],
            query.limit,
            query.offset,
        )
        if query.limit is not None and len(issued) == query.limit:
            return issued
        skip = 0
        if not issued and query.offset:
            count = select(func.count()).select_from(_I).where(*base, _I.c.issued_at.is_not(None))
            skip = query.offset - int(self._uow.execute(count).scalar_one())
        rest = None if query.limit is None else query.limit - len(issued)
        never = self._page([*base, _I.c.issued_at.is_(None)], [_I.c.id.asc()], rest, skip)
        return issued + never

    def count(self, query: ItemQuery) -> int:
        stmt = select(func.count()).select_from(_I).where(*_conditions(query))
        return int(self._uow.execute(stmt).scalar_one())

    def assignments(self, query: AssignmentQuery) -> list[tuple[Item, Assignment]]:
        _check_paging(query.limit)
        conditions: list[ColumnElement[bool]] = []
        if query.jurisdiction is not None:
            conditions.append(_A.c.jurisdiction == query.jurisdiction)
        if query.unit_id is not None:
            conditions.append(_A.c.unit_id == query.unit_id)
        if query.states is not None:
            conditions.append(_A.c.state.in_(sorted(state.value for state in query.states)))
            if query.states and query.states <= OPEN_ASSIGNMENT_STATES:
                # implied by the states; lets the (jurisdiction | unit, is_open, due, id)
                # indexes answer "open work, oldest due first" without a sort
                conditions.append(_A.c.is_open == true())
        if query.due_before is not None:
            conditions.append(_A.c.due < query.due_before)
        if query.rating_closed_before is not None:
            conditions.append(_A.c.rating_pending_until < query.rating_closed_before)
        if query.reminders_done is not None:
            conditions.append(_A.c.reminders_done == query.reminders_done)
        stmt = (
            select(_A.c.item_id, _A.c.id, _I.c.doc)
            .join(_I, _I.c.id == _A.c.item_id)
            .where(and_(true(), *conditions))
            .order_by(_A.c.due.asc(), _A.c.id.asc(), _A.c.item_id.asc())
        )
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        loaded: dict[str, Item] = {}
        found: list[tuple[Item, Assignment]] = []
        for row in self._uow.execute(stmt):
            item = loaded.get(row.item_id)
            if item is None:
                item = loaded[row.item_id] = _loads(row.doc, Item)
            assignment = item.assignment(row.id)
            if assignment is not None:
                found.append((item, assignment))
        return found

    def statistics(self, query: StatisticsQuery) -> Statistics:
        return _statistics(self._uow, query)


# --- statistics ------------------------------------------------------------------------------

_IA = s.item_authors
_F = s.feedback
_OVERDUE_STATES = sorted(state.value for state in AWAITING_UNIT_STATES)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _rows(uow: SqlUnitOfWork, statement: Executable) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in uow.execute(statement).all()]


_SUBMITTED_KEY = CreditKey(CreditKind.SUBMITTED)
_ADOPTED_KEY = CreditKey(CreditKind.ADOPTED)
_UPWARD_KEYS = {
    kind.value: CreditKey(kind)
    for kind in (CreditKind.REPORTED_TO_CITY_LEADERS, CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE)
}
_ADOPTED_BY_KEYS = {
    level.value: CreditKey(CreditKind.ADOPTED_BY, level=level) for level in AdoptionLevel
}
_INSTRUCTION_KEYS = {
    rank.value: CreditKey(CreditKind.INSTRUCTION, rank=rank) for rank in LeaderRank
}


def _statistics(uow: SqlUnitOfWork, query: StatisticsQuery) -> Statistics:
    """The counts of :func:`qiandao.statistics.statistics_of`, in five ``GROUP BY`` queries.

    Each reads one index range of one period: credit rows by (jurisdiction, submitted_on) and
    (jurisdiction, issued_on), feedback by (jurisdiction, on_date) joined to the credit rows
    of its item, assignments by (jurisdiction, assigned_on), and items by the covering
    (jurisdiction, submitted_on, category, channel, sector, adopted).
    """
    start, end = query.period.start, query.period.end

    def where(column: Any) -> list[ColumnElement[bool]]:
        return [] if query.jurisdiction is None else [column == query.jurisdiction]

    credits: dict[str, dict[CreditKey, int]] = defaultdict(dict)

    def credit(person: str, key: CreditKey, n: int) -> None:
        credits[person][key] = credits[person].get(key, 0) + int(n)

    submitted = (
        select(_IA.c.account_id, func.count())
        .where(*where(_IA.c.jurisdiction), _IA.c.submitted_on.between(start, end))
        .group_by(_IA.c.account_id)
    )
    for person, n in _rows(uow, submitted):
        credit(person, _SUBMITTED_KEY, n)

    adopted = (
        select(_IA.c.account_id, _IA.c.upward, func.count())
        .where(*where(_IA.c.jurisdiction), _IA.c.issued_on.between(start, end))
        .group_by(_IA.c.account_id, _IA.c.upward)
    )
    for person, upward, n in _rows(uow, adopted):
        credit(person, _ADOPTED_KEY, n)
        if upward is not None:
            credit(person, _UPWARD_KEYS[upward], n)

    feedback = (
        select(_IA.c.account_id, _F.c.kind, _F.c.level, _F.c.rank, func.count())
        .select_from(_F)
        .join(_IA, _IA.c.item_id == _F.c.item_id)
        .where(*where(_F.c.jurisdiction), _F.c.on_date.between(start, end), _F.c.credited)
        .group_by(_IA.c.account_id, _F.c.kind, _F.c.level, _F.c.rank)
    )
    for person, kind, level, leader_rank, n in _rows(uow, feedback):
        if kind == FeedbackKind.ADOPTION.value:
            credit(person, _ADOPTED_BY_KEYS[level], n)
        else:
            credit(person, _INSTRUCTION_KEYS[leader_rank], n)

    replied = _A.c.last_replied_on.is_not(None)
    units = (
        select(
            _A.c.unit_id,
            func.count(),
            _count_if(replied),
            _count_if(_A.c.last_replied_on <= _A.c.due),
            _count_if(
                and_(
                    _A.c.last_replied_on.is_(None),
                    _A.c.state.in_(_OVERDUE_STATES),
                    _A.c.due < query.today,
                )
            ),
            _count_if(_A.c.extended),
            _count_if(_A.c.declined),
            *(_count_if(and_(replied, _A.c.rating == r.value)) for r in Rating),
            func.sum(_A.c.reply_workdays),
            func.count(_A.c.reply_workdays),
        )
        .where(*where(_A.c.jurisdiction), _A.c.assigned_on.between(start, end))
        .group_by(_A.c.unit_id)
    )
    unit_counts = []
    for row in _rows(uow, units):
        unit_id, assigned, n_replied, on_time, overdue, extended, declined = row[:7]
        ratings = dict(zip(Rating, (int(n) for n in row[7 : 7 + len(Rating)]), strict=True))
        total, count = row[7 + len(Rating) :]
        unit_counts.append(
            UnitCounts(
                unit_id=unit_id,
                assigned=int(assigned),
                replied=int(n_replied),
                replied_on_time=int(on_time),
                overdue=int(overdue),
                extended=int(extended),
                declined=int(declined),
                ratings=ratings,
                reply_workdays_total=int(total or 0),
                reply_workdays_count=int(count),
            )
        )

    groups = (
        select(
            _I.c.category,
            _I.c.sector,
            _I.c.channel,
            _I.c.jurisdiction,
            func.count(),
            _count_if(_I.c.adopted),
        )
        .where(*where(_I.c.jurisdiction), _I.c.submitted_on.between(start, end))
        .group_by(_I.c.category, _I.c.sector, _I.c.channel, _I.c.jurisdiction)
    )
    tallies: list[dict[str, list[int]]] = [{}, {}, {}, {}]
    for row in _rows(uow, groups):
        n, n_adopted = int(row[4]), int(row[5])
        for tally, key in zip(tallies, row[:4], strict=True):
            counts = tally.setdefault(key, [0, 0])
            counts[0] += n
            counts[1] += n_adopted
    category, sector, channel, jurisdiction = (
        [GroupCounts(key, n, n_adopted) for key, (n, n_adopted) in tally.items()]
        for tally in tallies
    )
    return Statistics(
        query=query,
        people=[PersonCounts(person, counts) for person, counts in credits.items()],
        units=unit_counts,
        by_category=category,
        by_sector=sector,
        by_channel=channel,
        by_jurisdiction=jurisdiction,
    )


# --- events and outbox ----------------------------------------------------------------------


class _Events:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        rows = [
            {
                "id": e.id,
                "item_id": e.item_id,
                "sequence": e.sequence,
                "kind": e.kind.value,
                "actor_id": e.actor_id,
                "at": e.at,
                "doc": _dumps(e),
            }
            for e in events
        ]
        _check(s.events, rows)
        t = s.events
        with self._uow.atomic() as conn:
            following: dict[str, int] = {}
            for e in events:
                if e.item_id not in following:
                    last = conn.execute(
                        select(func.max(t.c.sequence)).where(t.c.item_id == e.item_id)
                    ).scalar()
                    following[e.item_id] = (last or 0) + 1
                if e.sequence != following[e.item_id]:
                    raise ConcurrencyConflict(
                        f"事件序号冲突：{e.item_id}#{e.sequence}", id=e.item_id
                    )
                following[e.item_id] += 1
            conn.execute(insert(t), rows)

    def for_item(self, item_id: str) -> list[Event]:
        t = s.events
        stmt = select(t.c.doc).where(t.c.item_id == item_id).order_by(t.c.sequence)
        return [_load_event(doc) for doc in self._uow.execute(stmt).scalars()]


class _Outbox:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for m in messages:
            rows.setdefault(
                m.notice.id,
                {
                    "notice_id": m.notice.id,
                    "recorded_at": m.recorded_at,
                    "dispatched_at": m.dispatched_at,
                    "attempts": m.attempts,
                    "doc": _dumps(m.notice),
                },
            )
        if not rows:
            return
        _check(s.outbox, rows.values())
        with self._uow.atomic() as conn:
            self._uow.insert_missing(conn, s.outbox, list(rows.values()), "notice_id")

    def pending(self, limit: int) -> list[OutboxMessage]:
        _check_paging(limit)
        t = s.outbox
        stmt = (
            select(t.c.doc, t.c.recorded_at, t.c.dispatched_at, t.c.attempts)
            .where(t.c.dispatched_at.is_(None))
            .order_by(t.c.attempts, t.c.recorded_at, t.c.seq)  # failing ones never starve
            .limit(limit)
        )
        return [
            OutboxMessage(_loads(row.doc, Notice), row.recorded_at, row.dispatched_at, row.attempts)
            for row in self._uow.execute(stmt)
        ]

    def _update(self, notice_id: str, values: Mapping[str, Any]) -> None:
        t = s.outbox
        result = self._uow.execute(
            update(t).where(t.c.notice_id == notice_id).values(values), write=True
        )
        if _rowcount(result) == 0:
            raise NotFound(f"通知不存在：{notice_id}", id=notice_id)

    def mark_dispatched(self, notice_id: str, at: datetime) -> None:
        self._update(notice_id, {"dispatched_at": at})

    def mark_failed(self, notice_id: str) -> None:
        self._update(notice_id, {"attempts": s.outbox.c.attempts + 1})


# --- accounts and sessions ------------------------------------------------------------------


class _Accounts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, account_id: str) -> Account:
        t = s.accounts
        row = self._uow.execute(select(t.c.doc).where(t.c.id == account_id)).first()
        return _loads(_require(row, "账号", account_id), Account)

    def by_phone(self, phone: str) -> Account | None:
        t = s.accounts
        doc = self._uow.execute(select(t.c.doc).where(t.c.phone == phone)).scalar()
        return None if doc is None else _loads(doc, Account)

    def by_external(self, provider: str, subject: str) -> Account | None:
        t, x = s.accounts, s.external_identities
        stmt = (
            select(t.c.doc)
            .join(x, x.c.account_id == t.c.id)
            .where(x.c.provider == provider, x.c.subject == subject)
        )
        doc = self._uow.execute(stmt).scalar()
        return None if doc is None else _loads(doc, Account)

    def _check_phone(self, conn: Connection, account: Account) -> None:
        if account.phone is None:
            return
        t = s.accounts
        other = conn.execute(
            select(t.c.id).where(t.c.phone == account.phone, t.c.id != account.id).limit(1)
        ).first()
        if other is not None:
            raise DuplicateAccount(phone_tail=account.phone[-4:])

    def add(self, account: Account) -> None:
        row, identities = _account_row(account), _identity_rows(account)
        _check(s.accounts, [row])
        _check(s.external_identities, identities)
        t = s.accounts
        with self._uow.atomic() as conn:
            self._check_phone(conn, account)
            if conn.execute(select(t.c.id).where(t.c.id == account.id)).first() is not None:
                raise _add_conflict("账号", account.id)
            conn.execute(insert(t).values(row))
            self._uow.insert_rows(conn, s.external_identities, identities)

    def save(self, account: Account, expected_version: int) -> None:
        row, identities = _account_row(account), _identity_rows(account)
        _check(s.accounts, [row])
        _check(s.external_identities, identities)
        x = s.external_identities
        with self._uow.atomic() as conn:
            self._check_phone(conn, account)
            _compare_and_set(
                conn,
                s.accounts,
                key=account.id,
                expected_version=expected_version,
                values=row,
                what="账号",
            )
            conn.execute(delete(x).where(x.c.account_id == account.id))
            self._uow.insert_rows(conn, x, identities)

    def list(self, jurisdiction: str | None = None) -> list[Account]:
        t = s.accounts
        stmt = select(t.c.doc).order_by(t.c.id)
        if jurisdiction is not None:
            stmt = stmt.where(t.c.jurisdiction == jurisdiction)
        return [_loads(doc, Account) for doc in self._uow.execute(stmt).scalars()]


class _Sessions:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, token_hash: str) -> Session | None:
        t = s.sessions
        doc = self._uow.execute(select(t.c.doc).where(t.c.token_hash == token_hash)).scalar()
        return None if doc is None else _loads(doc, Session)

    def put(self, session: Session) -> None:
        """Insert or update; an update never clears ``revoked`` set by a concurrent revocation."""
        row = _session_row(session)
        _check(s.sessions, [row])
        t = s.sessions
        with self._uow.atomic() as conn:
            if session.revoked:
                self._uow.upsert(conn, t, row, "token_hash")
                return
            live = (t.c.token_hash == session.token_hash) & (t.c.revoked == False)  # noqa: E712
            if conn.execute(update(t).where(live).values(**row)).rowcount:
                return
            known = select(t.c.token_hash).where(t.c.token_hash == session.token_hash)
            if conn.execute(known).first() is None:
                conn.execute(insert(t).values(**row))

    def revoke_all(self, account_id: str) -> int:
        t = s.sessions
        with self._uow.atomic() as conn:
            live = conn.execute(
                select(t.c.doc).where(t.c.account_id == account_id, t.c.revoked == False)  # noqa: E712
            ).scalars()
            revoked = [attrs.evolve(_loads(doc, Session), revoked=True) for doc in live]
            for session in revoked:
                conn.execute(
                    update(t)
                    .where(t.c.token_hash == session.token_hash)
                    .values(revoked=True, doc=_dumps(session))
                )
        return len(revoked)


# --- units, commissions, idempotency ----------------------------------------------------------


class _Units:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, unit_id: str) -> Unit:
        t = s.units
        row = self._uow.execute(select(t.c.doc).where(t.c.id == unit_id)).first()
        return _loads(_require(row, "承办单位", unit_id), Unit)

    def add(self, unit: Unit) -> None:
        t = s.units
        row = {
            "id": unit.id,
            "jurisdiction": unit.jurisdiction,
            "active": unit.active,
            "doc": _dumps(unit),
        }
        _check(t, [row])
        with self._uow.atomic() as conn:
            if conn.execute(select(t.c.id).where(t.c.id == unit.id)).first() is not None:
                raise _add_conflict("承办单位", unit.id)
            conn.execute(insert(t).values(row))

    def list(self, jurisdiction: str | None = None) -> list[Unit]:
        t = s.units
        stmt = select(t.c.doc).order_by(t.c.id)
        if jurisdiction is not None:
            stmt = stmt.where(t.c.jurisdiction == jurisdiction)
        return [_loads(doc, Unit) for doc in self._uow.execute(stmt).scalars()]


def _commission_row(commission: Commission) -> dict[str, Any]:
    return {
        "id": commission.id,
        "version": commission.version,
        "jurisdiction": commission.jurisdiction,
        "doc": _dumps(commission),
    }


class _Commissions:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, commission_id: str) -> Commission:
        t = s.commissions
        row = self._uow.execute(select(t.c.doc).where(t.c.id == commission_id)).first()
        return _loads(_require(row, "约稿", commission_id), Commission)

    def add(self, commission: Commission) -> None:
        t = s.commissions
        row = _commission_row(commission)
        _check(t, [row])
        with self._uow.atomic() as conn:
            if conn.execute(select(t.c.id).where(t.c.id == commission.id)).first() is not None:
                raise _add_conflict("约稿", commission.id)
            conn.execute(insert(t).values(row))

    def save(self, commission: Commission, expected_version: int) -> None:
        row = _commission_row(commission)
        _check(s.commissions, [row])
        with self._uow.atomic() as conn:
            _compare_and_set(
                conn,
                s.commissions,
                key=commission.id,
                expected_version=expected_version,
                values=row,
                what="约稿",
            )

    def list(self, jurisdiction: str | None = None) -> list[Commission]:
        t = s.commissions
        stmt = select(t.c.doc).order_by(t.c.id)
        if jurisdiction is not None:
            stmt = stmt.where(t.c.jurisdiction == jurisdiction)
        return [_loads(doc, Commission) for doc in self._uow.execute(stmt).scalars()]


class _Idempotency:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    def get(self, key: str) -> IdempotencyRecord | None:
        t = s.idempotency
        row = self._uow.execute(
            select(t.c.key, t.c.fingerprint, t.c.item_id).where(t.c.key == key)
        ).first()
        return None if row is None else IdempotencyRecord(row.key, row.fingerprint, row.item_id)

    def add(self, record: IdempotencyRecord) -> None:
        t = s.idempotency
        row = {"key": record.key, "fingerprint": record.fingerprint, "item_id": record.item_id}
        _check(t, [row])
        with self._uow.atomic() as conn:
            if conn.execute(select(t.c.key).where(t.c.key == record.key)).first() is not None:
                raise _add_conflict("幂等键", record.key)
            conn.execute(insert(t).values(row))


# --- the store -----------------------------------------------------------------------------


class SqlStore:
    """A store in a SQL database, reached through SQLAlchemy Core.

    ``url_or_engine`` is a SQLAlchemy URL (``sqlite:///qiandao.db``,
    ``postgresql+psycopg://user@host/db``, ``mysql+pymysql://user@host/db``) or an engine; an
    engine made elsewhere is used as it is, except that a SQLite engine gets the transaction
    hooks of :func:`configure_sqlite`.
    """

    def __init__(
        self, url_or_engine: str | URL | Engine, *, busy_timeout: float = 30.0, **engine_kwargs: Any
    ) -> None:
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
            self._owns_engine = False
            configure_sqlite(self.engine, busy_timeout=busy_timeout)
        else:
            self.engine = make_engine(url_or_engine, busy_timeout=busy_timeout, **engine_kwargs)
            self._owns_engine = True

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work (its transaction begins on first use)."""
        return SqlUnitOfWork(self.engine)

    def create_all(self) -> None:
        """Create the tables that are missing (tests, demos; production uses ``upgrade``)."""
        with translated():
            s.metadata.create_all(self.engine)

    def drop_all(self) -> None:
        """Drop every qiandao table (tests only)."""
        with translated():
            s.metadata.drop_all(self.engine)

    def dispose(self) -> None:
        """Close pooled connections (only of an engine this store created)."""
        if self._owns_engine:
            self.engine.dispose()
