"""Unit and jurisdiction commands on every store: a merge moves open work and grants (the unit
lanes follow), a retired unit is never assigned, refusals change nothing, report-up follows the
stored parent."""

from __future__ import annotations

import attrs

from qiandao import AssignmentState, Lane, Role, UnitEventKind
from qiandao._core import Actor
from qiandao.ports.store import Store
from qiandao.testing import enrol
from tests.helpers import DH, ZS, fails, make_world

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)


def test_a_merge_moves_open_work_and_grants_on_every_store(any_store: Store) -> None:
    w = make_world(store=any_store)
    enrol(w.store, ADMIN)
    item, (assignment,) = w.assigned(("u-a", True))
    w.qd.merge_units(ADMIN, "u-a", "u-b")
    stored = w.load(item.id)
    assert [a.unit_id for a in stored.assignments] == ["u-b"]
    survivor = attrs.evolve(w.unit("u-a"), unit_id="u-b")
    lane = w.qd.lane(survivor, Lane.TO_ACCEPT)  # the survivor's lane shows it
    assert [view.id for view in lane.items] == [item.id]
    accepted = w.qd.accept(survivor, item.id, assignment.id)
    assert accepted.assignments[0].state is AssignmentState.ACCEPTED
    fails("account.actor_refused", lambda: w.qd.lane(w.unit("u-a"), Lane.TO_ACCEPT))
    with w.store.unit_of_work() as uow:
        assert uow.units.get("u-a").merged_into == "u-b"
        assert [e.kind for e in uow.units.events("u-b")] == [UnitEventKind.ABSORBED]
    fails("input.invalid", lambda: w.qd.assign(w.editor, w.issued().id, ["u-a"]))
    fails("unit.busy", lambda: w.qd.retire_unit(ADMIN, "u-b"))
    assert not w.qd.retire_unit(ADMIN, "u-c").active


def test_refused_unit_commands_change_nothing_on_every_store(any_store: Store) -> None:
    w = make_world(store=any_store)
    enrol(w.store, ADMIN)
    with w.store.unit_of_work() as uow:
        before = (uow.units.list(), uow.jurisdictions.list())
    fails("unit.duplicate", lambda: w.qd.add_unit(ADMIN, "u-a", "重复"))
    fails("permission.denied", lambda: w.qd.add_unit(w.editor, "u-x", "某局"))
    fails("jurisdiction.duplicate", lambda: w.qd.add_jurisdiction(ADMIN, DH, "定海"))
    fails("input.invalid", lambda: w.qd.add_unit(ADMIN, "u-x", "某局", "hangzhou"))
    with w.store.unit_of_work() as uow:
        assert (uow.units.list(), uow.jurisdictions.list()) == before
        assert uow.units.events("u-a") == []


def test_report_up_follows_the_stored_parent_on_every_store(any_store: Store) -> None:
    w = make_world(store=any_store)
    enrol(w.store, ADMIN)
    w.qd.add_jurisdiction(ADMIN, "islands", "海岛片区", ZS)
    with w.store.unit_of_work() as uow:
        dinghai = uow.jurisdictions.get(DH)
        assert dinghai is not None
        uow.jurisdictions.save(attrs.evolve(dinghai, parent="islands", version=2), 1)
        uow.commit()
    linked = w.qd.report_up(w.county["editor"], w.issued(w.county).id)
    assert linked.reported_as is not None
    assert w.load(linked.reported_as).jurisdiction == "islands"
