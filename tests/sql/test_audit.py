"""The security audit (issue 10): what is recorded, when, for whom; purge; no audit, no access.

Runs on the memory store and every SQL store (``any_store``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from qiandao import (
    Actor,
    AuditOutcome,
    AuditQuery,
    AuditRecord,
    Qiandao,
    QiandaoError,
    Role,
    check_audit,
    request_context,
)
from qiandao.audit import CHECKPOINT_SHARD
from qiandao.errors import StoreUnavailable
from qiandao.ports.store import Store
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.memory import MemoryStore
from tests.helpers import ZS, World, make_world
from tests.sql.test_actors import CALLS, NOW, _ghosts, _grant, _service

AUDITOR = Actor("auditor-1", Role.AUDIT_ADMIN, ZS)
COUNTY_AUDITOR = Actor("auditor-dh", Role.AUDIT_ADMIN, "zhoushan.dinghai")
KEY = b"test-audit-key-0123456789abcdef"

# queries that list what the actor may see, and the watermark (the actor's own account): a
# success leaves no record (a refusal does)
LISTINGS = frozenset(
    {
        "account_history",
        "commission_progress",
        "events_since",
        "explain_deadline",
        "grant_proposals",
        "inbox",
        "jurisdictions",
        "lane",
        "lane_counts",
        "my_items",
        "overdue",
        "overdue_reviews",
        "password_policy_changes",
        "published",
        "unit_history",
        "units",
        "watermark",
    }
)


def every_record(store: Store) -> list[AuditRecord]:
    """Every audit record, oldest first (read straight from the store)."""
    with store.unit_of_work() as uow:
        shards = sorted(uow.audit.heads())
        found = [r for shard in shards for r in uow.audit.records(shard)]
    return sorted(found, key=lambda r: r.position)


def ordinary(store: Store) -> list[AuditRecord]:
    """The records of actions (checkpoints left out)."""
    return [r for r in every_record(store) if r.shard != CHECKPOINT_SHARD]


def new_records(store: Store, before: list[AuditRecord]) -> list[AuditRecord]:
    """The action records added since ``before``."""
    known = {(r.shard, r.sequence) for r in before}
    return [r for r in ordinary(store) if (r.shard, r.sequence) not in known]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_leaves_one_record_with_its_outcome(any_store: Store, name: str) -> None:
    qd = _service(any_store)
    role, call = CALLS[name]
    actor = Actor(f"real-{role.value}", role, ZS, _grant(role).unit_id)
    enrol(any_store, actor, at=NOW)
    before = ordinary(any_store)
    error: QiandaoError | None = None
    try:
        call(qd, actor)
    except QiandaoError as caught:
        error = caught
    added = new_records(any_store, before)
    if error is None and name in LISTINGS:
        assert added == []
        return
    assert [r.entry.action for r in added] == [name]
    record = added[0]
    assert record.entry.account_id == actor.account_id
    assert record.entry.role == role.value
    if error is None:
        assert record.entry.outcome is AuditOutcome.SUCCEEDED
    else:
        assert (record.entry.outcome, record.entry.code) == (AuditOutcome.REFUSED, error.code)


@pytest.mark.parametrize("name", ["submit", "item_detail", "lane", "audit_log", "depart"])
def test_a_refused_actor_is_recorded_with_the_refusal(any_store: Store, name: str) -> None:
    qd = _service(any_store)
    role, call = CALLS[name]
    for ghost in _ghosts(any_store, role).values():
        before = ordinary(any_store)
        with pytest.raises(QiandaoError):
            call(qd, ghost)
        [record] = new_records(any_store, before)
        assert record.entry.code == "account.actor_refused"
        assert record.entry.account_id == ghost.account_id


def _world(store: Store, **options: Any) -> World:
    world = make_world(store=store)
    options.setdefault("hasher", None)
    world.qd = Qiandao(store, clock=world.clock, rules=world.qd._rules, **options)
    enrol(store, AUDITOR, COUNTY_AUDITOR, at=world.clock.now())
    return world


def test_a_lifecycle_is_recorded_without_content(any_store: Store) -> None:
    w = _world(any_store, audit_key=KEY)
    fields = {"title": "保密标题ZQX", "body": "正文内容MARKER", "category": "hot_issue"}
    with request_context(source_address="10.1.2.3", client="portal/2.1", request_id="r-42"):
        item = w.qd.submit_new(w.member, fields)
    steps: list[Callable[[], object]] = [
        lambda: w.qd.item_detail(w.editor, item.id),  # a non-public read
        lambda: w.qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"]),
        lambda: w.qd.approve(w.deputy, item.id),
        lambda: w.qd.sign(w.head, item.id),
        lambda: w.qd.item_detail(w.editor, item.id),  # issued: public, not recorded
    ]
    for step in steps:
        w.clock.advance(minutes=1)
        step()
    records = ordinary(any_store)
    actions = [r.entry.action for r in records]
    assert actions == ["submit_new", "item_detail", "pass_preliminary", "approve", "sign"]
    submit = records[0]
    assert submit.entry.targets == (item.id,)
    assert "submitted" in submit.entry.events
    assert (submit.entry.context.source_address, submit.entry.context.request_id) == (
        "10.1.2.3",
        "r-42",
    )
    assert records[1].entry.context.source_address is None  # outside the request
    for record in records:
        assert "ZQX" not in record.document and "MARKER" not in record.document
    assert all(r.algorithm.startswith("HMAC-") for r in records)
    assert check_audit(any_store, audit_key=KEY).ok


def test_a_secret_read_is_flagged(any_store: Store) -> None:
    w = _world(any_store)
    item = w.qd.submit_new(
        w.member, {"title": "涉密", "body": "正文", "category": "hot_issue", "secret": True}
    )
    w.qd.item_detail(w.editor, item.id)
    [read] = [r for r in ordinary(any_store) if r.entry.action == "item_detail"]
    assert read.entry.secret is True


def test_sign_ins_their_failures_and_the_lock_are_recorded(any_store: Store) -> None:
    clock = ManualClock(NOW)
    delivery = RecordingDelivery()
    qd = Qiandao(any_store, clock=clock, hasher=Argon2Hasher.fast(), credential_delivery=delivery)
    admin, password = qd.bootstrap_admin(real_name="管理员", phone="13800000001")
    with pytest.raises(QiandaoError):
        qd.sign_in("13800000001", "wrong-password-1")
    clock.advance(seconds=1)
    qd.sign_in("13800000001", password)
    clock.advance(seconds=1)
    with pytest.raises(QiandaoError):
        qd.sign_in("13900000009", "whatever-password")  # no such number
    records = [r for r in ordinary(any_store) if r.entry.action == "sign_in"]
    outcomes = [(r.entry.outcome, r.entry.account_id) for r in records]
    assert outcomes == [
        (AuditOutcome.REFUSED, admin.id),
        (AuditOutcome.SUCCEEDED, admin.id),
        (AuditOutcome.REFUSED, None),
    ]
    for record in ordinary(any_store):
        assert "13800000001" not in record.document and password not in record.document
    for _ in range(10):  # guesses until the lock
        with pytest.raises(QiandaoError):
            qd.sign_in("13800000001", "wrong-password-1")
    locks = [r for r in ordinary(any_store) if "locked_out" in r.entry.events]
    assert len(locks) == 1 and locks[0].entry.action == "sign_in"


def test_only_the_audit_admin_reads_the_audit_and_the_query_is_recorded(any_store: Store) -> None:
    w = _world(any_store)
    w.issued()
    county = w.qd.submit_new(
        w.county["member"], {"title": "区里的事", "body": "正文", "category": "hot_issue"}
    )
    with pytest.raises(QiandaoError) as denied:
        w.qd.audit_log(w.editor)
    assert denied.value.code == "permission.denied"
    page = w.qd.audit_log(AUDITOR, AuditQuery(limit=2))
    assert len(page.records) == 2 and page.next_cursor is not None
    rest = w.qd.audit_log(AUDITOR, AuditQuery(after=page.next_cursor, limit=500))
    seen = [*page.records, *rest.records]
    assert rest.next_cursor is None and len(seen) == rest.total  # the filter, counted
    assert page.total >= 2 and rest.total >= page.total  # the first query is recorded too
    assert {"submit_new", "sign"} <= {r.entry.action for r in seen}
    queries = w.qd.audit_log(AUDITOR, AuditQuery(action="audit_log", limit=500)).records
    by_whom = sorted((r.entry.account_id, r.entry.outcome, r.entry.code) for r in queries)
    assert by_whom == [
        (AUDITOR.account_id, AuditOutcome.SUCCEEDED, None),
        (AUDITOR.account_id, AuditOutcome.SUCCEEDED, None),
        (w.editor.account_id, AuditOutcome.REFUSED, "permission.denied"),
    ]
    local = w.qd.audit_log(COUNTY_AUDITOR, AuditQuery(limit=500))
    assert {r.entry.jurisdiction for r in local.records} == {"zhoushan.dinghai"}
    assert county.id in {t for r in local.records for t in r.entry.targets}
    assert local.total == len(local.records) < rest.total  # the county's records, counted
    small = w.qd.audit_log(COUNTY_AUDITOR, AuditQuery(limit=1))
    assert small.total == len(local.records) + 1 and small.next_cursor is not None
    mine = w.qd.audit_log(AUDITOR, AuditQuery(account_id=w.member.account_id, limit=500))
    assert {r.entry.account_id for r in mine.records} == {w.member.account_id}


def test_purge_keeps_retention_leaves_a_checkpoint_and_the_rest_verifies(
    any_store: Store,
) -> None:
    w = _world(any_store, audit_key=KEY)
    w.issued()
    w.clock.advance(days=200)
    w.qd.draft(w.member, {"title": "新的", "body": "正文", "category": "hot_issue"})
    too_recent = w.clock.now() - timedelta(days=179)
    with pytest.raises(QiandaoError) as refused:
        w.qd.purge_audit(AUDITOR, too_recent)
    assert refused.value.code == "audit.retention"
    with pytest.raises(QiandaoError) as county:
        w.qd.purge_audit(COUNTY_AUDITOR, w.clock.now() - timedelta(days=190))
    assert county.value.code == "permission.denied"
    result = w.qd.purge_audit(AUDITOR, w.clock.now() - timedelta(days=190))
    assert result.deleted == 4  # the four commands of 200 days ago
    actions = [r.entry.action for r in ordinary(any_store)]
    assert "submit_new" not in actions and "draft" in actions
    assert actions[-1] == "purge_audit"
    assert check_audit(any_store, audit_key=KEY).ok
    w.issued()
    assert check_audit(any_store, audit_key=KEY).ok
    with pytest.raises(QiandaoError) as short:
        Qiandao(any_store, clock=w.clock, audit_retention_days=90, hasher=None)
    assert short.value.code == "audit.retention"


class _FailingAudit:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def append(self, *args: Any) -> None:
        raise StoreUnavailable("审计库不可用")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _NoAuditUnitOfWork:
    """A unit of work whose audit cannot be written; everything else as the store's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.audit = _FailingAudit(inner.audit)

    def __enter__(self) -> _NoAuditUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _NoAuditStore:
    """A store whose audit cannot be written once ``failing`` is set."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.failing = False

    def unit_of_work(self) -> Any:
        uow = self.inner.unit_of_work()
        return _NoAuditUnitOfWork(uow) if self.failing else uow


def test_no_audit_no_access(any_store: Store) -> None:
    store = _NoAuditStore(any_store)
    w = _world(any_store)
    qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, hasher=None)
    item = qd.draft(w.member, {"title": "标题", "body": "正文", "category": "hot_issue"})
    store.failing = True
    with pytest.raises(QiandaoError) as failed:
        qd.submit(w.member, item.id)
    assert failed.value.code == "store.unavailable"
    assert w.load(item.id).state.value == "draft"  # nothing changed
    with pytest.raises(QiandaoError) as read:
        qd.item_detail(w.member, item.id)
    assert read.value.code == "audit.unavailable"


def test_every_public_method_but_the_unrecorded_runs_audited() -> None:
    """A new public method is audited without anyone remembering to: the service class wraps
    every public method but the few that leave no record on purpose."""
    import inspect

    from qiandao._audit import UNRECORDED

    public = {
        name
        for name, member in inspect.getmembers(Qiandao, inspect.isfunction)
        if not name.startswith("_")
    }
    wrapped = {name for name in public if hasattr(getattr(Qiandao, name), "__wrapped__")}
    assert public >= UNRECORDED
    assert wrapped == public - UNRECORDED


def test_a_sql_store_keys_the_chain_by_default(any_store: Store) -> None:
    """Without an ``audit_key`` from the host, the SQL store's own audit key (a data key in
    its key table) keys the chain: HMAC, so a rewrite by someone who can write the tables
    does not verify; the memory store (nothing at rest) hashes unkeyed."""
    w = make_world(store=any_store)
    w.issued()
    records = ordinary(any_store)
    keyed = not isinstance(any_store, MemoryStore)
    assert records and all(r.algorithm.startswith("HMAC-") == keyed for r in records)
    assert check_audit(any_store).ok
