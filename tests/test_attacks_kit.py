"""Adversarial review of the embedding kit (issue 11): the change feed, account views, item
views, allowed actions, cursors, unit commands and the JSON dispatcher, each attacked by an
untrusted caller. A test here documents a claim that held, or (``xfail``) a hole still open."""

from __future__ import annotations

import importlib.util
import json
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qiandao import Access, Role
from qiandao._core import Actor
from qiandao.json import arguments, command_names, schema, to_json
from qiandao.lanes import LanePosition
from qiandao.model import Account, AccountView
from qiandao.paging import encode_position
from qiandao.testing import enrol
from qiandao.workflow.handling import MAX_UNITS_PER_ASSIGN
from tests.helpers import DH, ZS, World, fails, make_world

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, ZS)
DH_ADMIN = Actor("admin-dh", Role.SYSTEM_ADMIN, DH)
SECURITY = Actor("security-1", Role.SECURITY_ADMIN, ZS)
AUDITOR = Actor("audit-1", Role.AUDIT_ADMIN, ZS)
INTEGRATION_DH = Actor("int-dh", Role.INTEGRATION, DH)
DRAFT = {"title": "标题", "body": "正文", "category": "hot_issue"}


@pytest.fixture
def w() -> World:
    world = make_world()
    enrol(world.store, ADMIN, DH_ADMIN, SECURITY, AUDITOR, INTEGRATION_DH)
    return world


def units_now(w: World) -> Any:
    with w.store.unit_of_work() as uow:
        units = uow.units.list()
        return units, [uow.units.events(u.id) for u in units]


# --- the change feed ----------------------------------------------------------------------


def _feed(w: World, actor: Actor) -> list[Any]:
    return list(w.qd.events_since(actor, None, 500).items)


def test_the_feed_shows_no_reader_a_draft_or_an_unpublished_item(w: World) -> None:
    draft = w.qd.draft(w.member, DRAFT)
    submitted = w.qd.submit_new(w.member, DRAFT)
    for reader in (w.stranger, w.unit("u-a"), w.county["member"], INTEGRATION_DH):
        shown = {e.item_id for e in _feed(w, reader)}
        assert draft.id not in shown and submitted.id not in shown


def _strings(value: object) -> set[str]:
    """Every string in a JSON value: an id is checked as a whole value, never as a substring
    (a short account id may occur inside a random hex id)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()), set(value))
    if isinstance(value, list):
        return set().union(set(), *(_strings(v) for v in value))
    return set()


def test_a_public_reader_never_learns_who_acted(w: World) -> None:
    item = w.issued()
    entries = [e for e in _feed(w, w.stranger) if e.item_id == item.id]
    assert entries, "the published item is in the stranger's feed"
    assert all(e.actor_id == "" for e in entries)
    assert all(e.access is Access.PUBLISHED for e in entries)
    shown = _strings(to_json(entries))
    for person in (w.member, w.coauthor, w.editor, w.deputy, w.head):
        assert person.account_id not in shown


def test_a_unit_learns_nothing_of_another_units_assignment_or_its_actor(w: World) -> None:
    item, assignments = w.accepted("u-a", "u-b")
    other = next(a for a in assignments if a.unit_id == "u-a")
    for entry in _feed(w, w.unit("u-b")):
        assert entry.change.assignment is None or entry.change.assignment.unit_id == "u-b"
        assert entry.actor_id in ("", w.unit("u-b").account_id)
    shown = _strings(to_json(_feed(w, w.unit("u-b"))))
    assert other.id not in shown and w.unit("u-a").account_id not in shown
    assert item.id in shown


def test_a_county_unit_sees_nothing_of_a_city_item_unless_published(w: World) -> None:
    w.accepted("u-a")
    w.qd.submit_new(w.member, DRAFT)
    for entry in _feed(w, w.unit("u-dh")):
        assert entry.access is Access.PUBLISHED


# --- allowed actions ----------------------------------------------------------------------


def test_allowed_actions_does_not_tell_an_invisible_item_from_a_missing_one(w: World) -> None:
    draft = w.qd.draft(w.member, DRAFT)
    submitted = w.qd.submit_new(w.member, DRAFT)
    for actor in (w.stranger, w.unit("u-a"), w.county["editor"], w.county["member"]):
        for item_id in (draft.id, submitted.id, "no-such-item"):
            fails("not_found", partial(w.qd.allowed_actions, actor, item_id))


def test_allowed_actions_offers_a_county_office_nothing_on_a_city_item(w: World) -> None:
    item = w.issued()
    for person in w.county.values():
        assert w.qd.allowed_actions(person, item.id) == ()


# --- item views ---------------------------------------------------------------------------


def test_a_unit_view_names_only_its_own_assignment(w: World) -> None:
    item, _ = w.accepted("u-a", "u-b")
    view = w.qd.item_detail(w.unit("u-b"), item.id)
    assert {a.assignment.unit_id for a in view.assignments} == {"u-b"}
    shown = _strings(to_json(view))
    assert "市自然资源和规划局" not in shown  # u-a's name
    assert w.unit("u-a").account_id not in shown


def test_a_public_view_names_no_office_staff(w: World) -> None:
    item = w.issued()
    shown = _strings(to_json(w.qd.item_detail(w.stranger, item.id)))
    for person in (w.editor, w.deputy, w.head):
        assert person.account_id not in shown


# --- cursors ------------------------------------------------------------------------------


def test_a_cursor_forged_for_another_members_scope_reaches_only_the_callers_rows(
    w: World,
) -> None:
    mine = w.qd.submit_new(w.member, DRAFT)
    w.qd.submit_new(w.stranger, DRAFT)
    page = w.qd.my_items(w.member, limit=1)
    assert page.items and page.items[0].id == mine.id
    fails("input.invalid", lambda: w.qd.my_items(w.stranger, cursor=page.next_cursor or "x"))
    # a cursor crafted by hand with the stranger's own scope and a key far in the future
    forged = encode_position(
        "my_items",
        w.stranger.account_id,
        LanePosition(1, mine.submitted_at or w.clock.now(), "zzz", "zzz"),
    )
    seen = w.qd.my_items(w.stranger, cursor=forged)
    assert mine.id not in {v.id for v in seen.items}


# --- unit commands ------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [SECURITY, AUDITOR], ids=["security", "audit"])
def test_no_other_administrator_manages_units(w: World, actor: Actor) -> None:
    before = units_now(w)
    fails("permission.denied", lambda: w.qd.add_unit(actor, "u-x", "新单位"))
    fails("permission.denied", lambda: w.qd.rename_unit(actor, "u-a", "改名"))
    fails("permission.denied", lambda: w.qd.retire_unit(actor, "u-c"))
    fails("permission.denied", lambda: w.qd.merge_units(actor, "u-c", "u-b"))
    assert units_now(w) == before


def test_a_county_admin_cannot_touch_a_city_unit_or_merge_across(w: World) -> None:
    before = units_now(w)
    fails("input.invalid", lambda: w.qd.rename_unit(DH_ADMIN, "u-a", "改名"))  # as unknown
    fails("input.invalid", lambda: w.qd.retire_unit(DH_ADMIN, "u-c"))
    fails("input.invalid", lambda: w.qd.merge_units(DH_ADMIN, "u-dh", "u-a"))
    fails("input.invalid", lambda: w.qd.merge_units(DH_ADMIN, "u-a", "u-dh"))
    fails("permission.jurisdiction", lambda: w.qd.add_unit(DH_ADMIN, "u-x", "新单位", ZS))
    fails("input.invalid", lambda: w.qd.merge_units(ADMIN, "u-dh", "u-a"))  # across: refused
    assert units_now(w) == before


def test_a_retired_unit_is_never_assigned(w: World) -> None:
    w.qd.retire_unit(ADMIN, "u-c")
    item = w.issued()
    fails("input.invalid", lambda: w.qd.assign(w.editor, item.id, ["u-c"]))


def test_a_merged_unit_cannot_be_merged_into_or_revived(w: World) -> None:
    w.qd.merge_units(ADMIN, "u-c", "u-b")
    fails("input.invalid", lambda: w.qd.merge_units(ADMIN, "u-a", "u-c"))
    item = w.issued()
    fails("input.invalid", lambda: w.qd.assign(w.editor, item.id, ["u-c"]))


@pytest.mark.parametrize(
    "command",
    [
        lambda qd, actor, unit: qd.rename_unit(actor, unit, "改名"),
        lambda qd, actor, unit: qd.retire_unit(actor, unit),
        lambda qd, actor, unit: qd.merge_units(actor, unit, "u-b"),
    ],
    ids=["rename", "retire", "merge"],
)
def test_a_caller_without_the_role_cannot_probe_which_unit_ids_exist(
    w: World, command: Any
) -> None:
    for actor in (w.member, w.unit("u-a"), SECURITY):
        known = fails("permission.denied", partial(command, w.qd, actor, "u-c"))
        unknown = fails("permission.denied", partial(command, w.qd, actor, "no-such-unit"))
        assert known.code == unknown.code


def test_a_county_admin_cannot_probe_which_city_unit_ids_exist(w: World) -> None:
    for attempt in (
        lambda u: w.qd.rename_unit(DH_ADMIN, u, "改名"),
        lambda u: w.qd.retire_unit(DH_ADMIN, u),
        lambda u: w.qd.merge_units(DH_ADMIN, u, "u-dh"),
        lambda u: w.qd.merge_units(DH_ADMIN, "u-dh", u),
    ):
        known = fails("input.invalid", partial(attempt, "u-a"))
        unknown = fails("input.invalid", partial(attempt, "zz"))
        assert (known.field, str(known.message).replace("u-a", "zz")) == (
            unknown.field,
            unknown.message,
        )
    known_history = fails("not_found", lambda: w.qd.unit_history(DH_ADMIN, "u-a"))
    unknown_history = fails("not_found", lambda: w.qd.unit_history(DH_ADMIN, "zz"))
    assert known_history.code == unknown_history.code


# --- account views ------------------------------------------------------------------------


def test_to_json_of_a_raw_account_anywhere_is_masked_and_has_no_hash(w: World) -> None:
    account = Account(
        "acc-x",
        1,
        "张三",
        (),
        ZS,
        w.clock.now(),
        phone="13900000001",
        password_hash="$argon2id$secret-hash",
    )
    for holder in (account, [account], {"a": account}, (account,)):
        text = json.dumps(to_json(holder), ensure_ascii=False)
        assert "13900000001" not in text and "argon2" not in text
        assert "139****0001" in text
    own = AccountView.of(account, "acc-x")
    assert own.phone == "13900000001" and not own.phone_masked


# --- the JSON dispatcher ------------------------------------------------------------------


def test_a_body_cannot_smuggle_an_actor_or_an_unknown_field() -> None:
    fails("input.invalid", lambda: arguments("draft", {"actor": {"account_id": "x"}, **{}}))
    fails("input.invalid", lambda: arguments("draft", {"data": DRAFT, "actor": "head-1"}))
    fails("input.invalid", lambda: arguments("draft", {"data": DRAFT, "role": "chair"}))
    fails("input.invalid", lambda: arguments("no_such_command", {}))
    fails("input.invalid", lambda: arguments("__init__", {}))
    fails("input.invalid", lambda: arguments("draft", ["not", "an", "object"]))


def test_a_huge_body_is_refused_by_the_command_not_stored(w: World) -> None:
    body = {"data": {**DRAFT, "body": "长" * 2_000_000}}
    args = arguments("draft", body)
    fails("input.too_large", lambda: w.qd.draft(w.member, **args))
    assert w.qd.my_items(w.member).total == 0


def _county_host() -> ModuleType:
    path = Path(__file__).parent.parent / "examples" / "county_host.py"
    spec = importlib.util.spec_from_file_location("county_host_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_dispatcher_answers_every_malformed_request_without_crashing(
    w: World,
) -> None:
    host = _county_host()
    for op in (["draft"], {"x": 1}, None, 3, "sign_in", "bootstrap_admin", "__class__"):
        assert host.handle(w.qd, "no-token", {"op": op}) == {
            "status": 404,
            "error": {"code": "op.unknown"},
        }
    answer = host.handle(w.qd, "no-token", {"op": "draft", "body": {"data": DRAFT}})
    assert answer["status"] == 401  # the actor comes from the token, never from the body


def test_another_callers_idempotency_key_replays_nothing(w: World) -> None:
    w.qd.rename_unit(ADMIN, "u-a", "新名称", idempotency_key="k-1")
    fails(
        "permission.denied",
        lambda: w.qd.rename_unit(w.member, "u-a", "新名称", idempotency_key="k-1"),
    )
    fails(
        "input.invalid",  # another jurisdiction's unit answers as an unknown one
        lambda: w.qd.rename_unit(DH_ADMIN, "u-a", "新名称", idempotency_key="k-1"),
    )
    w.qd.add_unit(ADMIN, "u-new", "新单位", idempotency_key="k-2")
    fails(
        "permission.denied",
        lambda: w.qd.add_unit(SECURITY, "u-new", "新单位", idempotency_key="k-2"),
    )


def test_unit_lists_and_histories_stay_in_their_jurisdiction(w: World) -> None:
    fails("permission.jurisdiction", lambda: w.qd.units(DH_ADMIN, ZS))
    fails("permission.jurisdiction", lambda: w.qd.units(w.county["editor"], ZS))
    fails("not_found", lambda: w.qd.unit_history(DH_ADMIN, "u-a"))  # as an unknown unit
    for actor in (w.member, w.unit("u-a"), AUDITOR):
        for unit_id in ("u-a", "no-such-unit"):
            fails("permission.denied", partial(w.qd.unit_history, actor, unit_id))


def test_no_command_result_schema_carries_a_credential_hash() -> None:
    for name in command_names():
        text = json.dumps(schema(f"{name}.result"))
        assert "password_hash" not in text and "token_hash" not in text, name
        assert "password_history" not in text, name


def test_huge_lists_in_a_body_are_refused_at_once(w: World) -> None:
    item = w.issued()
    many = [f"x{n}" for n in range(100_000)]
    fails("input.too_large", lambda: w.qd.assign(w.editor, item.id, ["u-a"] * 100_000))
    fails("input.too_large", lambda: w.qd.assign(w.editor, item.id, many))  # each looked up
    fails(
        "input.too_large", lambda: w.qd.assign(w.editor, item.id, many[: MAX_UNITS_PER_ASSIGN + 1])
    )
    body = {"data": {**DRAFT, "coauthor_ids": many}}
    fails("input.invalid", lambda: w.qd.submit_new(w.member, **arguments("submit_new", body)))
    assert w.load(item.id).assignments == ()
