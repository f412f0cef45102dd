"""Tampering with the audit behind the library's back is found (issue 10), on every store.

The log is rewritten directly (rows of ``qd_audit`` / ``qd_audit_heads``, or the memory store's
dicts): each record edited, deleted, moved; records inserted, reordered, truncated; heads
rewound. Every single case must be found by :func:`qiandao.check_audit`, which names the first
bad record; the untouched log verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from qiandao import Actor, AuditVerification, Qiandao, Role, check_audit
from qiandao.audit import CHECKPOINT_SHARD
from qiandao.ports.store import Store
from qiandao.testing import enrol
from qiandao_adapters.memory import MemoryStore
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import audit_record, audit_row
from tests.helpers import ZS, make_world

KEY = b"tamper-test-audit-key-0123456789"
AUDITOR = Actor("auditor-1", Role.AUDIT_ADMIN, ZS)
Rows = list[dict[str, Any]]


class Raw:
    """The audit tables of a store as plain rows, read and rewritten wholesale."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def read(self) -> tuple[Rows, Rows]:
        if isinstance(self.store, MemoryStore):
            data = self.store._data
            with self.store.unit_of_work() as uow:  # the packed blocks read back as records
                rows = [
                    audit_row(r) for shard in uow.audit.heads() for r in uow.audit.records(shard)
                ]
            heads = [
                {"shard": h.shard, "sequence": h.sequence, "hash": h.hash}
                for h in data.audit_heads.values()
            ]
        else:
            assert isinstance(self.store, SqlStore)
            with self.store.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(select(s.audit))]
                heads = [dict(r._mapping) for r in conn.execute(select(s.audit_heads))]
        rows.sort(key=lambda r: (r["shard"], r["sequence"]))
        return rows, heads

    def write(self, rows: Rows, heads: Rows) -> None:
        if isinstance(self.store, MemoryStore):
            data = self.store._data
            data.audit_records.clear()
            for row in sorted(rows, key=lambda r: (r["shard"], r["sequence"])):
                data.audit_records.setdefault(row["shard"], []).append(audit_record(row))
            from qiandao.audit import AuditHead

            data.audit_heads.clear()
            for h in heads:
                data.audit_heads[h["shard"]] = AuditHead(h["shard"], h["sequence"], h["hash"])
            return
        assert isinstance(self.store, SqlStore)
        with self.store.engine.begin() as conn:
            conn.execute(delete(s.audit))
            conn.execute(delete(s.audit_heads))
            if rows:
                conn.execute(insert(s.audit), rows)
            if heads:
                conn.execute(insert(s.audit_heads), heads)

    def tampered(
        self, change: Callable[[Rows, Rows], None], anchor: str | None = None
    ) -> AuditVerification:
        """Verify the log after ``change`` (applied to copies of the rows), then restore it."""
        rows, heads = self.read()
        copies = [dict(r) for r in rows]
        head_copies = [dict(h) for h in heads]
        change(copies, head_copies)
        self.write(copies, head_copies)
        try:
            return check_audit(self.store, audit_key=KEY, anchor=anchor)
        finally:
            self.write(rows, heads)


def _busy_log(store: Store) -> Raw:
    """A log of commands by several people over two days, with a checkpoint between."""
    w = make_world(store=store)
    qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, audit_key=KEY, hasher=None)
    w.qd = qd
    enrol(store, AUDITOR, at=w.clock.now())
    w.issued()
    w.clock.advance(hours=1)
    qd.audit_checkpoint()
    w.clock.advance(hours=1)
    item = qd.draft(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    qd.submit(w.member, item.id)
    qd.item_detail(w.editor, item.id)
    qd.audit_log(AUDITOR)
    w.clock.advance(days=1)
    w.issued()
    return Raw(store)


@pytest.fixture
def raw(any_store: Store) -> Raw:
    log = _busy_log(any_store)
    assert check_audit(any_store, audit_key=KEY).ok
    return log


def _positions(raw: Raw) -> Iterator[tuple[str, int]]:
    rows, _ = raw.read()
    for row in rows:
        yield row["shard"], row["sequence"]


def _at(rows: Rows, shard: str, sequence: int) -> dict[str, Any]:
    return next(r for r in rows if (r["shard"], r["sequence"]) == (shard, sequence))


def _head(heads: Rows, shard: str) -> dict[str, Any]:
    return next(h for h in heads if h["shard"] == shard)


def _found(result: AuditVerification, shard: str | None = None) -> None:
    assert result.fault is not None, "tampering went unnoticed"
    if shard is not None:
        assert result.fault.shard == shard, result.fault


def _rehash(row: dict[str, Any]) -> None:
    """What an attacker without the key can do: an unkeyed hash of the edited document."""
    algorithm = row["algorithm"].removeprefix("HMAC-")
    name = {"SM3": "sm3", "SHA-256": "sha256"}[algorithm]
    row["hash"] = hashlib.new(name, row["doc"].encode()).hexdigest()


def _edit_document(row: dict[str, Any], **changes: Any) -> None:
    body = json.loads(row["doc"])
    body.update(changes)
    row["doc"] = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_every_edited_document_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):

        def edit(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            row = _at(rows, shard, sequence)
            _edit_document(row, outcome="refused" if "succeeded" in row["doc"] else "succeeded")

        result = raw.tampered(edit)
        _found(result, shard)
        assert (result.fault.sequence, result.fault.reason) == (sequence, "hash")  # type: ignore[union-attr]


def test_every_edited_and_rehashed_document_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):

        def edit(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            row = _at(rows, shard, sequence)
            _edit_document(row, account_id="someone-else")
            row["account_id"] = "someone-else"
            _rehash(row)
            for later in rows:  # and the chain after it, as far as the attacker can
                if later["shard"] == shard and later["sequence"] == sequence + 1:
                    _edit_document(later, previous=row["hash"])
                    later["previous"] = row["hash"]
                    _rehash(later)

        _found(raw.tampered(edit), shard)


def test_every_edited_column_is_found(raw: Raw) -> None:
    columns = {
        "account_id": "someone-else",
        "action": "nothing",
        "target_id": "other-item",
        "jurisdiction": "elsewhere",
        "outcome": "succeeded",
    }
    for shard, sequence in list(_positions(raw)):
        for column, value in columns.items():

            def edit(
                rows: Rows,
                heads: Rows,
                shard: str = shard,
                sequence: int = sequence,
                column: str = column,
                value: str = value,
            ) -> None:
                row = _at(rows, shard, sequence)
                row[column] = value if row[column] != value else "refused"

            result = raw.tampered(edit)
            _found(result, shard)
            assert result.fault.reason == "columns", (column, result.fault)  # type: ignore[union-attr]


def test_an_edited_time_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):

        def edit(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            row = _at(rows, shard, sequence)
            row["at"] = row["at"] - timedelta(days=400)

        _found(raw.tampered(edit), shard)


def test_every_deleted_record_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):

        def remove(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            rows.remove(_at(rows, shard, sequence))

        _found(raw.tampered(remove), shard)


def test_every_inserted_record_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):

        def forge(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            """A copy of the record as the next one, with later records moved up by one."""
            original = _at(rows, shard, sequence)
            for row in rows:
                if row["shard"] == shard and row["sequence"] > sequence:
                    row["sequence"] += 1
            forged = dict(original, sequence=sequence + 1, previous=original["hash"])
            _edit_document(forged, sequence=sequence + 1, previous=original["hash"])
            _rehash(forged)
            rows.append(forged)
            _head(heads, shard)["sequence"] += 1

        _found(raw.tampered(forge), shard)


def test_a_forged_tail_with_its_head_moved_is_found(raw: Raw) -> None:
    _, heads = raw.read()
    for head in heads:
        if head["sequence"] == 0:
            continue
        shard = head["shard"]

        def forge(rows: Rows, heads: Rows, shard: str = shard) -> None:
            head = _head(heads, shard)
            last = _at(rows, shard, head["sequence"])
            forged = dict(last, sequence=head["sequence"] + 1, previous=last["hash"])
            _edit_document(forged, sequence=head["sequence"] + 1, previous=last["hash"])
            forged["hash"] = hmac.new(b"a guessed key 0123456789", forged["doc"].encode(), "sm3")
            forged["hash"] = forged["hash"].hexdigest()
            rows.append(forged)
            head.update(sequence=forged["sequence"], hash=forged["hash"])

        result = raw.tampered(forge)
        _found(result, shard)
        assert result.fault.reason == "hash"  # type: ignore[union-attr]


def test_every_swap_of_neighbours_is_found(raw: Raw) -> None:
    for shard, sequence in list(_positions(raw)):
        rows, _ = raw.read()
        if not any(r["shard"] == shard and r["sequence"] == sequence + 1 for r in rows):
            continue

        def swap(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            first, second = _at(rows, shard, sequence), _at(rows, shard, sequence + 1)
            first["sequence"], second["sequence"] = sequence + 1, sequence

        _found(raw.tampered(swap), shard)


def test_every_truncation_is_found(raw: Raw) -> None:
    _, heads = raw.read()
    for head in heads:
        shard = head["shard"]
        for keep in range(head["sequence"]):  # keep the first ``keep`` records

            def cut(rows: Rows, heads: Rows, shard: str = shard, keep: int = keep) -> None:
                rows[:] = [r for r in rows if r["shard"] != shard or r["sequence"] <= keep]

            _found(raw.tampered(cut), shard)


def test_a_truncation_with_its_head_rewound_before_a_checkpoint_is_found(raw: Raw) -> None:
    rows, _ = raw.read()
    checkpoint = next(r for r in rows if r["shard"] == CHECKPOINT_SHARD)
    bound = json.loads(checkpoint["doc"])["heads"]
    assert bound
    for shard, sequence, _ in bound:

        def cut(rows: Rows, heads: Rows, shard: str = shard, sequence: int = sequence) -> None:
            kept = [r for r in rows if r["shard"] != shard or r["sequence"] < sequence]
            rows[:] = kept
            left = [r for r in kept if r["shard"] == shard]
            last = max(left, key=lambda r: r["sequence"]) if left else None
            _head(heads, shard).update(
                sequence=last["sequence"] if last else 0, hash=last["hash"] if last else "0" * 64
            )

        _found(raw.tampered(cut))


def test_the_anchor_finds_a_truncation_of_the_checkpoints(raw: Raw) -> None:
    anchor = check_audit(raw.store, audit_key=KEY).anchor

    def cut(rows: Rows, heads: Rows) -> None:
        rows[:] = [r for r in rows if r["shard"] != CHECKPOINT_SHARD]
        _head(heads, CHECKPOINT_SHARD).update(sequence=0, hash="0" * 64)

    assert raw.tampered(cut).ok  # without the anchor, a clean cut of the checkpoints
    _found(raw.tampered(cut, anchor), CHECKPOINT_SHARD)
    assert check_audit(raw.store, audit_key=KEY, anchor=anchor).ok


def test_a_deleted_head_row_is_found(raw: Raw) -> None:
    _, heads = raw.read()
    for head in heads:
        if head["sequence"] == 0:
            continue

        def drop(rows: Rows, heads: Rows, shard: str = head["shard"]) -> None:
            heads.remove(_head(heads, shard))

        _found(raw.tampered(drop), head["shard"])


def test_without_the_key_a_keyed_log_does_not_verify(raw: Raw) -> None:
    """Checked without the service's key (unkeyed on memory; under the store's own key on
    SQL) nothing verifies."""
    result = check_audit(raw.store)
    assert result.fault is not None and result.fault.reason in ("algorithm", "hash")
