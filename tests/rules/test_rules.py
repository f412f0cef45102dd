"""Tiers, deadlines, rating, publication, points and the RuleSet."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao.errors import (
    DeadlinePassed,
    InvalidInput,
    InvalidWorkdayCount,
    LimitExceeded,
    PermissionDenied,
    ReasonRequired,
    RuleSetError,
    SelfReviewForbidden,
    WindowClosed,
    WrongSigner,
)
from qiandao.rules.deadlines import (
    SHANGHAI,
    DeadlineRules,
    DeadlineStatus,
    Due,
    check_decline_window,
    classify,
    decline_until,
    due_after,
    end_of_day,
    extended_due,
    local_day,
    reply_due,
)
from qiandao.rules.lifecycle import ADOPTED_STATES, ItemState
from qiandao.rules.points import (
    AdoptionLevel,
    Credit,
    CreditKind,
    LeaderRank,
    Period,
    PointsTable,
    points,
    rank,
    scores,
)
from qiandao.rules.publication import Access, AccessFacts, Viewer, access, is_published
from qiandao.rules.rating import (
    Rating,
    RatingRules,
    check_rater,
    check_rating,
    check_rehandle,
    may_rate,
    raters,
)
from qiandao.rules.roles import SIGNER_ROLES, Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.text import clean_text, require_reason
from qiandao.rules.tiers import (
    Destination,
    TierRules,
    check_not_author,
    check_signer,
    required_signer,
    signer_rank,
)
from qiandao.testing.strategies import destinations

from .stubs import WeekdayCalendar

CAL = WeekdayCalendar()
RULES = DeadlineRules()


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


# --- tiers -------------------------------------------------------------------------------


@given(destinations(), st.sampled_from(list(Destination)))
def test_adding_a_destination_never_lowers_the_tier(
    chosen: frozenset[Destination], extra: Destination
) -> None:
    before = signer_rank(required_signer(chosen, TierRules()))
    after = signer_rank(required_signer(chosen | {extra}, TierRules()))
    assert after >= before


def test_required_signer_per_article_nine() -> None:
    rules = TierRules()
    assert required_signer([Destination.FORWARD_TO_DEPARTMENTS], rules) is Role.OFFICE_HEAD
    assert required_signer([Destination.REPORT_TO_CITY_LEADERS], rules) is Role.SECRETARY_GENERAL
    both = [
        Destination.FORWARD_TO_DEPARTMENTS,
        Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE,
    ]
    assert required_signer(both, rules) is Role.CHAIR
    with pytest.raises(InvalidInput):
        required_signer([], rules)


@given(destinations(), st.sampled_from(SIGNER_ROLES), st.booleans())
def test_signer_check(chosen: frozenset[Destination], role: Role, allow_higher: bool) -> None:
    rules = TierRules(allow_higher_signer=allow_higher)
    needed = required_signer(chosen, rules)
    ok = role == needed or (allow_higher and signer_rank(role) > signer_rank(needed))
    if ok:
        assert check_signer(role, chosen, rules) is needed
    else:
        with pytest.raises(WrongSigner) as err:
            check_signer(role, chosen, rules)
        assert err.value.code == "permission.signer_tier"


def test_author_never_reviews_own_item() -> None:
    with pytest.raises(SelfReviewForbidden) as err:
        check_not_author("a1", {"a1", "a2"})
    assert err.value.code == "permission.self_review"
    check_not_author("e1", {"a1"})


# --- deadlines ---------------------------------------------------------------------------


def test_reply_due_counts_from_the_day_after_assignment() -> None:
    thursday = date(2026, 11, 26)
    assert reply_due(CAL, at(thursday), RULES) == Due(date(2026, 12, 17))
    saturday = date(2026, 11, 28)
    # assigned on a Saturday: Monday is day 1, so day 15 is the third Friday after
    assert reply_due(CAL, at(saturday), RULES) == Due(date(2026, 12, 18))


def test_a_due_date_names_the_years_without_an_official_schedule() -> None:
    cal = WeekdayCalendar(provisional_from=2027)
    crossing = reply_due(cal, at(date(2026, 12, 20)), RULES)
    assert crossing == Due(date(2027, 1, 8), (2027,)) and crossing.provisional
    assert not reply_due(cal, at(date(2026, 11, 26)), RULES).provisional
    assert decline_until(cal, at(date(2026, 12, 30)), RULES) == Due(date(2027, 1, 4), (2027,))
    extended = extended_due(
        cal,
        date(2026, 12, 17),
        15,
        requested_at=at(date(2026, 12, 1)),
        extensions_used=0,
        rules=RULES,
    )
    assert extended == Due(date(2027, 1, 7), (2027,))
    # only the days after the start count: a start in 2027 going back into 2026 is official
    assert due_after(cal, date(2027, 1, 1), -1) == Due(date(2026, 12, 31))
    assert due_after(cal, date(2027, 1, 4), -1) == Due(date(2027, 1, 1), (2027,))
    assert due_after(cal, date(2027, 3, 1), 0) == Due(date(2027, 3, 1))
    assert Due(date(2027, 1, 8), [2028, 2027, 2027]).provisional_years == (2027, 2028)


def test_local_day_uses_shanghai_time() -> None:
    late_utc = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # 01:00 on the 27th in Shanghai
    assert local_day(late_utc) == date(2026, 11, 27)
    with pytest.raises(InvalidInput):
        local_day(datetime(2026, 11, 26, 17, 0))
    assert end_of_day(date(2026, 12, 17)) == datetime(2026, 12, 18, tzinfo=SHANGHAI)


def test_classification_over_time() -> None:
    due = date(2026, 12, 17)  # Thursday
    assert classify(CAL, due, at(date(2026, 12, 1)), RULES) is DeadlineStatus.ON_TRACK
    assert classify(CAL, due, at(date(2026, 12, 14)), RULES) is DeadlineStatus.DUE_SOON
    assert classify(CAL, due, at(due, 23), RULES) is DeadlineStatus.DUE_TODAY
    assert classify(CAL, due, at(due + timedelta(days=1), 0), RULES) is DeadlineStatus.OVERDUE
    # 10 more working days after 12-17 is 12-31; very overdue from the day after
    assert classify(CAL, due, at(date(2026, 12, 31)), RULES) is DeadlineStatus.OVERDUE
    assert classify(CAL, due, at(date(2027, 1, 1)), RULES) is DeadlineStatus.VERY_OVERDUE


@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(0, 60))
def test_classification_is_monotone(assigned: date, offset: int) -> None:
    order = list(DeadlineStatus)
    due = reply_due(CAL, at(assigned), RULES).day
    a = classify(CAL, due, at(assigned + timedelta(days=offset)), RULES)
    b = classify(CAL, due, at(assigned + timedelta(days=offset + 1)), RULES)
    assert order.index(b) >= order.index(a)


def test_decline_window() -> None:
    assigned = at(date(2026, 11, 26))
    check_decline_window(CAL, assigned, at(date(2026, 12, 1)), RULES)  # 3rd working day
    with pytest.raises(DeadlinePassed) as err:
        check_decline_window(CAL, assigned, at(date(2026, 12, 2)), RULES)
    assert err.value.code == "deadline.passed"


def test_extension_rules() -> None:
    due = date(2026, 12, 17)
    new = extended_due(
        CAL, due, 5, requested_at=at(date(2026, 12, 10)), extensions_used=0, rules=RULES
    )
    assert new == Due(date(2026, 12, 24))
    with pytest.raises(LimitExceeded):
        extended_due(CAL, due, 16, requested_at=at(due), extensions_used=0, rules=RULES)
    with pytest.raises(LimitExceeded):
        extended_due(CAL, due, 5, requested_at=at(due), extensions_used=1, rules=RULES)
    with pytest.raises(DeadlinePassed):
        extended_due(
            CAL, due, 5, requested_at=at(due + timedelta(days=1)), extensions_used=0, rules=RULES
        )
    for bad in (0, -3, True, "5"):
        with pytest.raises(InvalidWorkdayCount):
            extended_due(CAL, due, bad, requested_at=at(due), extensions_used=0, rules=RULES)  # type: ignore[arg-type]


def test_reasons_and_text() -> None:
    for empty in (None, "", "   "):
        with pytest.raises(ReasonRequired) as err:
            require_reason(empty, max_chars=100)
        assert err.value.code == "reason.required"
    assert require_reason("  不属于本单位职责  ", max_chars=100) == "不属于本单位职责"
    with pytest.raises(LimitExceeded):
        clean_text("长" * 11, "标题", max_chars=10)
    with pytest.raises(InvalidInput):
        clean_text(12, "标题", max_chars=10)


# --- rating ------------------------------------------------------------------------------


def _rate(rating: Rating, **kw: object) -> None:
    args: dict[str, object] = dict(
        is_lead_author=True,
        is_coauthor=False,
        already_rated=False,
        item_closed=False,
        window_closes=date(2026, 12, 31),
        now=at(date(2026, 12, 20)),
        rules=RatingRules(),
    )
    args.update(kw)
    check_rating(rating, **args)  # type: ignore[arg-type]


def test_rating_rules() -> None:
    _rate(Rating.SATISFIED)
    with pytest.raises(InvalidInput):
        _rate(Rating.NOT_RATED)
    with pytest.raises(PermissionDenied):
        _rate(Rating.SATISFIED, is_lead_author=False, is_coauthor=True)
    _rate(
        Rating.SATISFIED,
        is_lead_author=False,
        is_coauthor=True,
        rules=RatingRules(coauthors_may_rate=True),
    )
    with pytest.raises(WindowClosed):
        _rate(Rating.SATISFIED, now=at(date(2027, 1, 1)))
    _rate(Rating.DISSATISFIED, now=at(date(2027, 1, 1)), already_rated=True)
    with pytest.raises(WindowClosed):
        _rate(Rating.DISSATISFIED, already_rated=True, item_closed=True)
    assert Rating.BASICALLY_SATISFIED.label == "基本满意"


def test_rehandle_after_dissatisfied_once() -> None:
    check_rehandle(Rating.DISSATISFIED, 0, RatingRules())
    with pytest.raises(LimitExceeded):
        check_rehandle(Rating.DISSATISFIED, 1, RatingRules())
    with pytest.raises(InvalidInput):
        check_rehandle(Rating.SATISFIED, 0, RatingRules())


# --- publication -------------------------------------------------------------------------


@given(
    st.sampled_from(list(ItemState)),
    st.booleans(),
    st.frozensets(st.sampled_from(["m1", "m2", "o1"]), max_size=3),
)
def test_published_implies_adopted_not_secret_no_opt_out(
    state: ItemState, secret: bool, opt_outs: frozenset[str]
) -> None:
    published = is_published(state, secret=secret, opted_out=opt_outs)
    assert published == (state in ADOPTED_STATES and not secret and len(opt_outs) == 0)


def test_visibility() -> None:
    facts = AccessFacts(
        author_ids=frozenset({"m1"}),
        jurisdiction="zhoushan",
        assigned_unit_ids=frozenset({"u1"}),
        secret=False,
        published=False,
    )
    assert access(Viewer("m1", Role.MEMBER, "zhoushan"), facts) is Access.FULL
    assert access(Viewer("m2", Role.MEMBER, "zhoushan"), facts) is Access.NONE
    assert access(Viewer("e1", Role.EDITOR, "zhoushan"), facts) is Access.FULL
    assert access(Viewer("e2", Role.EDITOR, "zhoushan.putuo"), facts) is Access.NONE
    assert access(Viewer("x", Role.HANDLING_UNIT, "zhoushan", "u1"), facts) is Access.ISSUED_TEXT
    assert access(Viewer("y", Role.HANDLING_UNIT, "zhoushan", "u2"), facts) is Access.NONE
    for admin in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        assert access(Viewer("a", admin, "zhoushan"), facts) is Access.NONE
    published = attrs.evolve(facts, published=True)
    assert access(Viewer("m2", Role.MEMBER, "zhoushan"), published) is Access.PUBLISHED


# --- points ------------------------------------------------------------------------------


def test_points_table_defaults() -> None:
    table = PointsTable()
    day = date(2026, 5, 1)
    assert points(Credit("p", CreditKind.SUBMITTED, day, "i"), table) == 1
    assert points(Credit("p", CreditKind.ADOPTED, day, "i"), table) == 3
    assert points(Credit("p", CreditKind.REPORTED_TO_CITY_LEADERS, day, "i"), table) == 5
    assert points(Credit("p", CreditKind.REPORTED_TO_PRINCIPAL_OR_PROVINCE, day, "i"), table) == 8
    assert (
        points(
            Credit("p", CreditKind.ADOPTED_BY, day, "i", level=AdoptionLevel.PROVINCIAL_CPPCC),
            table,
        )
        == 10
    )
    assert (
        points(
            Credit("p", CreditKind.ADOPTED_BY, day, "i", level=AdoptionLevel.NATIONAL_CPPCC), table
        )
        == 20
    )
    assert (
        points(
            Credit("p", CreditKind.INSTRUCTION, day, "i", rank=LeaderRank.CITY_PRINCIPAL_LEADER),
            table,
        )
        == 8
    )
    assert (
        points(
            Credit("p", CreditKind.INSTRUCTION, day, "i", rank=LeaderRank.NATIONAL_LEADER), table
        )
        == 20
    )
    with pytest.raises(InvalidInput):
        points(Credit("p", CreditKind.INSTRUCTION, day, "i"), table)


credits = st.builds(
    Credit,
    person_id=st.sampled_from(["a", "b", "c"]),
    kind=st.sampled_from(
        [CreditKind.SUBMITTED, CreditKind.ADOPTED, CreditKind.REPORTED_TO_CITY_LEADERS]
    ),
    on=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
    item_id=st.just("i"),
)


@given(st.lists(credits, max_size=30))
def test_scores_sum_per_person_within_period(records: list[Credit]) -> None:
    period = Period.quarter(2026, 2)
    totals = scores(records, PointsTable(), period)
    for person, total in totals.items():
        assert total == sum(
            points(c, PointsTable()) for c in records if c.person_id == person and c.on in period
        )
    ranked = rank(totals)
    assert [r.score for r in ranked] == sorted(totals.values(), reverse=True)
    for first, second in itertools.pairwise(ranked):
        assert second.place == (
            first.place if first.score == second.score else ranked.index(second) + 1
        )


def test_periods() -> None:
    assert Period.quarter(2026, 4) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert Period.quarter(2026, 1).end == date(2026, 3, 31)
    assert date(2026, 6, 30) in Period.quarter(2026, 2)
    with pytest.raises(InvalidInput):
        Period.quarter(2026, 5)
    with pytest.raises(InvalidInput):
        Period(date(2026, 2, 1), date(2026, 1, 1))


def test_rank_ties() -> None:
    ranked = rank({"a": 10, "b": 10, "c": 3})
    assert [(r.place, r.person_id) for r in ranked] == [(1, "a"), (1, "b"), (3, "c")]


# --- RuleSet -----------------------------------------------------------------------------


def test_county_overrides_from_toml(tmp_path: Path) -> None:
    city = RuleSet.zhoushan()
    path = tmp_path / "putuo.toml"
    path.write_text(
        'jurisdiction = "zhoushan.putuo"\nname = "普陀区政协"\n'
        "[deadlines]\nreply_workdays = 10\n"
        '[tiers.signers]\nreport_to_city_leaders = "chair"\n'
        "[points.instruction]\nnational_leader = 30\n",
        encoding="utf-8",
    )
    county = RuleSet.from_toml(path)
    assert county.deadlines.reply_workdays == 10
    assert county.deadlines.decline_workdays == 3
    assert county.tiers.signers[Destination.REPORT_TO_CITY_LEADERS] is Role.CHAIR
    assert county.points.instruction[LeaderRank.NATIONAL_LEADER] == 30
    assert county.points.instruction[LeaderRank.CITY_LEADER] == 5
    assert city == RuleSet.zhoushan()


override_values = st.fixed_dictionaries(
    {},
    optional={
        "deadlines": st.fixed_dictionaries(
            {},
            optional={"reply_workdays": st.integers(1, 30), "decline_workdays": st.integers(0, 10)},
        ),
        "rating": st.fixed_dictionaries(
            {}, optional={"max_rehandles": st.integers(0, 3), "coauthors_may_rate": st.booleans()}
        ),
        "points": st.fixed_dictionaries({}, optional={"adopted": st.integers(0, 50)}),
        "jurisdiction": st.sampled_from(
            ["zhoushan.dinghai", "zhoushan.daishan", "zhoushan.shengsi"]
        ),
    },
)


@given(override_values)
def test_county_overrides_never_change_city_defaults(overrides: dict[str, object]) -> None:
    city = RuleSet.zhoushan()
    county = city.with_overrides(overrides)
    assert city == RuleSet.zhoushan()
    for section in ("deadlines", "rating", "points"):
        values = overrides.get(section, {})
        assert isinstance(values, dict)
        for key, value in values.items():
            assert getattr(getattr(county, section), key) == value


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[deadlines]\nreply_workdays = 'ten'\n", "$.deadlines.reply_workdays"),
        ("[deadlines]\nreply_workdays = 0\n", "$.deadlines"),
        ("[deadlines]\nreply_days = 10\n", "$.deadlines"),
        ("unknown = 1\n", "$"),
        ("[tiers.signers]\nforward_to_departments = 'member'\n", "$.tiers"),
        ("[points.adoption]\nbogus = 3\n", "$.points.adoption"),
        ("[rating]\ncoauthors_may_rate = 1\n", "$.rating.coauthors_may_rate"),
    ],
)
def test_bad_county_files_name_the_field(tmp_path: Path, text: str, path: str) -> None:
    file = tmp_path / "county.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(RuleSetError) as err:
        RuleSet.from_toml(file)
    assert err.value.code == "rules.invalid"
    assert any(
        e.endswith(path) or f"{path}." in e or f"{path}[" in e for e in err.value.details["errors"]
    )


def test_unreadable_and_malformed_rule_files(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError):
        RuleSet.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[deadlines\n", encoding="utf-8")
    with pytest.raises(RuleSetError):
        RuleSet.from_toml(bad)


@pytest.mark.parametrize("coauthors_may_rate", [False, True])
def test_raters_are_exactly_those_check_rater_lets_rate(coauthors_may_rate: bool) -> None:
    rules = RatingRules(coauthors_may_rate=coauthors_may_rate)
    told = raters("m1", ("m3", "m2", "m1"), rules)
    assert told == (("m1", "m2", "m3") if coauthors_may_rate else ("m1",))
    for person in ("m1", "m2", "m3"):
        lead, co = person == "m1", person != "m1"
        assert may_rate(is_lead_author=lead, is_coauthor=co, rules=rules) == (person in told)
        if person not in told:
            with pytest.raises(PermissionDenied) as caught:
                check_rater(is_lead_author=lead, is_coauthor=co, rules=rules)
            assert caught.value.code == "permission.denied"
