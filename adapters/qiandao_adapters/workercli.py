"""``python -m qiandao jobs|worker|outbox``: the periodic job, the long-running worker that sends
notices, and the outbox's dead letters, on a SQL database.

- ``jobs run --url URL``: one pass of the periodic job (reminders, rating windows, session
  purge, audit checkpoint), under its lease: a second instance at the same time does nothing;
- ``worker --url URL [--interval S] [--jobs-every S] [--notifier MODULE:FACTORY]``: dispatch
  notices in batches (claimed under a lease, so several workers never send one notice twice
  while it runs) and run the job every ``--jobs-every`` seconds, until SIGTERM or SIGINT: the
  current send finishes, the notices claimed but not sent are released, and it exits 0;
- ``outbox list [--failed] --url URL``: the pending notices, or the dead letters;
- ``outbox retry ID`` / ``outbox discard ID``: send a dead notice again (attempts reset), or
  give it up; both are audited (``outbox_retry`` / ``outbox_discard``, the operator's user and
  host as the request's client), as is the listing (``outbox_list``).

The notifier: ``--notifier package.module:factory`` names a callable returning a
:class:`~qiandao.ports.notify.Notifier` (called with no arguments; read its settings from the
environment); by default a :class:`~qiandao_adapters.notifiers.LoggingNotifier`. ``--rules``
names a callable returning the service's ``rules`` (a RuleSet or a mapping of them) the same
way. Keys as for the store (``QIANDAO_KEYS`` / ``QIANDAO_KEY_FILE``); the audit key from
``--key-file`` or ``QIANDAO_AUDIT_KEY`` when the host gives the service one.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from qiandao import QiandaoError, record_operation, request_context
from qiandao.errors import InvalidInput, NotFound

__all__ = ["load_factory", "register", "run_worker"]

_log = logging.getLogger("qiandao.worker")
_OWNER_CHARS = 128


def load_factory(spec: str, what: str) -> Any:
    """Call the ``module:factory`` named by ``spec`` (``input.invalid`` on ``what`` if it
    cannot be imported or called) and return what it made."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise InvalidInput(
            f"须写作 模块:工厂函数，如 mypkg.notify:make（得到 {spec!r}）", field=what
        )
    try:
        factory = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"无法导入 {spec}：{type(exc).__name__}", field=what) from None
    if not callable(factory):
        raise InvalidInput(f"{spec} 不可调用", field=what)
    return factory()


def _default_notifier() -> Any:
    from qiandao_adapters.notifiers import LoggingNotifier

    return LoggingNotifier()


def _dispatcher_id() -> str:
    """This process's name in the outbox's leases: host, process id and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"[-_OWNER_CHARS:]


def _service(args: argparse.Namespace, store: Any, *, notifier: Any = None) -> Any:
    from qiandao import Qiandao
    from qiandao_adapters.auditcli import audit_key_from
    from qiandao_adapters.clock import SystemClock

    rules = load_factory(args.rules, "rules") if args.rules else None
    return Qiandao(
        store,
        clock=SystemClock(),
        rules=rules,
        notifier=notifier,
        dispatcher_id=_dispatcher_id(),
        audit_key=audit_key_from(args.key_file),
        hasher=None,
    )


@contextlib.contextmanager
def _opened(url: str, what: str) -> Iterator[Any]:
    from qiandao_adapters.dbcli import sql_errors
    from qiandao_adapters.sql import SqlStore

    with sql_errors(url, what):
        store = SqlStore(url)
        try:
            yield store
        finally:
            store.dispose()


def _operator() -> str:
    return f"qiandao-cli:{getpass.getuser()}@{socket.gethostname()}"


# --- jobs run ---------------------------------------------------------------------------------


def _jobs_run(args: argparse.Namespace) -> int:
    with _opened(args.url, "无法运行定时任务") as store, request_context(client=_operator()):
        report = _service(args, store).run_due_jobs()
    _print_job(report)
    return 0


def _print_job(report: Any) -> None:
    if report.skipped:
        print("另一实例正在运行定时任务，本次跳过 · skipped: another run holds the lease")
        return
    print(
        f"定时任务完成：提醒 {report.reminders_sent} 条，关闭评价期 {report.ratings_closed} 项，"
        f"审核提醒 {report.reviews_reminded} 条，年度计划提醒 {report.plan_reminders} 条，"
        f"清除会话 {report.sessions_purged} 个，"
        f"冲突跳过 {report.conflicts} 项；审计锚点 {report.audit_anchor}"
    )


# --- worker -----------------------------------------------------------------------------------


class _Progress:
    """Totals of a worker's run, shown as one line rewritten in place on a terminal."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.sent = self.failed = self.dead = self.reminders = self.runs = self.errors = 0

    def add(self, report: Any) -> None:
        self.sent += report.sent
        self.failed += report.failed
        self.dead += report.dead

    def line(self) -> str:
        return (
            f"已投递 {self.sent}，失败 {self.failed}（停止重试 {self.dead}），"
            f"定时任务 {self.runs} 次、提醒 {self.reminders} 条，故障 {self.errors} 次"
        )

    def show(self) -> None:
        if self.tty:
            self.out.write("\r\033[K" + self.line())
            self.out.flush()

    def end(self) -> None:
        if self.tty:
            self.out.write("\n")
        self.out.write(f"工作进程已停止 · worker stopped：{self.line()}\n")
        self.out.flush()


def run_worker(
    qd: Any,
    *,
    interval: float,
    jobs_every: float,
    batch: int,
    lease: timedelta,
    stop: threading.Event,
    out: Any = None,
) -> _Progress:
    """Dispatch and run the job until ``stop`` is set; a failure of the store or the job is
    logged and tried again after ``interval`` (a worker outlives a database restart)."""
    progress = _Progress(out or sys.stdout)
    next_jobs = time.monotonic() if jobs_every > 0 else float("inf")
    while not stop.is_set():
        busy = False
        try:
            if time.monotonic() >= next_jobs:
                next_jobs = time.monotonic() + jobs_every
                job = qd.run_due_jobs()
                progress.runs += not job.skipped
                progress.reminders += job.reminders_sent
            report = qd.dispatch(batch, lease=lease, stop=stop.is_set)
            progress.add(report)
            busy = report.sent + report.failed >= batch  # more may be waiting: go on at once
        except QiandaoError as error:
            progress.errors += 1
            _log.warning("工作进程本轮失败，稍后重试：%s", error.code, exc_info=True)
        progress.show()
        if not busy:
            stop.wait(interval)
    return progress


def _release(qd: Any) -> None:
    """Let go of the notices this worker still holds (a send interrupted by the signal)."""
    with contextlib.suppress(QiandaoError), qd.store.unit_of_work() as uow:
        uow.outbox.release(qd.dispatcher_id)
        uow.commit()


def _worker(args: argparse.Namespace) -> int:
    if args.interval <= 0 or args.jobs_every < 0 or args.batch < 1 or args.lease <= 0:
        raise InvalidInput("间隔、批量与租约须为正数", field="interval")
    notifier = load_factory(args.notifier, "notifier") if args.notifier else _default_notifier()
    if not logging.getLogger().handlers:  # a process of its own: its log goes to stderr
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with _opened(args.url, "工作进程无法连接数据库") as store:
            qd = _service(args, store, notifier=notifier)
            print(f"工作进程已启动 · worker started：{qd.dispatcher_id}", flush=True)
            try:
                with request_context(client=f"qiandao-worker:{qd.dispatcher_id}"):
                    progress = run_worker(
                        qd,
                        interval=args.interval,
                        jobs_every=args.jobs_every,
                        batch=args.batch,
                        lease=timedelta(seconds=args.lease),
                        stop=stop,
                    )
            finally:
                _release(qd)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    progress.end()
    return 0


# --- outbox list / retry / discard --------------------------------------------------------------


def _now() -> Any:
    from qiandao_adapters.clock import SystemClock

    return SystemClock().now()


def _outbox_list(args: argparse.Namespace) -> int:
    action = "outbox_list"
    with _opened(args.url, "无法读取发件箱") as store, request_context(client=_operator()):
        with store.unit_of_work() as uow:
            found = (
                uow.outbox.list_failed(args.limit)
                if args.failed
                else uow.outbox.pending(args.limit)
            )
        record_operation(
            store, action, at=_now(), events=("failed",) if args.failed else ("pending",)
        )
    title = "停止重试的通知 · dead letters" if args.failed else "待投递的通知 · pending notices"
    more = "（至多显示 --limit 条，可能还有更多）" if len(found) >= args.limit else ""
    print(f"{title}：列出 {len(found)} 条{more}")
    if found:
        print("编号\t类型\t状态\t尝试\t时间\t最近错误\t认领者\t信息")
    for m in found:
        when = m.last_attempt_at if args.failed else m.next_attempt_at
        print(
            f"{m.notice.id}\t{m.notice.kind}\t{m.state.value}\t尝试 {m.attempts} 次\t"
            f"{when.isoformat() if when else '-'}\t{m.last_error or '-'}\t"
            f"{m.claimed_by or '-'}\t信息 {m.notice.item_id or '-'}"
        )
    return 0


def _outbox_change(args: argparse.Namespace) -> int:
    action = f"outbox_{args.outbox_command}"
    with _opened(args.url, "无法修改发件箱") as store, request_context(client=_operator()):
        try:
            with store.unit_of_work() as uow:
                if args.outbox_command == "retry":
                    changed = uow.outbox.retry(args.notice_id, _now())
                else:
                    changed = uow.outbox.discard(args.notice_id)
                if not changed:
                    raise NotFound(
                        f"通知 {args.notice_id} 已投递或已放弃，无可操作 · nothing to do",
                        id=args.notice_id,
                    )
                uow.commit()
        except QiandaoError as error:  # the refused attempt is audited too, if it can be
            with contextlib.suppress(Exception):
                record_operation(
                    store, action, at=_now(), targets=_target(args.notice_id), code=error.code
                )
            raise
        record_operation(store, action, at=_now(), targets=_target(args.notice_id))
    done = (
        "将重新投递 · will be sent again"
        if args.outbox_command == "retry"
        else "已放弃 · discarded"
    )
    print(f"通知 {args.notice_id} {done}")
    return 0


def _target(notice_id: str) -> tuple[str, ...]:
    from qiandao.rules.text import is_id

    return (notice_id,) if is_id(notice_id) else ()


# --- registration -----------------------------------------------------------------------------


def _common(command: argparse.ArgumentParser, *, service: bool = False) -> None:
    command.add_argument(
        "--url", required=True, help="数据库 URL，如 sqlite:///qiandao.db · database URL"
    )
    if service:
        command.add_argument(
            "--rules",
            help="返回规则（RuleSet 或其映射）的 模块:工厂函数 · MODULE:FACTORY giving rules",
        )
        command.add_argument(
            "--key-file",
            help="审计密钥文件（base64），默认 $QIANDAO_AUDIT_KEY · audit key file (base64)",
        )


def _described(parsers: Any, name: str, text: str) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` starts with its (Chinese · English) description."""
    parser: argparse.ArgumentParser = parsers.add_parser(name, help=text, description=text)
    return parser


def register(commands: Any) -> None:
    """Add ``jobs``, ``worker`` and ``outbox`` to ``python -m qiandao`` (entry point
    ``qiandao.cli``)."""
    jobs = _described(commands, "jobs", "定时任务 · the periodic job")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    run = _described(
        jobs_sub,
        "run",
        "运行一次定时任务（提醒、评价期、会话、审计检查点）· one pass of the job",
    )
    _common(run, service=True)
    run.set_defaults(handler=_jobs_run)

    worker = _described(
        commands,
        "worker",
        "常驻工作进程：投递通知并定时运行任务，SIGTERM 时干净退出 · "
        "long-running worker: sends notices, runs the job, stops cleanly on SIGTERM",
    )
    _common(worker, service=True)
    worker.add_argument(
        "--interval",
        type=float,
        default=2.0,
        help="发件箱空闲时的轮询间隔（秒），默认 2 · poll interval",
    )
    worker.add_argument(
        "--jobs-every",
        type=float,
        default=3600.0,
        help="定时任务间隔（秒），默认 3600，0 为不运行 · seconds between job runs (0: never)",
    )
    worker.add_argument(
        "--batch", type=int, default=50, help="每批认领的通知数，默认 50 · notices per claim"
    )
    worker.add_argument(
        "--lease",
        type=float,
        default=300.0,
        help="认领租约（秒），默认 300，须长于一批的发送时间 · claim lease in seconds",
    )
    worker.add_argument(
        "--notifier",
        help="返回通知端口的 模块:工厂函数，默认写日志 · MODULE:FACTORY returning the notifier "
        "(default: a logging notifier)",
    )
    worker.set_defaults(handler=_worker)

    outbox = _described(commands, "outbox", "发件箱运维 · outbox operations")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = _described(
        outbox_sub, "list", "列出待投递的通知，或 --failed 停止重试的通知 · list pending or dead"
    )
    _common(listing)
    listing.add_argument(
        "--failed", action="store_true", help="只列停止重试的通知 · dead letters only"
    )
    listing.add_argument("--limit", type=int, default=100, help="最多列出条数，默认 100 · at most")
    listing.set_defaults(handler=_outbox_list)
    for name, text in (
        ("retry", "重新投递一条停止重试的通知（尝试次数清零）· send a dead notice again"),
        ("discard", "放弃一条通知，不再投递 · give a notice up"),
    ):
        change = _described(outbox_sub, name, text)
        change.add_argument("notice_id", metavar="ID", help="通知编号 · notice id")
        _common(change)
        change.set_defaults(handler=_outbox_change)
