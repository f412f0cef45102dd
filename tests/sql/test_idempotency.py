"""Idempotent submission on every store: a retried submit (a phone on a bad network) creates one
item and returns it again; the same key with a different payload is refused; concurrent retries
with one key still create one item."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from qiandao import SHANGHAI, Actor, Item, Qiandao, QiandaoError, Role
from qiandao.ports.store import ItemQuery, Store
from qiandao.testing import ManualClock, enrol
from tests.helpers import make_world
from tests.idempotency_cases import CASES, runs_once

MEMBER = Actor("m1", Role.MEMBER, "zhoushan")
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文😀'; --", "category": "hot_issue"}


def _qd(store: Store) -> Qiandao:
    enrol(store, MEMBER, Actor("m2", Role.MEMBER, "zhoushan"))
    return Qiandao(store, clock=ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)), hasher=None)


def _count(store: Store) -> int:
    with store.unit_of_work() as uow:
        return uow.items.count(ItemQuery())


def test_retry_returns_the_same_item(any_store: Store) -> None:
    qd = _qd(any_store)
    first = qd.submit_new(MEMBER, PAYLOAD, idempotency_key="req-1")
    again = qd.submit_new(MEMBER, dict(PAYLOAD), idempotency_key="req-1")
    assert again == first
    assert _count(any_store) == 1
    other = qd.submit_new(MEMBER, PAYLOAD, idempotency_key="req-2")
    assert other.id != first.id
    assert _count(any_store) == 2


def test_same_key_different_payload_is_refused(any_store: Store) -> None:
    qd = _qd(any_store)
    qd.submit_new(MEMBER, PAYLOAD, idempotency_key="req-1")
    with pytest.raises(QiandaoError) as err:
        qd.submit_new(MEMBER, {**PAYLOAD, "title": "改过的标题"}, idempotency_key="req-1")
    assert err.value.code == "store.idempotency_conflict"
    assert _count(any_store) == 1


def test_keys_are_per_account(any_store: Store) -> None:
    qd = _qd(any_store)
    a = qd.submit_new(MEMBER, PAYLOAD, idempotency_key="req-1")
    b = qd.submit_new(Actor("m2", Role.MEMBER, "zhoushan"), PAYLOAD, idempotency_key="req-1")
    assert a.id != b.id


# a key that looks like an account constraint must not be mistaken for a duplicate account
@pytest.mark.parametrize("key", ["flaky-network", "qd_accounts.phone uq_qd_accounts_phone"])
def test_concurrent_retries_create_one_item(any_store: Store, key: str) -> None:
    qd = _qd(any_store)
    results: list[Item] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        try:
            results.append(qd.submit_new(MEMBER, PAYLOAD, idempotency_key=key))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.id for r in results}) == 1
    assert _count(any_store) == 1


@pytest.mark.parametrize("command", sorted(CASES))
def test_every_command_with_a_key_runs_once(store: Store, command: str) -> None:
    """The key's record lands in the command's transaction: a retry returns the first outcome
    and appends no row; other arguments are a conflict; another person's key does not collide."""
    runs_once(make_world(store=store), command)
