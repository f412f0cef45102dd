"""Setting up a database: the store refuses one not at the migrations' head with a coded error
that says to run ``db upgrade``, ``create=True`` upgrades it itself, and a failed ``db upgrade``
shows the database's own message, the revision that failed and a hint.

Each test gets a brand-new database of its own (a new SQLite file; on PostgreSQL and MariaDB a
database created for the test and dropped after), so "fresh" means what a host starts from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from qiandao import MigrationFailed, StoreNotMigrated, StoreSchemaUnknown, StoreUnavailable
from qiandao.cli import main
from qiandao_adapters.sql import SqlStore, current_revision, make_engine, upgrade
from qiandao_adapters.sql.errors import cause_of, hint_for
from qiandao_adapters.sql.migrations import VERSION_TABLE, head_revision
from tests.sql.conftest import BACKENDS, server_url


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database that has never seen qiandao, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = make_url(server_url(request.param))
    name = f"{base.database}_fresh_{uuid.uuid4().hex[:8]}"
    mysql = request.param == "mysql"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            charset = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if mysql else ""
            conn.exec_driver_sql(f"CREATE DATABASE {name}{charset}")
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE {name}" + ("" if mysql else " WITH (FORCE)"))
    finally:
        admin.dispose()


def _tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_fresh_database_is_refused_with_the_command_that_sets_it_up(fresh_url: str) -> None:
    store = SqlStore(fresh_url, plaintext=True)
    try:
        with pytest.raises(StoreNotMigrated) as info:
            store.unit_of_work()
    finally:
        store.dispose()
    assert info.value.code == "store.not_migrated"
    assert isinstance(info.value, StoreUnavailable)  # a host's 503 / "not ready" path
    assert "python -m qiandao db upgrade --url" in info.value.message
    assert info.value.details == {"current": None, "head": head_revision()}
    assert _tables(fresh_url) == []  # the check wrote nothing


def test_an_older_database_is_refused_until_db_upgrade_brings_it_to_head(fresh_url: str) -> None:
    upgrade(fresh_url, "0008")
    store = SqlStore(fresh_url, plaintext=True)
    try:
        with pytest.raises(StoreNotMigrated) as info:
            store.unit_of_work()
        assert info.value.details["current"] == "0008"
        assert main(["db", "upgrade", "--url", fresh_url]) == 0
        with store.unit_of_work() as uow:  # a refused check is made again on the next use
            assert uow.units.list() == []
    finally:
        store.dispose()


def test_a_database_ahead_of_the_code_is_refused_and_left_alone(fresh_url: str) -> None:
    upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    for attempt in (
        lambda: SqlStore(fresh_url, plaintext=True).unit_of_work(),
        lambda: SqlStore(fresh_url, plaintext=True, create=True),
        lambda: upgrade(fresh_url),
    ):
        with pytest.raises(StoreSchemaUnknown) as info:
            attempt()
        assert info.value.code == "store.schema_unknown"
        assert info.value.details == {"current": "9999_future", "head": head_revision()}
    assert current_revision(fresh_url) == "9999_future"


def test_create_upgrades_at_construction_and_again_is_harmless(fresh_url: str) -> None:
    first = SqlStore(fresh_url, plaintext=True, create=True)
    try:
        assert current_revision(first.engine) == head_revision()
        with first.unit_of_work() as uow:
            assert uow.units.list() == []
    finally:
        first.dispose()
    again = SqlStore(fresh_url, plaintext=True, create=True)
    again.dispose()
    assert current_revision(fresh_url) == head_revision()


def test_the_revision_is_checked_once_per_engine_with_one_statement(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'once.db'}"
    upgrade(url)
    engine = make_engine(url)
    checks: list[int] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        checks[-1] += VERSION_TABLE in statement

    event.listen(engine, "before_cursor_execute", record)
    try:
        for store in (SqlStore(engine, plaintext=True), SqlStore(engine, plaintext=True)):
            for _ in range(2):
                checks.append(0)
                with store.unit_of_work() as uow:
                    uow.units.list()
    finally:
        engine.dispose()
    assert checks == [1, 0, 0, 0]


# --- db upgrade: the real cause of a failure ---------------------------------------------------


def test_db_upgrade_shows_the_driver_message_of_an_unreachable_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+psycopg://qiandao:pw-s3cret@127.0.0.1:1/qiandao?connect_timeout=5"
    with pytest.raises(StoreUnavailable) as info:
        upgrade(url)
    driver = info.value.__cause__
    assert isinstance(driver, OperationalError)
    assert info.value.code == "store.unavailable"
    assert info.value.details["cause"] == cause_of(driver)  # the driver's own words
    assert info.value.details["hint"] == hint_for(info.value.details["cause"])
    assert main(["db", "upgrade", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "[store.unavailable]" in err
    assert info.value.details["cause"] in err
    assert info.value.details["hint"] in err
    assert "pw-s3cret" not in err
    assert "OperationalError" not in err


def test_db_upgrade_names_the_migration_that_failed(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(fresh_url, "0002")
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:  # 0003 creates this table: a conflicting one is in the way
            conn.execute(text("CREATE TABLE qd_account_grants (x INTEGER)"))
    finally:
        engine.dispose()
    assert main(["db", "upgrade", "--url", fresh_url]) == 2
    err = capsys.readouterr().err
    assert "[store.migration_failed]" in err
    assert "0003" in err
    with pytest.raises(MigrationFailed) as info:
        upgrade(fresh_url)
    details = info.value.details
    assert details["revision"] == "0003"
    assert "qd_account_grants" in details["cause"]
    assert details["hint"] == hint_for(details["cause"]) != hint_for("")  # a specific hint
    assert details["cause"] in err
    assert current_revision(fresh_url) == "0002"  # the failed revision is not recorded


def test_a_password_the_driver_repeats_is_masked() -> None:
    assert cause_of(RuntimeError("login  failed\n for pw-s3cret"), "pw-s3cret") == (
        "login failed for ***"
    )
