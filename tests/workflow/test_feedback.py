"""The decisions of feedback, publication, secrecy, reporting up and commissions, with no store."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import attrs
import pytest

from qiandao.actor import Actor
from qiandao.errors import QiandaoError
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import (
    AccountStatus,
    Assignment,
    Channel,
    Commission,
    Feedback,
    FeedbackKind,
    Item,
    RoleGrant,
    TextVersion,
)
from qiandao.rules.deadlines import SHANGHAI
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import IntakeRules, RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import maximal_item, sample_account, sample_assignment, sample_item
from qiandao.workflow import feedback
from qiandao.workflow.context import Context

ZS = "zhoushan"
DH = "zhoushan.dinghai"
NOW = datetime(2025, 5, 6, 10, 30, tzinfo=SHANGHAI)
TODAY = date(2025, 5, 6)
KNOWN = frozenset({ZS, DH})

EDITOR = Actor("editor-001", Role.EDITOR, ZS)
DEPUTY = Actor("deputy-001", Role.DEPUTY, ZS)
LEAD = Actor("member-001", Role.MEMBER, ZS)
COAUTHOR = Actor("officer-003", Role.INFO_OFFICER, ZS)
STRANGER = Actor("member-099", Role.MEMBER, ZS)
DH_EDITOR = Actor("dh-editor", Role.EDITOR, DH)


def context(rules: RuleSet | None = None) -> Context:
    ids: Iterator[int] = count(1)
    return Context(
        rules or RuleSet.zhoushan(), ChinaWorkdays.official(), NOW, lambda: f"id-{next(ids)}"
    )


def issued(**changes: Any) -> Item:
    """An issued city item with no feedback, assignments or links yet."""
    base = sample_item(
        "item-1",
        state=ItemState.ISSUED,
        assignments=(),
        feedback=(),
        closed_at=None,
        reported_as=None,
        rehandles=0,
    )
    return attrs.evolve(base, **changes)


def refused(code: str, call: Callable[[], object]) -> None:
    with pytest.raises(QiandaoError) as caught:
        call()
    assert caught.value.code == code, caught.value


# --- closing ---------------------------------------------------------------------------------


def test_close() -> None:
    decision = feedback.close(context(), EDITOR, issued(state=ItemState.REPLIED))
    assert decision == [
        (EventKind.CLOSED, Change(state=ItemState.CLOSED, fields=ItemPatch(closed_at=NOW)))
    ]


def test_close_refusals() -> None:
    ctx = context()
    refused("permission.denied", lambda: feedback.close(ctx, LEAD, issued()))
    refused("permission.jurisdiction", lambda: feedback.close(ctx, DH_EDITOR, issued()))
    refused(
        "state.invalid_transition",
        lambda: feedback.close(ctx, EDITOR, issued(state=ItemState.SUBMITTED)),
    )


def _awaiting(closes: date, **changes: Any) -> Assignment:
    """A replied assignment whose first rating is awaited until ``closes``."""
    fields: dict[str, Any] = {"rating": Rating.NOT_RATED, "rated_at": None, **changes}
    return sample_assignment("a-wait", rating_closes=closes, **fields)


def test_close_waits_for_an_open_rating_window() -> None:
    """第十二条: refused while a reply's window is open (its last day included) and unrated."""
    ctx = context()
    rated = sample_assignment("a-rated", rating_closes=TODAY + timedelta(days=30))
    for closes in (TODAY, TODAY + timedelta(days=9)):
        item = issued(state=ItemState.REPLIED, assignments=(rated, _awaiting(closes)))
        refused("rating.window_open", functools.partial(feedback.close, ctx, EDITOR, item))
    # rated, lapsed (the job recorded 未评价), or past its last day: closing is allowed
    lapsed = _awaiting(TODAY, rated_at=NOW)
    ended = _awaiting(TODAY - timedelta(days=1))
    for ready in (rated, lapsed, ended):
        item = issued(state=ItemState.REPLIED, assignments=(ready,))
        assert [k for k, _ in feedback.close(ctx, EDITOR, item)] == [EventKind.CLOSED]


def test_close_checks_permission_before_the_rating_window() -> None:
    item = issued(state=ItemState.REPLIED, assignments=(_awaiting(TODAY),))
    refused("permission.denied", lambda: feedback.close(context(), LEAD, item))
    refused("permission.jurisdiction", lambda: feedback.close(context(), DH_EDITOR, item))


# --- feedback --------------------------------------------------------------------------------


def test_feedback_is_shared_with_units_only_when_asked() -> None:
    ctx, item, rank = context(), issued(), LeaderRank.CITY_LEADER
    decisions = [
        feedback.record_adoption(ctx, EDITOR, item, AdoptionLevel.CITY_CPPCC, TODAY),
        feedback.record_instruction(ctx, EDITOR, item, "张某某", rank, TODAY, "请研究"),
        feedback.record_implementation(ctx, EDITOR, item, TODAY, "已落实"),
    ]
    assert [c.feedback.shared_with_units for ((_, c),) in decisions if c.feedback] == [False] * 3
    shared = [
        feedback.record_adoption(
            ctx, EDITOR, item, AdoptionLevel.CITY_CPPCC, TODAY, shared_with_units=True
        ),
        feedback.record_instruction(
            ctx, EDITOR, item, "张某某", rank, TODAY, "请研究", shared_with_units=True
        ),
        feedback.record_implementation(ctx, EDITOR, item, TODAY, "已落实", shared_with_units=True),
    ]
    assert [c.feedback.shared_with_units for ((_, c),) in shared if c.feedback] == [True] * 3
    not_a_bool: Any = "yes"
    refused(
        "input.invalid",
        lambda: feedback.record_implementation(
            ctx, EDITOR, item, TODAY, "已落实", shared_with_units=not_a_bool
        ),
    )


def test_record_adoption() -> None:
    decision = feedback.record_adoption(
        context(), EDITOR, issued(), AdoptionLevel.PROVINCIAL_CPPCC, date(2025, 5, 1), " 采用 "
    )
    record = Feedback(
        FeedbackKind.ADOPTION,
        date(2025, 5, 1),
        EDITOR.account_id,
        NOW,
        text="采用",
        level=AdoptionLevel.PROVINCIAL_CPPCC,
    )
    assert decision == [
        (EventKind.FEEDBACK_RECORDED, Change(feedback=record, note=FeedbackKind.ADOPTION.label))
    ]


def test_one_adoption_record_per_level() -> None:
    ctx = context()
    item = issued()
    decision = feedback.record_adoption(ctx, EDITOR, item, AdoptionLevel.CITY_CPPCC, TODAY)
    recorded = decision[0][1].feedback
    assert recorded is not None
    again = attrs.evolve(item, feedback=(recorded,))
    refused(
        "input.invalid",
        lambda: feedback.record_adoption(ctx, EDITOR, again, AdoptionLevel.CITY_CPPCC, TODAY),
    )
    assert feedback.record_adoption(ctx, EDITOR, again, AdoptionLevel.PROVINCIAL_CPPCC, TODAY)


def test_feedback_dates_are_days_not_in_the_future() -> None:
    ctx = context()
    item = issued()
    level = AdoptionLevel.CITY_CPPCC
    refused(
        "input.invalid",
        lambda: feedback.record_adoption(ctx, EDITOR, item, level, date(2025, 5, 7)),
    )
    refused("input.invalid", lambda: feedback.record_adoption(ctx, EDITOR, item, level, NOW))
    refused(
        "input.invalid",
        lambda: feedback.record_implementation(ctx, EDITOR, item, "2025-05-01", "落实"),  # type: ignore[arg-type]
    )


def test_record_instruction() -> None:
    decision = feedback.record_instruction(
        context(), EDITOR, issued(), " 张某某 ", LeaderRank.CITY_LEADER, TODAY, "请研究。"
    )
    ((kind, change),) = decision
    assert kind is EventKind.FEEDBACK_RECORDED
    assert change.feedback == Feedback(
        FeedbackKind.INSTRUCTION,
        TODAY,
        EDITOR.account_id,
        NOW,
        text="请研究。",
        leader="张某某",
        rank=LeaderRank.CITY_LEADER,
    )
    assert change.note == FeedbackKind.INSTRUCTION.label


def test_record_implementation() -> None:
    ((kind, change),) = feedback.record_implementation(
        context(), EDITOR, issued(), TODAY, "已出台办法。"
    )
    assert kind is EventKind.FEEDBACK_RECORDED
    assert change.feedback == Feedback(
        FeedbackKind.IMPLEMENTATION, TODAY, EDITOR.account_id, NOW, text="已出台办法。"
    )


def test_feedback_refusals() -> None:
    ctx = context()
    item = issued()
    rank = LeaderRank.CITY_LEADER
    refused(
        "input.invalid",
        lambda: feedback.record_instruction(ctx, EDITOR, item, "张某某", rank, TODAY, " "),
    )
    refused(
        "input.invalid",
        lambda: feedback.record_instruction(ctx, EDITOR, item, "", rank, TODAY, "批示"),
    )
    refused(
        "input.too_large",
        lambda: feedback.record_implementation(ctx, EDITOR, item, TODAY, "字" * 20_001),
    )
    refused(
        "permission.denied", lambda: feedback.record_implementation(ctx, LEAD, item, TODAY, "x")
    )
    refused(
        "state.invalid_transition",
        lambda: feedback.record_implementation(
            ctx, EDITOR, issued(state=ItemState.SUBMITTED), TODAY, "x"
        ),
    )


# --- publication and secrecy -----------------------------------------------------------------


def test_an_author_opts_out_and_back_in() -> None:
    ctx = context()
    item = issued(opted_out=frozenset())
    decision = feedback.set_publication_consent(ctx, LEAD, item, False)
    patch = ItemPatch(opted_out=frozenset({LEAD.account_id}))
    assert decision == [
        (EventKind.PUBLICATION_CONSENT_SET, Change(fields=patch, note="不同意公开"))
    ]
    out = attrs.evolve(item, opted_out=frozenset({LEAD.account_id}))
    ((_, change),) = feedback.set_publication_consent(ctx, LEAD, out, True)
    assert change.fields == ItemPatch(opted_out=frozenset()) and change.note == "同意公开"


def test_the_choice_in_force_decides_nothing() -> None:
    ctx = context()
    item = issued(opted_out=frozenset({COAUTHOR.account_id}))
    assert feedback.set_publication_consent(ctx, COAUTHOR, item, False) == []
    assert feedback.set_publication_consent(ctx, LEAD, item, True) == []


def test_only_authors_set_publication_consent() -> None:
    ctx = context()
    refused(
        "permission.denied",
        lambda: feedback.set_publication_consent(ctx, STRANGER, issued(), False),
    )


def test_reclassify() -> None:
    ctx = context()
    decision = feedback.reclassify(ctx, EDITOR, issued(), True, " 涉及未公开规划 ")
    assert decision == [
        (EventKind.RECLASSIFIED, Change(fields=ItemPatch(secret=True), note="涉及未公开规划"))
    ]
    assert feedback.reclassify(ctx, EDITOR, issued(secret=True), True, "仍涉密") == []


def test_reclassify_refusals() -> None:
    ctx = context()
    refused("reason.required", lambda: feedback.reclassify(ctx, EDITOR, issued(), True, " "))
    refused("reason.required", lambda: feedback.reclassify(ctx, EDITOR, issued(), False, ""))
    refused("permission.denied", lambda: feedback.reclassify(ctx, LEAD, issued(), True, "理由"))
    strict = context(RuleSet(intake=IntakeRules(refuse_secret_bodies=True)))
    refused("secrecy.refused", lambda: feedback.reclassify(strict, EDITOR, issued(), True, "理由"))
    lifted = feedback.reclassify(strict, EDITOR, issued(secret=True), False, "已解密")
    assert lifted[0][1].fields == ItemPatch(secret=False)


# --- reporting up ----------------------------------------------------------------------------


def county_issued(**changes: Any) -> Item:
    return issued(id="dh-item-1", jurisdiction=DH, **changes)


def test_report_up_creates_a_submitted_item_at_the_parent() -> None:
    source = county_issued(urgent=True)
    created, linked = feedback.report_up(context(), DH_EDITOR, source, KNOWN)
    (drafted, new), (submitted, change) = created
    assert (drafted, submitted) == (EventKind.DRAFTED, EventKind.SUBMITTED)
    item = new.item
    assert item is not None
    assert (item.id, item.version, item.jurisdiction, item.state) == (
        "id-1",
        0,
        ZS,
        ItemState.DRAFT,
    )
    assert item.texts == (TextVersion(1, source.title, source.body, DH_EDITOR.account_id, NOW),)
    assert item.authors == source.authors and item.lead_author_id == source.lead_author_id
    assert item.reported_from == source.id and item.urgent
    assert change == Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=NOW))
    assert linked == [
        (
            EventKind.REPORTED_UP,
            Change(state=ItemState.ISSUED, fields=ItemPatch(reported_as="id-1"), note=ZS),
        )
    ]


def test_a_named_target_must_be_the_derived_parent() -> None:
    ctx = context()
    source = county_issued()
    created, _ = feedback.report_up(ctx, DH_EDITOR, source, KNOWN, " zhoushan ")
    assert created[0][1].item is not None and created[0][1].item.jurisdiction == ZS
    sibling = "zhoushan.putuo"
    targets: tuple[Any, ...] = (DH, "hangzhou", sibling, "", 5)
    for target in targets:
        refused(
            "input.invalid",
            functools.partial(
                feedback.report_up, ctx, DH_EDITOR, source, KNOWN | {sibling}, target
            ),
        )


def test_the_city_has_no_parent_to_report_to() -> None:
    ctx = context()
    refused("input.invalid", lambda: feedback.report_up(ctx, EDITOR, issued(), KNOWN))
    refused("input.invalid", lambda: feedback.report_up(ctx, EDITOR, issued(), KNOWN, ZS))


def test_an_unknown_parent_is_refused() -> None:
    source = issued(id="x", jurisdiction="zhoushan.putuo.village")  # 普陀 has no rules here
    actor = Actor("v-editor", Role.EDITOR, source.jurisdiction)
    refused("input.invalid", lambda: feedback.report_up(context(), actor, source, KNOWN))


def test_report_up_refusals_in_order() -> None:
    ctx = context()
    source = county_issued()
    member = Actor("dh-m1", Role.MEMBER, DH)
    refused("permission.denied", lambda: feedback.report_up(ctx, member, source, KNOWN))
    refused("permission.jurisdiction", lambda: feedback.report_up(ctx, EDITOR, source, KNOWN))
    refused(
        "state.invalid_transition",
        lambda: feedback.report_up(ctx, DH_EDITOR, county_issued(state=ItemState.SUBMITTED), KNOWN),
    )
    done = county_issued(reported_as="id-9")
    refused("state.invalid_transition", lambda: feedback.report_up(ctx, DH_EDITOR, done, KNOWN))
    # a wrong target is named before "already reported"
    refused("input.invalid", lambda: feedback.report_up(ctx, DH_EDITOR, done, KNOWN, DH))


# What the parent's item takes from the county item; every other field starts afresh. A field
# added to ``Item`` later fails the coverage test below until it is placed in one of these.
CARRIED = frozenset(
    {
        "lead_author_id",
        "coauthor_ids",
        "merged_authors",  # those credited through merges keep their credit (统计按作者)
        "category",
        "sector",
        "urgent",
        "secret",
        "body_withheld",
        "opted_out",
    }
)
FRESH = frozenset(
    {
        "id",
        "version",
        "jurisdiction",
        "state",
        "texts",
        "created_at",
        "destinations",
        "reviews",
        "assignments",
        "feedback",
        "submitted_at",
        "issued_at",
        "closed_at",
        "commission_id",
        "merged_into",
        "merged_from",
        "reported_from",
        "reported_as",
        "rehandles",
        "state_since",  # set by evolve: the report-up's own DRAFTED event
        "review_overruns",  # the city's review windows start afresh
        "channel",  # 集体报送: the county CPPCC reports as a collective
    }
)


def _reported(source: Item) -> Item:
    created, _ = feedback.report_up(context(), DH_EDITOR, source, KNOWN)
    item = created[0][1].item
    assert item is not None
    return item


def test_nothing_leaks_from_the_county_item() -> None:
    source = maximal_item(
        "dh-max", jurisdiction=DH, state=ItemState.ISSUED, reported_as=None, closed_at=None
    )
    expected = Item(
        id="id-1",
        version=0,
        jurisdiction=ZS,
        state=ItemState.DRAFT,
        lead_author_id=source.lead_author_id,
        texts=(TextVersion(1, source.title, source.body, DH_EDITOR.account_id, NOW),),
        category=source.category,
        channel=Channel.COLLECTIVE,  # a county CPPCC reports by 集体报送
        created_at=NOW,
        sector=source.sector,
        coauthor_ids=source.coauthor_ids,
        urgent=source.urgent,
        secret=source.secret,
        body_withheld=source.body_withheld,
        opted_out=source.opted_out,
        merged_authors=source.merged_authors,
        reported_from=source.id,
    )
    assert _reported(source) == expected


def test_every_item_field_is_either_carried_or_fresh() -> None:
    names = {field.name for field in attrs.fields(Item)}
    assert not CARRIED & FRESH
    assert names == CARRIED | FRESH, f"decide whether report_up carries {names ^ (CARRIED | FRESH)}"
    source = maximal_item(
        "dh-max", jurisdiction=DH, state=ItemState.ISSUED, reported_as=None, closed_at=None
    )
    reported = _reported(source)
    for name in CARRIED:
        assert getattr(reported, name) == getattr(source, name), name


# --- commissions -----------------------------------------------------------------------------

DUE = date(2025, 5, 31)


def invitee(account_id: str, **changes: Any) -> Any:
    return sample_account(account_id, phone=None, **changes)


def test_create_commission() -> None:
    ctx = context()
    named = feedback.check_commission(ctx, EDITOR, " 养老调研 ", ["m1", "o2", "m1"], DUE)
    assert named == ("m1", "o2")
    accounts = (invitee("m1"), invitee("o2", role=Role.INFO_OFFICER))
    commission, notice = feedback.create_commission(
        ctx, EDITOR, " 养老调研 ", ["m1", "o2", "m1"], DUE, accounts
    )
    assert commission == Commission(
        id="id-1",
        version=1,
        jurisdiction=ZS,
        topic="养老调研",
        invitee_ids=("m1", "o2"),
        due=DUE,
        created_by=EDITOR.account_id,
        created_at=NOW,
    )
    assert (notice.id, notice.kind, notice.recipients, notice.at) == (
        "id-2",
        "commission_created",
        ("m1", "o2"),
        NOW,
    )
    assert "养老调研" in notice.text and "2025-05-31" in notice.text


def test_check_commission_refusals_in_order() -> None:
    ctx = context()
    cases: list[tuple[str, Actor, Any, Any, Any]] = [
        ("permission.denied", DEPUTY, " ", [], None),
        ("input.invalid", EDITOR, "主题", "m1", DUE),
        ("input.invalid", EDITOR, "主题", [], DUE),
        ("input.invalid", EDITOR, " ", ["m1"], NOW),
        ("input.invalid", EDITOR, " ", ["m1"], DUE),
        ("input.too_large", EDITOR, "题" * 201, ["m1"], date(2025, 5, 1)),
        ("input.invalid", EDITOR, "主题", ["m1"], date(2025, 5, 5)),
        ("input.invalid", EDITOR, "主题", ["m1", 5], DUE),
    ]
    for code, actor, topic, ids, due in cases:
        refused(code, functools.partial(feedback.check_commission, ctx, actor, topic, ids, due))
    assert feedback.check_commission(ctx, EDITOR, "主题", ["m1"], TODAY) == ("m1",)


def test_invitees_are_submitters_of_the_jurisdiction() -> None:
    ctx = context()

    def create(*accounts: Any) -> object:
        ids = [a.id for a in accounts]
        return feedback.create_commission(ctx, EDITOR, "主题", ids, DUE, accounts)

    refused("not_found", lambda: create(invitee("m1"), invitee("dh-m", jurisdiction=DH)))
    refused("input.invalid", lambda: create(invitee("e2", role=Role.EDITOR)))
    refused("input.invalid", lambda: create(invitee("m2", status=AccountStatus.DELETED)))
    assert create(invitee("m3", status=AccountStatus.LOCKED))
    # grants decide, not the home jurisdiction
    city_member = invitee("dh-c", jurisdiction=DH, grants=(RoleGrant(Role.MEMBER, ZS),))
    assert create(city_member)
    county_home_editor = invitee("dh-e", jurisdiction=DH, grants=(RoleGrant(Role.EDITOR, ZS),))
    refused("input.invalid", lambda: create(county_home_editor))
    city_home_county_member = invitee("zs-d", grants=(RoleGrant(Role.MEMBER, DH),))
    refused("not_found", lambda: create(city_home_county_member))
    refused(
        "input.invalid",
        lambda: feedback.create_commission(ctx, EDITOR, "主题", ["m1"], DUE, (invitee("m2"),)),
    )


def test_commission_progress() -> None:
    commission = Commission("c1", 1, ZS, "主题", ("m1", "m2", "m3"), DUE, "editor-001", NOW)
    mine = {"commission_id": "c1", "coauthor_ids": (), "jurisdiction": ZS}
    items = [
        issued(id="a", lead_author_id="m1", **mine),
        issued(id="b", lead_author_id="m1", state=ItemState.SUBMITTED, **mine),
        issued(id="c", lead_author_id="outsider", state=ItemState.CLOSED, **mine),
        issued(id="d", lead_author_id="m2", state=ItemState.DRAFT, **mine),
        issued(id="e", lead_author_id="m2", state=ItemState.WITHDRAWN, **mine),
        issued(id="f", lead_author_id="m3", commission_id="other", coauthor_ids=()),
    ]
    progress = feedback.commission_progress(context(), DEPUTY, commission, items)
    assert [(p.invitee_id, p.submitted, p.adopted) for p in progress.invitees] == [
        ("m1", 2, 1),
        ("m2", 0, 0),
        ("m3", 0, 0),
    ]
    assert (progress.submitted, progress.adopted) == (2, 1)  # the outsider's item does not count
    assert progress.outstanding == ("m2", "m3")
    assert [(p.outstanding, p.overdue) for p in progress.invitees] == [
        (False, False),
        (True, False),
        (True, False),
    ]
    assert not progress.overdue
    late = attrs.evolve(commission, due=date(2025, 5, 5))
    behind = feedback.commission_progress(context(), EDITOR, late, items)
    assert behind.overdue
    assert [p.overdue for p in behind.invitees] == [False, True, True]
    assert feedback.commission_progress(context(), EDITOR, late, items[:1]).overdue
    everyone = [issued(id=i, lead_author_id=i, **mine) for i in ("m1", "m2", "m3")]
    assert not feedback.commission_progress(context(), EDITOR, late, everyone).overdue


def test_commission_progress_refusals() -> None:
    commission = Commission("c1", 1, ZS, "主题", ("m1",), DUE, "editor-001", NOW)
    refused("permission.denied", lambda: feedback.check_progress_reader(LEAD))
    refused(
        "permission.denied", lambda: feedback.commission_progress(context(), LEAD, commission, [])
    )
    refused(
        "permission.jurisdiction",
        lambda: feedback.commission_progress(context(), DH_EDITOR, commission, []),
    )


@pytest.mark.parametrize("credited", ["member-001", "member-002", "member-777"])
def test_no_credit_is_recorded_by_someone_credited_with_the_item(credited: str) -> None:
    """The lead author, a co-author or a merged author, acting as the editor (第九、十三条)."""
    item = issued(coauthor_ids=("member-002",), merged_authors=frozenset({"member-777"}))
    editor = Actor(credited, Role.EDITOR, ZS)
    for call in (
        functools.partial(
            feedback.record_adoption, context(), editor, item, AdoptionLevel.CITY_CPPCC, TODAY
        ),
        functools.partial(
            feedback.record_instruction,
            context(),
            editor,
            item,
            "张某",
            LeaderRank.CITY_LEADER,
            TODAY,
            "请研究",
        ),
        functools.partial(feedback.record_implementation, context(), editor, item, TODAY, "已落实"),
    ):
        refused("permission.self_review", call)
    assert feedback.record_implementation(context(), EDITOR, item, TODAY, "已落实")
