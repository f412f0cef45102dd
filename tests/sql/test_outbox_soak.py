"""Soak: 4 worker processes (``python -m qiandao worker``) dispatch while 4 command processes
submit items on one PostgreSQL / MariaDB database, into a recording HTTP gateway on loopback.
Every committed notice arrives exactly once (duplicates counted, none lost).

Bounded by default (``QIANDAO_OUTBOX_SOAK_SECONDS`` of commands per backend, 6 s); set it higher
for a long run. The figures are printed: committed, delivered, duplicates, lost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from qiandao import Actor, Qiandao, QiandaoError, Role
from qiandao.testing import enrol
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from tests.sql.conftest import Backend
from tests.sql.outbox_gateway import GATEWAY_VARIABLE, Gateway, worker_command

SECONDS = float(os.environ.get("QIANDAO_OUTBOX_SOAK_SECONDS", "6"))
WORKERS = 4
COMMANDERS = 4
MEMBER = Actor("m1", Role.MEMBER, "zhoushan")
DRAFT = {"title": "关于渔港码头照明的建议", "body": "夜间作业照明不足。", "category": "hot_issue"}

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::ResourceWarning")]


def _backends() -> list[str]:
    return ["postgresql", "mysql"]


@pytest.fixture(params=_backends())
def server(request: pytest.FixtureRequest) -> Backend:
    fixture = "postgres_backend" if request.param == "postgresql" else "mysql_backend"
    found: Backend = request.getfixturevalue(fixture)
    return found


def _commands(args: tuple[str, float, int]) -> tuple[int, list[str]]:
    """Submit items until the time is up (in a spawned process); returns (done, error codes)."""
    url, seconds, seed = args
    store = SqlStore(url)
    qd = Qiandao(store, clock=SystemClock(), hasher=None)
    done, errors = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            qd.submit_new(MEMBER, {**DRAFT, "title": f"{DRAFT['title']}（{seed}-{done}）"})
        except QiandaoError as error:
            errors.append(error.code)
        else:
            done += 1
    store.dispose()
    return done, errors


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_every_committed_notice_arrives_exactly_once(
    server: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    store = server.store()  # every table emptied
    enrol(store, MEMBER)
    outbox = s.outbox
    with Gateway() as gateway:
        env = {**os.environ, GATEWAY_VARIABLE: gateway.url}
        options = ("--interval", "0.2", "--batch", "20", "--jobs-every", "2")
        workers = [
            subprocess.Popen(
                worker_command(server.url, *options),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        try:
            context = multiprocessing.get_context("spawn")
            with context.Pool(COMMANDERS) as pool:
                results = pool.map(
                    _commands, [(server.url, SECONDS, seed) for seed in range(COMMANDERS)]
                )

            def pending() -> int:
                with server.engine.connect() as conn:
                    stmt = select(func.count()).where(outbox.c.state != "dispatched")
                    return int(conn.execute(stmt.select_from(outbox)).scalar_one())

            drained = _wait(lambda: pending() == 0, 120)
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            outputs = [worker.communicate(timeout=60) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
        received = gateway.counts()
    with server.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.notice_id, outbox.c.state, outbox.c.claimed_by)).all()
    committed = {row.notice_id for row in rows}
    submitted = sum(done for done, _ in results)
    duplicates = sum(n - 1 for n in received.values())
    lost = len(committed - set(received))
    with capsys.disabled():
        print(
            f"\n[outbox soak {server.name}] {WORKERS} workers, {COMMANDERS} command processes, "
            f"{SECONDS:g} s: committed {len(committed)}, delivered {len(received)}, "
            f"duplicates {duplicates}, lost {lost}"
        )
    assert [errors for _, errors in results] == [[]] * COMMANDERS
    assert all(w.returncode == 0 for w in workers), [err for _, err in outputs]
    assert all("工作进程已停止" in out for out, _ in outputs)
    assert drained
    assert len(committed) == submitted > 0  # one notice to the editors per submission
    assert set(received) == committed
    assert (duplicates, lost) == (0, 0)
    assert {(row.state, row.claimed_by) for row in rows} == {("dispatched", None)}
    store.dispose()
