"""Concurrency soaks: many processes run commands aimed at the same few items
(:func:`soak`), or guess one account's password at once (:func:`guess_soak`).

Used by ``tests/sql/test_soak.py`` and runnable by hand::

    python -m tests.sql.soak sqlite:////tmp/soak.db 8 200
"""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
from collections import Counter
from datetime import date, datetime
from typing import Any

import attrs

from qiandao import SHANGHAI, Actor, ConcurrencyConflict, Qiandao, QiandaoError, Role, Unit, replay
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.sql import SqlStore
from tests.helpers import SECURITY, register_approved

J = "zhoushan"
EDITOR = Actor("e1", Role.EDITOR, J)
MEMBER = Actor("m1", Role.MEMBER, J)
NOW = datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)


@attrs.frozen
class SoakReport:
    """What the soak did and what the store holds afterwards."""

    processes: int
    commands: int
    succeeded: int
    conflicts: int
    other_errors: tuple[str, ...]
    lost_updates: int
    items: int


def _service(url: str) -> Qiandao:
    return Qiandao(SqlStore(url), clock=ManualClock(NOW), hasher=None)


def prepare(url: str, items: int) -> list[str]:
    """Issued items to aim at (through the service, so they are real)."""
    qd = _service(url)
    with qd.store.unit_of_work() as uow:
        uow.units.add(Unit("u1", "市交通运输局", J))
        uow.commit()
    enrol(qd.store, MEMBER, EDITOR, Actor("d1", Role.DEPUTY, J), Actor("h1", Role.OFFICE_HEAD, J))
    ids = []
    for n in range(items):
        item = qd.submit_new(MEMBER, {"title": f"信息{n}", "body": "正文", "category": "hot_issue"})
        qd.pass_preliminary(EDITOR, item.id, destinations=["forward_to_departments"])
        qd.approve(Actor("d1", Role.DEPUTY, J), item.id)
        ids.append(qd.sign(Actor("h1", Role.OFFICE_HEAD, J), item.id).id)
    return ids


def _worker(args: tuple[str, list[str], int, int]) -> tuple[Counter[str], int, list[str]]:
    url, ids, commands, seed = args
    qd = _service(url)
    rng = random.Random(seed)
    succeeded: Counter[str] = Counter()
    conflicts = 0
    others: list[str] = []
    for n in range(commands):
        item = rng.choice(ids)
        try:
            qd.record_implementation(EDITOR, item, date(2026, 11, 2), f"进程{seed}第{n}次落实记录")
        except ConcurrencyConflict:
            conflicts += 1
        except QiandaoError as error:
            others.append(error.code)
        else:
            succeeded[item] += 1
    return succeeded, conflicts, others


def soak(url: str, processes: int = 8, commands: int = 200, items: int = 3) -> SoakReport:
    """Run the soak against an empty store at ``url`` and check every item afterwards."""
    ids = prepare(url, items)
    store = SqlStore(url)
    with store.unit_of_work() as uow:
        before = {i: uow.items.get(i).version for i in ids}
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = pool.map(_worker, [(url, ids, commands, seed) for seed in range(processes)])
    succeeded: Counter[str] = Counter()
    conflicts = 0
    others: list[str] = []
    for done, conflicted, failed in results:
        succeeded.update(done)
        conflicts += conflicted
        others.extend(failed)
    lost = 0
    with store.unit_of_work() as uow:
        for item_id in ids:
            item = uow.items.get(item_id)
            events = uow.events.for_item(item_id)
            expected = before[item_id] + succeeded[item_id]
            lost += expected - item.version
            assert item.version == len(events) == expected, (item_id, item.version, expected)
            assert replay(events) == item
            assert len(item.feedback) == succeeded[item_id]
    store.engine.dispose()
    return SoakReport(
        processes=processes,
        commands=processes * commands,
        succeeded=sum(succeeded.values()),
        conflicts=conflicts,
        other_errors=tuple(others),
        lost_updates=lost,
        items=items,
    )


# --- parallel password guessing -------------------------------------------------------------

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, J)
PHONE = "13800138000"
PASSWORD = "Haidao#2026wind"
FAST = Argon2Hasher.fast()


class CountingHasher:
    """The fast hasher, counting verifications against one hash (thread-safe)."""

    def __init__(self, watched: str) -> None:
        self.watched = watched
        self.count = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return FAST.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        if password_hash == self.watched:
            with self._lock:
                self.count += 1
        return FAST.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return FAST.needs_rehash(password_hash)


@attrs.frozen
class GuessReport:
    """What parallel wrong guesses and then the right password got, and the account after."""

    guesses: int
    codes: tuple[tuple[str, int], ...]  # (error code, how many), by code
    real_verifications: int  # guesses checked against the real hash
    failed_attempts: int
    status: str
    right_password: str  # the error code of the right password afterwards, or "signed_in"


def _guesser(args: tuple[str, str, int, int, Any]) -> tuple[list[str], int]:
    url, real_hash, process, threads, barrier = args
    hasher = CountingHasher(real_hash)
    qd = Qiandao(SqlStore(url), clock=ManualClock(NOW), hasher=hasher)
    codes: list[str] = []
    ready = threading.Barrier(threads)
    barrier.wait()  # every process is up: guess at once

    def guess(n: int) -> None:
        ready.wait()
        try:
            qd.sign_in(PHONE, f"Wrong#p{process}x{n}")
            codes.append("signed_in")
        except QiandaoError as error:
            codes.append(error.code)

    workers = [threading.Thread(target=guess, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return codes, hasher.count


def guess_soak(url: str, processes: int = 5, threads: int = 6) -> GuessReport:
    """``processes`` × ``threads`` wrong passwords at once on one account of an empty store at
    ``url``, then the right password."""
    store = SqlStore(url)
    phones = RecordingDelivery()
    enrol(store, ADMIN, SECURITY)
    qd = Qiandao(store, clock=ManualClock(NOW), hasher=FAST, credential_delivery=phones)
    account = register_approved(qd, ADMIN, real_name="张三", phone=PHONE, role="member")
    initial = phones.password_of(PHONE)
    qd.change_password(qd.sign_in(PHONE, initial).token, initial, PASSWORD)
    with store.unit_of_work() as uow:
        real_hash = uow.accounts.get(account.id).password_hash or ""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            results = pool.map(
                _guesser, [(url, real_hash, p, threads, barrier) for p in range(processes)]
            )
    codes: Counter[str] = Counter()
    verified = 0
    for got, count in results:
        codes.update(got)
        verified += count
    try:
        qd.sign_in(PHONE, PASSWORD)
        right = "signed_in"
    except QiandaoError as error:
        right = error.code
    with store.unit_of_work() as uow:
        stored = uow.accounts.get(account.id)
    store.engine.dispose()
    return GuessReport(
        guesses=processes * threads,
        codes=tuple(sorted(codes.items())),
        real_verifications=verified,
        failed_attempts=stored.failed_attempts,
        status=stored.status.value,
        right_password=right,
    )


if __name__ == "__main__":
    url_arg, procs, cmds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(soak(url_arg, procs, cmds))
