"""``python -m qiandao jobs run | worker | outbox …`` on a SQLite file: the dead letters are
listed, retried and discarded (each audited), the job runs once, and the worker sends what is
pending and stops cleanly on SIGTERM with nothing left claimed."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from qiandao import AuditQuery, DispatchReport, JobReport, OutboxState, Qiandao, RetryPolicy
from qiandao.cli import main
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.workercli import run_worker
from tests.helpers import Notifier, World, make_world
from tests.sql.outbox_gateway import GATEWAY_VARIABLE, Gateway, worker_command

DRAFT = {"title": "关于渔港码头照明的建议", "body": "夜间作业照明不足。", "category": "hot_issue"}

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _world(url: str) -> World:
    store = SqlStore(url)
    store.create_all()
    return make_world(store=store)


def _dead_notices(w: World) -> list[str]:
    """Submit two items with the gateway down and one attempt allowed: both notices die."""
    down = Notifier()
    down.failing = True
    qd = Qiandao(
        w.qd.store,
        clock=w.clock,
        rules=w.qd._rules,
        notifier=down,
        outbox_retry=RetryPolicy(max_attempts=1),
        hasher=None,
    )
    for _ in range(2):
        w.qd.submit_new(w.member, DRAFT)
    assert qd.dispatch().dead == 2
    with w.qd.store.unit_of_work() as uow:
        return [m.notice.id for m in uow.outbox.list_failed(10)]


def _actions(w: World, action: str) -> list[tuple[tuple[str, ...], str | None]]:
    with w.qd.store.unit_of_work() as uow:
        return [(r.entry.targets, r.entry.code) for r in uow.audit.query(AuditQuery(action=action))]


def test_outbox_list_retry_and_discard_dead_letters(
    sqlite_file: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_file()
    w = _world(url)
    w.qd.dispatch_after_commit = False
    first, second = _dead_notices(w)

    assert main(["outbox", "list", "--failed", "--url", url]) == 0
    listed = capsys.readouterr().out
    assert first in listed and second in listed and "dead" in listed
    assert DRAFT["title"] not in listed and "role:" not in listed  # no text, no recipients
    assert main(["outbox", "retry", first, "--url", url]) == 0
    assert main(["outbox", "discard", second, "--url", url]) == 0
    capsys.readouterr()
    assert main(["outbox", "discard", second, "--url", url]) == 2  # discarded already
    assert "not_found" in capsys.readouterr().err
    assert main(["outbox", "retry", "no-such-notice", "--url", url]) == 2

    with w.qd.store.unit_of_work() as uow:
        assert uow.outbox.list_failed(10) == []
        (again,) = uow.outbox.pending(10)
    assert (again.notice.id, again.attempts, again.state) == (first, 0, OutboxState.PENDING)
    assert main(["outbox", "list", "--url", url]) == 0
    assert first in capsys.readouterr().out
    assert main(["outbox", "list", "--url", url, "--limit", "1"]) == 0
    assert "可能还有更多" in capsys.readouterr().out  # a full page does not pass for the total
    assert _actions(w, "outbox_retry") == [((first,), None), (("no-such-notice",), "not_found")]
    assert _actions(w, "outbox_discard") == [((second,), None), ((second,), "not_found")]
    assert len(_actions(w, "outbox_list")) == 3  # each listing is audited
    w.qd.store.dispose()  # type: ignore[attr-defined]


def test_jobs_run_once_and_report(
    sqlite_file: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_file()
    w = _world(url)
    w.assigned("u-a")
    assert main(["jobs", "run", "--url", url]) == 0
    assert "定时任务完成" in capsys.readouterr().out
    assert _actions(w, "run_due_jobs")  # the run is audited
    w.qd.store.dispose()  # type: ignore[attr-defined]


def test_a_bad_notifier_spec_is_refused(
    sqlite_file: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_file()
    for spec in ("nocolon", "no.such.module:make", "tests.sql.outbox_gateway:missing"):
        assert main(["worker", "--url", url, "--notifier", spec]) == 2
        assert "input.invalid" in capsys.readouterr().err


def _wait(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_worker_sends_pending_notices_and_stops_cleanly_on_sigterm(
    sqlite_file: Callable[[], str],
) -> None:
    url = sqlite_file()
    w = _world(url)
    w.qd.dispatch_after_commit = False
    for _ in range(3):
        w.qd.submit_new(w.member, DRAFT)
    with w.qd.store.unit_of_work() as uow:
        expected = {m.notice.id for m in uow.outbox.pending(100)}
    assert len(expected) == 3
    with Gateway() as gateway:
        env = {**os.environ, GATEWAY_VARIABLE: gateway.url}
        command = worker_command(url, "--interval", "0.1", "--jobs-every", "0")
        out, _ = _until_sigterm(command, lambda: set(gateway.counts()) == expected, env)
        assert "工作进程已停止" in out and "已投递 3" in out
        assert gateway.counts() == dict.fromkeys(expected, 1)
    with w.qd.store.unit_of_work() as uow:
        assert uow.outbox.pending(100) == []
    w.qd.store.dispose()  # type: ignore[attr-defined]


def test_the_default_worker_logs_each_notice_it_delivers_on_stderr(
    sqlite_file: Callable[[], str],
) -> None:
    url = sqlite_file()
    w = _world(url)
    w.qd.dispatch_after_commit = False
    item = w.qd.submit_new(w.member, DRAFT)
    with w.qd.store.unit_of_work() as uow:
        (pending,) = uow.outbox.pending(100)
    command = worker_command(url, "--interval", "0.1", "--jobs-every", "0")
    notifier = command.index("--notifier")
    del command[notifier : notifier + 2]  # the default: a log of each notice
    out, err = _until_sigterm(command, lambda: _dispatched(w.qd), None)
    assert "已投递 1" in out
    assert pending.notice.id in err and item.id in err  # nothing delivered out of sight
    w.qd.store.dispose()  # type: ignore[attr-defined]


def _until_sigterm(
    command: list[str], condition: Callable[[], bool], env: dict[str, str] | None
) -> tuple[str, str]:
    """Run the worker until ``condition`` holds, stop it with SIGTERM; its output (exit 0)."""
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait(condition)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    return out, err


def _dispatched(qd: Qiandao) -> bool:
    with qd.store.unit_of_work() as uow:
        return uow.outbox.pending(100) == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _OnePass:
    """A service stand-in: one job run and one dispatch, then the stop is set (a SIGTERM)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.calls: list[str] = []

    def run_due_jobs(self) -> JobReport:
        self.calls.append("jobs")
        return JobReport(ratings_closed=1)

    def dispatch(self, limit: int, **options: Any) -> DispatchReport:
        self.calls.append(f"dispatch {limit} {options['lease']}")
        assert options["stop"]() is False
        self.stop.set()
        return DispatchReport(sent=3, failed=1, dead=1)


def test_the_worker_loop_shows_progress_on_a_terminal_and_stops_when_told() -> None:
    stop = threading.Event()
    qd = _OnePass(stop)
    out = _Terminal()
    progress = run_worker(
        qd, interval=0.01, jobs_every=60, batch=7, lease=timedelta(seconds=9), stop=stop, out=out
    )
    assert qd.calls == ["jobs", "dispatch 7 0:00:09"]
    assert (progress.sent, progress.failed, progress.dead, progress.runs) == (3, 1, 1, 1)
    assert out.getvalue().startswith("\r") and "已投递 3" in out.getvalue()
    plain = io.StringIO()
    run_worker(qd, interval=0.01, jobs_every=0, batch=7, lease=timedelta(1), stop=stop, out=plain)
    assert plain.getvalue() == ""  # not a terminal: no progress line (and stopped at once)
