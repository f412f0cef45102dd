"""The decisions of 第六、九条 (qiandao.workflow.review), without a store or a service."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from itertools import count
from typing import Any

import attrs
import pytest

from qiandao.actor import Actor
from qiandao.errors import JurisdictionDenied, QiandaoError, SelfReviewForbidden, WrongSigner
from qiandao.events import Change, Event, EventKind, ItemPatch, evolve
from qiandao.model import Item, ReviewDecision, ReviewRecord, ReviewStage, TextVersion
from qiandao.rules.deadlines import SHANGHAI
from qiandao.rules.lifecycle import AUTHOR_ONLY_STATES, TERMINAL_ITEM_STATES, ItemState
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.tiers import Destination, TierRules, required_signer
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_item
from qiandao.workflow import review
from qiandao.workflow.context import Context, Decision

ZS = "zhoushan"
DH = "zhoushan.dinghai"
NOW = datetime(2025, 5, 6, 10, 30, tzinfo=SHANGHAI)

EDITOR = Actor("editor-001", Role.EDITOR, ZS)
DEPUTY = Actor("deputy-001", Role.DEPUTY, ZS)
OFFICE_HEAD = Actor("head-001", Role.OFFICE_HEAD, ZS)
SECRETARY = Actor("secgen-001", Role.SECRETARY_GENERAL, ZS)
CHAIR = Actor("chair-001", Role.CHAIR, ZS)
LEAD = Actor("member-001", Role.MEMBER, ZS)  # the lead author of sample_item
UNIT = Actor("ua", Role.HANDLING_UNIT, ZS, "u-a")
DH_EDITOR = Actor("dh-editor", Role.EDITOR, DH)
SIGNERS = {Role.OFFICE_HEAD: OFFICE_HEAD, Role.SECRETARY_GENERAL: SECRETARY, Role.CHAIR: CHAIR}

D = Destination
DEPARTMENTS = frozenset({D.FORWARD_TO_DEPARTMENTS})  # signed by the office head
CITY_LEADERS = frozenset({D.FORWARD_TO_DEPARTMENTS, D.REPORT_TO_CITY_LEADERS})  # the sec.-gen.
PRINCIPALS = frozenset({D.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE})  # the chair


def context(rules: RuleSet | None = None) -> Context:
    """The Zhoushan rules, the official calendar, NOW and ids id-1, id-2, …"""
    ids: Iterator[int] = count(1)
    return Context(
        rules or RuleSet.zhoushan(), ChinaWorkdays.official(), NOW, lambda: f"id-{next(ids)}"
    )


def item(state: ItemState = ItemState.SUBMITTED, item_id: str = "item-1", **changes: Any) -> Item:
    """A Zhoushan item in review (lead member-001, co-authors member-002 and officer-003),
    two text versions, destinations that the secretary-general signs, nothing merged yet."""
    fields: dict[str, Any] = {
        "state": state,
        "destinations": CITY_LEADERS,
        "reviews": (),
        "assignments": (),
        "feedback": (),
        "issued_at": None,
        "closed_at": None,
        "commission_id": None,
        "merged_from": (),
        "merged_authors": frozenset(),
        "merged_into": None,
        "reported_as": None,
        "rehandles": 0,
        **changes,
    }
    return sample_item(item_id, **fields)


def by(actor: Actor, state: ItemState = ItemState.SUBMITTED, **changes: Any) -> Item:
    """An item in ``state`` that ``actor`` co-authored."""
    return item(state, coauthor_ids=("member-002", actor.account_id), **changes)


def refused(code: str, call: Callable[[], object]) -> QiandaoError:
    """The call refuses with ``code``."""
    with pytest.raises(QiandaoError) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def only(decision: Decision, kind: EventKind) -> Change:
    """The one change of a one-event decision of ``kind``."""
    assert [k for k, _ in decision] == [kind]
    return decision[0][1]


def record(stage: ReviewStage, decision: ReviewDecision, actor: Actor, note: str) -> ReviewRecord:
    """The review record ``actor`` leaves at NOW."""
    return ReviewRecord(stage, decision, actor.account_id, actor.role, NOW, note)


def applied(target: Item, decision: Decision, actor: Actor) -> Item:
    """The item after the decided events, as the command runner applies them."""
    for kind, change in decision:
        sequence = target.version + 1
        event = Event(f"evt-{sequence}", target.id, sequence, kind, actor.account_id, NOW, change)
        target = evolve(target, event)
    return target


# --- pass_preliminary ------------------------------------------------------------------------


def test_pass_preliminary_sends_the_item_to_the_deputy_with_its_destinations() -> None:
    decision = review.pass_preliminary(
        context(), EDITOR, item(), ["forward_to_departments"], note=" 建议转送 "
    )
    change = only(decision, EventKind.PRELIMINARY_PASSED)
    assert change == Change(
        state=ItemState.IN_REVIEW,
        review=record(ReviewStage.PRELIMINARY, ReviewDecision.PASSED, EDITOR, "建议转送"),
        fields=ItemPatch(destinations=DEPARTMENTS),
    )


@pytest.mark.parametrize(
    "destinations",
    [
        ["report_to_city_leaders", "forward_to_departments"],
        (D.REPORT_TO_CITY_LEADERS, "forward_to_departments"),
        ["REPORT_TO_CITY_LEADERS", "转送部门", "forward_to_departments"],
        CITY_LEADERS,
        iter(["report_to_city_leaders", "forward_to_departments"]),
    ],
)
def test_destinations_are_parsed_by_value_name_or_label(destinations: Any) -> None:
    change = only(
        review.pass_preliminary(context(), EDITOR, item(), destinations),
        EventKind.PRELIMINARY_PASSED,
    )
    assert change.fields == ItemPatch(destinations=CITY_LEADERS)


@pytest.mark.parametrize(
    "destinations",
    [[], (), frozenset(), "forward_to_departments", None, 3, ["nowhere"], [None]],
)
def test_pass_preliminary_requires_known_destinations(destinations: Any) -> None:
    refused(
        "input.invalid",
        lambda: review.pass_preliminary(context(), EDITOR, item(), destinations),
    )


def test_the_editors_text_is_a_new_version_only_on_a_real_change() -> None:
    submitted = item()
    edited = only(
        review.pass_preliminary(
            context(), EDITOR, submitted, ["forward_to_departments"], " 编辑后标题 ", "编辑后正文"
        ),
        EventKind.PRELIMINARY_PASSED,
    )
    assert edited.text == TextVersion(3, "编辑后标题", "编辑后正文", "editor-001", NOW)
    unchanged = only(
        review.pass_preliminary(
            context(), EDITOR, submitted, ["forward_to_departments"], submitted.title
        ),
        EventKind.PRELIMINARY_PASSED,
    )
    assert unchanged.text is None


@pytest.mark.parametrize(
    ("title", "note", "code"),
    [
        (" ", "", "input.invalid"),
        ("题" * 201, "", "input.too_large"),
        (None, "意" * 2001, "input.too_large"),
    ],
)
def test_pass_preliminary_checks_the_text_and_the_note(
    title: str | None, note: str, code: str
) -> None:
    refused(
        code,
        lambda: review.pass_preliminary(
            context(), EDITOR, item(), ["forward_to_departments"], title, note=note
        ),
    )


# --- return_for_revision, reject, send_back --------------------------------------------------

REASONED = [
    pytest.param(
        review.return_for_revision,
        EDITOR,
        ItemState.SUBMITTED,
        EventKind.RETURNED,
        ItemState.RETURNED,
        ReviewStage.PRELIMINARY,
        ReviewDecision.RETURNED,
        id="return-at-preliminary",
    ),
    pytest.param(
        review.reject,
        EDITOR,
        ItemState.SUBMITTED,
        EventKind.REJECTED,
        ItemState.NOT_ADOPTED,
        ReviewStage.PRELIMINARY,
        ReviewDecision.REJECTED,
        id="reject-at-preliminary",
    ),
    pytest.param(
        review.reject,
        DEPUTY,
        ItemState.IN_REVIEW,
        EventKind.REJECTED,
        ItemState.NOT_ADOPTED,
        ReviewStage.DEPUTY,
        ReviewDecision.REJECTED,
        id="reject-at-review",
    ),
    pytest.param(
        review.reject,
        SECRETARY,
        ItemState.AWAITING_SIGNOFF,
        EventKind.REJECTED,
        ItemState.NOT_ADOPTED,
        ReviewStage.SIGNOFF,
        ReviewDecision.REJECTED,
        id="reject-at-signoff",
    ),
    pytest.param(
        review.send_back,
        DEPUTY,
        ItemState.IN_REVIEW,
        EventKind.SENT_BACK,
        ItemState.SUBMITTED,
        ReviewStage.DEPUTY,
        ReviewDecision.RETURNED,
        id="send-back-from-review",
    ),
    pytest.param(
        review.send_back,
        SECRETARY,
        ItemState.AWAITING_SIGNOFF,
        EventKind.SENT_BACK,
        ItemState.IN_REVIEW,
        ReviewStage.SIGNOFF,
        ReviewDecision.RETURNED,
        id="send-back-from-signoff",
    ),
]
Reasoned = Callable[[Context, Actor, Item, str], Decision]


@pytest.mark.parametrize(
    ("decide", "actor", "state", "kind", "after", "stage", "verdict"), REASONED
)
def test_a_reasoned_step_records_its_reason(
    decide: Reasoned,
    actor: Actor,
    state: ItemState,
    kind: EventKind,
    after: ItemState,
    stage: ReviewStage,
    verdict: ReviewDecision,
) -> None:
    change = only(decide(context(), actor, item(state), " 材料不全，请补充数据。\n"), kind)
    why = "材料不全，请补充数据。"
    assert change == Change(state=after, review=record(stage, verdict, actor, why), note=why)


@pytest.mark.parametrize(
    ("decide", "actor", "state"), [pytest.param(*p.values[:3], id=p.id) for p in REASONED]
)
@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("", "reason.required"),
        (" \n\t", "reason.required"),
        (None, "reason.required"),
        (5, "input.invalid"),
        ("由" * 2001, "input.too_large"),
    ],
)
def test_a_reasoned_step_requires_a_reason(
    decide: Reasoned, actor: Actor, state: ItemState, reason: Any, code: str
) -> None:
    refused(code, lambda: decide(context(), actor, item(state), reason))


def test_the_reason_limit_comes_from_the_rules() -> None:
    rules = attrs.evolve(
        RuleSet.zhoushan(),
        intake=attrs.evolve(RuleSet.zhoushan().intake, max_reason_chars=4),
    )
    assert review.reject(context(rules), EDITOR, item(), "理由四字")
    refused("input.too_large", lambda: review.reject(context(rules), EDITOR, item(), "理由五个字"))


@pytest.mark.parametrize(
    ("decide", "actor", "state", "code"),
    [
        (review.return_for_revision, DEPUTY, ItemState.SUBMITTED, "permission.denied"),
        (review.return_for_revision, EDITOR, ItemState.IN_REVIEW, "state.invalid_transition"),
        (review.reject, LEAD, ItemState.SUBMITTED, "permission.denied"),
        (review.reject, EDITOR, ItemState.IN_REVIEW, "state.invalid_transition"),
        (review.reject, DEPUTY, ItemState.SUBMITTED, "state.invalid_transition"),
        (review.reject, EDITOR, ItemState.ISSUED, "state.invalid_transition"),
        (review.send_back, EDITOR, ItemState.SUBMITTED, "permission.denied"),
        (review.send_back, DEPUTY, ItemState.AWAITING_SIGNOFF, "state.invalid_transition"),
        (review.send_back, UNIT, ItemState.IN_REVIEW, "permission.denied"),
    ],
)
def test_a_reasoned_step_belongs_to_its_role_and_state(
    decide: Reasoned, actor: Actor, state: ItemState, code: str
) -> None:
    refused(code, lambda: decide(context(), actor, item(state), "理由"))


@pytest.mark.parametrize("decide", [review.reject, review.send_back])
def test_at_signoff_only_the_required_tier_rejects_or_sends_back(decide: Reasoned) -> None:
    awaiting = item(ItemState.AWAITING_SIGNOFF)  # the secretary-general signs
    refused("permission.signer_tier", lambda: decide(context(), OFFICE_HEAD, awaiting, "理由"))
    assert decide(context(), CHAIR, awaiting, "理由")


# --- approve ---------------------------------------------------------------------------------


def test_approve_without_destinations_patches_nothing() -> None:
    change = only(
        review.approve(context(), DEPUTY, item(ItemState.IN_REVIEW), note=" 同意 "),
        EventKind.DEPUTY_APPROVED,
    )
    assert change == Change(
        state=ItemState.AWAITING_SIGNOFF,
        review=record(ReviewStage.DEPUTY, ReviewDecision.PASSED, DEPUTY, "同意"),
    )
    assert change.fields.updates() == {}


def test_amended_destinations_recompute_the_tier_that_signs() -> None:
    in_review = item(ItemState.IN_REVIEW)  # the secretary-general would sign
    decision = review.approve(
        context(), DEPUTY, in_review, ["report_to_principal_leaders_and_province"]
    )
    change = only(decision, EventKind.DEPUTY_APPROVED)
    assert change == Change(
        state=ItemState.AWAITING_SIGNOFF,
        review=record(ReviewStage.DEPUTY, ReviewDecision.PASSED, DEPUTY, ""),
        fields=ItemPatch(destinations=PRINCIPALS),
    )
    awaiting = applied(in_review, decision, DEPUTY)
    assert awaiting.destinations == PRINCIPALS
    assert required_signer(awaiting.destinations, RuleSet.zhoushan().tiers) is Role.CHAIR
    refused("permission.signer_tier", lambda: review.sign(context(), SECRETARY, awaiting))
    assert review.sign(context(), CHAIR, awaiting)

    lowered = applied(in_review, review.approve(context(), DEPUTY, in_review, DEPARTMENTS), DEPUTY)
    assert only(review.sign(context(), OFFICE_HEAD, lowered), EventKind.SIGNED)


@pytest.mark.parametrize("destinations", [[], "report_to_city_leaders", ["nowhere"]])
def test_approve_refuses_bad_destinations(destinations: Any) -> None:
    refused(
        "input.invalid",
        lambda: review.approve(context(), DEPUTY, item(ItemState.IN_REVIEW), destinations),
    )


@pytest.mark.parametrize(
    ("actor", "state", "code"),
    [
        (EDITOR, ItemState.IN_REVIEW, "permission.denied"),
        (SECRETARY, ItemState.IN_REVIEW, "permission.denied"),
        (LEAD, ItemState.IN_REVIEW, "permission.denied"),
        (DEPUTY, ItemState.SUBMITTED, "state.invalid_transition"),
        (DEPUTY, ItemState.AWAITING_SIGNOFF, "state.invalid_transition"),
    ],
)
def test_only_the_deputy_approves_an_item_in_review(
    actor: Actor, state: ItemState, code: str
) -> None:
    refused(code, lambda: review.approve(context(), actor, item(state)))


# --- sign ------------------------------------------------------------------------------------


def test_sign_issues_the_item() -> None:
    awaiting = item(ItemState.AWAITING_SIGNOFF)
    change = only(review.sign(context(), SECRETARY, awaiting, " 签发 "), EventKind.SIGNED)
    assert change == Change(
        state=ItemState.ISSUED,
        review=record(ReviewStage.SIGNOFF, ReviewDecision.PASSED, SECRETARY, "签发"),
        fields=ItemPatch(issued_at=NOW),
    )


@pytest.mark.parametrize(
    ("destinations", "signer", "signs"),
    [
        (DEPARTMENTS, Role.OFFICE_HEAD, True),
        (DEPARTMENTS, Role.SECRETARY_GENERAL, True),
        (DEPARTMENTS, Role.CHAIR, True),
        (CITY_LEADERS, Role.OFFICE_HEAD, False),
        (CITY_LEADERS, Role.SECRETARY_GENERAL, True),
        (CITY_LEADERS, Role.CHAIR, True),
        (PRINCIPALS, Role.OFFICE_HEAD, False),
        (PRINCIPALS, Role.SECRETARY_GENERAL, False),
        (PRINCIPALS, Role.CHAIR, True),
        (DEPARTMENTS | PRINCIPALS, Role.SECRETARY_GENERAL, False),
    ],
)
def test_only_the_required_tier_or_a_higher_one_signs(
    destinations: frozenset[Destination], signer: Role, signs: bool
) -> None:
    awaiting = item(ItemState.AWAITING_SIGNOFF, destinations=destinations)
    if signs:
        assert only(review.sign(context(), SIGNERS[signer], awaiting), EventKind.SIGNED)
    else:
        refused(WrongSigner.code, lambda: review.sign(context(), SIGNERS[signer], awaiting))


@pytest.mark.parametrize(
    ("destinations", "signer", "signs"),
    [
        (DEPARTMENTS, Role.OFFICE_HEAD, True),
        (DEPARTMENTS, Role.SECRETARY_GENERAL, False),
        (DEPARTMENTS, Role.CHAIR, False),
        (CITY_LEADERS, Role.SECRETARY_GENERAL, True),
        (CITY_LEADERS, Role.CHAIR, False),
        (PRINCIPALS, Role.CHAIR, True),
    ],
)
def test_a_higher_signer_is_refused_where_the_rules_forbid_it(
    destinations: frozenset[Destination], signer: Role, signs: bool
) -> None:
    strict = context(attrs.evolve(RuleSet.zhoushan(), tiers=TierRules(allow_higher_signer=False)))
    awaiting = item(ItemState.AWAITING_SIGNOFF, destinations=destinations)
    if signs:
        assert only(review.sign(strict, SIGNERS[signer], awaiting), EventKind.SIGNED)
    else:
        refused("permission.signer_tier", lambda: review.sign(strict, SIGNERS[signer], awaiting))


def test_the_signer_of_each_destination_comes_from_the_rules() -> None:
    signers = {**TierRules().signers, D.FORWARD_TO_DEPARTMENTS: Role.CHAIR}
    rules = attrs.evolve(RuleSet.zhoushan(), tiers=TierRules(signers=signers))
    awaiting = item(ItemState.AWAITING_SIGNOFF, destinations=DEPARTMENTS)
    refused("permission.signer_tier", lambda: review.sign(context(rules), OFFICE_HEAD, awaiting))
    assert review.sign(context(rules), CHAIR, awaiting)


@pytest.mark.parametrize(
    ("actor", "state", "code"),
    [
        (EDITOR, ItemState.AWAITING_SIGNOFF, "permission.denied"),
        (DEPUTY, ItemState.AWAITING_SIGNOFF, "permission.denied"),
        (LEAD, ItemState.AWAITING_SIGNOFF, "permission.denied"),
        (SECRETARY, ItemState.IN_REVIEW, "state.invalid_transition"),
        (CHAIR, ItemState.ISSUED, "state.invalid_transition"),
    ],
)
def test_only_a_signer_signs_an_item_awaiting_signoff(
    actor: Actor, state: ItemState, code: str
) -> None:
    refused(code, lambda: review.sign(context(), actor, item(state)))


# --- relations: nobody reviews their own item, office staff stay in their jurisdiction ------

STEPS = [
    pytest.param(
        EDITOR,
        ItemState.SUBMITTED,
        lambda c, a, i: review.pass_preliminary(c, a, i, ["forward_to_departments"]),
        id="pass_preliminary",
    ),
    pytest.param(
        EDITOR,
        ItemState.SUBMITTED,
        lambda c, a, i: review.return_for_revision(c, a, i, "理由"),
        id="return_for_revision",
    ),
    pytest.param(
        EDITOR, ItemState.SUBMITTED, lambda c, a, i: review.reject(c, a, i, "理由"), id="reject"
    ),
    pytest.param(
        DEPUTY,
        ItemState.IN_REVIEW,
        lambda c, a, i: review.send_back(c, a, i, "理由"),
        id="send_back",
    ),
    pytest.param(DEPUTY, ItemState.IN_REVIEW, review.approve, id="approve"),
    pytest.param(
        DEPUTY,
        ItemState.IN_REVIEW,
        lambda c, a, i: review.approve(c, a, i, ["forward_to_departments"]),
        id="approve-amended",
    ),
    pytest.param(SECRETARY, ItemState.AWAITING_SIGNOFF, review.sign, id="sign"),
    pytest.param(
        SECRETARY,
        ItemState.AWAITING_SIGNOFF,
        lambda c, a, i: review.reject(c, a, i, "理由"),
        id="reject-at-signoff",
    ),
    pytest.param(
        EDITOR,
        ItemState.SUBMITTED,
        lambda c, a, i: review.merge(c, a, i, item(ItemState.IN_REVIEW, "item-2")),
        id="merge",
    ),
]
Step = Callable[[Context, Actor, Item], object]


@pytest.mark.parametrize(("actor", "state", "step"), STEPS)
def test_the_step_is_allowed_to_its_actor(actor: Actor, state: ItemState, step: Step) -> None:
    assert step(context(), actor, item(state))


@pytest.mark.parametrize(("actor", "state", "step"), STEPS)
def test_nobody_reviews_an_item_they_wrote(actor: Actor, state: ItemState, step: Step) -> None:
    refused(SelfReviewForbidden.code, lambda: step(context(), actor, by(actor, state)))
    lead = item(state, lead_author_id=actor.account_id)
    refused("permission.self_review", lambda: step(context(), actor, lead))


@pytest.mark.parametrize(("actor", "state", "step"), STEPS)
def test_office_staff_act_only_in_their_jurisdiction(
    actor: Actor, state: ItemState, step: Step
) -> None:
    county = attrs.evolve(actor, jurisdiction=DH)
    refused(JurisdictionDenied.code, lambda: step(context(), county, item(state)))
    city = attrs.evolve(actor, jurisdiction=ZS)
    refused("permission.jurisdiction", lambda: step(context(), city, item(state, jurisdiction=DH)))


def test_the_self_review_check_looks_at_the_authors_not_the_signer_tier() -> None:
    awaiting = by(OFFICE_HEAD, ItemState.AWAITING_SIGNOFF, destinations=DEPARTMENTS)
    refused("permission.self_review", lambda: review.sign(context(), OFFICE_HEAD, awaiting))


# --- merge -----------------------------------------------------------------------------------


def source_and_target(
    state: ItemState = ItemState.IN_REVIEW, **target_changes: Any
) -> tuple[Item, Item]:
    """A submitted item of member-001 (co-authors member-002, officer-003) and a target in
    ``state`` written by member-005 and member-002."""
    source = item(ItemState.SUBMITTED, "item-1")
    fields: dict[str, Any] = {
        "lead_author_id": "member-005",
        "coauthor_ids": ("member-002",),
        **target_changes,
    }
    return source, item(state, "item-2", **fields)


def test_merge_decides_events_for_both_items() -> None:
    source, target = source_and_target(
        merged_from=("item-0",), merged_authors=frozenset({"member-009"})
    )
    source_decision, target_decision = review.merge(context(), EDITOR, source, target, " 内容重复 ")
    assert only(source_decision, EventKind.MERGED) == Change(
        state=ItemState.MERGED,
        review=record(ReviewStage.PRELIMINARY, ReviewDecision.MERGED, EDITOR, "内容重复"),
        fields=ItemPatch(merged_into="item-2"),
    )
    assert only(target_decision, EventKind.MERGE_RECEIVED) == Change(
        fields=ItemPatch(
            merged_from=("item-0", "item-1"),
            # member-002 already writes the target: only the others are credited
            merged_authors=frozenset({"member-009", "member-001", "officer-003"}),
        )
    )


def test_a_refusal_to_publish_the_source_carries_to_the_target() -> None:
    """A merged author who refused publication still refuses it for the target (第十四条)."""
    source, target = source_and_target(opted_out=frozenset({"member-005"}))
    source = attrs.evolve(source, opted_out=frozenset({"member-001"}))
    _, received = review.merge(context(), EDITOR, source, target)
    change = only(received, EventKind.MERGE_RECEIVED)
    assert change.fields.opted_out == frozenset({"member-001", "member-005"})


@pytest.mark.parametrize("who", [DEPUTY, LEAD, Actor("ua", Role.HANDLING_UNIT, ZS, "u-a")])
def test_who_may_not_merge_learns_nothing_of_the_target(who: Actor) -> None:
    source, target = source_and_target(state=ItemState.DRAFT)
    for into in (target, source):  # a draft target, or the source itself
        refused("permission.denied", functools.partial(review.merge, context(), who, source, into))


def test_merge_credits_the_source_authors_of_a_chain() -> None:
    a = item(ItemState.SUBMITTED, "item-a", lead_author_id="m-a", coauthor_ids=("m-a2",))
    b = item(ItemState.SUBMITTED, "item-b", lead_author_id="m-b", coauthor_ids=())
    c = item(
        ItemState.IN_REVIEW,
        "item-c",
        lead_author_id="m-c",
        coauthor_ids=("m-a2",),
        merged_authors=frozenset({"m-x"}),
        merged_from=("item-x",),
    )
    a_merged, b_received = review.merge(context(), EDITOR, a, b)
    a = applied(a, a_merged, EDITOR)
    b = applied(b, b_received, EDITOR)
    assert (a.state, a.merged_into) == (ItemState.MERGED, "item-b")
    assert (b.state, b.merged_from, b.merged_authors) == (
        ItemState.SUBMITTED,
        ("item-a",),
        frozenset({"m-a", "m-a2"}),
    )

    b_merged, c_received = review.merge(context(), EDITOR, b, c)
    assert only(c_received, EventKind.MERGE_RECEIVED).fields == ItemPatch(
        merged_from=("item-x", "item-b"),
        merged_authors=frozenset({"m-x", "m-b", "m-a"}),  # m-a2 writes c already
    )
    c = applied(c, c_received, EDITOR)
    assert c.merged_authors == {"m-x", "m-b", "m-a"}
    assert applied(b, b_merged, EDITOR).merged_into == "item-c"


def test_a_source_author_who_writes_the_target_is_not_credited_twice() -> None:
    source, target = source_and_target(
        lead_author_id="member-001", coauthor_ids=("officer-003", "member-002")
    )
    _, received = review.merge(context(), EDITOR, source, target)
    assert only(received, EventKind.MERGE_RECEIVED).fields.merged_authors == frozenset()


def test_an_item_is_not_merged_into_itself() -> None:
    source = item()
    error = refused("input.invalid", lambda: review.merge(context(), EDITOR, source, source))
    assert error.details["field"] == "into_item_id"
    twin = attrs.evolve(source, version=99)  # the same id loaded twice
    refused("input.invalid", lambda: review.merge(context(), EDITOR, source, twin))


@pytest.mark.parametrize("state", list(ItemState))
def test_the_target_is_submitted_and_not_terminal(state: ItemState) -> None:
    source, target = source_and_target(state=state)
    if state in AUTHOR_ONLY_STATES:  # the editor does not see an author's draft or withdrawal
        error = refused("not_found", lambda: review.merge(context(), EDITOR, source, target))
        assert error.details["id"] == target.id
    elif state in TERMINAL_ITEM_STATES:
        error = refused("input.invalid", lambda: review.merge(context(), EDITOR, source, target))
        assert error.details["field"] == "into_item_id"
    else:
        merged, received = review.merge(context(), EDITOR, source, target)
        assert [k for k, _ in merged + received] == [EventKind.MERGED, EventKind.MERGE_RECEIVED]


def test_a_county_editor_merges_no_county_item_into_a_city_item() -> None:
    source = item(ItemState.SUBMITTED, "dh-item-1", jurisdiction=DH)
    city_target = item(ItemState.IN_REVIEW, "item-2", lead_author_id="member-005")
    refused(
        "permission.jurisdiction",
        lambda: review.merge(context(), DH_EDITOR, source, city_target),
    )
    county_target = attrs.evolve(city_target, jurisdiction=DH)
    assert review.merge(context(), DH_EDITOR, source, county_target)


def test_the_source_is_checked_like_any_review_step() -> None:
    source, target = source_and_target()
    for state in ItemState:
        if state is not ItemState.SUBMITTED:
            moved = attrs.evolve(source, state=state)
            code = "not_found" if state in AUTHOR_ONLY_STATES else "state.invalid_transition"
            refused(code, partial(review.merge, context(), EDITOR, moved, target))
    refused("permission.denied", lambda: review.merge(context(), DEPUTY, source, target))
    refused("permission.denied", lambda: review.merge(context(), LEAD, source, target))
    county_source = attrs.evolve(source, jurisdiction=DH)
    refused(
        "permission.jurisdiction", lambda: review.merge(context(), EDITOR, county_source, target)
    )
    refused("input.too_large", lambda: review.merge(context(), EDITOR, source, target, "意" * 2001))
