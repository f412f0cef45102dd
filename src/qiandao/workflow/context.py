"""What every decision may consult besides its facts: the rules, the calendar, the instant, ids.

A decision is a pure function ``(context, actor, facts…) -> Decision``. It reads no clock, opens
no store and sends nothing: the service loads the facts, calls the decision, and hands what it
decided to the one command runner.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeAlias

import attrs

from qiandao.accounts import PasswordPolicy
from qiandao.events import Change, EventKind
from qiandao.rules.deadlines import Due, WorkdayCalendar, decline_until, local_day, reply_due
from qiandao.rules.ruleset import RuleSet

__all__ = ["Context", "Decision"]

Decision: TypeAlias = list[tuple[EventKind, Change]]
"""The events a command decided for one item, in order (each becomes one ``Event``)."""


@attrs.frozen
class Context:
    """The rules of the item's jurisdiction, the calendar, the instant and an id source.

    ``password_policy`` is the jurisdiction's stored password and lockout policy when its
    security admin set one (account commands load it); ``None``: the rules' profile.
    """

    rules: RuleSet
    """The rules of the item's (or the actor's) jurisdiction."""
    calendar: WorkdayCalendar
    """The working-day calendar deadlines are counted with."""
    now: datetime
    """The current instant (an aware datetime), read once per command."""
    ids: Callable[[], str] = attrs.field(repr=False)
    """Makes a fresh id for a new record (an item, assignment, event or notice)."""
    password_policy: PasswordPolicy | None = None
    """The jurisdiction's stored password policy, or ``None`` for the rules' profile."""
    probing: bool = attrs.field(default=False, kw_only=True)
    """Set while :func:`~qiandao.workflow.actions.allowed_actions` asks whether a command
    would be refused: a decision whose remaining steps cannot refuse may return ``[]`` there,
    without building what it would decide (a list page probes every row)."""

    @functools.cached_property
    def today(self) -> date:
        """The calendar day of ``now`` in Asia/Shanghai (counted once per context)."""
        return local_day(self.now)

    @functools.cached_property
    def reply_due_now(self) -> Due:
        """The reply deadline of an assignment made at ``now`` (第十条), counted once per
        context (a page's probes share it); refuses a year the calendar does not cover."""
        return reply_due(self.calendar, self.now, self.rules.deadlines)

    @functools.cached_property
    def decline_until_now(self) -> Due:
        """The last day to decline an assignment made at ``now`` (第十条), counted once."""
        return decline_until(self.calendar, self.now, self.rules.deadlines)

    def new_id(self) -> str:
        """A fresh id for a new item, assignment or notice."""
        return self.ids()
