"""The audit administrator's commands: query the audit, verify it, purge past retention; and
the checkpoint the periodic job writes (第十九条; GB/T 22239 三级 安全审计)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator
from datetime import datetime, timedelta

import attrs

from qiandao._audit import Call, current_call, entry_for
from qiandao._core import Tx, _Core, audit_key_of
from qiandao.actor import Actor
from qiandao.audit import (
    AUDIT_SHARDS,
    CHECKPOINT_SHARD,
    AuditChain,
    AuditEntry,
    AuditFault,
    AuditHead,
    AuditOutcome,
    AuditPage,
    AuditQuery,
    AuditRecord,
    AuditVerification,
    cursor_of,
    parse_cursor,
    shard_of,
    verify_records,
)
from qiandao.errors import (
    AuditRetention,
    AuditTampered,
    InvalidInput,
    LimitExceeded,
    PermissionDenied,
)
from qiandao.ports.store import Store
from qiandao.rules.roles import Role
from qiandao.rules.text import check_id

__all__ = ["AuditCommands", "AuditPurge", "check_audit", "record_operation"]

MAX_PAGE = 500
_BATCH = 10_000  # records read per statement while verifying


@attrs.frozen
class AuditPurge:
    """What a purge did: records deleted, the cut-off, and each shard's new base (the last
    deleted record's shard, sequence and hash, kept in the purge's checkpoint)."""

    deleted: int
    before: datetime
    bases: tuple[tuple[str, int, str], ...]


def _auditor(actor: Actor) -> None:
    """Only the audit administrator reads, verifies or purges the audit (三员分立)."""
    if not isinstance(actor, Actor) or actor.role is not Role.AUDIT_ADMIN:
        raise PermissionDenied("只有审计管理员可以查看或管理审计记录", article="第十九条")


def _check_query(query: AuditQuery) -> None:
    if not isinstance(query, AuditQuery):
        raise InvalidInput("须为 AuditQuery", field="query")
    for name in ("account_id", "target_id"):
        value = getattr(query, name)
        if value is not None:
            check_id(value, name)
    if query.action is not None:
        check_id(query.action, "action")
    for name in ("since", "until"):
        value = getattr(query, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise InvalidInput(f"{name} 须为带时区的时间", field=name)
    if query.after is not None:
        if not isinstance(query.after, str):
            raise InvalidInput("审计分页游标无效", field="after")
        parse_cursor(query.after)
    if not isinstance(query.limit, int) or isinstance(query.limit, bool) or query.limit < 1:
        raise InvalidInput("每页条数须为正整数", field="limit")
    if query.limit > MAX_PAGE:
        raise LimitExceeded(f"每页至多{MAX_PAGE}条", field="limit", limit=MAX_PAGE)


def _up_to_head(store: Store, heads: dict[str, AuditHead], shard: str) -> Iterator[AuditRecord]:
    """A shard's records up to the head read before verification began."""
    head = heads.get(shard)
    return _records(store, shard, head.sequence if head else 0)


def _records(store: Store, shard: str, through: int) -> Iterator[AuditRecord]:
    """A shard's records up to ``through``, read in batches (one short read each)."""
    after = 0
    while after < through:
        with store.unit_of_work() as uow:
            batch = uow.audit.records(shard, after=after, limit=_BATCH)
        for record in batch:
            if record.sequence > through:
                return
            yield record
        if len(batch) < _BATCH:
            return
        after = batch[-1].sequence


def check_audit(
    store: Store, *, audit_key: bytes | None = None, anchor: str | None = None
) -> AuditVerification:
    """Check the whole audit of ``store`` (every shard's chain, the checkpoints, the heads)
    and name the first bad record. ``audit_key`` is the key the service was given (keyed
    chains cannot be checked without it; by default the store's own, as the service uses it
    by default); ``anchor``, a checkpoint's ``"sequence:hash"`` kept
    outside the database, also finds a truncation before it.

    The heads are read first and each chain is checked up to its head; records appended
    meanwhile are not checked, but a record beyond the head read afterwards (or in a shard
    without a head) is a fault: it was put there behind the library's back.
    """
    audit_key = audit_key_of(store, audit_key)
    with store.unit_of_work() as uow:
        heads = uow.audit.heads()
    records = functools.partial(_up_to_head, store, heads)
    result = verify_records(AuditChain(audit_key), heads, records, anchor=anchor)
    if result.fault is None:
        stray = _beyond_heads(store)
        if stray is not None:
            result = attrs.evolve(result, fault=stray)
    return result


def record_operation(
    store: Store,
    action: str,
    *,
    at: datetime,
    targets: tuple[str, ...] = (),
    events: tuple[str, ...] = (),
    code: str | None = None,
    audit_key: bytes | None = None,
) -> None:
    """Record an operator's action outside the service (``keys rotate`` on the command line):
    no person (the request context may name the operator), refused when ``code`` is given.
    Chained like every record, under ``audit_key`` or the store's own key."""
    audit_key = audit_key_of(store, audit_key)
    outcome = AuditOutcome.SUCCEEDED if code is None else AuditOutcome.REFUSED
    entry = entry_for(Call(action, None, list(targets)), at, outcome, code=code, events=events)
    with store.unit_of_work() as uow:
        uow.audit.append(shard_of(None), entry, AuditChain(audit_key))
        uow.commit()


def _beyond_heads(store: Store) -> AuditFault | None:
    """A record past its shard's current head, or in a shard with no head row."""
    known = [f"{n:02d}" for n in range(AUDIT_SHARDS)] + [CHECKPOINT_SHARD]
    with store.unit_of_work() as uow:
        heads = uow.audit.heads()
        for shard in sorted({*known, *heads, *uow.audit.shards()}):
            head = heads.get(shard)
            beyond = uow.audit.records(shard, after=head.sequence if head else 0, limit=1)
            if beyond:
                return AuditFault(shard, beyond[0].sequence, "head")
    return None


class AuditCommands(_Core):
    """Commands on the audit itself."""

    def audit_log(self, actor: Actor, query: AuditQuery | None = None) -> AuditPage:
        """A page of the audit, oldest first (审计管理员 only, ``permission.denied`` otherwise).

        A county's audit administrator sees the records of its jurisdiction; the platform's sees
        every record. The query itself is recorded.
        """
        _auditor(actor)
        query = AuditQuery() if query is None else query
        _check_query(query)
        scope = None if actor.jurisdiction == self._platform() else frozenset({actor.jurisdiction})
        query = attrs.evolve(query, jurisdictions=scope)
        call = current_call()
        if call is not None:
            call.targets.extend(t for t in (query.account_id, query.target_id) if t is not None)
        return self._transact(actor, functools.partial(_audit_page, query))

    def verify_audit(self, actor: Actor, *, anchor: str | None = None) -> AuditVerification:
        """Verify the whole audit (the platform's 审计管理员 only: it spans every
        jurisdiction); the verification is recorded."""
        _auditor(actor)
        if actor.jurisdiction != self._platform():
            raise PermissionDenied("只有平台审计管理员可以校验全部审计记录", article="第十九条")
        self._read(actor, _nothing)
        result = check_audit(self.store, audit_key=self.audit_chain.key, anchor=anchor)
        self._audit_read()
        return result

    def purge_audit(self, actor: Actor, before: datetime) -> AuditPurge:
        """Delete audit records older than ``before`` (the platform's 审计管理员 only).

        ``before`` may not be later than the retention (at least 180 days) before now
        (``audit.retention``). Each shard loses only a prefix of its chain; a checkpoint record
        keeps the hash of each shard's last deleted record, so the rest still verifies. The
        purge is recorded. Running it again deletes nothing more (it leaves another checkpoint).
        The whole audit is verified first: if it does not verify, nothing is deleted
        (``audit.tampered``), so a purge cannot erase the evidence.
        """
        _auditor(actor)
        if actor.jurisdiction != self._platform():
            raise PermissionDenied("只有平台审计管理员可以清理审计记录", article="第十九条")
        if not isinstance(before, datetime) or before.utcoffset() is None:
            raise InvalidInput("before 须为带时区的时间", field="before")
        cutoff = self.now() - timedelta(days=self.audit_retention_days)
        if before > cutoff:
            raise AuditRetention(days=self.audit_retention_days)
        self._read(actor, _nothing)  # the actor first: a stranger learns nothing of the audit
        fault = check_audit(self.store, audit_key=self.audit_chain.key).fault
        if fault is not None:  # never purge away the evidence of tampering
            raise AuditTampered(shard=fault.shard, sequence=fault.sequence, reason=fault.reason)
        return self._transact(actor, functools.partial(self._purge, before=before))

    def _purge(self, tx: Tx, *, before: datetime) -> AuditPurge:
        heads = tx.uow.audit.heads()
        bases = []
        deleted = 0
        for shard in sorted(heads):
            if shard == CHECKPOINT_SHARD:
                continue
            last = tx.uow.audit.last_before(shard, before)
            if last is None:
                continue
            deleted += tx.uow.audit.purge(shard, last.sequence)
            bases.append((shard, last.sequence, last.hash))
        checkpoint = self._checkpoint_entry(tx, heads, bases=tuple(bases))
        tx.uow.audit.append(CHECKPOINT_SHARD, checkpoint, self.audit_chain)
        return AuditPurge(deleted, before, tuple(bases))

    def _checkpoint_entry(
        self,
        tx: Tx,
        heads: dict[str, AuditHead],
        *,
        bases: tuple[tuple[str, int, str], ...] = (),
    ) -> AuditEntry:
        bound = tuple(
            (h.shard, h.sequence, h.hash)
            for h in sorted(heads.values(), key=operator.attrgetter("shard"))
            if h.shard != CHECKPOINT_SHARD and h.sequence > 0
        )
        return AuditEntry(
            at=tx.now,
            action="audit_checkpoint",
            outcome=AuditOutcome.SUCCEEDED,
            heads=bound,
            bases=bases,
        )

    def _write_checkpoint(self, tx: Tx) -> None:
        entry = self._checkpoint_entry(tx, tx.uow.audit.heads())
        tx.uow.audit.append(CHECKPOINT_SHARD, entry, self.audit_chain)

    def audit_checkpoint(self) -> AuditHead:
        """Write a checkpoint binding every shard's head (the periodic job does, daily); its
        ``"sequence:hash"`` is the anchor to keep outside the database."""
        self._transact(None, self._write_checkpoint, audit=False)
        with self.store.unit_of_work() as uow:
            return uow.audit.heads().get(CHECKPOINT_SHARD, AuditHead(CHECKPOINT_SHARD))


def _nothing(tx: Tx) -> None:
    """No work: the actor check of a read that happens elsewhere."""


def _audit_page(query: AuditQuery, tx: Tx) -> AuditPage:
    """One page of the audit and the cursor of the next."""
    found = tx.uow.audit.query(query)
    page = tuple(found[: query.limit])
    more = len(found) > query.limit
    total = tx.uow.audit.count(query)
    return AuditPage(page, total, cursor_of(page[-1]) if more and page else None)
