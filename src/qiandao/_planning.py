"""The annual plan (第六条): the office sets it, people read it and its progress.

Progress reads the store's statistics of the year (one aggregate query) and the holders of the
roles the plan names (one query per role); no item is loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

import attrs

from qiandao._core import Actor, Tx, _Core
from qiandao.errors import InvalidInput, NotFound, PermissionDenied
from qiandao.planning import (
    NOTE_CHARS,
    PLAN_SETTER_ROLES,
    AnnualPlan,
    PlanProgress,
    Target,
    TargetScope,
    check_plan_year,
    check_targets,
    own_progress,
    plan_id,
    progress_of,
    revise_plan,
)
from qiandao.ports.store import UnitOfWork
from qiandao.rules.deadlines import local_day
from qiandao.rules.points import Period
from qiandao.rules.roles import OFFICE_ROLES, SUBMITTER_ROLES
from qiandao.rules.text import clean_text
from qiandao.statistics import StatisticsQuery

__all__ = ["PLAN_SET", "PlanCommands", "read_progress"]

PLAN_SET = "plan_set"
"""The audit's event kind of a new revision of an annual plan."""


def read_progress(uow: UnitOfWork, plan: AnnualPlan, through: date, today: date) -> PlanProgress:
    """The plan's progress counted from 1 January to ``through`` (clamped to the year), with
    "overdue" judged on ``today``: the year's statistics and the holders of the roles named."""
    year = Period.year(plan.year)
    end = min(max(through, year.start), year.end)
    query = StatisticsQuery(plan.jurisdiction, Period(year.start, end), today)
    stats = uow.items.statistics(query)
    named = (t.role for t in plan.targets if t.scope is TargetScope.ROLE and t.role is not None)
    groups = {
        role: {a.id: a.real_name for a in uow.accounts.holders(role, plan.jurisdiction)}
        for role in dict.fromkeys(named)  # each role once, in the plan's order
    }
    return progress_of(plan, stats, groups)


def _set_plan(
    tx: Tx,
    actor: Actor,
    year: int,
    targets: tuple[Target, ...],
    note: str,
    expected_revision: int | None,
) -> AnnualPlan:
    """Load the plan of the year, revise it, and add or save it (compare-and-set)."""
    if actor.role not in PLAN_SETTER_ROLES:
        raise PermissionDenied("只有信息工作人员和办公室主要负责人可以制定年度计划")
    stored = tx.uow.plans.get(actor.jurisdiction, year)
    plan = revise_plan(
        stored,
        jurisdiction=actor.jurisdiction,
        year=year,
        targets=targets,
        note=note,
        expected_revision=expected_revision,
        by=actor.account_id,
        at=tx.now,
    )
    if stored is None:
        tx.uow.plans.add(plan)
    else:
        tx.uow.plans.save(plan, stored.version)
    tx.audit_events.append(PLAN_SET)
    tx.audit_targets.append(plan.id)
    return plan


def _check_reader(actor: Actor) -> None:
    """Office staff read plans and all progress; submitters their own groups' (第六条)."""
    if actor.role not in OFFICE_ROLES and actor.role not in SUBMITTER_ROLES:
        raise PermissionDenied("只有办公室工作人员和信息报送人员可以查看年度计划")


class PlanCommands(_Core):
    """The annual plan and its targets (第六条)."""

    def set_annual_plan(
        self,
        actor: Actor,
        year: int,
        targets: Sequence[Target],
        *,
        note: str = "",
        expected_revision: int | None = None,
    ) -> AnnualPlan:
        """The office (editor or office head) sets the targets of its jurisdiction's plan for
        ``year``; a new revision replaces the former one, which is kept in ``history``.

        ``expected_revision``: the revision the caller saw (0 when there was none); another
        revision saved meanwhile is ``store.conflict`` (so a retried call never revises twice).
        Bad targets are ``input.invalid`` naming ``targets[i].<field>``; any other role is
        ``permission.denied``.
        """
        chosen_year = check_plan_year(year)
        checked = check_targets(targets)
        said = clean_text(note, "note", label="说明", max_chars=NOTE_CHARS, required=False)
        if expected_revision is not None and (
            not isinstance(expected_revision, int)
            or isinstance(expected_revision, bool)
            or expected_revision < 0
        ):
            raise InvalidInput("版本号须为非负整数", field="expected_revision")
        work = functools.partial(
            _set_plan,
            actor=actor,
            year=chosen_year,
            targets=checked,
            note=said,
            expected_revision=expected_revision,
        )
        return self._transact(actor, work)

    def annual_plan(self, actor: Actor, year: int) -> AnnualPlan:
        """The plan of the actor's jurisdiction for ``year`` (``not_found`` when none was set).

        Office staff and submitters read it; a submitter's copy does not list who was reminded.
        """
        chosen_year = check_plan_year(year)
        _check_reader(actor)
        with self._reading(actor) as uow:
            plan = uow.plans.get(actor.jurisdiction, chosen_year)
        if plan is None:
            key = plan_id(actor.jurisdiction, chosen_year)
            raise NotFound(f"年度计划不存在：{key}", id=key)
        if actor.role not in OFFICE_ROLES:
            plan = attrs.evolve(plan, reminded=())
        return plan

    def plan_progress(self, actor: Actor, year: int) -> PlanProgress:
        """Each target of the year's plan with its count so far, its share done, and for a
        person-group target each person's count and who is behind.

        Office staff see every target and person; a submitter sees the targets of their own
        role with their own line only; others are ``permission.denied``. ``not_found`` when no
        plan was set. Counted from the store's statistics of the year up to today; the read is
        audited (it shows people's counts).
        """
        chosen_year = check_plan_year(year)
        _check_reader(actor)
        today = local_day(self.now())
        with self._reading(actor) as uow:
            plan = uow.plans.get(actor.jurisdiction, chosen_year)
            if plan is None:
                key = plan_id(actor.jurisdiction, chosen_year)
                raise NotFound(f"年度计划不存在：{key}", id=key)
            progress = read_progress(uow, plan, today, today)
        if actor.role not in OFFICE_ROLES:
            progress = own_progress(progress, actor.role, actor.account_id)
        self._audit_read()
        return progress
