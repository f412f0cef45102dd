"""What a SQL store remembers between units (``memo``) is only ever compared, never trusted:
two stores on one database, and heads remembered wrong on purpose, still make one audit chain
and one gapless event log; an aggregate opened while its key is destroyed is not kept. And a
save writes what the row lacks: a derived column that drifted, a child row that went missing."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from sqlalchemy import String, delete, select, update

from qiandao import Qiandao, RuleSet, check_audit
from qiandao.errors import KeyUnknown
from qiandao.model import Account, Item
from qiandao.testing.builders import sample_item
from qiandao_adapters.sql import SqlStore, repositories
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.memo import Decoded
from qiandao_adapters.sql.sealing import Sealer
from tests.helpers import DH, ZS, World, fails, make_world
from tests.sql.conftest import Backend
from tests.sql.test_encryption import MARK_PHONE, populate
from tests.sql.test_grants import Office


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


def test_an_aggregate_opened_while_the_cache_is_emptied_is_not_kept() -> None:
    decoded = Decoded()

    def opening() -> str:
        decoded.clear()  # meanwhile the store destroys a data key (KeyVault.forget)
        return "opened under the key just destroyed"

    decoded.load("qd_accounts", (Account, "a1"), "v1:sealed", opening)

    def fresh() -> str:
        raise KeyUnknown(key_id="p.gone")

    with pytest.raises(KeyUnknown):  # as without the cache: the key is gone
        decoded.load("qd_accounts", (Account, "a1"), "v1:sealed", fresh)


def _marked_person(backend: Backend) -> tuple[SqlStore, Office, str, str]:
    """A store with a marked person (``populate``), their account document as stored, and
    nothing of it remembered yet."""
    backend.store()
    store = SqlStore(backend.engine)
    office, person = populate(store)
    with backend.engine.connect() as conn:
        found = conn.execute(select(s.accounts.c.doc).where(s.accounts.c.id == person))
        before = str(found.scalar_one())
    store._decoded.clear()
    return store, office, person, before


def _put_back(backend: Backend, person: str, doc: str) -> None:
    """The account document as it was before the departure, put back (a backup restored)."""
    with backend.engine.begin() as conn:
        conn.execute(update(s.accounts).where(s.accounts.c.id == person).values(doc=doc))


def test_an_account_opened_while_its_person_departs_is_not_served_after(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, office, person, before = _marked_person(backend)
    real_loads = repositories.loads  # type: ignore[attr-defined]
    raced: list[bool] = []

    def loads(doc: str, cls: type[Any]) -> Any:
        value = real_loads(doc, cls)
        if cls is Account and not raced and getattr(value, "phone", None) == MARK_PHONE:
            raced.append(True)
            office.qd.depart(office.admin, person)  # another thread, between open and keep
        return value

    monkeypatch.setattr(repositories, "loads", loads)
    with store.unit_of_work() as uow:
        assert uow.accounts.get(person).phone == MARK_PHONE
    monkeypatch.setattr(repositories, "loads", real_loads)
    assert raced
    _put_back(backend, person, before)
    with SqlStore(backend.engine).unit_of_work() as uow:  # no memo: refused
        fails("crypto.key_unknown", lambda: uow.accounts.get(person))
    with store.unit_of_work() as uow:  # nor from the memo
        fails("crypto.key_unknown", lambda: uow.accounts.get(person))


def _bumped(item: Item, **changes: Any) -> Item:
    return attrs.evolve(item, version=item.version + 1, **changes)


def _stored(backend: Backend, item_id: str) -> tuple[SqlStore, Item]:
    """An empty store on ``backend`` holding one sample item."""
    store = backend.store()
    item = sample_item(item_id)
    with store.unit_of_work() as uow:
        uow.items.add(item)
        uow.commit()
    return store, item


def test_a_save_rewrites_a_derived_column_that_drifted(backend: Backend) -> None:
    store, item = _stored(backend, "item-stale")
    with backend.engine.begin() as conn:  # the column drifted from the document
        conn.execute(update(s.items).where(s.items.c.id == item.id).values(sector="漂移"))
    with store.unit_of_work() as uow:
        held = uow.items.get(item.id)
        uow.items.save(_bumped(held, urgent=not held.urgent), held.version)
        uow.commit()
    with backend.engine.connect() as conn:
        sector = conn.execute(select(s.items.c.sector).where(s.items.c.id == item.id)).scalar()
    assert sector == item.sector


def test_a_changed_child_row_missing_from_its_table_is_written(backend: Backend) -> None:
    store, item = _stored(backend, "item-child")
    t = s.text_versions
    last = item.texts[-1]
    with backend.engine.begin() as conn:  # the row went missing
        conn.execute(delete(t).where(t.c.item_id == item.id, t.c.number == last.number))
    with store.unit_of_work() as uow:
        held = uow.items.get(item.id)
        changed = attrs.evolve(held.texts[-1], title=held.texts[-1].title + "（改）")
        uow.items.save(_bumped(held, texts=(*held.texts[:-1], changed)), held.version)
        uow.commit()
    with backend.engine.connect() as conn:
        numbers = list(conn.execute(select(t.c.number).where(t.c.item_id == item.id)).scalars())
    assert last.number in numbers
    with store.unit_of_work() as uow:
        assert uow.items.get(item.id).texts[-1].title == changed.title


def test_the_key_type_is_adapted_for_each_driver() -> None:
    from sqlalchemy.dialects.postgresql import psycopg, psycopg2

    key = s.Key(777)
    key.load_dialect_impl(psycopg2.dialect())  # type: ignore[no-untyped-call]
    modern = psycopg.dialect()  # type: ignore[no-untyped-call]
    expected = modern.type_descriptor(String(777, collation="C"))  # type: ignore[no-untyped-call]
    assert type(key.load_dialect_impl(modern)) is type(expected)


def test_an_account_read_while_its_departure_commits_is_not_served_after(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, office, person, before = _marked_person(backend)
    destroy = Sealer.destroy
    read: list[str | None] = []

    def destroying(sealer: Sealer, scope: str) -> None:
        destroy(sealer, scope)
        with store.unit_of_work() as other:  # another request, before the departure commits
            read.append(other.accounts.get(person).phone)

    monkeypatch.setattr(Sealer, "destroy", destroying)
    office.qd.depart(office.admin, person)
    monkeypatch.setattr(Sealer, "destroy", destroy)
    assert read == [MARK_PHONE]  # it saw the committed account, and cached its key
    _put_back(backend, person, before)
    with store.unit_of_work() as uow:  # neither the key nor the account outlives the commit
        fails("crypto.key_unknown", lambda: uow.accounts.get(person))
