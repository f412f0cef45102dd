"""The transition tables are total: each (state, command, role) is a transition or an error."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao.errors import InvalidTransition, PermissionDenied
from qiandao.rules.lifecycle import (
    ADOPTED_STATES,
    ASSIGNMENT_TRANSITIONS,
    ITEM_TRANSITIONS,
    TERMINAL_ITEM_STATES,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
    allowed_assignment_commands,
    allowed_item_commands,
    next_assignment_state,
    next_item_state,
)
from qiandao.rules.roles import ADMIN_ROLES, SIGNER_ROLES, SUBMITTER_ROLES, Role


def test_item_table_is_total() -> None:
    outcomes = {"ok": 0, "permission": 0, "state": 0}
    for state, command, role in itertools.product(ItemState, ItemCommand, Role):
        try:
            target = next_item_state(state, command, role)
        except PermissionDenied as e:
            assert e.code == "permission.denied"
            assert not any(r == role and c == command for (_, c, r) in ITEM_TRANSITIONS)
            outcomes["permission"] += 1
        except InvalidTransition as e:
            assert e.code == "state.invalid_transition"
            assert (state, command, role) not in ITEM_TRANSITIONS
            outcomes["state"] += 1
        else:
            assert ITEM_TRANSITIONS[(state, command, role)] == target
            assert command in allowed_item_commands(state, role)
            outcomes["ok"] += 1
    assert outcomes["ok"] == len(ITEM_TRANSITIONS)
    assert all(outcomes.values())


def test_assignment_table_is_total() -> None:
    for state, command, role in itertools.product(AssignmentState, AssignmentCommand, Role):
        try:
            target = next_assignment_state(state, command, role)
        except (PermissionDenied, InvalidTransition) as e:
            assert (state, command, role) not in ASSIGNMENT_TRANSITIONS
            assert e.code in {"permission.denied", "state.invalid_transition"}
        else:
            assert ASSIGNMENT_TRANSITIONS[(state, command, role)] == target
            assert command in allowed_assignment_commands(state, role)


def test_terminal_states_allow_nothing() -> None:
    for state, role in itertools.product(TERMINAL_ITEM_STATES, Role):
        assert allowed_item_commands(state, role) == frozenset()
    for ended in (AssignmentState.REASSIGNED, AssignmentState.CANCELLED):
        for role in Role:
            assert allowed_assignment_commands(ended, role) == frozenset()


def test_administrators_run_no_item_command() -> None:
    for state, role in itertools.product(ItemState, ADMIN_ROLES):
        assert allowed_item_commands(state, role) == frozenset()


def test_design_table_rows() -> None:
    assert next_item_state(ItemState.DRAFT, ItemCommand.SUBMIT, Role.MEMBER) is ItemState.SUBMITTED
    assert (
        next_item_state(ItemState.SUBMITTED, ItemCommand.PASS_PRELIMINARY, Role.EDITOR)
        is ItemState.IN_REVIEW
    )
    assert (
        next_item_state(ItemState.IN_REVIEW, ItemCommand.SEND_BACK, Role.DEPUTY)
        is ItemState.SUBMITTED
    )
    for signer in SIGNER_ROLES:
        assert (
            next_item_state(ItemState.AWAITING_SIGNOFF, ItemCommand.SIGN, signer)
            is ItemState.ISSUED
        )
        assert (
            next_item_state(ItemState.AWAITING_SIGNOFF, ItemCommand.SEND_BACK, signer)
            is ItemState.IN_REVIEW
        )
    assert (
        next_assignment_state(AssignmentState.DECLINED, AssignmentCommand.OVERRULE, Role.EDITOR)
        is AssignmentState.ACCEPTED
    )
    with pytest.raises(PermissionDenied):
        next_item_state(ItemState.SUBMITTED, ItemCommand.PASS_PRELIMINARY, Role.MEMBER)
    with pytest.raises(InvalidTransition):
        next_item_state(ItemState.CLOSED, ItemCommand.SUBMIT, Role.MEMBER)


def test_labels_are_chinese() -> None:
    assert ItemState.DRAFT.label == "草稿"
    for enum in (ItemState, ItemCommand, AssignmentState, AssignmentCommand, Role):
        for member in enum:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in member.label), member


@given(
    st.lists(
        st.tuples(st.sampled_from(ItemCommand), st.sampled_from(sorted(Role, key=str))),
        max_size=40,
    )
)
def test_random_walks_only_reach_declared_states(steps: list[tuple[ItemCommand, Role]]) -> None:
    """Any walk through the table: adoption is never left once reached except by closing."""
    state = ItemState.DRAFT
    adopted = False
    for command, role in steps:
        try:
            state = next_item_state(state, command, role)
        except (PermissionDenied, InvalidTransition):
            continue
        if state in ADOPTED_STATES:
            adopted = True
        if adopted:
            assert state in ADOPTED_STATES
        if command is ItemCommand.SUBMIT:
            assert role in SUBMITTER_ROLES
