"""Every error code has a kind, and the kind its HTTP status: a host maps errors without a table
of its own. The table below names every code; a new error class fails here until it is added."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest

import qiandao
import qiandao_adapters
from qiandao import (
    DraftInput,
    ErrorKind,
    InvalidInput,
    QiandaoError,
    Rating,
    Role,
    from_json,
)
from qiandao.rules.tiers import check_destinations
from tests.helpers import make_world

IN, AU, P, N, C, U = (
    ErrorKind.INVALID_INPUT,
    ErrorKind.NOT_SIGNED_IN,
    ErrorKind.PERMISSION,
    ErrorKind.NOT_FOUND,
    ErrorKind.CONFLICT,
    ErrorKind.UNAVAILABLE,
)

KINDS: dict[str, ErrorKind] = {
    "qiandao.error": C,
    "store.not_migrated": U,
    "store.schema_unknown": U,
    "store.migration_failed": U,
    "unit.busy": C,
    "unit.duplicate": C,
    "jurisdiction.duplicate": C,
    "input.invalid": IN,
    "input.too_large": IN,
    "input.channel_mismatch": IN,
    "rules.invalid": IN,
    "calendar.error": IN,
    "calendar.invalid_date": IN,
    "calendar.invalid_count": IN,
    "calendar.year_out_of_range": IN,
    "calendar.schedule_invalid": IN,
    "not_found": N,
    "permission.denied": P,
    "permission.signer_tier": P,
    "permission.jurisdiction": P,
    "permission.self_review": P,
    "permission.self_approval": P,
    "state.invalid_transition": C,
    "reason.required": IN,
    "deadline.passed": C,
    "rating.window_closed": C,
    "rating.window_open": C,
    "secrecy.refused": IN,
    "store.conflict": C,
    "store.idempotency_conflict": C,
    "store.unavailable": U,
    "store.outcome_unknown": U,
    "analysis.unavailable": U,
    "audit.error": U,
    "audit.unavailable": U,
    "audit.tampered": C,
    "audit.retention": C,
    "account.error": C,
    "account.duplicate": C,
    "account.auth_failed": AU,
    "account.actor_refused": AU,
    "account.session_expired": AU,
    "account.locked": P,
    "account.password_change_required": P,
    "account.grant_required": P,
    "account.hasher_missing": U,
    "account.delivery_missing": U,
    "account.delivery_failed": U,
    "account.password_policy": IN,
    "account.policy_too_weak": IN,
    "account.grant_not_held": C,
    "account.grant_held": C,
    "account.last_grant": C,
    "account.admin_separation": C,
    "crypto.error": U,
    "crypto.invalid": U,
    "crypto.key_unknown": U,
    "crypto.tampered": U,
    "crypto.key_missing": U,
    "crypto.unavailable": U,
    "report.font_missing": U,
}

STATUS = {IN: 422, AU: 401, P: 403, N: 404, C: 409, U: 503}

ARTICLES = {  # 第一条 … 第二十一条 of the regulation (/work/shared/seed)
    "第" + name + "条"
    for name in (
        *["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"],
        *("十" + n for n in ["一", "二", "三", "四", "五", "六", "七", "八", "九"]),
        "二十",
        "二十一",
    )
}
TECHNICAL = {"store.conflict", "store.idempotency_conflict", "store.unavailable"}
TECHNICAL |= {"store.outcome_unknown", "input.invalid", "input.too_large", "not_found"}
TECHNICAL |= {
    "qiandao.error",
    "store.not_migrated",
    "store.schema_unknown",
    "store.migration_failed",
}


def _walk(cls: type[QiandaoError]) -> Iterator[type[QiandaoError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _walk(sub)


def _every_error_class() -> list[type[QiandaoError]]:
    """Every QiandaoError subclass defined anywhere in qiandao or its adapters."""
    for package in (qiandao, qiandao_adapters):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".sql.migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    return sorted(set(_walk(QiandaoError)), key=lambda cls: cls.code)


CLASSES = _every_error_class()


def test_every_error_class_has_its_own_code_in_the_table() -> None:
    codes = [cls.code for cls in CLASSES]
    assert len(codes) == len(set(codes)), "two classes share a code"
    assert set(codes) == set(KINDS), "add the new code to KINDS (and docs/reference.md)"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.code)
def test_kind_and_status(cls: type[QiandaoError]) -> None:
    error = cls()
    assert error.kind is KINDS[cls.code]
    assert error.http_status == STATUS[error.kind] == error.kind.http_status
    assert error.as_dict()["http_status"] == error.http_status


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.code)
def test_the_article_is_one_of_the_regulation(cls: type[QiandaoError]) -> None:
    """``article`` cites the regulation's 21 articles only, never a design document; only
    technical refusals (store, bare input checks) cite none."""
    assert cls.article in ARTICLES or (cls.article == "" and cls.code in TECHNICAL), cls.article


def test_no_raise_in_the_code_cites_anything_but_an_article() -> None:
    root = qiandao.__path__[0]
    adapters = qiandao_adapters.__path__[0]
    cited = re.compile(r"article\s*=\s*\"([^\"]*)\"")
    import pathlib

    for path in [*pathlib.Path(root).rglob("*.py"), *pathlib.Path(adapters).rglob("*.py")]:
        for found in cited.findall(path.read_text(encoding="utf-8")):
            assert found in ARTICLES, f"{path}: article={found!r}"


def test_account_errors_are_not_all_401() -> None:
    """A duplicate phone and a weak password are the host's input, not a failed sign-in."""
    assert qiandao.DuplicateAccount().http_status == 409
    assert qiandao.PasswordPolicyViolation().http_status == 422
    assert qiandao.AuthenticationFailed().http_status == 401
    assert qiandao.SessionExpired().http_status == 401
    assert qiandao.AccountLocked().http_status == 403


def test_as_dict_is_json_native() -> None:
    at = datetime(2026, 11, 26, 10, tzinfo=timezone(timedelta(hours=8)))
    error = InvalidInput(
        "有误",
        field="title",
        role=Role.MEMBER,
        on=date(2026, 11, 26),
        at=at,
        values=(1, 2),
        chosen=frozenset({"b", "a"}),
        extra={"rating": Rating.SATISFIED},
    )
    data = error.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["field"] == "title" and data["kind"] == "invalid_input"
    assert data["details"] == {
        "role": "member",
        "on": "2026-11-26",
        "at": "2026-11-26T10:00:00+08:00",
        "values": [1, 2],
        "chosen": ["a", "b"],
        "extra": {"rating": "satisfied"},
    }
    assert set(data) == {
        "code",
        "kind",
        "http_status",
        "message",
        "article",
        "field",
        "errors",
        "details",
    }


def test_structured_input_errors_are_a_list_of_paths() -> None:
    bad = {"title": 5, "category": "nope", "coauthor_ids": ["a", 3], "colour": "red"}
    with pytest.raises(InvalidInput) as caught:
        from_json(bad, DraftInput)
    data = caught.value.as_dict()
    paths = {e["path"] for e in data["errors"]}
    assert {"title", "body", "category", "coauthor_ids"} <= paths
    assert all(re.search(r"[\u4e00-\u9fff]", e["message"]) for e in data["errors"])
    assert data["field"] == data["errors"][0]["path"]
    assert "details" in data and "errors" not in data["details"]


def test_the_field_is_the_english_payload_path() -> None:
    world = make_world()
    cases = {
        "title": {"title": "  ", "body": "正文", "category": "hot_issue"},
        "body": {"title": "标题", "body": "", "category": "hot_issue"},
        "category": {"title": "标题", "body": "正文", "category": "nope"},
    }
    for field, payload in cases.items():
        with pytest.raises(InvalidInput) as caught:
            world.qd.draft(world.member, payload)
        assert caught.value.field == field
        assert caught.value.as_dict()["field"] == field
    with pytest.raises(InvalidInput) as caught:
        check_destinations(["forward_to_departments", "nowhere"])
    assert caught.value.field == "destinations[1]"
    item, (assignment,) = world.assigned()
    with pytest.raises(QiandaoError) as refused:
        world.qd.rate(world.member, item.id, assignment.id, "very good")
    assert refused.value.field == "rating"
    with pytest.raises(QiandaoError) as refused:
        world.qd.return_for_revision(world.editor, item.id, "\x00")
    assert refused.value.field == "reason"
