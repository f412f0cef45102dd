"""Ids, tokens and text at the boundary (issue 9): every bad value is refused with a code
before the store is touched, and nothing changes; a seeded fuzz run of every entry point."""

from __future__ import annotations

import inspect
import random
from datetime import date
from typing import Any

import pytest

from qiandao import Qiandao, QiandaoError
from qiandao.ports.store import ItemQuery, Store
from tests.helpers import World, make_world

FILLERS: dict[str, Any] = {
    "workdays": 5,
    "rating": "satisfied",
    "role": "member",
    "jurisdiction": "zhoushan",
    "secret": True,
    "publish": True,
    "level": "city_cppcc",
    "on": date(2026, 3, 1),
    "units": ["u-a"],
}
BAD_IDS: list[Any] = [0, 1, ["x"], {"a": 1}, None, "", " ", "x" * 65, "\ud800", "a\x00", "a\u202e"]
IDS = ("item_id", "into_item_id", "assignment_id", "account_id", "unit_id", "commission_id")


def _id_methods() -> list[tuple[str, str]]:
    return [
        (name, param)
        for name, member in inspect.getmembers(Qiandao, inspect.isfunction)
        if not name.startswith("_")
        for param in inspect.signature(member).parameters
        if param in IDS
    ]


@pytest.mark.parametrize(("method", "param"), _id_methods())
def test_every_id_parameter_refuses_a_bad_id_naming_it(method: str, param: str) -> None:
    w = make_world()
    item, (a,) = w.accepted("u-a")
    good: dict[str, Any] = {"item_id": item.id, "into_item_id": item.id, "assignment_id": a.id}
    good |= {"account_id": "m1", "unit_id": "u-a", "commission_id": "c1"}
    signature = inspect.signature(getattr(Qiandao, method))
    before = (w.load(item.id), w.events(item.id), w.outbox())
    for bad in BAD_IDS:
        if bad is None and signature.parameters[param].default is None:
            continue  # an optional id may be left out
        kwargs = {
            p: good.get(p, FILLERS.get(p, "理由"))
            for p, spec in signature.parameters.items()
            if p not in {"self", "actor"} and (p in good or spec.default is inspect.Parameter.empty)
        }
        kwargs[param] = bad
        with pytest.raises(QiandaoError) as caught:
            getattr(w.qd, method)(w.editor, **kwargs)
        assert caught.value.code == "input.invalid", (bad, caught.value)
        assert caught.value.details["field"] == param
    assert (w.load(item.id), w.events(item.id), w.outbox()) == before


def test_an_int_id_is_refused_on_every_store_before_any_numeric_comparison(
    any_store: Store,
) -> None:
    w = make_world(store=any_store)
    w.issued()
    admin = w.city.get("admin") or w.editor
    zero: Any = 0
    for call in (lambda: w.qd.depart(admin, zero), lambda: w.qd.item_detail(w.editor, zero)):
        with pytest.raises(QiandaoError) as caught:
            call()
        assert caught.value.code == "input.invalid"


@pytest.mark.parametrize("token", ["\ud800", "", None, 0, ["t"], "x" * 65, "a\x00"])
def test_a_token_that_cannot_be_one_fails_as_an_unknown_token(token: Any) -> None:
    w = make_world()
    with pytest.raises(QiandaoError) as caught:
        w.qd.authenticate(token)
    assert caught.value.code == "account.session_expired"
    w.qd.sign_out(token)  # nothing to end


@pytest.mark.parametrize("text", ["正文\u202e反转", "正文\x07响铃", "正文\x1b[31m"])
def test_text_refuses_control_characters_and_bidi_overrides(text: str) -> None:
    w = make_world()
    for field in ("title", "body"):
        data = {"title": "标题", "body": "正文\n第二行\t制表", "category": "hot_issue"}
        assert w.qd.draft(w.member, data).body == data["body"]
        with pytest.raises(QiandaoError) as caught:
            w.qd.submit_new(w.member, {**data, field: text})
        assert caught.value.code == "input.invalid"


HOSTILE: list[Any] = [0, -1, None, [], ["x"], {}, {"a": "b"}, "", "\ud800", "x" * 100_000]
HOSTILE += ["a\x00b", "\u202e", 1.5, True, b"bytes", date(2026, 1, 1)]


def _everything(w: World) -> tuple[object, ...]:
    """All a refused call must leave alone: items with their events, the outbox, accounts."""
    with w.store.unit_of_work() as uow:
        items = uow.items.find(ItemQuery())
        return (
            items,
            [uow.events.for_item(i.id) for i in items],
            uow.outbox.pending(10_000),
            uow.accounts.list(),
        )


FUZZ_CALLS = 30  # per entry point and store: a fixed budget (a few seconds per store in CI)
SERVER_FUZZ_CALLS = 12  # on PostgreSQL / MariaDB each call snapshots the store over the network


def _budget(store: Store) -> int:
    """Calls per entry point: the full budget in process, a smaller one on a database server
    (the same code path; the memory and SQLite runs carry the breadth)."""
    engine = getattr(store, "engine", None)
    dialect = getattr(getattr(engine, "dialect", None), "name", "sqlite")
    return FUZZ_CALLS if dialect == "sqlite" else SERVER_FUZZ_CALLS


def test_fuzz_every_entry_point_gives_only_coded_errors_and_changes_nothing(
    any_store: Store,
) -> None:
    """Every public entry point, called with hostile values mixed with real ones (so calls get
    past the first check), raises only ``QiandaoError``; a refused call changes nothing."""
    rng = random.Random(9)
    w = make_world(store=any_store)
    item, (a,) = w.accepted("u-a")
    real: list[Any] = [item.id, a.id, "u-a", w.member.account_id, "zhoushan", "正文", 5]
    entry_points = [
        (name, member)
        for name, member in inspect.getmembers(Qiandao, inspect.isfunction)
        if not name.startswith("_")
        and name not in {"run_due_jobs", "dispatch", "now", "rules_for", "adopt_calendar"}
    ]
    calls = 0
    budget = _budget(any_store)
    for name, member in entry_points:
        params = [p for p in inspect.signature(member).parameters.values() if p.name != "self"]
        for _ in range(budget):
            args: dict[str, Any] = {}
            for p in params:
                if p.name == "actor":
                    args[p.name] = rng.choice([w.editor, w.member, w.unit("u-a")])
                elif p.default is inspect.Parameter.empty or rng.random() < 0.5:
                    args[p.name] = rng.choice(HOSTILE if rng.random() < 0.7 else real)
            before = _everything(w)
            calls += 1
            try:
                getattr(w.qd, name)(**args)
            except QiandaoError:
                assert _everything(w) == before, f"a refused {name} changed the store"
    assert calls >= 80 * budget  # every entry point, each with its budget
