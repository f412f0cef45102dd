"""``python -m qiandao audit verify|checkpoint --url URL``: check the audit's chains, or bind
their heads in a checkpoint and print the anchor to keep outside the database (第十九条).

The audit key is read from ``--key-file`` (base64 text) or the environment variable
``QIANDAO_AUDIT_KEY`` (base64) when the service was given one; otherwise the store's own (its
``audit`` data key, opened with the keys of ``QIANDAO_KEYS`` / ``QIANDAO_KEY_FILE``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
from pathlib import Path
from typing import Any

from qiandao.errors import InvalidInput

__all__ = ["audit_key_from", "register"]

KEY_VARIABLE = "QIANDAO_AUDIT_KEY"


def audit_key_from(key_file: str | None, environ: Any = None) -> bytes | None:
    """The audit key of ``key_file`` or ``$QIANDAO_AUDIT_KEY`` (base64), or ``None``."""
    text = (
        Path(key_file).read_text(encoding="ascii")
        if key_file
        else (os.environ if environ is None else environ).get(KEY_VARIABLE, "")
    ).strip()
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("审计密钥须为 base64 文本", field="audit_key") from None


def _store(url: str) -> Any:
    from qiandao_adapters.sql import SqlStore

    return SqlStore(url)


def _verify(args: argparse.Namespace) -> int:
    from qiandao import check_audit

    store = _store(args.url)
    try:
        key = audit_key_from(args.key_file) or store.audit_key()
        result = check_audit(store, audit_key=key, anchor=args.anchor)
    finally:
        store.dispose()
    if result.fault is None:
        print(
            f"审计记录完好：{result.records} 条，分布在 {result.shards} 条链上（按人分片与检查点）"
            f"/ intact: {result.records} records in {result.shards} chains"
        )
        if result.anchor.startswith("0:"):
            print("尚无检查点，没有可保存的锚点；请运行 audit checkpoint / no checkpoint yet")
        else:
            print(f"最近检查点的锚点（保存在数据库之外）/ the latest anchor: {result.anchor}")
        return 0
    fault = result.fault
    print(
        f"审计记录被篡改：链 {fault.shard} 第 {fault.sequence} 条（{fault.reason}）",
        file=sys.stderr,
    )
    return 1


def _checkpoint(args: argparse.Namespace) -> int:
    from qiandao import Qiandao
    from qiandao_adapters.clock import SystemClock

    store = _store(args.url)
    try:
        qd = Qiandao(
            store, clock=SystemClock(), audit_key=audit_key_from(args.key_file), hasher=None
        )
        head = qd.audit_checkpoint()
    finally:
        store.dispose()
    print(f"已写入检查点；锚点 {head.sequence}:{head.hash}")
    return 0


def register(commands: Any) -> None:
    """Add ``audit`` to the ``python -m qiandao`` command line (entry point ``qiandao.cli``)."""
    audit = commands.add_parser("audit", help="安全审计（第十九条）/ the security audit")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="校验全部审计记录的哈希链，指出第一条坏记录 / verify the chains",
    )
    checkpoint = audit_commands.add_parser(
        "checkpoint", help="写入检查点并输出锚点 / write a checkpoint, print its anchor"
    )
    for parser in (verify, checkpoint):
        parser.add_argument(
            "--url", required=True, help="数据库 URL，如 sqlite:///qiandao.db / database URL"
        )
        parser.add_argument(
            "--key-file", help=f"审计密钥文件（base64），默认读 ${KEY_VARIABLE} / audit key file"
        )
    verify.add_argument(
        "--anchor", help="以前保存的锚点“序号:哈希”，也查出其前的截断 / a saved anchor seq:hash"
    )
    verify.set_defaults(handler=_verify)
    checkpoint.set_defaults(handler=_checkpoint)
