"""The item and assignment lifecycles as Mermaid state diagrams, drawn from the transition tables.

The diagrams are generated, never drawn by hand, so the picture in docs/rules.md cannot drift
from :data:`~qiandao.rules.lifecycle.ITEM_TRANSITIONS` and
:data:`~qiandao.rules.lifecycle.ASSIGNMENT_TRANSITIONS`. A transition that changes the state is an
arrow labelled with the command and the roles that may run it; commands that keep the state
(recording feedback, rating, reclassifying …) are listed in a note beside the state, so the
picture stays readable. Labels are Chinese (the enums' labels).

>>> print(lifecycle_diagram("assignment").splitlines()[0])
stateDiagram-v2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, TypeVar

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput
from qiandao.rules.lifecycle import (
    ASSIGNMENT_TRANSITIONS,
    ITEM_TRANSITIONS,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
)
from qiandao.rules.roles import SIGNER_ROLES, SUBMITTER_ROLES, Role

__all__ = ["DIAGRAMS", "DiagramKind", "lifecycle_diagram"]

DiagramKind = Literal["item", "assignment"]
DIAGRAMS: tuple[DiagramKind, ...] = ("item", "assignment")
"""The lifecycles that have a diagram, in the order the docs show them."""

# Groups of roles named as one on an arrow (the table lists each role; the service then checks
# the relation: an author of this item, the signer of its tier).
_GROUPS: tuple[tuple[frozenset[Role], str], ...] = (
    (frozenset(SUBMITTER_ROLES), "作者"),
    (frozenset(SIGNER_ROLES), "签发人"),
)

_St = TypeVar("_St", ItemState, AssignmentState)
_Cmd = TypeVar("_Cmd", ItemCommand, AssignmentCommand)


def _who(roles: Iterable[Role]) -> str:
    """The roles of one arrow, in Role order, with a whole group named once."""
    left = set(roles)
    names: list[str] = []
    for group, name in _GROUPS:
        if group <= left:
            names.append(name)
            left -= group
    names.extend(role.label for role in Role if role in left)
    return "、".join(names)


def _ordered(members: Iterable[LabelledEnum]) -> list[LabelledEnum]:
    found = set(members)
    if not found:
        return []
    kind = type(next(iter(found)))
    return [m for m in kind if m in found]


def _render(table: Mapping[tuple[_St, _Cmd, Role], _St], states: type[_St], initial: _St) -> str:
    arrows: dict[tuple[_St, _Cmd, _St], set[Role]] = {}
    stays: dict[_St, set[_Cmd]] = {}
    for (state, command, role), target in table.items():
        if target is state:
            stays.setdefault(state, set()).add(command)
        else:
            arrows.setdefault((state, command, target), set()).add(role)
    order = {state: n for n, state in enumerate(states)}
    lines = ["stateDiagram-v2", "    direction TB"]
    lines.extend(f'    state "{state.label}" as {state.value}' for state in states)
    lines.append(f"    [*] --> {initial.value}")
    commands = list(type(next(iter(table))[1]))
    for (state, command, target), roles in sorted(
        arrows.items(),
        key=lambda a: (order[a[0][0]], commands.index(a[0][1]), order[a[0][2]]),
    ):
        lines.append(f"    {state.value} --> {target.value}: {command.label}（{_who(roles)}）")
    leaving = {state for state, _, _ in arrows}
    lines.extend(f"    {state.value} --> [*]" for state in states if state not in leaving)
    for state in states:
        if state in stays:
            kept = "；".join(c.label for c in _ordered(stays[state]))
            lines.append(f"    note right of {state.value}: 状态不变：{kept}")
    return "\n".join(lines) + "\n"


def lifecycle_diagram(kind: DiagramKind) -> str:
    """The ``item`` or ``assignment`` lifecycle as a Mermaid ``stateDiagram-v2`` (text ending in
    a newline); another ``kind`` is ``input.invalid``."""
    if kind == "item":
        return _render(ITEM_TRANSITIONS, ItemState, ItemState.DRAFT)
    if kind == "assignment":
        return _render(ASSIGNMENT_TRANSITIONS, AssignmentState, AssignmentState.PENDING)
    raise InvalidInput(f"没有这种生命周期图：{kind!r}（可选 item、assignment）", field="kind")
