"""Units and jurisdictions as commands: permission, validation, events, merge and retirement."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import (
    ZHOUSHAN_JURISDICTIONS,
    AccountEventKind,
    AssignmentState,
    EventKind,
    Jurisdiction,
    Role,
    Unit,
    UnitEventKind,
    replay,
)
from qiandao._core import Actor
from qiandao.audit import AuditQuery
from qiandao.ports.store import AssignmentQuery
from qiandao.testing import enrol
from tests.helpers import DH, ZS, World, at, fails, make_world

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
DH_ADMIN = Actor("admin-dh", Role.SYSTEM_ADMIN, DH)
SECURITY = Actor("security-1", Role.SECURITY_ADMIN, ZS)
AUDITOR = Actor("audit-1", Role.AUDIT_ADMIN, ZS)


@pytest.fixture
def w() -> World:
    world = make_world()
    enrol(world.store, ADMIN, DH_ADMIN, SECURITY, AUDITOR)
    return world


def snapshot(w: World) -> tuple[Any, ...]:
    """Everything a unit or jurisdiction command may change."""
    with w.store.unit_of_work() as uow:
        units = uow.units.list()
        return (
            units,
            [uow.units.events(u.id) for u in units],
            uow.jurisdictions.list(),
            uow.accounts.list(),
        )


def unchanged(w: World, code: str, call: Any) -> None:
    """``call`` fails with ``code`` and changes no unit, jurisdiction or account."""
    before = snapshot(w)
    fails(code, call)
    assert snapshot(w) == before


# --- adding, renaming ---------------------------------------------------------------------------


def test_a_system_admin_adds_a_unit_with_an_event_and_an_audit_record(w: World) -> None:
    unit = w.qd.add_unit(ADMIN, "u-new", "  市交通运输局 ")
    assert unit == Unit("u-new", "市交通运输局", ZS)
    county = w.qd.add_unit(ADMIN, "u-dh2", "定海区交通局", DH)  # the platform's admin: anywhere
    assert county.jurisdiction == DH
    with w.store.unit_of_work() as uow:
        assert uow.units.get("u-new") == unit
        (event,) = uow.units.events("u-new")
    assert (event.kind, event.actor_id, event.unit, event.sequence) == (
        UnitEventKind.ADDED,
        ADMIN.account_id,
        unit,
        1,
    )
    (record,) = w.qd.audit_log(AUDITOR, AuditQuery(action="add_unit", target_id="u-new")).records
    assert record.entry.events == ("unit_added",)
    # the new unit is assigned like any other
    item = w.issued()
    assigned = w.qd.assign(w.editor, item.id, [("u-new", True)])
    assert [a.unit_id for a in assigned.assignments] == ["u-new"]


def test_unit_commands_are_for_the_system_admin_of_the_units_jurisdiction(w: World) -> None:
    for actor in (w.editor, w.head, SECURITY, AUDITOR, w.unit("u-a"), w.county["editor"]):
        unchanged(w, "permission.denied", lambda a=actor: w.qd.add_unit(a, "u-x", "某局"))
        unchanged(w, "permission.denied", lambda a=actor: w.qd.rename_unit(a, "u-a", "某局"))
        unchanged(w, "permission.denied", lambda a=actor: w.qd.retire_unit(a, "u-c"))
        unchanged(w, "permission.denied", lambda a=actor: w.qd.merge_units(a, "u-a", "u-b"))
    # a county admin manages its own units only (第十五条)
    unchanged(w, "permission.jurisdiction", lambda: w.qd.add_unit(DH_ADMIN, "u-x", "某局", ZS))
    # another jurisdiction's unit answers as an unknown one (no probing which units exist)
    unchanged(w, "input.invalid", lambda: w.qd.rename_unit(DH_ADMIN, "u-a", "某局"))
    unchanged(w, "input.invalid", lambda: w.qd.retire_unit(DH_ADMIN, "u-c"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(DH_ADMIN, "u-a", "u-b"))
    assert w.qd.add_unit(DH_ADMIN, "u-dh3", "定海区文旅局").jurisdiction == DH
    # an actor the store does not hold is refused before anything
    ghost = Actor("ghost", Role.SYSTEM_ADMIN, ZS)
    unchanged(w, "account.actor_refused", lambda: w.qd.add_unit(ghost, "u-x", "某局"))


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        (("u-a", "重复编号的局"), "unit.duplicate"),
        (("u-x", ""), "input.invalid"),
        (("u-x", "   "), "input.invalid"),
        (("u-x", "局\x00"), "input.invalid"),
        (("u-x", 42), "input.invalid"),
        (("u-x", "长" * 101), "input.too_large"),
        (("", "某局"), "input.invalid"),
        ((7, "某局"), "input.invalid"),
        (("u-x", "某局", "hangzhou"), "input.invalid"),  # no such jurisdiction
        (("u-x", "某局", "Zhou Shan"), "input.invalid"),  # not a code
    ],
)
def test_a_bad_unit_changes_nothing(w: World, arguments: tuple[Any, ...], code: str) -> None:
    unchanged(w, code, lambda: w.qd.add_unit(ADMIN, *arguments))


@given(name=st.one_of(st.text(max_size=120), st.integers(), st.none(), st.binary(max_size=4)))
def test_any_unit_name_is_stored_clean_or_refused_as_input(name: Any) -> None:
    w = make_world()
    enrol(w.store, ADMIN)
    before = snapshot(w)
    try:
        unit = w.qd.rename_unit(ADMIN, "u-a", name)
    except Exception as error:
        assert getattr(error, "code", None) in {"input.invalid", "input.too_large"}
        assert snapshot(w) == before
    else:
        assert isinstance(name, str) and unit.name == name.strip()
        assert 1 <= len(unit.name) <= 100


def test_renaming_keeps_the_id_and_records_only_a_real_change(w: World) -> None:
    renamed = w.qd.rename_unit(ADMIN, "u-a", "市自然资源局")
    assert (renamed.id, renamed.name, renamed.version) == ("u-a", "市自然资源局", 2)
    assert w.qd.rename_unit(ADMIN, "u-a", "市自然资源局") == renamed  # nothing to record
    with w.store.unit_of_work() as uow:
        assert [e.kind for e in uow.units.events("u-a")] == [UnitEventKind.RENAMED]
    unchanged(w, "input.invalid", lambda: w.qd.rename_unit(ADMIN, "no-such-unit", "某局"))
    unchanged(w, "input.invalid", lambda: w.qd.rename_unit(ADMIN, "u-old", "某局"))  # retired


def test_a_unit_command_with_an_idempotency_key_runs_once(w: World) -> None:
    first = w.qd.add_unit(ADMIN, "u-k", "某局", idempotency_key="k-1")
    again = w.qd.add_unit(ADMIN, "u-k", "某局", idempotency_key="k-1")
    assert again == first
    with w.store.unit_of_work() as uow:
        assert len(uow.units.events("u-k")) == 1
    unchanged(
        w,
        "store.idempotency_conflict",
        lambda: w.qd.add_unit(ADMIN, "u-k2", "某局", idempotency_key="k-1"),
    )
    merged = w.qd.merge_units(ADMIN, "u-k", "u-c", idempotency_key="k-2")
    assert w.qd.merge_units(ADMIN, "u-k", "u-c", idempotency_key="k-2") == merged


# --- retiring and merging -----------------------------------------------------------------------


def test_a_unit_with_open_work_is_not_retired_and_a_retired_unit_is_never_assigned(
    w: World,
) -> None:
    item, (assignment,) = w.assigned(("u-a", True))
    unchanged(w, "unit.busy", lambda: w.qd.retire_unit(ADMIN, "u-a"))
    retired = w.qd.retire_unit(ADMIN, "u-c")
    assert (retired.active, retired.merged_into, retired.version) == (False, None, 2)
    unchanged(w, "input.invalid", lambda: w.qd.retire_unit(ADMIN, "u-c"))  # already retired
    fails("input.invalid", lambda: w.qd.assign(w.editor, item.id, ["u-c"]))
    w.qd.decline(w.unit("u-a"), item.id, assignment.id, "不属于本单位职责")
    fails("input.invalid", lambda: w.qd.reassign(w.editor, item.id, assignment.id, "u-c"))
    assert w.qd.reassign(w.editor, item.id, assignment.id, "u-b").assignments[-1].unit_id == "u-b"


def test_merging_moves_open_work_and_grants_and_keeps_the_history(w: World) -> None:
    done, (replied,) = w.accepted("u-a")
    w.qd.reply(w.unit("u-a"), done.id, replied.id, "已答复")
    w.clock.set(at(2026, 3, 3))
    item, (open_a, open_b) = w.assigned(("u-a", True), "u-b")
    with w.store.unit_of_work() as uow:
        assignment_events = len(uow.events.for_item(item.id))
    gone = w.qd.merge_units(ADMIN, "u-a", "u-b")
    assert (gone.id, gone.active, gone.merged_into) == ("u-a", False, "u-b")
    stored = w.load(item.id)
    moved = next(a for a in stored.assignments if a.id == open_a.id)
    assert (moved.unit_id, moved.lead, moved.due, moved.state) == (
        "u-b",
        True,
        open_a.due,
        AssignmentState.PENDING,
    )
    events = w.events(item.id)
    assert [e.kind for e in events[assignment_events:]] == [EventKind.UNIT_MERGED]
    notice = w.notifier.sent[-1]  # the surviving unit is told of the work it took over
    assert (notice.kind, notice.recipients, notice.item_id) == (
        "unit_merged",
        ("unit:u-b",),
        item.id,
    )
    assert replay(events) == stored  # the item is still its events
    assigned = {
        e.change.assignment.unit_id
        for e in events
        if e.kind is EventKind.ASSIGNED and e.change.assignment is not None
    }
    assert assigned == {"u-a", "u-b"}  # the item's history keeps the old unit's id
    # replied work keeps the old unit: reports attribute it through merged_into
    assert w.load(done.id).assignments[0].unit_id == "u-a"
    # the unit's account now acts for the survivor; its old grant is refused
    fails("account.actor_refused", lambda: w.qd.accept(w.unit("u-a"), item.id, open_a.id))
    survivor_actor = attrs.evolve(w.unit("u-a"), unit_id="u-b")
    accepted = w.qd.accept(survivor_actor, item.id, open_a.id)
    assert accepted.assignments[0].state is AssignmentState.ACCEPTED
    with w.store.unit_of_work() as uow:
        account = uow.accounts.get(w.unit("u-a").account_id)
        kinds = [e.kind for e in uow.accounts.events(account.id)]
        merged, absorbed = uow.units.events("u-a")[-1], uow.units.events("u-b")[-1]
    assert [g.unit_id for g in account.grants] == ["u-b"]
    assert kinds[-2:] == [AccountEventKind.GRANT_REVOKED, AccountEventKind.GRANT_ADDED]
    assert (merged.kind, merged.other, merged.moved_assignments, merged.moved_grants) == (
        UnitEventKind.MERGED,
        "u-b",
        1,
        1,
    )
    assert (absorbed.kind, absorbed.other) == (UnitEventKind.ABSORBED, "u-a")
    assert open_b.unit_id == "u-b"


def test_merge_refusals_change_nothing(w: World) -> None:
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "u-a"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "u-old"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-old", "u-a"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "u-dh"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "nowhere"))
    unchanged(w, "input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", ""))


# --- queries ------------------------------------------------------------------------------------


def test_units_are_listed_within_the_actors_jurisdiction(w: World) -> None:
    assert [u.id for u in w.qd.units(w.editor).items] == ["u-a", "u-b", "u-c", "u-old"]
    assert [u.id for u in w.qd.units(w.county["editor"]).items] == ["u-dh"]
    fails("permission.jurisdiction", lambda: w.qd.units(w.county["editor"], ZS))
    fails("permission.jurisdiction", lambda: w.qd.units(DH_ADMIN, ZS))
    assert [u.id for u in w.qd.units(ADMIN, DH).items] == ["u-dh"]
    fails("input.invalid", lambda: w.qd.units(ADMIN, "有空格 x"))
    w.qd.rename_unit(ADMIN, "u-a", "新名")
    assert [e.kind for e in w.qd.unit_history(ADMIN, "u-a").items] == [UnitEventKind.RENAMED]
    fails("permission.denied", lambda: w.qd.unit_history(w.editor, "u-a"))
    fails("not_found", lambda: w.qd.unit_history(DH_ADMIN, "u-a"))  # as an unknown unit


# --- jurisdictions ------------------------------------------------------------------------------


def test_jurisdictions_are_data_the_platform_admin_keeps(w: World) -> None:
    listed = w.qd.jurisdictions(w.member)
    assert listed.items == tuple(sorted(ZHOUSHAN_JURISDICTIONS, key=lambda j: j.code))
    assert listed.total == len(ZHOUSHAN_JURISDICTIONS)
    added = w.qd.add_jurisdiction(ADMIN, "zhoushan.xinqu", "舟山群岛新区", "zhoushan")
    assert added == Jurisdiction("zhoushan.xinqu", "舟山群岛新区", "zhoushan")
    renamed = w.qd.rename_jurisdiction(ADMIN, "zhoushan.xinqu", "新区")
    assert (renamed.name, renamed.version) == ("新区", 2)
    assert w.qd.add_unit(ADMIN, "u-xq", "新区管委会", "zhoushan.xinqu").jurisdiction == (
        "zhoushan.xinqu"
    )
    for actor in (DH_ADMIN, SECURITY, w.editor):
        unchanged(
            w, "permission.denied", lambda a=actor: w.qd.add_jurisdiction(a, "x.y", "某地", ZS)
        )
        unchanged(w, "permission.denied", lambda a=actor: w.qd.rename_jurisdiction(a, DH, "某"))
    unchanged(w, "jurisdiction.duplicate", lambda: w.qd.add_jurisdiction(ADMIN, DH, "定海"))
    unchanged(w, "input.invalid", lambda: w.qd.add_jurisdiction(ADMIN, "a.b", "某地", "nowhere"))
    unchanged(w, "input.invalid", lambda: w.qd.add_jurisdiction(ADMIN, "A B", "某地"))
    unchanged(w, "input.invalid", lambda: w.qd.add_jurisdiction(ADMIN, "a.b", ""))
    unchanged(w, "input.invalid", lambda: w.qd.rename_jurisdiction(ADMIN, "nowhere", "某地"))


def test_report_up_follows_the_stored_parent_link(w: World) -> None:
    w.qd.add_jurisdiction(ADMIN, "zhoushan.islands", "海岛片区", ZS)
    with w.store.unit_of_work() as uow:  # a reorganisation puts 定海 under the new level
        dinghai = uow.jurisdictions.get(DH)
        assert dinghai is not None
        uow.jurisdictions.save(
            attrs.evolve(dinghai, parent="zhoushan.islands", version=2), dinghai.version
        )
        uow.commit()
    county = w.issued(w.county)
    linked = w.qd.report_up(w.county["editor"], county.id)
    assert linked.reported_as is not None
    assert w.load(linked.reported_as).jurisdiction == "zhoushan.islands"
    # the dotted code is the fallback only: the city is no longer 定海's parent
    second = w.issued(w.county)
    fails("input.invalid", lambda: w.qd.report_up(w.county["editor"], second.id, ZS))


# --- a property over any sequence of unit commands ----------------------------------------------

_IDS = st.sampled_from(["u-a", "u-b", "u-c", "u-old", "u-dh", "u-n1", "u-n2"])
_ACTORS = st.sampled_from([ADMIN, DH_ADMIN, SECURITY])
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _ACTORS, _IDS, st.sampled_from(["新局", "", ZS, DH])),
        st.tuples(st.just("rename"), _ACTORS, _IDS, st.sampled_from(["改名", " ", "x" * 101])),
        st.tuples(st.just("merge"), _ACTORS, _IDS, _IDS),
        st.tuples(st.just("retire"), _ACTORS, _IDS, st.just("")),
    ),
    max_size=8,
)


def _step(w: World, step: tuple[str, Actor, str, str]) -> None:
    kind, actor, unit_id, other = step
    if kind == "add":
        place = other if other in (ZS, DH) else None
        w.qd.add_unit(actor, unit_id, other if place is None else "新局", place)
    elif kind == "rename":
        w.qd.rename_unit(actor, unit_id, other)
    elif kind == "merge":
        w.qd.merge_units(actor, unit_id, other)
    else:
        w.qd.retire_unit(actor, unit_id)


@given(steps=_STEPS)
def test_any_sequence_of_unit_commands_keeps_units_and_work_consistent(
    steps: list[tuple[str, Actor, str, str]],
) -> None:
    """Whatever the admins try: a refusal changes nothing; each unit is its last event; a
    merged unit is retired and names an existing unit of its jurisdiction; no open assignment
    is left with a retired unit."""
    w = make_world()
    enrol(w.store, ADMIN, DH_ADMIN, SECURITY)
    w.assigned(("u-a", True), "u-b")
    for step in steps:
        before = snapshot(w)
        try:
            _step(w, step)
        except Exception as error:
            assert getattr(error, "code", "").split(".")[0] in {
                "input",
                "permission",
                "unit",
            }, error
            assert snapshot(w) == before
    with w.store.unit_of_work() as uow:
        units = {u.id: u for u in uow.units.list()}
        for unit in units.values():
            events = uow.units.events(unit.id)
            if events:
                assert events[-1].unit == unit
                assert [e.sequence for e in events] == list(range(1, len(events) + 1))
            if unit.merged_into is not None:
                assert not unit.active
                assert units[unit.merged_into].jurisdiction == unit.jurisdiction
        for _, assignment in uow.items.assignments(AssignmentQuery()):
            if assignment.open:
                assert units[assignment.unit_id].active
