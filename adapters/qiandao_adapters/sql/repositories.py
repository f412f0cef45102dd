"""The repositories of the SQL store: each reads and writes its tables in one unit of work.

A command's writes run in the unit of work's transaction without a savepoint
(:meth:`Transaction.writes`): each refuses (a conflict, a duplicate) before its first write, so a
refused call leaves the unit of work as it was and usable, as in the in-memory store, and any
other failure loses the whole unit. Multi-table writes of accounts, sessions, leases and
jurisdictions run in a savepoint (:meth:`Transaction.atomic`). Saves are compare-and-set on the
version column (``UPDATE ... WHERE id = :id AND version = :expected``, the row count checked);
the child rows that changed are rewritten in the same block. Queries are pushed down to SQL on
the derived columns, load documents only for the rows returned, and give the same rows in the
same order as :mod:`qiandao.queries`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from qiandao.accounts import PolicyChange
from qiandao.audit import (
    GENESIS,
    AuditChain,
    AuditEntry,
    AuditHead,
    AuditQuery,
    AuditRecord,
    parse_cursor,
)
from qiandao.errors import (
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    NotFound,
    QiandaoError,
)
from qiandao.events import Event
from qiandao.lanes import ASSIGNMENT_LANES, REVIEW_LANES, Lane, LanePosition
from qiandao.model import (
    Account,
    AccountEvent,
    AccountStatus,
    Assignment,
    Channel,
    Commission,
    FocusCategory,
    GrantProposal,
    Item,
    Jurisdiction,
    ProposalState,
    RoleGrant,
    Session,
    Unit,
    UnitEvent,
)
from qiandao.outbox import OutboxState
from qiandao.planning import AnnualPlan, plan_id
from qiandao.ports.notify import Notice
from qiandao.ports.store import (
    AssignmentQuery,
    AttentionQuery,
    IdempotencyRecord,
    ItemOrder,
    ItemQuery,
    LaneQuery,
    LoggedEvent,
    Names,
    OutboxMessage,
    ReviewWaitQuery,
)
from qiandao.rules.lifecycle import OPEN_ASSIGNMENT_STATES
from qiandao.rules.roles import Role
from qiandao.similarity import SimilarityCandidate, SimilarityEntry
from qiandao.statistics import Statistics, StatisticsQuery
from qiandao.topics import TermCounts, TopicEntry, TopicScope
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql import statements as st
from qiandao_adapters.sql.memo import Decoded, Heads
from qiandao_adapters.sql.rows import (
    Row,
    account_event_row,
    account_row,
    audit_record,
    audit_row,
    check_bounds,
    commission_row,
    dumps,
    event_row,
    grant_rows,
    identity_rows,
    item_children,
    item_row,
    jurisdiction_row,
    loads,
    outbox_row,
    plan_row,
    policy_row,
    proposal_row,
    session_row,
    unit_event_row,
    unit_row,
)
from qiandao_adapters.sql.sealing import SEALED, TEXT_SCOPE, Sealer, person_scope
from qiandao_adapters.sql.statistics import statistics

__all__ = [
    "SqlAccounts",
    "SqlAudit",
    "SqlCommissions",
    "SqlDirectory",
    "SqlEvents",
    "SqlIdempotency",
    "SqlItems",
    "SqlJurisdictions",
    "SqlLeases",
    "SqlOutbox",
    "SqlPlans",
    "SqlSessions",
    "SqlSimilarity",
    "SqlTopics",
    "SqlUnits",
    "Transaction",
]

T = TypeVar("T")


class Transaction(Protocol):
    """What a repository needs of its unit of work: statements, savepoints and its sealer."""

    @property
    def sealer(self) -> Sealer:
        """Seals the rows written and opens the values read (encryption at rest)."""
        ...

    def execute(
        self, statement: Executable, params: Any = None, *, write: bool = False
    ) -> Result[Any]:
        """Run one statement in the unit of work (``write``: inside its write transaction)."""
        ...

    def atomic(self) -> AbstractContextManager[Connection]:
        """A savepoint: the block's writes all happen, or none and the error propagates."""
        ...

    def writes(self) -> AbstractContextManager[Connection]:
        """Writes without a savepoint: a refusal raised before the first write leaves the unit
        usable, any other error loses the whole unit (nothing of it commits)."""
        ...

    def flush_deferred(self) -> None:
        """Write the saves and notices the repositories deferred (done before every other
        statement and at commit)."""
        ...

    @property
    def heads(self) -> Heads:
        """The store's remembered head rows (:mod:`.memo`)."""
        ...

    @property
    def decoded(self) -> Decoded:
        """The store's aggregates already opened and structured (:mod:`.memo`)."""
        ...


# --- writing rows ---------------------------------------------------------------------------


def _insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (none: no statement)."""
    if rows:
        conn.execute(st.insert_into(table), list(rows))


def _insert_missing(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str
) -> None:
    """Insert the rows whose key is not there yet; leave existing rows alone."""
    if not rows:
        return
    stmt = st.insert_missing(table, key, conn.dialect.name)
    if stmt is not None:
        conn.execute(stmt, list(rows))
    else:
        present = set(
            conn.execute(
                select(table.c[key]).where(table.c[key].in_([r[key] for r in rows]))
            ).scalars()
        )
        _insert_rows(conn, table, [r for r in rows if r[key] not in present])


def _locked_head(
    conn: Connection, table: Table, key: str, value: str, seed: Callable[[Connection], Row]
) -> Any:
    """The one-row head ``value`` of ``table`` (by its ``key`` column), read under its lock
    until commit; a missing row is made first from ``seed``, by whoever comes first."""
    columns = [c.name for c in table.columns if c.name != key]
    locked = st.locked(table, key, *columns)
    row = conn.execute(locked, {"_key": value}).first()
    if row is None:
        _insert_missing(conn, table, [seed(conn)], key)
        row = conn.execute(locked, {"_key": value}).one()
    return row


def _upsert(conn: Connection, table: Table, row: Mapping[str, Any], key: str) -> None:
    """Insert the row, or overwrite the row with the same key."""
    values = {k: v for k, v in row.items() if k != key}
    name = conn.dialect.name
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


def _load(tx: Transaction, table: Table, row: Any, cls: type[T]) -> T:
    """The aggregate in a row read with its key columns and ``doc`` (opened if sealed), from
    the store's :class:`~.memo.Decoded` when the same document was opened before."""
    mapping = row._mapping
    key = (cls, *(mapping[k] for k in SEALED.get(table.name, ((),))[0]))
    return tx.decoded.load(
        table.name, key, mapping["doc"], lambda: loads(tx.sealer.open_doc(table, row), cls)
    )


_MANY = 500
"""Ids per ``IN`` list of :meth:`SqlItems.get_many`."""


def _docs(table: Table) -> Select[Any]:
    """``SELECT`` the key columns and the document of ``table`` (what :func:`_load` reads)."""
    stmt: Select[Any] = select(table.c.id, table.c.doc)
    return stmt


def _get(tx: Transaction, table: Table, key: str, cls: type[T], what: str) -> T:
    """The aggregate stored under ``key``, or NotFound naming ``what``."""
    row = tx.execute(st.doc_by_id(table), {"_key": key}).first()
    if row is None:
        raise NotFound(f"{what}不存在：{key}", id=key)
    return _load(tx, table, row, cls)


def _list(tx: Transaction, table: Table, cls: type[T], jurisdiction: str | None) -> list[T]:
    """Every aggregate of ``table`` (of one jurisdiction, if given), by id."""
    stmt = select(table.c.id, table.c.doc).order_by(table.c.id)
    if jurisdiction is not None:
        stmt = stmt.where(table.c.jurisdiction == jurisdiction)
    return [_load(tx, table, row, cls) for row in tx.execute(stmt)]


def _insert_new(
    conn: Connection, table: Table, row: Mapping[str, Any], key: str, what: str
) -> None:
    """Insert ``row``; a row with the same ``key`` already there is a ConcurrencyConflict."""
    if conn.execute(st.key_present(table, key), {"_key": row[key]}).first() is not None:
        raise ConcurrencyConflict(f"{what}已存在：{row[key]}", id=row[key])
    conn.execute(st.insert_into(table), dict(row))


def _add(tx: Transaction, table: Table, row: Mapping[str, Any], key: str, what: str) -> None:
    """Check the row's bounds and insert it (sealed, if its table is), refusing a key already
    there."""
    check_bounds(table, [row])
    if table.name in SEALED:
        row = tx.sealer.seal_row(table, row)
    with tx.writes() as conn:
        _insert_new(conn, table, row, key, what)


def _save(
    tx: Transaction,
    table: Table,
    row: Mapping[str, Any],
    key: str,
    expected_version: int,
    what: str,
) -> None:
    """Check the row's bounds and compare-and-set it (sealed, if its table is): the save of a
    one-row aggregate keyed by ``id``."""
    check_bounds(table, [row])
    if table.name in SEALED:
        row = tx.sealer.seal_row(table, row)
    with tx.writes() as conn:
        _compare_and_set(
            conn, table, key=key, expected_version=expected_version, values=row, what=what
        )


def _cas_params(key: str, expected_version: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of :func:`~.statements.compare_and_set`: the columns to set (all but
    ``id``), the row's key and the version expected."""
    return {
        **{k: v for k, v in values.items() if k != "id"},
        "_key": key,
        "_expected": expected_version,
    }


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
    params = _cas_params(key, expected_version, values)
    if _rowcount(conn.execute(st.compare_and_set(table), params)) == 1:
        return
    actual = conn.execute(st.version_of(table), {"_key": key}).scalar()
    if actual is None:
        raise NotFound(f"{what}不存在：{key}", id=key)
    raise ConcurrencyConflict(id=key, expected=expected_version, actual=actual)


def _log_of(tx: Transaction, table: Table, key: str, owner: str, cls: type[T]) -> list[T]:
    """The clear documents of ``owner``'s log in ``table`` (by its ``key`` column), in order."""
    stmt = select(table.c.doc).where(table.c[key] == owner).order_by(table.c.sequence)
    return [loads(doc, cls) for doc in tx.execute(stmt).scalars()]


def _append_in_sequence(
    tx: Transaction,
    table: Table,
    key: str,
    keyed: Sequence[tuple[str, int]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """Append log rows whose ``(key, sequence)`` must each be the next of their key, or
    ConcurrencyConflict (nothing appended)."""
    if not rows:
        return
    check_bounds(table, rows)
    with tx.writes() as conn:
        following: dict[str, int] = {}
        for owner, sequence in keyed:
            if owner not in following:
                last = conn.execute(st.last_sequence(table, key), {"_owner": owner}).scalar()
                following[owner] = (last or 0) + 1
            if sequence != following[owner]:
                raise ConcurrencyConflict(f"事件序号冲突：{owner}#{sequence}", id=owner)
            following[owner] += 1
        conn.execute(st.insert_into(table), list(rows))


# --- items ---------------------------------------------------------------------------------


_I = s.items
_A = s.assignments


def _conditions(query: ItemQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.jurisdiction is not None:
        found.append(_I.c.jurisdiction == query.jurisdiction)
    if query.states is not None:
        found.append(_I.c.state.in_(sorted(state.value for state in query.states)))
    # ``id IN (SELECT item_id …)``, not a correlated ``EXISTS``: SQLite runs an ``EXISTS`` once
    # per item row (a scan of every item); the ``IN`` list is read from the child table's index
    # and its items looked up by key, on every database
    if query.author_id is not None:
        t = s.item_authors
        found.append(_I.c.id.in_(select(t.c.item_id).where(t.c.account_id == query.author_id)))
    if query.unit_id is not None:
        found.append(_I.c.id.in_(select(_A.c.item_id).where(_A.c.unit_id == query.unit_id)))
    if query.published_only:
        found.append(_I.c.published == true())
    if query.commission_id is not None:
        found.append(_I.c.commission_id == query.commission_id)
    return found


_URGENT_WHEN = func.coalesce(_I.c.submitted_at, _I.c.created_at)


def _ordering(order: ItemOrder) -> list[Any]:
    """The keyset order of ``order`` (``qiandao.queries.order_position``), issued items only
    for ``ISSUED_NEWEST_FIRST`` (the never issued follow by id, as a second query). One
    direction per order, so an ascending index on (instant, id) read backwards serves it."""
    if order is ItemOrder.URGENT_FIRST:
        return [_I.c.priority.asc(), _URGENT_WHEN.asc(), _I.c.id.asc()]
    if order is ItemOrder.ISSUED_NEWEST_FIRST:
        return [_I.c.issued_at.desc(), _I.c.id.desc()]
    return [_I.c.created_at.desc(), _I.c.id.desc()]


def _check_paging(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise InvalidInput("分页参数不能为负数", limit=limit)


def _beyond(keys: Sequence[tuple[Any, Any, bool]]) -> ColumnElement[bool]:
    """Rows strictly after the given values in the lexicographic order of their columns, each
    (column, value, descending). The first column is also bounded on its own (``>=``, or
    ``<=`` descending): a range an index can seek to, so a deep page starts where it starts
    instead of reading and discarding every row before it."""
    column, value, descending = keys[0]
    bound: ColumnElement[bool] = column <= value if descending else column >= value
    return and_(bound, _strictly_after(keys))


def _strictly_after(keys: Sequence[tuple[Any, Any, bool]]) -> ColumnElement[bool]:
    column, value, descending = keys[0]
    later: ColumnElement[bool] = column < value if descending else column > value
    if len(keys) == 1:
        return later
    return or_(later, and_(column == value, _strictly_after(keys[1:])))


def _after(keys: Sequence[tuple[Any, Any]]) -> ColumnElement[bool]:
    """Rows strictly after the given values, every column ascending."""
    return _beyond([(column, value, False) for column, value in keys])


def _order_after(order: ItemOrder, position: LanePosition | None) -> list[ColumnElement[bool]]:
    """The keyset condition of ``order`` after ``position`` (issued newest first: the issued
    part's, for a position of rank 0)."""
    if position is None:
        return []
    p = position
    if order is ItemOrder.URGENT_FIRST:
        keys = [(_I.c.priority, p.priority, False), (_URGENT_WHEN, p.when, False)]
    elif order is ItemOrder.ISSUED_NEWEST_FIRST:
        keys = [(_I.c.issued_at, p.when, True)]
    elif p.priority != 0:
        return [false()]  # every row of newest first has rank 0: none comes after rank 1
    else:
        keys = [(_I.c.created_at, p.when, True)]
    descending = order is not ItemOrder.URGENT_FIRST
    return [_beyond([*keys, (_I.c.id, p.id, descending)])]


def _item_after(position: LanePosition | None) -> list[ColumnElement[bool]]:
    if position is None:
        return []
    p = position
    return [_after([(_I.c.priority, p.priority), (_I.c.state_since, p.when), (_I.c.id, p.id)])]


_ITEM_LANE_ORDER = (_I.c.priority.asc(), _I.c.state_since.asc(), _I.c.id.asc())
_REVIEW_LANE_CODES = sorted(lane.value for lane in REVIEW_LANES)


def _lane_column(lane: Lane) -> Any:
    """The assignment column of ``lane``: the office's lane or the unit's."""
    return _A.c.office_lane if lane in (Lane.DECLINED, Lane.EXTENSION) else _A.c.unit_lane


def _lane_scope(query: LaneQuery) -> list[ColumnElement[bool]]:
    """The query's scope on the lane's table (items, or assignments)."""
    table = _A if query.lane in ASSIGNMENT_LANES else _I
    found: list[ColumnElement[bool]] = []
    if query.jurisdiction is not None:
        found.append(table.c.jurisdiction == query.jurisdiction)
    if query.unit_id is not None and table is _A:
        found.append(_A.c.unit_id == query.unit_id)
    if query.destination_keys is not None and table is _I:
        found.append(_I.c.destinations_key.in_(sorted(query.destination_keys)))
    return found


def _lane_select(query: LaneQuery) -> Select[Any]:
    """The page query of a lane: ``doc`` (and ``assignment_id`` in assignment lanes), in the
    lane's keyset order, after ``query.after``, at most ``query.limit`` rows."""
    lane = query.lane
    stmt: Select[Any]
    if lane not in ASSIGNMENT_LANES:
        conditions = [*_lane_scope(query), _I.c.lane == lane.value, *_item_after(query.after)]
        stmt = _docs(_I).where(*conditions).order_by(*_ITEM_LANE_ORDER)
    else:
        conditions = [*_lane_scope(query), _lane_column(lane) == lane.value]
        if query.after is not None:
            p = query.after
            keys = [(_A.c.priority, p.priority), (_A.c.due, p.when), (_A.c.id, p.id)]
            conditions.append(_after([*keys, (_A.c.item_id, p.item_id)]))
        stmt = (
            _docs(_I)
            .add_columns(_A.c.id.label("assignment_id"))
            .select_from(_A)
            .join(_I, _I.c.id == _A.c.item_id)
            .where(*conditions)
            .order_by(_A.c.priority, _A.c.due, _A.c.id, _A.c.item_id)
        )
    return stmt if query.limit is None else stmt.limit(query.limit)


def _lane_count(query: LaneQuery) -> Select[Any]:
    """How many rows the query's lane has in its scope (``after`` and ``limit`` ignored)."""
    if query.lane not in ASSIGNMENT_LANES:
        table, column = _I, _I.c.lane
    else:
        table, column = _A, _lane_column(query.lane)
    return (
        select(func.count())
        .select_from(table)
        .where(*_lane_scope(query), column == query.lane.value)
    )


def _lane_row(tx: Transaction, row: Any) -> tuple[Item, Assignment | None]:
    item = _load(tx, _I, row, Item)
    assignment_id = row._mapping.get("assignment_id")
    return item, None if assignment_id is None else item.assignment(assignment_id)


def _assignment_filter(query: AssignmentQuery) -> list[ColumnElement[bool]]:
    """The conditions of an assignment query on the assignments table (``after`` aside), its
    values as the placeholders :func:`_assignment_values` binds: they depend on which fields
    are set, not on their values, so a statement is built once per shape of query."""
    conditions: list[ColumnElement[bool]] = []
    if query.jurisdiction is not None:
        conditions.append(_A.c.jurisdiction == bindparam("_jurisdiction"))
    if query.unit_id is not None:
        conditions.append(_A.c.unit_id == bindparam("_unit_id"))
    if query.states is not None:
        conditions.append(_A.c.state.in_(bindparam("_states", expanding=True)))
        if _all_open(query):
            # implied by the states; lets the (jurisdiction | unit, is_open, due, id)
            # indexes answer "open work, oldest due first" without a sort
            conditions.append(_A.c.is_open == true())
    if query.due_before is not None:
        conditions.append(_A.c.due < bindparam("_due_before"))
    if query.rating_closed_before is not None:
        conditions.append(_A.c.rating_pending_until < bindparam("_rating_closed_before"))
    if query.reminders_done is not None:
        conditions.append(_A.c.reminders_done == bindparam("_reminders_done"))
    if query.provisional_only:
        # no column says "provisional": narrow to open work and windows awaiting a rating
        # (both indexed), and let the loaded doc decide (Assignment.provisional_pending)
        conditions.append(or_(_A.c.is_open == true(), _A.c.rating_pending_until.is_not(None)))
    return conditions


def _all_open(query: AssignmentQuery) -> bool:
    """Whether the query asks for some states, all of them open ones."""
    states = query.states or frozenset()
    return bool(states) and states <= OPEN_ASSIGNMENT_STATES


def _assignment_values(query: AssignmentQuery) -> dict[str, Any]:
    """The values of the placeholders of :func:`_assignment_filter`, ``after`` and the limit."""
    values: dict[str, Any] = {
        "_jurisdiction": query.jurisdiction,
        "_unit_id": query.unit_id,
        "_due_before": query.due_before,
        "_rating_closed_before": query.rating_closed_before,
        "_reminders_done": query.reminders_done,
        "_limit": query.limit,
    }
    if query.states is not None:
        values["_states"] = sorted(state.value for state in query.states)
    if query.after is not None:
        p = query.after
        values.update(_after_due=p.when, _after_id=p.id, _after_item=p.item_id)
    return {key: value for key, value in values.items() if value is not None}


_SHAPE_FIELDS = (
    "jurisdiction",
    "unit_id",
    "states",
    "due_before",
    "rating_closed_before",
    "reminders_done",
    "after",
    "limit",
)
"""The query fields whose being set (not their values) changes the page statement."""

_ASSIGNMENT_SELECTS: dict[tuple[bool, ...], Select[Any]] = {}


def _assignment_select(query: AssignmentQuery, *, counted: bool) -> Select[Any]:
    """The page statement of ``query`` (with the total as a column when ``counted``), built
    on the first query of its shape and bound with :func:`_assignment_values`."""
    shape = (
        *(getattr(query, name) is None for name in _SHAPE_FIELDS),
        _all_open(query),
        query.provisional_only,
        counted,
    )
    stmt = _ASSIGNMENT_SELECTS.get(shape)
    if stmt is None:
        stmt = _ASSIGNMENT_SELECTS[shape] = _build_assignment_select(query, counted=counted)
    return stmt


def _assignment_count(query: AssignmentQuery) -> Select[Any]:
    """``SELECT count(*)`` of the assignments ``query`` filters (``after`` and limit aside),
    bound with :func:`_assignment_values`."""
    return select(func.count()).select_from(_A).where(*_assignment_filter(query))


def _build_assignment_select(query: AssignmentQuery, *, counted: bool) -> Select[Any]:
    conditions = _assignment_filter(query)
    if query.after is not None:
        keys = [("due", "_after_due"), ("id", "_after_id"), ("item_id", "_after_item")]
        conditions.append(_after([(_A.c[column], bindparam(name)) for column, name in keys]))
    stmt = (
        select(_A.c.item_id, _A.c.id.label("assignment_id"), _I.c.doc, _I.c.id)
        .join(_I, _I.c.id == _A.c.item_id)
        .where(and_(true(), *conditions))
        .order_by(_A.c.due.asc(), _A.c.id.asc(), _A.c.item_id.asc())
    )
    if counted and not query.provisional_only:
        count = _assignment_count(query).correlate(None).scalar_subquery()
        stmt = stmt.add_columns(count.label("found_total"))
    if query.limit is not None and not query.provisional_only:
        stmt = stmt.limit(bindparam("_limit"))
    return stmt


@attrs.frozen
class _ChildChange:
    """What a save writes to one child table: the keys of the rows to delete (``None``: all of
    the item's), and the rows to write (in clear), of which those keyed in ``kept`` are updated
    in place and the others inserted."""

    table: Table
    gone: list[Any] | None
    rows: list[Row]
    kept: frozenset[Any] = frozenset()


def _child_changes(before: Item | None, after: Item) -> list[_ChildChange]:
    """The child tables that changed from ``before`` to ``after``: a row whose key goes is
    deleted, a row whose key stays but whose values change is updated, a new key inserted."""
    if before is None:
        return [_ChildChange(table, None, rows) for table, rows in item_children(after)]
    changes: list[_ChildChange] = []
    for (table, old), (_, new) in zip(item_children(before), item_children(after), strict=True):
        if old == new:
            continue
        key = st.child_key(table)
        had = {row[key]: row for row in old}
        wanted = {row[key] for row in new}
        gone = [k for k in had if k not in wanted]
        rows = [row for row in new if had.get(row[key]) != row]
        kept = frozenset(row[key] for row in rows if row[key] in had)
        changes.append(_ChildChange(table, gone, rows, kept))
    return changes


def _write_children(
    conn: Connection, changes: Sequence[tuple[str, _ChildChange, list[Row]]]
) -> None:
    """Apply the :class:`_ChildChange` of each ``(owner, change, rows)`` (``rows``: its rows as
    stored, sealed), one statement per table and kind of write for every owner at once: the
    owners' rows are apart, so only each owner's order matters (deletes, then writes). A row
    whose key stays is overwritten in place by primary key (an upsert: a row the table lacks,
    lost or removed by hand, is inserted, as the delete-and-insert this replaces would have
    left it); a new key is inserted."""
    by_table: dict[str, list[tuple[str, _ChildChange, list[Row]]]] = {}
    for entry in changes:
        by_table.setdefault(entry[1].table.name, []).append(entry)
    for entries in by_table.values():
        table = entries[0][1].table
        key = st.child_key(table)
        wholly = [{"_owner": owner} for owner, change, _ in entries if change.gone is None]
        if wholly:
            conn.execute(st.delete_children(table), wholly)
        gone = [
            {"_owner": owner, "_child": k}
            for owner, change, _ in entries
            for k in change.gone or ()
        ]
        if gone:
            conn.execute(st.delete_child(table), gone)
        kept: list[Row] = []
        inserted: list[Row] = []
        for _, change, rows in entries:
            for row in rows:
                (kept if row[key] in change.kept else inserted).append(row)
        if kept:
            inserted += _overwrite_children(conn, table, kept)
        _insert_rows(conn, table, inserted)


def _overwrite_children(conn: Connection, table: Table, rows: list[Row]) -> list[Row]:
    """Overwrite the child ``rows`` by primary key (one upsert statement); on a dialect with no
    upsert, ``UPDATE`` each (one ``executemany``) and return the rows the table lacked, found by
    running them again alone when the summed count falls short (an update is idempotent; a
    one-row count is exact on every driver)."""
    upsert = st.overwrite(table, conn.dialect.name)
    if upsert is not None:
        conn.execute(upsert, rows)
        return []
    key = st.child_key(table)
    stmt = st.update_child(table)
    updates = [
        {
            **{c: v for c, v in row.items() if c not in ("item_id", key)},
            "_owner": row["item_id"],
            "_child": row[key],
        }
        for row in rows
    ]
    if _rowcount(conn.execute(stmt, updates)) == len(updates):
        return []
    return [
        row
        for row, params in zip(rows, updates, strict=True)
        if not _rowcount(conn.execute(stmt, params))
    ]


@attrs.frozen
class _Save:
    """One item's save, sealed: the compare-and-set of its row from ``expected`` and its child
    rows' changes (written at once, or held until :meth:`SqlItems.flush`)."""

    item_id: str
    expected: int
    row: Row
    children: list[tuple[_ChildChange, list[Row]]]


def _write_saves(conn: Connection, saves: Sequence[_Save]) -> None:
    """Compare-and-set the items' rows (one statement for all), then write their child rows
    (:func:`_write_children`); a row missed is the error :func:`_lost_race` names."""
    params = [_cas_params(save.item_id, save.expected, save.row) for save in saves]
    if _cas_rows(conn, params) != len(params):
        raise _lost_race(conn, saves)
    owned = [(save.item_id, change, rows) for save in saves for change, rows in save.children]
    _write_children(conn, owned)


_CAS_ROWS = 100  # rows per multi-row compare-and-set (MySQL, MariaDB) ...
_CAS_BYTES = 1_000_000  # ... and bytes of text (at most; under every max_allowed_packet default)


def _cas_rows(conn: Connection, params: list[dict[str, Any]]) -> int:
    """Compare-and-set the items' rows (:func:`_cas_params` each); the rows matched. One
    ``executemany`` where the driver batches it; on MySQL and MariaDB, one multi-row statement
    per chunk of rows (:func:`~.statements.compare_and_set_rows`)."""
    if conn.dialect.name not in ("mysql", "mariadb") or len(params) < 2:
        return _rowcount(conn.execute(st.compare_and_set(_I), params))
    matched = 0
    for chunk in _chunks(params):
        columns = tuple(k for k in chunk[0] if k not in ("_key", "_expected"))
        stmt = st.compare_and_set_rows(_I, columns, len(chunk))
        values = {f"_{i}_{k}": v for i, p in enumerate(chunk) for k, v in p.items()}
        matched += _rowcount(conn.execute(stmt, values))
    return matched


def _chunks(params: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``params`` in runs of at most ``_CAS_ROWS`` rows and ``_CAS_BYTES`` of text (counted
    at 4 bytes a character unless ASCII, as a sealed document is), each setting the same
    columns."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for p in params:
        at_most = sum(_utf8_bound(v) for v in p.values() if isinstance(v, str))
        full = len(chunk) == _CAS_ROWS or size + at_most > _CAS_BYTES
        if chunk and (full or p.keys() != chunk[0].keys()):
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += at_most
    yield chunk


def _utf8_bound(text: str) -> int:
    """At least the UTF-8 length of ``text``, without encoding it."""
    return len(text) if text.isascii() else 4 * len(text)


def _lost_race(conn: Connection, saves: Sequence[_Save]) -> QiandaoError:
    """The error of saves whose compare-and-set missed a row: the first save whose row is gone
    (NotFound) or holds another version or document than it wrote (ConcurrencyConflict, with the
    version found)."""
    ids = [d.item_id for d in saves]
    rows = conn.execute(select(_I.c.id, _I.c.version, _I.c.doc).where(_I.c.id.in_(ids)))
    found: dict[str, tuple[int, Any]] = {row.id: (row.version, row.doc) for row in rows}
    for d in saves:
        if d.item_id not in found:
            return NotFound(f"信息不存在：{d.item_id}", id=d.item_id)
        actual, doc = found[d.item_id]
        if (actual, doc) != (d.row["version"], d.row["doc"]):
            return ConcurrencyConflict(id=d.item_id, expected=d.expected, actual=actual)
    # every row holds what this unit wrote: another writer wrote the same version and document
    # into one of them, which cannot be told apart; name them all rather than the first
    return ConcurrencyConflict(ids=ids)


class SqlItems:
    """Items with their child rows (authors, assignments, texts, feedback, credits).

    A save or add tells ``log`` (the unit's event log) that the item's row is written in this
    transaction: the compare-and-set (or the insert) holds the row until commit, so no other
    writer appends to its log meanwhile and its next events need no ``SELECT max(sequence)``.

    A save of the version this unit read (or wrote) is deferred (:meth:`flush`): the unit of
    work writes every deferred save at once before its next statement or at commit (the event
    log's rows are numbered after them), so a batch of saves costs one compare-and-set
    statement, not one each. A save of any other version runs at once, so a stale save is
    refused on the spot and leaves the unit usable; a deferred save whose row another writer
    changed since it was read is a ConcurrencyConflict at the flush, which loses the unit.
    """

    def __init__(self, tx: Transaction, log: SqlEvents) -> None:
        self._tx = tx
        self._log = log
        self._held: dict[str, Item] = {}  # each item as this transaction last read or wrote it
        self._deferred: dict[str, _Save] = {}  # saves not written yet, by item id

    @property
    def deferred(self) -> bool:
        """Whether saves wait for :meth:`flush`."""
        return bool(self._deferred)

    def get(self, item_id: str) -> Item:
        item = _get(self._tx, _I, item_id, Item, "信息")
        self._held[item.id] = item
        return item

    def get_many(self, item_ids: Collection[str]) -> dict[str, Item]:
        """One ``SELECT … WHERE id IN (…)`` per 500 ids; each item held as read."""
        wanted = sorted(set(item_ids))
        found: dict[str, Item] = {}
        for start in range(0, len(wanted), _MANY):
            chunk = wanted[start : start + _MANY]
            for row in self._tx.execute(_docs(_I).where(_I.c.id.in_(chunk))):
                item = found[row.id] = _load(self._tx, _I, row, Item)
                self._held[item.id] = item
        return found

    def reset(self) -> None:
        """Forget the items read and written and the saves deferred (the transaction ended)."""
        self._held = {}
        self._deferred = {}

    def _sealed(
        self, item: Item, children: Sequence[tuple[Table, list[Row]]]
    ) -> tuple[Row, list[tuple[Table, list[Row]]]]:
        """The item's row and ``children`` (its child rows to write), every one bounds checked
        before any is sealed (sealing may read a key from the database)."""
        row = item_row(item)
        check_bounds(_I, [row])
        for table, rows in children:
            check_bounds(table, rows)
        sealer = self._tx.sealer
        sealed = [
            (table, sealer.seal_rows(table, rows) if table.name in SEALED else rows)
            for table, rows in children
        ]
        return sealer.seal_row(_I, row), sealed

    def add(self, item: Item) -> None:
        row, children = self._sealed(item, item_children(item))
        with self._tx.writes() as conn:
            _insert_new(conn, _I, row, "id", "信息")
            for table, rows in children:
                _insert_rows(conn, table, rows)
        self._written(item, row)
        self._log.guarded(item.id, new=True)

    def save(self, item: Item, expected_version: int) -> None:
        """Compare-and-set the item's row and write only the child rows that changed since the
        version this unit of work read or wrote (all of them when it holds none); deferred when
        it holds that version (see the class)."""
        if item.id in self._deferred:  # saved twice in one unit: the first is written first
            self._tx.flush_deferred()
        held = self._held.get(item.id)
        before = None if held is None or held.version != expected_version else held
        changes = _child_changes(before, item)
        row, children = self._sealed(item, [(c.table, c.rows) for c in changes])
        written = [(c, rows) for c, (_, rows) in zip(changes, children, strict=True)]
        save = _Save(item.id, expected_version, row, written)
        if before is not None:
            self._deferred[item.id] = save
        else:
            with self._tx.writes() as conn:
                _write_saves(conn, [save])
        self._written(item, row)
        self._log.guarded(item.id)

    def flush(self) -> None:
        """Write the deferred saves: one compare-and-set statement for all their rows, then
        their child rows (:func:`_write_children`). A row whose version moved since it was read
        is a ConcurrencyConflict raised after other rows were written: the unit of work loses
        the unit (nothing of it commits)."""
        deferred = sorted(self._deferred.values(), key=lambda d: d.item_id)  # one lock order
        self._deferred = {}
        if deferred:
            with self._tx.writes() as conn:
                _write_saves(conn, deferred)

    def _written(self, item: Item, row: Row) -> None:
        """Hold ``item`` as written in this transaction, and remember its stored document for
        the next unit that reads it back (:class:`~.memo.Decoded`)."""
        self._held[item.id] = item
        self._tx.decoded.put(_I.name, (Item, item.id), row["doc"], item)

    def find(self, query: ItemQuery) -> list[Item]:
        return self._find(query, counted=False)[0]

    def find_page(self, query: ItemQuery) -> tuple[list[Item], int]:
        """The page, and the total as a scalar subquery of the page's statement (one snapshot);
        counted apart only when the page is empty (after a cursor, or ``limit`` 0)."""
        found, total = self._find(query, counted=True)
        if total is None:
            total = 0 if query.after is None and query.limit != 0 else self.count(query)
        return found, total

    def _find(self, query: ItemQuery, *, counted: bool) -> tuple[list[Item], int | None]:
        _check_paging(query.limit)
        base = _conditions(query)
        total = None
        if counted:
            total = select(func.count()).select_from(_I).where(*base).correlate(None)
        order, after = query.order, query.after
        if order is not ItemOrder.ISSUED_NEWEST_FIRST:
            conditions = [*base, *_order_after(order, after)]
            return self._page(conditions, _ordering(order), query.limit, total)
        # Issued items newest first, then the never-issued ones by id, as two queries: one
        # ``ORDER BY CASE WHEN issued_at IS NULL …`` would sort every matching row before
        # paging; ``issued_at DESC, id`` alone is read in order from the (published, issued_at,
        # id) index, so a page of published items costs the page, not the whole list.
        issued: list[Item] = []
        count = None
        if after is None or after.priority == 0:
            conditions = [*base, _I.c.issued_at.is_not(None), *_order_after(order, after)]
            issued, count = self._page(conditions, _ordering(order), query.limit, total)
            if query.limit is not None and len(issued) >= query.limit:
                return issued, count
        conditions = [*base, _I.c.issued_at.is_(None)]
        if after is not None and after.priority == 1:
            conditions.append(_I.c.id > after.id)
        rest = None if query.limit is None else query.limit - len(issued)
        never, more = self._page(conditions, [_I.c.id.asc()], rest, total)
        return issued + never, more if count is None else count

    def _page(
        self,
        conditions: Sequence[ColumnElement[bool]],
        ordering: Sequence[Any],
        limit: int | None,
        total: Select[Any] | None = None,
    ) -> tuple[list[Item], int | None]:
        """Items in ``ordering``, at most ``limit``, and the value of ``total`` (a count
        statement) read with them, ``None`` when no row came back or none was asked."""
        stmt = _docs(_I).where(*conditions).order_by(*ordering)
        if total is not None:
            stmt = stmt.add_columns(total.scalar_subquery().label("found_total"))
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self._tx.execute(stmt).all()
        found = [_load(self._tx, _I, row, Item) for row in rows]
        return found, int(rows[0].found_total) if rows and total is not None else None

    def count(self, query: ItemQuery) -> int:
        stmt = select(func.count()).select_from(_I).where(*_conditions(query))
        return int(self._tx.execute(stmt).scalar_one())

    def assignments(self, query: AssignmentQuery) -> list[tuple[Item, Assignment]]:
        return self._assignments(query, counted=False)[0]

    def assignment_page(self, query: AssignmentQuery) -> tuple[list[tuple[Item, Assignment]], int]:
        """The page, and the total as a scalar subquery of its statement (one snapshot);
        counted apart when the page is empty, or loaded when ``provisional_only`` (decided on
        the loaded doc)."""
        found, total = self._assignments(query, counted=True)
        if query.provisional_only:
            total = len(self.assignments(attrs.evolve(query, after=None, limit=None)))
        elif total is None:
            total = 0 if query.after is None and query.limit != 0 else self._count(query)
        return found, total

    def _count(self, query: AssignmentQuery) -> int:
        stmt = _assignment_count(query)
        return int(self._tx.execute(stmt, _assignment_values(query)).scalar_one())

    def _assignments(
        self, query: AssignmentQuery, *, counted: bool
    ) -> tuple[list[tuple[Item, Assignment]], int | None]:
        _check_paging(query.limit)
        stmt = _assignment_select(query, counted=counted)
        rows = self._tx.execute(stmt, _assignment_values(query))
        loaded: dict[str, Item] = {}
        found: list[tuple[Item, Assignment]] = []
        total = None
        for row in rows:
            if counted and not query.provisional_only:
                total = int(row.found_total)
            item = loaded.get(row.item_id)
            if item is None:
                item = loaded[row.item_id] = _load(self._tx, _I, row, Item)
            assignment = item.assignment(row.assignment_id)
            if assignment is not None and (
                not query.provisional_only or assignment.provisional_pending
            ):
                found.append((item, assignment))
        return (found if query.limit is None else found[: query.limit]), total

    def needing_attention(self, query: AttentionQuery) -> list[LanePosition]:
        """One range of ``ix_qd_assignments_attention``: (kind, day before the cut-off), in
        (day, id, item id) order after the position; no document is read."""
        _check_paging(query.limit)
        conditions = [_A.c.attention == query.kind.value, _A.c.attention_day < query.before]
        if query.after is not None:
            p = query.after
            keys = [(_A.c.attention_day, p.when), (_A.c.id, p.id), (_A.c.item_id, p.item_id)]
            conditions.append(_after(keys))
        stmt = (
            select(_A.c.attention_day, _A.c.id, _A.c.item_id)
            .where(*conditions)
            .order_by(_A.c.attention_day.asc(), _A.c.id.asc(), _A.c.item_id.asc())
        )
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        return [LanePosition(0, r.attention_day, r.id, r.item_id) for r in self._tx.execute(stmt)]

    def lane(self, query: LaneQuery) -> list[tuple[Item, Assignment | None]]:
        _check_paging(query.limit)
        return [_lane_row(self._tx, row) for row in self._tx.execute(_lane_select(query))]

    def lane_page(self, query: LaneQuery) -> tuple[list[tuple[Item, Assignment | None]], int]:
        """The page and the lane's total in one statement (one snapshot on every database):
        the count is a scalar subquery of the page query. An empty page carries no count; the
        total is then 0 for a first page, else counted by a second query."""
        _check_paging(query.limit)
        total = _lane_count(query).correlate(None).scalar_subquery().label("lane_total")
        found = self._tx.execute(_lane_select(query).add_columns(total)).all()
        if found:
            return [_lane_row(self._tx, row) for row in found], int(found[0].lane_total)
        if query.after is None and query.limit != 0:
            return [], 0
        return [], int(self._tx.execute(_lane_count(query)).scalar_one())

    def lane_counts(self, queries: Sequence[LaneQuery]) -> dict[Lane, int]:
        """One ``GROUP BY`` per table and scope (an office's lanes: two), joined by ``UNION ALL``
        into one statement, so every count is read from the same snapshot."""
        groups: dict[tuple[Any, ...], list[LaneQuery]] = {}
        for q in queries:
            table = "a" if q.lane in ASSIGNMENT_LANES else "i"
            column = _lane_column(q.lane).name if table == "a" else "lane"
            scope = (table, column, q.jurisdiction, q.unit_id, q.destination_keys)
            groups.setdefault(scope, []).append(q)
        counts = {q.lane: 0 for q in queries}
        selects = []
        for (table, column, *_), members in groups.items():
            t = _A if table == "a" else _I
            lane_column = t.c[column]
            selects.append(
                select(lane_column.label("lane"), func.count().label("n"))
                .select_from(t)
                .where(
                    *_lane_scope(members[0]),
                    lane_column.in_(sorted(q.lane.value for q in members)),
                )
                .group_by(lane_column)
            )
        if not selects:
            return counts
        stmt = selects[0] if len(selects) == 1 else union_all(*selects)
        for code, n in (tuple(row) for row in self._tx.execute(stmt)):
            counts[Lane.parse(code)] = int(n)
        return counts

    def review_waits(self, query: ReviewWaitQuery) -> list[Item]:
        _check_paging(query.limit)
        conditions: list[ColumnElement[bool]] = [
            _I.c.lane.in_(_REVIEW_LANE_CODES),
            or_(
                and_(_I.c.priority == 0, _I.c.state_since < query.urgent_before),
                and_(_I.c.priority == 1, _I.c.state_since < query.before),
            ),
            *_item_after(query.after),
        ]
        if query.jurisdiction is not None:
            conditions.append(_I.c.jurisdiction == query.jurisdiction)
        if query.reminded is not None:
            conditions.append(_I.c.review_reminded == query.reminded)
        return self._page(conditions, _ITEM_LANE_ORDER, query.limit)[0]

    def statistics(self, query: StatisticsQuery) -> Statistics:
        return statistics(self._tx.execute, query)


# --- events and outbox ----------------------------------------------------------------------


class SqlEvents:
    """The append-only event log, numbered per item and, at commit, store-wide.

    ``append`` checks each event's sequence and seals its row; the rows are inserted by
    :meth:`flush`, which the unit of work calls last before COMMIT (or a read of the log calls
    first): it locks ``qd_event_log_head``, numbers the rows after its position and moves it.
    The lock is held only from there to the end of the transaction, and the next commit numbers
    only after this one ended, so positions follow commit order: a follower reading
    ``position > p`` never finds a lower position committed later (no event skipped).
    """

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._pending: list[dict[str, Any]] = []
        self._following: dict[str, int] = {}  # each item's next sequence, pending rows included
        self._guarded: set[str] = set()  # items whose row this transaction wrote

    def guarded(self, item_id: str, *, new: bool = False) -> None:
        """The item's row was written in this transaction (see :class:`SqlItems`; ``new``: it
        was inserted, so its log starts at 1), which keeps every other writer off its log until
        commit: its appends skip ``SELECT max(sequence)`` and a sequence already stored is
        refused at commit by the unique ``(item_id, sequence)`` instead (still a
        ``ConcurrencyConflict``, nothing committed)."""
        self._guarded.add(item_id)
        if new:
            self._following.setdefault(item_id, 1)

    def append(self, events: Sequence[Event]) -> None:
        clear = [event_row(e) for e in events]
        check_bounds(s.events, clear)  # before sealing reads a key from the database
        following = dict(self._following)
        for event in events:
            expected = following.get(event.item_id)
            if expected is None and event.item_id not in self._guarded:
                owner = {"_owner": event.item_id}
                last = self._tx.execute(st.last_sequence(s.events, "item_id"), owner).scalar()
                expected = (last or 0) + 1
            if expected is not None and event.sequence != expected:
                raise ConcurrencyConflict(
                    f"事件序号冲突：{event.item_id}#{event.sequence}", id=event.item_id
                )
            following[event.item_id] = event.sequence + 1
        self._pending += self._tx.sealer.seal_rows(s.events, clear)
        self._following = following

    def flush(self) -> None:
        """Number the appended rows after the log's head and insert them (see the class)."""
        rows, self._pending = self._pending, []
        self._following = {}
        if not rows:
            return
        h = s.event_log_head
        head = {"_key": s.EVENT_LOG}
        heads = self._tx.heads
        with self._tx.writes() as conn:
            known = heads.get(h.name, s.EVENT_LOG)
            if known is not None:  # one compare-and-set UPDATE when the head is where it was
                (last,) = known
                moved = {**head, "position": last + len(rows), "_was": last}
                if _rowcount(conn.execute(st.moved_from(h, "name", "position"), moved)) != 1:
                    known = None
            if known is None:
                last = _locked_head(conn, h, "name", s.EVENT_LOG, self._seed).position
                conn.execute(st.set_where(h, "name"), {**head, "position": last + len(rows)})
            heads.put(h.name, s.EVENT_LOG, (last + len(rows),))
            numbered = [{**row, "position": last + n} for n, row in enumerate(rows, start=1)]
            conn.execute(st.insert_into(s.events), numbered)

    @staticmethod
    def _seed(conn: Connection) -> Row:
        """The head row of an emptied head table: at the highest position numbered."""
        top = conn.execute(select(func.max(s.events.c.position))).scalar() or 0
        return {"name": s.EVENT_LOG, "position": top}

    def reset(self) -> None:
        """Forget the rows not flushed and the items written (the transaction ended)."""
        self._pending = []
        self._following = {}
        self._guarded = set()

    def for_item(self, item_id: str) -> list[Event]:
        self.flush()
        t = s.events
        stmt = _docs(t).where(t.c.item_id == item_id).order_by(t.c.sequence)
        return [_load(self._tx, t, row, Event) for row in self._tx.execute(stmt)]

    def since(self, position: int, limit: int) -> list[LoggedEvent]:
        _check_paging(limit)
        t = s.events
        stmt = (
            select(t.c.id, t.c.doc, t.c.position)
            .where(t.c.position > position)
            .order_by(t.c.position)
            .limit(limit)
        )
        return [
            LoggedEvent(row.position, _load(self._tx, t, row, Event))
            for row in self._tx.execute(stmt)
        ]


class SqlOutbox:
    """Notices waiting to be dispatched (the transactional outbox).

    Added notices are checked and sealed at once and inserted, all of a unit's at once, when
    the unit of work flushes its deferred writes (before its next statement or at commit)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._deferred: dict[str, Row] = {}  # sealed rows not inserted yet, by notice id

    @property
    def deferred(self) -> bool:
        """Whether notices wait for :meth:`flush`."""
        return bool(self._deferred)

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for m in messages:
            if m.notice.id not in self._deferred:
                rows.setdefault(m.notice.id, outbox_row(m))
        if not rows:
            return
        check_bounds(s.outbox, rows.values())
        sealed = self._tx.sealer.seal_rows(s.outbox, list(rows.values()))
        for row in sealed:
            self._deferred[row["notice_id"]] = row

    def flush(self) -> None:
        """Insert the added notices that are not there yet (one statement)."""
        rows, self._deferred = list(self._deferred.values()), {}
        if rows:
            with self._tx.writes() as conn:
                _insert_missing(conn, s.outbox, rows, "notice_id")

    def reset(self) -> None:
        """Forget the notices not inserted (the transaction ended)."""
        self._deferred = {}

    def _messages(self, stmt: Select[Any], *, write: bool = False) -> list[OutboxMessage]:
        t = s.outbox
        return [
            OutboxMessage(
                _load(self._tx, t, row, Notice),
                row.recorded_at,
                row.dispatched_at,
                row.attempts,
                OutboxState.parse(row.state),
                row.next_attempt_at,
                row.claimed_by,
                row.lease_until,
                row.last_attempt_at,
                row.last_error,
            )
            for row in self._tx.execute(stmt, write=write)
        ]

    def pending(self, limit: int) -> list[OutboxMessage]:
        _check_paging(limit)
        t = s.outbox
        stmt = (
            _OUTBOX.where(t.c.state == OutboxState.PENDING.value)
            .order_by(t.c.next_attempt_at, t.c.seq)
            .limit(limit)
        )
        return self._messages(stmt)

    def claim(self, limit: int, now: datetime, lease: timedelta, owner: str) -> list[OutboxMessage]:
        _check_paging(limit)
        t = s.outbox
        stmt = (
            _OUTBOX.where(
                t.c.state == OutboxState.PENDING.value,
                t.c.next_attempt_at <= now,
                or_(t.c.lease_until.is_(None), t.c.lease_until <= now),
            )
            .order_by(t.c.next_attempt_at, t.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)  # SQLite: the write transaction is the lock
        )
        found = self._messages(stmt, write=True)
        if not found:
            return []
        until = now + lease
        ids = [m.notice.id for m in found]
        values = {"claimed_by": owner, "lease_until": until}
        self._tx.execute(update(t).where(t.c.notice_id.in_(ids)).values(values), write=True)
        return [attrs.evolve(m, claimed_by=owner, lease_until=until) for m in found]

    def _update(
        self,
        notice_id: str,
        values: Mapping[str, Any],
        *,
        states: Sequence[OutboxState] = (),
        release: bool = True,
    ) -> bool:
        """Update the notice (only in one of ``states``, if given), ending its lease unless
        ``release`` is false; whether it changed, or ``not_found`` when there is no such notice."""
        t = s.outbox
        stmt = update(t).where(t.c.notice_id == notice_id)
        if states:
            stmt = stmt.where(t.c.state.in_([state.value for state in states]))
        released = {"claimed_by": None, "lease_until": None, **values} if release else values
        if _rowcount(self._tx.execute(stmt.values(released), write=True)) > 0:
            return True
        if self._tx.execute(select(t.c.seq).where(t.c.notice_id == notice_id)).first() is None:
            raise NotFound(f"通知不存在：{notice_id}", id=notice_id)
        return False

    def mark_dispatched(self, notice_id: str, at: datetime) -> None:
        self._update(notice_id, {"dispatched_at": at, "state": OutboxState.DISPATCHED.value})

    def mark_all_dispatched(self, notice_ids: Sequence[str], at: datetime) -> int:
        """One ``UPDATE … WHERE notice_id IN (…)`` for the batch."""
        ids = list(dict.fromkeys(notice_ids))
        if not ids:
            return 0
        t = s.outbox
        values = {
            "dispatched_at": at,
            "state": OutboxState.DISPATCHED.value,
            "claimed_by": None,
            "lease_until": None,
        }
        stmt = update(t).where(t.c.notice_id.in_(ids)).values(values)
        return max(_rowcount(self._tx.execute(stmt, write=True)), 0)

    def mark_failed(
        self, notice_id: str, at: datetime, retry_at: datetime | None, error: str = ""
    ) -> None:
        t = s.outbox
        values: dict[str, Any] = {
            "attempts": t.c.attempts + 1,
            "last_attempt_at": at,
            "last_error": error[: s.ERROR_LENGTH] or None,
        }
        if retry_at is None:
            values["state"] = OutboxState.DEAD.value
        else:
            values["next_attempt_at"] = retry_at
        self._update(notice_id, values, states=(OutboxState.PENDING,))

    def release(self, owner: str, notice_ids: Sequence[str] | None = None) -> int:
        t = s.outbox
        stmt = (
            update(t)
            .where(t.c.claimed_by == owner, t.c.state == OutboxState.PENDING.value)
            .values(claimed_by=None, lease_until=None)
        )
        if notice_ids is not None:
            if not notice_ids:
                return 0
            stmt = stmt.where(t.c.notice_id.in_(list(notice_ids)))
        return max(_rowcount(self._tx.execute(stmt, write=True)), 0)

    def list_failed(self, limit: int) -> list[OutboxMessage]:
        _check_paging(limit)
        t = s.outbox
        stmt = (
            _OUTBOX.where(t.c.state == OutboxState.DEAD.value)
            .order_by(t.c.last_attempt_at.desc(), t.c.seq.desc())
            .limit(limit)
        )
        return self._messages(stmt)

    def retry(self, notice_id: str, at: datetime) -> bool:
        values = {"state": OutboxState.PENDING.value, "attempts": 0, "next_attempt_at": at}
        # the lease stays: a dispatcher sending it now must not see it claimed and sent again
        return self._update(notice_id, values, states=_OPEN_NOTICES, release=False)

    def discard(self, notice_id: str) -> bool:
        values = {"state": OutboxState.DISCARDED.value}
        return self._update(notice_id, values, states=_OPEN_NOTICES)


_OUTBOX: Select[Any] = select(
    s.outbox.c.notice_id,
    s.outbox.c.doc,
    s.outbox.c.recorded_at,
    s.outbox.c.dispatched_at,
    s.outbox.c.attempts,
    s.outbox.c.state,
    s.outbox.c.next_attempt_at,
    s.outbox.c.claimed_by,
    s.outbox.c.lease_until,
    s.outbox.c.last_attempt_at,
    s.outbox.c.last_error,
)
_OPEN_NOTICES = (OutboxState.PENDING, OutboxState.DEAD)


class SqlLeases:
    """Named leases (the periodic job's run): taken by a conditional update of their row."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        t = s.leases
        with self._tx.atomic() as conn:
            _insert_missing(conn, t, [{"name": name, "owner": owner, "lease_until": now}], "name")
        stmt = (
            update(t)
            .where(t.c.name == name, or_(t.c.owner == owner, t.c.lease_until <= now))
            .values(owner=owner, lease_until=until)
        )
        return _rowcount(self._tx.execute(stmt, write=True)) > 0

    def release(self, name: str, owner: str) -> None:
        t = s.leases
        self._tx.execute(delete(t).where(t.c.name == name, t.c.owner == owner), write=True)


# --- accounts and sessions ------------------------------------------------------------------


class SqlAccounts:
    """Accounts with their role grants and external identities, and the account event log."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, account_id: str) -> Account:
        return _get(self._tx, s.accounts, account_id, Account, "账号")

    def _first(self, stmt: Select[Any]) -> Account | None:
        row = self._tx.execute(stmt).first()
        return None if row is None else _load(self._tx, s.accounts, row, Account)

    def by_phone(self, phone: str) -> Account | None:
        t = s.accounts
        lookups = self._tx.sealer.phone_lookups(phone)
        return self._first(_docs(t).where(t.c.phone.in_(lookups)).order_by(t.c.id).limit(1))

    def by_external(self, provider: str, subject: str) -> Account | None:
        t, x = s.accounts, s.external_identities
        stmt = (
            _docs(t)
            .join(x, x.c.account_id == t.c.id)
            .where(x.c.provider == provider, x.c.subject == subject)
        )
        return self._first(stmt)

    def _check_phone(self, conn: Connection, account: Account) -> None:
        if account.phone is None:
            return
        t = s.accounts
        lookups = self._tx.sealer.phone_lookups(account.phone)
        other = conn.execute(
            select(t.c.id).where(t.c.phone.in_(lookups), t.c.id != account.id).limit(1)
        ).first()
        if other is not None:
            raise DuplicateAccount(phone_tail=account.phone[-4:])

    def _row(self, account: Account) -> dict[str, Any]:
        """The account's row sealed: the document under the person's key (under the text key
        once departed), the phone as its blind-index token."""
        row = account_row(account)
        check_bounds(s.accounts, [row])
        sealer = self._tx.sealer
        departed = account.status is AccountStatus.DELETED
        row["phone"] = sealer.phone_token(account.phone)
        scope = TEXT_SCOPE if departed else person_scope(account.id)
        return sealer.seal_row(s.accounts, row, scope=scope)

    def add(self, account: Account) -> None:
        row, identities, grants = self._row(account), identity_rows(account), grant_rows(account)
        check_bounds(s.external_identities, identities)
        check_bounds(s.account_grants, grants)
        with self._tx.atomic() as conn:
            self._check_phone(conn, account)
            _insert_new(conn, s.accounts, row, "id", "账号")
            _insert_rows(conn, s.external_identities, identities)
            _insert_rows(conn, s.account_grants, grants)

    def save(self, account: Account, expected_version: int) -> None:
        """Save; an account saved departed loses its person key in the same transaction."""
        row, identities, grants = self._row(account), identity_rows(account), grant_rows(account)
        check_bounds(s.external_identities, identities)
        check_bounds(s.account_grants, grants)
        x, g = s.external_identities, s.account_grants
        with self._tx.atomic() as conn:
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
            _insert_rows(conn, x, identities)
            conn.execute(delete(g).where(g.c.account_id == account.id))
            _insert_rows(conn, g, grants)
            if account.status is AccountStatus.DELETED:
                self._tx.sealer.destroy(person_scope(account.id))
                # a registration's idempotency record digests the name and phone (unkeyed)
                i = s.idempotency
                conn.execute(delete(i).where(i.c.result_id == account.id))

    def count_failure(self, account_id: str, limit: int) -> int | None:
        """Read the row ``FOR UPDATE`` (SQLite: under its one writer) and write the new count in
        the same savepoint, so parallel counts wait for each other instead of colliding."""
        t = s.accounts
        self._person_key(account_id)
        with self._tx.atomic() as conn:
            found = conn.execute(_docs(t).where(t.c.id == account_id).with_for_update()).first()
            if found is None:
                raise NotFound(f"账号不存在：{account_id}", id=account_id)
            current = _load(self._tx, t, found, Account)
            if current.status is not AccountStatus.ACTIVE or current.failed_attempts >= limit:
                return None
            counted = attrs.evolve(
                current, failed_attempts=current.failed_attempts + 1, version=current.version + 1
            )
            row = self._row(counted)
            conn.execute(
                update(t)
                .where(t.c.id == account_id)
                .values({k: v for k, v in row.items() if k != "id"})
            )
        return counted.failed_attempts

    def _person_key(self, account_id: str) -> None:
        """Make sure a live account has its person key before a savepoint writes its row (a
        key made inside one would be undone with it); a departed account gets none back."""
        sealer, t = self._tx.sealer, s.accounts
        scope = person_scope(account_id)
        if not sealer.encrypting or sealer.key_of(scope, create=False) is not None:
            return
        status = self._tx.execute(select(t.c.status).where(t.c.id == account_id)).scalar()
        if status is not None and status != AccountStatus.DELETED.value:
            sealer.key_of(scope)

    def holders(self, role: Role, jurisdiction: str) -> list[Account]:
        t, g = s.accounts, s.account_grants
        held = select(g.c.account_id).where(
            g.c.jurisdiction == jurisdiction, g.c.role == role.value
        )
        live = t.c.status != AccountStatus.DELETED.value
        stmt = _docs(t).where(t.c.id.in_(held), live).order_by(t.c.id)
        return [_load(self._tx, t, row, Account) for row in self._tx.execute(stmt)]

    def events(self, account_id: str) -> list[AccountEvent]:
        return _log_of(self._tx, s.account_events, "account_id", account_id, AccountEvent)

    def append_events(self, events: Sequence[AccountEvent]) -> None:
        keyed = [(e.account_id, e.sequence) for e in events]
        rows = [account_event_row(e) for e in events]
        _append_in_sequence(self._tx, s.account_events, "account_id", keyed, rows)

    def add_proposal(self, proposal: GrantProposal) -> None:
        _add(self._tx, s.grant_proposals, proposal_row(proposal), "id", "角色申请")

    def get_proposal(self, proposal_id: str) -> GrantProposal:
        return _get(self._tx, s.grant_proposals, proposal_id, GrantProposal, "角色申请")

    def save_proposal(self, proposal: GrantProposal, expected_version: int) -> None:
        row = proposal_row(proposal)
        _save(self._tx, s.grant_proposals, row, proposal.id, expected_version, "角色申请")

    def proposals(
        self,
        jurisdiction: str | None = None,
        state: ProposalState | None = None,
        account_id: str | None = None,
    ) -> list[GrantProposal]:
        t = s.grant_proposals
        stmt = _docs(t).order_by(t.c.proposed_at, t.c.id)
        if jurisdiction is not None:
            stmt = stmt.where(t.c.jurisdiction == jurisdiction)
        if state is not None:
            stmt = stmt.where(t.c.state == state.value)
        if account_id is not None:
            stmt = stmt.where(t.c.account_id == account_id)
        return [_load(self._tx, t, row, GrantProposal) for row in self._tx.execute(stmt)]

    def policy(self, jurisdiction: str) -> PolicyChange | None:
        t = s.password_policies
        stmt = (
            select(t.c.doc)
            .where(t.c.jurisdiction == jurisdiction)
            .order_by(t.c.sequence.desc())
            .limit(1)
        )
        doc = self._tx.execute(stmt).scalar()
        return None if doc is None else loads(doc, PolicyChange)

    def policy_changes(self, jurisdiction: str) -> list[PolicyChange]:
        return _log_of(self._tx, s.password_policies, "jurisdiction", jurisdiction, PolicyChange)

    def append_policy_change(self, change: PolicyChange) -> None:
        keyed = [(change.jurisdiction, change.sequence)]
        _append_in_sequence(
            self._tx, s.password_policies, "jurisdiction", keyed, [policy_row(change)]
        )

    def list(self, jurisdiction: str | None = None) -> list[Account]:
        return _list(self._tx, s.accounts, Account, jurisdiction)


class SqlSessions:
    """Sign-in sessions, keyed by token hash."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, token_hash: str) -> Session | None:
        t = s.sessions
        doc = self._tx.execute(select(t.c.doc).where(t.c.token_hash == token_hash)).scalar()
        return None if doc is None else loads(doc, Session)

    def put(self, session: Session) -> None:
        """Insert or update; an update never clears ``revoked`` set by a concurrent revocation."""
        row = session_row(session)
        check_bounds(s.sessions, [row])
        t = s.sessions
        with self._tx.atomic() as conn:
            if session.revoked:
                _upsert(conn, t, row, "token_hash")
                return
            live = (t.c.token_hash == session.token_hash) & (t.c.revoked == False)  # noqa: E712
            if conn.execute(update(t).where(live).values(**row)).rowcount:
                return
            known = select(t.c.token_hash).where(t.c.token_hash == session.token_hash)
            if conn.execute(known).first() is None:
                conn.execute(insert(t).values(**row))

    def revoke_all(self, account_id: str, grant: RoleGrant | None = None) -> int:
        t = s.sessions
        with self._tx.atomic() as conn:
            live = conn.execute(
                select(t.c.doc).where(t.c.account_id == account_id, t.c.revoked == False)  # noqa: E712
            ).scalars()
            sessions = [loads(doc, Session) for doc in live]
            revoked = [
                attrs.evolve(session, revoked=True)
                for session in sessions
                if grant in (None, session.grant)
            ]
            for session in revoked:
                conn.execute(
                    update(t)
                    .where(t.c.token_hash == session.token_hash)
                    .values(revoked=True, doc=dumps(session))
                )
        return len(revoked)

    def purge_expired(self, before: datetime, limit: int) -> int:
        t = s.sessions
        with self._tx.atomic() as conn:
            ended = (
                conn.execute(
                    select(t.c.token_hash)
                    .where(t.c.expires_at < before)
                    .order_by(t.c.expires_at, t.c.token_hash)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            if ended:
                conn.execute(delete(t).where(t.c.token_hash.in_(ended)))
        return len(ended)


# --- units, commissions, idempotency ----------------------------------------------------------


class SqlUnits:
    """Handling units."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, unit_id: str) -> Unit:
        return _get(self._tx, s.units, unit_id, Unit, "承办单位")

    def add(self, unit: Unit) -> None:
        _add(self._tx, s.units, unit_row(unit), "id", "承办单位")

    def save(self, unit: Unit, expected_version: int) -> None:
        _save(self._tx, s.units, unit_row(unit), unit.id, expected_version, "承办单位")

    def events(self, unit_id: str) -> list[UnitEvent]:
        return _log_of(self._tx, s.unit_events, "unit_id", unit_id, UnitEvent)

    def append_events(self, events: Sequence[UnitEvent]) -> None:
        keyed = [(e.unit_id, e.sequence) for e in events]
        rows = [unit_event_row(e) for e in events]
        _append_in_sequence(self._tx, s.unit_events, "unit_id", keyed, rows)

    def list(self, jurisdiction: str | None = None) -> list[Unit]:
        return _list(self._tx, s.units, Unit, jurisdiction)


class SqlDirectory:
    """Display names: the accounts and the units asked for in one ``SELECT ... IN ... UNION
    ALL`` (one round trip for a whole list), the keys of the sealed account documents unwrapped
    in one more read (only those not cached yet)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def names(self, account_ids: Collection[str], unit_ids: Collection[str]) -> Names:
        tables = ((s.accounts, sorted(set(account_ids))), (s.units, sorted(set(unit_ids))))
        parts = [
            _docs(table)
            .add_columns(literal_column(f"'{table.name}'").label("kind"))
            .where(table.c.id.in_(wanted))
            for table, wanted in tables
            if wanted
        ]
        if not parts:
            return Names()
        stmt = parts[0] if len(parts) == 1 else union_all(*parts)
        rows = list(self._tx.execute(stmt))
        found: dict[str, dict[str, str]] = {}
        for table, _ in tables:
            mine = [row for row in rows if row.kind == table.name]
            self._tx.sealer.warm(table, mine)
            cls: type[Account | Unit] = Account if table is s.accounts else Unit
            found[table.name] = {
                row.id: _display_name(_load(self._tx, table, row, cls)) for row in mine
            }
        return Names(accounts=found[s.accounts.name], units=found[s.units.name])


def _display_name(aggregate: Account | Unit) -> str:
    return aggregate.real_name if isinstance(aggregate, Account) else aggregate.name


class SqlJurisdictions:
    """Jurisdictions with their names and parent links (clear columns: public facts)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _select(self) -> Select[Any]:
        j = s.jurisdictions
        stmt: Select[Any] = select(j.c.code, j.c.name, j.c.parent, j.c.version)
        return stmt

    def get(self, code: str) -> Jurisdiction | None:
        row = self._tx.execute(self._select().where(s.jurisdictions.c.code == code)).first()
        return None if row is None else Jurisdiction(row.code, row.name, row.parent, row.version)

    def add(self, jurisdiction: Jurisdiction) -> None:
        row = jurisdiction_row(jurisdiction)
        check_bounds(s.jurisdictions, [row])
        with self._tx.atomic() as conn:
            _insert_new(conn, s.jurisdictions, row, "code", "政协")

    def save(self, jurisdiction: Jurisdiction, expected_version: int) -> None:
        j = s.jurisdictions
        row = jurisdiction_row(jurisdiction)
        check_bounds(j, [row])
        with self._tx.atomic() as conn:
            result = conn.execute(
                update(j)
                .where(j.c.code == jurisdiction.code, j.c.version == expected_version)
                .values({k: v for k, v in row.items() if k != "code"})
            )
            if _rowcount(result) != 1:
                raise ConcurrencyConflict(id=jurisdiction.code, expected=expected_version)

    def list(self) -> list[Jurisdiction]:
        stmt = self._select().order_by(s.jurisdictions.c.code)
        rows = self._tx.execute(stmt)
        return [Jurisdiction(r.code, r.name, r.parent, r.version) for r in rows]

    def names(self, codes: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return {}
        j = s.jurisdictions
        stmt = select(j.c.code, j.c.name).where(j.c.code.in_(wanted))
        return {row.code: row.name for row in self._tx.execute(stmt)}


class SqlCommissions:
    """Commissions (约稿)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, commission_id: str) -> Commission:
        return _get(self._tx, s.commissions, commission_id, Commission, "约稿")

    def add(self, commission: Commission) -> None:
        _add(self._tx, s.commissions, commission_row(commission), "id", "约稿")

    def save(self, commission: Commission, expected_version: int) -> None:
        row = commission_row(commission)
        _save(self._tx, s.commissions, row, commission.id, expected_version, "约稿")

    def list(self, jurisdiction: str | None = None) -> list[Commission]:
        return _list(self._tx, s.commissions, Commission, jurisdiction)


class SqlPlans:
    """Annual plans (第六条), in clear: targets, not 社情民意 content."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, jurisdiction: str, year: int) -> AnnualPlan | None:
        t = s.plans
        row = self._tx.execute(_docs(t).where(t.c.id == plan_id(jurisdiction, year))).first()
        return None if row is None else _load(self._tx, t, row, AnnualPlan)

    def add(self, plan: AnnualPlan) -> None:
        _add(self._tx, s.plans, plan_row(plan), "id", "年度计划")

    def save(self, plan: AnnualPlan, expected_version: int) -> None:
        _save(self._tx, s.plans, plan_row(plan), plan.id, expected_version, "年度计划")

    def of_year(self, year: int) -> list[AnnualPlan]:
        t = s.plans
        stmt = _docs(t).where(t.c.year == year).order_by(t.c.id)
        return [_load(self._tx, t, row, AnnualPlan) for row in self._tx.execute(stmt)]


class SqlIdempotency:
    """Idempotency keys of commands."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def get(self, key: str) -> IdempotencyRecord | None:
        t = s.idempotency
        row = self._tx.execute(
            select(t.c.key, t.c.fingerprint, t.c.result_id, t.c.command).where(t.c.key == key)
        ).first()
        if row is None:
            return None
        return IdempotencyRecord(row.key, row.fingerprint, row.result_id, row.command)

    def add(self, record: IdempotencyRecord) -> None:
        _add(self._tx, s.idempotency, attrs.asdict(record), "key", "幂等键")


def _packed(signature: Sequence[int]) -> str:
    """A signature as text: 8 hex digits a value (big-endian 32-bit)."""
    return struct.pack(f">{len(signature)}I", *signature).hex()


def _unpacked(text: str) -> tuple[int, ...]:
    raw = bytes.fromhex(text)
    return struct.unpack(f">{len(raw) // 4}I", raw)


class SqlSimilarity:
    """The similarity index: one row per item, one per LSH band (found by ``band_key``)."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def put(self, entry: SimilarityEntry) -> None:
        t, b = s.similarity, s.similarity_bands
        row = {
            "item_id": entry.item_id,
            "jurisdiction": entry.jurisdiction,
            "at": entry.at,
            "signature": _packed(entry.signature),
        }
        check_bounds(t, [row])
        with self._tx.writes() as conn:
            conn.execute(delete(b).where(b.c.item_id == entry.item_id))
            _upsert(conn, t, row, "item_id")
            bands = [
                {
                    "item_id": entry.item_id,
                    "band": n,
                    "band_key": key,
                    "jurisdiction": entry.jurisdiction,
                    "at": entry.at,
                }
                for n, key in enumerate(entry.bands)
            ]
            _insert_rows(conn, b, bands)

    def drop(self, item_id: str) -> None:
        t, b = s.similarity, s.similarity_bands
        with self._tx.writes() as conn:
            conn.execute(delete(b).where(b.c.item_id == item_id))
            conn.execute(delete(t).where(t.c.item_id == item_id))

    def _entries(self, where: ColumnElement[bool]) -> list[SimilarityEntry]:
        t, b = s.similarity, s.similarity_bands
        rows = self._tx.execute(select(t).where(where).order_by(t.c.item_id)).all()
        if not rows:
            return []
        keys: dict[str, list[int]] = {r.item_id: [] for r in rows}
        found = self._tx.execute(
            select(b.c.item_id, b.c.band_key)
            .where(b.c.item_id.in_(list(keys)))
            .order_by(b.c.item_id, b.c.band)
        )
        for row in found:
            keys[row.item_id].append(row.band_key)
        return [
            SimilarityEntry(
                r.item_id, r.jurisdiction, r.at, _unpacked(r.signature), tuple(keys[r.item_id])
            )
            for r in rows
        ]

    def get(self, item_id: str) -> SimilarityEntry | None:
        found = self._entries(s.similarity.c.item_id == item_id)
        return found[0] if found else None

    def candidates(
        self, bands: Collection[int], jurisdiction: str, since: datetime, limit: int
    ) -> list[SimilarityCandidate]:
        if not bands:
            return []
        t, b = s.similarity, s.similarity_bands
        shared = func.count().label("shared")
        best = (
            select(b.c.item_id, shared)
            .where(
                b.c.band_key.in_(sorted(set(bands))),
                b.c.jurisdiction == jurisdiction,
                b.c.at >= since,
            )
            .group_by(b.c.item_id)
            .order_by(shared.desc(), b.c.item_id)
            .limit(limit)
            .subquery()
        )
        rows = self._tx.execute(
            select(best.c.item_id, best.c.shared, t.c.signature)
            .join(t, t.c.item_id == best.c.item_id)
            .order_by(best.c.shared.desc(), best.c.item_id)
        )
        return [SimilarityCandidate(r.item_id, _unpacked(r.signature), r.shared) for r in rows]


class SqlTopics:
    """The hot-topic term index: one row per item, one per term (its key: the word, or its
    HMAC under encryption), and the sealed dictionary from key to word."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def put(self, entry: TopicEntry) -> None:
        t, terms, words = s.topics, s.topic_terms, s.topic_words
        sealer = self._tx.sealer
        row = {
            "item_id": entry.item_id,
            "jurisdiction": entry.jurisdiction,
            "category": entry.category.value,
            "sector": entry.sector,
            "channel": entry.channel.value,
            "day": entry.day,
        }
        check_bounds(t, [row])
        keys = {word: sealer.term_key(word) for word in sorted(entry.terms)}
        rows = [
            {
                "item_id": entry.item_id,
                "term": keys[word],
                "occurrences": n,
                "jurisdiction": entry.jurisdiction,
                "day": entry.day,
                "category": row["category"],
            }
            for word, n in sorted(entry.terms.items())
        ]
        check_bounds(terms, rows)
        known = self._known(list(keys.values()))
        new = [{"term": key, "word": word} for word, key in keys.items() if key not in known]
        new = sealer.seal_rows(words, new) if new else []
        with self._tx.writes() as conn:
            conn.execute(delete(terms).where(terms.c.item_id == entry.item_id))
            _upsert(conn, t, row, "item_id")
            _insert_rows(conn, terms, rows)
            _insert_missing(conn, words, new, "term")

    def _known(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the dictionary already holds."""
        w = s.topic_words
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found.update(self._tx.execute(select(w.c.term).where(w.c.term.in_(chunk))).scalars())
        return found

    def drop(self, item_id: str) -> None:
        t, terms = s.topics, s.topic_terms
        with self._tx.writes() as conn:
            conn.execute(delete(terms).where(terms.c.item_id == item_id))
            conn.execute(delete(t).where(t.c.item_id == item_id))

    def get(self, item_id: str) -> TopicEntry | None:
        t, terms = s.topics, s.topic_terms
        row = self._tx.execute(select(t).where(t.c.item_id == item_id)).first()
        if row is None:
            return None
        found = self._tx.execute(
            select(terms.c.term, terms.c.occurrences).where(terms.c.item_id == item_id)
        ).all()
        words = self.words([r.term for r in found])
        return TopicEntry(
            row.item_id,
            row.jurisdiction,
            FocusCategory.parse(row.category),
            row.sector,
            Channel.parse(row.channel),
            row.day,
            {words[r.term]: r.occurrences for r in found},
        )

    @staticmethod
    def _where(table: Table, scope: TopicScope) -> list[ColumnElement[bool]]:
        where = [
            table.c.jurisdiction == scope.jurisdiction,
            table.c.day >= scope.period.start,
            table.c.day <= scope.period.end,
        ]
        if scope.category is not None:
            where.append(table.c.category == scope.category.value)
        return where

    def counts(self, scope: TopicScope) -> TermCounts:
        t, terms = s.topics, s.topic_terms
        items = self._tx.execute(
            select(func.count()).select_from(t).where(*self._where(t, scope))
        ).scalar_one()
        found = self._tx.execute(
            select(terms.c.term, func.count().label("n_items"))
            .where(*self._where(terms, scope))
            .group_by(terms.c.term)
        ).all()
        return TermCounts(int(items), {row.term: int(row.n_items) for row in found})

    def items_with(
        self, keys: Collection[str], scope: TopicScope, limit: int
    ) -> dict[str, list[str]]:
        terms = s.topic_terms
        wanted = sorted(set(keys))
        out: dict[str, list[str]] = {key: [] for key in wanted}
        if not wanted:
            return out
        place = (
            func.row_number()
            .over(
                partition_by=terms.c.term,
                order_by=(terms.c.occurrences.desc(), terms.c.day.desc(), terms.c.item_id),
            )
            .label("place")
        )
        ranked = (
            select(terms.c.term, terms.c.item_id, place)
            .where(terms.c.term.in_(wanted), *self._where(terms, scope))
            .subquery()
        )
        rows = self._tx.execute(
            select(ranked.c.term, ranked.c.item_id)
            .where(ranked.c.place <= limit)
            .order_by(ranked.c.term, ranked.c.place)
        )
        for row in rows:
            out[row.term].append(row.item_id)
        return out

    def words(self, keys: Collection[str]) -> dict[str, str]:
        w = s.topic_words
        wanted = sorted(set(keys))
        out: dict[str, str] = {}
        sealer = self._tx.sealer
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._tx.execute(select(w).where(w.c.term.in_(chunk))).all()
            sealer.warm(w, rows, "word")
            out.update({row.term: sealer.open_doc(w, row, "word") for row in rows})
        return out


class SqlAudit:
    """The audit log: each append locks its shard's head row until commit (``FOR UPDATE``;
    SQLite has one writer), so one shard's records never share a sequence."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def append(self, shard: str, entry: AuditEntry, chain: AuditChain) -> None:
        h = s.audit_heads
        head = {"_key": shard}
        heads = self._tx.heads
        with self._tx.writes() as conn:
            known = heads.get(h.name, shard)
            record = None
            if known is not None:  # one compare-and-set UPDATE when the head is where it was
                record = chain.seal(AuditHead(shard, *known), entry)
                moved = {**head, "sequence": record.sequence, "hash": record.hash}
                guard = {"_was": known[0], "_was_hash": known[1]}
                stmt = st.moved_from(h, "shard", "sequence", "hash")
                if _rowcount(conn.execute(stmt, {**moved, **guard})) != 1:
                    record = None
            if record is None:
                genesis = {"shard": shard, "sequence": 0, "hash": GENESIS}
                row = _locked_head(conn, h, "shard", shard, lambda _: genesis)
                record = chain.seal(AuditHead(shard, row.sequence, row.hash), entry)
                moved = {**head, "sequence": record.sequence, "hash": record.hash}
                conn.execute(st.set_where(h, "shard"), moved)
            heads.put(h.name, shard, (record.sequence, record.hash))
            conn.execute(st.insert_into(s.audit), audit_row(record))
            if len(entry.targets) > 1:  # the first is the record's own column
                conn.execute(
                    st.insert_into(s.audit_targets),
                    [
                        {"shard": shard, "sequence": record.sequence, "target_id": target}
                        for target in entry.targets[1:]
                    ],
                )

    def heads(self) -> dict[str, AuditHead]:
        h = s.audit_heads
        rows = self._tx.execute(select(h.c.shard, h.c.sequence, h.c.hash))
        return {r.shard: AuditHead(r.shard, r.sequence, r.hash) for r in rows}

    def shards(self) -> list[str]:
        t = s.audit
        return list(self._tx.execute(select(t.c.shard).distinct().order_by(t.c.shard)).scalars())

    def records(self, shard: str, *, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        t = s.audit
        statement = (
            select(t)
            .where(t.c.shard == shard, t.c.sequence > after)
            .order_by(t.c.sequence)
            .limit(limit)
        )
        return [audit_record(row._mapping) for row in self._tx.execute(statement)]

    def count(self, query: AuditQuery) -> int:
        statement = select(func.count()).select_from(s.audit).where(*_audit_filter(query))
        return int(self._tx.execute(statement).scalar_one())

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        t = s.audit
        conditions = _audit_filter(query)
        if query.after is not None:
            at, shard, sequence = parse_cursor(query.after)
            conditions.append(
                or_(
                    t.c.at > at,
                    and_(t.c.at == at, t.c.shard > shard),
                    and_(t.c.at == at, t.c.shard == shard, t.c.sequence > sequence),
                )
            )
        statement = (
            select(t)
            .where(*conditions)
            .order_by(t.c.at, t.c.shard, t.c.sequence)
            .limit(query.limit + 1)
        )
        return [audit_record(row._mapping) for row in self._tx.execute(statement)]

    def last_before(self, shard: str, before: datetime) -> AuditRecord | None:
        t = s.audit
        first_kept = self._tx.execute(
            select(func.min(t.c.sequence)).where(t.c.shard == shard, t.c.at >= before)
        ).scalar()
        statement = select(t).where(t.c.shard == shard)
        if first_kept is not None:
            statement = statement.where(t.c.sequence < first_kept)
        row = self._tx.execute(statement.order_by(t.c.sequence.desc()).limit(1)).first()
        return None if row is None else audit_record(row._mapping)

    def purge(self, shard: str, through: int) -> int:
        t = s.audit
        with self._tx.atomic() as conn:
            result = conn.execute(delete(t).where(t.c.shard == shard, t.c.sequence <= through))
        return int(result.rowcount)


def _audit_filter(query: AuditQuery) -> list[ColumnElement[bool]]:
    """The conditions of an audit query's filter (its cursor apart)."""
    t = s.audit
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((t.c.account_id, query.account_id), (t.c.action, query.action)):
        if value is not None:
            conditions.append(column == value)
    if query.target_id is not None:
        tt = s.audit_targets
        conditions.append(
            or_(
                t.c.target_id == query.target_id,
                exists().where(
                    tt.c.target_id == query.target_id,
                    tt.c.shard == t.c.shard,
                    tt.c.sequence == t.c.sequence,
                ),
            )
        )
    if query.since is not None:
        conditions.append(t.c.at >= query.since)
    if query.until is not None:
        conditions.append(t.c.at < query.until)
    if query.jurisdictions is not None:
        conditions.append(t.c.jurisdiction.in_(sorted(query.jurisdictions)))
    return conditions
