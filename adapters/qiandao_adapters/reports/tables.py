"""What a report shows, as plain rows with Chinese headers: the one place for table content.

:func:`bulletin_tables`, :func:`assessment_tables` and :func:`unit_tables` turn a
:class:`~qiandao.Bulletin` into :class:`Table` values (columns, raw cells, the charts drawn from
them); the DOCX, XLSX and CSV renderers only lay them out, so the three formats show the same
numbers. Rates are fractions (0–1, ``None`` where nothing was counted) and shown as percentages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from qiandao import (
    Bulletin,
    FocusCategory,
    GroupLine,
    HotTopics,
    PlanProgress,
    TargetProgress,
    TargetScope,
    Trend,
    UnitLine,
)
from qiandao.rules.rating import Rating

__all__ = [
    "Cell",
    "Chart",
    "Column",
    "Kind",
    "Report",
    "Table",
    "assessment_tables",
    "bulletin_summary",
    "bulletin_tables",
    "chart_title",
    "display",
    "group_table",
    "people_table",
    "plan_table",
    "topic_summary",
    "topic_tables",
    "unit_table",
    "unit_tables",
]

Cell = str | int | float | None
NO_DATA = "—"


class Kind(enum.Enum):
    """How a column's cells are shown: text, a count, a rate (percentage) or working days."""

    TEXT = "text"
    COUNT = "count"
    RATE = "rate"
    DAYS = "days"


@attrs.frozen
class Column:
    """One column: its Chinese header and how its cells are shown."""

    header: str
    kind: Kind = Kind.COUNT


@attrs.frozen
class Chart:
    """A bar chart of a table: the label column, the value columns (one series each), the
    first ``limit`` rows."""

    title: str
    label: int
    values: tuple[int, ...]
    limit: int = 20


@attrs.frozen
class Table:
    """One table of a report: ``name`` is its sheet name (short), ``title`` its heading."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    charts: tuple[Chart, ...] = ()

    def shown(self) -> list[list[str]]:
        """Every row as the text DOCX and CSV show (percentages, ``—`` for no data)."""
        return [
            [display(c, v) for c, v in zip(self.columns, row, strict=True)] for row in self.rows
        ]


@attrs.frozen
class Report:
    """A whole report: title, period line, issuer and day, the 第十八条 watermark, summary
    paragraphs and tables."""

    kind: str
    title: str
    period: str
    issuer: str
    issued: str
    watermark: str
    summary: tuple[str, ...]
    tables: tuple[Table, ...]


def display(column: Column, value: Cell) -> str:
    """A cell as text: a rate as ``85.7%``, working days with two decimals, ``—`` for none."""
    if value is None:
        return NO_DATA
    if column.kind is Kind.RATE:
        return f"{value:.1%}"
    if column.kind is Kind.DAYS:
        return f"{value:.2f}"
    return str(value)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def people_table(
    bulletin: Bulletin, *, name: str = "人员", title: str = "委员与信息员报送情况"
) -> Table:
    """People in ranking order: place, real name, submitted, adopted, reported upward,
    instructions, score."""
    columns = (
        Column("名次"),
        Column("姓名", Kind.TEXT),
        Column("报送"),
        Column("录用"),
        Column("专报"),
        Column("领导批示"),
        Column("积分"),
    )
    rows = tuple(
        (
            p.place,
            bulletin.names.get(p.person_id, p.person_id),
            p.submitted,
            p.adopted,
            p.reported_upward,
            p.instructions,
            p.score,
        )
        for p in bulletin.people
    )
    chart = Chart("积分排名（前20名）", label=1, values=(6,))
    return Table(name, title, columns, rows, (chart,))


UNIT_COLUMNS = (
    Column("承办单位", Kind.TEXT),
    Column("交办"),
    Column("已答复"),
    Column("按时答复"),
    Column("按时答复率", Kind.RATE),
    Column("逾期未答复"),
    Column("延期"),
    Column("延期率", Kind.RATE),
    Column("申请退回"),
    Column("退回率", Kind.RATE),
    Column("满意"),
    Column("基本满意"),
    Column("不满意"),
    Column("未评价"),
    Column("满意率", Kind.RATE),
    Column("平均答复工作日", Kind.DAYS),
)
"""The unit KPIs (第十、十二条): on-time, extension, decline and satisfaction rates, average
working days to reply."""


def _unit_row(u: UnitLine, names: Mapping[str, str]) -> tuple[Cell, ...]:
    r = u.ratings
    return (
        names.get(u.unit_id) or u.unit_id,
        u.assigned,
        u.replied,
        u.replied_on_time,
        u.on_time_rate,
        u.overdue,
        u.extended,
        _rate(u.extended, u.assigned),
        u.declined,
        _rate(u.declined, u.assigned),
        r.get(Rating.SATISFIED, 0),
        r.get(Rating.BASICALLY_SATISFIED, 0),
        r.get(Rating.DISSATISFIED, 0),
        r.get(Rating.NOT_RATED, 0),
        u.satisfaction_rate,
        u.average_reply_workdays,
    )


def unit_table(bulletin: Bulletin) -> Table:
    """Handling units, busiest first: workload, timeliness, extensions, declines, ratings."""
    rows = sorted(
        (_unit_row(u, bulletin.unit_names) for u in bulletin.units),
        key=lambda row: (-_count(row[1]), str(row[0])),
    )
    chart = Chart("承办单位按时答复率与满意率（按交办量排序）", label=0, values=(4, 14))
    return Table("承办单位", "承办单位办理情况", UNIT_COLUMNS, tuple(rows), (chart,))


def _count(value: Cell) -> int:
    return value if isinstance(value, int) else 0


def group_table(
    lines: Iterable[GroupLine],
    *,
    name: str,
    what: str,
    label: Callable[[GroupLine], str] = lambda line: line.label,
    charted: bool = True,
) -> Table:
    """Submitted and adopted per category, sector, channel or jurisdiction (most first), with
    a chart of both unless not ``charted``."""
    columns = (Column(what, Kind.TEXT), Column("报送"), Column("录用"), Column("录用率", Kind.RATE))
    rows = sorted(
        ((label(g), g.submitted, g.adopted, _rate(g.adopted, g.submitted)) for g in lines),
        key=lambda row: (-_count(row[1]), str(row[0])),
    )
    charts = (Chart(f"各{name}报送与录用", label=0, values=(1, 2)),) if charted else ()
    return Table(name, f"按{what}统计", columns, tuple(rows), charts)


BEHIND_SHOWN = 10
"""The most people a plan row names as behind (then "等N人")."""


def target_text(line: TargetProgress) -> str:
    """A target in words, e.g. ``政协委员每人报送不少于2篇``."""
    t = line.target
    wanted = f"{t.measure.label}不少于{t.minimum}篇"
    if t.scope is TargetScope.ROLE and t.role is not None:
        return f"{t.role.label}每人{wanted}"
    if t.scope is TargetScope.CATEGORY and t.category is not None:
        return f"“{t.category.label}”{wanted}"
    return f"全办{wanted}"


def _behind(line: TargetProgress) -> str:
    names = [p.name or p.person_id for p in line.people if p.behind]
    if len(names) > BEHIND_SHOWN:
        return "、".join(names[:BEHIND_SHOWN]) + f"等{len(names)}人"
    return "、".join(names)


def plan_table(progress: PlanProgress) -> Table:
    """The annual plan's progress (第六条): each target, what it aims at, what is done, the
    share, and who is behind (person-group targets: people at target out of the group)."""
    columns = (
        Column("目标", Kind.TEXT),
        Column("应完成"),
        Column("已完成"),
        Column("完成比例", Kind.RATE),
        Column("未达标人员", Kind.TEXT),
    )
    rows = tuple((target_text(t), t.goal, t.actual, t.share, _behind(t)) for t in progress.targets)
    end = progress.period.end
    title = f"{progress.year}年度计划完成情况（截至{end.month}月{end.day}日）"
    return Table("年度计划", title, columns, rows)


def bulletin_tables(bulletin: Bulletin, places: Mapping[str, str]) -> tuple[Table, ...]:
    """The quarterly bulletin's tables: people, units, categories, sectors, channels and
    jurisdictions (``places``: jurisdiction names by code), then the annual plan's progress
    when the jurisdiction has a plan for the year."""
    plan = () if bulletin.plan is None else (plan_table(bulletin.plan),)
    return (
        people_table(bulletin),
        unit_table(bulletin),
        group_table(bulletin.by_category, name="类别", what="关注类别"),
        group_table(bulletin.by_sector, name="界别", what="界别"),
        group_table(bulletin.by_channel, name="渠道", what="报送渠道"),
        group_table(
            bulletin.by_jurisdiction,
            name="辖区",
            what="政协",
            label=lambda line: places.get(line.key, line.key),
            charted=False,  # one line for a jurisdiction's own bulletin
        ),
        *plan,
    )


def assessment_tables(bulletin: Bulletin) -> tuple[Table, ...]:
    """The year-end assessment: every person's counts and score, ranked (第十三条)."""
    return (people_table(bulletin, name="考核排名", title="年度考核积分排名"),)


def unit_tables(bulletin: Bulletin) -> tuple[Table, ...]:
    """Unit handling performance (第十条): the units table alone."""
    return (unit_table(bulletin),)


TOPIC_COLUMNS = (
    Column("序号"),
    Column("话题", Kind.TEXT),
    Column("权重", Kind.DAYS),  # two decimals, as working days are shown
    Column("本期条数"),
    Column("上期条数"),
    Column("增减"),
    Column("代表性信息", Kind.TEXT),
)


def _category_label(key: str) -> str:
    try:
        return FocusCategory.parse(key).label
    except ValueError:  # pragma: no cover - a category the store holds but the code dropped
        return key


def topic_tables(topics: HotTopics, trends: Sequence[Trend]) -> tuple[Table, ...]:
    """The hot-topics analysis (第一、八条): the topics, heaviest first, with a chart of their
    counts against the previous period; and submissions per category over ``trends``' periods
    (labelled by their first day's quarter), with a chart."""
    rows = tuple(
        (
            n,
            t.word,
            t.weight,
            t.items,
            t.previous_items,
            t.change,
            "；".join(r.title for r in t.representatives),
        )
        for n, t in enumerate(topics.topics, start=1)
    )
    chart = Chart("热点话题本期与上期条数", label=1, values=(3, 4))
    hot = Table("热点话题", "热点话题（与此前四期相比最突出的词）", TOPIC_COLUMNS, rows, (chart,))
    heads = [f"{p.period.start.year}年Q{(p.period.start.month - 1) // 3 + 1}" for p in trends]
    keys = sorted({g.key for p in trends for g in p.groups})
    counts = [{g.key: g.submitted for g in p.groups} for p in trends]
    trend_rows: list[tuple[Cell, ...]] = [
        (_category_label(key), *(c.get(key, 0) for c in counts)) for key in keys
    ]
    trend_rows.sort(key=lambda row: (-_count(row[-1]), str(row[0])))
    columns = (Column("关注类别", Kind.TEXT), *(Column(h) for h in heads))
    values = tuple(range(1, len(heads) + 1))
    trend = Table(
        "趋势",
        "各关注类别报送条数趋势",
        columns,
        tuple(trend_rows),
        (Chart("各关注类别报送条数趋势", label=0, values=values),),
    )
    return hot, trend


def topic_summary(topics: HotTopics) -> tuple[str, ...]:
    """The opening paragraph: what the topics were weighed on."""
    lead = "、".join(t.word for t in topics.topics[:5]) or "无"
    return (
        f"本期进入分析的社情民意信息{topics.items}件（不含涉密信息），"
        f"与此前四期的{topics.background_items}件相比，最突出的话题是：{lead}。",
        "权重为本期出现率相对此前四期出现率的对数提升乘以本期条数，常说的词权重接近零。",
    )


def _percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1%}"


def bulletin_summary(bulletin: Bulletin) -> tuple[str, ...]:
    """The opening paragraph: totals of the period (each item counts once, by its category)."""
    submitted = sum(g.submitted for g in bulletin.by_category)
    adopted = sum(g.adopted for g in bulletin.by_category)
    assigned = sum(u.assigned for u in bulletin.units)
    replied = sum(u.replied for u in bulletin.units)
    on_time = sum(u.replied_on_time for u in bulletin.units)
    overdue = sum(u.overdue for u in bulletin.units)
    adoption = _percent(_rate(adopted, submitted))
    timely = _percent(_rate(on_time, replied))
    return (
        f"本期共收到社情民意信息{submitted}件，录用{adopted}件，录用率{adoption}；"
        f"交办承办单位{assigned}件次，已答复{replied}件次，按时答复率{timely}，"
        f"逾期未答复{overdue}件次；审核环节超时{bulletin.overdue_reviews}次。",
        f"参与报送并计分的委员和信息员{len(bulletin.people)}人，详见下表。",
        *_plan_summary(bulletin.plan),
    )


def _plan_summary(progress: PlanProgress | None) -> tuple[str, ...]:
    if progress is None:
        return ()
    met = sum(t.met for t in progress.targets)
    return (
        f"{progress.year}年度计划{len(progress.targets)}项目标，已完成{met}项，详见年度计划表。",
    )


def rows_of(table: Table, chart: Chart) -> Sequence[tuple[Cell, ...]]:
    """The rows a chart draws: the table's first ``chart.limit``."""
    return table.rows[: chart.limit]


def chart_title(table: Table, chart: Chart) -> str:
    """The chart's title, saying when it shows only the table's first rows."""
    if len(table.rows) <= chart.limit or "前" in chart.title:
        return chart.title
    return f"{chart.title}（前{chart.limit}项，共{len(table.rows)}项）"
