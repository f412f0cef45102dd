"""The store contract suite: every store, ours or a host's, proves itself here.

Shipped in the package (like eventsourcing's persistence tests) so a host writing a store for
another database (达梦, 人大金仓 …) runs exactly the tests our memory and SQL stores run.
Subclass it in a test module whose class name starts with ``Test`` and pytest collects it::

    from qiandao.testing import StoreContract
    from qiandao_adapters.memory import MemoryStore


    class TestMemoryStore(StoreContract):
        interleaved_writes = True  # optional, see below

        def make_store(self) -> MemoryStore:
            return MemoryStore()  # a new, empty store on every call

Hooks and knobs of :class:`StoreContract`:

- ``make_store()`` (required): a new, **empty** store each call (a test, or one Hypothesis
  example, may call it several times), holding only the seeded jurisdictions
  (:data:`~qiandao.model.ZHOUSHAN_JURISDICTIONS`) that every new store starts with.
- ``discard_store(store)``: release one made store after the test (close an engine, drop a
  schema); default does nothing.
- ``interleaved_writes``: ``True`` if two units of work in one thread may *both* stage writes
  to the same row before either commits (stores that buffer writes until commit, like the
  memory store). A SQL store that takes row or unique-index locks at write time would block
  on itself in one thread, so the default ``False`` skips those tests; the threaded race
  tests cover the same rule for every store.
- ``thread_count``: writer threads in the race and soak tests (``0`` skips them).
- ``hypothesis_max_examples``: examples of the property tests (each makes a fresh store).

For readable assertion failures, register the package for pytest's assertion rewriting before
any of it is imported, in the host's ``conftest.py``::

    pytest.register_assert_rewrite("qiandao.testing")

Every test asserts behaviour and error ``code`` values, never message wording. Where the port
allows an error either when a write is staged or at commit (a stale compare-and-set, a
duplicate key), the tests accept both. The random items and queries come from
:mod:`qiandao.testing.strategies`. This module imports pytest and Hypothesis; import it from
tests only (``import qiandao.testing`` alone loads neither).
"""

from __future__ import annotations

import abc
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiandao.accounts import PasswordPolicy, PolicyChange
from qiandao.attention import Attention
from qiandao.audit import (
    GENESIS,
    AuditChain,
    AuditEntry,
    AuditHead,
    AuditOutcome,
    AuditQuery,
    cursor_of,
)
from qiandao.errors import (
    ConcurrencyConflict,
    DuplicateAccount,
    NotFound,
    QiandaoError,
)
from qiandao.events import Event
from qiandao.lanes import ASSIGNMENT_LANES, Lane, LanePosition, lane_position, signer_keys
from qiandao.model import (
    ZHOUSHAN_JURISDICTIONS,
    Account,
    AccountEvent,
    AccountEventKind,
    AccountStatus,
    Assignment,
    GrantProposal,
    Item,
    Jurisdiction,
    ProposalState,
    RoleGrant,
    Session,
    Unit,
    UnitEvent,
    UnitEventKind,
)
from qiandao.outbox import OutboxState
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
    Store,
    UnitOfWork,
)
from qiandao.queries import (
    assignment_page,
    assignment_position,
    attention_positions,
    filter_assignments,
    filter_items,
    item_page,
    lane_counts,
    lane_page,
    lane_rows,
    needing_attention,
    order_position,
    review_waits,
)
from qiandao.rules.deadlines import DeadlineStatus
from qiandao.rules.lifecycle import (
    ADOPTED_STATES,
    AWAITING_UNIT_STATES,
    AssignmentState,
    ItemState,
)
from qiandao.rules.points import Period
from qiandao.rules.roles import SIGNER_ROLES, Role
from qiandao.rules.ruleset import PasswordProfile
from qiandao.rules.tiers import TierRules
from qiandao.statistics import Statistics, StatisticsQuery, statistics_of
from qiandao.testing import strategies as qst
from qiandao.testing._support import JOIN_SECONDS, run_threads, run_threads_while_polling
from qiandao.testing.builders import (
    NASTY_TEXT,
    T0,
    lane_corpus,
    maximal_item,
    query_corpus,
    sample_account,
    sample_assignment,
    sample_commission,
    sample_events,
    sample_idempotency_record,
    sample_item,
    sample_notice,
    sample_outbox_message,
    sample_plan,
    sample_session,
    sample_unit,
    statistics_corpus,
)
from qiandao.testing.similarity import SimilarityContract
from qiandao.testing.topics import TopicsContract

__all__ = ["StoreContract"]


AUDIT_CHAIN = AuditChain(b"contract-audit-key-0123456789")
_PLACES = ("zhoushan", "dinghai", "daishan")


def at_minute(n: int) -> datetime:
    """A fixed instant ``n`` minutes into the audit test's day."""
    return datetime(2026, 12, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)


def audit_entry(n: int, action: str, *, person: str | None = None) -> AuditEntry:
    """The ``n``-th audit entry of a test: at minute ``n``, target ``t<n>``."""
    return AuditEntry(
        at=at_minute(n),
        action=action,
        outcome=AuditOutcome.SUCCEEDED if n % 4 else AuditOutcome.REFUSED,
        account_id=person or f"p{n}",
        role="editor",
        jurisdiction=_PLACES[n % 3],
        targets=(f"t{n}",),
        events=("submitted",) if n % 2 else (),
        code=None if n % 4 else "permission.denied",
    )


class _Boom(Exception):
    """Raised by a test half-way through a unit of work."""


@contextmanager
def _refused(*kinds: type[QiandaoError], codes: Iterable[str]) -> Iterator[None]:
    """Expect one of ``kinds`` carrying one of ``codes``."""
    with pytest.raises(kinds) as info:
        yield
    assert info.value.code in set(codes), info.value.code


def _session(uow: UnitOfWork, token_hash: str) -> Session:
    found = uow.sessions.get(token_hash)
    assert found is not None
    return found


def _code(jurisdiction: Jurisdiction) -> str:
    return jurisdiction.code


def _unit_event(
    unit: Unit, sequence: int, kind: UnitEventKind, other: str | None = None
) -> UnitEvent:
    """A unit event by the admin at a fixed instant (the unit as it became)."""
    return UnitEvent(unit.id, sequence, kind, "admin-01", T0, unit, other, sequence, 1)


def _conflict() -> AbstractContextManager[None]:
    return _refused(ConcurrencyConflict, codes={"store.conflict"})


def _not_found() -> AbstractContextManager[None]:
    return _refused(NotFound, codes={"not_found"})


def _stale_or_missing() -> AbstractContextManager[None]:
    # Saving a row that does not exist: a SQL ``UPDATE … WHERE version = ?`` cannot tell
    # "gone" from "changed", so either answer is allowed.
    return _refused(NotFound, ConcurrencyConflict, codes={"not_found", "store.conflict"})


def _aware(*instants: datetime | None) -> None:
    for instant in instants:
        assert instant is None or instant.utcoffset() is not None, instant


def _ids(items: Iterable[Item]) -> list[str]:
    return [i.id for i in items]


def _pairs(found: Iterable[tuple[Item, Assignment]]) -> list[tuple[str, str]]:
    return [(item.id, a.id) for item, a in found]


def _bump(item: Item, **changes: Any) -> Item:
    """The next version of ``item``, as a command would save it."""
    return attrs.evolve(item, version=item.version + 1, **changes)


def _event(item: Item, sequence: int, event_id: str | None = None) -> Event:
    """One event of ``item`` with the given sequence (built from :func:`sample_events`)."""
    template = sample_events(item)[(sequence - 1) % 6]
    return attrs.evolve(
        template, id=event_id or f"evt-{item.id}-{sequence}", sequence=sequence, item_id=item.id
    )


def _statistics_change(item: Item) -> dict[str, Any]:
    """A save that moves an item between groups, credits and unit counts."""
    return {
        "state": ItemState.CLOSED if item.state is not ItemState.CLOSED else ItemState.WITHDRAWN,
        "sector": item.sector + "界",
        "merged_authors": item.merged_authors ^ {"m-merged"},
        "coauthor_ids": (),
        "feedback": item.feedback[1:],
        "assignments": tuple(
            attrs.evolve(a, state=AssignmentState.CANCELLED, replies=(), reply_workdays=None)
            for a in item.assignments
        ),
    }


# --- lanes ------------------------------------------------------------------------------------


def _lane_queries(corpus: Sequence[Item]) -> list[LaneQuery]:
    """Every lane in every scope the corpus has: jurisdictions, units, signer tiers."""
    jurisdictions = sorted({i.jurisdiction for i in corpus})
    units = sorted({a.unit_id for i in corpus for a in i.assignments})
    tiers = [signer_keys(role, rules) for role in SIGNER_ROLES for rules in (TierRules(),)]
    tiers.append(signer_keys(SIGNER_ROLES[0], TierRules(allow_higher_signer=False)))
    queries: list[LaneQuery] = []
    for lane in Lane:
        queries += [LaneQuery(lane, jurisdiction=j) for j in jurisdictions]
        if lane in ASSIGNMENT_LANES:
            queries += [LaneQuery(lane, unit_id=u) for u in units]
        if lane is Lane.SIGNOFF:
            queries += [
                LaneQuery(lane, jurisdiction=j, destination_keys=keys)
                for j in jurisdictions
                for keys in tiers
            ]
    return queries


def _walk(uow: UnitOfWork, query: LaneQuery, size: int) -> list[tuple[Item, Assignment | None]]:
    """Every row of a lane, read page by page from each page's last position."""
    rows: list[tuple[Item, Assignment | None]] = []
    after: LanePosition | None = None
    while True:
        page = uow.items.lane(attrs.evolve(query, after=after, limit=size))
        rows += page
        if len(page) < size:
            return rows
        after = lane_position(query.lane, *page[-1])


_REMINDER_STEPS: tuple[frozenset[DeadlineStatus], ...] = (
    frozenset(),
    frozenset({DeadlineStatus.DUE_SOON}),
    frozenset({DeadlineStatus.DUE_SOON, DeadlineStatus.DUE_TODAY}),
    frozenset({DeadlineStatus.DUE_SOON, DeadlineStatus.DUE_TODAY, DeadlineStatus.OVERDUE}),
    frozenset({DeadlineStatus.OVERDUE}),
    frozenset(DeadlineStatus),
)


def attention_corpus() -> list[Item]:
    """:func:`query_corpus` and, per step of the reminders, a copy of each item with work
    awaiting its unit, those reminders sent: every kind of
    :class:`~qiandao.attention.Attention` has rows, with ties on the day (rating windows: the
    corpus's own)."""
    corpus = query_corpus()
    copies = [
        attrs.evolve(
            item,
            id=f"{item.id}-r{n}",
            assignments=tuple(
                attrs.evolve(a, reminders=step) if a.state in AWAITING_UNIT_STATES else a
                for a in item.assignments
            ),
        )
        for n, step in enumerate(_REMINDER_STEPS)
        for item in corpus
        if any(a.state in AWAITING_UNIT_STATES for a in item.assignments)
    ]
    return [*corpus, *copies]


def _attention_walk(uow: UnitOfWork, query: AttentionQuery, size: int) -> list[LanePosition]:
    """Every row of an attention query, read page by page from each page's last position."""
    rows: list[LanePosition] = []
    while True:
        page = uow.items.needing_attention(attrs.evolve(query, limit=size))
        rows += page
        if len(page) < size:
            return rows
        query = attrs.evolve(query, after=page[-1])


def _walk_from(
    uow: UnitOfWork, query: LaneQuery, after: LanePosition
) -> list[tuple[Item, Assignment | None]]:
    rows: list[tuple[Item, Assignment | None]] = []
    while page := uow.items.lane(attrs.evolve(query, after=after, limit=3)):
        rows += page
        after = lane_position(query.lane, *page[-1])
    return rows


def _first_in_every_order(template: Item, n: int) -> Item:
    """A copy of ``template`` (its filters' answers kept) that sorts before every row of the
    corpus in every :class:`ItemOrder`: newest, issued last, urgent and submitted first."""
    return attrs.evolve(
        template,
        id=f"zz-new-{n:04d}",
        urgent=True,
        created_at=datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        submitted_at=datetime(2001, 1, 1, tzinfo=UTC) - timedelta(minutes=n),
        issued_at=datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        assignments=(),
    )


def _due_first(template: Item, n: int) -> Item:
    """A copy of ``template`` whose assignments are due before every corpus row's."""
    early = date(2001, 1, 1) - timedelta(days=n)
    assignments = tuple(
        attrs.evolve(a, id=f"zz-new-{n:04d}-{a.id}", due=early) for a in template.assignments
    )
    return attrs.evolve(template, id=f"zz-new-{n:04d}", assignments=assignments)


class StoreContract(SimilarityContract, TopicsContract, abc.ABC):
    """The behaviour every :class:`~qiandao.ports.store.Store` must have (docs/architecture.md).

    Subclass it in a ``Test…`` class and implement :meth:`make_store`.
    """

    interleaved_writes: ClassVar[bool] = False
    thread_count: ClassVar[int] = 4
    hypothesis_max_examples: ClassVar[int] = 30

    # --- hooks ----------------------------------------------------------------------------

    @abc.abstractmethod
    def make_store(self) -> Store:
        """A new, empty store."""

    def discard_store(self, store: Store) -> None:
        """Release a store made for one test; the default does nothing."""

    @pytest.fixture(autouse=True)
    def _contract_store_lifecycle(self) -> Iterator[None]:
        self._contract_stores: list[Store] = []
        yield
        for store in reversed(self._contract_stores):
            self.discard_store(store)

    def new_store(self) -> Store:
        """:meth:`make_store`, remembered so :meth:`discard_store` runs after the test."""
        store = self.make_store()
        if not hasattr(self, "_contract_stores"):
            self._contract_stores = []
        self._contract_stores.append(store)
        return store

    def seeded_store(
        self,
        *,
        items: Sequence[Item] = (),
        events: Sequence[Event] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> Store:
        """A new store holding ``items``, ``events`` and ``messages``, committed."""
        store = self.new_store()
        with store.unit_of_work() as uow:
            for item in items:
                uow.items.add(item)
            if events:
                uow.events.append(events)
            if messages:
                uow.outbox.add(messages)
            uow.commit()
        return store

    def property_settings(self) -> settings:
        """Hypothesis settings of the property tests (``hypothesis_max_examples`` each)."""
        return settings(
            max_examples=self.hypothesis_max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )

    def _require_interleaving(self) -> None:
        if not self.interleaved_writes:
            pytest.skip("store locks rows at write time (interleaved_writes = False)")

    def _require_threads(self) -> None:
        if self.thread_count < 2:
            pytest.skip("threaded tests disabled (thread_count < 2)")

    # --- round trips ----------------------------------------------------------------------

    def test_item_round_trip_keeps_every_field(self) -> None:
        realistic = sample_item("item-0001")
        maximal = maximal_item("item-max")
        store = self.seeded_store(items=[realistic, maximal])
        with store.unit_of_work() as uow:
            for item in (realistic, maximal):
                loaded = uow.items.get(item.id)
                assert loaded == item
                assert loaded.texts[0].body == item.texts[0].body  # emoji, quotes, '; --, %_\
                assert loaded.title == item.title
                assert loaded.published == item.published
                _aware(loaded.created_at, loaded.submitted_at, loaded.issued_at, loaded.closed_at)
                _aware(*(t.at for t in loaded.texts), *(r.at for r in loaded.reviews))
                for assignment in loaded.assignments:
                    _aware(assignment.assigned_at, assignment.rated_at)
                    _aware(*(e.decided_at for e in assignment.extensions))

    def test_item_round_trip_keeps_microseconds_and_instants_across_zones(self) -> None:
        utc = T0.astimezone(UTC)
        item = sample_item("item-utc", created_at=utc, submitted_at=T0 + timedelta(microseconds=1))
        store = self.seeded_store(items=[item])
        with store.unit_of_work() as uow:
            loaded = uow.items.get(item.id)
        assert loaded.created_at == T0
        assert loaded.submitted_at is not None
        assert loaded.submitted_at - loaded.created_at == timedelta(microseconds=1)

    def test_item_with_minimal_fields_round_trips(self) -> None:
        item = Item(
            id="item-min",
            version=1,
            jurisdiction="shengsi",
            state=ItemState.DRAFT,
            lead_author_id="member-001",
            texts=sample_item().texts[:1],
            category=sample_item().category,
            channel=sample_item().channel,
            created_at=T0,
        )
        store = self.seeded_store(items=[item])
        with store.unit_of_work() as uow:
            assert uow.items.get("item-min") == item

    def test_get_many_reads_the_items_with_these_ids(self) -> None:
        corpus = query_corpus()
        store = self.seeded_store(items=corpus)
        first, other = corpus[0], corpus[3]
        with store.unit_of_work() as uow:
            found = uow.items.get_many([other.id, "no-such-item", first.id, other.id])
            assert found == {first.id: first, other.id: other}
            assert uow.items.get_many([]) == {}
            unknown = [f"none-{n:04d}" for n in range(1_200)]  # more than one read's worth
            assert uow.items.get_many([*unknown, corpus[1].id]) == {corpus[1].id: corpus[1]}
            changed = attrs.evolve(first, version=first.version + 1, urgent=not first.urgent)
            uow.items.save(changed, first.version)  # what was read can be saved as usual
            assert uow.items.get_many([first.id]) == {first.id: changed}  # own writes seen
            with store.unit_of_work() as other_uow:
                assert other_uow.items.get_many([first.id]) == {first.id: first}
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get_many([i.id for i in corpus]) == {
                i.id: i for i in (changed if i.id == first.id else i for i in corpus)
            }

    def test_saved_item_replaces_the_stored_one(self) -> None:
        item = sample_item("item-0001", state=ItemState.HANDLING, closed_at=None)
        store = self.seeded_store(items=[item])
        changed = _bump(
            item,
            state=ItemState.REPLIED,
            texts=(*item.texts, attrs.evolve(item.texts[-1], number=3, body=NASTY_TEXT)),
            assignments=(
                *item.assignments[:2],
                attrs.evolve(item.assignments[2], state=AssignmentState.CANCELLED),
                sample_assignment("asg-0004", "unit-new", state=AssignmentState.PENDING),
            ),
            feedback=item.feedback[:1],
            reviews=(),
            opted_out=frozenset(),
            coauthor_ids=(),
            destinations=frozenset(),
            submitted_at=None,
            commission_id=None,
        )
        with store.unit_of_work() as uow:
            uow.items.save(changed, expected_version=item.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get(item.id) == changed
            assert uow.items.find(ItemQuery(unit_id="unit-new")) == [changed]
            assert uow.items.find(ItemQuery(author_id="member-002")) == []

    def test_account_round_trip_and_save(self) -> None:
        account = sample_account("member-001")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(account)
            uow.commit()
        with store.unit_of_work() as uow:
            loaded = uow.accounts.get(account.id)
            assert loaded == account
            _aware(loaded.created_at, loaded.password_changed_at, loaded.locked_until)
            locked = attrs.evolve(
                account,
                version=account.version + 1,
                status=AccountStatus.LOCKED,
                lock_reason="报告被盗：" + NASTY_TEXT,
                failed_attempts=0,
                must_change_password=True,
            )
            uow.accounts.save(locked, expected_version=account.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get(account.id) == locked

    def test_unit_commission_session_and_idempotency_round_trips(self) -> None:
        unit = sample_unit("unit-ocean")
        inactive = sample_unit("unit-old", active=False, name="旧单位 🏚️")
        commission = sample_commission("commission-01")
        session = sample_session("sha256:aa")
        record = sample_idempotency_record("member-001:" + NASTY_TEXT)
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.units.add(unit)
            uow.units.add(inactive)
            uow.commissions.add(commission)
            uow.sessions.put(session)
            uow.idempotency.add(record)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.units.get(unit.id) == unit
            assert uow.units.get(inactive.id) == inactive
            assert uow.commissions.get(commission.id) == commission
            assert uow.sessions.get(session.token_hash) == session
            assert uow.idempotency.get(record.key) == record
            _aware(uow.commissions.get(commission.id).created_at)
            loaded_session = uow.sessions.get(session.token_hash)
            assert loaded_session is not None
            _aware(loaded_session.created_at, loaded_session.last_seen)

    def test_directory_names_accounts_and_units_in_one_call(self) -> None:
        people = [
            sample_account(f"member-{n:03}", f"1380057{n:04}", real_name=f"委员{n} 'x'; --")
            for n in range(1, 4)
        ]
        departed = attrs.evolve(
            sample_account("member-009", None, real_name="离任委员"),
            status=AccountStatus.DELETED,
            password_hash=None,
            external_ids=frozenset(),
        )
        units = [sample_unit("unit-ocean"), sample_unit("unit-old", active=False, name="旧单位")]
        store = self.new_store()
        with store.unit_of_work() as uow:
            for account in (*people, departed):
                uow.accounts.add(account)
            for unit in units:
                uow.units.add(unit)
            uow.commit()
        with store.unit_of_work() as uow:
            wanted = [p.id for p in people[:2]] + [departed.id, "nobody"]
            names = uow.directory.names(wanted, ["unit-ocean", "unit-old", "no-unit"])
            assert names.accounts == {
                "member-001": people[0].real_name,
                "member-002": people[1].real_name,
                "member-009": "离任委员",  # attribution stays after departure
            }
            assert names.units == {"unit-ocean": units[0].name, "unit-old": "旧单位"}
            assert uow.directory.names([], []) == Names()
        with store.unit_of_work() as uow:  # the unit of work's own writes are named too
            uow.units.add(sample_unit("unit-new", name="新单位"))
            assert uow.directory.names((), {"unit-new"}).units == {"unit-new": "新单位"}

    def test_commission_save_is_compare_and_set(self) -> None:
        commission = sample_commission("commission-01")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.commissions.add(commission)
            uow.commit()
        linked = attrs.evolve(
            commission, version=commission.version + 1, item_ids=(*commission.item_ids, "i-9")
        )
        with store.unit_of_work() as uow:
            uow.commissions.save(linked, expected_version=commission.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.commissions.get(commission.id) == linked
        with _conflict(), store.unit_of_work() as uow:
            uow.commissions.save(
                attrs.evolve(commission, topic="过期写入", version=commission.version + 1),
                expected_version=commission.version,
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.commissions.get(commission.id) == linked

    def test_plans_round_trip_by_jurisdiction_and_year(self) -> None:
        plan = sample_plan("zhoushan", 2025)
        store = self.new_store()
        with store.unit_of_work() as uow:
            assert uow.plans.get("zhoushan", 2025) is None
            uow.plans.add(plan)
            assert uow.plans.get("zhoushan", 2025) == plan  # its own write, before commit
            uow.commit()
        with store.unit_of_work() as uow:
            uow.plans.add(sample_plan("zhoushan.dinghai", 2025))
            uow.plans.add(sample_plan("zhoushan", 2026))
            uow.rollback()  # nothing of it is ever visible
        with store.unit_of_work() as uow:
            assert uow.plans.get("zhoushan", 2025) == plan
            _aware(uow.plans.get("zhoushan", 2025).set_at)  # type: ignore[union-attr]
            assert uow.plans.get("zhoushan", 2026) is None
            assert uow.plans.of_year(2026) == []
            uow.plans.add(sample_plan("zhoushan.dinghai", 2025))
            uow.plans.add(sample_plan("zhoushan", 2026))
            uow.commit()
        with store.unit_of_work() as uow:
            found = uow.plans.of_year(2025)
            assert [p.id for p in found] == ["zhoushan.dinghai:2025", "zhoushan:2025"]
            assert found[1] == plan
            assert [p.id for p in uow.plans.of_year(2026)] == ["zhoushan:2026"]
        with _conflict(), store.unit_of_work() as uow:
            uow.plans.add(sample_plan("zhoushan", 2025, note="又一份"))
            uow.commit()

    def test_plan_save_is_compare_and_set(self) -> None:
        plan = sample_plan()
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.plans.add(plan)
            uow.commit()
        reminded = attrs.evolve(plan, version=plan.version + 1, reminded=("member-003",))
        with store.unit_of_work() as uow:
            uow.plans.save(reminded, expected_version=plan.version)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            stale = attrs.evolve(plan, version=plan.version + 1, note="过期写入")
            uow.plans.save(stale, expected_version=plan.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.plans.get(plan.jurisdiction, plan.year) == reminded
        with _stale_or_missing(), store.unit_of_work() as uow:
            uow.plans.save(sample_plan("zhoushan.putuo"), expected_version=3)
            uow.commit()

    def test_unit_save_is_compare_and_set_and_its_events_append_in_order(self) -> None:
        unit = sample_unit("unit-1")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.units.add(unit)
            uow.units.append_events([_unit_event(unit, 1, UnitEventKind.ADDED)])
            uow.commit()
        merged = attrs.evolve(unit, active=False, merged_into="unit-2", version=2)
        with store.unit_of_work() as uow:
            uow.units.save(merged, expected_version=1)
            event = _unit_event(merged, 2, UnitEventKind.MERGED, other="unit-2")
            uow.units.append_events([event])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.units.get("unit-1") == merged
            assert uow.units.events("unit-1") == [
                _unit_event(unit, 1, UnitEventKind.ADDED),
                event,
            ]
            assert uow.units.events("unit-2") == []
        with _conflict(), store.unit_of_work() as uow:
            uow.units.save(attrs.evolve(unit, name="过期写入", version=2), expected_version=1)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:  # a sequence already taken
            uow.units.append_events([_unit_event(unit, 2, UnitEventKind.RENAMED)])
            uow.commit()
        with _stale_or_missing(), store.unit_of_work() as uow:
            uow.units.save(sample_unit("unit-none", version=2), expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.units.get("unit-1") == merged
            assert len(uow.units.events("unit-1")) == 2

    def test_a_new_store_holds_the_zhoushan_jurisdictions(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            assert uow.jurisdictions.list() == sorted(ZHOUSHAN_JURISDICTIONS, key=_code)
            assert uow.jurisdictions.get("zhoushan.putuo") == Jurisdiction(
                "zhoushan.putuo", "普陀区", "zhoushan"
            )
            assert uow.jurisdictions.get("nowhere") is None
            assert uow.jurisdictions.names(["zhoushan.shengsi", "nowhere", "zhoushan"]) == {
                "zhoushan.shengsi": "嵊泗县",
                "zhoushan": "舟山市",
            }
            assert uow.jurisdictions.names([]) == {}

    def test_jurisdictions_add_and_rename_by_compare_and_set(self) -> None:
        added = Jurisdiction("zhoushan.xinqu", "新区 " + NASTY_TEXT[:40], "zhoushan")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.jurisdictions.add(added)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.jurisdictions.add(Jurisdiction("zhoushan.xinqu", "重复"))
            uow.commit()
        renamed = attrs.evolve(added, name="舟山群岛新区", version=2)
        with store.unit_of_work() as uow:
            uow.jurisdictions.save(renamed, expected_version=1)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.jurisdictions.save(attrs.evolve(added, name="过期", version=2), 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.jurisdictions.get("zhoushan.xinqu") == renamed
            assert [j.code for j in uow.jurisdictions.list()] == sorted(
                [*(j.code for j in ZHOUSHAN_JURISDICTIONS), "zhoushan.xinqu"]
            )
            assert uow.jurisdictions.names(["zhoushan.xinqu"]) == {"zhoushan.xinqu": "舟山群岛新区"}

    def test_lists_filter_by_jurisdiction_in_id_order(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            for unit_id, jurisdiction in (
                ("u-3", "zhoushan"),
                ("u-1", "dinghai"),
                ("u-2", "zhoushan"),
            ):
                uow.units.add(sample_unit(unit_id, jurisdiction=jurisdiction))
                uow.commissions.add(sample_commission(f"k-{unit_id}", jurisdiction=jurisdiction))
                uow.accounts.add(
                    sample_account(f"a-{unit_id}", phone=None, jurisdiction=jurisdiction)
                )
            uow.commit()
        with store.unit_of_work() as uow:
            assert [u.id for u in uow.units.list()] == ["u-1", "u-2", "u-3"]
            assert [u.id for u in uow.units.list("zhoushan")] == ["u-2", "u-3"]
            assert uow.units.list("nowhere") == []
            assert [c.id for c in uow.commissions.list("zhoushan")] == ["k-u-2", "k-u-3"]
            assert [c.id for c in uow.commissions.list()] == ["k-u-1", "k-u-2", "k-u-3"]
            assert [a.id for a in uow.accounts.list("dinghai")] == ["a-u-1"]
            assert [a.id for a in uow.accounts.list()] == ["a-u-1", "a-u-2", "a-u-3"]

    # --- not found ------------------------------------------------------------------------

    def test_unknown_ids_are_not_found(self) -> None:
        store = self.seeded_store(items=[sample_item("item-0001")])
        with store.unit_of_work() as uow:
            with _not_found():
                uow.items.get("item-9999")
            with _not_found():
                uow.accounts.get("nobody")
            with _not_found():
                uow.units.get("no-unit")
            with _not_found():
                uow.commissions.get("no-commission")
            with _not_found():
                uow.items.get("item-0001' OR '1'='1")
            assert uow.sessions.get("no-token") is None
            assert uow.idempotency.get("no-key") is None
            assert uow.accounts.by_phone("13900000000") is None
            assert uow.accounts.by_external("zzd", "nobody") is None
            assert uow.events.for_item("item-9999") == []

    def test_saving_an_unknown_row_fails(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            with _stale_or_missing():
                uow.items.save(sample_item("ghost"), expected_version=16)
            with _stale_or_missing():
                uow.accounts.save(sample_account("ghost"), expected_version=2)
            with _stale_or_missing():
                uow.commissions.save(sample_commission("ghost"), expected_version=1)

    # --- compare-and-set and duplicates ---------------------------------------------------

    def test_stale_item_save_is_a_conflict_and_changes_nothing(self) -> None:
        item = sample_item("item-0001")
        store = self.seeded_store(items=[item])
        with store.unit_of_work() as uow:
            uow.items.save(_bump(item, sector="第一次"), expected_version=item.version)
            uow.commit()
        stale = _bump(item, sector="过期")
        with _conflict(), store.unit_of_work() as uow:
            uow.items.save(stale, expected_version=item.version)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.items.save(stale, expected_version=item.version + 5)  # from the future
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get(item.id) == _bump(item, sector="第一次")

    def test_stale_account_save_is_a_conflict(self) -> None:
        account = sample_account("member-001")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(account)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.accounts.save(
                attrs.evolve(account, version=account.version + 1, failed_attempts=3),
                expected_version=account.version,
            )
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.accounts.save(
                attrs.evolve(account, version=account.version + 1, real_name="过期"),
                expected_version=account.version,
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get(account.id).failed_attempts == 3

    def _store_with_accounts(self, *accounts: Account) -> Store:
        """A new store holding ``accounts``."""
        store = self.new_store()
        with store.unit_of_work() as uow:
            for account in accounts:
                uow.accounts.add(account)
            uow.commit()
        return store

    def test_count_failure_counts_up_to_the_limit_with_the_version(self) -> None:
        account = sample_account("member-001", failed_attempts=0)
        theft = sample_account(
            "member-002", "13800000002", status=AccountStatus.LOCKED, locked_until=None
        )
        store = self._store_with_accounts(account, theft)
        with store.unit_of_work() as uow:
            assert uow.accounts.count_failure(account.id, 3) == 1  # rolled back below
        with store.unit_of_work() as uow:
            counts = [uow.accounts.count_failure(account.id, 3) for _ in range(4)]
            assert uow.accounts.count_failure(theft.id, 3) is None  # not active: not counted
            uow.commit()
        assert counts == [1, 2, 3, None]
        with store.unit_of_work() as uow:
            stored = uow.accounts.get(account.id)
            assert uow.accounts.get(theft.id) == theft
        assert stored == attrs.evolve(account, failed_attempts=3, version=account.version + 3)
        with _conflict(), store.unit_of_work() as uow:  # a save read before the counts is stale
            uow.accounts.save(
                attrs.evolve(account, version=account.version + 1, failed_attempts=0),
                expected_version=account.version,
            )
            uow.commit()
        with _not_found(), store.unit_of_work() as uow:
            uow.accounts.count_failure("ghost", 3)

    def test_threads_counting_failures_lose_none_and_pass_no_limit(self) -> None:
        self._require_threads()
        account = sample_account("member-001", failed_attempts=0)
        store = self._store_with_accounts(account)
        count = self.thread_count
        barrier = threading.Barrier(count)
        outcomes: list[object] = [None] * count

        def counter(index: int) -> None:
            try:
                barrier.wait(timeout=JOIN_SECONDS)
                with store.unit_of_work() as uow:
                    outcomes[index] = uow.accounts.count_failure(account.id, count - 1)
                    uow.commit()
            except BaseException as exc:  # reported below
                outcomes[index] = exc

        run_threads(counter, count)
        assert sorted(map(str, outcomes)) == sorted([*map(str, range(1, count)), "None"]), outcomes
        with store.unit_of_work() as uow:
            stored = uow.accounts.get(account.id)
        assert (stored.failed_attempts, stored.version) == (count - 1, account.version + count - 1)

    def test_adding_an_existing_id_is_a_conflict(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.items.add(sample_item("item-0001"))
            uow.units.add(sample_unit("unit-1"))
            uow.commissions.add(sample_commission("k-1"))
            uow.accounts.add(sample_account("acc-1", phone="13800000001"))
            uow.idempotency.add(sample_idempotency_record("key-1"))
            uow.commit()
        attempts: list[Callable[[UnitOfWork], None]] = [
            lambda u: u.items.add(sample_item("item-0001", sector="另一条")),
            lambda u: u.units.add(sample_unit("unit-1", name="另一个")),
            lambda u: u.commissions.add(sample_commission("k-1", topic="另一个")),
            lambda u: u.accounts.add(sample_account("acc-1", phone="13800000002")),
            lambda u: u.idempotency.add(sample_idempotency_record("key-1", result_id="x")),
        ]
        for attempt in attempts:
            with _conflict(), store.unit_of_work() as uow:
                attempt(uow)
                uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get("item-0001") == sample_item("item-0001")
            assert uow.units.get("unit-1") == sample_unit("unit-1")
            assert uow.commissions.get("k-1") == sample_commission("k-1")
            assert uow.accounts.get("acc-1").phone == "13800000001"
            assert uow.accounts.by_phone("13800000002") is None
            assert uow.idempotency.get("key-1") == sample_idempotency_record("key-1")

    def test_adding_the_same_id_twice_in_one_unit_of_work_is_a_conflict(self) -> None:
        store = self.new_store()
        with _conflict(), store.unit_of_work() as uow:
            uow.items.add(sample_item("item-0001"))
            uow.items.add(sample_item("item-0001"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.find(ItemQuery()) == []

    def test_racing_units_of_work_the_second_commit_fails_and_changes_nothing(self) -> None:
        item = sample_item("item-0001")
        store = self.seeded_store(items=[item], events=sample_events(item)[:1])
        with store.unit_of_work() as first, store.unit_of_work() as second:
            mine = first.items.get(item.id)
            theirs = second.items.get(item.id)
            first.items.save(_bump(mine, sector="先提交"), expected_version=mine.version)
            first.events.append([_event(item, 2, "evt-first")])
            first.commit()
            with _conflict():
                second.items.save(_bump(theirs, sector="后提交"), expected_version=theirs.version)
                second.events.append([_event(item, 2, "evt-second")])
                second.outbox.add([sample_outbox_message("evt-second")])
                second.accounts.add(sample_account("acc-late"))
                second.units.add(sample_unit("unit-late"))
                second.commit()
        self._assert_first_writer_won(store, item)

    def test_interleaved_units_of_work_the_second_commit_fails(self) -> None:
        self._require_interleaving()
        item = sample_item("item-0001")
        store = self.seeded_store(items=[item], events=sample_events(item)[:1])
        with store.unit_of_work() as first, store.unit_of_work() as second:
            mine = first.items.get(item.id)
            theirs = second.items.get(item.id)
            first.items.save(_bump(mine, sector="先提交"), expected_version=mine.version)
            first.events.append([_event(item, 2, "evt-first")])
            second.items.save(_bump(theirs, sector="后提交"), expected_version=theirs.version)
            second.events.append([_event(item, 2, "evt-second")])
            second.outbox.add([sample_outbox_message("evt-second")])
            second.accounts.add(sample_account("acc-late"))
            second.units.add(sample_unit("unit-late"))
            first.commit()
            with _conflict():
                second.commit()
        self._assert_first_writer_won(store, item)

    def _assert_first_writer_won(self, store: Store, item: Item) -> None:
        with store.unit_of_work() as uow:
            assert uow.items.get(item.id) == _bump(item, sector="先提交")
            assert [e.id for e in uow.events.for_item(item.id)] == [
                sample_events(item)[0].id,
                "evt-first",
            ]
            assert uow.outbox.pending(100) == []
            with _not_found():
                uow.accounts.get("acc-late")
            with _not_found():
                uow.units.get("unit-late")

    def test_interleaved_adds_of_the_same_id_the_second_commit_fails(self) -> None:
        self._require_interleaving()
        store = self.new_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.items.add(sample_item("item-0001", sector="先"))
            second.items.add(sample_item("item-0001", sector="后"))
            second.outbox.add([sample_outbox_message("evt-late")])
            first.commit()
            with _conflict():
                second.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get("item-0001").sector == "先"
            assert uow.outbox.pending(10) == []

    def test_threads_racing_on_one_item_exactly_one_wins(self) -> None:
        self._require_threads()
        item = sample_item("item-race")
        store = self.seeded_store(items=[item], events=sample_events(item)[:1])
        count = self.thread_count
        barrier = threading.Barrier(count)
        outcomes: list[object] = [None] * count

        def writer(index: int) -> None:
            try:
                with store.unit_of_work() as uow:
                    current = uow.items.get(item.id)
                    barrier.wait(timeout=JOIN_SECONDS)
                    uow.items.save(
                        _bump(current, sector=f"writer-{index}"), expected_version=current.version
                    )
                    uow.events.append([_event(item, 2, f"evt-writer-{index}")])
                    uow.outbox.add([sample_outbox_message(f"evt-writer-{index}")])
                    uow.commit()
                outcomes[index] = "won"
            except ConcurrencyConflict as exc:
                outcomes[index] = "conflict" if exc.code == "store.conflict" else exc
            except BaseException as exc:  # reported below
                outcomes[index] = exc

        run_threads(writer, count)
        assert sorted(map(str, outcomes)) == ["conflict"] * (count - 1) + ["won"], outcomes
        winner = outcomes.index("won")
        with store.unit_of_work() as uow:
            assert uow.items.get(item.id) == _bump(item, sector=f"writer-{winner}")
            assert [e.id for e in uow.events.for_item(item.id)][1:] == [f"evt-writer-{winner}"]
            assert [m.notice.id for m in uow.outbox.pending(100)] == [f"evt-writer-{winner}"]

    def test_threads_writing_different_items_all_succeed(self) -> None:
        self._require_threads()
        store = self.new_store()
        per_thread = 5
        errors: list[BaseException] = []

        def writer(index: int) -> None:
            try:
                for n in range(per_thread):
                    item = sample_item(f"item-{index}-{n}", urgent=n % 2 == 0)
                    with store.unit_of_work() as uow:
                        uow.items.add(item)
                        uow.events.append(sample_events(item)[:2])
                        uow.outbox.add([sample_outbox_message(f"evt-{index}-{n}")])
                        uow.commit()
                    with store.unit_of_work() as uow:
                        uow.items.find(ItemQuery(order=ItemOrder.URGENT_FIRST, limit=10))
                        uow.items.count(ItemQuery())
            except BaseException as exc:  # reported below
                errors.append(exc)

        run_threads(writer, self.thread_count)
        assert errors == []
        with store.unit_of_work() as uow:
            assert uow.items.count(ItemQuery()) == self.thread_count * per_thread
            assert len(uow.outbox.pending(1000)) == self.thread_count * per_thread
            for index in range(self.thread_count):
                assert len(uow.events.for_item(f"item-{index}-0")) == 2

    # --- events ---------------------------------------------------------------------------

    def test_events_round_trip_in_sequence_order(self) -> None:
        item = sample_item("item-0001")
        other = sample_item("item-0002")
        events = sample_events(item)
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.items.add(item)
            uow.items.add(other)
            uow.events.append(events[:2])
            uow.events.append(sample_events(other)[:1])
            uow.events.append(events[2:4])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.events.append(events[4:])
            uow.events.append(sample_events(other)[1:3])
            uow.commit()
        with store.unit_of_work() as uow:
            loaded = uow.events.for_item(item.id)
            assert loaded == events
            assert [e.sequence for e in loaded] == [1, 2, 3, 4, 5, 6]
            assert uow.events.for_item(other.id) == sample_events(other)[:3]
            for event in loaded:
                _aware(event.at)
            drafted = loaded[0].change.item
            assert drafted is not None
            assert drafted == events[0].change.item

    def test_duplicate_event_sequence_is_a_conflict(self) -> None:
        item = sample_item("item-0001")
        events = sample_events(item)
        store = self.seeded_store(items=[item], events=events[:2])
        with _conflict(), store.unit_of_work() as uow:
            uow.events.append([_event(item, 2, "evt-again")])
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.events.append([_event(item, 3, "evt-a"), _event(item, 3, "evt-b")])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.events.for_item(item.id) == events[:2]

    def test_racing_event_appends_the_second_commit_fails(self) -> None:
        item = sample_item("item-0001")
        events = sample_events(item)
        store = self.seeded_store(items=[item], events=events[:1])
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert len(second.events.for_item(item.id)) == 1
            first.events.append([_event(item, 2, "evt-first")])
            first.commit()
            with _conflict():
                second.events.append([_event(item, 2, "evt-second")])
                second.commit()
        with store.unit_of_work() as uow:
            assert [e.id for e in uow.events.for_item(item.id)] == [events[0].id, "evt-first"]

    # --- the store-wide event log (the change feed) ---------------------------------------

    def _log(self, store: Store, *, after: int = 0, page: int = 1000) -> list[LoggedEvent]:
        with store.unit_of_work() as uow:
            return uow.events.since(after, page)

    def test_event_positions_follow_commit_order_and_page_by_position(self) -> None:
        first, second = sample_item("item-0001"), sample_item("item-0002")
        a, b = sample_events(first), sample_events(second)
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.items.add(first)
            uow.items.add(second)
            uow.events.append(a[:2])
            uow.events.append(b[:1])
            uow.commit()
        with store.unit_of_work() as early, store.unit_of_work() as late:
            late.events.append(a[2:4])  # appended first, committed last
            early.events.append(b[1:3])
            early.commit()
            late.commit()
        logged = self._log(store)
        assert [entry.event for entry in logged] == [*a[:2], b[0], *b[1:3], *a[2:4]]
        positions = [entry.position for entry in logged]
        assert positions == sorted(set(positions)) and positions[0] >= 1
        for entry in logged:
            _aware(entry.event.at)
        pages: list[LoggedEvent] = []
        after = 0
        while page := self._log(store, after=after, page=2):
            assert len(page) <= 2
            pages += page
            after = page[-1].position
        assert pages == logged
        assert self._log(store, after=positions[-1]) == []
        assert self._log(store, after=positions[2], page=1) == [logged[3]]

    def test_uncommitted_and_rolled_back_events_take_no_place_in_the_log(self) -> None:
        item = sample_item("item-0001")
        events = sample_events(item)
        store = self.seeded_store(items=[item], events=events[:1])
        with store.unit_of_work() as uow:
            uow.events.append(events[1:3])
            assert [e.event for e in self._log(store)] == events[:1]  # not committed yet
            uow.rollback()
        with pytest.raises(_Boom), store.unit_of_work() as uow:
            uow.events.append(events[1:2])
            raise _Boom
        with store.unit_of_work() as uow:
            uow.events.append(events[1:3])
            uow.commit()
        logged = self._log(store)
        assert [e.event for e in logged] == events[:3]
        assert [e.position for e in logged] == sorted({e.position for e in logged})

    def test_a_follower_reading_while_threads_commit_sees_every_event_once_in_order(
        self,
    ) -> None:
        """Writers commit at random moments (a pause between append and commit) while a
        follower pages through the log by its last position: it must see every committed event
        exactly once, in position order, even where a store numbers events before commit."""
        self._require_threads()
        store = self.new_store()
        per_thread = 6
        errors: list[BaseException] = []
        seen: list[LoggedEvent] = []

        def writer(index: int) -> None:
            pause = itertools.cycle([0.0, 0.003, 0.0, 0.001, 0.006])
            try:
                for n in range(per_thread):
                    item = sample_item(f"item-{index}-{n}")
                    with store.unit_of_work() as uow:
                        uow.items.add(item)
                        uow.events.append(sample_events(item)[:2])
                        time.sleep(next(pause) * (index + 1) / 2)
                        uow.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)

        after = 0

        def follow(finished: bool) -> bool:
            nonlocal after
            page = self._log(store, after=after, page=5)
            seen.extend(page)
            if page:
                after = page[-1].position
            return finished and not page  # a last pass after every writer ended

        run_threads_while_polling(writer, self.thread_count, follow)
        assert errors == []
        logged = self._log(store, page=10_000)
        assert len(logged) == self.thread_count * per_thread * 2
        assert seen == logged  # each once, in position order, none skipped
        ids = [entry.event.id for entry in seen]
        assert len(set(ids)) == len(ids)

    # --- all or nothing -------------------------------------------------------------------

    def _stage_everything(self, uow: UnitOfWork, tag: str = "") -> None:
        item = sample_item(f"item-staged{tag}")
        uow.items.add(item)
        uow.events.append(sample_events(item)[:3])
        uow.outbox.add([sample_outbox_message(f"evt-staged{tag}")])
        uow.accounts.add(sample_account(f"acc-staged{tag}", phone=f"1380000{tag or '0000'}"))
        uow.units.add(sample_unit(f"unit-staged{tag}"))
        uow.commissions.add(sample_commission(f"k-staged{tag}"))
        uow.sessions.put(sample_session(f"token-staged{tag}", f"acc-staged{tag}"))
        uow.idempotency.add(sample_idempotency_record(f"key-staged{tag}"))

    def _assert_nothing_staged(self, uow: UnitOfWork, tag: str = "") -> None:
        with _not_found():
            uow.items.get(f"item-staged{tag}")
        assert uow.items.find(ItemQuery()) == []
        assert uow.items.count(ItemQuery()) == 0
        assert uow.items.assignments(AssignmentQuery()) == []
        assert uow.events.for_item(f"item-staged{tag}") == []
        assert uow.events.since(0, 100) == []
        assert uow.outbox.pending(100) == []
        with _not_found():
            uow.accounts.get(f"acc-staged{tag}")
        assert uow.accounts.by_phone(f"1380000{tag or '0000'}") is None
        assert uow.accounts.by_external("zzd", f"zzd-acc-staged{tag}") is None
        assert uow.accounts.list() == []
        assert uow.units.list() == []
        assert uow.commissions.list() == []
        assert uow.sessions.get(f"token-staged{tag}") is None
        assert uow.idempotency.get(f"key-staged{tag}") is None

    def test_a_unit_of_work_that_raises_leaves_nothing(self) -> None:
        store = self.new_store()
        with pytest.raises(_Boom), store.unit_of_work() as uow:
            self._stage_everything(uow)
            raise _Boom
        with store.unit_of_work() as uow:
            self._assert_nothing_staged(uow)

    def test_a_store_error_mid_way_leaves_nothing(self) -> None:
        store = self.new_store()
        with _conflict(), store.unit_of_work() as uow:
            self._stage_everything(uow)
            uow.items.add(sample_item("item-staged"))  # the store refuses half-way
            uow.commit()
        with store.unit_of_work() as uow:
            self._assert_nothing_staged(uow)

    def test_an_uncommitted_unit_of_work_leaves_nothing(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            self._stage_everything(uow)
        with store.unit_of_work() as uow:
            self._assert_nothing_staged(uow)

    def test_rollback_drops_staged_writes(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            self._stage_everything(uow)
            uow.rollback()
            self._assert_nothing_staged(uow)
        with store.unit_of_work() as uow:
            self._assert_nothing_staged(uow)

    def test_reads_see_own_staged_writes_and_others_do_not(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            self._stage_everything(uow)
            item = uow.items.get("item-staged")
            assert item == sample_item("item-staged")
            assert uow.items.find(ItemQuery()) == [item]
            assert uow.items.count(ItemQuery(jurisdiction="zhoushan")) == 1
            assert _pairs(uow.items.assignments(AssignmentQuery(unit_id="unit-ocean"))) == [
                ("item-staged", "asg-0001")
            ]
            assert len(uow.events.for_item("item-staged")) == 3
            assert [m.notice.id for m in uow.outbox.pending(10)] == ["evt-staged"]
            assert uow.accounts.get("acc-staged").id == "acc-staged"
            assert uow.accounts.by_phone("13800000000") is not None
            assert uow.accounts.by_external("zzd", "zzd-acc-staged") is not None
            assert [u.id for u in uow.units.list()] == ["unit-staged"]
            assert uow.commissions.get("k-staged").id == "k-staged"
            assert uow.sessions.get("token-staged") is not None
            assert uow.idempotency.get("key-staged") is not None
            saved = _bump(item, state=ItemState.CLOSED, sector="再改")
            uow.items.save(saved, expected_version=item.version)
            assert uow.items.get("item-staged") == saved
            with store.unit_of_work() as other:
                self._assert_nothing_staged(other)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.items.get("item-staged") == saved
            assert uow.accounts.by_phone("13800000000") is not None

    # --- outbox ---------------------------------------------------------------------------

    def test_outbox_round_trip_and_pending_in_recorded_order(self) -> None:
        store = self.new_store()
        late = sample_outbox_message("evt-late", recorded_at=T0 + timedelta(hours=3))
        early = sample_outbox_message(
            "evt-early",
            recorded_at=T0,
            notice=sample_notice("evt-early", item_id=None, recipients=("unit:u-1",)),
        )
        middle = sample_outbox_message("evt-middle", recorded_at=T0 + timedelta(hours=1))
        with store.unit_of_work() as uow:
            uow.outbox.add([late, early])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.add([middle])
            uow.commit()
        with store.unit_of_work() as uow:
            pending = uow.outbox.pending(100)
            assert pending == [early, middle, late]
            _aware(*(m.recorded_at for m in pending), *(m.notice.at for m in pending))
            assert uow.outbox.pending(2) == [early, middle]
            assert uow.outbox.pending(0) == []

    def test_outbox_keeps_insertion_order_within_one_instant(self) -> None:
        # One command records several notices at the same instant; they leave in that order.
        store = self.new_store()
        ids = ["evt-c", "evt-a", "evt-b", "evt-0"]
        with store.unit_of_work() as uow:
            uow.outbox.add([sample_outbox_message(i) for i in ids[:3]])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.add([sample_outbox_message(ids[3])])
            uow.commit()
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.pending(100)] == ids

    def test_outbox_mark_dispatched_and_failed(self) -> None:
        messages = _minute_apart(4)
        store = self.seeded_store(messages=messages)
        later = T0 + timedelta(hours=2)
        with store.unit_of_work() as uow:
            uow.outbox.mark_dispatched("evt-1", T0 + timedelta(hours=1))
            uow.outbox.mark_failed("evt-2", T0 + timedelta(hours=1), later, "TimeoutError")
            uow.commit()
        with store.unit_of_work() as uow:
            pending = uow.outbox.pending(100)
            # by next attempt: a failed notice waits behind the new ones until its time
            assert [m.notice.id for m in pending] == ["evt-0", "evt-3", "evt-2"]
            assert [m.attempts for m in pending] == [0, 0, 1]
            failed = pending[2]
            assert (failed.next_attempt_at, failed.last_error) == (later, "TimeoutError")
            assert failed.last_attempt_at == T0 + timedelta(hours=1)
            assert failed.state is OutboxState.PENDING and failed.notice == messages[2].notice
            _aware(failed.next_attempt_at, failed.last_attempt_at)
            uow.outbox.mark_failed("evt-2", later, None)
            uow.outbox.mark_dispatched("evt-0", later)
            assert [m.notice.id for m in uow.outbox.pending(100)] == ["evt-3"]
        with store.unit_of_work() as uow:  # not committed: unchanged
            assert [m.attempts for m in uow.outbox.pending(100)] == [0, 0, 1]
            uow.outbox.mark_failed("evt-2", later, None, "ConnectionError")  # no attempt left
            uow.commit()
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.pending(100)] == ["evt-0", "evt-3"]
            (dead,) = uow.outbox.list_failed(10)
            assert (dead.notice.id, dead.state, dead.attempts) == ("evt-2", OutboxState.DEAD, 2)
            assert dead.last_error == "ConnectionError"
            uow.outbox.mark_failed("evt-2", later, later)  # a dead notice stays dead
            uow.outbox.mark_failed("evt-1", later, later)  # a sent one stays sent
            uow.commit()
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.list_failed(10)] == ["evt-2"]
            assert [m.notice.id for m in uow.outbox.pending(100)] == ["evt-0", "evt-3"]
            with pytest.raises(NotFound):
                uow.outbox.mark_dispatched("evt-none", later)
            with pytest.raises(NotFound):
                uow.outbox.mark_failed("evt-none", later, None)

    def test_outbox_marks_a_batch_dispatched_at_once(self) -> None:
        messages = _minute_apart(4)
        store = self.seeded_store(messages=messages)
        now = T0 + timedelta(minutes=10)
        later = T0 + timedelta(hours=1)
        with store.unit_of_work() as uow:
            uow.outbox.claim(10, now, timedelta(minutes=5), "w1")
            batch = ["evt-2", "evt-0", "evt-none", "evt-2"]  # an unknown id and a repeat: skipped
            assert uow.outbox.mark_all_dispatched(batch, later) == 2
            assert uow.outbox.mark_all_dispatched([], later) == 0
            uow.commit()
        with store.unit_of_work() as uow:
            pending = uow.outbox.pending(100)
            assert [m.notice.id for m in pending] == ["evt-1", "evt-3"]
            assert all(m.claimed_by == "w1" for m in pending)  # the others' leases run on
            assert uow.outbox.release("w1") == 2  # the marked ones' leases ended
        with store.unit_of_work() as uow:  # not committed: nothing marked
            assert uow.outbox.mark_all_dispatched(["evt-1"], later) == 1
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.pending(100)] == ["evt-1", "evt-3"]

    def test_outbox_claim_takes_due_unleased_notices_under_a_lease(self) -> None:
        messages = _minute_apart(5)
        store = self.seeded_store(messages=messages)
        now = T0 + timedelta(minutes=10)
        lease = timedelta(minutes=5)
        with store.unit_of_work() as uow:
            uow.outbox.mark_failed("evt-0", now, now + timedelta(minutes=1))  # not due yet
            uow.commit()
        with store.unit_of_work() as uow:
            first = uow.outbox.claim(2, now, lease, "disp-a")
            uow.commit()
        assert [m.notice.id for m in first] == ["evt-1", "evt-2"]
        assert {(m.claimed_by, m.lease_until) for m in first} == {("disp-a", now + lease)}
        assert first[0].notice == messages[1].notice
        with store.unit_of_work() as uow:  # the leased ones are skipped
            second = uow.outbox.claim(10, now, lease, "disp-b")
            uow.commit()
        assert [m.notice.id for m in second] == ["evt-3", "evt-4"]
        with store.unit_of_work() as uow:
            assert uow.outbox.claim(10, now, lease, "disp-c") == []
            assert len(uow.outbox.pending(10)) == 5  # claimed notices are still pending
        later = now + timedelta(minutes=1)
        with store.unit_of_work() as uow:  # the failed one is due now; b stops and lets go
            assert uow.outbox.release("disp-b", ["evt-3", "evt-1", "evt-none"]) == 1
            assert uow.outbox.release("disp-b", []) == 0
            assert uow.outbox.release("disp-b") == 1
            uow.commit()
        with store.unit_of_work() as uow:
            third = uow.outbox.claim(10, later, lease, "disp-c")
            uow.commit()
        assert [m.notice.id for m in third] == ["evt-3", "evt-4", "evt-0"]
        with store.unit_of_work() as uow:  # a's lease ran out (a crashed): d takes its notices
            uow.outbox.mark_dispatched("evt-3", later)
            fourth = uow.outbox.claim(10, now + lease, lease, "disp-d")
            uow.commit()
        assert [m.notice.id for m in fourth] == ["evt-1", "evt-2"]
        with store.unit_of_work() as uow:
            assert uow.outbox.release("disp-a") == 0  # a's claims were taken over
            holders = {m.notice.id: m.claimed_by for m in uow.outbox.pending(10)}
            assert holders == {
                "evt-0": "disp-c",
                "evt-4": "disp-c",
                "evt-1": "disp-d",
                "evt-2": "disp-d",
            }
            assert uow.outbox.claim(0, now + lease, lease, "disp-e") == []

    def test_outbox_retry_and_discard_a_dead_notice(self) -> None:
        messages = [sample_outbox_message(f"evt-{n}") for n in range(3)]
        store = self.seeded_store(messages=messages)
        at = T0 + timedelta(days=1)
        with store.unit_of_work() as uow:
            uow.outbox.mark_failed("evt-0", T0 + timedelta(hours=1), None, "OSError")
            uow.outbox.mark_failed("evt-1", T0 + timedelta(hours=2), None, "OSError")
            uow.outbox.mark_dispatched("evt-2", T0)
            uow.commit()
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.list_failed(10)] == ["evt-1", "evt-0"]
            assert [m.notice.id for m in uow.outbox.list_failed(1)] == ["evt-1"]
            assert uow.outbox.retry("evt-0", at) is True
            assert uow.outbox.discard("evt-1") is True
            assert uow.outbox.retry("evt-2", at) is False  # sent: nothing to retry
            assert uow.outbox.discard("evt-2") is False
            with pytest.raises(NotFound):
                uow.outbox.retry("evt-none", at)
            with pytest.raises(NotFound):
                uow.outbox.discard("evt-none")
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.list_failed(10) == []
            (again,) = uow.outbox.pending(10)
            assert (again.notice.id, again.attempts, again.next_attempt_at) == ("evt-0", 0, at)
            assert again.state is OutboxState.PENDING
            assert [m.notice.id for m in uow.outbox.claim(10, at, timedelta(1), "d")] == ["evt-0"]
            assert uow.outbox.discard("evt-1") is False  # discarded already
            assert uow.outbox.retry("evt-1", at) is False
            uow.commit()

    def test_outbox_retry_keeps_a_running_lease(self) -> None:
        """An operator's retry of a notice a dispatcher is sending leaves it claimed until the
        lease ends: another dispatcher claiming it at once would send it twice."""
        store = self.seeded_store(messages=[sample_outbox_message("evt-0")])
        now, lease = T0 + timedelta(days=10), timedelta(minutes=5)  # due by then
        with store.unit_of_work() as uow:
            assert [m.notice.id for m in uow.outbox.claim(1, now, lease, "disp-a")] == ["evt-0"]
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.retry("evt-0", now) is True
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.claim(1, now, lease, "disp-b") == []
            later = uow.outbox.claim(1, now + lease, lease, "disp-b")
            assert [m.notice.id for m in later] == ["evt-0"]
            uow.commit()

    def test_threads_claiming_the_outbox_never_share_a_notice(self) -> None:
        self._require_threads()
        total = 40
        messages = [
            sample_outbox_message(f"evt-{n:03d}", recorded_at=T0 + timedelta(seconds=n))
            for n in range(total)
        ]
        store = self.seeded_store(messages=messages)
        claimed: list[list[str]] = [[] for _ in range(self.thread_count)]
        errors: list[BaseException] = []
        now = T0 + timedelta(hours=1)

        def claimer(index: int) -> None:
            try:
                while True:
                    try:
                        with store.unit_of_work() as uow:
                            batch = uow.outbox.claim(3, now, timedelta(hours=1), f"d-{index}")
                            uow.commit()
                    except ConcurrencyConflict as conflict:
                        if conflict.details.get("retryable"):
                            continue
                        raise
                    if not batch:
                        return
                    claimed[index] += [m.notice.id for m in batch]
            except BaseException as exc:  # reported below
                errors.append(exc)

        run_threads(claimer, self.thread_count)
        assert errors == []
        every = [notice_id for batch in claimed for notice_id in batch]
        assert sorted(every) == [m.notice.id for m in messages]  # each once, none left over

    # --- leases ---------------------------------------------------------------------------

    def test_a_named_lease_has_one_holder_until_it_runs_out(self) -> None:
        store = self.new_store()
        until = T0 + timedelta(minutes=30)

        def acquire(owner: str, now: datetime, ends: datetime = until) -> bool:
            with store.unit_of_work() as uow:
                held = uow.leases.acquire("run_due_jobs", owner, now, ends)
                uow.commit()
            return held

        def release(owner: str) -> None:
            with store.unit_of_work() as uow:
                uow.leases.release("run_due_jobs", owner)
                uow.commit()

        assert acquire("a", T0) is True
        assert acquire("b", T0 + timedelta(minutes=1)) is False
        assert acquire("a", T0 + timedelta(minutes=1), until + timedelta(minutes=5)) is True
        assert acquire("b", until) is False  # a extended its lease
        with store.unit_of_work() as uow:  # not committed: nothing taken
            assert uow.leases.acquire("other", "b", T0, until) is True
        release("b")  # not b's: nothing changes
        assert acquire("b", T0 + timedelta(minutes=2)) is False
        release("a")
        assert acquire("b", T0 + timedelta(minutes=2)) is True
        assert acquire("c", until + timedelta(seconds=1)) is True  # b's lease ran out
        with store.unit_of_work() as uow:
            assert uow.leases.acquire("other", "b", T0, until) is True
            uow.commit()

    def test_outbox_adding_the_same_notice_twice_keeps_one(self) -> None:
        first = sample_outbox_message("evt-1")
        repeat = sample_outbox_message(
            "evt-1", recorded_at=T0 + timedelta(days=1), notice=sample_notice("evt-1", text="重复")
        )
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.outbox.add([first, repeat])
            uow.outbox.add([first])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.outbox.add([repeat])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.pending(100) == [first]
            uow.outbox.mark_dispatched("evt-1", T0 + timedelta(hours=1))
            uow.commit()
        with store.unit_of_work() as uow:  # a delivered notice is not resurrected
            uow.outbox.add([first])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.outbox.pending(100) == []

    # --- accounts -------------------------------------------------------------------------

    def test_accounts_by_phone_and_by_external(self) -> None:
        alice = sample_account("acc-a", phone="13800000001")
        bob = sample_account(
            "acc-b",
            phone="13800000002",
            external_ids=frozenset({attrs.evolve(next(iter(alice.external_ids)), subject="b")}),
        )
        store = self._store_with_accounts(alice, bob)
        with store.unit_of_work() as uow:
            assert uow.accounts.by_phone("13800000001") == alice
            assert uow.accounts.by_phone("13800000002") == bob
            assert uow.accounts.by_phone("1380000000") is None
            assert uow.accounts.by_phone("13800000001 ") is None
            assert uow.accounts.by_phone("1380000000%") is None
            for identity in alice.external_ids:
                assert uow.accounts.by_external(identity.provider, identity.subject) == alice
            assert uow.accounts.by_external("wx", "wx'_%-acc-a") == alice
            assert uow.accounts.by_external("wx", "wx'x%-acc-a") is None
            assert uow.accounts.by_external("wx", "wx'_%-acc-%") is None
            assert uow.accounts.by_external("zzd", "zzd-acc-b") is None
            for identity in bob.external_ids:
                assert uow.accounts.by_external(identity.provider, identity.subject) == bob
            assert uow.accounts.by_external("other", "zzd-acc-a") is None

    def test_duplicate_phone_is_refused(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(sample_account("acc-a", phone="13800000001"))
            uow.accounts.add(sample_account("acc-b", phone="13800000002"))
            uow.commit()
        duplicate = _refused(DuplicateAccount, codes={"account.duplicate"})
        with duplicate, store.unit_of_work() as uow:
            uow.accounts.add(sample_account("acc-c", phone="13800000001"))
            uow.commit()
        b = sample_account("acc-b", phone="13800000002")
        with (
            _refused(DuplicateAccount, codes={"account.duplicate"}),
            store.unit_of_work() as uow,
        ):
            uow.accounts.save(
                attrs.evolve(b, version=b.version + 1, phone="13800000001"),
                expected_version=b.version,
            )
            uow.commit()
        with (
            _refused(DuplicateAccount, codes={"account.duplicate"}),
            store.unit_of_work() as uow,
        ):
            uow.accounts.add(sample_account("acc-d", phone="13800000009"))
            uow.accounts.add(sample_account("acc-e", phone="13800000009"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert [a.id for a in uow.accounts.list()] == ["acc-a", "acc-b"]
            assert uow.accounts.get("acc-b").phone == "13800000002"
            assert uow.accounts.by_phone("13800000009") is None

    def test_account_grants_round_trip_in_order_and_find_their_holders(self) -> None:
        grants = (
            RoleGrant(Role.MEMBER, "zhoushan"),
            RoleGrant(Role.EDITOR, "zhoushan"),
            RoleGrant(Role.HANDLING_UNIT, "dinghai", "u-'%_"),
        )
        chair = sample_account("acc-z", phone="13800000001", grants=grants)
        member = sample_account("acc-a", phone="13800000002")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(chair)
            uow.accounts.add(member)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get("acc-z").grants == grants
            assert uow.accounts.holders(Role.MEMBER, "zhoushan") == [member, chair]
            assert uow.accounts.holders(Role.HANDLING_UNIT, "dinghai") == [chair]
            assert uow.accounts.holders(Role.EDITOR, "dinghai") == []
            assert uow.accounts.holders(Role.CHAIR, "zhoushan") == []
            fewer = attrs.evolve(chair, version=chair.version + 1, grants=grants[1:])
            uow.accounts.save(fewer, expected_version=chair.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get("acc-z").grants == grants[1:]
            assert uow.accounts.holders(Role.MEMBER, "zhoushan") == [member]
            assert uow.accounts.holders(Role.EDITOR, "zhoushan") == [fewer]

    def test_holders_leave_out_departed_accounts(self) -> None:
        """A departed (deleted) person keeps their grants for attribution but holds no role."""
        grants = (RoleGrant(Role.MEMBER, "zhoushan"), RoleGrant(Role.CHAIR, "zhoushan"))
        leaving = sample_account("acc-l", phone="13800000001", grants=grants)
        staying = sample_account("acc-s", phone="13800000002")
        locked = sample_account(
            "acc-k", phone="13800000003", status=AccountStatus.LOCKED, locked_until=None
        )
        store = self.new_store()
        with store.unit_of_work() as uow:
            for account in (leaving, staying, locked):
                uow.accounts.add(account)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.holders(Role.MEMBER, "zhoushan") == [locked, leaving, staying]
            gone = attrs.evolve(
                leaving,
                version=leaving.version + 1,
                status=AccountStatus.DELETED,
                phone=None,
                password_hash=None,
            )
            uow.accounts.save(gone, expected_version=leaving.version)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.holders(Role.MEMBER, "zhoushan") == [locked, staying]
            assert uow.accounts.holders(Role.CHAIR, "zhoushan") == []
            assert uow.accounts.get("acc-l").grants == grants

    def test_account_events_append_in_sequence_with_their_account(self) -> None:
        account = sample_account("acc-a", phone="13800000001")
        grant = account.grants[0]
        at = account.created_at

        def event(sequence: int, kind: AccountEventKind) -> AccountEvent:
            return AccountEvent("acc-a", sequence, kind, "admin 'x'", at, grant)

        first = [event(1, AccountEventKind.REGISTERED), event(2, AccountEventKind.GRANT_ADDED)]
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(account)
            uow.accounts.append_events(first)
            assert uow.accounts.events("acc-a") == first
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.events("acc-a") == first
            assert uow.accounts.events("nobody") == []
            _aware(*(e.at for e in uow.accounts.events("acc-a")))
            for wrong in (2, 4):
                with _conflict():
                    uow.accounts.append_events([event(wrong, AccountEventKind.LOCKED)])
            later = attrs.evolve(event(3, AccountEventKind.GRANT_REVOKED), grant=None)
            uow.accounts.append_events([later])
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.accounts.events("acc-a") == first
            uow.accounts.append_events([later])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.events("acc-a") == [*first, later]

    def test_grant_proposals_round_trip_filter_and_save_compare_and_set(self) -> None:
        account = sample_account("acc-a", phone="13800000001")
        other = sample_account("acc-b", phone="13800000002")
        at = account.created_at
        first = GrantProposal("p-1", 1, "acc-a", RoleGrant(Role.EDITOR, "zhoushan"), "adm", at)
        county = GrantProposal(
            "p-0",
            1,
            "acc-b",
            RoleGrant(Role.HANDLING_UNIT, "zhoushan.dinghai", "u-1"),
            "adm",
            at + timedelta(minutes=1),
        )
        later = attrs.evolve(first, id="p-2", proposed_at=at + timedelta(minutes=2))
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(account)
            uow.accounts.add(other)
            for proposal in (later, county, first):
                uow.accounts.add_proposal(proposal)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get_proposal("p-0") == county
            assert uow.accounts.proposals() == [first, county, later]  # oldest first
            assert uow.accounts.proposals("zhoushan") == [first, later]
            assert uow.accounts.proposals(account_id="acc-b") == [county]
            with _refused(NotFound, codes={"not_found"}):
                uow.accounts.get_proposal("p-9")
            with _conflict():
                uow.accounts.add_proposal(attrs.evolve(first, account_id="acc-b"))
            decided = attrs.evolve(
                first,
                version=2,
                state=ProposalState.REJECTED,
                decider_id="sec",
                decided_at=at + timedelta(hours=1),
                reason="不符合条件",
            )
            uow.accounts.save_proposal(decided, 1)
            with _conflict():
                uow.accounts.save_proposal(attrs.evolve(decided, version=3), 1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.get_proposal("p-1") == decided
            _aware(decided.decided_at, uow.accounts.get_proposal("p-1").decided_at)
            pending = uow.accounts.proposals(state=ProposalState.PENDING)
            assert pending == [county, later]
            assert uow.accounts.proposals("zhoushan", ProposalState.REJECTED, "acc-a") == [decided]

    def test_password_policy_changes_append_in_sequence_and_the_latest_is_in_force(self) -> None:
        djcp = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
        at = sample_account("acc-a").created_at
        tighter = attrs.evolve(djcp, min_length=12, max_failed_attempts=3)

        def change(sequence: int, policy: PasswordPolicy, before: PasswordPolicy) -> PolicyChange:
            return PolicyChange("zhoushan", sequence, policy, before, "sec", at)

        store = self.new_store()
        with store.unit_of_work() as uow:
            assert uow.accounts.policy("zhoushan") is None
            assert uow.accounts.policy_changes("zhoushan") == []
            uow.accounts.append_policy_change(change(1, tighter, djcp))
            uow.commit()
        with store.unit_of_work() as uow:
            for wrong in (1, 3):
                with _conflict():
                    uow.accounts.append_policy_change(change(wrong, djcp, tighter))
            uow.accounts.append_policy_change(change(2, djcp, tighter))
            assert uow.accounts.policy("zhoushan") == change(2, djcp, tighter)
            uow.rollback()
        with store.unit_of_work() as uow:
            found = uow.accounts.policy("zhoushan")
            assert found == change(1, tighter, djcp)
            assert found is not None
            _aware(found.at)
            assert uow.accounts.policy("zhoushan.dinghai") is None
            uow.accounts.append_policy_change(change(2, djcp, tighter))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.policy_changes("zhoushan") == [
                change(1, tighter, djcp),
                change(2, djcp, tighter),
            ]
            assert uow.accounts.policy("zhoushan") == change(2, djcp, tighter)

    def test_revoking_the_sessions_of_one_grant(self) -> None:
        editor, member = RoleGrant(Role.EDITOR, "zhoushan"), RoleGrant(Role.MEMBER, "zhoushan")
        store = self.new_store()
        with store.unit_of_work() as uow:
            for token, grant in (("t-e", editor), ("t-m", member), ("t-none", None)):
                uow.sessions.put(sample_session(token, "acc-a", grant=grant))
            uow.sessions.put(sample_session("t-other", "acc-b", grant=editor))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.sessions.revoke_all("acc-a", editor) == 1
            uow.commit()
        with store.unit_of_work() as uow:
            revoked = {t: _session(uow, t).revoked for t in ("t-e", "t-m", "t-none", "t-other")}
            assert revoked == {"t-e": True, "t-m": False, "t-none": False, "t-other": False}
            assert _session(uow, "t-m").grant == member
            assert uow.sessions.revoke_all("acc-a") == 2

    def test_racing_registrations_of_one_phone_the_second_fails(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            assert second.accounts.by_phone("13800000001") is None
            first.accounts.add(sample_account("acc-a", phone="13800000001"))
            first.commit()
            with _refused(DuplicateAccount, codes={"account.duplicate"}):
                second.accounts.add(sample_account("acc-b", phone="13800000001"))
                second.commit()
        with store.unit_of_work() as uow:
            assert [a.id for a in uow.accounts.list()] == ["acc-a"]

    def test_interleaved_registrations_of_one_phone_the_second_commit_fails(self) -> None:
        self._require_interleaving()
        store = self.new_store()
        with store.unit_of_work() as first, store.unit_of_work() as second:
            first.accounts.add(sample_account("acc-a", phone="13800000001"))
            second.accounts.add(sample_account("acc-b", phone="13800000001"))
            first.commit()
            with _refused(DuplicateAccount, codes={"account.duplicate"}):
                second.commit()
        with store.unit_of_work() as uow:
            assert [a.id for a in uow.accounts.list()] == ["acc-a"]
            assert uow.accounts.by_phone("13800000001") == sample_account(
                "acc-a", phone="13800000001"
            )

    def test_a_deleted_account_frees_its_phone_and_bindings(self) -> None:
        alice = sample_account("acc-a", phone="13800000001")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.accounts.add(alice)
            uow.accounts.add(sample_account("acc-n1", phone=None, external_ids=frozenset()))
            uow.commit()
        deleted = attrs.evolve(
            alice,
            version=alice.version + 1,
            status=AccountStatus.DELETED,
            phone=None,
            password_hash=None,
            external_ids=frozenset(),
            deleted_at=T0 + timedelta(days=5),
        )
        with store.unit_of_work() as uow:
            uow.accounts.save(deleted, expected_version=alice.version)
            uow.commit()
        successor = sample_account("acc-z", phone="13800000001", external_ids=alice.external_ids)
        with store.unit_of_work() as uow:
            assert uow.accounts.get("acc-a") == deleted
            assert uow.accounts.by_phone("13800000001") is None
            for identity in alice.external_ids:
                assert uow.accounts.by_external(identity.provider, identity.subject) is None
            uow.accounts.add(successor)  # the phone and the binding are free again
            uow.accounts.add(sample_account("acc-n2", phone=None, external_ids=frozenset()))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.accounts.by_phone("13800000001") == successor
            assert uow.accounts.get("acc-a") == deleted
            assert uow.accounts.by_external("zzd", "zzd-acc-a") == successor
            assert [a.id for a in uow.accounts.list()] == ["acc-a", "acc-n1", "acc-n2", "acc-z"]

    # --- sessions and idempotency ---------------------------------------------------------

    def test_sessions_put_replace_and_revoke_all(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.sessions.put(sample_session("t-1", "acc-a"))
            uow.sessions.put(sample_session("t-2", "acc-a", password_change_only=False))
            uow.sessions.put(sample_session("t-3", "acc-a", revoked=True))
            uow.sessions.put(sample_session("t-4", "acc-b"))
            uow.commit()
        seen = sample_session("t-1", "acc-a", last_seen=T0 + timedelta(hours=5))
        with store.unit_of_work() as uow:
            uow.sessions.put(seen)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.sessions.get("t-1") == seen
            assert uow.sessions.revoke_all("acc-a") == 2
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.sessions.get("t-1") == attrs.evolve(seen, revoked=True)
            assert uow.sessions.get("t-2") == sample_session(
                "t-2", "acc-a", password_change_only=False, revoked=True
            )
            assert uow.sessions.get("t-4") == sample_session("t-4", "acc-b")
            assert uow.sessions.revoke_all("acc-a") == 0
            assert uow.sessions.revoke_all("nobody") == 0

    def test_purging_ended_sessions_earliest_first_in_batches(self) -> None:
        store = self.new_store()
        ends = {
            "t-early": T0 + timedelta(minutes=10),
            "t-late": T0 + timedelta(minutes=20),
            "t-revoked": T0 + timedelta(minutes=15),
            "t-live": T0 + timedelta(hours=2),
            "t-at-cutoff": T0 + timedelta(hours=1),
        }
        with store.unit_of_work() as uow:
            for token, end in ends.items():
                uow.sessions.put(
                    sample_session(token, "acc-a", expires_at=end, revoked=token == "t-revoked")
                )
            uow.sessions.put(sample_session("t-unknown", "acc-a"))  # no expiry: kept
            uow.commit()
        cutoff = T0 + timedelta(hours=1)
        with store.unit_of_work() as uow:
            assert uow.sessions.purge_expired(cutoff, 2) == 2  # the two earliest
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.sessions.get("t-early") is None
            assert uow.sessions.get("t-revoked") is None
            assert uow.sessions.get("t-late") is not None
            assert uow.sessions.purge_expired(cutoff, 2) == 1
            assert uow.sessions.get("t-late") is None  # gone inside the unit of work too
        with store.unit_of_work() as uow:  # not committed: nothing happened
            assert uow.sessions.get("t-late") is not None
            assert uow.sessions.purge_expired(cutoff, 10) == 1
            uow.commit()
        with store.unit_of_work() as uow:
            kept = {t for t in (*ends, "t-unknown") if uow.sessions.get(t) is not None}
            assert kept == {"t-live", "t-at-cutoff", "t-unknown"}
            assert uow.sessions.purge_expired(cutoff, 10) == 0

    def test_a_refresh_never_brings_back_a_revoked_session(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.sessions.put(sample_session("t-1", "acc-a"))
            uow.commit()
        with store.unit_of_work() as refresher:
            seen = refresher.sessions.get("t-1")  # authenticate reads the live session…
            assert seen is not None
            with store.unit_of_work() as owner:  # …the owner changes the password meanwhile…
                assert owner.sessions.revoke_all("acc-a") == 1
                owner.commit()
            refresher.sessions.put(attrs.evolve(seen, last_seen=T0 + timedelta(hours=1)))
            refresher.commit()  # …and the refresh lands after the revocation
        with store.unit_of_work() as uow:
            found = uow.sessions.get("t-1")
            assert found is not None
            assert found.revoked

    def test_idempotency_key_is_added_once(self) -> None:
        record = sample_idempotency_record("acc-a:req-1")
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.idempotency.add(record)
            uow.commit()
        with _conflict(), store.unit_of_work() as uow:
            uow.idempotency.add(IdempotencyRecord(record.key, "0" * 64, "acc-b", "unlock"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.idempotency.get(record.key) == record
            assert uow.idempotency.get("acc-a:req-%") is None

    def test_idempotency_records_of_every_command_round_trip(self) -> None:
        """Any command's key: its command name and result id (an account, a commission) kept."""
        records = [
            sample_idempotency_record("acc-a:" + NASTY_TEXT[:100], command="unlock", result_id="b"),
            sample_idempotency_record("acc-a:k2", command="create_commission", result_id="k-1"),
            sample_idempotency_record("acc-b:k2", command="record_implementation"),
        ]
        store = self.new_store()
        with store.unit_of_work() as uow:
            for record in records:
                uow.idempotency.add(record)
            uow.commit()
        with store.unit_of_work() as uow:
            assert [uow.idempotency.get(r.key) for r in records] == records

    # --- queries --------------------------------------------------------------------------

    def test_find_and_count_match_the_reference_for_every_filter(self) -> None:
        """Every filter, order, keyset position (none, a middle row, the last row) and limit:
        the rows of ``find``, the page and total of ``find_page``, and ``count``."""
        corpus = query_corpus()
        store = self.seeded_store(items=corpus)
        with store.unit_of_work() as uow:
            for query in qst.ITEM_FILTERS:
                expected_count = len(filter_items(corpus, query))
                assert uow.items.count(query) == expected_count, query
                for order in ItemOrder:
                    ordered = filter_items(corpus, attrs.evolve(query, order=order))
                    marks = [ordered[len(ordered) // 2], ordered[-1]] if ordered else []
                    for after in [None, *(order_position(order, i) for i in marks)]:
                        for limit in (None, 0, 3) if after is None else (None, 2):
                            paged = attrs.evolve(query, order=order, limit=limit, after=after)
                            expected = filter_items(corpus, paged)
                            found, total = uow.items.find_page(paged)
                            assert _ids(found) == _ids(expected), paged
                            assert (found, total) == (expected, expected_count), paged
                            if limit == 2:
                                assert uow.items.find(paged) == expected, paged
                    assert uow.items.count(attrs.evolve(query, order=order)) == expected_count

    def test_item_pages_walk_every_row_once_with_inserts_between_pages(self) -> None:
        """Paging by keyset, in every order: each row exactly once and in order, although
        rows sorting before the cursor are committed between pages; each total counts them."""
        pool = query_corpus()
        store = self.seeded_store(items=pool)
        template = next(i for i in pool if i.published and not i.urgent)
        filters = (ItemQuery(), ItemQuery(published_only=True))
        for order, base in itertools.product(ItemOrder, filters):
            query = attrs.evolve(base, order=order)
            expected = filter_items(pool, query)
            walked: list[Item] = []
            after: LanePosition | None = None
            while True:
                with store.unit_of_work() as uow:
                    page, total = uow.items.find_page(attrs.evolve(query, after=after, limit=3))
                assert total == len(filter_items(pool, query)), (query, after)
                walked += page
                if len(page) < 3:
                    break
                after = order_position(order, page[-1])
                first = _first_in_every_order(template, len(pool))
                with store.unit_of_work() as uow:
                    uow.items.add(first)
                    uow.commit()
                pool.append(first)
            assert walked == expected, query
            assert len(pool) > len(query_corpus())  # rows were inserted meanwhile

    def test_assignment_pages_walk_every_row_once_with_inserts_between_pages(self) -> None:
        corpus = query_corpus()
        store = self.seeded_store(items=corpus)
        pool = list(corpus)
        template = next(i for i in corpus if i.assignments)
        queries = (
            AssignmentQuery(),
            AssignmentQuery(jurisdiction=template.jurisdiction),
            AssignmentQuery(unit_id=template.assignments[0].unit_id),
            AssignmentQuery(provisional_only=True),
        )
        for query in queries:
            expected = filter_assignments(pool, query)
            walked: list[tuple[Item, Assignment]] = []
            after: LanePosition | None = None
            while True:
                with store.unit_of_work() as uow:
                    page, total = uow.items.assignment_page(
                        attrs.evolve(query, after=after, limit=2)
                    )
                assert total == len(filter_assignments(pool, query)), (query, after)
                walked += page
                if len(page) < 2:
                    break
                after = assignment_position(*page[-1])
                early = _due_first(template, len(pool))
                with store.unit_of_work() as uow:
                    uow.items.add(early)
                    uow.commit()
                pool.append(early)
            assert _pairs(walked) == _pairs(expected), query
            assert walked == expected, query

    def test_assignments_match_the_reference_for_every_filter(self) -> None:
        corpus = query_corpus()
        store = self.seeded_store(items=corpus)
        with store.unit_of_work() as uow:
            for query in qst.ASSIGNMENT_FILTERS:
                expected = filter_assignments(corpus, query)
                found = uow.items.assignments(query)
                assert _pairs(found) == _pairs(expected), query
                assert found == expected, query

    def test_find_orders_urgent_first_then_by_submission(self) -> None:
        store = self.seeded_store(items=query_corpus())
        with store.unit_of_work() as uow:
            found = uow.items.find(ItemQuery(jurisdiction="zhoushan", order=ItemOrder.URGENT_FIRST))
        urgent = [i for i in found if i.urgent]
        assert found[: len(urgent)] == urgent
        assert urgent
        keys = [(i.submitted_at or i.created_at, i.id) for i in urgent]
        assert keys == sorted(keys)

    def test_published_only_means_adopted_not_secret_and_no_opt_out(self) -> None:
        corpus = query_corpus()
        store = self.seeded_store(items=corpus)
        with store.unit_of_work() as uow:
            found = uow.items.find(ItemQuery(published_only=True))
        assert found
        assert all(i.state in ADOPTED_STATES and not i.secret and not i.opted_out for i in found)
        assert {i.id for i in found} == {i.id for i in corpus if i.published}

    def test_statistics_match_the_reference(self) -> None:
        corpus = statistics_corpus()
        store = self.seeded_store(items=corpus)
        with store.unit_of_work() as uow:
            for query in qst.STATISTICS_QUERIES:
                assert uow.items.statistics(query) == statistics_of(corpus, query), query
        # saving rewrites what the aggregates read: change every third item and compare again
        changed = {item.id: _bump(item, **_statistics_change(item)) for item in corpus[::3]}
        with store.unit_of_work() as uow:
            for item in changed.values():
                uow.items.save(item, expected_version=item.version - 1)
            uow.commit()
        now = [changed.get(item.id, item) for item in corpus]
        with store.unit_of_work() as uow:
            for query in qst.STATISTICS_QUERIES:
                assert uow.items.statistics(query) == statistics_of(now, query), query

    def test_statistics_of_an_empty_store_are_empty(self) -> None:
        store = self.new_store()
        query = StatisticsQuery(None, Period.year(2025), date(2025, 6, 1))
        with store.unit_of_work() as uow:
            assert uow.items.statistics(query) == Statistics(query)

    def test_statistics_match_the_reference_on_random_items(self) -> None:
        @self.property_settings()
        @given(
            items=st.lists(qst.statistics_items(), max_size=6, unique_by=lambda i: i.id),
            queries=st.lists(qst.statistics_queries(), min_size=1, max_size=4),
        )
        def check(items: list[Item], queries: list[StatisticsQuery]) -> None:
            store = self.seeded_store(items=items)
            with store.unit_of_work() as uow:
                for query in queries:
                    assert uow.items.statistics(query) == statistics_of(items, query), query

        check()

    def test_find_and_assignments_match_the_reference_on_random_items(self) -> None:
        @self.property_settings()
        @given(
            items=st.lists(qst.items(), max_size=8, unique_by=lambda i: i.id),
            queries=st.lists(qst.item_queries(), min_size=1, max_size=4),
            assignment_queries=st.lists(qst.assignment_queries(), min_size=1, max_size=3),
        )
        def check(
            items: list[Item],
            queries: list[ItemQuery],
            assignment_queries: list[AssignmentQuery],
        ) -> None:
            store = self.seeded_store(items=items)
            with store.unit_of_work() as uow:
                for item in items:
                    assert uow.items.get(item.id) == item
                for query in queries:
                    assert uow.items.find(query) == filter_items(items, query)
                    assert uow.items.find_page(query) == item_page(items, query)
                    unpaged = attrs.evolve(query, limit=None, after=None)
                    assert uow.items.count(query) == len(filter_items(items, unpaged))
                for assignment_query in assignment_queries:
                    expected = filter_assignments(items, assignment_query)
                    assert uow.items.assignments(assignment_query) == expected
                    page = assignment_page(items, assignment_query)
                    assert uow.items.assignment_page(assignment_query) == page

        check()

    # --- the periodic job's attention index ---------------------------------------------

    def test_needing_attention_matches_the_reference(self) -> None:
        corpus = attention_corpus()
        store = self.seeded_store(items=corpus)
        days = sorted({p.when for item in corpus for _, p in attention_positions(item)})
        cutoffs = (days[0], days[len(days) // 2], days[-1], days[-1] + timedelta(days=1))
        with store.unit_of_work() as uow:
            for kind in Attention:
                for before in cutoffs:
                    query = AttentionQuery(kind, before)
                    expected = needing_attention(corpus, query)
                    assert uow.items.needing_attention(query) == expected, query
                    for size in (1, 2, 5):
                        assert _attention_walk(uow, query, size) == expected, (query, size)
                    if expected:
                        middle = attrs.evolve(query, after=expected[len(expected) // 2], limit=2)
                        found = uow.items.needing_attention(middle)
                        assert found == needing_attention(corpus, middle), middle
                assert needing_attention(corpus, AttentionQuery(kind, cutoffs[-1])), kind

    def test_needing_attention_follows_saves_and_sees_own_writes(self) -> None:
        corpus = attention_corpus()
        store = self.seeded_store(items=corpus)
        everything = {kind: AttentionQuery(kind, date(2100, 1, 1)) for kind in Attention}

        def rows(uow: UnitOfWork, pool: list[Item]) -> None:
            for query in everything.values():
                assert uow.items.needing_attention(query) == needing_attention(pool, query)

        item = next(i for i in corpus if any(a.open for a in i.assignments))
        reminded = attrs.evolve(
            item,
            version=item.version + 1,
            assignments=tuple(
                attrs.evolve(a, reminders=frozenset(DeadlineStatus)) if a.open else a
                for a in item.assignments
            ),
        )
        new = attrs.evolve(corpus[0], id="zz-attention-new")
        after = [reminded if i.id == item.id else i for i in corpus]
        with store.unit_of_work() as uow:
            uow.items.save(reminded, item.version)
            uow.items.add(new)
            rows(uow, [*after, new])  # this unit of work sees its own writes
            with store.unit_of_work() as other:
                rows(other, corpus)  # others do not, before commit
            uow.commit()
        with store.unit_of_work() as uow:
            rows(uow, [*after, new])
        again = attrs.evolve(item, version=reminded.version + 1)  # the reminders cleared
        with store.unit_of_work() as uow:
            uow.items.save(again, reminded.version)
            rows(uow, [again if i.id == item.id else i for i in [*after, new]])
            uow.rollback()
        with store.unit_of_work() as uow:
            rows(uow, [*after, new])  # a rolled-back save leaves the index as it was

    # --- lanes ----------------------------------------------------------------------------

    def test_lane_pages_and_counts_match_the_reference(self) -> None:
        corpus = lane_corpus()
        store = self.seeded_store(items=corpus)
        queries = _lane_queries(corpus)
        with store.unit_of_work() as uow:
            for query in queries:
                expected = lane_rows(corpus, query)
                assert uow.items.lane(query) == expected, query
                for size in (1, 2, 5):
                    assert _walk(uow, query, size) == expected, (query, size)
                if expected:
                    middle = lane_position(query.lane, *expected[len(expected) // 2])
                    after = attrs.evolve(query, after=middle, limit=3)
                    assert uow.items.lane(after) == lane_rows(corpus, after), after
                    assert uow.items.lane_page(after) == lane_page(corpus, after), after
                    last = lane_position(query.lane, *expected[-1])  # an empty later page
                    beyond = attrs.evolve(query, after=last, limit=3)
                    assert uow.items.lane_page(beyond) == ([], len(expected)), beyond
                for limit in (None, 0, 1, 3):
                    page = attrs.evolve(query, limit=limit)
                    assert uow.items.lane_page(page) == lane_page(corpus, page), page
            assert uow.items.lane_counts(queries[:1]) == lane_counts(corpus, queries[:1])
            office = [q for q in queries if q.jurisdiction == "zhoushan" and not q.destination_keys]
            assert uow.items.lane_counts(office) == lane_counts(corpus, office)
            for query in queries:
                assert uow.items.lane_counts([query]) == lane_counts(corpus, [query]), query
        assert any(lane_rows(corpus, q) for q in queries if q.lane is Lane.REHANDLE)

    def test_lane_pages_stay_stable_when_items_arrive_between_pages(self) -> None:
        corpus = lane_corpus()
        store = self.seeded_store(items=corpus)
        for query in _lane_queries(corpus):
            before = lane_rows(corpus, query)
            if len(before) < 2:
                continue
            with store.unit_of_work() as uow:
                first = uow.items.lane(attrs.evolve(query, limit=1))
            after = lane_position(query.lane, *first[0])
            # a copy of every row's item, under a new id, sorts next to it: before the
            # position, at it, after it
            arrivals = [
                attrs.evolve(item, id=f"{item.id}~{query.lane.value}~{n}")
                for n, (item, _) in enumerate(before)
                if not any(i.id == f"{item.id}~{query.lane.value}~{n}" for i in corpus)
            ]
            with store.unit_of_work() as uow:
                for item in arrivals:
                    uow.items.add(item)
                uow.commit()
            corpus = [*corpus, *arrivals]
            with store.unit_of_work() as uow:
                rest = _walk_from(uow, query, after)
            expected = [
                r for r in lane_rows(corpus, query) if lane_position(query.lane, *r) > after
            ]
            assert rest == expected, query
            # nothing of the first reading is repeated, nothing after it skipped
            assert first[0] not in rest
            assert [r for r in rest if r[0].id in {i.id for i, _ in before}] == before[1:]
            return
        raise AssertionError("no lane with two rows in the corpus")  # pragma: no cover

    def test_review_waits_match_the_reference(self) -> None:
        corpus = lane_corpus()
        store = self.seeded_store(items=corpus)
        cutoffs = [
            (T, U)
            for T in (T0, T0 + timedelta(days=3), T0 + timedelta(days=30))
            for U in (T0 + timedelta(seconds=1), T0 + timedelta(days=30))
        ]
        with store.unit_of_work() as uow:
            for before, urgent_before in cutoffs:
                for jurisdiction in (None, "zhoushan"):
                    for reminded in (None, True, False):
                        query = ReviewWaitQuery(before, urgent_before, jurisdiction, reminded)
                        expected = review_waits(corpus, query)
                        assert uow.items.review_waits(query) == expected, query
                        if len(expected) > 2:
                            position = lane_position(Lane.PRELIMINARY, expected[1])
                            paged = attrs.evolve(query, after=position, limit=2)
                            assert uow.items.review_waits(paged) == review_waits(corpus, paged)
            every = ReviewWaitQuery(T0 + timedelta(days=30), T0 + timedelta(days=30))
            assert uow.items.review_waits(every)

    def test_statistics_count_review_overruns_as_the_reference(self) -> None:
        corpus = lane_corpus()
        store = self.seeded_store(items=corpus)
        with store.unit_of_work() as uow:
            for query in qst.STATISTICS_QUERIES:
                assert uow.items.statistics(query) == statistics_of(corpus, query), query
        assert any(statistics_of(corpus, q).overdue_reviews for q in qst.STATISTICS_QUERIES)

    # --- the audit log (第十九条) -------------------------------------------------------------

    def _append(self, store: Store, *entries: tuple[str, AuditEntry]) -> None:
        with store.unit_of_work() as uow:
            for shard, entry in entries:
                uow.audit.append(shard, entry, AUDIT_CHAIN)
            uow.commit()

    def test_audit_appends_chain_each_shard_from_genesis(self) -> None:
        store = self.new_store()
        self._append(store, ("03", audit_entry(0, "a")), ("03", audit_entry(1, "b")))
        self._append(store, ("07", audit_entry(2, "c")))
        with store.unit_of_work() as uow:
            heads = uow.audit.heads()
            three = uow.audit.records("03")
            seven = uow.audit.records("07")
        assert [r.sequence for r in three] == [1, 2]
        assert three[0].previous == GENESIS
        assert three[1].previous == three[0].hash
        assert [r.entry for r in three] == [audit_entry(0, "a"), audit_entry(1, "b")]
        assert (heads["03"].sequence, heads["03"].hash) == (2, three[1].hash)
        assert (heads["07"].sequence, seven[0].previous) == (1, GENESIS)
        with store.unit_of_work() as uow:
            assert uow.audit.shards() == ["03", "07"]
        assert all(AUDIT_CHAIN.digest(r.algorithm, r.document) == r.hash for r in three + seven)

    def test_audit_of_a_rolled_back_unit_of_work_is_not_kept(self) -> None:
        store = self.new_store()
        with store.unit_of_work() as uow:
            uow.audit.append("01", audit_entry(0, "a"), AUDIT_CHAIN)
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.audit.records("01") == []
            assert uow.audit.heads().get("01", AuditHead("01")).sequence == 0

    def test_audit_records_page_by_sequence(self) -> None:
        store = self.new_store()
        self._append(store, *[("02", audit_entry(n, f"x{n}")) for n in range(5)])
        with store.unit_of_work() as uow:
            assert [r.sequence for r in uow.audit.records("02", after=1, limit=2)] == [2, 3]
            assert [r.sequence for r in uow.audit.records("02", after=3)] == [4, 5]

    def test_audit_query_filters_and_pages_in_time_order(self) -> None:
        store = self.new_store()
        entries = [
            ("0" + str(n % 3), audit_entry(n, "act" if n % 2 else "other", person=f"p{n % 3}"))
            for n in range(9)
        ]
        self._append(store, *entries)
        everything = AuditQuery(limit=100)
        with store.unit_of_work() as uow:
            found = uow.audit.query(everything)
            assert [r.entry.at for r in found] == sorted(e.at for _, e in entries)
            acts = uow.audit.query(AuditQuery(action="act"))
            assert {r.entry.action for r in acts} == {"act"} and len(acts) == 4
            mine = uow.audit.query(AuditQuery(account_id="p1"))
            assert {r.entry.account_id for r in mine} == {"p1"} and len(mine) == 3
            target = uow.audit.query(AuditQuery(target_id="t4"))
            assert [r.entry.targets for r in target] == [("t4",)]
            window = uow.audit.query(AuditQuery(since=at_minute(2), until=at_minute(5)))
            assert [r.entry.at for r in window] == [at_minute(n) for n in (2, 3, 4)]
            scoped = uow.audit.query(AuditQuery(jurisdictions=frozenset({"daishan"})))
            assert {r.entry.jurisdiction for r in scoped} == {"daishan"} and len(scoped) == 3
            first = uow.audit.query(AuditQuery(limit=4))
            assert len(first) == 5  # one more than the limit: there is a next page
            rest = uow.audit.query(AuditQuery(limit=100, after=cursor_of(first[3])))
            assert [r.position for r in first[:4] + rest] == [r.position for r in found]
            # the total counts the filter wherever the cursor stands
            assert uow.audit.count(everything) == 9 == uow.audit.count(AuditQuery(limit=1))
            assert uow.audit.count(AuditQuery(action="act")) == 4
            assert uow.audit.count(AuditQuery(account_id="p1", after=cursor_of(first[3]))) == 3
            assert uow.audit.count(AuditQuery(target_id="t4")) == 1
            assert uow.audit.count(AuditQuery(since=at_minute(2), until=at_minute(5))) == 3
            assert uow.audit.count(AuditQuery(jurisdictions=frozenset({"daishan"}))) == 3
            assert uow.audit.count(AuditQuery(action="none")) == 0

    def test_audit_last_before_and_purge_keep_a_suffix(self) -> None:
        store = self.new_store()
        self._append(store, *[("04", audit_entry(n, "a")) for n in range(5)])
        with store.unit_of_work() as uow:
            assert uow.audit.last_before("04", at_minute(0)) is None
            last = uow.audit.last_before("04", at_minute(3))
            assert last is not None and last.sequence == 3
            assert uow.audit.purge("04", last.sequence) == 3
            uow.commit()
        with store.unit_of_work() as uow:
            assert [r.sequence for r in uow.audit.records("04")] == [4, 5]
            assert uow.audit.heads()["04"].sequence == 5

    def test_threads_appending_to_one_shard_lose_no_record(self) -> None:
        self._require_threads()
        store = self.new_store()
        count = self.thread_count
        barrier = threading.Barrier(count)
        errors: list[BaseException] = []

        def appender(index: int) -> None:
            try:
                barrier.wait(timeout=JOIN_SECONDS)
                for n in range(3):
                    with store.unit_of_work() as uow:
                        uow.audit.append("05", audit_entry(index * 3 + n, "t"), AUDIT_CHAIN)
                        uow.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)

        run_threads(appender, count)
        assert errors == []
        with store.unit_of_work() as uow:
            records = uow.audit.records("05")
        assert [r.sequence for r in records] == list(range(1, 3 * count + 1))
        assert all(b.previous == a.hash for a, b in itertools.pairwise(records))


def _minute_apart(count: int) -> list[OutboxMessage]:
    """``count`` pending messages ``evt-0``, ``evt-1``, … recorded a minute apart from T0."""
    return [
        sample_outbox_message(f"evt-{n}", recorded_at=T0 + timedelta(minutes=n))
        for n in range(count)
    ]
