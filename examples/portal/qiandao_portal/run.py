"""Start the portal: ``python examples/portal/app.py [--demo-data] [--url URL] [--port N]``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from qiandao import Account, Qiandao, QiandaoError
from qiandao_adapters.analysis import MinHashAnalyzer
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.crypto import configured_provider, local_key_file
from qiandao_adapters.delivery import ConsoleDelivery, RecordingDelivery
from qiandao_adapters.notifiers import LoggingNotifier
from qiandao_adapters.sql import SqlStore
from qiandao_portal.app import create_app
from qiandao_portal.demo import DemoData, seed

__all__ = ["DemoPhones", "build", "main", "print_credentials"]

DEFAULT_FILE = "qiandao-portal.sqlite3"


class DemoPhones(RecordingDelivery):
    """The SMS gateway's stand-in: keeps initial passwords for the demo seeding, and once the
    portal serves (``echo``) prints each new person's message on the console. Production
    hosts plug their SMS gateway in here (``CredentialDelivery``)."""

    echo = False

    def deliver(self, account: Account, phone: str, password: str) -> None:
        """Keep the password, and print it as the person's SMS once the portal serves."""
        super().deliver(account, phone, password)
        if self.echo:
            ConsoleDelivery().deliver(account, phone, password)


def build(url: str, *, fast_hash: bool = False) -> tuple[Qiandao, DemoPhones]:
    """The composition root: the store (created or upgraded), the wall clock, Argon2, and a
    stand-in for the SMS gateway that keeps initial passwords as the people's phones would."""
    keys = configured_provider()
    if keys is None and url.startswith("sqlite:///"):
        keys = local_key_file(Path(url.removeprefix("sqlite:///")).with_suffix(".keys"))
    phones = DemoPhones()
    qd = Qiandao(
        SqlStore(url, keys=keys, create=True),
        clock=SystemClock(),
        notifier=LoggingNotifier(),
        hasher=Argon2Hasher.fast() if fast_hash else Argon2Hasher(),
        credential_delivery=phones,
        analyzer=MinHashAnalyzer(),  # similar items at 初审, hot topics (the analysis extra)
    )
    return qd, phones


def print_credentials(data: DemoData) -> None:
    """The demo accounts, shown once: whoever runs the demo signs in with these."""
    print("演示账号（只显示这一次）/ demo accounts (shown once):")
    for account in data.accounts.values():
        mark = "（初始密码，首次登录须修改）" if account.initial else ""
        who = f"{account.role.label:<12} {account.name:<8}"
        print(f"  {who} {account.phone}  {account.password}{mark}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, seed if asked, and serve with uvicorn."""
    parser = argparse.ArgumentParser(
        prog="qiandao_portal", description="千岛议家参考门户 / the qiandao reference portal"
    )
    parser.add_argument(
        "--url", help=f"数据库 URL / database URL (default: sqlite:///{DEFAULT_FILE})"
    )
    parser.add_argument(
        "--demo-data", action="store_true", help="创建演示账号和各状态的信息 / seed demo data"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--fast-hash", action="store_true", help="测试用的快速口令散列 / a fast hasher, for tests"
    )
    args = parser.parse_args(argv)
    url = args.url or f"sqlite:///{Path(DEFAULT_FILE).resolve()}"
    qd, phones = build(url, fast_hash=args.fast_hash)
    if args.demo_data:
        try:
            print_credentials(seed(qd, phones))
        except QiandaoError as error:
            print(f"数据库中已有数据，未重复创建演示数据 / already seeded ({error.code})")
    phones.echo = True  # people registered from now on get their SMS on this console
    secret = os.environ.get("QIANDAO_PORTAL_SECRET")
    app = create_app(qd, secret=secret.encode() if secret else None)
    import uvicorn

    print(f"门户 / portal: http://{args.host}:{args.port}/login")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
