"""The JSON form (``qiandao.json``): every enum, day, instant, view, result and error is
JSON-native, and the JSON Schemas accept the real payloads and views of a workflow run."""

from __future__ import annotations

import functools
import inspect
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import jsonschema
import pytest

import qiandao
import qiandao.cli
import qiandao.json
from qiandao import (
    SHANGHAI,
    Actor,
    DraftInput,
    ErrorKind,
    FocusCategory,
    InvalidInput,
    Lane,
    PasswordPolicy,
    PasswordProfile,
    Qiandao,
    QiandaoError,
    Role,
    RoleGrant,
    Target,
    TargetMeasure,
    TargetScope,
    from_json,
    schema,
    schemas,
    to_json,
    unstructure,
)
from qiandao._enum import LabelledEnum
from qiandao.json import DIALECT, NOT_JSON_COMMANDS, command_names
from tests import test_returned_views as returned
from tests.helpers import ZS, make_world
from tests.reference_tables import labelled_enums

SHANGHAI_NOON = datetime(2026, 11, 26, 12, 0, tzinfo=SHANGHAI)


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker())


def _validate(name: str, data: object) -> None:
    _validator(name).validate(data)


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("enum", labelled_enums(), ids=lambda cls: cls.__name__)
def test_every_enum_member_is_code_and_label(enum: type[LabelledEnum]) -> None:
    for member in enum:
        assert to_json(member) == {"code": member.value, "label": member.label}
        _validate(enum.__name__, to_json(member))
        assert from_json(to_json(member), enum) is member  # what a host echoes back
        assert from_json(member.value, enum) is member


def test_instants_keep_their_offset_and_days_are_iso() -> None:
    assert to_json(SHANGHAI_NOON) == "2026-11-26T12:00:00+08:00"
    # the same instant reads the same from every store (SQL stores return UTC)
    assert to_json(SHANGHAI_NOON.astimezone(UTC)) == "2026-11-26T12:00:00+08:00"
    assert to_json(datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == "2026-11-27T07:30:00+08:00"
    assert to_json(date(2026, 11, 26)) == "2026-11-26"
    assert to_json(timedelta(minutes=30)) == 1800.0


def test_collections_are_lists_and_enum_keys_their_codes() -> None:
    assert to_json((1, "a")) == [1, "a"]
    assert to_json(frozenset({"b", "a"})) == ["a", "b"]
    assert to_json({Lane.SIGNOFF: 2, Lane.REVIEW: 1}) == {"signoff": 2, "review": 1}
    assert to_json([RoleGrant(Role.MEMBER, ZS)]) == [
        {
            "role": {"code": "member", "label": Role.MEMBER.label},
            "jurisdiction": ZS,
            "unit_id": None,
        }
    ]


def test_an_object_without_a_json_form_is_refused() -> None:
    with pytest.raises(TypeError):
        to_json(object())


def test_errors_are_their_as_dict() -> None:
    error = qiandao.WrongSigner(tier="chair")
    data = to_json(error)
    assert data == error.as_dict()
    assert isinstance(data, dict) and data["http_status"] == 403 and data["article"] == "第九条"
    _validate("QiandaoError", data)
    _validate("WrongSigner", data)
    assert to_json([error]) == [error.as_dict()]


def test_draft_payload_round_trip() -> None:
    draft = DraftInput(title="标题", body="正文", category=qiandao.FocusCategory.HOT_ISSUE)
    data = unstructure(draft)  # the input form: enums by wire code
    _validate("DraftInput", to_json(draft))
    assert from_json(data, DraftInput) == draft
    with pytest.raises(jsonschema.ValidationError):
        _validate("draft", {"data": {**data, "colour": "red"}})
    with pytest.raises(InvalidInput) as caught:
        from_json({**data, "colour": "red"}, DraftInput)
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_policy_and_grant_round_trip() -> None:
    policy = PasswordPolicy.for_profile(PasswordProfile.OWASP_ASVS)
    assert from_json(to_json(policy), PasswordPolicy) == policy
    grant = RoleGrant(Role.EDITOR, ZS)
    assert from_json(to_json(grant), RoleGrant) == grant


# --- schemas --------------------------------------------------------------------------------


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    found = schemas()
    shared: dict[str, Any] = {}
    for name, document in found.items():
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        defs = document.get("$defs", {})
        refs = re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(document))
        assert set(refs) <= set(defs), name  # every reference resolves within its document
        shared.update(defs)
        shared[f"root:{name}"] = {k: v for k, v in document.items() if k != "$defs"}
    # one check of every distinct definition and root (each document alone: 30 s, not 3)
    jsonschema.Draft202012Validator.check_schema({"$schema": DIALECT, "$defs": shared})
    public = {n for n, v in inspect.getmembers(Qiandao, inspect.isfunction) if n[0] != "_"}
    assert set(command_names()) == public - NOT_JSON_COMMANDS
    assert {"ItemView", "AccountView", "QiandaoError", "DraftInput", "Role"} <= set(found)
    assert "Account" not in found  # an account leaves the library only as an AccountView
    assert "password_hash" not in json.dumps(schema("register.result"))


def test_an_unknown_schema_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        schema("no_such_thing")
    assert caught.value.field == "name"


def test_the_schema_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert qiandao.cli.main(["schema", "draft"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == schema("draft")
    assert qiandao.cli.main(["schema", "--list"]) == 0
    assert "ItemView" in capsys.readouterr().out.split()


class Recorded(returned.Checked):
    """The service of ``tests/test_returned_views.py``, recording every call and its result."""

    def __init__(self, qd: Qiandao) -> None:
        super().__init__(qd)
        self.calls: list[tuple[str, dict[str, Any], object]] = []

    def returned(self, name: str, arguments: dict[str, Any], result: object) -> None:
        super().returned(name, arguments, result)
        self.calls.append((name, dict(arguments), result))


def _arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments as a host receives them in a request body (wire codes for enums)."""
    return {k: unstructure(v) for k, v in arguments.items() if k != "actor"}


def _holds(full: Any, part: Any) -> bool:
    """``full`` holds ``part`` (a payload object may leave out fields that have defaults)."""
    if isinstance(part, dict):
        return isinstance(full, dict) and all(_holds(full.get(k), v) for k, v in part.items())
    if isinstance(part, list):
        return (
            isinstance(full, list)
            and len(full) == len(part)
            and all(_holds(f, p) for f, p in zip(full, part, strict=True))
        )
    return bool(full == part)


def test_command_arguments_name_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        qiandao.json.arguments(
            "assign", {"item_id": 3, "units": ["u-a", ["u-b", "lead"]], "colour": "red"}
        )
    paths = [e.path for e in caught.value.errors]
    assert {"item_id", "units[1]"} <= set(paths) and caught.value.field == "item_id"
    with pytest.raises(InvalidInput) as caught:
        qiandao.json.arguments("draft", {"data": {"title": 1, "category": "hot_issue"}})
    assert {e.path for e in caught.value.errors} == {"data.title", "data.body"}
    with pytest.raises(InvalidInput) as caught:
        qiandao.json.arguments("no_such_command", {})
    assert caught.value.field == "name"


def test_a_host_runs_a_command_from_its_json_body() -> None:
    world = make_world()
    body = {"data": {"title": "海岛交通", "body": "渔民出行难。", "category": "hot_issue"}}
    item = world.qd.draft(world.member, **qiandao.json.arguments("draft", body))
    assert item.title == "海岛交通"


def _instances(value: object) -> list[object]:
    """Every attrs instance inside a result (views, values), to check against its own schema."""
    if attrs.has(type(value)):
        found = [value]
        for field in attrs.fields(type(value)):  # type: ignore[arg-type]
            found += _instances(getattr(value, field.name))
        return found
    if isinstance(value, list | tuple | frozenset | set):
        return [x for v in value for x in _instances(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _instances(v)]
    return []


def _queries(qd: Recorded, world: Any) -> None:
    """The queries a portal's pages run, by the people who may run them."""
    city = world.city
    item, (assignment,) = world.assigned()
    qd.item_detail(city["member"], item.id)
    qd.item_detail(world.unit("u-a"), item.id)
    qd.inbox(city["editor"])
    qd.my_items(city["member"])
    qd.published(city["member"])
    qd.lane(city["editor"], "to_assign")
    qd.lane_counts(city["editor"])
    qd.overdue(city["editor"])
    qd.overdue_reviews(city["editor"])
    qd.explain_deadline(city["editor"], item.id, assignment.id)
    qd.assessment(city["editor"], 2026)
    qd.quarterly_bulletin(city["editor"], 2026, 1)
    plan = [
        Target(TargetScope.ROLE, TargetMeasure.SUBMITTED, 2, role=Role.MEMBER),
        Target(TargetScope.CATEGORY, TargetMeasure.ADOPTED, 1, category=FocusCategory.EMERGENCY),
    ]
    qd.set_annual_plan(city["head"], 2026, plan, note="年初计划", expected_revision=0)
    qd.annual_plan(city["member"], 2026)
    qd.plan_progress(city["editor"], 2026)
    qd.annual_bulletin(city["editor"], 2026)
    qd.rules_for(ZS)
    qd.password_policy(ZS)
    qd.now()
    qd.run_due_jobs()


def test_real_payloads_and_views_match_their_schemas() -> None:
    world = make_world()
    qd = Recorded(world.qd)
    returned.item_commands(world, qd)
    _queries(qd, world)
    accounts, delivery = returned._account_service()
    account_qd = Recorded(accounts.qd)
    returned.account_commands(account_qd, delivery)
    names = set(schemas())
    seen: set[str] = set()
    for name, arguments, result in [*qd.calls, *account_qd.calls]:
        body = json.loads(json.dumps(_arguments(arguments), ensure_ascii=False))
        _validate(name, body)
        parsed = qiandao.json.arguments(name, body)  # what a host passes on as **kwargs
        assert _holds(json.loads(json.dumps(unstructure(parsed), ensure_ascii=False)), body)
        data = to_json(result)
        assert json.loads(json.dumps(data, ensure_ascii=False)) == data
        _validate(f"{name}.result", data)
        for part in _instances(result):
            kind = type(part).__name__
            if kind in names:
                _validate(kind, to_json(part))
        seen.add(name)
    assert len(seen) >= 60, sorted(set(command_names()) - seen)


def test_a_view_with_a_wrong_field_fails_its_schema() -> None:
    """The validation above can fail: a view missing a field, or an enum given as a bare code."""
    world = make_world()
    view = world.qd.item_detail(world.member, world.issued().id)
    data = to_json(view)
    assert isinstance(data, dict)
    _validate("ItemView", data)
    for broken in (
        {k: v for k, v in data.items() if k != next(iter(data))},
        {**data, "extra": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            _validate("ItemView", broken)


def test_the_error_of_a_refused_command_matches_the_error_schema() -> None:
    world = make_world()
    refused: list[QiandaoError] = []
    stranger = Actor("nobody", Role.MEMBER, ZS)  # no such account
    for attempt in (
        lambda: world.qd.draft(world.member, {"title": 1, "body": "", "category": "x"}),
        lambda: world.qd.item_detail(stranger, "missing"),
        lambda: world.qd.submit(world.member, "missing"),
    ):
        with pytest.raises(QiandaoError) as caught:
            attempt()
        refused.append(caught.value)
    for error in refused:
        _validate("QiandaoError", to_json(error))
    assert [e.http_status for e in refused] == [422, 401, 404]  # nobody: not signed in
