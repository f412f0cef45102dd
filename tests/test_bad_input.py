"""Bad input through the service: a clear QiandaoError with a stable code, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from qiandao import (
    SHANGHAI,
    Actor,
    AdoptionLevel,
    LeaderRank,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
)
from qiandao.ports.store import ItemQuery
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.memory import MemoryStore

J = "zhoushan"
MEMBER = Actor("m1", Role.MEMBER, J)
EDITOR = Actor("e1", Role.EDITOR, J)
GOOD = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}


@pytest.fixture
def qd() -> Qiandao:
    store = MemoryStore()
    enrol(store, MEMBER, EDITOR)
    return Qiandao(store, clock=ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)), hasher=None)


def _count(qd: Qiandao) -> int:
    with qd.store.unit_of_work() as uow:
        return uow.items.count(ItemQuery())


@pytest.mark.parametrize(
    ("payload", "code", "path"),
    [
        ({**GOOD, "title": 123}, "input.invalid", "$.title"),
        ({**GOOD, "category": "bogus"}, "input.invalid", "$.category"),
        ({**GOOD, "urgent": "yes"}, "input.invalid", "$.urgent"),
        ({**GOOD, "coauthor_ids": "m2"}, "input.invalid", "$.coauthor_ids"),
        ({**GOOD, "unexpected": 1}, "input.invalid", "$"),
        ({"title": "只有标题"}, "input.invalid", "$.body"),
        ({**GOOD, "title": "   "}, "input.invalid", None),
        ({**GOOD, "body": ""}, "input.invalid", None),
        ({**GOOD, "title": "长" * 201}, "input.too_large", None),
        ({**GOOD, "body": "\ud83d 半个表情"}, "input.invalid", None),  # legal JSON, not UTF-8
        ({**GOOD, "body": "长" * 20_001}, "input.too_large", None),
        ({**GOOD, "coauthor_ids": ["nobody"]}, "not_found", None),
        ({**GOOD, "commission_id": "nope"}, "not_found", None),
        ("not an object", "input.invalid", None),
    ],
)
def test_bad_json_payloads(qd: Qiandao, payload: Any, code: str, path: str | None) -> None:
    for submit in (qd.draft, qd.submit_new):
        with pytest.raises(QiandaoError) as err:
            submit(MEMBER, payload)
        assert err.value.code == code
        if path is not None:
            assert any(e.endswith(f"@ {path}") for e in err.value.details["errors"])
        assert _count(qd) == 0


UNKNOWN: list[Callable[[Qiandao], object]] = [
    lambda q: q.submit(MEMBER, "x"),
    lambda q: q.edit_draft(MEMBER, "x", title="t"),
    lambda q: q.withdraw(MEMBER, "x"),
    lambda q: q.resubmit(MEMBER, "x"),
    lambda q: q.pass_preliminary(EDITOR, "x", destinations=["forward_to_departments"]),
    lambda q: q.return_for_revision(EDITOR, "x", "r"),
    lambda q: q.reject(EDITOR, "x", "r"),
    lambda q: q.merge(EDITOR, "x", "y"),
    lambda q: q.approve(EDITOR, "x"),
    lambda q: q.send_back(EDITOR, "x", "r"),
    lambda q: q.sign(EDITOR, "x"),
    lambda q: q.assign(EDITOR, "x", ["u"]),
    lambda q: q.accept(EDITOR, "x", "a"),
    lambda q: q.decline(EDITOR, "x", "a", "r"),
    lambda q: q.reassign(EDITOR, "x", "a", "u"),
    lambda q: q.overrule(EDITOR, "x", "a", "r"),
    lambda q: q.request_extension(EDITOR, "x", "a", 3, "r"),
    lambda q: q.approve_extension(EDITOR, "x", "a"),
    lambda q: q.refuse_extension(EDITOR, "x", "a", "r"),
    lambda q: q.reply(EDITOR, "x", "a", "t"),
    lambda q: q.rate(MEMBER, "x", "a", Rating.SATISFIED),
    lambda q: q.order_rehandle(EDITOR, "x", "a", "r"),
    lambda q: q.cancel_assignment(EDITOR, "x", "a", "r"),
    lambda q: q.close(EDITOR, "x"),
    lambda q: q.record_adoption(EDITOR, "x", AdoptionLevel.CITY_CPPCC, date(2026, 11, 1)),
    lambda q: q.record_instruction(
        EDITOR, "x", "l", LeaderRank.CITY_LEADER, date(2026, 11, 1), "t"
    ),
    lambda q: q.record_implementation(EDITOR, "x", date(2026, 11, 1), "t"),
    lambda q: q.set_publication_consent(MEMBER, "x", False),
    lambda q: q.reclassify(EDITOR, "x", True, "r"),
    lambda q: q.report_up(EDITOR, "x"),
    lambda q: q.item_detail(EDITOR, "x"),
    lambda q: q.commission_progress(EDITOR, "x"),
]


@pytest.mark.parametrize("call", UNKNOWN)
def test_unknown_ids_are_not_found(qd: Qiandao, call: Callable[[Qiandao], object]) -> None:
    with pytest.raises(QiandaoError) as err:
        call(qd)
    assert err.value.code == "not_found"


@pytest.mark.parametrize(
    "call",
    [
        lambda q, i: q.return_for_revision(EDITOR, i, ""),
        lambda q, i: q.return_for_revision(EDITOR, i, "理" * 2001),
        lambda q, i: q.pass_preliminary(EDITOR, i, destinations=[]),
        lambda q, i: q.pass_preliminary(EDITOR, i, destinations=["nowhere"]),
        lambda q, i: q.pass_preliminary(EDITOR, i, destinations="forward_to_departments"),
        lambda q, i: q.pass_preliminary(
            EDITOR, i, destinations=["forward_to_departments"], body="长" * 20_001
        ),
        lambda q, i: q.edit_draft(MEMBER, i, title=""),
    ],
)
def test_bad_arguments_change_nothing(qd: Qiandao, call: Callable[[Qiandao, str], object]) -> None:
    item = qd.submit_new(MEMBER, GOOD)
    with pytest.raises(QiandaoError) as err:
        call(qd, item.id)
    assert err.value.code in {
        "input.invalid",
        "input.too_large",
        "reason.required",
        "state.invalid_transition",
    }
    with qd.store.unit_of_work() as uow:
        assert uow.items.get(item.id) == item
        assert len(uow.events.for_item(item.id)) == item.version


def test_error_carries_code_message_and_article(qd: Qiandao) -> None:
    item = qd.submit_new(MEMBER, GOOD)
    with pytest.raises(QiandaoError) as err:
        qd.pass_preliminary(MEMBER, item.id, destinations=["forward_to_departments"])
    error = err.value
    assert error.code == "permission.denied"
    assert error.message and error.article
    assert error.as_dict()["code"] == "permission.denied"
