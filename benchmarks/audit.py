"""Benchmark: verifying the audit of a large log (issue 10).

Builds a log of ``--records`` records (default 1,000,000) spread over every shard, with a
checkpoint every 100,000, in a SQLite file (or the database ``--url`` names, its qiandao tables
renewed), then times :func:`qiandao.check_audit` and, as the peer in the same run, the least any
verifier must do: read every row's document and hash in shard order and recompute the hash with
``hmac`` (no decoding, no column check). Prints both, records per second and the ratio.

Run ``python benchmarks/audit.py [--records N] [--url URL]``.
"""

from __future__ import annotations

import argparse
import hmac
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from qiandao import AuditChain, AuditEntry, AuditHead, AuditOutcome, check_audit
from qiandao.audit import AUDIT_SHARDS, CHECKPOINT_SHARD
from qiandao.rules.deadlines import SHANGHAI
from qiandao_adapters.crypto import KeyRing
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import audit_row

KEY = b"benchmark-audit-key-0123456789ab"
START = datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)
BATCH = 10_000
ACTIONS = ("submit_new", "pass_preliminary", "approve", "sign", "assign", "reply", "rate")


def build(store: SqlStore, count: int, chain: AuditChain, every: int = 100_000) -> None:
    """Write ``count`` chained records, and a checkpoint after each ``every``, straight into
    the store's tables."""
    heads = {f"{n:02d}": AuditHead(f"{n:02d}") for n in range(AUDIT_SHARDS)}
    heads[CHECKPOINT_SHARD] = AuditHead(CHECKPOINT_SHARD)
    rows: list[dict[str, Any]] = []
    with store.engine.begin() as conn:
        for n in range(count):
            shard = f"{n % AUDIT_SHARDS:02d}"
            entry = AuditEntry(
                at=START + timedelta(seconds=n),
                action=ACTIONS[n % len(ACTIONS)],
                outcome=AuditOutcome.SUCCEEDED if n % 9 else AuditOutcome.REFUSED,
                account_id=f"person-{n % 5000}",
                role="member",
                jurisdiction="zhoushan",
                targets=(f"item-{n // 8}",),
                events=("submitted",),
                code=None if n % 9 else "permission.denied",
            )
            record = chain.seal(heads[shard], entry)
            heads[shard] = AuditHead(shard, record.sequence, record.hash)
            rows.append(audit_row(record))
            if (n + 1) % every == 0:
                bound = tuple(
                    (h.shard, h.sequence, h.hash)
                    for h in heads.values()
                    if h.shard != CHECKPOINT_SHARD and h.sequence
                )
                point = AuditEntry(
                    at=entry.at,
                    action="audit_checkpoint",
                    outcome=AuditOutcome.SUCCEEDED,
                    heads=bound,
                )
                cp = chain.seal(heads[CHECKPOINT_SHARD], point)
                heads[CHECKPOINT_SHARD] = AuditHead(CHECKPOINT_SHARD, cp.sequence, cp.hash)
                rows.append(audit_row(cp))
            if len(rows) >= BATCH:
                conn.execute(insert(s.audit), rows)
                rows = []
        if rows:
            conn.execute(insert(s.audit), rows)
        for head in heads.values():
            conn.execute(
                update(s.audit_heads)
                .where(s.audit_heads.c.shard == head.shard)
                .values(sequence=head.sequence, hash=head.hash)
            )


def bare_read_and_hash(store: SqlStore) -> int:
    """The peer: every row's document HMAC-ed and compared, nothing else."""
    t = s.audit
    count = 0
    with store.engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
            select(t.c.doc, t.c.hash).order_by(t.c.shard, t.c.sequence)
        )
        for doc, digest in rows:
            if not hmac.compare_digest(hmac.new(KEY, doc.encode(), "sm3").hexdigest(), digest):
                raise AssertionError("the benchmark's log does not verify")
            count += 1
    return count


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--url", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'audit.sqlite3'}"
    store = SqlStore(url, keys=KeyRing.generate())  # the log is keyed with KEY itself
    store.drop_all()
    store.create_all()
    chain = AuditChain(KEY)
    started = time.perf_counter()
    build(store, args.records, chain)
    built = time.perf_counter() - started
    print(f"audit log of {args.records:,} records ({chain.algorithm}) on {url.split(':')[0]}")
    print(f"  written in {built:.1f} s")
    started = time.perf_counter()
    result = check_audit(store, audit_key=KEY)
    verified = time.perf_counter() - started
    assert result.ok, result.fault
    started = time.perf_counter()
    bare = bare_read_and_hash(store)
    peer = time.perf_counter() - started
    print(f"  check_audit:             {verified:7.1f} s  ({result.records / verified:>9,.0f}/s)")
    print(f"  peer (read + HMAC only): {peer:7.1f} s  ({bare / peer:>9,.0f}/s)")
    print(f"  check_audit / peer: {verified / peer:.2f}×")
    store.drop_all()
    store.dispose()


if __name__ == "__main__":
    main()
