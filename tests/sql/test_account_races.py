"""Parallel sign-ins with one number on every store: each failure is counted (the counter's
writes collide and run again), the last one locks the account, and nobody sees a conflict."""

from __future__ import annotations

import threading
from datetime import datetime

from qiandao import SHANGHAI, Actor, PasswordPolicy, Qiandao, QiandaoError, Role
from qiandao.ports.store import Store
from qiandao.rules.ruleset import PasswordProfile
from qiandao.testing import ManualClock
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery

ADMIN = Actor("admin-1", Role.SYSTEM_ADMIN, "zhoushan")
PHONE = "13800138000"
THRESHOLD = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3).max_failed_attempts


def test_parallel_wrong_passwords_are_all_counted(any_store: Store) -> None:
    qd = Qiandao(
        any_store,
        clock=ManualClock(datetime(2026, 11, 26, 10, tzinfo=SHANGHAI)),
        hasher=Argon2Hasher.fast(),
        credential_delivery=RecordingDelivery(),
    )
    account = qd.register(ADMIN, real_name="张三", phone=PHONE, role="member")
    codes: list[str] = []
    barrier = threading.Barrier(THRESHOLD)

    def guess() -> None:
        barrier.wait()
        try:
            qd.sign_in(PHONE, "Wrong#pass1")
        except QiandaoError as error:
            codes.append(error.code)

    threads = [threading.Thread(target=guess) for _ in range(THRESHOLD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == ["account.auth_failed"] * (THRESHOLD - 1) + ["account.locked"]
    with any_store.unit_of_work() as uow:
        stored = uow.accounts.get(account.id)
    assert stored.failed_attempts == THRESHOLD
    assert stored.status.value == "locked"
