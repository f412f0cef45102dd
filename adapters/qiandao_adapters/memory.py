"""The in-memory store: full unit-of-work semantics (all or nothing), compare-and-set versions.

Writes are staged in the unit of work and applied under one lock at commit, after every version
check has passed again, so a failed or abandoned unit of work changes nothing.

History is kept compactly, since hosts' test suites keep many items in one process: committed
events are packed into compressed blocks of the feed (items' logs hold feed positions), sealed
audit records into compressed blocks per shard, and the outbox keeps a new notice as its
``Notice`` and a sent or discarded one as its state; each is rebuilt when read
(``benchmarks/memory.py``).
"""

from __future__ import annotations

import functools
import io
import itertools
import operator
import pickle
import threading
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from qiandao import events as _events_module
from qiandao import model as _model_module
from qiandao.accounts import PolicyChange
from qiandao.attention import Attention
from qiandao.audit import (
    AuditChain,
    AuditEntry,
    AuditHead,
    AuditQuery,
    AuditRecord,
    decode,
    parse_cursor,
    record_of,
)
from qiandao.errors import ConcurrencyConflict, DuplicateAccount, NotFound
from qiandao.events import Event
from qiandao.lanes import Lane, LanePosition
from qiandao.model import (
    ZHOUSHAN_JURISDICTIONS,
    Account,
    AccountEvent,
    AccountStatus,
    Assignment,
    Commission,
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
    ItemQuery,
    LaneQuery,
    LoggedEvent,
    Names,
    OutboxMessage,
    ReviewWaitQuery,
)
from qiandao.queries import (
    assignment_page,
    attention_page,
    attention_positions,
    filter_assignments,
    filter_items,
    item_matches,
    item_page,
    lane_counts,
    lane_page,
    lane_rows,
    needing_attention,
    review_waits,
)
from qiandao.rules.roles import Role
from qiandao.similarity import SimilarityCandidate, SimilarityEntry
from qiandao.statistics import Statistics, StatisticsQuery, statistics_of
from qiandao.topics import TermCounts, TopicEntry, TopicScope

__all__ = ["MemoryStore", "MemoryUnitOfWork"]

V = TypeVar("V")


class _Table(Generic[V]):
    """A committed dict plus this unit of work's staged writes and the checks they rely on."""

    def __init__(
        self,
        base: dict[str, V],
        what: str,
        version: Callable[[V], int] | None,
        dirty: list[_Table[Any]],
        merge: Callable[[V, V], V] | None = None,
    ) -> None:
        self.base = base
        self.what = what
        self.version = version
        self.dirty = dirty  # the unit of work's list of tables with staged writes
        self.merge = merge  # how a staged value meets a value committed meanwhile
        self.staged: dict[str, V] = {}
        self.expected: dict[str, int | None] = {}  # key -> version in base (None: must not exist)
        self.removed: set[str] = set()  # keys deleted by this unit of work

    def _touch(self) -> None:
        if not self.staged and not self.expected and not self.removed:
            self.dirty.append(self)

    def expect(self, key: str, version: int | None) -> None:
        """Record the committed version this unit of work relies on (first time only)."""
        if key not in self.expected:
            self._touch()
            self.expected[key] = version

    def get(self, key: str) -> V | None:
        if key in self.removed:
            return None
        return self.staged[key] if key in self.staged else self.base.get(key)

    def require(self, key: str) -> V:
        value = self.get(key)
        if value is None:
            raise NotFound(f"{self.what}不存在：{key}", id=key)
        return value

    def values(self) -> list[V]:
        merged = dict(self.base)
        merged.update(self.staged)
        return [value for key, value in merged.items() if key not in self.removed]

    def add(self, key: str, value: V) -> None:
        if self.get(key) is not None:
            raise ConcurrencyConflict(f"{self.what}已存在：{key}", id=key)
        self.expect(key, None)
        self.staged[key] = value

    def save(self, key: str, value: V, expected: int) -> None:
        current = self.require(key)
        assert self.version is not None
        if self.version(current) != expected:
            raise ConcurrencyConflict(id=key, expected=expected, actual=self.version(current))
        self.expect(key, expected)
        self.staged[key] = value

    def put(self, key: str, value: V) -> None:
        self._touch()
        self.removed.discard(key)
        self.staged[key] = value

    def delete(self, key: str) -> None:
        self._touch()
        self.staged.pop(key, None)
        self.removed.add(key)

    def verify(self) -> None:
        version = self.version
        for key, expected in self.expected.items():
            current = self.base.get(key)
            if expected is None and current is not None:
                raise ConcurrencyConflict(f"{self.what}已存在：{key}", id=key)
            if expected is not None and (
                current is None or (version is not None and version(current) != expected)
            ):
                raise ConcurrencyConflict(id=key, expected=expected)

    def apply(self) -> None:
        for key in self.removed:
            self.base.pop(key, None)
        if self.merge is None:
            self.base.update(self.staged)
            return
        for key, value in self.staged.items():
            old = self.base.get(key)
            self.base[key] = value if old is None else self.merge(old, value)

    def reset(self) -> None:
        self.staged = {}
        self.expected = {}
        self.removed = set()


def _keep_revoked(committed: Session, staged: Session) -> Session:
    """A session refresh never brings back a session revoked meanwhile."""
    return attrs.evolve(staged, revoked=True) if committed.revoked else staged


def _item_version(item: Item) -> int:
    return item.version


def _account_version(account: Account) -> int:
    return account.version


def _proposal_version(proposal: GrantProposal) -> int:
    return proposal.version


def _commission_version(commission: Commission) -> int:
    return commission.version


def _plan_version(plan: AnnualPlan) -> int:
    return plan.version


def _unit_version(unit: Unit) -> int:
    return unit.version


def _jurisdiction_version(jurisdiction: Jurisdiction) -> int:
    return jurisdiction.version


def _seeded() -> dict[str, Jurisdiction]:
    return {j.code: j for j in ZHOUSHAN_JURISDICTIONS}


_PACK = 64
"""A shard's sealed audit records are packed this many at a time (a few dozen bytes each)."""


@attrs.frozen
class _Packed:
    """Consecutive audit records of a shard, packed: each one's hash and canonical document (which
    holds every other field) compressed together. Records are rebuilt when read; the audit is
    written on every command and read rarely."""

    first: int
    last: int
    first_at: datetime
    blob: bytes

    @classmethod
    def of(cls, records: Sequence[AuditRecord]) -> _Packed:
        text = "\n".join(f"{r.hash} {r.document}" for r in records)
        blob = zlib.compress(text.encode("utf-8"), 1)
        return cls(records[0].sequence, records[-1].sequence, records[0].at, blob)

    def records(self) -> list[AuditRecord]:
        return [_unpacked(line) for line in zlib.decompress(self.blob).decode("utf-8").split("\n")]


def _unpacked(line: str) -> AuditRecord:
    """A packed record as it was sealed (its columns are its document's)."""
    digest, document = line.split(" ", 1)
    shard, sequence, entry, algorithm, previous = decode(document)
    return record_of(shard, sequence, algorithm, previous, document, digest, entry)


_AuditRow = AuditRecord | _Packed


def _audit_rows(rows: Sequence[_AuditRow], after: int = 0) -> Iterator[AuditRecord]:
    """The records of a shard's rows with a sequence past ``after``, in order (packed rows that
    end at or before ``after`` are not unpacked). Walks a copy: a commit may pack meanwhile."""
    for row in list(rows):
        if isinstance(row, _Packed):
            if row.last > after:
                yield from (r for r in row.records() if r.sequence > after)
        elif row.sequence > after:
            yield row


def _pack_tail(rows: list[_AuditRow]) -> None:
    """Pack the last :data:`_PACK` rows once they are all unpacked records (a shard's rows are
    packed rows, then at most ``_PACK - 1`` records)."""
    if len(rows) >= _PACK and isinstance(rows[-_PACK], AuditRecord):
        tail = rows[-_PACK:]
        rows[-_PACK:] = [_Packed.of(tail)]  # type: ignore[arg-type]  # all records, as checked


_EVENT_BLOCK = 64
"""Committed events are packed this many at a time, in commit order (a few dozen bytes each)."""


@functools.cache
def _reducers() -> dict[type, Callable[[Any], tuple[Any, ...]]]:
    """How the attrs values inside events are pickled: the class and its fields in order (a
    C attribute getter; attrs' own ``__getstate__`` builds a dict per value)."""
    found: dict[type, Callable[[Any], tuple[Any, ...]]] = {}
    for module in (_events_module, _model_module):
        for cls in vars(module).values():
            if not (isinstance(cls, type) and attrs.has(cls)):
                continue
            fields = attrs.fields(cls)
            if not fields or any(not f.init or f.kw_only or f.alias != f.name for f in fields):
                continue  # pickled the ordinary way
            names = [f.name for f in fields]
            get = operator.attrgetter(*names)
            found[cls] = _reduce_one(cls, get) if len(names) == 1 else _reduce_many(cls, get)
    return found


def _reduce_one(cls: type, get: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda value: (cls, (get(value),))


def _reduce_many(cls: type, get: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, ...]]:
    return lambda value: (cls, get(value))


@attrs.frozen
class _EventBlock:
    """:data:`_EVENT_BLOCK` consecutive events of the feed, pickled and compressed (``held``
    instead if an event would not pickle). Only this store's own events are ever unpickled."""

    blob: bytes
    held: tuple[Event, ...] = ()

    @classmethod
    def of(cls, events: Sequence[Event]) -> _EventBlock:
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _reducers()
        try:
            pickler.dump(tuple(events))
        except (pickle.PicklingError, TypeError, AttributeError):
            return cls(b"", tuple(events))
        return cls(zlib.compress(buffer.getvalue(), 1))

    def events(self) -> tuple[Event, ...]:
        return self.held or _unpacked_events(self.blob)


@functools.lru_cache(maxsize=16)
def _unpacked_events(blob: bytes) -> tuple[Event, ...]:
    """A block's events, the last few blocks remembered (a follower pages through the feed)."""
    found: tuple[Event, ...] = pickle.loads(zlib.decompress(blob))
    return found


def _packed_rows(rows: Sequence[Event | _EventBlock], *, packed: bool = False) -> int:
    """How many of the feed's rows are blocks (they come first). ``packed``: the feed is as a
    commit leaves it, fewer than :data:`_EVENT_BLOCK` events after its blocks (under the lock)."""
    low, high = max(0, len(rows) - _EVENT_BLOCK) if packed else 0, len(rows)
    if low and not isinstance(rows[low - 1], _EventBlock):
        low = 0  # not as a commit leaves it after all: search the whole feed
    while low < high:
        middle = (low + high) // 2
        if isinstance(rows[middle], _EventBlock):
            low = middle + 1
        else:
            high = middle
    return low


class _FeedView:
    """A consistent copy of the feed's rows (one list copy: never a half-applied commit)."""

    def __init__(self, feed: list[Event | _EventBlock]) -> None:
        self.rows = feed[:]
        self.blocks = _packed_rows(self.rows)
        self.length = self.blocks * _EVENT_BLOCK + len(self.rows) - self.blocks
        self._decoded: dict[int, tuple[Event, ...]] = {}

    def at(self, position: int) -> Event:
        """The event at ``position`` (from 1)."""
        index = position - 1
        packed = self.blocks * _EVENT_BLOCK
        if index >= packed:
            row = self.rows[self.blocks + index - packed]
            assert isinstance(row, Event)
            return row
        block, offset = divmod(index, _EVENT_BLOCK)
        events = self._decoded.get(block)
        if events is None:
            row = self.rows[block]
            assert isinstance(row, _EventBlock)
            events = self._decoded[block] = row.events()
        return events[offset]


def _pack_feed(feed: list[Event | _EventBlock], blocks: int) -> None:
    """Pack the feed's unpacked events after its first ``blocks`` rows (blocks),
    :data:`_EVENT_BLOCK` at a time (the commit lock held)."""
    while len(feed) - blocks >= _EVENT_BLOCK:
        events = feed[blocks : blocks + _EVENT_BLOCK]
        feed[blocks : blocks + _EVENT_BLOCK] = [_EventBlock.of(events)]  # type: ignore[arg-type]
        blocks += 1


_Stored = OutboxMessage | Notice | OutboxState
"""What the outbox keeps of a message: a new one's notice alone (its message is rebuilt when
read), a message, or the state of one sent or discarded (nothing reads more of it)."""
_GONE = frozenset({OutboxState.DISPATCHED, OutboxState.DISCARDED})


def _stored(message: OutboxMessage) -> _Stored:
    """What the outbox keeps of ``message``."""
    if message.state in _GONE:
        return message.state
    if (
        message.next_attempt_at is message.recorded_at
        and message.recorded_at is message.notice.at
        and message.state is OutboxState.PENDING
        and message.attempts == 0
        and message.dispatched_at is None
        and message.claimed_by is None
        and message.lease_until is None
        and message.last_attempt_at is None
        and message.last_error is None
    ):
        return message.notice
    return message


def _message(value: _Stored | None) -> OutboxMessage | None:
    """The message kept as ``value`` (``None``: unknown, or sent or discarded)."""
    if isinstance(value, Notice):
        return OutboxMessage(value, value.at)
    return None if isinstance(value, OutboxState) else value


def _outbox_state(value: _Stored) -> OutboxState:
    """The state of the message kept as ``value``."""
    if isinstance(value, Notice):
        return OutboxState.PENDING
    return value if isinstance(value, OutboxState) else value.state


@attrs.define
class _Data:
    items: dict[str, Item] = attrs.Factory(dict)
    # the job's index: per attention kind, per day, the (assignment id, item id) awaiting it
    attention: dict[Attention, dict[date, set[tuple[str, str]]]] = attrs.Factory(dict)
    events: dict[str, Sequence[int | Event]] = attrs.Factory(dict)  # by item: feed positions
    feed: list[Event | _EventBlock] = attrs.Factory(list)  # every event in commit order
    outbox: dict[str, _Stored] = attrs.Factory(dict)
    outbox_pending: dict[str, None] = attrs.Factory(dict)
    leases: dict[str, _Lease] = attrs.Factory(dict)
    accounts: dict[str, Account] = attrs.Factory(dict)
    account_events: dict[str, tuple[AccountEvent, ...]] = attrs.Factory(dict)
    proposals: dict[str, GrantProposal] = attrs.Factory(dict)
    policy_changes: dict[str, tuple[PolicyChange, ...]] = attrs.Factory(dict)
    sessions: dict[str, Session] = attrs.Factory(dict)
    units: dict[str, Unit] = attrs.Factory(dict)
    unit_events: dict[str, tuple[UnitEvent, ...]] = attrs.Factory(dict)
    jurisdictions: dict[str, Jurisdiction] = attrs.Factory(_seeded)
    commissions: dict[str, Commission] = attrs.Factory(dict)
    plans: dict[str, AnnualPlan] = attrs.Factory(dict)
    idempotency: dict[str, IdempotencyRecord] = attrs.Factory(dict)
    audit_heads: dict[str, AuditHead] = attrs.Factory(dict)
    audit_records: dict[str, list[_AuditRow]] = attrs.Factory(dict)  # by shard, in order
    similarity: dict[str, SimilarityEntry] = attrs.Factory(dict)
    similarity_bands: dict[int, set[str]] = attrs.Factory(dict)  # band key -> item ids
    topics: dict[str, TopicEntry] = attrs.Factory(dict)


class MemoryStore:
    """A whole store in one process's memory (tests, demos, embedding without a database)."""

    def __init__(self) -> None:
        self._data = _Data()
        self._lock = threading.Lock()

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work over this store."""
        return MemoryUnitOfWork(self._data, self._lock)


class _ItemsTable(_Table[Item]):
    """The items, with the job's attention index (:mod:`qiandao.attention`) kept at commit."""

    def __init__(self, data: _Data, dirty: list[_Table[Any]]) -> None:
        super().__init__(data.items, "信息", _item_version, dirty)
        self.attention = data.attention

    def _reindex(self, item: Item | None, *, add: bool) -> None:
        for key, position in attention_positions(item) if item is not None else ():
            days = self.attention.setdefault(key.kind, {})
            entry = (position.id, position.item_id)
            if add:
                days.setdefault(key.day, set()).add(entry)
                continue
            held = days.get(key.day)
            if held is not None:
                held.discard(entry)
                if not held:
                    del days[key.day]

    def apply(self) -> None:
        for key in (*self.removed, *self.staged):
            self._reindex(self.base.get(key), add=False)
        staged = self.staged
        super().apply()
        for item in staged.values():
            self._reindex(item, add=True)

    def attention_rows(self, query: AttentionQuery) -> list[LanePosition]:
        """The query's rows: committed ones from the index, this unit of work's from its
        staged items."""
        days = self.attention.get(query.kind, {})
        mine = self.staged.keys() | self.removed
        found = [
            LanePosition(0, day, assignment_id, item_id)
            for day in days
            if day < query.before and (query.after is None or day >= query.after.when)
            for assignment_id, item_id in days[day]
            if item_id not in mine
        ]
        staged = [item for key, item in self.staged.items() if key not in self.removed]
        everything = attrs.evolve(query, after=None, limit=None)
        return attention_page([*found, *needing_attention(staged, everything)], query)


class _Items:
    def __init__(self, table: _ItemsTable) -> None:
        self._t = table

    def get(self, item_id: str) -> Item:
        return self._t.require(item_id)

    def get_many(self, item_ids: Collection[str]) -> dict[str, Item]:
        return {key: item for key in item_ids if (item := self._t.get(key)) is not None}

    def add(self, item: Item) -> None:
        self._t.add(item.id, item)

    def save(self, item: Item, expected_version: int) -> None:
        self._t.save(item.id, item, expected_version)

    def find(self, query: ItemQuery) -> list[Item]:
        return filter_items(self._t.values(), query)

    def count(self, query: ItemQuery) -> int:
        return sum(1 for item in self._t.values() if item_matches(item, query))

    def find_page(self, query: ItemQuery) -> tuple[list[Item], int]:
        return item_page(self._t.values(), query)

    def assignments(self, query: AssignmentQuery) -> list[tuple[Item, Assignment]]:
        return filter_assignments(self._t.values(), query)

    def assignment_page(self, query: AssignmentQuery) -> tuple[list[tuple[Item, Assignment]], int]:
        return assignment_page(self._t.values(), query)

    def needing_attention(self, query: AttentionQuery) -> list[LanePosition]:
        return self._t.attention_rows(query)

    def lane(self, query: LaneQuery) -> list[tuple[Item, Assignment | None]]:
        return lane_rows(self._t.values(), query)

    def lane_page(self, query: LaneQuery) -> tuple[list[tuple[Item, Assignment | None]], int]:
        return lane_page(self._t.values(), query)

    def lane_counts(self, queries: Sequence[LaneQuery]) -> dict[Lane, int]:
        return lane_counts(self._t.values(), queries)

    def review_waits(self, query: ReviewWaitQuery) -> list[Item]:
        return review_waits(self._t.values(), query)

    def statistics(self, query: StatisticsQuery) -> Statistics:
        return statistics_of(self._t.values(), query)


def _append_next(
    table: _Table[tuple[V, ...]] | _Table[Sequence[V]], key: str, sequence: int, value: V
) -> None:
    """Append ``value`` to the log of ``key`` if ``sequence`` is its next, else a conflict."""
    existing = table.get(key) or ()
    if sequence != len(existing) + 1:
        raise ConcurrencyConflict(f"事件序号冲突：{key}#{sequence}", id=key)
    table.expect(key, len(existing) or None)
    table.put(key, (*existing, value))


class _EventTable(_Table[Sequence[int | Event]]):
    """Items' event logs: committed events by their feed position, this unit of work's own as
    events. At commit the staged events join the feed, in order, and get their positions."""

    def __init__(self, data: _Data, dirty: list[_Table[Any]]) -> None:
        super().__init__(data.events, "事件", len, dirty)
        self.feed = data.feed
        self.order: list[Event] = []  # numbered at commit, under the lock, in commit order

    def apply(self) -> None:
        feed = self.feed
        blocks = _packed_rows(feed, packed=True)
        first = blocks * _EVENT_BLOCK + len(feed) - blocks + 1
        placed: dict[tuple[str, int], int] = {}
        for position, event in enumerate(self.order, start=first):
            feed.append(event)
            placed[event.item_id, event.sequence] = position
        for key, log in self.staged.items():
            self.base[key] = array(
                "I", [e if isinstance(e, int) else placed[e.item_id, e.sequence] for e in log]
            )
        _pack_feed(feed, blocks)

    def reset(self) -> None:
        super().reset()
        self.order = []


class _Events:
    def __init__(self, table: _EventTable) -> None:
        self._t = table

    def append(self, events: Sequence[Event]) -> None:
        for event in events:
            _append_next(self._t, event.item_id, event.sequence, event)
        self._t.order.extend(events)

    def for_item(self, item_id: str) -> list[Event]:
        log = self._t.get(item_id) or ()  # read before the feed: its positions are in the copy
        if all(isinstance(e, Event) for e in log):
            return list(log)  # type: ignore[arg-type]  # all events, as checked
        view = _FeedView(self._t.feed)
        return [e if isinstance(e, Event) else view.at(e) for e in log]

    def since(self, position: int, limit: int) -> list[LoggedEvent]:
        view = _FeedView(self._t.feed)
        start = max(position, 0)
        end = min(view.length, start + limit)
        return [LoggedEvent(p, view.at(p)) for p in range(start + 1, end + 1)]


class _OutboxTable(_Table[_Stored]):
    """The outbox, with an index of the pending notices kept at commit (a scan never walks
    the dispatched history)."""

    def __init__(self, data: _Data, dirty: list[_Table[Any]]) -> None:
        super().__init__(data.outbox, "通知", None, dirty)
        self.index = data.outbox_pending  # ids of pending notices, in the order first recorded

    def apply(self) -> None:
        staged = self.staged
        super().apply()
        for key, value in staged.items():
            if _outbox_state(value) is OutboxState.PENDING:
                self.index.setdefault(key, None)
            else:
                self.index.pop(key, None)


class _SimilarityTable(_Table[SimilarityEntry]):
    """The similarity index, with its band keys indexed at commit (a lookup never scans)."""

    def __init__(self, data: _Data, dirty: list[_Table[Any]]) -> None:
        super().__init__(data.similarity, "相似索引", None, dirty)
        self.bands = data.similarity_bands

    def _unindex(self, key: str) -> None:
        old = self.base.get(key)
        for band in old.bands if old is not None else ():
            ids = self.bands.get(band)
            if ids is not None:
                ids.discard(key)
                if not ids:
                    del self.bands[band]

    def apply(self) -> None:
        for key in (*self.removed, *self.staged):
            self._unindex(key)
        staged = self.staged
        super().apply()
        for key, entry in staged.items():
            for band in entry.bands:
                self.bands.setdefault(band, set()).add(key)


class _Similarity:
    def __init__(self, table: _SimilarityTable) -> None:
        self._t = table

    def put(self, entry: SimilarityEntry) -> None:
        self._t.put(entry.item_id, entry)

    def drop(self, item_id: str) -> None:
        self._t.delete(item_id)

    def get(self, item_id: str) -> SimilarityEntry | None:
        return self._t.get(item_id)

    def candidates(
        self, bands: Collection[int], jurisdiction: str, since: datetime, limit: int
    ) -> list[SimilarityCandidate]:
        wanted = set(bands)
        shared: Counter[str] = Counter()
        for band in wanted:
            shared.update(self._t.bands.get(band, ()))
        for key, staged in self._t.staged.items():  # this unit of work's own writes
            shared[key] = len(wanted.intersection(staged.bands))
        found = []
        for key, count in shared.items():
            entry = self._t.get(key)  # None: dropped by this unit of work
            if count and entry and entry.jurisdiction == jurisdiction and entry.at >= since:
                found.append((-count, key, entry))
        found.sort(key=_by_shared_bands)
        return [SimilarityCandidate(k, e.signature, -n) for n, k, e in found[:limit]]


def _by_shared_bands(row: tuple[int, str, SimilarityEntry]) -> tuple[int, str]:
    return row[0], row[1]


class _Topics:
    """The term index, plain: a term's key is the term itself."""

    def __init__(self, table: _Table[TopicEntry]) -> None:
        self._t = table

    def put(self, entry: TopicEntry) -> None:
        self._t.put(entry.item_id, entry)

    def drop(self, item_id: str) -> None:
        self._t.delete(item_id)

    def get(self, item_id: str) -> TopicEntry | None:
        return self._t.get(item_id)

    def _covered(self, scope: TopicScope) -> list[TopicEntry]:
        return [e for e in self._t.values() if scope.covers(e)]

    def counts(self, scope: TopicScope) -> TermCounts:
        found: Counter[str] = Counter()
        covered = self._covered(scope)
        for entry in covered:
            found.update(entry.terms.keys())
        return TermCounts(len(covered), dict(found))

    def items_with(
        self, keys: Collection[str], scope: TopicScope, limit: int
    ) -> dict[str, list[str]]:
        wanted = set(keys)
        having: dict[str, list[tuple[int, int, str]]] = {key: [] for key in wanted}
        for e in self._covered(scope):
            for key in wanted.intersection(e.terms):
                having[key].append((-e.terms[key], -e.day.toordinal(), e.item_id))
        return {key: [row[2] for row in sorted(rows)[:limit]] for key, rows in having.items()}

    def words(self, keys: Collection[str]) -> dict[str, str]:
        return {key: key for key in keys}


class _Outbox:
    def __init__(self, table: _OutboxTable, hold: Callable[[], None]) -> None:
        self._t = table
        self._hold = hold

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            if self._t.get(message.notice.id) is None:
                self._t.put(message.notice.id, _stored(message))

    def _waiting(self) -> list[OutboxMessage]:
        """Pending notices (committed and staged) by next attempt, then recorded order."""
        index = self._t.index
        ids = [*index, *(key for key in self._t.staged if key not in index)]
        found = [_message(self._t.get(key)) for key in ids]
        waiting = [m for m in found if m is not None and m.state is OutboxState.PENDING]
        waiting.sort(key=lambda m: m.next_attempt_at)  # stable: recorded order within an instant
        return waiting

    def pending(self, limit: int) -> list[OutboxMessage]:
        return self._waiting()[:limit]

    def claim(self, limit: int, now: datetime, lease: timedelta, owner: str) -> list[OutboxMessage]:
        self._hold()  # one claimer at a time, until this unit of work ends
        claimed = [
            attrs.evolve(m, claimed_by=owner, lease_until=now + lease)
            for m in self._waiting()
            if m.next_attempt_at <= now and (m.lease_until is None or m.lease_until <= now)
        ][:limit]
        for message in claimed:
            self._t.put(message.notice.id, message)
        return claimed

    def _change(self, notice_id: str, **changes: Any) -> None:
        value = self._t.require(notice_id)
        message = _message(value)
        if message is None:  # sent or discarded: its state is all there is to change
            self._t.put(notice_id, changes.get("state", value))
            return
        changed = attrs.evolve(message, claimed_by=None, lease_until=None, **changes)
        self._t.put(notice_id, _stored(changed))

    def mark_dispatched(self, notice_id: str, at: datetime) -> None:
        self._change(notice_id, state=OutboxState.DISPATCHED, dispatched_at=at)

    def mark_all_dispatched(self, notice_ids: Sequence[str], at: datetime) -> int:
        known = [key for key in dict.fromkeys(notice_ids) if self._t.get(key) is not None]
        for notice_id in known:
            self.mark_dispatched(notice_id, at)
        return len(known)

    def mark_failed(
        self, notice_id: str, at: datetime, retry_at: datetime | None, error: str = ""
    ) -> None:
        message = _message(self._t.require(notice_id))
        if message is None or message.state is not OutboxState.PENDING:
            return
        self._change(
            notice_id,
            attempts=message.attempts + 1,
            last_attempt_at=at,
            last_error=error or None,
            state=OutboxState.PENDING if retry_at is not None else OutboxState.DEAD,
            next_attempt_at=retry_at or message.next_attempt_at,
        )

    def release(self, owner: str, notice_ids: Sequence[str] | None = None) -> int:
        chosen = None if notice_ids is None else set(notice_ids)
        mine = [
            m
            for m in self._waiting()
            if m.claimed_by == owner and (chosen is None or m.notice.id in chosen)
        ]
        for message in mine:
            self._change(message.notice.id)
        return len(mine)

    def list_failed(self, limit: int) -> list[OutboxMessage]:
        dead = [
            v
            for v in self._t.values()
            if isinstance(v, OutboxMessage) and v.state is OutboxState.DEAD
        ]
        dead.sort(key=lambda m: m.last_attempt_at or m.recorded_at, reverse=True)
        return dead[:limit]

    def _open(self, notice_id: str) -> bool:
        return _outbox_state(self._t.require(notice_id)) in _OPEN

    def retry(self, notice_id: str, at: datetime) -> bool:
        message = _message(self._t.require(notice_id))
        if message is None or message.state not in _OPEN:
            return False
        # the lease stays: a dispatcher sending it now must not see it claimed and sent again
        again = attrs.evolve(message, state=OutboxState.PENDING, attempts=0, next_attempt_at=at)
        self._t.put(notice_id, _stored(again))
        return True

    def discard(self, notice_id: str) -> bool:
        if not self._open(notice_id):
            return False
        self._change(notice_id, state=OutboxState.DISCARDED)
        return True


_OPEN = frozenset({OutboxState.PENDING, OutboxState.DEAD})
"""States an operator may retry or discard a notice in."""


@attrs.frozen
class _Lease:
    owner: str
    until: datetime


class _Leases:
    def __init__(self, table: _Table[_Lease], hold: Callable[[], None]) -> None:
        self._t = table
        self._hold = hold

    def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        self._hold()
        current = self._t.get(name)
        if current is not None and current.owner != owner and current.until > now:
            return False
        self._t.put(name, _Lease(owner, until))
        return True

    def release(self, name: str, owner: str) -> None:
        self._hold()
        current = self._t.get(name)
        if current is not None and current.owner == owner:
            self._t.delete(name)


class _Accounts:
    """Accounts; their events, grant proposals and policies are staged on first use (most
    commands only read the actor's account)."""

    def __init__(self, data: _Data, dirty: list[_Table[Any]], hold: Callable[[], None]) -> None:
        self._data = data
        self._dirty = dirty
        self._t = _Table(data.accounts, "账号", _account_version, dirty)
        self._hold = hold

    @functools.cached_property
    def _events(self) -> _Table[tuple[AccountEvent, ...]]:
        return _Table(self._data.account_events, "账号事件", len, self._dirty)

    @functools.cached_property
    def _proposals(self) -> _Table[GrantProposal]:
        return _Table(self._data.proposals, "角色申请", _proposal_version, self._dirty)

    @functools.cached_property
    def _policies(self) -> _Table[tuple[PolicyChange, ...]]:
        return _Table(self._data.policy_changes, "口令策略", len, self._dirty)

    @property
    def table(self) -> _Table[Account]:
        """The staged table (the unit of work checks it at commit)."""
        return self._t

    def get(self, account_id: str) -> Account:
        return self._t.require(account_id)

    def by_phone(self, phone: str) -> Account | None:
        return next((a for a in self._t.values() if a.phone == phone), None)

    def by_external(self, provider: str, subject: str) -> Account | None:
        return next(
            (
                a
                for a in self._t.values()
                if any(e.provider == provider and e.subject == subject for e in a.external_ids)
            ),
            None,
        )

    def _check_unique(self, account: Account) -> None:
        if account.phone is not None:
            other = self.by_phone(account.phone)
            if other is not None and other.id != account.id:
                raise DuplicateAccount(phone_tail=account.phone[-4:])

    def verify(self) -> None:
        """Under the commit lock: no two accounts, committed or staged, share a phone."""
        if not self._t.staged:
            return
        merged = dict(self._t.base)
        merged.update(self._t.staged)
        owners: dict[str, str] = {}
        for account in merged.values():
            if account.phone is None:
                continue
            if owners.setdefault(account.phone, account.id) != account.id:
                raise DuplicateAccount(phone_tail=account.phone[-4:])

    def add(self, account: Account) -> None:
        self._check_unique(account)
        self._t.add(account.id, account)

    def save(self, account: Account, expected_version: int) -> None:
        self._check_unique(account)
        self._t.save(account.id, account, expected_version)

    def count_failure(self, account_id: str, limit: int) -> int | None:
        """Staged like a save, with the store's commit lock held until the unit of work ends
        (the memory store's row lock): no other commit lands between the count and its commit,
        so parallel counts wait for each other instead of colliding."""
        self._hold()
        current = self._t.require(account_id)
        if current.status is not AccountStatus.ACTIVE or current.failed_attempts >= limit:
            return None
        counted = attrs.evolve(
            current, failed_attempts=current.failed_attempts + 1, version=current.version + 1
        )
        self._t.save(account_id, counted, current.version)
        return counted.failed_attempts

    def holders(self, role: Role, jurisdiction: str) -> list[Account]:
        found = [
            a
            for a in self._t.values()
            if a.status is not AccountStatus.DELETED and a.holds(role, jurisdiction)
        ]
        return sorted(found, key=lambda a: a.id)

    def events(self, account_id: str) -> list[AccountEvent]:
        return list(self._events.get(account_id) or ())

    def append_events(self, events: Sequence[AccountEvent]) -> None:
        for event in events:
            _append_next(self._events, event.account_id, event.sequence, event)

    def add_proposal(self, proposal: GrantProposal) -> None:
        self._proposals.add(proposal.id, proposal)

    def get_proposal(self, proposal_id: str) -> GrantProposal:
        return self._proposals.require(proposal_id)

    def save_proposal(self, proposal: GrantProposal, expected_version: int) -> None:
        self._proposals.save(proposal.id, proposal, expected_version)

    def proposals(
        self,
        jurisdiction: str | None = None,
        state: ProposalState | None = None,
        account_id: str | None = None,
    ) -> list[GrantProposal]:
        found = [
            p
            for p in self._proposals.values()
            if jurisdiction in (None, p.grant.jurisdiction)
            and state in (None, p.state)
            and account_id in (None, p.account_id)
        ]
        return sorted(found, key=lambda p: (p.proposed_at, p.id))

    def policy(self, jurisdiction: str) -> PolicyChange | None:
        changes = self._policies.get(jurisdiction)
        return changes[-1] if changes else None

    def policy_changes(self, jurisdiction: str) -> list[PolicyChange]:
        return list(self._policies.get(jurisdiction) or ())

    def append_policy_change(self, change: PolicyChange) -> None:
        _append_next(self._policies, change.jurisdiction, change.sequence, change)

    def list(self, jurisdiction: str | None = None) -> list[Account]:
        found = [a for a in self._t.values() if jurisdiction in (None, a.jurisdiction)]
        return sorted(found, key=lambda a: a.id)


class _Sessions:
    def __init__(self, table: _Table[Session]) -> None:
        self._t = table

    def get(self, token_hash: str) -> Session | None:
        return self._t.get(token_hash)

    def put(self, session: Session) -> None:
        self._t.put(session.token_hash, session)

    def revoke_all(self, account_id: str, grant: RoleGrant | None = None) -> int:
        live = [
            s
            for s in self._t.values()
            if s.account_id == account_id and not s.revoked and grant in (None, s.grant)
        ]
        for session in live:
            self._t.put(session.token_hash, attrs.evolve(session, revoked=True))
        return len(live)

    def purge_expired(self, before: datetime, limit: int) -> int:
        ended = sorted(
            (s for s in self._t.values() if s.expires_at is not None and s.expires_at < before),
            key=lambda s: (s.expires_at, s.token_hash),
        )[:limit]
        for session in ended:
            self._t.delete(session.token_hash)
        return len(ended)


class _Units:
    def __init__(self, table: _Table[Unit], events: _Table[tuple[UnitEvent, ...]]) -> None:
        self._t = table
        self._events = events

    def get(self, unit_id: str) -> Unit:
        return self._t.require(unit_id)

    def add(self, unit: Unit) -> None:
        self._t.add(unit.id, unit)

    def save(self, unit: Unit, expected_version: int) -> None:
        self._t.save(unit.id, unit, expected_version)

    def events(self, unit_id: str) -> list[UnitEvent]:
        return list(self._events.get(unit_id) or ())

    def append_events(self, events: Sequence[UnitEvent]) -> None:
        for event in events:
            _append_next(self._events, event.unit_id, event.sequence, event)

    def list(self, jurisdiction: str | None = None) -> list[Unit]:
        found = [u for u in self._t.values() if jurisdiction in (None, u.jurisdiction)]
        return sorted(found, key=lambda u: u.id)


class _Directory:
    """Names read through the unit of work's tables (its own staged writes included)."""

    def __init__(self, accounts: _Table[Account], units: _Table[Unit]) -> None:
        self._accounts = accounts
        self._units = units

    def names(self, account_ids: Collection[str], unit_ids: Collection[str]) -> Names:
        people = {i: a.real_name for i in set(account_ids) if (a := self._accounts.get(i))}
        units = {i: u.name for i in set(unit_ids) if (u := self._units.get(i))}
        return Names(accounts=people, units=units)


class _Jurisdictions:
    def __init__(self, table: _Table[Jurisdiction]) -> None:
        self._t = table

    def get(self, code: str) -> Jurisdiction | None:
        return self._t.get(code)

    def add(self, jurisdiction: Jurisdiction) -> None:
        self._t.add(jurisdiction.code, jurisdiction)

    def save(self, jurisdiction: Jurisdiction, expected_version: int) -> None:
        self._t.save(jurisdiction.code, jurisdiction, expected_version)

    def list(self) -> list[Jurisdiction]:
        return sorted(self._t.values(), key=lambda j: j.code)

    def names(self, codes: Sequence[str]) -> dict[str, str]:
        found = (self._t.get(code) for code in dict.fromkeys(codes))
        return {j.code: j.name for j in found if j is not None}


class _Commissions:
    def __init__(self, table: _Table[Commission]) -> None:
        self._t = table

    def get(self, commission_id: str) -> Commission:
        return self._t.require(commission_id)

    def add(self, commission: Commission) -> None:
        self._t.add(commission.id, commission)

    def save(self, commission: Commission, expected_version: int) -> None:
        self._t.save(commission.id, commission, expected_version)

    def list(self, jurisdiction: str | None = None) -> list[Commission]:
        found = [c for c in self._t.values() if jurisdiction in (None, c.jurisdiction)]
        return sorted(found, key=lambda c: c.id)


class _Plans:
    def __init__(self, table: _Table[AnnualPlan]) -> None:
        self._t = table

    def get(self, jurisdiction: str, year: int) -> AnnualPlan | None:
        return self._t.get(plan_id(jurisdiction, year))

    def add(self, plan: AnnualPlan) -> None:
        self._t.add(plan.id, plan)

    def save(self, plan: AnnualPlan, expected_version: int) -> None:
        self._t.save(plan.id, plan, expected_version)

    def of_year(self, year: int) -> list[AnnualPlan]:
        return sorted((p for p in self._t.values() if p.year == year), key=lambda p: p.id)


class _Idempotency:
    def __init__(self, table: _Table[IdempotencyRecord]) -> None:
        self._t = table

    def get(self, key: str) -> IdempotencyRecord | None:
        return self._t.get(key)

    def add(self, record: IdempotencyRecord) -> None:
        self._t.add(record.key, record)


class _Audit:
    """The audit log: entries are sealed at commit, under the store's lock, after every version
    check passed, so appends never conflict and a failed unit of work leaves no record."""

    def __init__(self, data: _Data) -> None:
        self._data = data
        self.staged: list[tuple[str, AuditEntry, AuditChain]] = []
        self.purged: dict[str, int] = {}

    def append(self, shard: str, entry: AuditEntry, chain: AuditChain) -> None:
        self.staged.append((shard, entry, chain))

    def heads(self) -> dict[str, AuditHead]:
        return dict(self._data.audit_heads)

    def shards(self) -> list[str]:
        return sorted(shard for shard, rows in self._data.audit_records.items() if rows)

    def records(self, shard: str, *, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        found = _audit_rows(self._data.audit_records.get(shard, ()), after)
        return list(found if limit is None else itertools.islice(found, limit))

    def _all(self) -> Iterator[AuditRecord]:
        for rows in self._data.audit_records.values():
            yield from _audit_rows(rows)

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        after = parse_cursor(query.after) if query.after is not None else None
        found = [
            r
            for r in self._all()
            if _audit_matches(r, query) and (after is None or r.position > after)
        ]
        found.sort(key=lambda r: r.position)
        return found[: query.limit + 1]

    def count(self, query: AuditQuery) -> int:
        return sum(1 for r in self._all() if _audit_matches(r, query))

    def last_before(self, shard: str, before: datetime) -> AuditRecord | None:
        last: _AuditRow | None = None
        for row in list(self._data.audit_records.get(shard, ())):
            if (row.first_at if isinstance(row, _Packed) else row.at) >= before:
                break
            last = row
        if isinstance(last, _Packed):  # its first record is before; maybe not its last
            return [r for r in last.records() if r.at < before][-1]
        return last

    def purge(self, shard: str, through: int) -> int:
        count = 0
        for row in list(self._data.audit_records.get(shard, ())):
            if isinstance(row, AuditRecord):
                count += row.sequence <= through
            elif row.first <= through:  # a packed row's sequences run unbroken
                count += min(row.last, through) - row.first + 1
        self.purged[shard] = max(through, self.purged.get(shard, 0))
        return count

    def apply(self) -> None:
        """Apply the purges, then seal each staged entry after its shard's head."""
        records = self._data.audit_records
        for shard, through in self.purged.items():
            records[shard] = _purged(records.get(shard, []), through)
        for shard, entry, chain in self.staged:
            record = chain.seal(self._data.audit_heads.get(shard, AuditHead(shard)), entry)
            rows = records.setdefault(shard, [])
            rows.append(record)
            _pack_tail(rows)
            self._data.audit_heads[shard] = AuditHead(shard, record.sequence, record.hash)
        self.reset()

    def reset(self) -> None:
        self.staged = []
        self.purged = {}


def _purged(rows: Sequence[_AuditRow], through: int) -> list[_AuditRow]:
    """A shard's rows without the records up to sequence ``through``; a packed row that holds
    both kinds is packed again with the rest."""
    kept: list[_AuditRow] = []
    for row in rows:
        if isinstance(row, AuditRecord):
            if row.sequence > through:
                kept.append(row)
        elif row.first > through:
            kept.append(row)
        elif row.last > through:
            kept.append(_Packed.of([r for r in row.records() if r.sequence > through]))
    return kept


def _audit_matches(record: AuditRecord, query: AuditQuery) -> bool:
    return (
        (query.account_id is None or record.account_id == query.account_id)
        and (query.action is None or record.action == query.action)
        and (query.target_id is None or query.target_id in record.entry.targets)
        and (query.since is None or record.at >= query.since)
        and (query.until is None or record.at < query.until)
        and (query.jurisdictions is None or record.jurisdiction in query.jurisdictions)
    )


class MemoryUnitOfWork:
    """One transaction over a :class:`MemoryStore`."""

    def __init__(self, data: _Data, lock: threading.Lock) -> None:
        self._data = data
        self._lock = lock
        self._held = False
        dirty: list[_Table[Any]] = []
        self._dirty = dirty
        # every command touches these three; the others are made on first use
        self.items = _Items(_ItemsTable(data, dirty))
        self.events = _Events(_EventTable(data, dirty))
        self.outbox = _Outbox(_OutboxTable(data, dirty), self._hold)
        self._accounts: _Accounts | None = None
        self._sessions: _Sessions | None = None
        self._units: _Units | None = None
        self._jurisdictions: _Jurisdictions | None = None
        self._commissions: _Commissions | None = None
        self._plans: _Plans | None = None
        self._idempotency: _Idempotency | None = None
        self._audit: _Audit | None = None
        self._leases: _Leases | None = None
        self._similarity: _Similarity | None = None
        self._topics: _Topics | None = None

    @property
    def topics(self) -> _Topics:
        """The term index of hot topics (words in plain: nothing is kept at rest)."""
        if self._topics is None:
            self._topics = _Topics(_Table(self._data.topics, "热点索引", None, self._dirty))
        return self._topics

    @property
    def similarity(self) -> _Similarity:
        """The similarity index; its band keys are indexed at commit."""
        if self._similarity is None:
            self._similarity = _Similarity(_SimilarityTable(self._data, self._dirty))
        return self._similarity

    @property
    def leases(self) -> _Leases:
        """Named leases, made on first use."""
        if self._leases is None:
            self._leases = _Leases(_Table(self._data.leases, "租约", None, self._dirty), self._hold)
        return self._leases

    @property
    def accounts(self) -> _Accounts:
        """Accounts, their events, proposals and policies, made on first use."""
        if self._accounts is None:
            self._accounts = _Accounts(self._data, self._dirty, self._hold)
        return self._accounts

    @property
    def sessions(self) -> _Sessions:
        """Sessions (a refresh never revives a revoked one), made on first use."""
        if self._sessions is None:
            table = _Table(self._data.sessions, "会话", None, self._dirty, _keep_revoked)
            self._sessions = _Sessions(table)
        return self._sessions

    @property
    def units(self) -> _Units:
        """Units and their events, made on first use."""
        if self._units is None:
            table = _Table(self._data.units, "承办单位", _unit_version, self._dirty)
            events = _Table(self._data.unit_events, "承办单位事件", len, self._dirty)
            self._units = _Units(table, events)
        return self._units

    @property
    def jurisdictions(self) -> _Jurisdictions:
        """Jurisdictions, made on first use."""
        if self._jurisdictions is None:
            table = _Table(self._data.jurisdictions, "政协", _jurisdiction_version, self._dirty)
            self._jurisdictions = _Jurisdictions(table)
        return self._jurisdictions

    @property
    def commissions(self) -> _Commissions:
        """Commissions, made on first use."""
        if self._commissions is None:
            table = _Table(self._data.commissions, "约稿", _commission_version, self._dirty)
            self._commissions = _Commissions(table)
        return self._commissions

    @property
    def plans(self) -> _Plans:
        """Annual plans, made on first use."""
        if self._plans is None:
            self._plans = _Plans(_Table(self._data.plans, "年度计划", _plan_version, self._dirty))
        return self._plans

    @property
    def directory(self) -> _Directory:
        """Names of accounts and units, read through this unit of work's tables."""
        return _Directory(self.accounts.table, self.units._t)

    @property
    def idempotency(self) -> _Idempotency:
        """Idempotency records, made on first use."""
        if self._idempotency is None:
            table = _Table(self._data.idempotency, "幂等键", None, self._dirty)
            self._idempotency = _Idempotency(table)
        return self._idempotency

    @property
    def audit(self) -> _Audit:
        """The audit log; appends are sealed at commit under the store's lock."""
        if self._audit is None:
            self._audit = _Audit(self._data)
        return self._audit

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def _hold(self) -> None:
        """Take the commit lock until this unit of work commits or rolls back."""
        if not self._held:
            self._lock.acquire()
            self._held = True

    def commit(self) -> None:
        """Re-check every version under the lock, then apply every staged write."""
        self._hold()
        try:
            for table in self._dirty:
                table.verify()
            if self._accounts is not None and self._accounts.table in self._dirty:
                self._accounts.verify()
            for table in self._dirty:
                table.apply()
            if self._audit is not None:
                self._audit.apply()
        finally:
            self._release()
        self.rollback()

    def _release(self) -> None:
        if self._held:
            self._held = False
            self._lock.release()

    def rollback(self) -> None:
        """Drop everything staged since the last commit (and release the lock, if held)."""
        for table in self._dirty:
            table.reset()
        self._dirty.clear()
        if self._audit is not None:
            self._audit.reset()
        self._release()
