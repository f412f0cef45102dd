"""What a SQL store remembers between units (``memo``) is only ever compared, never trusted:
two stores on one database, and heads remembered wrong on purpose, still make one audit chain
and one gapless event log."""

from __future__ import annotations

from sqlalchemy import select

from qiandao import Qiandao, RuleSet, check_audit
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from tests.helpers import DH, ZS, World, make_world
from tests.sql.conftest import Backend


def _twin(w: World, store: SqlStore) -> Qiandao:
    """The world's service, over another store (another process's memory) on the same database."""
    rules = {ZS: RuleSet.zhoushan(), DH: RuleSet(jurisdiction=DH, name="定海区政协")}
    return Qiandao(store, clock=w.clock, rules=rules, hasher=None)


def _positions(store: SqlStore) -> list[int]:
    with store.unit_of_work() as uow:
        found = uow.execute(select(s.events.c.position).order_by(s.events.c.position))
        return list(found.scalars())


def _submit_and_pass(w: World, qd: Qiandao, n: int) -> None:
    item = qd.submit_new(w.member, {"title": f"第{n}条", "body": "正文", "category": "hot_issue"})
    qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"])


def test_two_stores_take_turns_on_one_chain_and_one_log(backend: Backend) -> None:
    first = backend.store()
    w = make_world(store=first)
    second = SqlStore(backend.engine)
    services = (w.qd, _twin(w, second))
    for n in range(6):  # each store's remembered heads are stale every other command
        _submit_and_pass(w, services[n % 2], n)
    positions = _positions(first)
    assert positions == list(range(1, len(positions) + 1)) and len(positions) >= 12
    report = check_audit(first)
    assert report.ok, report


def test_heads_remembered_wrong_fall_back_to_the_stored_ones(backend: Backend) -> None:
    store = backend.store()
    w = make_world(store=store)
    _submit_and_pass(w, w.qd, 0)
    heads = store._heads
    shards = [shard for (table, shard) in heads._known if table == s.audit_heads.name]
    assert shards  # the commands above remembered the heads they moved
    for shard in shards:  # ahead, with a forged hash: as if a rolled-back unit had moved it
        sequence, _ = heads.get(s.audit_heads.name, shard) or (0, "")
        heads.put(s.audit_heads.name, shard, (sequence + 1, "0" * 64))
    (position,) = heads.get(s.event_log_head.name, s.EVENT_LOG) or (0,)
    heads.put(s.event_log_head.name, s.EVENT_LOG, (position + 5,))
    _submit_and_pass(w, w.qd, 1)
    heads.put(s.event_log_head.name, s.EVENT_LOG, (1,))  # behind
    _submit_and_pass(w, w.qd, 2)
    positions = _positions(store)
    assert positions == list(range(1, len(positions) + 1))
    report = check_audit(store)
    assert report.ok, report
