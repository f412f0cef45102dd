"""Decisions about handling units (承办单位) and jurisdictions (政协): who may change them, and how.

Units and jurisdictions are configuration the 市政协办公室 keeps (第十、十六条): the 系统管理员
manages them, never a content role, and never the security or audit admin (三员分立). A system
admin manages the units of their own jurisdiction; the admin of the platform's jurisdiction
manages every jurisdiction's units and alone adds or renames jurisdictions. Each decision is a
pure function of its facts; the service loads them and stages what is decided.
"""

from __future__ import annotations

import re

import attrs

from qiandao.actor import Actor
from qiandao.errors import (
    InvalidInput,
    JurisdictionDenied,
    JurisdictionExists,
    PermissionDenied,
    UnitBusy,
    UnitExists,
)
from qiandao.model import Assignment, Jurisdiction, RoleGrant, Unit
from qiandao.rules.roles import Role
from qiandao.rules.text import clean_text

__all__ = [
    "JURISDICTION_CODE_CHARS",
    "NAME_CHARS",
    "NewUnit",
    "administers",
    "check_code",
    "check_name",
    "moved_assignment",
    "moved_grants",
    "new_jurisdiction",
    "new_unit",
    "renamed_jurisdiction",
    "renamed_unit",
    "require_jurisdiction_admin",
    "require_unit_admin",
    "retired_unit",
    "units_merged",
]


@attrs.frozen
class NewUnit:
    """One unit of an import (:meth:`~qiandao.Qiandao.import_units`): id, name, jurisdiction
    (``None``: the admin's own) and whether it starts active (``False``: added, then retired,
    e.g. a unit already gone whose id old records name)."""

    id: str
    """The unit's id, chosen by the importer (kept for good)."""
    name: str
    """The unit's display name, in Chinese."""
    jurisdiction: str | None = None
    """Code of the unit's jurisdiction; ``None``: the admin's own."""
    active: bool = True
    """Whether the unit starts active (``False``: added, then retired at once)."""


NAME_CHARS = 100
"""The longest name of a unit or jurisdiction."""
JURISDICTION_CODE_CHARS = 64
"""The longest jurisdiction code (the stores' jurisdiction columns)."""
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*")


def check_name(value: object, field: str = "name") -> str:
    """A display name: text of 1 to 100 characters (``input.invalid`` naming ``field``)."""
    return clean_text(value, field, max_chars=NAME_CHARS)


def check_code(value: object, field: str = "code") -> str:
    """A jurisdiction code: dotted lower-case segments (``zhoushan.putuo``), at most 64."""
    if (
        not isinstance(value, str)
        or len(value) > JURISDICTION_CODE_CHARS
        or _CODE.fullmatch(value) is None
    ):
        raise InvalidInput(
            "政协编码须为小写字母、数字组成的点分段（如 zhoushan.putuo），不超过64字符",
            field=field,
        )
    return value


def administers(actor: Actor, jurisdiction: str, platform: str) -> bool:
    """Whether the actor's place reaches ``jurisdiction``: its own, or every one from the
    platform's (the role is checked by :func:`require_unit_admin`)."""
    return actor.jurisdiction in (jurisdiction, platform)


def require_unit_admin(actor: Actor, jurisdiction: str, platform: str) -> None:
    """Only a 系统管理员 of the unit's jurisdiction (or of the platform's) manages its units."""
    if actor.role is not Role.SYSTEM_ADMIN:
        raise PermissionDenied(
            "只有系统管理员可以管理承办单位", article="第十条", role=actor.role.value
        )
    if not administers(actor, jurisdiction, platform):
        raise JurisdictionDenied(jurisdiction=jurisdiction)


def require_jurisdiction_admin(actor: Actor, platform: str) -> None:
    """Only the 系统管理员 of the platform's jurisdiction (市政协办公室) adds or renames
    jurisdictions: every account and unit hangs on them (第十六条)."""
    if actor.role is not Role.SYSTEM_ADMIN or actor.jurisdiction != platform:
        raise PermissionDenied(
            "只有市政协办公室的系统管理员可以维护政协", article="第十六条", role=actor.role.value
        )


def _known(jurisdiction: Jurisdiction | None, code: str, field: str) -> Jurisdiction:
    if jurisdiction is None:
        raise InvalidInput(f"未知的政协：{code}", field=field)
    return jurisdiction


def new_unit(
    actor: Actor,
    unit_id: str,
    name: str,
    jurisdiction: Jurisdiction | None,
    taken: Unit | None,
    platform: str,
    *,
    code: str,
) -> Unit:
    """A new active unit of a known jurisdiction; its id is never reused (``unit.duplicate``).

    ``code`` is the jurisdiction named (``jurisdiction`` the stored one, ``None`` if unknown);
    the permission is checked before the facts, so a refused caller learns nothing of them.
    """
    require_unit_admin(actor, code, platform)
    place = _known(jurisdiction, code, "jurisdiction")
    if taken is not None:
        raise UnitExists(unit_id=unit_id)
    return Unit(unit_id, name, place.code)


def _managed(actor: Actor, unit: Unit, platform: str) -> Unit:
    """The unit, if the actor manages it and it is still active."""
    require_unit_admin(actor, unit.jurisdiction, platform)
    if not unit.active:
        raise InvalidInput("该承办单位已撤销", field="unit_id", article="第十条")
    return unit


def renamed_unit(actor: Actor, unit: Unit, name: str, platform: str) -> Unit | None:
    """The unit under its new name (``None``: the name is unchanged, nothing to record)."""
    _managed(actor, unit, platform)
    if name == unit.name:
        return None
    return attrs.evolve(unit, name=name, version=unit.version + 1)


def retired_unit(actor: Actor, unit: Unit, open_assignments: int, platform: str) -> Unit:
    """The unit deactivated; refused (``unit.busy``) while it has open assignments."""
    _managed(actor, unit, platform)
    if open_assignments:
        raise UnitBusy(unit_id=unit.id, open_assignments=open_assignments)
    return attrs.evolve(unit, active=False, version=unit.version + 1)


def units_merged(actor: Actor, retired: Unit, survivor: Unit, platform: str) -> tuple[Unit, Unit]:
    """The retired unit deactivated and pointing at the survivor; the survivor's next version.

    Both must be active units of one jurisdiction the actor manages, and differ.
    """
    _managed(actor, retired, platform)
    _managed(actor, survivor, platform)
    if retired.id == survivor.id:
        raise InvalidInput("不能将承办单位合并到其自身", field="into_unit_id")
    if retired.jurisdiction != survivor.jurisdiction:
        raise InvalidInput("只能合并同一政协的承办单位", field="into_unit_id", article="第十五条")
    return (
        attrs.evolve(retired, active=False, merged_into=survivor.id, version=retired.version + 1),
        attrs.evolve(survivor, version=survivor.version + 1),
    )


def moved_assignment(assignment: Assignment, survivor: str) -> Assignment:
    """An open assignment handed over to the surviving unit, its deadline unchanged."""
    return attrs.evolve(assignment, unit_id=survivor)


def moved_grants(
    grants: tuple[RoleGrant, ...], retired: str, survivor: str
) -> tuple[tuple[RoleGrant, ...], list[tuple[RoleGrant, RoleGrant]]]:
    """An account's grants with each handling-unit grant of ``retired`` moved to ``survivor``
    (a grant already held for the survivor is kept once); and the (old, new) pairs moved."""
    kept: list[RoleGrant] = []
    moved: list[tuple[RoleGrant, RoleGrant]] = []
    for grant in grants:
        held = grant
        if grant.role is Role.HANDLING_UNIT and grant.unit_id == retired:
            held = attrs.evolve(grant, unit_id=survivor)
            moved.append((grant, held))
        if held not in kept:
            kept.append(held)
    return tuple(kept), moved


def new_jurisdiction(
    actor: Actor,
    code: str,
    name: str,
    parent_code: str | None,
    parent: Jurisdiction | None,
    taken: Jurisdiction | None,
    platform: str,
) -> Jurisdiction:
    """A new jurisdiction under a known parent (``None``: a top-level one)."""
    require_jurisdiction_admin(actor, platform)
    if parent_code is not None:
        _known(parent, parent_code, "parent")
    if taken is not None:
        raise JurisdictionExists(code=code)
    return Jurisdiction(code, name, parent_code)


def renamed_jurisdiction(
    actor: Actor, jurisdiction: Jurisdiction | None, code: str, name: str, platform: str
) -> Jurisdiction | None:
    """The jurisdiction under its new name (``None``: unchanged)."""
    require_jurisdiction_admin(actor, platform)
    place = _known(jurisdiction, code, "code")
    if name == place.name:
        return None
    return attrs.evolve(place, name=name, version=place.version + 1)
