"""The service core: wiring of ports, the command runner, the outbox dispatcher.

Every command runs as: load in one unit of work → check who and what → decide events → evolve
→ save with a version check, append events, record notices → commit → dispatch after commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeAlias, TypeVar

import attrs

from qiandao.errors import (
    ConcurrencyConflict,
    InvalidInput,
    JurisdictionDenied,
    NotFound,
    PermissionDenied,
)
from qiandao.events import Change, Event, EventKind, evolve
from qiandao.model import Assignment, Item
from qiandao.notices import notices_for
from qiandao.ports.clock import Clock
from qiandao.ports.notify import Notifier
from qiandao.ports.security import IdentityProvider, PasswordHasher
from qiandao.ports.store import OutboxMessage, Store, UnitOfWork
from qiandao.rules.deadlines import WorkdayCalendar
from qiandao.rules.lifecycle import (
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
    next_assignment_state,
    next_item_state,
)
from qiandao.rules.publication import Viewer
from qiandao.rules.roles import OFFICE_ROLES, Role
from qiandao.rules.ruleset import RuleSet

__all__ = ["Actor", "DispatchReport"]

_log = logging.getLogger("qiandao")

Decision: TypeAlias = list[tuple[EventKind, Change]]
T = TypeVar("T")
_ATTEMPTS = 3  # tries of a command whose transaction the database aborted (retryable)


def _identifier(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise InvalidInput(f"{attribute.name} 须为非空文本（不超过128字符）", field=attribute.name)


def _role(value: object) -> Role:
    return Role.parse(value)


@attrs.frozen
class Actor:
    """Who runs a command: an account with its one role, jurisdiction and (for units) unit."""

    account_id: str = attrs.field(validator=_identifier)
    role: Role = attrs.field(converter=_role)
    jurisdiction: str = attrs.field(validator=_identifier)
    unit_id: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_identifier)
    )

    def viewer(self) -> Viewer:
        """The actor as the visibility rule sees it."""
        return Viewer(self.account_id, self.role, self.jurisdiction, self.unit_id)


@attrs.frozen
class DispatchReport:
    """What one outbox dispatch did."""

    sent: int
    failed: int


def _uuid() -> str:
    return uuid.uuid4().hex


class _Core:
    """Shared machinery of the command mix-ins."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        calendar: WorkdayCalendar | None = None,
        rules: RuleSet | Mapping[str, RuleSet] | None = None,
        notifier: Notifier | None = None,
        hasher: PasswordHasher | None = None,
        identity_providers: Sequence[IdentityProvider] = (),
        ids: Callable[[], str] = _uuid,
        dispatch_after_commit: bool = True,
    ) -> None:
        if calendar is None:
            from qiandao.rules.workdays import ChinaWorkdays

            calendar = ChinaWorkdays.official()
        self.store = store
        self.clock = clock
        self.calendar = calendar
        if isinstance(rules, RuleSet):
            self._default_rules = rules
            self._rules: Mapping[str, RuleSet] = {rules.jurisdiction: rules}
        else:
            self._rules = dict(rules or {})
            self._default_rules = self._rules.get("zhoushan", RuleSet.zhoushan())
        self.notifier = notifier
        self.hasher = hasher
        self.identity_providers = {p.name: p for p in identity_providers}
        self.new_id = ids
        self.dispatch_after_commit = dispatch_after_commit

    # --- helpers --------------------------------------------------------------------------

    def rules_for(self, jurisdiction: str) -> RuleSet:
        """The RuleSet of a jurisdiction (a county's overrides, else the default rules)."""
        return self._rules.get(jurisdiction, self._default_rules)

    def now(self) -> datetime:
        """The clock's instant, checked to be aware."""
        instant = self.clock.now()
        if instant.utcoffset() is None:
            raise InvalidInput("时钟必须返回带时区的时间", field="clock")
        return instant

    @staticmethod
    def _check_office(actor: Actor, item: Item) -> None:
        if actor.role in OFFICE_ROLES and actor.jurisdiction != item.jurisdiction:
            raise JurisdictionDenied(item=item.id)

    @staticmethod
    def _check_author(actor: Actor, item: Item, *, lead_only: bool = False) -> None:
        allowed = {item.lead_author_id} if lead_only else item.authors
        if actor.account_id not in allowed:
            raise PermissionDenied("只有信息作者可以执行此操作", article="第五条", item=item.id)

    def _item_step(self, actor: Actor, item: Item, command: ItemCommand) -> ItemState:
        """Relation checks, then the transition table: the next state or a domain error."""
        if actor.role in OFFICE_ROLES:
            self._check_office(actor, item)
        elif actor.role is not Role.HANDLING_UNIT and command in _AUTHOR_COMMANDS:
            self._check_author(actor, item, lead_only=command in _LEAD_COMMANDS)
        return next_item_state(item.state, command, actor.role)

    def _assignment_step(
        self, actor: Actor, item: Item, assignment_id: str, command: AssignmentCommand
    ) -> tuple[Assignment, AssignmentState]:
        assignment = item.assignment(assignment_id)
        if assignment is None:
            raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
        if actor.role is Role.HANDLING_UNIT and actor.unit_id != assignment.unit_id:
            raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
        if actor.role in OFFICE_ROLES:
            self._check_office(actor, item)
        return assignment, next_assignment_state(assignment.state, command, actor.role)

    # --- running commands -----------------------------------------------------------------

    def _stage(
        self,
        uow: UnitOfWork,
        item: Item | None,
        decision: Decision,
        actor: Actor,
        now: datetime,
        *,
        item_id: str | None = None,
    ) -> Item:
        """Evolve ``item`` by the decided events and stage the save, events and notices."""
        current = item
        target_id = item.id if item is not None else item_id
        if target_id is None:  # pragma: no cover - programming error
            raise ValueError("a new item needs an id")
        sequence = item.version if item is not None else 0
        events: list[Event] = []
        for kind, change in decision:
            sequence += 1
            event = Event(self.new_id(), target_id, sequence, kind, actor.account_id, now, change)
            current = evolve(current, event)
            events.append(event)
        if current is None:  # pragma: no cover - an empty decision on a new item
            raise ValueError("nothing decided")
        if item is None:
            uow.items.add(current)
        else:
            uow.items.save(current, item.version)
        uow.events.append(events)
        rules = self.rules_for(current.jurisdiction)
        uow.outbox.add(
            [OutboxMessage(n, now) for e in events for n in notices_for(e, current, rules)]
        )
        return current

    def _transact(
        self, work: Callable[[UnitOfWork, datetime], T], *, any_conflict: bool = False
    ) -> T:
        """Run ``work`` in one unit of work and commit, then dispatch notices.

        A conflict the store marks ``retryable`` (a serialization failure or deadlock: nothing
        was written) runs the whole command again on fresh data; ``any_conflict`` also retries
        plain version conflicts (used where a retry is known to be safe, e.g. idempotent submits).
        """
        now = self.now()
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self.store.unit_of_work() as uow:
                    result = work(uow, now)
                    uow.commit()
                break
            except ConcurrencyConflict as conflict:
                if attempt == _ATTEMPTS or not (any_conflict or conflict.details.get("retryable")):
                    raise
        self._after_commit()
        return result

    def _run(
        self,
        actor: Actor,
        item_id: str,
        decide: Callable[[Item, datetime], Decision],
    ) -> Item:
        """Load one item, decide, save it with its events and notices, commit, dispatch."""
        return self._run_with_uow(actor, item_id, lambda _, item, now: decide(item, now))

    def _run_with_uow(
        self,
        actor: Actor,
        item_id: str,
        decide: Callable[[UnitOfWork, Item, datetime], Decision],
    ) -> Item:
        """Like ``_run``, but ``decide`` may read other repositories of the same unit of work."""

        def work(uow: UnitOfWork, now: datetime) -> Item:
            item = uow.items.get(item_id)
            return self._stage(uow, item, decide(uow, item, now), actor, now)

        return self._transact(work)

    def _after_commit(self) -> None:
        """Dispatch after commit; a failure here must not look like the command failed."""
        if self.dispatch_after_commit and self.notifier is not None:
            try:
                self.dispatch()
            except Exception:  # the notices stay in the outbox for the next dispatch
                _log.warning("提交后投递通知失败，通知保留在发件箱中", exc_info=True)

    def dispatch(self, limit: int = 100) -> DispatchReport:
        """Send pending notices, at least once; a notice whose send fails stays pending.

        Sending happens with no transaction open (a slow gateway never holds database locks);
        the results are marked afterwards in one short unit of work. A crash in between only
        means the same notices are sent again, and receivers drop repeats by notice id.
        """
        if self.notifier is None:
            return DispatchReport(0, 0)
        with self.store.unit_of_work() as uow:
            pending = uow.outbox.pending(limit)
        sent: list[str] = []
        failed: list[str] = []
        for message in pending:
            try:
                self.notifier.send(message.notice)
            except Exception:  # any notifier failure keeps the notice pending
                failed.append(message.notice.id)
            else:
                sent.append(message.notice.id)
        if pending:
            with self.store.unit_of_work() as uow:
                at = self.now()
                for notice_id in sent:
                    uow.outbox.mark_dispatched(notice_id, at)
                for notice_id in failed:
                    uow.outbox.mark_failed(notice_id)
                uow.commit()
        return DispatchReport(len(sent), len(failed))


_AUTHOR_COMMANDS = frozenset(
    {
        ItemCommand.EDIT_DRAFT,
        ItemCommand.SUBMIT,
        ItemCommand.WITHDRAW,
        ItemCommand.RESUBMIT,
        ItemCommand.RATE,
        ItemCommand.SET_PUBLICATION_CONSENT,
    }
)
_LEAD_COMMANDS = frozenset(
    {ItemCommand.EDIT_DRAFT, ItemCommand.SUBMIT, ItemCommand.WITHDRAW, ItemCommand.RESUBMIT}
)
