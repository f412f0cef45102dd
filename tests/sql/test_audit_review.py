"""The adversarial review of the audit log (issue 10): each finding, as a test, now fixed.

Runs on the memory store and every SQL store (``any_store``), like the audit's own tests. (The
review's truncation after the last checkpoint is the documented limit the anchor answers:
``test_audit_tamper.test_the_anchor_finds_a_truncation_of_the_checkpoints``.)
"""

from __future__ import annotations

import contextlib
import hmac
import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from qiandao import AuditQuery, Qiandao, QiandaoError, check_audit
from qiandao.audit import GENESIS
from qiandao.ports.notify import Notice
from qiandao.ports.store import Store
from qiandao.testing import enrol
from tests.helpers import at, make_world
from tests.sql.test_audit import AUDITOR, KEY, _world, new_records, ordinary
from tests.sql.test_audit_tamper import Raw, Rows, _edit_document, _found, _rehash, raw

__all__ = ["raw"]  # the tamper tests' fixture, used here too


def test_a_forged_record_in_a_shard_without_a_head_is_found(raw: Raw) -> None:
    """Insertion: a record in a shard the library never wrote ("16") is never read by
    ``check_audit`` (it checks the 17 known shards and those with a head row), yet
    ``audit_log`` lists it to the auditor."""

    def forge(rows: Rows, heads: Rows) -> None:
        forged = dict(rows[0], shard="16", sequence=1, previous=GENESIS)
        _edit_document(forged, shard="16", sequence=1, previous=GENESIS, action="depart")
        forged["action"] = "depart"
        forged["hash"] = hmac.new(b"a guessed key 0123456789", forged["doc"].encode(), "sm3")
        forged["hash"] = forged["hash"].hexdigest()
        rows.append(forged)

    _found(raw.tampered(forge), "16")


def test_the_due_jobs_record_each_item_they_change(any_store: Store) -> None:
    """No record: ``run_due_jobs`` changes each due item in a transaction of its own, but only
    the first transaction is recorded, and with no item id (its result has no ``id``)."""
    w = make_world(store=any_store)
    first, _ = w.assigned("u-a")
    second, _ = w.assigned("u-b")
    before = ordinary(any_store)
    w.clock.set(at(2026, 3, 24))  # both overdue: a reminder each
    report = w.qd.run_due_jobs()
    assert report.reminders_sent == 2
    targets = {t for r in new_records(any_store, before) for t in r.entry.targets}
    assert {first.id, second.id} <= targets


def test_a_listing_of_unpublished_items_is_recorded(any_store: Store) -> None:
    """No record: the inbox returns the same ``ItemView`` (title, body, texts, reviews) of an
    unpublished item that ``item_detail`` returns, but only ``item_detail`` is audited."""
    w = make_world(store=any_store)
    item = w.qd.submit_new(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    before = ordinary(any_store)
    views = w.qd.inbox(w.editor)
    assert [(v.id, v.body, v.published) for v in views] == [(item.id, "正文", False)]
    assert [r.entry.action for r in new_records(any_store, before)] == ["inbox"]


def test_a_purge_does_not_launder_a_tampered_record(any_store: Store) -> None:
    """Purge: a record deleted behind the library's back inside the purged range is found by
    ``check_audit``, but a purge then takes the range away and the audit verifies again; the
    purge should check what it deletes (and refuse, or record the fault) first."""
    w = _world(any_store, audit_key=KEY)
    w.issued()
    w.issued()
    w.clock.advance(days=200)
    log = Raw(any_store)
    rows, heads = log.read()
    shard = next(r["shard"] for r in rows if r["sequence"] == 2 and r["shard"] != "cp")
    log.write([r for r in rows if (r["shard"], r["sequence"]) != (shard, 1)], heads)
    assert not check_audit(any_store, audit_key=KEY).ok
    with pytest.raises(QiandaoError) as refused:
        w.qd.purge_audit(AUDITOR, w.clock.now() - timedelta(days=190))
    assert refused.value.code == "audit.tampered"
    assert not check_audit(any_store, audit_key=KEY).ok  # nothing was deleted


def test_a_keyed_log_rewritten_end_to_end_does_not_verify(any_store: Store) -> None:
    """Edit: someone who can write the tables recomputes every hash after an edit (the record,
    its shard's later records and head, and every checkpoint after) with the unkeyed hash; a
    keyed chain (HMAC under the audit key) still does not verify. (Unkeyed, such a rewrite
    verifies: the reason production keys the chain, docs/security.md.)"""
    w = _world(any_store, audit_key=KEY)
    w.issued()
    w.qd.audit_checkpoint()
    log = Raw(any_store)
    rows, heads = log.read()
    victim = next(r for r in rows if r["shard"] != "cp")
    _edit_document(victim, action="draft")
    victim["action"] = "draft"
    _rechain(rows, heads)
    log.write(rows, heads)
    assert not check_audit(any_store, audit_key=KEY).ok


def _rechain(rows: Rows, heads: Rows) -> None:
    """Recompute every previous hash, hash, head and checkpoint binding, shard by shard."""
    last: dict[str, str] = {}
    ordered = sorted(rows, key=lambda r: (r["shard"] == "cp", r["shard"], r["sequence"]))
    for row in ordered:
        previous = last.get(row["shard"], GENESIS)
        changes: dict[str, Any] = {"previous": previous}
        if row["shard"] == "cp":
            body = json.loads(row["doc"])
            changes["heads"] = [[s, n, _hash_at(rows, s, n)] for s, n, _ in body.get("heads", [])]
        row["previous"] = previous
        _edit_document(row, **changes)
        _rehash(row)
        last[row["shard"]] = row["hash"]
    for head in heads:
        head["hash"] = last.get(head["shard"], head["hash"])


def _hash_at(rows: Rows, shard: str, sequence: int) -> str:
    return str(next(r["hash"] for r in rows if (r["shard"], r["sequence"]) == (shard, sequence)))


def test_a_query_by_target_finds_every_target(any_store: Store) -> None:
    """Query: only the first target is a column, so the merge into an item is not found by
    that item's id (likewise ``assign``'s units, ``reassign``'s new unit)."""
    w = make_world(store=any_store)
    enrol(any_store, AUDITOR, at=w.clock.now())
    data = {"title": "标题", "body": "正文", "category": "hot_issue"}
    target = w.qd.submit_new(w.member, data)
    source = w.qd.submit_new(w.stranger, data)
    w.qd.merge(w.editor, source.id, target.id)
    page = w.qd.audit_log(AUDITOR, AuditQuery(target_id=target.id))
    assert "merge" in [r.entry.action for r in page.records]


class _Relay:
    """A notifier that hands each notice on by running a command (a host's integration)."""

    def __init__(self) -> None:
        self.qd: Qiandao | None = None
        self.actor: Any = None
        self.done = False

    def send(self, notice: Notice) -> None:
        if self.qd is not None and not self.done:
            self.done = True
            self.qd.draft(self.actor, {"title": "转办", "body": "正文", "category": "hot_issue"})


def test_a_command_run_by_the_notifier_is_recorded(any_store: Store) -> None:
    """No record: a command run while notices are dispatched after a command is taken for
    part of the outer call (``_CALL`` is still set) and leaves no record of its own."""
    w = make_world(store=any_store)
    relay = _Relay()
    qd = Qiandao(
        any_store,
        clock=w.clock,
        rules=w.qd._rules,
        notifier=relay,
        hasher=None,
        dispatch_after_commit=True,
    )
    relay.qd, relay.actor = qd, w.member
    before = ordinary(any_store)
    qd.submit_new(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    assert relay.done
    actions = [r.entry.action for r in new_records(any_store, before)]
    assert sorted(actions) == ["draft", "submit_new"]


def test_concurrent_commands_in_one_shard_keep_one_chain(any_store: Store) -> None:
    """Sound (a control, passes on main): 6 threads × 8 commands by one person (one shard) and
    6 × 8 refusals (actor-less sign-ins, shard 00) leave one record each and a chain that
    verifies."""
    w = make_world(store=any_store)
    w.qd.draft(w.member, {"title": "t", "body": "b", "category": "hot_issue"})
    with contextlib.suppress(QiandaoError):  # both shards' head rows exist, as once migrated
        w.qd.sign_in("13900000009", "whatever-password")
    before = len(ordinary(any_store))
    errors: list[BaseException] = []

    def commands(n: int) -> None:
        try:
            for i in range(8):
                w.qd.draft(w.member, {"title": f"t{n}-{i}", "body": "b", "category": "hot_issue"})
                with contextlib.suppress(QiandaoError):
                    w.qd.sign_in("13900000009", "whatever-password")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=commands, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ordinary(any_store)) - before == 96
    assert check_audit(any_store).ok


def test_an_idempotent_replay_is_told_apart(any_store: Store) -> None:
    """Retries: a replayed idempotency key is recorded as a second ``submit`` that succeeded,
    with the same fields as the first but no events; the record should say it was a replay."""
    w = make_world(store=any_store)
    item = w.qd.draft(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    before = ordinary(any_store)
    w.qd.submit(w.member, item.id, idempotency_key="k-1")
    w.qd.submit(w.member, item.id, idempotency_key="k-1")
    first, second = new_records(any_store, before)
    assert first.entry.events != () and second.entry.events != first.entry.events
    assert second.entry.code is not None or "replayed" in second.entry.events
