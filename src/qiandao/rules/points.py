"""The points table and scores of 第十三条: pure arithmetic over credit records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput

__all__ = [
    "AdoptionLevel",
    "Credit",
    "CreditKind",
    "LeaderRank",
    "Period",
    "PointsTable",
    "RankedScore",
    "points",
    "points_for",
    "rank",
    "scores",
]


class AdoptionLevel(LabelledEnum):
    """Who adopted an item (采用情况, 第十一条)."""

    CITY_CPPCC = "city_cppcc", "市政协"
    CITY_PARTY_GOVERNMENT = "city_party_government", "市委、市政府"
    PROVINCIAL_CPPCC = "provincial_cppcc", "省政协"
    PROVINCIAL_PARTY_GOVERNMENT = "provincial_party_government", "省委、省政府"
    NATIONAL_CPPCC = "national_cppcc", "全国政协"


class LeaderRank(LabelledEnum):
    """Rank of the leader who gave an instruction (批示)."""

    CITY_LEADER = "city_leader", "市领导"
    CITY_PRINCIPAL_LEADER = "city_principal_leader", "市主要领导"
    PROVINCIAL_LEADER = "provincial_leader", "省领导"
    NATIONAL_LEADER = "national_leader", "中央领导"


class CreditKind(LabelledEnum):
    """What a person is credited for."""

    SUBMITTED = "submitted", "报送信息"
    ADOPTED = "adopted", "信息录用"
    REPORTED_TO_CITY_LEADERS = "reported_to_city_leaders", "专报市委、市政府领导"
    REPORTED_TO_PRINCIPAL_OR_PROVINCE = (
        "reported_to_principal_or_province",
        "专报市委、市政府主要领导及省政协",
    )
    ADOPTED_BY = "adopted_by", "被上级采用"
    INSTRUCTION = "instruction", "获领导批示"


def _adoption_defaults() -> Mapping[AdoptionLevel, int]:
    return {
        AdoptionLevel.CITY_CPPCC: 0,
        AdoptionLevel.CITY_PARTY_GOVERNMENT: 5,
        AdoptionLevel.PROVINCIAL_CPPCC: 10,
        AdoptionLevel.PROVINCIAL_PARTY_GOVERNMENT: 10,
        AdoptionLevel.NATIONAL_CPPCC: 20,
    }


def _instruction_defaults() -> Mapping[LeaderRank, int]:
    return {
        LeaderRank.CITY_LEADER: 5,
        LeaderRank.CITY_PRINCIPAL_LEADER: 8,
        LeaderRank.PROVINCIAL_LEADER: 10,
        LeaderRank.NATIONAL_LEADER: 20,
    }


def _complete(keys: type[LabelledEnum]) -> Callable[[object, Any, Mapping[Any, int]], None]:
    def check(_: object, attribute: Any, value: Mapping[Any, int]) -> None:
        missing = [k.value for k in keys if k not in value]
        if missing:
            raise ValueError(f"{attribute.name} 缺少：{', '.join(missing)}")
        if any(type(v) is not int or v < 0 for v in value.values()):
            raise ValueError(f"{attribute.name} 的分值须为非负整数")

    return check


_points = attrs.validators.ge(0)


@attrs.frozen
class PointsTable:
    """Points per credit (第十三条); each jurisdiction sets its own, Zhoushan's are the defaults."""

    submitted: int = attrs.field(default=1, validator=_points)
    """Points per item submitted (报送信息)."""
    adopted: int = attrs.field(default=3, validator=_points)
    """Points per item adopted (信息录用)."""
    reported_to_city_leaders: int = attrs.field(default=5, validator=_points)
    """Points per item sent to the city Party committee's and government's leaders."""
    reported_to_principal_or_province: int = attrs.field(default=8, validator=_points)
    """Points per item sent to their principal leaders or to the provincial CPPCC."""
    adoption: Mapping[AdoptionLevel, int] = attrs.field(
        factory=_adoption_defaults, validator=_complete(AdoptionLevel)
    )
    """Points per adoption by a higher body, by its level (every level present)."""
    instruction: Mapping[LeaderRank, int] = attrs.field(
        factory=_instruction_defaults, validator=_complete(LeaderRank)
    )
    """Points per leader's instruction (批示), by the leader's rank (every rank present)."""


@attrs.frozen
class Credit:
    """One creditable fact for one person: what, when, for which item."""

    person_id: str
    """Account id of the person credited."""
    kind: CreditKind
    """What the person is credited for."""
    on: date
    """The day the credit counts on (Asia/Shanghai), which decides its period."""
    item_id: str
    """Id of the item the credit is for."""
    level: AdoptionLevel | None = None
    """The adopting level (``ADOPTED_BY`` credits only)."""
    rank: LeaderRank | None = None
    """The instructing leader's rank (``INSTRUCTION`` credits only)."""


def _check_year(year: object) -> None:
    if type(year) is not int or not 1949 <= year <= 2100:
        raise InvalidInput("年份须为1949至2100之间的整数", field="year")


@attrs.frozen
class Period:
    """A closed range of days, e.g. a quarter for the bulletin or a year for the assessment."""

    start: date
    """First day of the period (included)."""
    end: date
    """Last day of the period (included)."""

    def __attrs_post_init__(self) -> None:
        if type(self.start) is not date or type(self.end) is not date:
            raise InvalidInput("统计期间须为日期", field="period")
        if self.end < self.start:
            raise InvalidInput("统计期间的结束日期早于开始日期", field="period")

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """The calendar quarter ``quarter`` (1–4) of ``year``."""
        _check_year(year)
        if type(quarter) is not int or quarter not in (1, 2, 3, 4):
            raise InvalidInput("季度须为1至4", field="quarter")
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return cls(start, date.fromordinal(end.toordinal() - 1))

    @classmethod
    def year(cls, year: int) -> Period:
        """The calendar year ``year``."""
        _check_year(year)
        return cls(date(year, 1, 1), date(year, 12, 31))

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def points(credit: Credit, table: PointsTable) -> int:
    """The points one credit is worth under ``table``."""
    return points_for(table, credit.kind, level=credit.level, rank=credit.rank)


def points_for(
    table: PointsTable,
    kind: CreditKind,
    *,
    level: AdoptionLevel | None = None,
    rank: LeaderRank | None = None,
) -> int:
    """The points of one credit of ``kind`` (with its adoption level or leader rank)."""
    if kind is CreditKind.ADOPTED_BY:
        if level is None:
            raise InvalidInput("上级采用须注明采用层级", field="level")
        return table.adoption[level]
    if kind is CreditKind.INSTRUCTION:
        if rank is None:
            raise InvalidInput("领导批示须注明领导级别", field="rank")
        return table.instruction[rank]
    flat: Mapping[CreditKind, int] = {
        CreditKind.SUBMITTED: table.submitted,
        CreditKind.ADOPTED: table.adopted,
        CreditKind.REPORTED_TO_CITY_LEADERS: table.reported_to_city_leaders,
        CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE: table.reported_to_principal_or_province,
    }
    return flat[kind]


def scores(credits: Iterable[Credit], table: PointsTable, period: Period) -> dict[str, int]:
    """Total points per person over the credits dated within ``period``."""
    totals: dict[str, int] = defaultdict(int)
    for credit in credits:
        if credit.on in period:
            totals[credit.person_id] += points(credit, table)
    return dict(totals)


@attrs.frozen
class RankedScore:
    """A person's place in a ranking (standard competition ranking: 1, 1, 3)."""

    place: int
    """Place in the ranking, from 1 (equal scores share a place)."""
    person_id: str
    """Account id of the person ranked."""
    score: int
    """The person's points in the period."""


def rank(totals: Mapping[str, int]) -> list[RankedScore]:
    """Rank people by score, highest first; ties share a place, ordered by id for stability."""
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ranked: list[RankedScore] = []
    for index, (person, score) in enumerate(ordered):
        place = ranked[-1].place if ranked and ranked[-1].score == score else index + 1
        ranked.append(RankedScore(place, person, score))
    return ranked
