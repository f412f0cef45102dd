"""``python -m qiandao keys ...``: encryption-at-rest key maintenance of a SQL database.

- ``keys generate``: print a new key-encryption key line for ``QIANDAO_KEYS`` or a key file;
- ``keys encrypt --url URL``: seal a legacy database's clear values in place;
- ``keys rotate --url URL [--reencrypt]``: re-wrap the data keys under the current
  key-encryption key (and re-encrypt the values under a new data key).

The keys come from ``QIANDAO_KEYS`` or the file named by ``QIANDAO_KEY_FILE``, as for the store.
``encrypt`` and ``rotate`` are audited (``keys_encrypt`` / ``keys_rotate``, the operator's user
and host as the request's client), refused runs too.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import socket
from datetime import datetime
from typing import Any

from qiandao import QiandaoError, record_operation, request_context

__all__ = ["register"]


def _generate(args: argparse.Namespace) -> int:
    from qiandao_adapters.crypto import SM4_GCM, KeyRing

    print(KeyRing.generate(key_id=args.id, algorithm=SM4_GCM).dumps(), end="")
    return 0


def _now() -> datetime:
    from qiandao_adapters.clock import SystemClock

    return SystemClock().now()


def _kinds(report: Any) -> list[tuple[str, int]]:
    """What the audit record says was done: re-wrapped keys, sealed values, tokenised phones."""
    return [
        ("rewrapped", report.rewrapped),
        ("sealed", sum(report.sealed.values())),
        ("phones_tokenised", report.phones),
    ]


def _run(args: argparse.Namespace) -> int:
    from qiandao_adapters.dbcli import _safe, sql_errors
    from qiandao_adapters.sql import SqlStore
    from qiandao_adapters.sql.keys import encrypt_in_place, rotate

    action = f"keys_{args.keys_command}"
    with sql_errors(args.url, "无法维护密钥"):
        store = SqlStore(args.url)
        try:
            with request_context(client=f"qiandao-cli:{getpass.getuser()}@{socket.gethostname()}"):
                try:
                    if args.keys_command == "encrypt":
                        report = encrypt_in_place(store, batch=args.batch)
                    else:
                        report = rotate(store, reencrypt=args.reencrypt, batch=args.batch)
                except QiandaoError as error:  # the failed attempt is audited too, if it can be
                    with contextlib.suppress(Exception):
                        record_operation(store, action, at=_now(), code=error.code)
                    raise
                done = [kind for kind, n in _kinds(report) if n]
                kept = tuple(k for k in (report.kek_id, report.text_key_id) if k)
                record_operation(store, action, at=_now(), targets=kept, events=tuple(done))
        finally:
            store.dispose()
    sealed = sum(report.sealed.values())
    print(
        f"密钥维护完成：{_safe(args.url)}；密钥加密密钥 {report.kek_id}；"
        f"重新包装数据密钥 {report.rewrapped} 个；加密数据 {sealed} 项；"
        f"手机号转为盲索引 {report.phones} 个"
    )
    for column, count in sorted(report.sealed.items()):
        print(f"  {column}: {count}")
    return 0


def register(commands: Any) -> None:
    """Add ``keys`` to the ``python -m qiandao`` command line (entry point ``qiandao.cli``)."""
    keys = commands.add_parser("keys", help="加密存储的密钥维护 / keys of the encrypted store")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    gen = sub.add_parser(
        "generate",
        help="生成一个新的密钥加密密钥（SM4，写入 QIANDAO_KEYS）/ generate a key-encryption key",
    )
    gen.add_argument("--id", default="kek-1", help="密钥编号，默认 kek-1 / key id")
    gen.set_defaults(handler=_generate)
    enc = sub.add_parser(
        "encrypt", help="就地加密旧数据库中的明文（可重复运行）/ encrypt plaintext rows in place"
    )
    rot = sub.add_parser(
        "rotate", help="用当前密钥加密密钥重新包装数据密钥 / re-wrap the data keys"
    )
    rot.add_argument(
        "--reencrypt",
        action="store_true",
        help="同时生成新的数据密钥并分批重新加密数据 / also new data keys, re-encrypt",
    )
    for command in (enc, rot):
        command.add_argument(
            "--url", required=True, help="数据库 URL，如 sqlite:///qiandao.db / database URL"
        )
        command.add_argument(
            "--batch", type=int, default=500, help="每批行数，默认 500 / rows per batch"
        )
        command.set_defaults(handler=_run)
