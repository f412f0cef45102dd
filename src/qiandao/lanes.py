"""Work lanes (第五、九、十条): per role, the queues of what awaits it, and their keyset order.

Every lane is a pure membership rule over an item (item lanes) or one of its assignments
(assignment lanes), and one sort key: urgent first (急事急报, 第五条), then the lane's own order,
then ids. A page ends with a :class:`LanePosition`; the next page starts strictly after it, so a
row inserted before the position never makes a later page repeat or skip a row (a row whose sort
key changes between pages may move across them). Stores filter and sort on the same values
(derived columns in SQL); :mod:`qiandao.queries` is the reference.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType

import attrs

from qiandao._enum import LabelledEnum
from qiandao.model import Assignment, Item, ReviewStage
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.roles import SIGNER_ROLES, Role
from qiandao.rules.tiers import Destination, TierRules, may_sign

__all__ = [
    "ASSIGNMENT_LANES",
    "ITEM_LANES",
    "REVIEW_LANES",
    "UNIT_LANES",
    "Lane",
    "LanePosition",
    "assignment_lane",
    "destinations_key",
    "entered_state_at",
    "item_lane",
    "item_position",
    "lane_position",
    "lanes_of",
    "priority",
    "review_reminded",
    "signer_keys",
]


class Lane(LabelledEnum):
    """One queue of work; each role has its own lanes (:func:`lanes_of`)."""

    PRELIMINARY = "preliminary", "待初审"
    DECLINED = "declined", "申退待处理"
    EXTENSION = "extension", "延期待批"
    TO_ASSIGN = "to_assign", "待交办"
    AWAITING_RATING = "awaiting_rating", "待评价"
    FOLLOW_UP = "follow_up", "待落实"
    REVIEW = "review", "待审核"
    SIGNOFF = "signoff", "待签发"
    TO_ACCEPT = "to_accept", "待签收"
    HANDLING = "handling", "办理中"
    REHANDLE = "rehandle", "重新办理"


ITEM_LANES: Mapping[Lane, ItemState] = MappingProxyType(
    {
        Lane.PRELIMINARY: ItemState.SUBMITTED,
        Lane.REVIEW: ItemState.IN_REVIEW,
        Lane.SIGNOFF: ItemState.AWAITING_SIGNOFF,
        Lane.TO_ASSIGN: ItemState.ISSUED,
        Lane.AWAITING_RATING: ItemState.REPLIED,
        Lane.FOLLOW_UP: ItemState.REPLIED,
    }
)
"""Lanes whose rows are items, with the state their items are in."""

OFFICE_ASSIGNMENT_LANES = (Lane.DECLINED, Lane.EXTENSION)
UNIT_LANES = (Lane.TO_ACCEPT, Lane.HANDLING, Lane.REHANDLE)
ASSIGNMENT_LANES = frozenset({*OFFICE_ASSIGNMENT_LANES, *UNIT_LANES})
"""Lanes whose rows are assignments (one row per assignment, ordered by due date)."""

REVIEW_LANES: Mapping[Lane, ReviewStage] = MappingProxyType(
    {
        Lane.PRELIMINARY: ReviewStage.PRELIMINARY,
        Lane.REVIEW: ReviewStage.DEPUTY,
        Lane.SIGNOFF: ReviewStage.SIGNOFF,
    }
)
"""The three review stages of 第九条 as lanes; each has a review window (第五条)."""

_ROLE_LANES: Mapping[Role, tuple[Lane, ...]] = MappingProxyType(
    {
        Role.EDITOR: (
            Lane.PRELIMINARY,
            Lane.DECLINED,
            Lane.EXTENSION,
            Lane.TO_ASSIGN,
            Lane.AWAITING_RATING,
            Lane.FOLLOW_UP,
        ),
        Role.DEPUTY: (Lane.REVIEW,),
        **{role: (Lane.SIGNOFF,) for role in SIGNER_ROLES},
        Role.HANDLING_UNIT: UNIT_LANES,
    }
)


def lanes_of(role: Role) -> tuple[Lane, ...]:
    """The lanes of ``role``, in the order its inbox shows them (none for submitters)."""
    return _ROLE_LANES.get(role, ())


def priority(urgent: bool) -> int:
    """The first sort key of every lane: 0 for urgent items (急事急报), 1 otherwise."""
    return 0 if urgent else 1


def entered_state_at(item: Item) -> datetime:
    """When the item entered its current state: ``state_since``, set by every state change.

    Items stored before ``state_since`` existed fall back to the latest instant their document
    records (submission, review decisions, issue, closing, assignment and reply times).
    """
    if item.state_since is not None:
        return item.state_since
    instants = [item.created_at, *(r.at for r in item.reviews)]
    instants += [t for t in (item.submitted_at, item.issued_at, item.closed_at) if t is not None]
    for a in item.assignments:
        instants += [a.assigned_at, *(r.at for r in a.replies)]
    return max(instants)


def item_lane(item: Item) -> Lane | None:
    """The item lane ``item`` is in; a replied item awaits ratings, else implementation."""
    state = item.state
    if state is ItemState.REPLIED:
        if any(a.rating_pending_until is not None for a in item.assignments):
            return Lane.AWAITING_RATING
        return Lane.FOLLOW_UP
    return next((lane for lane, s in ITEM_LANES.items() if s is state), None)


def assignment_lane(a: Assignment, *, unit: bool) -> Lane | None:
    """The office lane (``unit=False``) or the unit lane of one assignment, if any.

    An assignment awaiting an extension decision is in the office's 延期待批 and, at once, in
    the unit's 办理中 (or 重新办理, once a rehandle order re-opened it).
    """
    state = a.state
    if not unit:
        if state is AssignmentState.DECLINED:
            return Lane.DECLINED
        return Lane.EXTENSION if state is AssignmentState.EXTENSION_REQUESTED else None
    if state is AssignmentState.PENDING:
        return Lane.TO_ACCEPT
    if state in (AssignmentState.ACCEPTED, AssignmentState.EXTENSION_REQUESTED):
        return Lane.REHANDLE if a.rehandles > 0 else Lane.HANDLING
    return None


def review_reminded(item: Item) -> bool:
    """Whether the job has reminded the office of this stage entry (one reminder per entry)."""
    return bool(item.review_overruns) and item.review_overruns[-1].since == entered_state_at(item)


def destinations_key(destinations: Iterable[Destination]) -> str:
    """A canonical key of a set of destinations: their values, sorted, comma-separated."""
    return ",".join(sorted(d.value for d in destinations))


_DESTINATION_SETS = tuple(
    frozenset(chosen)
    for n in range(1, len(Destination) + 1)
    for chosen in itertools.combinations(Destination, n)
)


def signer_keys(role: Role, rules: TierRules) -> frozenset[str]:
    """The destination keys of every item ``role`` may sign under ``rules`` (第九条)."""
    return frozenset(
        destinations_key(chosen) for chosen in _DESTINATION_SETS if may_sign(role, chosen, rules)
    )


@attrs.frozen(order=True)
class LanePosition:
    """Where a row sorts in its lane: (priority, when, id, item_id), compared in that order.

    Every keyset list uses it as its cursor's key (:mod:`qiandao.paging`); the item lists
    compare it in their own order (:func:`qiandao.queries.order_position`).

    ``when`` is the instant the item entered its state (item lanes) or the due day (assignment
    lanes); ``id`` is the item id or the assignment id.
    """

    priority: int
    """The first sort key: 0 for an urgent item (急事急报), else 1 (0 in assignment queries)."""
    when: datetime | date
    """When the item entered its state (item lanes) or the due day (assignment lanes)."""
    id: str
    """The item id (item lanes) or the assignment id (assignment lanes)."""
    item_id: str
    """The item's id (breaks the last tie)."""


def item_position(item: Item) -> LanePosition:
    """The sort key of an item in an item lane: urgent first, then oldest in its state."""
    return LanePosition(priority(item.urgent), entered_state_at(item), item.id, item.id)


def lane_position(lane: Lane, item: Item, assignment: Assignment | None = None) -> LanePosition:
    """The sort key of a row of ``lane`` (assignment lanes: urgent first, then due day)."""
    if lane not in ASSIGNMENT_LANES or assignment is None:
        return item_position(item)
    return LanePosition(priority(item.urgent), assignment.due, assignment.id, item.id)
