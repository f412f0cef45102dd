"""The decisions of 第四、五、七条 (qiandao.workflow.intake), without a store or a service."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from itertools import count
from typing import Any

import attrs
import pytest

from qiandao.actor import Actor
from qiandao.errors import QiandaoError
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import (
    Account,
    AccountStatus,
    Channel,
    Commission,
    FocusCategory,
    Item,
    TextVersion,
)
from qiandao.rules.deadlines import SHANGHAI
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.roles import OFFICE_ROLES, SUBMITTER_ROLES, Role
from qiandao.rules.ruleset import IntakeRules, RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_account, sample_commission, sample_item
from qiandao.workflow import intake
from qiandao.workflow.context import Context, Decision
from qiandao.workflow.intake import SECRET_STUB, DraftInput

ZS = "zhoushan"
DH = "zhoushan.dinghai"
NOW = datetime(2025, 5, 6, 10, 30, tzinfo=SHANGHAI)

LEAD = Actor("member-001", Role.MEMBER, ZS)  # the lead author of sample_item
COAUTHOR = Actor("member-002", Role.MEMBER, ZS)  # a co-author of sample_item
STRANGER = Actor("member-099", Role.MEMBER, ZS)
EDITOR = Actor("editor-001", Role.EDITOR, ZS)
DH_MEMBER = Actor("dh-member-001", Role.MEMBER, DH)

TITLE = "关于加强海岛渔民养老保障的建议"
BODY = "舟山海岛渔民参保率偏低。'; DROP TABLE items; -- 🐟"


def context(rules: RuleSet | None = None) -> Context:
    """The Zhoushan rules, the official calendar, NOW and ids id-1, id-2, …"""
    ids: Iterator[int] = count(1)
    return Context(
        rules or RuleSet.zhoushan(), ChinaWorkdays.official(), NOW, lambda: f"id-{next(ids)}"
    )


def intake_rules(**changes: Any) -> RuleSet:
    """The Zhoushan rules with other intake settings."""
    return attrs.evolve(RuleSet.zhoushan(), intake=IntakeRules(**changes))


def payload(**changes: Any) -> dict[str, Any]:
    """A JSON payload of a draft, with untrimmed title and body."""
    return {"title": f"  {TITLE} ", "body": f"\n{BODY}\n", "category": "hot_issue", **changes}


def data(**changes: Any) -> DraftInput:
    """A validated draft."""
    return intake.draft_input(payload(**changes))


def account(account_id: str, **changes: Any) -> Account:
    """An active member account of Zhoushan."""
    return sample_account(account_id, None, **changes)


def commission(**changes: Any) -> Commission:
    """A Zhoushan commission (约稿) with the id ``commission-01``."""
    return sample_commission("commission-01", **changes)


def stored(state: ItemState = ItemState.DRAFT, **changes: Any) -> Item:
    """An item of Zhoushan (lead member-001, co-authors member-002 and officer-003), two texts."""
    fields: dict[str, Any] = {
        "state": state,
        "reviews": (),
        "assignments": (),
        "feedback": (),
        "destinations": frozenset(),
        "submitted_at": None,
        "issued_at": None,
        "closed_at": None,
        "merged_from": (),
        "merged_authors": frozenset(),
        "reported_as": None,
        "rehandles": 0,
        **changes,
    }
    return sample_item("item-1", **fields)


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


def created(decision: Decision) -> Item:
    """The item a DRAFTED decision (possibly followed by SUBMITTED) creates."""
    kind, change = decision[0]
    assert kind is EventKind.DRAFTED
    assert change.item is not None
    return change.item


def paths(error: QiandaoError) -> set[str]:
    """The paths of the fields a validation error names."""
    return {re.sub(r".* @ ", "", problem) for problem in error.details["errors"]}


# --- draft_input -----------------------------------------------------------------------------


def test_draft_input_structures_a_payload_with_the_defaults() -> None:
    got = intake.draft_input(payload(coauthor_ids=["member-002"], channel="commission"))
    assert got == DraftInput(
        title=f"  {TITLE} ",
        body=f"\n{BODY}\n",
        category=FocusCategory.HOT_ISSUE,
        channel=Channel.COMMISSION,
        coauthor_ids=("member-002",),
    )
    assert (got.sector, got.urgent, got.secret, got.publish, got.commission_id) == (
        "",
        False,
        False,
        True,
        None,
    )


def test_draft_input_gives_a_draft_built_in_code_the_same_checks() -> None:
    built = DraftInput(TITLE, BODY, FocusCategory.EMERGENCY, urgent=True)
    assert intake.draft_input(built) == built
    bad = DraftInput(TITLE, BODY, "emergency", urgent="yes")  # type: ignore[arg-type]
    error = refused("input.invalid", lambda: intake.draft_input(bad))
    assert paths(error) == {"$.urgent"}  # the category given by value is accepted


def test_a_bad_payload_names_every_bad_field() -> None:
    bad = {
        "title": 1,
        "body": ["正文"],
        "category": "nowhere",
        "channel": "fax",
        "urgent": "yes",
        "publish": 0,
        "coauthor_ids": [2],
        "commission_id": 7,
        "unknown_field": True,
    }
    error = refused("input.invalid", lambda: intake.draft_input(bad))
    problems = error.details["errors"]
    assert len(problems) == 9
    assert paths(error) >= {
        "$.title",
        "$.body",
        "$.category",
        "$.channel",
        "$.urgent",
        "$.publish",
        "$.coauthor_ids",
        "$.commission_id",
    }
    assert any("unknown_field" in problem for problem in problems)


def test_missing_fields_are_named() -> None:
    error = refused("input.invalid", lambda: intake.draft_input({}))
    assert paths(error) == {"$.title", "$.body", "$.category"}


@pytest.mark.parametrize("value", ["not a table", None, ["title"]])
def test_a_payload_that_is_no_table_is_refused(value: Any) -> None:
    refused("input.invalid", lambda: intake.draft_input(value))


# --- fingerprint -----------------------------------------------------------------------------


def test_the_same_payload_has_the_same_fingerprint() -> None:
    first = intake.fingerprint(data(coauthor_ids=["member-002"]))
    assert first == intake.fingerprint(data(coauthor_ids=["member-002"]))
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    built = DraftInput(
        f"  {TITLE} ", f"\n{BODY}\n", FocusCategory.HOT_ISSUE, coauthor_ids=("member-002",)
    )
    assert intake.fingerprint(built) == first  # built in code or parsed from JSON alike


@pytest.mark.parametrize(
    "change",
    [
        {"title": "另一个标题"},
        {"body": "另一段正文"},
        {"category": "emergency"},
        {"channel": "meeting"},
        {"sector": "经济界"},
        {"urgent": True},
        {"secret": True},
        {"coauthor_ids": ["member-002"]},
        {"publish": False},
        {"commission_id": "commission-01"},
    ],
)
def test_a_changed_payload_has_another_fingerprint(change: dict[str, Any]) -> None:
    assert intake.fingerprint(data(**change)) != intake.fingerprint(data())


# --- check_draft -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(SUBMITTER_ROLES))
def test_every_submitter_role_may_draft(role: Role) -> None:
    actor = Actor("someone", role, ZS)
    assert intake.check_draft(context(), actor, data()).coauthor_ids == ()


@pytest.mark.parametrize(
    "role",
    [Role.EDITOR, Role.DEPUTY, Role.OFFICE_HEAD, Role.CHAIR, Role.HANDLING_UNIT, Role.SYSTEM_ADMIN],
)
def test_only_submitters_draft(role: Role) -> None:
    actor = Actor("someone", role, ZS, "u-a" if role is Role.HANDLING_UNIT else None)
    error = refused("permission.denied", lambda: intake.check_draft(context(), actor, data()))
    assert error.details["role"] == role.value


CHANNELS = {
    Role.MEMBER: Channel.MEMBER,
    Role.INFO_OFFICER: Channel.INFO_OFFICER,
    Role.CONTACT_POINT: Channel.CONTACT_POINT,
    Role.ORGANISATION: Channel.COLLECTIVE,
}


@pytest.mark.parametrize("role", sorted(SUBMITTER_ROLES))
def test_the_channel_is_derived_from_the_submitter(role: Role) -> None:
    actor = Actor("someone", role, ZS)
    assert set(CHANNELS) == SUBMITTER_ROLES
    assert created(intake.draft(context(), actor, data())).channel is CHANNELS[role]
    # naming the derived channel is accepted and changes nothing
    named = data(channel=CHANNELS[role].value)
    assert created(intake.draft(context(), actor, named)).channel is CHANNELS[role]


@pytest.mark.parametrize(
    ("role", "channel"),
    [(r, c) for r in sorted(SUBMITTER_ROLES) for c in Channel if c is not CHANNELS[r]],
)
def test_a_payload_naming_another_channel_is_refused(role: Role, channel: Channel) -> None:
    actor = Actor("someone", role, ZS)
    for decide in (intake.draft, intake.submit_new):
        call = partial(decide, context(), actor, data(channel=channel.value))
        error = refused("input.channel_mismatch", call)
        assert error.details["field"] == "channel"
        assert isinstance(error, QiandaoError) and error.article == "第七条"


def test_an_answer_to_a_commission_comes_by_the_commission_channel() -> None:
    answer = data(commission_id="commission-01")
    item = created(intake.draft(context(), LEAD, answer, (), commission()))
    assert item.channel is Channel.COMMISSION
    mine = data(commission_id="commission-01", channel="member")
    answer_as_member = partial(intake.draft, context(), LEAD, mine, (), commission())
    refused("input.channel_mismatch", answer_as_member)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.HANDLING_UNIT, Role.SYSTEM_ADMIN])
def test_roles_without_a_channel_are_refused_permission(role: Role) -> None:
    refused("permission.denied", partial(intake.channel_for, role))


def test_coauthor_ids_are_deduplicated_in_order_without_the_author() -> None:
    named = ["member-002", "member-001", "officer-003", "member-002", "officer-003"]
    got = intake.check_draft(context(), LEAD, data(coauthor_ids=named)).coauthor_ids
    assert got == ("member-002", "officer-003")


def test_the_coauthor_limit_counts_distinct_coauthors_other_than_the_author() -> None:
    two = context(intake_rules(max_coauthors=2))
    named = ["member-002", "member-001", "officer-003", "member-002"]
    assert intake.check_draft(two, LEAD, data(coauthor_ids=named)).coauthor_ids == (
        "member-002",
        "officer-003",
    )
    error = refused(
        "input.invalid",
        lambda: intake.check_draft(two, LEAD, data(coauthor_ids=[*named, "member-004"])),
    )
    assert error.details["field"] == "coauthor_ids"
    none = context(intake_rules(max_coauthors=0))
    assert intake.check_draft(none, LEAD, data(coauthor_ids=["member-001"])).coauthor_ids == ()
    refused("input.invalid", lambda: intake.check_draft(none, LEAD, data(coauthor_ids=["m-2"])))


def test_the_default_limit_is_twenty_coauthors() -> None:
    twenty = [f"member-{n:03d}" for n in range(2, 22)]
    assert len(intake.check_draft(context(), LEAD, data(coauthor_ids=twenty)).coauthor_ids) == 20
    refused(
        "input.invalid",
        lambda: intake.check_draft(context(), LEAD, data(coauthor_ids=[*twenty, "member-099"])),
    )


@pytest.mark.parametrize("coauthor", [1, None, b"member-002", ("member-002",)])
def test_a_coauthor_that_is_not_an_account_id_is_refused(coauthor: Any) -> None:
    built = DraftInput(TITLE, BODY, FocusCategory.HOT_ISSUE, coauthor_ids=("member-002", coauthor))
    error = refused("input.invalid", lambda: intake.check_draft(context(), LEAD, built))
    assert error.details["field"] == "coauthor_ids"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"title": "   "}, "input.invalid"),
        ({"body": ""}, "input.invalid"),
        ({"title": "题" * 201}, "input.too_large"),
        ({"body": "字" * 20_001}, "input.too_large"),
        ({"sector": "界" * 101}, "input.too_large"),
        ({"body": "正文\x00"}, "input.invalid"),
    ],
)
def test_title_body_and_sector_are_checked(change: dict[str, Any], code: str) -> None:
    refused(code, lambda: intake.check_draft(context(), LEAD, data(**change)))


def test_the_text_limits_come_from_the_rules() -> None:
    short = context(intake_rules(max_title_chars=5, max_body_chars=10))
    checked = intake.check_draft(short, LEAD, data(title=" 五个字标题 ", body="十个字的正文内容啊"))
    assert (checked.title, checked.body) == ("五个字标题", "十个字的正文内容啊")
    assert checked.coauthor_ids == ()
    refused("input.too_large", lambda: intake.check_draft(short, LEAD, data(title="六个字的标题")))
    refused(
        "input.too_large",
        lambda: intake.check_draft(short, LEAD, data(body="十一个字的正文内容啊啊")),
    )


# --- draft and submit_new --------------------------------------------------------------------


def test_draft_decides_one_drafted_event_carrying_the_new_item() -> None:
    decision = intake.draft(context(), LEAD, data(sector=" 农业和农村界 ", urgent=True))
    change = only(decision, EventKind.DRAFTED)
    assert change == Change(item=change.item)  # nothing but the item
    item = created(decision)
    assert item == Item(
        id="id-1",
        version=0,
        jurisdiction=ZS,
        state=ItemState.DRAFT,
        lead_author_id="member-001",
        texts=(TextVersion(1, TITLE, BODY, "member-001", NOW),),
        category=FocusCategory.HOT_ISSUE,
        channel=Channel.MEMBER,
        created_at=NOW,
        sector="农业和农村界",
        urgent=True,
    )
    assert item.submitted_at is None and item.authors == {"member-001"}


def test_a_draft_belongs_to_the_jurisdiction_of_its_author() -> None:
    item = created(intake.draft(context(), DH_MEMBER, data()))
    assert (item.jurisdiction, item.lead_author_id) == (DH, "dh-member-001")


def test_the_coauthors_are_the_loaded_accounts_in_the_named_order() -> None:
    named = ["officer-003", "member-001", "member-002", "officer-003"]
    accounts = (
        account("officer-003", role=Role.INFO_OFFICER),
        account("member-002", role=Role.CONTACT_POINT),
    )
    item = created(intake.draft(context(), LEAD, data(coauthor_ids=named), accounts))
    assert item.lead_author_id == "member-001"
    assert item.coauthor_ids == ("officer-003", "member-002")
    assert item.authors == {"member-001", "member-002", "officer-003"}


def test_an_author_who_does_not_publish_is_opted_out() -> None:
    assert created(intake.draft(context(), LEAD, data(publish=False))).opted_out == {"member-001"}
    assert created(intake.draft(context(), LEAD, data(publish=True))).opted_out == frozenset()


def test_a_secret_body_is_kept_where_the_rules_allow_it() -> None:
    item = created(intake.draft(context(), LEAD, data(secret=True)))
    assert (item.secret, item.body_withheld, item.body, item.title) == (True, False, BODY, TITLE)


def test_a_secret_body_becomes_the_stub_where_the_rules_refuse_secret_bodies() -> None:
    refusing = context(intake_rules(refuse_secret_bodies=True))
    item = created(intake.draft(refusing, LEAD, data(secret=True)))
    assert (item.secret, item.body_withheld, item.body, item.title) == (
        True,
        True,
        SECRET_STUB,
        TITLE,
    )
    assert item.texts == (TextVersion(1, TITLE, SECRET_STUB, "member-001", NOW),)
    plain = created(intake.draft(refusing, LEAD, data()))  # only 涉密 bodies are withheld
    assert (plain.secret, plain.body_withheld, plain.body) == (False, False, BODY)


def test_a_draft_answering_a_commission_carries_its_id() -> None:
    answer = data(commission_id="commission-01", channel="commission")
    item = created(intake.draft(context(), LEAD, answer, commission=commission()))
    assert (item.commission_id, item.channel) == ("commission-01", Channel.COMMISSION)


@pytest.mark.parametrize(
    "changes",
    [
        {"role": Role.EDITOR},
        {"role": Role.DEPUTY},
        {"role": Role.HANDLING_UNIT},
        {"jurisdiction": DH},
        {"status": AccountStatus.LOCKED},
        {"status": AccountStatus.DELETED},
    ],
)
def test_a_coauthor_must_be_an_active_submitter_of_the_jurisdiction(
    changes: dict[str, Any],
) -> None:
    named = data(coauthor_ids=["member-002", "officer-003"])
    accounts = (account("member-002"), account("officer-003", **changes))
    for decide in (intake.draft, intake.submit_new):
        error = refused("input.invalid", partial(decide, context(), LEAD, named, accounts))
        assert error.details["field"] == "coauthor_ids"


def test_a_county_author_takes_coauthors_of_the_county() -> None:
    named = data(coauthor_ids=["dh-member-002"])
    county = account("dh-member-002", jurisdiction=DH)
    item = created(intake.draft(context(), DH_MEMBER, named, (county,)))
    assert item.coauthor_ids == ("dh-member-002",)
    city = account("dh-member-002")
    refused("input.invalid", lambda: intake.draft(context(), DH_MEMBER, named, (city,)))


@pytest.mark.parametrize(
    ("named", "loaded"),
    [
        (["member-002"], ()),
        ([], ("member-002",)),
        (["member-002", "officer-003"], ("member-002",)),
        (["member-002", "officer-003"], ("officer-003", "member-002")),
        (["member-002"], ("member-002", "member-002")),
        (["member-002"], ("member-003",)),
    ],
)
def test_the_loaded_coauthors_must_match_the_named_ones(
    named: list[str], loaded: tuple[str, ...]
) -> None:
    accounts = tuple(account(account_id) for account_id in loaded)
    for decide in (intake.draft, intake.submit_new):
        call = partial(decide, context(), LEAD, data(coauthor_ids=named), accounts)
        error = refused("input.invalid", call)
        assert error.details["field"] == "coauthor_ids"


@pytest.mark.parametrize(
    ("commission_id", "loaded"),
    [("commission-01", None), (None, "commission-01"), ("commission-01", "commission-02")],
)
def test_the_loaded_commission_must_match_the_named_one(
    commission_id: str | None, loaded: str | None
) -> None:
    answer = data(commission_id=commission_id)
    facts = None if loaded is None else sample_commission(loaded)
    for decide in (intake.draft, intake.submit_new):
        error = refused("input.invalid", partial(decide, context(), LEAD, answer, commission=facts))
        assert error.details["field"] == "commission_id"


@pytest.mark.parametrize(
    ("actor", "jurisdiction"), [(LEAD, DH), (LEAD, "zhoushan.putuo"), (DH_MEMBER, ZS)]
)
def test_a_commission_of_another_jurisdiction_is_not_found(actor: Actor, jurisdiction: str) -> None:
    answer = data(commission_id="commission-01")
    elsewhere = commission(jurisdiction=jurisdiction)
    for decide in (intake.draft, intake.submit_new):
        refused("not_found", partial(decide, context(), actor, answer, commission=elsewhere))
    own = commission(jurisdiction=actor.jurisdiction, invitee_ids=(actor.account_id,))
    assert created(intake.draft(context(), actor, answer, commission=own)).commission_id


def test_only_invitees_answer_a_commission() -> None:
    answer = data(commission_id="commission-01")
    invited = commission(invitee_ids=(LEAD.account_id,))
    assert created(intake.submit_new(context(), LEAD, answer, commission=invited)).commission_id
    for decide in (intake.draft, intake.submit_new):  # 第七条
        refused(
            "permission.denied", partial(decide, context(), STRANGER, answer, commission=invited)
        )


def test_draft_makes_the_checks_of_check_draft() -> None:
    refused("permission.denied", lambda: intake.draft(context(), EDITOR, data()))
    refused("permission.denied", lambda: intake.submit_new(context(), EDITOR, data()))
    refused("input.too_large", lambda: intake.draft(context(), LEAD, data(title="题" * 201)))
    refused("input.invalid", lambda: intake.submit_new(context(), LEAD, data(body=" ")))


def test_submit_new_drafts_and_submits_in_one_decision() -> None:
    answer = data(coauthor_ids=["member-002"], publish=False)
    accounts = (account("member-002"),)
    decision = intake.submit_new(context(), LEAD, answer, accounts)
    assert [k for k, _ in decision] == [EventKind.DRAFTED, EventKind.SUBMITTED]
    assert decision[0] == intake.draft(context(), LEAD, answer, accounts)[0]
    assert decision[1][1] == Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=NOW))
    item = created(decision)
    assert item.state is ItemState.DRAFT  # the drafted item; the second event submits it
    assert (item.coauthor_ids, item.opted_out) == (("member-002",), frozenset({"member-001"}))


def test_submit_new_withholds_a_secret_body_as_draft_does() -> None:
    refusing = context(intake_rules(refuse_secret_bodies=True))
    item = created(intake.submit_new(refusing, LEAD, data(secret=True)))
    assert (item.body, item.body_withheld) == (SECRET_STUB, True)


# --- revised_text ----------------------------------------------------------------------------


def test_revised_text_is_a_new_version_only_on_a_real_change() -> None:
    item = stored()
    assert intake.revised_text(context(), LEAD, item, None, None) is None
    assert intake.revised_text(context(), LEAD, item, f" {item.title}\n", None) is None
    assert intake.revised_text(context(), LEAD, item, item.title, f"\t{item.body} ") is None
    assert intake.revised_text(context(), LEAD, item, " 新标题 ", None) == TextVersion(
        3, "新标题", item.body, "member-001", NOW
    )
    assert intake.revised_text(context(), EDITOR, item, None, " 新正文 ") == TextVersion(
        3, item.title, "新正文", "editor-001", NOW
    )


def test_revised_text_keeps_a_withheld_body_withheld() -> None:
    withheld = stored(
        secret=True,
        body_withheld=True,
        texts=(TextVersion(1, TITLE, SECRET_STUB, "member-001", NOW),),
    )
    assert intake.revised_text(context(), LEAD, withheld, None, "涉密正文") is None
    assert intake.revised_text(context(), LEAD, withheld, "新标题", "涉密正文") == TextVersion(
        2, "新标题", SECRET_STUB, "member-001", NOW
    )


@pytest.mark.parametrize(
    ("title", "body", "code"),
    [
        (" ", None, "input.invalid"),
        (None, "", "input.invalid"),
        (3, None, "input.invalid"),
        ("题" * 201, None, "input.too_large"),
        (None, "字" * 20_001, "input.too_large"),
    ],
)
def test_revised_text_checks_the_text(title: Any, body: Any, code: str) -> None:
    refused(code, lambda: intake.revised_text(context(), LEAD, stored(), title, body))


# --- edit_draft, submit, resubmit, withdraw ---------------------------------------------------


@pytest.mark.parametrize("state", [ItemState.DRAFT, ItemState.RETURNED])
def test_the_lead_author_edits_a_draft_or_a_returned_item(state: ItemState) -> None:
    item = stored(state)
    change = only(
        intake.edit_draft(context(), LEAD, item, title=" 新标题 "), EventKind.DRAFT_EDITED
    )
    assert change == Change(
        state=state, text=TextVersion(3, "新标题", item.body, "member-001", NOW)
    )


def test_an_edit_without_a_real_change_makes_no_text_version() -> None:
    item = stored()
    for title, body in ((None, None), (item.title, None), (f" {item.title} ", f"{item.body}\n")):
        change = only(intake.edit_draft(context(), LEAD, item, title, body), EventKind.DRAFT_EDITED)
        assert change == Change(state=ItemState.DRAFT)


def test_an_edit_of_a_withheld_body_keeps_the_stub() -> None:
    withheld = stored(
        secret=True,
        body_withheld=True,
        texts=(TextVersion(1, TITLE, SECRET_STUB, "member-001", NOW),),
    )
    change = only(
        intake.edit_draft(context(), LEAD, withheld, body="涉密正文"), EventKind.DRAFT_EDITED
    )
    assert change.text is None
    change = only(
        intake.edit_draft(context(), LEAD, withheld, "新标题", "涉密正文"), EventKind.DRAFT_EDITED
    )
    assert change.text == TextVersion(2, "新标题", SECRET_STUB, "member-001", NOW)


def test_the_lead_author_submits_a_draft() -> None:
    change = only(intake.submit(context(), LEAD, stored()), EventKind.SUBMITTED)
    assert change == Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=NOW))


def test_the_lead_author_resubmits_a_returned_item_revised_or_not() -> None:
    returned = stored(ItemState.RETURNED, submitted_at=datetime(2025, 5, 1, 9, tzinfo=SHANGHAI))
    change = only(intake.resubmit(context(), LEAD, returned), EventKind.RESUBMITTED)
    assert change == Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=NOW))
    same = only(
        intake.resubmit(context(), LEAD, returned, returned.title, returned.body),
        EventKind.RESUBMITTED,
    )
    assert same == change
    revised = only(
        intake.resubmit(context(), LEAD, returned, body=" 修改后的正文 "), EventKind.RESUBMITTED
    )
    assert revised == Change(
        state=ItemState.SUBMITTED,
        text=TextVersion(3, returned.title, "修改后的正文", "member-001", NOW),
        fields=ItemPatch(submitted_at=NOW),
    )


@pytest.mark.parametrize("state", [ItemState.DRAFT, ItemState.RETURNED])
def test_the_lead_author_withdraws_a_draft_or_a_returned_item(state: ItemState) -> None:
    change = only(intake.withdraw(context(), LEAD, stored(state)), EventKind.WITHDRAWN)
    assert change == Change(state=ItemState.WITHDRAWN)


def _edit(actor: Actor, item: Item) -> Decision:
    return intake.edit_draft(context(), actor, item, "新标题")


def _submit(actor: Actor, item: Item) -> Decision:
    return intake.submit(context(), actor, item)


def _resubmit(actor: Actor, item: Item) -> Decision:
    return intake.resubmit(context(), actor, item, body="新正文")


def _withdraw(actor: Actor, item: Item) -> Decision:
    return intake.withdraw(context(), actor, item)


AUTHOR_STEPS = [
    pytest.param(_edit, ItemState.DRAFT, id="edit_draft"),
    pytest.param(_submit, ItemState.DRAFT, id="submit"),
    pytest.param(_resubmit, ItemState.RETURNED, id="resubmit"),
    pytest.param(_withdraw, ItemState.DRAFT, id="withdraw"),
]


@pytest.mark.parametrize(("step", "state"), AUTHOR_STEPS)
@pytest.mark.parametrize(
    "actor",
    [COAUTHOR, Actor("officer-003", Role.INFO_OFFICER, ZS), STRANGER],
)
def test_only_the_lead_author_runs_author_steps(
    step: Callable[[Actor, Item], Decision], state: ItemState, actor: Actor
) -> None:
    refused("permission.denied", lambda: step(actor, stored(state)))
    assert step(LEAD, stored(state))


@pytest.mark.parametrize(("step", "state"), AUTHOR_STEPS)
@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (EDITOR, "permission.denied"),
        (Actor("deputy-001", Role.DEPUTY, ZS), "permission.denied"),
        (Actor("dh-editor", Role.EDITOR, DH), "permission.jurisdiction"),
        (Actor("ua", Role.HANDLING_UNIT, ZS, "u-a"), "permission.denied"),
    ],
)
def test_office_staff_and_units_run_no_author_steps(
    step: Callable[[Actor, Item], Decision], state: ItemState, actor: Actor, code: str
) -> None:
    if state is ItemState.DRAFT and actor.role in OFFICE_ROLES:
        code = "not_found"  # a draft is its authors' alone: the office does not see it
    refused(code, lambda: step(actor, stored(state)))


@pytest.mark.parametrize(
    ("step", "states"),
    [
        (_edit, [ItemState.DRAFT, ItemState.RETURNED]),
        (_submit, [ItemState.DRAFT]),
        (_resubmit, [ItemState.RETURNED]),
        (_withdraw, [ItemState.DRAFT, ItemState.RETURNED]),
    ],
    ids=["edit_draft", "submit", "resubmit", "withdraw"],
)
def test_author_steps_refuse_the_other_states(
    step: Callable[[Actor, Item], Decision], states: list[ItemState]
) -> None:
    for state in ItemState:
        if state in states:
            assert step(LEAD, stored(state))
        else:
            refused("state.invalid_transition", partial(step, LEAD, stored(state)))
