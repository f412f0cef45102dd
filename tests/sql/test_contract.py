"""The shipped store contract suite against the SQL store on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from qiandao.ports.store import Store
from qiandao.testing import StoreContract
from qiandao_adapters.sql import SqlStore
from tests.sql.conftest import Backend


class TestSqliteStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _sqlite_dir(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.made = 0

    def make_store(self) -> SqlStore:
        self.made += 1
        store = SqlStore(f"sqlite:///{self.directory / f'store-{self.made}.db'}")
        store.create_all()
        return store

    def discard_store(self, store: Store) -> None:
        assert isinstance(store, SqlStore)
        store.dispose()


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_backend: Backend) -> None:
        self.backend = postgres_backend

    def make_store(self) -> SqlStore:
        return self.backend.store()


class TestMysqlStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, mysql_backend: Backend) -> None:
        self.backend = mysql_backend

    def make_store(self) -> SqlStore:
        return self.backend.store()
