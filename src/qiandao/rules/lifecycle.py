"""The item and assignment lifecycles of 第九、十条 as transition tables.

A table maps (state, command, role) to the next state. Anything not in the table is refused:
``PermissionDenied`` when the role may never run the command, ``InvalidTransition`` when it may,
but not in this state. Relational checks (is the actor an author? the assigned unit?) belong to
the service; the tables only know roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidTransition, PermissionDenied
from qiandao.rules.roles import SIGNER_ROLES, SUBMITTER_ROLES, Role

__all__ = [
    "ADOPTED_STATES",
    "ASSIGNMENT_TRANSITIONS",
    "AUTHOR_ONLY_STATES",
    "AWAITING_UNIT_STATES",
    "ITEM_TRANSITIONS",
    "OPEN_ASSIGNMENT_STATES",
    "TERMINAL_ITEM_STATES",
    "AssignmentCommand",
    "AssignmentState",
    "ItemCommand",
    "ItemState",
    "allowed_assignment_commands",
    "allowed_item_commands",
    "next_assignment_state",
    "next_item_state",
]


class ItemState(LabelledEnum):
    """States of an item (第九条)."""

    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待初审"
    RETURNED = "returned", "退回修改"
    IN_REVIEW = "in_review", "待审核"
    AWAITING_SIGNOFF = "awaiting_signoff", "待签发"
    ISSUED = "issued", "已签发（录用）"
    HANDLING = "handling", "办理中"
    REPLIED = "replied", "已答复"
    CLOSED = "closed", "办结"
    NOT_ADOPTED = "not_adopted", "不予采用"
    MERGED = "merged", "已合并"
    WITHDRAWN = "withdrawn", "已撤回"


class ItemCommand(LabelledEnum):
    """Commands on an item."""

    EDIT_DRAFT = "edit_draft", "修改草稿"
    SUBMIT = "submit", "提交"
    WITHDRAW = "withdraw", "撤回"
    RESUBMIT = "resubmit", "重新提交"
    PASS_PRELIMINARY = "pass_preliminary", "初审通过"
    RETURN_FOR_REVISION = "return_for_revision", "退回修改"
    REJECT = "reject", "不予采用"
    MERGE = "merge", "合并"
    APPROVE = "approve", "审核通过"
    SEND_BACK = "send_back", "退回上一环节"
    SIGN = "sign", "签发"
    ASSIGN = "assign", "交办"
    ALL_REPLIED = "all_replied", "全部答复"
    RATE = "rate", "评价"
    REHANDLE = "rehandle", "重新办理"
    CLOSE = "close", "办结"
    RECORD_FEEDBACK = "record_feedback", "登记采用、批示、落实情况"
    SET_PUBLICATION_CONSENT = "set_publication_consent", "设置是否公开"
    RECLASSIFY = "reclassify", "调整密级"
    REPORT_UP = "report_up", "报送市政协"


class AssignmentState(LabelledEnum):
    """States of one unit's assignment (第十条)."""

    PENDING = "pending", "待签收"
    ACCEPTED = "accepted", "办理中"
    EXTENSION_REQUESTED = "extension_requested", "申请延期"
    DECLINED = "declined", "申退"
    REPLIED = "replied", "已答复"
    REASSIGNED = "reassigned", "已改派"
    CANCELLED = "cancelled", "已撤销"


class AssignmentCommand(LabelledEnum):
    """Commands on an assignment."""

    ACCEPT = "accept", "签收"
    DECLINE = "decline", "申退"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    APPROVE_EXTENSION = "approve_extension", "同意延期"
    REFUSE_EXTENSION = "refuse_extension", "不同意延期"
    REASSIGN = "reassign", "改派"
    OVERRULE = "overrule", "不同意申退"
    REPLY = "reply", "书面答复"
    REHANDLE = "rehandle", "重新办理"
    CANCEL = "cancel", "撤销交办"


ADOPTED_STATES = frozenset(
    {ItemState.ISSUED, ItemState.HANDLING, ItemState.REPLIED, ItemState.CLOSED}
)
AUTHOR_ONLY_STATES = frozenset({ItemState.DRAFT, ItemState.WITHDRAWN})
"""An item in these states was never (or is no longer) put to the office: its authors alone see
it, and everyone else is told it does not exist (第五条)."""
TERMINAL_ITEM_STATES = frozenset({ItemState.NOT_ADOPTED, ItemState.MERGED, ItemState.WITHDRAWN})
# The unit owes a reply (a DECLINED assignment waits on the office, not the unit).
AWAITING_UNIT_STATES = frozenset(
    {AssignmentState.PENDING, AssignmentState.ACCEPTED, AssignmentState.EXTENSION_REQUESTED}
)
OPEN_ASSIGNMENT_STATES = frozenset(
    {
        AssignmentState.PENDING,
        AssignmentState.ACCEPTED,
        AssignmentState.EXTENSION_REQUESTED,
        AssignmentState.DECLINED,
    }
)

_St = TypeVar("_St", ItemState, AssignmentState)
_Cmd = TypeVar("_Cmd", ItemCommand, AssignmentCommand)

_S = ItemState
_C = ItemCommand
_A = AssignmentState
_AC = AssignmentCommand


def _rows(
    entries: Iterable[tuple[_St, _Cmd, Iterable[Role], _St]],
) -> Mapping[tuple[_St, _Cmd, Role], _St]:
    table: dict[tuple[_St, _Cmd, Role], _St] = {}
    for state, command, roles, target in entries:
        for role in roles:
            key = (state, command, role)
            if key in table:  # pragma: no cover - guards the table literal itself
                raise AssertionError(f"duplicate transition {key}")
            table[key] = target
    return table


_AUTHOR = SUBMITTER_ROLES
_EDITOR = (Role.EDITOR,)
_DEPUTY = (Role.DEPUTY,)
_SIGNERS = SIGNER_ROLES
_UNIT = (Role.HANDLING_UNIT,)
_FEEDBACK_STATES = (_S.ISSUED, _S.HANDLING, _S.REPLIED, _S.CLOSED)
_OPEN_STATES = (
    _S.DRAFT,
    _S.SUBMITTED,
    _S.RETURNED,
    _S.IN_REVIEW,
    _S.AWAITING_SIGNOFF,
    *_FEEDBACK_STATES,
)

ITEM_TRANSITIONS: Mapping[tuple[ItemState, ItemCommand, Role], ItemState] = _rows(
    [
        (_S.DRAFT, _C.EDIT_DRAFT, _AUTHOR, _S.DRAFT),
        (_S.DRAFT, _C.SUBMIT, _AUTHOR, _S.SUBMITTED),
        (_S.DRAFT, _C.WITHDRAW, _AUTHOR, _S.WITHDRAWN),
        (_S.RETURNED, _C.EDIT_DRAFT, _AUTHOR, _S.RETURNED),
        (_S.RETURNED, _C.RESUBMIT, _AUTHOR, _S.SUBMITTED),
        (_S.RETURNED, _C.WITHDRAW, _AUTHOR, _S.WITHDRAWN),
        (_S.SUBMITTED, _C.PASS_PRELIMINARY, _EDITOR, _S.IN_REVIEW),
        (_S.SUBMITTED, _C.RETURN_FOR_REVISION, _EDITOR, _S.RETURNED),
        (_S.SUBMITTED, _C.REJECT, _EDITOR, _S.NOT_ADOPTED),
        (_S.SUBMITTED, _C.MERGE, _EDITOR, _S.MERGED),
        (_S.IN_REVIEW, _C.APPROVE, _DEPUTY, _S.AWAITING_SIGNOFF),
        (_S.IN_REVIEW, _C.SEND_BACK, _DEPUTY, _S.SUBMITTED),
        (_S.IN_REVIEW, _C.REJECT, _DEPUTY, _S.NOT_ADOPTED),
        (_S.AWAITING_SIGNOFF, _C.SIGN, _SIGNERS, _S.ISSUED),
        (_S.AWAITING_SIGNOFF, _C.SEND_BACK, _SIGNERS, _S.IN_REVIEW),
        (_S.AWAITING_SIGNOFF, _C.REJECT, _SIGNERS, _S.NOT_ADOPTED),
        (_S.ISSUED, _C.ASSIGN, _EDITOR, _S.HANDLING),
        (_S.HANDLING, _C.ASSIGN, _EDITOR, _S.HANDLING),
        (_S.REPLIED, _C.ASSIGN, _EDITOR, _S.HANDLING),
        (_S.HANDLING, _C.ALL_REPLIED, _UNIT, _S.REPLIED),
        (_S.HANDLING, _C.RATE, _AUTHOR, _S.HANDLING),
        (_S.REPLIED, _C.RATE, _AUTHOR, _S.REPLIED),
        (_S.HANDLING, _C.REHANDLE, _EDITOR, _S.HANDLING),
        (_S.REPLIED, _C.REHANDLE, _EDITOR, _S.HANDLING),
        (_S.ISSUED, _C.CLOSE, _EDITOR, _S.CLOSED),
        (_S.REPLIED, _C.CLOSE, _EDITOR, _S.CLOSED),
        *((s, _C.RECORD_FEEDBACK, _EDITOR, s) for s in _FEEDBACK_STATES),
        *((s, _C.REPORT_UP, _EDITOR, s) for s in _FEEDBACK_STATES),
        *((s, _C.SET_PUBLICATION_CONSENT, _AUTHOR, s) for s in _OPEN_STATES),
        # a draft is its authors' alone (AUTHOR_ONLY_STATES): the office cannot reclassify it
        *((s, _C.RECLASSIFY, _EDITOR, s) for s in _OPEN_STATES if s is not _S.DRAFT),
    ]
)
"""The item state machine: (state, command, acting role) to the state it leads to."""

ASSIGNMENT_TRANSITIONS: Mapping[
    tuple[AssignmentState, AssignmentCommand, Role], AssignmentState
] = _rows(
    [
        (_A.PENDING, _AC.ACCEPT, _UNIT, _A.ACCEPTED),
        (_A.PENDING, _AC.DECLINE, _UNIT, _A.DECLINED),
        (_A.ACCEPTED, _AC.REPLY, _UNIT, _A.REPLIED),
        (_A.EXTENSION_REQUESTED, _AC.REPLY, _UNIT, _A.REPLIED),
        (_A.ACCEPTED, _AC.REQUEST_EXTENSION, _UNIT, _A.EXTENSION_REQUESTED),
        (_A.EXTENSION_REQUESTED, _AC.APPROVE_EXTENSION, _EDITOR, _A.ACCEPTED),
        (_A.EXTENSION_REQUESTED, _AC.REFUSE_EXTENSION, _EDITOR, _A.ACCEPTED),
        (_A.DECLINED, _AC.REASSIGN, _EDITOR, _A.REASSIGNED),
        (_A.DECLINED, _AC.OVERRULE, _EDITOR, _A.ACCEPTED),
        (_A.REPLIED, _AC.REHANDLE, _EDITOR, _A.ACCEPTED),
        *((s, _AC.CANCEL, _EDITOR, _A.CANCELLED) for s in OPEN_ASSIGNMENT_STATES),
    ]
)
"""The assignment state machine: (state, command, acting role) to the state it leads to."""


def _roles_for(table: Mapping[tuple[_St, _Cmd, Role], _St], command: _Cmd) -> frozenset[Role]:
    return frozenset(role for (_, cmd, role) in table if cmd == command)


def _next(
    table: Mapping[tuple[_St, _Cmd, Role], _St], state: _St, command: _Cmd, role: Role
) -> _St:
    target = table.get((state, command, role))
    if target is not None:
        return target
    if role not in _roles_for(table, command):
        raise PermissionDenied(
            f"{role.label}无权执行“{command.label}”",
            role=role.value,
            command=command.value,
        )
    raise InvalidTransition(
        f"“{state.label}”状态下不能执行“{command.label}”",
        article="第十条" if isinstance(state, AssignmentState) else "第九条",
        state=state.value,
        command=command.value,
    )


def next_item_state(state: ItemState, command: ItemCommand, role: Role) -> ItemState:
    """The state after ``command`` by ``role``, or the domain error that refuses it."""
    return _next(ITEM_TRANSITIONS, state, command, role)


def next_assignment_state(
    state: AssignmentState, command: AssignmentCommand, role: Role
) -> AssignmentState:
    """The assignment state after ``command`` by ``role``, or the refusing domain error."""
    return _next(ASSIGNMENT_TRANSITIONS, state, command, role)


def allowed_item_commands(state: ItemState, role: Role) -> frozenset[ItemCommand]:
    """Commands the table lets ``role`` run on an item in ``state``: roles only, with no
    relation applied (author, signer tier, own assignment, windows). For menus use
    :func:`qiandao.workflow.actions.allowed_actions` (``Qiandao.allowed_actions``)."""
    return frozenset(c for (s, c, r) in ITEM_TRANSITIONS if s == state and r == role)


def allowed_assignment_commands(state: AssignmentState, role: Role) -> frozenset[AssignmentCommand]:
    """Commands the table lets ``role`` run on an assignment in ``state`` (roles only, as
    :func:`allowed_item_commands`)."""
    return frozenset(c for (s, c, r) in ASSIGNMENT_TRANSITIONS if s == state and r == role)
