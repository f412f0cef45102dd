"""A connection lost during COMMIT (issue 9): the command reports ``store.outcome_unknown``, not
``store.unavailable``, because the work may have landed (here it did); a retry with the same
idempotency key returns the first outcome and duplicates nothing. A connection lost before COMMIT
stays ``store.unavailable`` and nothing landed. Runs through :class:`CommitDropProxy` on
PostgreSQL and MariaDB (skipped without their URLs, as the other server tests)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from qiandao.ports.store import ItemQuery
from qiandao_adapters.sql import SqlStore, make_engine
from qiandao_adapters.sql import schema as s
from tests.helpers import World, fails, make_world
from tests.idempotency_cases import DRAFT
from tests.sql.commit_proxy import CommitDropProxy
from tests.sql.conftest import Backend

SERVERS = ("postgresql", "mysql")


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Backend:
    name = {"postgresql": "postgres_backend", "mysql": "mysql_backend"}[request.param]
    found: Backend = request.getfixturevalue(name)
    found.store()  # empties the tables
    return found


def _proxied(backend: Backend, **options: object) -> Iterator[tuple[World, CommitDropProxy]]:
    url = make_url(backend.url)
    proxy = CommitDropProxy(url.host or "127.0.0.1", url.port or 0, **options)  # type: ignore[arg-type]
    through = url.set(host="127.0.0.1", port=proxy.port)
    if backend.name == "postgresql":  # plain text on the wire, so the proxy can read it
        through = through.update_query_dict({"sslmode": "disable"})
    engine = make_engine(through)
    try:
        world = make_world(store=SqlStore(engine))
        assert world.qd.audit_chain.key is not None  # made before the proxy is armed
        yield world, proxy
    finally:
        engine.dispose()
        proxy.close()


@pytest.fixture
def dropping_commit(server: Backend) -> Iterator[tuple[World, CommitDropProxy]]:
    yield from _proxied(server)


@pytest.fixture
def dropping_insert(server: Backend) -> Iterator[tuple[World, CommitDropProxy]]:
    yield from _proxied(server, trigger=re.compile(rb"INSERT INTO qd_items", re.I))


def _rows(backend: Backend) -> tuple[int, int, int, int]:
    """Items, events, outbox messages and idempotency keys, read past the proxy."""
    with backend.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (s.items, s.events, s.outbox, s.idempotency)
        )


def test_a_lost_commit_is_outcome_unknown_and_a_keyed_retry_returns_the_first_item(
    server: Backend, dropping_commit: tuple[World, CommitDropProxy]
) -> None:
    w, proxy = dropping_commit
    before = _rows(server)
    proxy.armed.set()
    fails("store.outcome_unknown", lambda: w.qd.submit_new(w.member, DRAFT, idempotency_key="k"))
    assert proxy.dropped.is_set()
    landed = _rows(server)
    assert landed[0] == before[0] + 1 and landed[3] == before[3] + 1  # it did commit
    with w.store.unit_of_work() as uow:
        (stored,) = uow.items.find(ItemQuery())
    again = w.qd.submit_new(w.member, DRAFT, idempotency_key="k")
    assert again.id == stored.id
    assert _rows(server) == landed  # no second item, event, notice or key


def test_a_lost_commit_of_an_item_command_is_not_applied_twice(
    server: Backend, dropping_commit: tuple[World, CommitDropProxy]
) -> None:
    w, proxy = dropping_commit
    item = w.qd.submit_new(w.member, DRAFT)
    proxy.armed.set()

    def passing() -> object:
        return w.qd.pass_preliminary(
            w.editor, item.id, destinations=["forward_to_departments"], idempotency_key="p-1"
        )

    fails("store.outcome_unknown", passing)
    landed = _rows(server)
    assert w.load(item.id).version == item.version + 1  # it did commit
    assert passing() == w.load(item.id)
    assert _rows(server) == landed
    assert w.load(item.id).version == item.version + 1


def test_a_connection_lost_before_commit_is_unavailable_and_nothing_landed(
    server: Backend, dropping_insert: tuple[World, CommitDropProxy]
) -> None:
    w, proxy = dropping_insert
    before = _rows(server)
    proxy.armed.set()
    fails("store.unavailable", lambda: w.qd.submit_new(w.member, DRAFT, idempotency_key="k"))
    assert proxy.dropped.is_set()
    assert _rows(server) == before
    w.qd.submit_new(w.member, DRAFT, idempotency_key="k")  # the retry does it, once
    assert _rows(server)[0] == before[0] + 1
