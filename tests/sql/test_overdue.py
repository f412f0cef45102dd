"""The overdue list on every store: only assignments whose unit owes a reply are listed.

A declined assignment (申退) waits on the office, not the unit: past its due date it is not
overdue, as for reminders and the bulletin (``AWAITING_UNIT_STATES``).
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from qiandao import SHANGHAI, Actor, Qiandao, Role
from qiandao.model import Assignment
from qiandao.ports.store import Store
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.testing import ManualClock, enrol
from qiandao.testing.builders import sample_assignment, sample_item

EDITOR = Actor("e1", Role.EDITOR, "zhoushan")


def _open(assignment_id: str, unit_id: str, state: AssignmentState, due: date) -> Assignment:
    return attrs.evolve(
        sample_assignment(assignment_id, unit_id),
        state=state,
        due=due,
        extensions=(),
        replies=(),
        rated_at=None,
        rating_closes=None,
        decline_reason="不属于本单位职责范围" if state is AssignmentState.DECLINED else None,
        reassigned_to=None,
        rehandles=0,
        reminders=frozenset(),
        reply_workdays=None,
    )


def test_a_declined_assignment_past_due_is_not_overdue(any_store: Store) -> None:
    item = sample_item(
        "item-late",
        state=ItemState.HANDLING,
        closed_at=None,
        assignments=(
            _open("asg-pending", "unit-ocean", AssignmentState.PENDING, date(2025, 3, 31)),
            _open("asg-declined", "unit-hrss", AssignmentState.DECLINED, date(2025, 3, 28)),
            _open("asg-asked", "unit-dh", AssignmentState.EXTENSION_REQUESTED, date(2025, 4, 1)),
            _open("asg-later", "unit-fish", AssignmentState.ACCEPTED, date(2025, 6, 30)),
        ),
    )
    with any_store.unit_of_work() as uow:
        uow.items.add(item)
        uow.commit()
    declined_unit = Actor("u1", Role.HANDLING_UNIT, "zhoushan", unit_id="unit-hrss")
    enrol(any_store, EDITOR, declined_unit)
    qd = Qiandao(
        any_store, clock=ManualClock(datetime(2025, 5, 6, 9, tzinfo=SHANGHAI)), hasher=None
    )

    listed = [a.assignment.id for _, a in qd.overdue(EDITOR).items]
    assert listed == ["asg-pending", "asg-asked"]
    very = [a.assignment.id for _, a in qd.overdue(EDITOR, very=True).items]
    assert very == ["asg-pending", "asg-asked"]  # due before 18 April (ten working days back)
    assert qd.overdue(declined_unit).items == ()
