"""Parallel guessing on every store: 30 wrong passwords at once, then the right one.

Each guess is counted before it is verified (``AccountRepository.count_failure``, atomic), so no
failure is lost, none is reported as a conflict, and no guess past the profile's limit is ever
verified against the real hash. The account locks after exactly the limit; every guess, and the
right password while the lock runs, is refused alike (``account.auth_failed``).
"""

from __future__ import annotations

import threading
from datetime import datetime

from qiandao import SHANGHAI, Actor, PasswordPolicy, Qiandao, QiandaoError, Role
from qiandao.model import AccountStatus
from qiandao.ports.store import Store
from qiandao.rules.ruleset import PasswordProfile
from qiandao.testing import ManualClock, enrol
from qiandao.testing._support import run_threads
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import SECURITY, register_approved
from tests.sql.soak import CountingHasher

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, "zhoushan")
PHONE = "13800138000"
POLICY = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3)
THRESHOLD = POLICY.max_failed_attempts
GUESSES = 30


def test_parallel_guesses_lock_after_exactly_the_limit(any_store: Store) -> None:
    clock = ManualClock(datetime(2026, 11, 26, 10, tzinfo=SHANGHAI))
    hasher = CountingHasher("")
    phones = RecordingDelivery()
    enrol(any_store, ADMIN, SECURITY)
    qd = Qiandao(any_store, clock=clock, hasher=hasher, credential_delivery=phones)
    account = register_approved(qd, ADMIN, real_name="张三", phone=PHONE, role="member")
    initial = phones.password_of(PHONE)
    qd.change_password(qd.sign_in(PHONE, initial).token, initial, "Haidao#2026wind")
    with any_store.unit_of_work() as uow:
        hasher.watched = uow.accounts.get(account.id).password_hash or ""
    codes: list[str] = []
    barrier = threading.Barrier(GUESSES)

    def guess(n: int) -> None:
        barrier.wait()
        try:
            qd.sign_in(PHONE, f"Wrong#pass{n}")
        except QiandaoError as error:
            codes.append(error.code)

    run_threads(guess, GUESSES)
    assert codes == ["account.auth_failed"] * GUESSES  # none lost, no conflict, lock not told
    assert hasher.count == THRESHOLD  # no guess past the limit verified (the rest: a dummy)
    with any_store.unit_of_work() as uow:
        locked = uow.accounts.get(account.id)
    assert locked.failed_attempts == THRESHOLD
    assert locked.status is AccountStatus.LOCKED
    assert locked.locked_until == clock.now() + POLICY.lockout

    hasher.count = 0
    try:  # the right password, while the lock runs: refused alike, not even verified
        qd.sign_in(PHONE, "Haidao#2026wind")
    except QiandaoError as error:
        assert error.code == "account.auth_failed"
    else:
        raise AssertionError("the right password signed in while the account was locked")
    assert hasher.count == 0
    with any_store.unit_of_work() as uow:
        assert uow.accounts.get(account.id) == locked

    clock.advance(minutes=POLICY.lockout_minutes)  # the lock runs out
    signed = qd.sign_in(PHONE, "Haidao#2026wind")
    assert signed.actor is not None
    with any_store.unit_of_work() as uow:
        released = uow.accounts.get(account.id)
    assert (released.status, released.failed_attempts) == (AccountStatus.ACTIVE, 0)


def test_parallel_bootstraps_make_one_first_admin(any_store: Store) -> None:
    """The installer's first admin, asked for twice at once on an empty store: one admin."""
    clock = ManualClock(datetime(2026, 11, 26, 10, tzinfo=SHANGHAI))
    qd = Qiandao(any_store, clock=clock, hasher=Argon2Hasher.fast())
    codes: list[str] = []
    made: list[str] = []
    lock = threading.Lock()

    def bootstrap(n: int) -> None:
        try:
            account, _ = qd.bootstrap_admin(real_name="管理员", phone=f"1390000000{n}")
        except QiandaoError as refused:
            with lock:
                codes.append(refused.code)
        else:
            with lock:
                made.append(account.id)

    run_threads(bootstrap, 6)
    with any_store.unit_of_work() as uow:
        stored = uow.accounts.list()
    assert len(made) == 1 and [a.id for a in stored] == made
    assert set(codes) <= {"permission.denied"} and len(codes) == 5
