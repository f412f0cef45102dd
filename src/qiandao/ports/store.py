"""Storage ports: repositories reached through one unit of work (all or nothing).

Every ``save`` is a compare-and-set on ``version``: a stale writer gets ``ConcurrencyConflict``.
Queries take small value objects so a SQL store can push them down to the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import attrs

from qiandao._enum import LabelledEnum
from qiandao.accounts import PolicyChange
from qiandao.attention import Attention
from qiandao.audit import AuditChain, AuditEntry, AuditHead, AuditQuery, AuditRecord
from qiandao.events import Event
from qiandao.lanes import Lane, LanePosition
from qiandao.model import (
    Account,
    AccountEvent,
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
from qiandao.planning import AnnualPlan
from qiandao.ports.notify import Notice
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.roles import Role
from qiandao.similarity import SimilarityCandidate, SimilarityEntry
from qiandao.statistics import Statistics, StatisticsQuery
from qiandao.topics import TermCounts, TopicEntry, TopicScope

__all__ = [
    "AccountRepository",
    "AssignmentQuery",
    "AttentionQuery",
    "AuditKeySource",
    "AuditRepository",
    "CommissionRepository",
    "DirectoryRepository",
    "EventRepository",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "ItemOrder",
    "ItemQuery",
    "ItemRepository",
    "JurisdictionRepository",
    "LaneQuery",
    "LeaseRepository",
    "LoggedEvent",
    "Names",
    "OutboxMessage",
    "OutboxRepository",
    "PlanRepository",
    "ReviewWaitQuery",
    "SessionRepository",
    "SimilarityRepository",
    "Statistics",
    "StatisticsQuery",
    "Store",
    "TopicsRepository",
    "UnitOfWork",
    "UnitRepository",
]


class ItemOrder(LabelledEnum):
    """Orderings the queries need."""

    URGENT_FIRST = "urgent_first", "急件优先，按提交时间"
    NEWEST_FIRST = "newest_first", "最新在前"
    ISSUED_NEWEST_FIRST = "issued_newest_first", "按签发时间倒序"


@attrs.frozen
class ItemQuery:
    """A filter over items; ``None`` means "any". Results ordered by ``order`` then id.

    ``after``: only items whose sort key (:func:`qiandao.queries.order_position` of ``order``)
    comes strictly after this position: a keyset page, whose cost does not grow with its depth.
    """

    jurisdiction: str | None = None
    """Only items of this jurisdiction code."""
    states: frozenset[ItemState] | None = None
    """Only items in one of these states."""
    author_id: str | None = None
    """Only items this account authored (lead or co-author)."""
    unit_id: str | None = None
    """Only items assigned to this handling unit."""
    published_only: bool = False
    """Only published items: adopted, not 涉密, no author opted out."""
    commission_id: str | None = None
    """Only items written for this commission (约稿)."""
    order: ItemOrder = ItemOrder.NEWEST_FIRST
    """The order of the results (ties broken by id)."""
    limit: int | None = None
    """At most this many items (``None``: all)."""
    after: LanePosition | None = None
    """Only items sorting strictly after this position (a keyset page)."""


@attrs.frozen
class AssignmentQuery:
    """A filter over assignments, ordered by due date then assignment id (then item id).

    ``after``: only rows strictly after this position (``when`` the due day, ``id`` the
    assignment id, ``item_id`` its item; ``priority`` 0): a keyset page.
    """

    jurisdiction: str | None = None
    """Only assignments of items of this jurisdiction code."""
    unit_id: str | None = None
    """Only assignments to this handling unit."""
    states: frozenset[AssignmentState] | None = None
    """Only assignments in one of these states."""
    due_before: date | None = None
    """Only assignments due strictly before this day."""
    limit: int | None = None
    """At most this many rows (``None``: all)."""
    rating_closed_before: date | None = None
    """Only replied assignments awaiting a first rating whose window ended before this day."""
    reminders_done: bool | None = None
    """Whether the very-overdue reminder has gone out (``None``: either)."""
    provisional_only: bool = False
    """Only rows with a provisional date still to keep: an open reply deadline or an unrated
    rating window."""
    after: LanePosition | None = None
    """Only rows sorting strictly after this position (a keyset page)."""


@attrs.frozen
class AttentionQuery:
    """Assignments the periodic job must look at: those whose
    :func:`~qiandao.attention.attention` is of ``kind`` on a day before ``before``.

    Ordered by that day, then assignment id, then item id; ``after``: only rows strictly after
    this position (``when`` the day, ``id`` the assignment id, ``item_id`` its item; ``priority``
    0): a keyset page.
    """

    kind: Attention
    """What the assignments wait for (a reminder, or the close of a rating window)."""
    before: date
    """Only those whose attention day is strictly before this day (its kind's cut-off)."""
    after: LanePosition | None = None
    """Only rows sorting strictly after this position (a keyset page)."""
    limit: int | None = None
    """At most this many rows (``None``: all)."""


@attrs.frozen
class LaneQuery:
    """The rows of one lane in its keyset order (:func:`qiandao.lanes.lane_position`).

    Scope: ``jurisdiction`` (office lanes) or ``unit_id`` (unit lanes); ``destination_keys``
    keeps only items whose :func:`~qiandao.lanes.destinations_key` is one of them (a signer's
    tier). ``after``: only rows strictly after this position.
    """

    lane: Lane
    jurisdiction: str | None = None
    unit_id: str | None = None
    destination_keys: frozenset[str] | None = None
    after: LanePosition | None = None
    limit: int | None = None


@attrs.frozen
class ReviewWaitQuery:
    """Items in a review lane (待初审, 待审核, 待签发) that entered it before a cut-off.

    ``urgent_before`` applies to urgent items, ``before`` to the others; ``reminded`` filters on
    :func:`~qiandao.lanes.review_reminded`. Ordered urgent first, then oldest, then id.
    """

    before: datetime
    urgent_before: datetime
    jurisdiction: str | None = None
    reminded: bool | None = None
    after: LanePosition | None = None
    limit: int | None = None


@attrs.frozen
class OutboxMessage:
    """A notice recorded in the same transaction as its change; dispatched after commit.

    ``next_attempt_at``: when it may be sent (first its ``recorded_at``, after a failure the
    backoff's time); ``claimed_by`` / ``lease_until``: the dispatcher sending it, until when;
    ``last_error``: the type of the last failure (never its text, which may quote recipients).
    """

    notice: Notice
    """The notice to send."""
    recorded_at: datetime
    """When it was recorded, with its change (an aware datetime)."""
    dispatched_at: datetime | None = None
    """When it was sent, once sent."""
    attempts: int = 0
    """Failed sends so far."""
    state: OutboxState = OutboxState.PENDING
    """Pending, dispatched, dead or discarded."""
    next_attempt_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.recorded_at, takes_self=True)
    )
    """When it may be sent next (first its ``recorded_at``, then the backoff's time)."""
    claimed_by: str | None = None
    """The dispatcher holding its lease, if any."""
    lease_until: datetime | None = None
    """When that lease runs out, if any."""
    last_attempt_at: datetime | None = None
    """When it was last tried, if ever."""
    last_error: str | None = None
    """The type of the last failure (never its text, which may quote recipients)."""


@attrs.frozen
class IdempotencyRecord:
    """What a retried command with the same key must get again.

    ``key`` is the actor's account id, ``:``, and the client's key; ``fingerprint`` a digest of
    the command and its arguments; ``result_id`` the id of the record the first call produced
    (an item, account or commission); ``command`` the public command's name.
    """

    key: str
    """The actor's account id, ``:``, and the client's key."""
    fingerprint: str
    """A digest of the command and its arguments."""
    result_id: str
    """Id of the record the first call produced (an item, account or commission)."""
    command: str
    """Name of the public command."""


@attrs.frozen
class Names:
    """Display names by id: accounts' real names and units' names. An id the store does not
    know is absent (a caller shows the id, or nothing)."""

    accounts: Mapping[str, str] = attrs.field(factory=dict)
    units: Mapping[str, str] = attrs.field(factory=dict)


class ItemRepository(Protocol):
    """Items, with their assignments and records."""

    def get(self, item_id: str) -> Item:
        """The item with this id, as this unit of work sees it; ``NotFound`` if there is none."""
        ...

    def get_many(self, item_ids: Collection[str]) -> dict[str, Item]:
        """The items with these ids as this unit of work sees them, by id, read at once (not
        one read per id; an id of no item is left out): a batch of work loads its items so."""
        ...

    def add(self, item: Item) -> None:
        """Add a new item; ``ConcurrencyConflict`` if its id exists (at the call, or at commit
        when another unit of work added it meanwhile)."""
        ...

    def save(self, item: Item, expected_version: int) -> None:
        """Replace the item if the stored one still has ``expected_version`` (compare-and-set),
        else ``ConcurrencyConflict`` (now or at commit); an unknown id: ``NotFound`` or a
        conflict."""
        ...

    def find(self, query: ItemQuery) -> list[Item]:
        """The items matching ``query``, in its ``order`` then by id, after ``query.after``, at
        most ``query.limit``: the same as :func:`qiandao.queries.filter_items` over every item."""
        ...

    def count(self, query: ItemQuery) -> int:
        """How many items match the query's filter (``after`` and ``limit`` ignored)."""
        ...

    def find_page(self, query: ItemQuery) -> tuple[list[Item], int]:
        """One page (as :meth:`find`) and the filter's total (as :meth:`count`), both read
        from one snapshot: a row committed meanwhile by another session is in both or in
        neither."""
        ...

    def assignments(self, query: AssignmentQuery) -> list[tuple[Item, Assignment]]:
        """The (item, assignment) rows matching ``query``, by due day, then assignment id and
        item id, after ``query.after``, at most ``query.limit``."""
        ...

    def assignment_page(self, query: AssignmentQuery) -> tuple[list[tuple[Item, Assignment]], int]:
        """One page (as :meth:`assignments`) and how many rows the filter has (``after`` and
        ``limit`` ignored), both read from one snapshot."""
        ...

    def needing_attention(self, query: AttentionQuery) -> list[LanePosition]:
        """The positions (day, assignment id, item id) of the assignments matching ``query``,
        in that order, after ``query.after``, at most ``query.limit``: read by an index on
        the stored :func:`~qiandao.attention.attention` key, never by loading items."""
        ...

    def lane(self, query: LaneQuery) -> list[tuple[Item, Assignment | None]]:
        """One page of a lane: (item, assignment) rows, the assignment ``None`` in item lanes."""
        ...

    def lane_page(self, query: LaneQuery) -> tuple[list[tuple[Item, Assignment | None]], int]:
        """One page of a lane (as :meth:`lane`) and the lane's total (``after`` and ``limit``
        ignored), both read from one snapshot: a row committed meanwhile by another session
        is in both or in neither."""
        ...

    def lane_counts(self, queries: Sequence[LaneQuery]) -> dict[Lane, int]:
        """How many rows each lane has (``after`` and ``limit`` ignored), all read from one
        snapshot (a store with several statements: one statement, or one transaction that
        sees a single snapshot)."""
        ...

    def review_waits(self, query: ReviewWaitQuery) -> list[Item]:
        """Items waiting in a review lane since before the cut-off (see ``ReviewWaitQuery``)."""
        ...

    def statistics(self, query: StatisticsQuery) -> Statistics:
        """The counts of the bulletin and the assessment, aggregated by the store.

        Must equal :func:`qiandao.statistics.statistics_of` over the store's items; a store
        should aggregate where the data is rather than load every item.
        """
        ...


@attrs.frozen
class LoggedEvent:
    """An event with its position in the store-wide log (the change feed's cursor)."""

    position: int
    event: Event


class EventRepository(Protocol):
    """The append-only event log; (item_id, sequence) is unique.

    Besides its per-item sequence, every event gets a store-wide ``position`` when its unit of
    work commits: positions are unique, start at 1 and increase in commit order, so an event
    committed after a reader's :meth:`since` has a greater position than every event that read
    returned (a follower that stores the last position it read never skips one). A rolled-back
    unit of work uses up no position (our stores number without gaps).
    """

    def append(self, events: Sequence[Event]) -> None:
        """Append events to their items' logs; an ``(item_id, sequence)`` already taken (stored,
        in this batch, or committed meanwhile) is a ``ConcurrencyConflict``."""
        ...

    def for_item(self, item_id: str) -> list[Event]:
        """The item's events in sequence order (``[]`` for an unknown item, never ``NotFound``)."""
        ...

    def since(self, position: int, limit: int) -> list[LoggedEvent]:
        """The committed events with a position greater than ``position``, in position order,
        at most ``limit`` (``limit`` from 1)."""
        ...


class OutboxRepository(Protocol):
    """Notices waiting to be dispatched, claimed under a lease by one dispatcher at a time."""

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Record new notices (a notice id already recorded is left as it is)."""
        ...

    def pending(self, limit: int) -> list[OutboxMessage]:
        """Pending notices, due or not, claimed or not: by next attempt, then recorded order."""
        ...

    def claim(self, limit: int, now: datetime, lease: timedelta, owner: str) -> list[OutboxMessage]:
        """Take up to ``limit`` pending notices due at ``now`` whose lease (if any) has expired,
        in the order of :meth:`pending`, for ``owner`` until ``now + lease``; returns them as
        claimed. Two dispatchers never claim the same notice while a lease runs (``FOR UPDATE
        SKIP LOCKED`` on a server, the one writer on SQLite, the commit lock in memory)."""
        ...

    def mark_dispatched(self, notice_id: str, at: datetime) -> None:
        """The notice was sent (``not_found`` if unknown); its lease ends."""
        ...

    def mark_all_dispatched(self, notice_ids: Sequence[str], at: datetime) -> int:
        """Several notices were sent at ``at``: each as by :meth:`mark_dispatched`, in one write
        for the batch (a dispatcher's whole batch, not a statement per notice); an id the outbox
        does not hold is skipped. How many notices were marked."""
        ...

    def mark_failed(
        self, notice_id: str, at: datetime, retry_at: datetime | None, error: str = ""
    ) -> None:
        """A send failed at ``at``: one more attempt, tried again at ``retry_at`` or, when
        ``None``, dead; its lease ends. A notice no longer pending is left as it is."""
        ...

    def release(self, owner: str, notice_ids: Sequence[str] | None = None) -> int:
        """End ``owner``'s leases on notices still pending: those of ``notice_ids``, or all of
        them when ``None`` (a dispatcher stopping); how many."""
        ...

    def list_failed(self, limit: int) -> list[OutboxMessage]:
        """Dead notices, the latest failure first."""
        ...

    def retry(self, notice_id: str, at: datetime) -> bool:
        """Make a dead or pending notice pending again, due at ``at``, attempts reset (a running
        lease is kept, so a notice being sent is not claimed twice); ``False`` when it was
        dispatched or discarded (nothing changes); ``not_found`` if unknown."""
        ...

    def discard(self, notice_id: str) -> bool:
        """Give up a dead or pending notice (kept, state ``discarded``); ``False`` when it was
        dispatched or discarded already; ``not_found`` if unknown."""
        ...


class LeaseRepository(Protocol):
    """Named leases: at most one holder of a name until its lease runs out (the periodic job)."""

    def acquire(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Hold ``name`` for ``owner`` until ``until`` if nobody else holds it at ``now``
        (a lease ``owner`` holds already is extended); whether it is held."""
        ...

    def release(self, name: str, owner: str) -> None:
        """End ``owner``'s lease on ``name`` (nothing if someone else holds it)."""
        ...


class AccountRepository(Protocol):
    """Accounts with their role grants, each account's event log, the proposed grants waiting
    for the security admin, and each jurisdiction's log of password policy changes.

    The phone number is unique among accounts that have one. Account events are append-only;
    ``(account_id, sequence)`` is unique and sequences run 1, 2, 3… per account.
    """

    def get(self, account_id: str) -> Account:
        """The account with this id (departed ones too); ``NotFound`` if there is none."""
        ...

    def by_phone(self, phone: str) -> Account | None:
        """The account whose phone is exactly ``phone`` (no pattern matching), or ``None``."""
        ...

    def by_external(self, provider: str, subject: str) -> Account | None:
        """The account bound to this external identity (exact match on both), or ``None``."""
        ...

    def add(self, account: Account) -> None:
        """Add a new account: ``ConcurrencyConflict`` if its id exists, ``DuplicateAccount`` if
        another account has its phone (now or at commit)."""
        ...

    def save(self, account: Account, expected_version: int) -> None:
        """Replace the account by compare-and-set on ``expected_version`` (``ConcurrencyConflict``
        when stale, ``NotFound`` or a conflict for an unknown id, ``DuplicateAccount`` when its
        new phone is taken)."""
        ...

    def count_failure(self, account_id: str, limit: int) -> int | None:
        """Count one failed sign-in of an active account, atomically: ``failed_attempts`` goes
        up by one (and ``version`` with it) unless it has already reached ``limit``.

        The new count, or ``None`` (nothing written) when the count had reached ``limit`` or the
        account is not ``ACTIVE``. Parallel calls on one account never lose a count and never
        pass ``limit``: SQL locks the row (``SELECT ... FOR UPDATE``, SQLite's one writer), the
        memory store counts under its commit lock at once. ``NotFound`` for an unknown id.
        """
        ...

    def holders(self, role: Role, jurisdiction: str) -> list[Account]:
        """The accounts holding a grant of ``role`` in ``jurisdiction``, by id.

        Departed (``DELETED``) accounts keep their grants for attribution but are left out;
        locked accounts are included.
        """
        ...

    def events(self, account_id: str) -> list[AccountEvent]:
        """The account's events in sequence order (``[]`` when it has none)."""
        ...

    def append_events(self, events: Sequence[AccountEvent]) -> None:
        """Append events; a sequence that is not the account's next is a ConcurrencyConflict."""
        ...

    def add_proposal(self, proposal: GrantProposal) -> None:
        """Record a new grant proposal; ``ConcurrencyConflict`` if its id is taken."""
        ...

    def get_proposal(self, proposal_id: str) -> GrantProposal:
        """The grant proposal with this id; ``NotFound`` if there is none."""
        ...

    def save_proposal(self, proposal: GrantProposal, expected_version: int) -> None:
        """Replace the proposal by compare-and-set on ``expected_version`` (``ConcurrencyConflict``
        when stale)."""
        ...

    def proposals(
        self,
        jurisdiction: str | None = None,
        state: ProposalState | None = None,
        account_id: str | None = None,
    ) -> list[GrantProposal]:
        """Grant proposals filtered by the grant's jurisdiction, state and account (``None``:
        any), oldest first (``proposed_at``, then id)."""
        ...

    def policy(self, jurisdiction: str) -> PolicyChange | None:
        """The latest password policy change of ``jurisdiction`` (in force), or ``None``."""
        ...

    def policy_changes(self, jurisdiction: str) -> list[PolicyChange]:
        """Every password policy change of ``jurisdiction``, in sequence order."""
        ...

    def append_policy_change(self, change: PolicyChange) -> None:
        """Append a change; a sequence not the jurisdiction's next is a ConcurrencyConflict."""
        ...

    def list(self, jurisdiction: str | None = None) -> list[Account]:
        """The accounts of ``jurisdiction`` (every account when ``None``), by id."""
        ...


class SessionRepository(Protocol):
    """Signed-in sessions, by token hash."""

    def get(self, token_hash: str) -> Session | None:
        """The session with this token hash (revoked or expired ones too), or ``None``."""
        ...

    def put(self, session: Session) -> None:
        """Insert or replace the session (no version check); a refresh never brings back a
        session revoked meanwhile: a revoked stored session stays revoked."""
        ...

    def revoke_all(self, account_id: str, grant: RoleGrant | None = None) -> int:
        """End the account's live sessions (only those that selected ``grant``, if given)."""
        ...

    def purge_expired(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` sessions whose ``expires_at`` is before ``before`` (ended
        sessions, revoked or not), earliest first, by an index on ``expires_at``; how many.

        Sessions without ``expires_at`` are kept.
        """
        ...


class UnitRepository(Protocol):
    """Handling units, each with its event log (added, renamed, merged, retired).

    Units are never deleted: a retired unit keeps its id for the assignments that name it.
    Unit events are append-only; ``(unit_id, sequence)`` is unique, sequences run 1, 2, 3….
    """

    def get(self, unit_id: str) -> Unit:
        """The unit with this id (retired ones too); ``NotFound`` if there is none."""
        ...

    def add(self, unit: Unit) -> None:
        """Add a new unit; ``ConcurrencyConflict`` if its id exists (now or at commit)."""
        ...

    def save(self, unit: Unit, expected_version: int) -> None:
        """Replace the unit by compare-and-set on ``expected_version``: ``ConcurrencyConflict``
        when stale, ``NotFound`` (or a conflict) for an unknown id."""
        ...

    def events(self, unit_id: str) -> list[UnitEvent]:
        """The unit's events in sequence order (``[]`` when it has none)."""
        ...

    def append_events(self, events: Sequence[UnitEvent]) -> None:
        """Append events; a sequence that is not the unit's next is a ConcurrencyConflict."""
        ...

    def list(self, jurisdiction: str | None = None) -> list[Unit]:
        """The units of ``jurisdiction`` (every unit when ``None``), retired ones too, by id."""
        ...


class JurisdictionRepository(Protocol):
    """Jurisdictions (政协) with their display names and parent links.

    A new store holds :data:`~qiandao.model.ZHOUSHAN_JURISDICTIONS` (舟山市 and its four
    县（区）): the memory store from construction, the SQL store from its migration (and
    ``create_all``).
    """

    def get(self, code: str) -> Jurisdiction | None:
        """The jurisdiction with this code, or ``None``."""
        ...

    def add(self, jurisdiction: Jurisdiction) -> None:
        """Add a new jurisdiction; ``ConcurrencyConflict`` if its code is taken."""
        ...

    def save(self, jurisdiction: Jurisdiction, expected_version: int) -> None:
        """Replace the jurisdiction by compare-and-set on ``expected_version``
        (``ConcurrencyConflict`` when stale)."""
        ...

    def list(self) -> list[Jurisdiction]:
        """Every jurisdiction, by code."""
        ...

    def names(self, codes: Sequence[str]) -> dict[str, str]:
        """The display names of the known ``codes`` in one read (unknown codes left out): what
        a view shows next to a jurisdiction code."""
        ...


class DirectoryRepository(Protocol):
    """Who is who, for display: the names a page of views shows, in one call."""

    def names(self, account_ids: Collection[str], unit_ids: Collection[str]) -> Names:
        """The real names of the accounts and the names of the units with these ids.

        One call answers a whole list: a database store reads each table once (``IN``), never
        once per id, and opens names sealed at rest in the same call. Departed accounts keep
        their names (attribution stays); unknown ids are left out.
        """
        ...


class CommissionRepository(Protocol):
    """Commissions (约稿)."""

    def get(self, commission_id: str) -> Commission:
        """The commission with this id; ``NotFound`` if there is none."""
        ...

    def add(self, commission: Commission) -> None:
        """Add a new commission; ``ConcurrencyConflict`` if its id exists (now or at commit)."""
        ...

    def save(self, commission: Commission, expected_version: int) -> None:
        """Replace the commission by compare-and-set on ``expected_version``:
        ``ConcurrencyConflict`` when stale, ``NotFound`` (or a conflict) for an unknown id."""
        ...

    def list(self, jurisdiction: str | None = None) -> list[Commission]:
        """The commissions of ``jurisdiction`` (every one when ``None``), by id."""
        ...


class PlanRepository(Protocol):
    """Annual plans (第六条), one per jurisdiction and year, keyed by
    :func:`~qiandao.planning.plan_id`."""

    def get(self, jurisdiction: str, year: int) -> AnnualPlan | None:
        """The plan of ``jurisdiction`` for ``year``, or ``None`` when none was set."""
        ...

    def add(self, plan: AnnualPlan) -> None:
        """Add a new plan; ``ConcurrencyConflict`` if its id exists (now or at commit)."""
        ...

    def save(self, plan: AnnualPlan, expected_version: int) -> None:
        """Replace the plan by compare-and-set on ``expected_version``: ``ConcurrencyConflict``
        when stale, ``NotFound`` (or a conflict) for an unknown id."""
        ...

    def of_year(self, year: int) -> list[AnnualPlan]:
        """Every jurisdiction's plan of ``year`` (the periodic job's reminders), by id."""
        ...


class IdempotencyRepository(Protocol):
    """Remembered idempotency keys of commands; ``add`` of a known key is a conflict."""

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record remembered under exactly this key, or ``None``."""
        ...

    def add(self, record: IdempotencyRecord) -> None:
        """Remember a new key; ``ConcurrencyConflict`` if it is known (now or at commit), and
        the first record stays."""
        ...


class AuditRepository(Protocol):
    """The audit log: chained records, appended only (第十九条).

    Nothing here changes or deletes a record except :meth:`purge`, which the library calls
    only from the audit administrator's purge of records past retention.
    """

    def append(self, shard: str, entry: AuditEntry, chain: AuditChain) -> None:
        """Seal ``entry`` after ``shard``'s head (``chain.seal``) and move the head, as part of
        this unit of work. Appends to one shard are serialised (the head row is locked until
        commit; the memory store seals at commit, under its lock), so no two records share a
        sequence and none is lost."""
        ...

    def heads(self) -> dict[str, AuditHead]:
        """Every shard's head as committed (shards never written may be missing)."""
        ...

    def shards(self) -> list[str]:
        """Every shard that holds a record, sorted (whether or not it has a head)."""
        ...

    def records(self, shard: str, *, after: int = 0, limit: int | None = None) -> list[AuditRecord]:
        """A shard's records with sequence greater than ``after``, in sequence order."""
        ...

    def query(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching the query in (time, shard, sequence) order, after its cursor, at
        most ``query.limit + 1`` (the extra one tells there is a next page). ``target_id``
        matches any of a record's targets."""
        ...

    def count(self, query: AuditQuery) -> int:
        """How many records match the query's filter, wherever its cursor and limit stand
        (the total of the audit's pages)."""
        ...

    def last_before(self, shard: str, before: datetime) -> AuditRecord | None:
        """The last record of the shard's longest prefix whose records are all older than
        ``before`` (``None`` if its first record is not)."""
        ...

    def purge(self, shard: str, through: int) -> int:
        """Delete the shard's records with sequence up to ``through``; how many were deleted."""
        ...


class SimilarityRepository(Protocol):
    """The similarity index (:mod:`qiandao.similarity`): per indexed item its jurisdiction,
    submission time, MinHash signature and LSH band keys; never any text.

    The service writes it in the transaction of the command that changes an item's text or
    secrecy, so it never lags the items; a 涉密 item is dropped from it.
    """

    def put(self, entry: SimilarityEntry) -> None:
        """Index an item, replacing what was indexed for it before."""
        ...

    def drop(self, item_id: str) -> None:
        """Remove an item from the index (nothing if it is not there)."""
        ...

    def get(self, item_id: str) -> SimilarityEntry | None:
        """What is indexed for an item, or ``None``."""
        ...

    def candidates(
        self, bands: Collection[int], jurisdiction: str, since: datetime, limit: int
    ) -> list[SimilarityCandidate]:
        """The items of ``jurisdiction`` submitted at or after ``since`` that share at least
        one band key with ``bands``, with their signatures and how many keys they share: at
        most ``limit`` (from 1), those sharing the most keys first, then by item id. Found by
        an index on the band keys, never by a scan."""
        ...


class TopicsRepository(Protocol):
    """The term index of hot topics (:mod:`qiandao.topics`): per indexed item its
    jurisdiction, category, sector, channel, day of submission and terms.

    Written by the service in the transaction of the command that sets an item's text or
    secrecy; a 涉密 item is dropped from it. A store under encryption keeps each term as a
    keyed token (a *term key*) and the words in a sealed dictionary; otherwise a term's key is
    the term itself.
    """

    def put(self, entry: TopicEntry) -> None:
        """Index an item, replacing what was indexed for it before."""
        ...

    def drop(self, item_id: str) -> None:
        """Remove an item from the index (nothing if it is not there)."""
        ...

    def get(self, item_id: str) -> TopicEntry | None:
        """What is indexed for an item (its terms as words), or ``None``."""
        ...

    def counts(self, scope: TopicScope) -> TermCounts:
        """How many indexed items ``scope`` covers and, per term key, how many of them have
        the term: aggregated by the store, never every entry returned."""
        ...

    def items_with(
        self, keys: Collection[str], scope: TopicScope, limit: int
    ) -> dict[str, list[str]]:
        """Per term key of ``keys``, the ids of at most ``limit`` items of ``scope`` having the
        term: those saying it most often first, then the latest day, then by id (a key no
        item of the scope has maps to an empty list). One pass, or one query, for all keys."""
        ...

    def words(self, keys: Collection[str]) -> dict[str, str]:
        """The word of each term key of ``keys`` (opened from the sealed dictionary under
        encryption; a key the index never held may be left out)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: commit makes all of it visible, or none of it."""

    @property
    def items(self) -> ItemRepository:
        """Items with their assignments and records."""
        ...

    @property
    def events(self) -> EventRepository:
        """The items' append-only event log and the store-wide change feed."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Notices recorded with their change, dispatched after commit."""
        ...

    @property
    def leases(self) -> LeaseRepository:
        """Named leases (one holder of the periodic job at a time)."""
        ...

    @property
    def accounts(self) -> AccountRepository:
        """Accounts, their events, grant proposals and password policies."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """Signed-in sessions, by token hash."""
        ...

    @property
    def units(self) -> UnitRepository:
        """Handling units with their event logs."""
        ...

    @property
    def jurisdictions(self) -> JurisdictionRepository:
        """Jurisdictions (政协) and their parent links."""
        ...

    @property
    def commissions(self) -> CommissionRepository:
        """Commissions (约稿)."""
        ...

    @property
    def plans(self) -> PlanRepository:
        """Annual plans and their targets (第六条)."""
        ...

    @property
    def directory(self) -> DirectoryRepository:
        """Display names of accounts and units, one call per page."""
        ...

    @property
    def idempotency(self) -> IdempotencyRepository:
        """Remembered idempotency keys of commands."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The chained, append-only audit log (第十九条)."""
        ...

    @property
    def similarity(self) -> SimilarityRepository:
        """The similarity index of similar items (MinHash signatures, LSH band keys)."""
        ...

    @property
    def topics(self) -> TopicsRepository:
        """The term index of hot topics (terms per item, keyed tokens under encryption)."""
        ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...  # rolls back whatever was not committed
    def commit(self) -> None:
        """Make every write of this unit of work visible at once, or none: a version checked
        earlier that changed meanwhile raises ``ConcurrencyConflict`` and nothing is written."""
        ...

    def rollback(self) -> None:
        """Drop every write staged since the last commit; nothing of it is ever visible."""
        ...


class Store(Protocol):
    """A storage backend: hands out units of work."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work (one transaction), used as a context manager; nothing it writes
        is visible to others before its ``commit``."""
        ...


@runtime_checkable
class AuditKeySource(Protocol):
    """A store that keeps a key for the audit chain's HMAC (the SQL store, in its key table):
    the service uses it when the host gives no ``audit_key``."""

    def audit_key(self) -> bytes | None:
        """The stored HMAC key of the audit chain, or ``None`` when the store has none."""
        ...
