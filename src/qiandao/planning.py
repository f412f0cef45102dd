"""The annual plan and its targets (第六条): values, validation and progress, all pure.

An office (办公室: the editor or the office head, :data:`PLAN_SETTER_ROLES`) sets a year's plan for
its jurisdiction: targets per person group (every holder of a submitter role, e.g. each 委员
≥ 2 items submitted), for the whole office (≥ N submitted, ≥ M adopted) and per focus category
of 第四条. A new revision replaces the targets and keeps the former ones in ``history``.

Progress is counted from the store's :class:`~qiandao.statistics.Statistics` of the year up to a
day (never by loading items): 报送 and 录用 credits per person (lead and co-authors; merged
authors for 录用), and items submitted in the year and adopted, per jurisdiction and category.
Plans hold targets, not 社情民意 content, so they are stored in clear (not sealed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import ConcurrencyConflict, InvalidInput
from qiandao.model import FocusCategory
from qiandao.ports.notify import Notice
from qiandao.rules.points import CreditKind, Period
from qiandao.rules.roles import SUBMITTER_ROLES, Role
from qiandao.statistics import GroupCounts, Statistics

__all__ = [
    "MAX_TARGET",
    "MAX_TARGETS",
    "NOTE_CHARS",
    "PLAN_SETTER_ROLES",
    "AnnualPlan",
    "PersonProgress",
    "PlanProgress",
    "PlanRevision",
    "Target",
    "TargetMeasure",
    "TargetProgress",
    "TargetScope",
    "behind_people",
    "check_plan_year",
    "check_targets",
    "own_progress",
    "plan_id",
    "progress_of",
    "reminder_due",
    "reminders",
    "revise_plan",
]

PLAN_SETTER_ROLES = frozenset({Role.EDITOR, Role.OFFICE_HEAD})
"""Who sets the plan (第六条 names the 办公室): the information staff who run the work and the
office head who answers for it."""

MAX_TARGETS = 100
"""The most targets one plan holds."""

MAX_TARGET = 100_000
"""The largest minimum a target may set."""

NOTE_CHARS = 500
"""The longest note of a plan revision."""


class TargetScope(LabelledEnum):
    """Whom a target counts: each person of a role, the whole office, or one focus category."""

    ROLE = "role", "每人（按身份）"
    JURISDICTION = "jurisdiction", "全办合计"
    CATEGORY = "category", "重点类别"


class TargetMeasure(LabelledEnum):
    """What a target counts: items submitted (报送) or adopted (录用)."""

    SUBMITTED = "submitted", "报送"
    ADOPTED = "adopted", "录用"


@attrs.frozen
class Target:
    """One target of a plan: at least ``minimum`` of ``measure`` within ``scope``.

    ``role`` names the person group (``ROLE`` targets only: a submitter role) and ``category``
    the focus category (``CATEGORY`` targets only); checked by :func:`check_targets`.
    """

    scope: TargetScope
    """Whom the target counts: each person of ``role``, the office, or ``category``."""
    measure: TargetMeasure
    """Items submitted (报送) or adopted (录用)."""
    minimum: int
    """How many at least, in the year (per person for ``ROLE`` targets)."""
    role: Role | None = None
    """The person group of a ``ROLE`` target (a submitter role); ``None`` otherwise."""
    category: FocusCategory | None = None
    """The focus category of a ``CATEGORY`` target; ``None`` otherwise."""


@attrs.frozen
class PlanRevision:
    """A former set of targets of a plan, kept when a new revision replaced it."""

    revision: int
    """The revision number (1 for the first plan of the year)."""
    targets: tuple[Target, ...]
    """The targets of that revision."""
    set_by: str
    """Account id of who set it."""
    set_at: datetime
    """When it was set."""
    note: str = ""
    """Why it was set or changed (free text)."""


@attrs.frozen
class AnnualPlan:
    """A jurisdiction's plan for one year (第六条), with its history and reminders sent.

    ``version`` is the stored version (compare-and-set; the job's reminders move it too);
    ``revision`` counts the sets of targets, and ``history`` holds the former ones, oldest
    first. ``reminded``: the people the job has reminded this year (once each).
    """

    id: str
    """``<jurisdiction>:<year>`` (:func:`plan_id`)."""
    jurisdiction: str
    """Code of the jurisdiction the plan is of."""
    year: int
    """The calendar year planned."""
    version: int
    """Stored version, for compare-and-set."""
    revision: int
    """Revision of the targets (1, 2, …); a caller's ``expected_revision`` is checked on it."""
    targets: tuple[Target, ...]
    """The targets in force."""
    set_by: str
    """Account id of who set the targets in force."""
    set_at: datetime
    """When they were set."""
    note: str = ""
    """Why they were set or changed (free text)."""
    history: tuple[PlanRevision, ...] = ()
    """The former revisions, oldest first."""
    reminded: tuple[str, ...] = ()
    """Account ids reminded by the job that they are behind (sorted; once each a year)."""


def plan_id(jurisdiction: str, year: int) -> str:
    """The id of a jurisdiction's plan of ``year``."""
    return f"{jurisdiction}:{year}"


def check_plan_year(year: object) -> int:
    """``year`` if it is a year a plan may be set for, else ``input.invalid`` (``year``)."""
    if not isinstance(year, int) or isinstance(year, bool):
        raise InvalidInput("年份须为整数", field="year")
    Period.year(year)  # the bulletin's check of a year
    return year


def _check_target(target: object, at: str) -> Target:
    if not isinstance(target, Target):
        raise InvalidInput("目标格式不正确", field=at)
    scope = TargetScope.parse(target.scope, f"{at}.scope")
    measure = TargetMeasure.parse(target.measure, f"{at}.measure")
    minimum = target.minimum
    if type(minimum) is not int or not 1 <= minimum <= MAX_TARGET:
        raise InvalidInput(f"目标数须为1至{MAX_TARGET}之间的整数", field=f"{at}.minimum")
    role = None if target.role is None else Role.parse(target.role, f"{at}.role")
    category = None
    if target.category is not None:
        category = FocusCategory.parse(target.category, f"{at}.category")
    if scope is TargetScope.ROLE:
        if role not in SUBMITTER_ROLES:
            raise InvalidInput("按身份的目标须指定报送人员身份", field=f"{at}.role")
    elif role is not None:
        raise InvalidInput("只有按身份的目标可以指定身份", field=f"{at}.role")
    if scope is TargetScope.CATEGORY:
        if category is None:
            raise InvalidInput("重点类别目标须指定类别", field=f"{at}.category")
    elif category is not None:
        raise InvalidInput("只有重点类别目标可以指定类别", field=f"{at}.category")
    return Target(scope, measure, minimum, role, category)


def check_targets(targets: object) -> tuple[Target, ...]:
    """The targets, checked: 1 to :data:`MAX_TARGETS`, each well formed and none twice (the same
    scope, measure, role and category); errors name ``targets[i].<field>``."""
    if isinstance(targets, str | bytes) or not isinstance(targets, Sequence):
        raise InvalidInput("目标须为列表", field="targets")
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise InvalidInput(f"年度计划须有1至{MAX_TARGETS}项目标", field="targets")
    checked: list[Target] = []
    seen: set[tuple[object, ...]] = set()
    for index, raw in enumerate(targets):
        target = _check_target(raw, f"targets[{index}]")
        key = (target.scope, target.measure, target.role, target.category)
        if key in seen:
            raise InvalidInput("目标重复", field=f"targets[{index}]")
        seen.add(key)
        checked.append(target)
    return tuple(checked)


@attrs.frozen
class PersonProgress:
    """One person's count against a person-group target."""

    person_id: str
    """Account id of the person."""
    name: str
    """The person's real name."""
    count: int
    """Items submitted (or adopted) in the year so far."""
    behind: bool
    """Whether the count is still below the target's minimum."""


@attrs.frozen
class TargetProgress:
    """How far one target has got.

    ``goal`` is the target's minimum, except for a person-group target, where it is the number
    of people in the group and ``actual`` how many of them have reached the minimum (each
    person's count in ``people``). ``share`` is ``actual / goal`` (4 places; above 1 when
    exceeded, ``None`` for an empty group).
    """

    target: Target
    """The target measured."""
    actual: int
    """The count reached (people at target, for a person-group target)."""
    goal: int
    """The count aimed at (the group's size, for a person-group target)."""
    share: float | None
    """``actual / goal`` rounded to 4 places; ``None`` when ``goal`` is 0."""
    met: bool
    """Whether ``actual`` has reached ``goal``."""
    people: tuple[PersonProgress, ...] = ()
    """Each person of the group (person-group targets), by id."""

    @property
    def behind(self) -> tuple[str, ...]:
        """The people of the group still below the minimum, by id."""
        return tuple(p.person_id for p in self.people if p.behind)


@attrs.frozen
class PlanProgress:
    """Each target of a plan with its progress, counted over ``period`` (the year to a day)."""

    jurisdiction: str
    """Code of the jurisdiction."""
    year: int
    """The year planned."""
    revision: int
    """The plan's revision measured."""
    period: Period
    """The days counted: from 1 January to the day progress is measured on."""
    targets: tuple[TargetProgress, ...]
    """Every target (those a person may see), in the plan's order."""


_KINDS = {
    TargetMeasure.SUBMITTED: CreditKind.SUBMITTED,
    TargetMeasure.ADOPTED: CreditKind.ADOPTED,
}


def _group_count(groups: Iterable[GroupCounts], measure: TargetMeasure, key: str | None) -> int:
    """Items submitted (or adopted) over the groups with ``key`` (all groups when ``None``)."""
    chosen = [g for g in groups if key is None or g.key == key]
    if measure is TargetMeasure.SUBMITTED:
        return sum(g.submitted for g in chosen)
    return sum(g.adopted for g in chosen)


def _share(actual: int, goal: int) -> float | None:
    return round(actual / goal, 4) if goal else None


def _of_people(target: Target, people: tuple[PersonProgress, ...]) -> TargetProgress:
    """A person-group target's progress: how many of ``people`` have reached its minimum."""
    reached = sum(not p.behind for p in people)
    goal = len(people)
    return TargetProgress(target, reached, goal, _share(reached, goal), reached >= goal, people)


def _progress(
    target: Target, stats: Statistics, groups: Mapping[Role, Mapping[str, str]]
) -> TargetProgress:
    if target.scope is TargetScope.ROLE:
        assert target.role is not None
        counted = {p.person_id: p.count(_KINDS[target.measure]) for p in stats.people}
        members = groups.get(target.role, {})
        people = tuple(
            PersonProgress(pid, members[pid], n, n < target.minimum)
            for pid in sorted(members)
            for n in [counted.get(pid, 0)]
        )
        return _of_people(target, people)
    if target.scope is TargetScope.CATEGORY:
        assert target.category is not None
        actual = _group_count(stats.by_category, target.measure, target.category.value)
    else:
        actual = _group_count(stats.by_jurisdiction, target.measure, None)
    goal = target.minimum
    return TargetProgress(target, actual, goal, _share(actual, goal), actual >= goal)


def progress_of(
    plan: AnnualPlan, stats: Statistics, groups: Mapping[Role, Mapping[str, str]]
) -> PlanProgress:
    """The progress of ``plan`` on ``stats`` (the jurisdiction's statistics of the year so far);
    ``groups``: for each role a target names, its holders in the jurisdiction (id → name)."""
    return PlanProgress(
        jurisdiction=plan.jurisdiction,
        year=plan.year,
        revision=plan.revision,
        period=stats.query.period,
        targets=tuple(_progress(t, stats, groups) for t in plan.targets),
    )


def own_progress(progress: PlanProgress, role: Role, person_id: str) -> PlanProgress:
    """What a submitter sees of ``progress``: the targets of their own group, counted over
    their own line only (nothing about the others of the group)."""
    mine = tuple(
        _of_people(t.target, tuple(p for p in t.people if p.person_id == person_id))
        for t in progress.targets
        if t.target.scope is TargetScope.ROLE and t.target.role is role
    )
    return attrs.evolve(progress, targets=mine)


def reminder_due(today: date, year: int) -> bool:
    """Whether the job reminds people behind the plan of ``year`` on ``today``: in the year's
    last quarter (from 1 October to 31 December)."""
    return today.year == year and today.month >= 10


def behind_people(progress: PlanProgress) -> tuple[str, ...]:
    """Everyone below the minimum of any person-group target, by id (each once)."""
    found = {pid for t in progress.targets for pid in t.behind}
    return tuple(sorted(found))


def revise_plan(
    stored: AnnualPlan | None,
    *,
    jurisdiction: str,
    year: int,
    targets: tuple[Target, ...],
    note: str,
    expected_revision: int | None,
    by: str,
    at: datetime,
) -> AnnualPlan:
    """The plan with ``targets`` in force: the first revision, or the next one of ``stored``
    (its targets kept in ``history``). ``expected_revision`` (0: no plan yet), when given, must
    be the stored revision, else ``store.conflict`` (someone revised the plan meanwhile)."""
    current = 0 if stored is None else stored.revision
    key = plan_id(jurisdiction, year)
    if expected_revision is not None and expected_revision != current:
        raise ConcurrencyConflict(
            "年度计划已被他人修改，请刷新后重试", id=key, expected=expected_revision, actual=current
        )
    if stored is None:
        return AnnualPlan(key, jurisdiction, year, 1, 1, targets, by, at, note)
    former = PlanRevision(
        stored.revision, stored.targets, stored.set_by, stored.set_at, stored.note
    )
    return attrs.evolve(
        stored,
        version=stored.version + 1,
        revision=stored.revision + 1,
        targets=targets,
        set_by=by,
        set_at=at,
        note=note,
        history=(*stored.history, former),
    )


def _shortfall(target: TargetProgress, person: PersonProgress) -> str:
    role = target.target.role
    group = "" if role is None else role.label
    measure = target.target.measure.label
    wanted = target.target.minimum
    return f"{measure}{person.count}篇，{group}年度目标{wanted}篇，尚差{wanted - person.count}篇"


def reminders(
    plan: AnnualPlan, progress: PlanProgress, at: datetime, new_id: Callable[[], str]
) -> tuple[tuple[Notice, ...], AnnualPlan]:
    """One notice to each person behind a person-group target who was not reminded yet this
    year, and the plan recording them as reminded (unchanged when nobody is new)."""
    done = set(plan.reminded)
    lines: dict[str, list[str]] = {}
    for target in progress.targets:
        for person in target.people:
            if person.behind and person.person_id not in done:
                lines.setdefault(person.person_id, []).append(_shortfall(target, person))
    if not lines:
        return (), plan
    notices = tuple(
        Notice(
            id=new_id(),
            kind="plan_behind",
            recipients=(person_id,),
            text=f"{plan.year}年度社情民意信息工作计划提醒：您今年" + "；".join(said) + "。",
            at=at,
        )
        for person_id, said in sorted(lines.items())
    )
    reminded = tuple(sorted(done | set(lines)))
    return notices, attrs.evolve(plan, version=plan.version + 1, reminded=reminded)
