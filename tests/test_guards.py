"""Guards found in review: each closes a way around the regulation (see docs/workflow.md)."""

from __future__ import annotations

from functools import partial
from typing import Any

from qiandao import Actor, DraftInput, RuleSet
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import IntakeRules
from tests.helpers import DH, ZS, fails, make_world, refused

PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}


def test_a_unit_named_by_a_plain_string_role_cannot_act_for_another_unit() -> None:
    world = make_world()
    item, (a,) = world.assigned(("u-a", True))
    other = Actor("ub", "handling_unit", ZS, "u-b")  # as a host builds it from a token claim
    assert other.role is Role.HANDLING_UNIT
    refused(world, item.id, "not_found", lambda: world.qd.accept(other, item.id, a.id))


def test_only_the_required_tier_rejects_or_sends_back_at_sign_off() -> None:
    world = make_world()
    qd = world.qd
    item = qd.submit_new(world.member, PAYLOAD)
    item = qd.pass_preliminary(
        world.editor, item.id, destinations=["report_to_principal_leaders_and_province"]
    )
    item = qd.approve(world.deputy, item.id)
    head = world.head
    refused(world, item.id, "permission.signer_tier", lambda: qd.reject(head, item.id, "不采用"))
    refused(world, item.id, "permission.signer_tier", lambda: qd.send_back(head, item.id, "退回"))


def test_coauthors_are_active_submitters_of_the_same_jurisdiction() -> None:
    world = make_world()
    for bad in (world.editor.account_id, world.county["member"].account_id):
        try:
            world.qd.submit_new(world.member, {**PAYLOAD, "coauthor_ids": [bad]})
        except Exception as error:
            assert getattr(error, "code", None) == "input.invalid"
        else:
            raise AssertionError(f"{bad} accepted as co-author")
    ok = world.qd.submit_new(world.member, {**PAYLOAD, "coauthor_ids": [world.coauthor.account_id]})
    assert world.coauthor.account_id in ok.authors


def test_draft_objects_are_validated_like_json() -> None:
    world = make_world()
    bad = DraftInput(title="t", body="b", category="bogus")  # type: ignore[arg-type]
    try:
        world.qd.submit_new(world.member, bad)
    except Exception as error:
        assert getattr(error, "code", None) == "input.invalid"
    else:
        raise AssertionError("a bad DraftInput was stored")
    assert world.qd.inbox(world.editor) == []


def test_reclassifying_to_secret_is_refused_where_secret_bodies_are_not_kept() -> None:
    rules = RuleSet(intake=IntakeRules(refuse_secret_bodies=True))
    world = make_world(city_rules=rules)
    item = world.qd.submit_new(world.member, PAYLOAD)
    refused(
        world,
        item.id,
        "secrecy.refused",
        lambda: world.qd.reclassify(world.editor, item.id, True, "涉及国家秘密"),
    )


def test_report_up_goes_only_to_the_parent() -> None:
    world = make_world()
    county = world.county
    qd = world.qd
    item = qd.submit_new(county["member"], PAYLOAD)
    item = qd.pass_preliminary(county["editor"], item.id, destinations=["forward_to_departments"])
    item = qd.approve(county["deputy"], item.id)
    item = qd.sign(county["head"], item.id)
    linked = qd.report_up(county["editor"], item.id, ZS)
    assert linked.reported_as is not None
    assert world.load(linked.reported_as).jurisdiction == ZS
    city = world.issued()
    refused(world, city.id, "input.invalid", lambda: qd.report_up(world.editor, city.id, DH))


def test_bad_argument_types_get_domain_errors() -> None:
    world = make_world()
    item = world.qd.submit_new(world.member, PAYLOAD)
    not_a_list: list[Any] = [None, 5, "forward_to_departments"]
    for destinations in not_a_list:
        passing = partial(
            world.qd.pass_preliminary, world.editor, item.id, destinations=destinations
        )
        refused(world, item.id, "input.invalid", passing)
    for year, quarter in (("2026", 1), (99999, 1), (2026, 5), (None, 1)):
        try:
            world.qd.quarterly_bulletin(world.editor, year, quarter)  # type: ignore[arg-type]
        except Exception as error:
            assert getattr(error, "code", None) == "input.invalid", error
        else:
            raise AssertionError((year, quarter))


def test_send_back_to_preliminary_tells_the_editors_and_merge_tells_the_authors() -> None:
    world = make_world()
    qd = world.qd
    item = qd.submit_new(world.member, PAYLOAD)
    item = qd.pass_preliminary(world.editor, item.id, destinations=["forward_to_departments"])
    world.notifier.sent.clear()
    qd.send_back(world.deputy, item.id, "请再核实")
    assert [n.recipients for n in world.notifier.sent] == [(f"role:editor@{ZS}",)]
    other = qd.submit_new(world.coauthor, {**PAYLOAD, "title": "类似的建议"})
    world.notifier.sent.clear()
    qd.merge(world.editor, other.id, item.id)
    assert any(world.coauthor.account_id in n.recipients for n in world.notifier.sent)


def test_a_unit_reassigned_away_no_longer_sees_the_item() -> None:
    world = make_world()
    qd = world.qd
    item = world.issued(secret=True)  # 涉密: never published, need-to-know only
    item = qd.assign(world.editor, item.id, [("u-a", True)])
    (a,) = item.assignments
    unit_a = world.unit("u-a")
    qd.decline(unit_a, item.id, a.id, "不属于本单位职责")
    qd.reassign(world.editor, item.id, a.id, "u-b")
    fails("not_found", lambda: qd.item_detail(unit_a, item.id))
    assert qd.item_detail(world.unit("u-b"), item.id).title == item.title
