"""Handling units and jurisdictions as commands (第十、十五、十六条): add, rename, merge, retire.

Each method checks its input at the boundary, loads its facts, calls one decision of
:mod:`qiandao.workflow.units` and stages the result on the one command runner, which verifies
the actor and appends the audit record. Every unit change is also an event of the unit's own
log (:class:`~qiandao.model.UnitEvent`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence

import attrs

from qiandao._core import Actor, Tx, _Core, check_ids, once
from qiandao.errors import InvalidInput, JurisdictionDenied, NotFound, QiandaoError
from qiandao.events import Change, EventKind
from qiandao.lanes import LanePosition
from qiandao.model import (
    AccountEventKind,
    Assignment,
    Item,
    Jurisdiction,
    Unit,
    UnitEvent,
    UnitEventKind,
)
from qiandao.paging import EPOCH, Page, page_of, page_start, sequence_id
from qiandao.ports.store import AssignmentQuery
from qiandao.rules.lifecycle import OPEN_ASSIGNMENT_STATES
from qiandao.rules.roles import Role
from qiandao.workflow import units as decide
from qiandao.workflow.units import NewUnit

__all__ = ["NewUnit", "UnitCommands"]


def _record(
    tx: Tx,
    unit: Unit,
    kind: UnitEventKind,
    *,
    other: str | None = None,
    assignments: int = 0,
    grants: int = 0,
) -> None:
    """Append the unit's next event (by the command's actor) and name it in the audit."""
    assert tx.actor is not None
    sequence = len(tx.uow.units.events(unit.id)) + 1
    event = UnitEvent(
        unit.id, sequence, kind, tx.actor.account_id, tx.now, unit, other, assignments, grants
    )
    tx.uow.units.append_events([event])
    tx.audit_events.append(f"unit_{kind.value}")
    tx.audit_targets.append(unit.id)


def _open_assignments(tx: Tx, unit: Unit) -> list[tuple[Item, Assignment]]:
    query = AssignmentQuery(
        jurisdiction=unit.jurisdiction, unit_id=unit.id, states=OPEN_ASSIGNMENT_STATES
    )
    return tx.uow.items.assignments(query)


def _add_unit(tx: Tx, actor: Actor, unit_id: str, name: str, jurisdiction: str) -> Unit:
    place = tx.uow.jurisdictions.get(jurisdiction)
    try:
        taken: Unit | None = tx.uow.units.get(unit_id)
    except NotFound:
        taken = None
    unit = decide.new_unit(actor, unit_id, name, place, taken, tx.platform(), code=jurisdiction)
    tx.uow.units.add(unit)
    _record(tx, unit, UnitEventKind.ADDED)
    return unit


def _import_units(tx: Tx, actor: Actor, rows: Sequence[tuple[str, str, str, bool]]) -> list[Unit]:
    """Add every unit in one transaction; the first refusal names its row (``details["row"]``,
    from 0) and nothing is added."""
    added: list[Unit] = []
    for row, (unit_id, name, jurisdiction, active) in enumerate(rows):
        try:
            unit = _add_unit(tx, actor, unit_id, name, jurisdiction)
            if not active:
                unit = _retire_unit(tx, actor, unit_id)
        except QiandaoError as error:
            raise _at_row(error, row) from None
        added.append(unit)
    return added


def _at_row(error: QiandaoError, row: int) -> QiandaoError:
    """``error`` naming the import row it refused (``details["row"]``, from 0)."""
    error.details = {**error.details, "row": row}
    return error


def _managed_unit(tx: Tx, actor: Actor, unit_id: str) -> Unit:
    """The stored unit, once the actor is known to be a system admin: a caller without the role
    is refused before the store is read, so it cannot tell which unit ids exist."""
    decide.require_unit_admin(actor, actor.jurisdiction, tx.platform())
    return _reachable_unit(tx, actor, unit_id, "unit_id")


def _reachable_unit(tx: Tx, actor: Actor, unit_id: str, field: str) -> Unit:
    """The unit if the actor manages its jurisdiction; one of another jurisdiction answers as an
    unknown id does, so a county admin cannot tell which other units exist (第十五条)."""
    try:
        unit = tx.uow.units.get(unit_id)
    except NotFound:
        unit = None
    if unit is None or not decide.administers(actor, unit.jurisdiction, tx.platform()):
        raise InvalidInput(f"承办单位不存在：{unit_id}", field=field)
    return unit


def _rename_unit(tx: Tx, actor: Actor, unit_id: str, name: str) -> Unit:
    unit = _managed_unit(tx, actor, unit_id)
    renamed = decide.renamed_unit(actor, unit, name, tx.platform())
    if renamed is None:
        return unit
    tx.uow.units.save(renamed, unit.version)
    _record(tx, renamed, UnitEventKind.RENAMED)
    return renamed


def _retire_unit(tx: Tx, actor: Actor, unit_id: str) -> Unit:
    unit = _managed_unit(tx, actor, unit_id)
    retired = decide.retired_unit(actor, unit, len(_open_assignments(tx, unit)), tx.platform())
    tx.uow.units.save(retired, unit.version)
    _record(tx, retired, UnitEventKind.RETIRED)
    return retired


def _merge_units(tx: Tx, actor: Actor, unit_id: str, into_unit_id: str) -> Unit:
    """Retire ``unit_id`` into ``into_unit_id``: its open assignments and handling-unit grants
    move to the survivor; replied, rated and closed work keeps the retired unit's id."""
    retired = _managed_unit(tx, actor, unit_id)
    survivor = _reachable_unit(tx, actor, into_unit_id, "into_unit_id")
    gone, kept = decide.units_merged(actor, retired, survivor, tx.platform())
    moved = _move_assignments(tx, retired, survivor)
    grants = _move_grants(tx, retired, survivor)
    tx.uow.units.save(gone, retired.version)
    tx.uow.units.save(kept, survivor.version)
    counts = {"assignments": moved, "grants": grants}
    _record(tx, gone, UnitEventKind.MERGED, other=survivor.id, **counts)
    _record(tx, kept, UnitEventKind.ABSORBED, other=retired.id, **counts)
    return gone


def _move_assignments(tx: Tx, retired: Unit, survivor: Unit) -> int:
    """Hand every open assignment of ``retired`` to ``survivor``: one UNIT_MERGED item event
    each (the item's history keeps the ASSIGNED event naming the retired unit)."""
    by_item: dict[str, tuple[Item, list[Assignment]]] = {}
    grouped: defaultdict[str, list[Assignment]] = defaultdict(list)
    for item, assignment in _open_assignments(tx, retired):
        by_item.setdefault(item.id, (item, grouped[item.id]))
        grouped[item.id].append(assignment)
    note = f"{retired.id}→{survivor.id}"
    for item, assignments in by_item.values():
        decision = [
            (
                EventKind.UNIT_MERGED,
                Change(assignment=decide.moved_assignment(a, survivor.id), note=note),
            )
            for a in assignments
        ]
        tx.stage(item, decision)
    return sum(len(a) for _, a in by_item.values())


def _move_grants(tx: Tx, retired: Unit, survivor: Unit) -> int:
    """Move every live account's handling-unit grant of ``retired`` to ``survivor``: the
    account records GRANT_REVOKED and GRANT_ADDED, and the old grant's sessions end."""
    count = 0
    for account in tx.uow.accounts.holders(Role.HANDLING_UNIT, retired.jurisdiction):
        grants, moved = decide.moved_grants(account.grants, retired.id, survivor.id)
        if not moved:
            continue
        saved = tx.save_account(account, attrs.evolve(account, grants=grants))
        for old, new in moved:
            tx.account_event(saved, AccountEventKind.GRANT_REVOKED, old)
            tx.account_event(saved, AccountEventKind.GRANT_ADDED, new)
            tx.uow.sessions.revoke_all(saved.id, old)
        count += len(moved)
    return count


def _add_jurisdiction(
    tx: Tx, actor: Actor, code: str, name: str, parent: str | None
) -> Jurisdiction:
    known = None if parent is None else tx.uow.jurisdictions.get(parent)
    taken = tx.uow.jurisdictions.get(code)
    place = decide.new_jurisdiction(actor, code, name, parent, known, taken, tx.platform())
    tx.uow.jurisdictions.add(place)
    tx.audit_events.append("jurisdiction_added")
    tx.audit_targets.append(code)
    return place


def _rename_jurisdiction(tx: Tx, actor: Actor, code: str, name: str) -> Jurisdiction:
    stored = tx.uow.jurisdictions.get(code)
    renamed = decide.renamed_jurisdiction(actor, stored, code, name, tx.platform())
    if renamed is None:
        assert stored is not None
        return stored
    tx.uow.jurisdictions.save(renamed, renamed.version - 1)
    tx.audit_events.append("jurisdiction_renamed")
    tx.audit_targets.append(code)
    return renamed


def _unit_again(tx: Tx, unit_id: str) -> Unit:
    """The unit a first call with the key changed, as stored now."""
    return tx.uow.units.get(unit_id)


def _jurisdiction_again(tx: Tx, code: str) -> Jurisdiction:
    """The jurisdiction a first call with the key changed, as stored now."""
    stored = tx.uow.jurisdictions.get(code)
    assert stored is not None  # jurisdictions are never deleted
    return stored


def _id_position(row: Unit | Jurisdiction) -> LanePosition:
    """A unit's or jurisdiction's place in its list: by id (a jurisdiction's code)."""
    return LanePosition(0, EPOCH, row.id, row.id)


def _event_position(event: UnitEvent) -> LanePosition:
    """A unit event's place in its log: by its sequence number."""
    key = sequence_id(event.sequence)
    return LanePosition(0, EPOCH, key, key)


class UnitCommands(_Core):
    """Handling units and jurisdictions: commands of the 系统管理员, queries of everyone."""

    # --- units ----------------------------------------------------------------------------

    def add_unit(
        self,
        actor: Actor,
        unit_id: str,
        name: str,
        jurisdiction: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Unit:
        """新增承办单位: a system admin adds a handling unit to a known jurisdiction (default:
        the admin's own). The id is the host's (e.g. a department code) and is never reused
        (``unit.duplicate``)."""
        check_ids(unit_id=unit_id)
        label = decide.check_name(name)
        place = decide.check_code(
            actor.jurisdiction if jurisdiction is None else jurisdiction, "jurisdiction"
        )
        work = functools.partial(
            _add_unit, actor=actor, unit_id=unit_id, name=label, jurisdiction=place
        )
        key = once(actor, idempotency_key, "add_unit", unit_id, label, place)
        return self._transact_once(actor, key, work, _unit_again)

    def import_units(self, actor: Actor, units: Sequence[NewUnit]) -> list[Unit]:
        """导入承办单位: add many units in one transaction, all or nothing (a first set-up, a
        reorganisation's list). Each is checked as :meth:`add_unit` (an inactive one is then
        retired); the first refusal carries ``details["row"]`` (its index, from 0) and nothing
        is added. Not idempotent by key: run again, it is refused as ``unit.duplicate``."""
        if isinstance(units, str | bytes) or not isinstance(units, Sequence):
            raise InvalidInput("承办单位列表须为序列", field="units")
        rows: list[tuple[str, str, str, bool]] = []
        for row, unit in enumerate(units):
            try:
                rows.append(self._import_row(actor, unit))
            except QiandaoError as error:
                raise _at_row(error, row) from None
        seen: set[str] = set()
        for row, (unit_id, *_) in enumerate(rows):
            if unit_id in seen:
                raise InvalidInput(f"导入的承办单位编号重复：{unit_id}", field="units", row=row)
            seen.add(unit_id)
        work = functools.partial(_import_units, actor=actor, rows=rows)
        return self._transact(actor, work)

    def _import_row(self, actor: Actor, unit: object) -> tuple[str, str, str, bool]:
        """One import row, checked at the boundary like :meth:`add_unit`'s arguments."""
        if not isinstance(unit, NewUnit):
            raise InvalidInput("承办单位须为 NewUnit", field="units")
        check_ids(unit_id=unit.id)
        place = actor.jurisdiction if unit.jurisdiction is None else unit.jurisdiction
        if type(unit.active) is not bool:
            raise InvalidInput("是否启用须为布尔值", field="active")
        return (
            unit.id,
            decide.check_name(unit.name),
            decide.check_code(place, "jurisdiction"),
            unit.active,
        )

    def rename_unit(
        self, actor: Actor, unit_id: str, name: str, *, idempotency_key: str | None = None
    ) -> Unit:
        """承办单位更名: the unit keeps its id (its assignments and accounts keep it too)."""
        check_ids(unit_id=unit_id)
        label = decide.check_name(name)
        work = functools.partial(_rename_unit, actor=actor, unit_id=unit_id, name=label)
        key = once(actor, idempotency_key, "rename_unit", unit_id, label)
        return self._transact_once(actor, key, work, _unit_again)

    def merge_units(
        self,
        actor: Actor,
        unit_id: str,
        into_unit_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> Unit:
        """承办单位合并 (after a government reorganisation): ``unit_id`` is retired into
        ``into_unit_id``, which takes over its open assignments (deadlines unchanged, one
        ``unit_merged`` item event each) and its handling-unit accounts' grants (their sessions
        in the old grant end). Replied and closed work keeps the old id; the retired unit's
        ``merged_into`` and both units' events record the merge, so reports still attribute
        past work. Returns the retired unit."""
        check_ids(unit_id=unit_id, into_unit_id=into_unit_id)
        work = functools.partial(
            _merge_units, actor=actor, unit_id=unit_id, into_unit_id=into_unit_id
        )
        key = once(actor, idempotency_key, "merge_units", unit_id, into_unit_id)
        return self._transact_once(actor, key, work, _unit_again)

    def retire_unit(
        self, actor: Actor, unit_id: str, *, idempotency_key: str | None = None
    ) -> Unit:
        """撤销承办单位: deactivate a unit (it can no longer be assigned or registered for).

        Refused (``unit.busy``) while it has open assignments: merge it instead.
        """
        check_ids(unit_id=unit_id)
        work = functools.partial(_retire_unit, actor=actor, unit_id=unit_id)
        key = once(actor, idempotency_key, "retire_unit", unit_id)
        return self._transact_once(actor, key, work, _unit_again)

    def units(
        self,
        actor: Actor,
        jurisdiction: str | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Unit]:
        """The handling units of a jurisdiction (default: the actor's own), retired ones
        included (``active``, ``merged_into``), by id, a page at a time. An actor lists only
        its own jurisdiction's units, except the platform's system admin (第十五条).
        ``cursor``: the previous page's ``next_cursor``; one of another list or account is
        ``input.invalid`` (field ``cursor``)."""
        place = decide.check_code(
            actor.jurisdiction if jurisdiction is None else jurisdiction, "jurisdiction"
        )
        listing = f"units:{place}"
        after = page_start(limit, cursor, listing, actor.account_id)
        self._check_reach(actor, place)
        with self._reading(actor) as uow:
            rows = uow.units.list(place)
        return page_of(rows, _id_position, limit, after, listing, actor.account_id)

    def unit_history(
        self, actor: Actor, unit_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[UnitEvent]:
        """A unit's events, in order, a page at a time (``cursor`` as in :meth:`units`): for
        the system admin who manages it."""
        check_ids(unit_id=unit_id)
        listing = f"unit_history:{unit_id}"
        after = page_start(limit, cursor, listing, actor.account_id)
        with self._reading(actor) as uow:
            decide.require_unit_admin(actor, actor.jurisdiction, self._platform())
            unit = uow.units.get(unit_id)  # NotFound
            if not decide.administers(actor, unit.jurisdiction, self._platform()):
                raise NotFound(f"承办单位不存在：{unit_id}", id=unit_id)  # as if unknown (第十五条)
            rows = uow.units.events(unit_id)
        return page_of(rows, _event_position, limit, after, listing, actor.account_id)

    # --- jurisdictions --------------------------------------------------------------------

    def add_jurisdiction(
        self,
        actor: Actor,
        code: str,
        name: str,
        parent: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Jurisdiction:
        """新增政协: the platform's system admin adds a jurisdiction under a known ``parent``
        (its reports go there, 第二十条)."""
        place = decide.check_code(code)
        label = decide.check_name(name)
        above = None if parent is None else decide.check_code(parent, "parent")
        work = functools.partial(
            _add_jurisdiction, actor=actor, code=place, name=label, parent=above
        )
        key = once(actor, idempotency_key, "add_jurisdiction", place, label, above)
        return self._transact_once(actor, key, work, _jurisdiction_again)

    def rename_jurisdiction(
        self, actor: Actor, code: str, name: str, *, idempotency_key: str | None = None
    ) -> Jurisdiction:
        """政协更名: the display name changes; the code (used everywhere) stays."""
        place = decide.check_code(code)
        label = decide.check_name(name)
        work = functools.partial(_rename_jurisdiction, actor=actor, code=place, name=label)
        key = once(actor, idempotency_key, "rename_jurisdiction", place, label)
        return self._transact_once(actor, key, work, _jurisdiction_again)

    def jurisdictions(
        self, actor: Actor, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Jurisdiction]:
        """Every jurisdiction with its name and parent, by code, a page at a time (public
        facts: any actor; ``cursor`` as in :meth:`units`)."""
        listing = "jurisdictions"
        after = page_start(limit, cursor, listing, actor.account_id)
        with self._reading(actor) as uow:
            rows = uow.jurisdictions.list()
        return page_of(rows, _id_position, limit, after, listing, actor.account_id)

    def _check_reach(self, actor: Actor, jurisdiction: str) -> None:
        """An actor reads its own jurisdiction's units; the platform's system admin any."""
        platform_admin = actor.role is Role.SYSTEM_ADMIN and actor.jurisdiction == self._platform()
        if jurisdiction != actor.jurisdiction and not platform_admin:
            raise JurisdictionDenied(jurisdiction=jurisdiction)
