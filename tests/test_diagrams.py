"""The lifecycle diagrams: drawn from the transition tables, and embedded in docs/rules.md as
generated (regenerate with ``.venv/bin/python -m tests.diagrams``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from qiandao import InvalidInput
from qiandao.cli import main
from qiandao.rules import ASSIGNMENT_TRANSITIONS, ITEM_TRANSITIONS, Role, lifecycle_diagram
from qiandao.rules.diagram import DIAGRAMS, DiagramKind
from qiandao.rules.roles import SIGNER_ROLES, SUBMITTER_ROLES
from tests.diagrams import PAGE, embedded, fenced

# (state, its label, command label, role, target) of every row of each table
ROWS: Mapping[DiagramKind, list[tuple[str, str, str, Role, str]]] = {
    "item": [(s.value, s.label, c.label, r, t.value) for (s, c, r), t in ITEM_TRANSITIONS.items()],
    "assignment": [
        (s.value, s.label, c.label, r, t.value) for (s, c, r), t in ASSIGNMENT_TRANSITIONS.items()
    ],
}
NAMED = {"作者": frozenset(SUBMITTER_ROLES), "签发人": frozenset(SIGNER_ROLES)}
ARROW = re.compile(r"^    (\w+) --> (\w+): (.+)（(.+)）$")
NOTE = re.compile(r"^    note right of (\w+): 状态不变：(.+)$")


def _roles(names: str) -> frozenset[Role]:
    by_label = {role.label: role for role in Role}
    found: set[Role] = set()
    for name in names.split("、"):
        found |= NAMED.get(name) or {by_label[name]}
    return frozenset(found)


@pytest.mark.parametrize("kind", DIAGRAMS)
def test_the_page_embeds_the_generated_diagram(kind: DiagramKind) -> None:
    page = embedded(PAGE.read_text(encoding="utf-8"))
    assert page.get(kind) == fenced(kind), "stale: run `.venv/bin/python -m tests.diagrams`"


@pytest.mark.parametrize("kind", DIAGRAMS)
def test_the_diagram_is_exactly_the_transition_table(kind: DiagramKind) -> None:
    lines = lifecycle_diagram(kind).splitlines()
    assert lines[0] == "stateDiagram-v2"
    drawn: dict[tuple[str, str, str], frozenset[Role]] = {}
    kept: dict[str, list[str]] = {}
    for line in lines:
        if arrow := ARROW.match(line):
            source, target, command, names = arrow.groups()
            assert (source, command, target) not in drawn
            drawn[(source, command, target)] = _roles(names)
        elif note := NOTE.match(line):
            kept[note.group(1)] = note.group(2).split("；")
    moves: dict[tuple[str, str, str], set[Role]] = {}
    stays: dict[str, set[str]] = {}
    for state, _, command, role, target in ROWS[kind]:
        if target == state:
            stays.setdefault(state, set()).add(command)
        else:
            moves.setdefault((state, command, target), set()).add(role)
    assert drawn == {key: frozenset(roles) for key, roles in moves.items()}
    assert {state: set(labels) for state, labels in kept.items()} == stays
    for state, label, *_ in ROWS[kind]:
        assert f'    state "{label}" as {state}' in lines


def test_the_command_line_prints_the_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"]) == 0
    assert capsys.readouterr().out == lifecycle_diagram("item")
    assert main(["diagram", "assignment"]) == 0
    assert capsys.readouterr().out == lifecycle_diagram("assignment")
    with pytest.raises(SystemExit) as exit_:
        main(["diagram", "outbox"])
    assert exit_.value.code == 2


def test_an_unknown_kind_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        lifecycle_diagram("outbox")  # type: ignore[arg-type]
    assert info.value.code == "input.invalid"
