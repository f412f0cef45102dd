"""Relation guards shared by the decisions: who stands in which relation to an item.

The transition tables of :mod:`qiandao.rules.lifecycle` know roles only; these guards add the
relations (the item's author, its lead author, the office of its jurisdiction, the assigned unit)
before a table is consulted (第五、九、十条).
"""

from __future__ import annotations

from qiandao.actor import Actor
from qiandao.errors import JurisdictionDenied, NotFound, PermissionDenied
from qiandao.model import Assignment, Item
from qiandao.rules.lifecycle import (
    AUTHOR_ONLY_STATES,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
    next_assignment_state,
    next_item_state,
)
from qiandao.rules.roles import OFFICE_ROLES, Role

__all__ = [
    "AUTHOR_COMMANDS",
    "LEAD_AUTHOR_COMMANDS",
    "assignment_step",
    "check_author",
    "check_office",
    "find_assignment",
    "item_step",
]

AUTHOR_COMMANDS = frozenset(
    {
        ItemCommand.EDIT_DRAFT,
        ItemCommand.SUBMIT,
        ItemCommand.WITHDRAW,
        ItemCommand.RESUBMIT,
        ItemCommand.RATE,
        ItemCommand.SET_PUBLICATION_CONSENT,
    }
)
"""Item commands only an author of the item may run."""

LEAD_AUTHOR_COMMANDS = frozenset(
    {ItemCommand.EDIT_DRAFT, ItemCommand.SUBMIT, ItemCommand.WITHDRAW, ItemCommand.RESUBMIT}
)
"""Item commands only the lead author may run (co-authors may not)."""


def check_office(actor: Actor, item: Item) -> None:
    """Office staff act only on items of their own jurisdiction, and never see an author's draft
    or withdrawn item: for them it does not exist (第五条)."""
    if actor.role not in OFFICE_ROLES:
        return
    if item.state in AUTHOR_ONLY_STATES and actor.account_id not in item.authors:
        raise NotFound(f"信息不存在：{item.id}", id=item.id)
    if actor.jurisdiction != item.jurisdiction:
        raise JurisdictionDenied(item=item.id)


def check_author(actor: Actor, item: Item, *, lead_only: bool = False) -> None:
    """Only an author (or only the lead author) of the item (第五条)."""
    allowed = {item.lead_author_id} if lead_only else item.authors
    if actor.account_id not in allowed:
        raise PermissionDenied("只有信息作者可以执行此操作", article="第五条", item=item.id)


def item_step(actor: Actor, item: Item, command: ItemCommand) -> ItemState:
    """Relation checks, then the transition table: the next state or a domain error."""
    if actor.role in OFFICE_ROLES:
        check_office(actor, item)
    elif actor.role is not Role.HANDLING_UNIT and command in AUTHOR_COMMANDS:
        check_author(actor, item, lead_only=command in LEAD_AUTHOR_COMMANDS)
    return next_item_state(item.state, command, actor.role)


def find_assignment(item: Item, assignment_id: str) -> Assignment:
    """The item's assignment with this id, or ``NotFound``."""
    assignment = item.assignment(assignment_id)
    if assignment is None:
        raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
    return assignment


def assignment_step(
    actor: Actor, item: Item, assignment_id: str, command: AssignmentCommand
) -> tuple[Assignment, AssignmentState]:
    """The assignment and its next state; a unit sees only its own assignments (第十条)."""
    assignment = find_assignment(item, assignment_id)
    if actor.role is Role.HANDLING_UNIT and actor.unit_id != assignment.unit_id:
        raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
    if actor.role in OFFICE_ROLES:
        check_office(actor, item)
    return assignment, next_assignment_state(assignment.state, command, actor.role)
