"""Domain events and ``evolve``: the only place an item changes.

A command decides which events happen; ``evolve`` applies each to the item. Replaying an item's
events from nothing rebuilds it exactly, which the stateful tests check after every step.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from qiandao._enum import LabelledEnum
from qiandao.model import Assignment, Feedback, Item, ReviewOverrun, ReviewRecord, TextVersion
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.tiers import Destination

__all__ = ["Change", "Event", "EventKind", "ItemPatch", "evolve", "replay"]


class EventKind(LabelledEnum):
    """What happened to an item."""

    DRAFTED = "drafted", "起草"
    DRAFT_EDITED = "draft_edited", "修改草稿"
    SUBMITTED = "submitted", "提交"
    WITHDRAWN = "withdrawn", "撤回"
    RETURNED = "returned", "退回修改"
    RESUBMITTED = "resubmitted", "重新提交"
    REJECTED = "rejected", "不予采用"
    MERGED = "merged", "合并至其他信息"
    MERGE_RECEIVED = "merge_received", "并入其他信息"
    PRELIMINARY_PASSED = "preliminary_passed", "初审通过"
    DEPUTY_APPROVED = "deputy_approved", "分管领导审核通过"
    SENT_BACK = "sent_back", "退回上一环节"
    SIGNED = "signed", "签发"
    ASSIGNED = "assigned", "交办"
    ACCEPTED = "accepted", "签收"
    DECLINED = "declined", "申退"
    REASSIGNED = "reassigned", "改派"
    OVERRULED = "overruled", "不同意申退"
    EXTENSION_REQUESTED = "extension_requested", "申请延期"
    EXTENSION_APPROVED = "extension_approved", "同意延期"
    EXTENSION_REFUSED = "extension_refused", "不同意延期"
    REPLIED = "replied", "书面答复"
    ALL_REPLIED = "all_replied", "全部答复"
    RATED = "rated", "评价"
    RATING_CLOSED = "rating_closed", "评价期满（未评价）"
    REHANDLE_ORDERED = "rehandle_ordered", "重新办理"
    ASSIGNMENT_CANCELLED = "assignment_cancelled", "撤销交办"
    CLOSED = "closed", "办结"
    FEEDBACK_RECORDED = "feedback_recorded", "登记反馈"
    PUBLICATION_CONSENT_SET = "publication_consent_set", "设置公开意愿"
    RECLASSIFIED = "reclassified", "调整密级"
    REPORTED_UP = "reported_up", "报送市政协"
    REMINDER_SENT = "reminder_sent", "发送催办提醒"
    DEADLINE_RECOMPUTED = "deadline_recomputed", "重算办理期限"
    RATING_WINDOW_RECOMPUTED = "rating_window_recomputed", "重算评价期限"
    REVIEW_OVERDUE = "review_overdue", "审核超时提醒"
    UNIT_MERGED = "unit_merged", "承办单位合并，交办转至承接单位"


@attrs.frozen(weakref_slot=False)
class ItemPatch:
    """New values of ``Item`` fields an event sets; ``None`` leaves a field as it is.

    Each field has the type of the ``Item`` field of the same name, so mypy checks every patch
    and the converter needs no hook to (de)serialise it.
    """

    submitted_at: datetime | None = None
    """New time of the latest submission (or resubmission)."""
    issued_at: datetime | None = None
    """New time of issue (签发)."""
    closed_at: datetime | None = None
    """New time the item was closed (办结)."""
    destinations: frozenset[Destination] | None = None
    """New destinations the item is sent to (报送去向)."""
    opted_out: frozenset[str] | None = None
    """New set of authors who do not agree to publication."""
    secret: bool | None = None
    """New 涉密 flag."""
    body_withheld: bool | None = None
    """New flag: the body is not in the system (涉密, handled offline)."""
    merged_into: str | None = None
    """Id of the item this one was merged into."""
    merged_from: tuple[str, ...] | None = None
    """Ids of the items merged into this one."""
    merged_authors: frozenset[str] | None = None
    """Account ids of the merged items' authors (credited together)."""
    reported_as: str | None = None
    """Id of the new item at the jurisdiction above after a report-up (第二十条)."""
    rehandles: int | None = None
    """New number of re-handlings after a 不满意 rating."""
    review_overruns: tuple[ReviewOverrun, ...] | None = None
    """New record of review stages that overran their window."""

    def updates(self) -> dict[str, Any]:
        """The fields this patch sets, by name."""
        values: tuple[Any, ...] = _PATCH_VALUES(self)
        return {
            name: value
            for name, value in zip(_PATCH_FIELDS, values, strict=True)
            if value is not None
        }


_PATCH_FIELDS = tuple(a.name for a in attrs.fields(ItemPatch))
_PATCH_VALUES = operator.attrgetter(*_PATCH_FIELDS)  # all values in one call (the hot path)
_NO_PATCH = ItemPatch()


@attrs.frozen(weakref_slot=False)
class Change:
    """What an event changes: a new state, an appended record, an upserted assignment, fields.

    ``fields`` is an :class:`ItemPatch`: the other ``Item`` fields the event sets.
    """

    state: ItemState | None = None
    """The item's new state, or ``None`` when the state stays."""
    text: TextVersion | None = None
    """A text version appended to the item's texts, if any."""
    review: ReviewRecord | None = None
    """A review record appended to the item's reviews, if any."""
    assignment: Assignment | None = None
    """An assignment added or replaced (by its id), if any."""
    feedback: Feedback | None = None
    """A feedback record appended (adoption, instruction, implementation), if any."""
    fields: ItemPatch = _NO_PATCH
    """Other ``Item`` fields the event sets."""
    item: Item | None = None
    """The whole new item: only on DRAFTED (and items created by a merge or a report-up)."""
    note: str = ""
    """What a notice or the audit trail should say; not applied to the item."""


@attrs.frozen(weakref_slot=False)
class Event:
    """One change to one item, numbered per item from 1 (the sequence is the item's version)."""

    id: str
    """Unique id of the event (also the id of the notices it causes)."""
    item_id: str
    """Id of the item the event changes."""
    sequence: int
    """Position in the item's log, from 1; the item's version after the event."""
    kind: EventKind
    """What happened."""
    actor_id: str
    """Account id of who did it (``SYSTEM_ACTOR_ID`` for the periodic job)."""
    at: datetime
    """When it happened (an aware datetime)."""
    change: Change
    """What the event changes on the item."""


def evolve(item: Item | None, event: Event) -> Item:
    """Apply one event to an item (``None`` before its first event)."""
    change = event.change
    if item is None:
        if change.item is None:
            raise ValueError(f"first event of {event.item_id} does not create the item")
        return attrs.evolve(change.item, version=event.sequence, state_since=event.at)
    updates = change.fields.updates() if change.fields is not _NO_PATCH else {}
    updates["version"] = event.sequence
    if change.state is not None:
        updates["state"] = change.state
        if change.state is not item.state:  # the instant the item entered its current state
            updates["state_since"] = event.at
    if change.text is not None:
        updates["texts"] = (*item.texts, change.text)
    if change.review is not None:
        updates["reviews"] = (*item.reviews, change.review)
    if change.feedback is not None:
        updates["feedback"] = (*item.feedback, change.feedback)
    if change.assignment is not None:
        updates["assignments"] = _upsert(item.assignments, change.assignment)
    values = dict(zip(_ITEM_FIELDS, _ITEM_VALUES(item), strict=True))
    values.update(updates)
    return Item(**values)


# Field names once, so evolve skips attrs.evolve's per-call introspection (the hot path).
_ITEM_FIELDS = tuple(a.name for a in attrs.fields(Item))
_ITEM_VALUES = operator.attrgetter(*_ITEM_FIELDS)


def _upsert(assignments: tuple[Assignment, ...], new: Assignment) -> tuple[Assignment, ...]:
    for index, old in enumerate(assignments):
        if old.id == new.id:
            return (*assignments[:index], new, *assignments[index + 1 :])
    return (*assignments, new)


def replay(events: Iterable[Event]) -> Item | None:
    """Rebuild an item from its events, in sequence order."""
    item: Item | None = None
    for event in sorted(events, key=lambda e: e.sequence):
        item = evolve(item, event)
    return item
