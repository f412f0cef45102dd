"""The SQL store: SQLAlchemy Core over SQLite (embedded default), PostgreSQL and MySQL/MariaDB.

The pieces: :mod:`.engine` (the engine recipe), :mod:`.schema` (the tables), :mod:`.rows` (row
mapping), :mod:`.repositories` and :mod:`.statistics` (reads and writes), :mod:`.uow` (the unit
of work) and :mod:`.errors` (driver errors translated). URLs look like ``sqlite:///qiandao.db``,
``postgresql+psycopg://user@host/db`` or ``mysql+pymysql://user@host/db``.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from qiandao.errors import KeyMissing
from qiandao.ports.crypto import KeyProvider
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.engine import READ_PHASE, configure_sqlite, make_engine
from qiandao_adapters.sql.errors import translated
from qiandao_adapters.sql.memo import Decoded, Heads
from qiandao_adapters.sql.migrations import check_revision, upgrade
from qiandao_adapters.sql.sealing import AUDIT_SCOPE, KeyVault
from qiandao_adapters.sql.uow import SqlUnitOfWork

__all__ = ["SqlStore"]


_AT_HEAD: weakref.WeakSet[Engine] = weakref.WeakSet()
"""Engines whose database passed the revision check."""


def _default_keys() -> KeyProvider:
    """The key provider the host configured (``QIANDAO_KEYS`` or ``QIANDAO_KEY_FILE``)."""
    try:
        from qiandao_adapters.crypto import configured_provider
    except ImportError as exc:  # the crypto extra is not installed
        raise KeyMissing(
            "加密存储需要安装 crypto 扩展：pip install 'qiandao[crypto]'", cause=str(exc)
        ) from None
    found = configured_provider()
    if found is None:
        raise KeyMissing(variables="QIANDAO_KEYS, QIANDAO_KEY_FILE")
    return found


class SqlStore:
    """A store in a SQL database: ``url_or_engine`` is a SQLAlchemy URL or an engine (used as
    it is, but a SQLite engine gets the hooks of :func:`configure_sqlite`).

    Text and personal columns are encrypted at rest (:mod:`.sealing`) with data keys wrapped by
    ``keys``; by default the keys the host configured in ``QIANDAO_KEYS`` or the file named by
    ``QIANDAO_KEY_FILE``, and ``crypto.key_missing`` when there are none. ``plaintext=True``
    (legacy databases and migration tests only) writes clear values and ignores ``keys``.
    ``algorithm`` seals the values: ``SM4-GCM`` (国密) or ``AES-256-GCM``.

    The first unit of work checks, once, that the database is at the migrations' head:
    ``store.not_migrated`` (run ``python -m qiandao db upgrade``) on an empty or older database,
    ``store.schema_unknown`` on one a newer qiandao upgraded. ``create=True`` (suits embedded
    SQLite) upgrades the database to head here instead. ``check_revision=False`` (migration tests
    only) skips the check.
    """

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        *,
        keys: KeyProvider | None = None,
        plaintext: bool = False,
        algorithm: str = "SM4-GCM",
        busy_timeout: float = 30.0,
        create: bool = False,
        check_revision: bool = True,
        **engine_kwargs: Any,
    ) -> None:
        self.vault = None if plaintext else KeyVault(keys or _default_keys(), algorithm=algorithm)
        if isinstance(url_or_engine, Engine):
            self.engine = url_or_engine
            self._owns_engine = False
            configure_sqlite(self.engine, busy_timeout=busy_timeout)
        else:
            self.engine = make_engine(url_or_engine, busy_timeout=busy_timeout, **engine_kwargs)
            self._owns_engine = True
        self._checked = not check_revision
        self._heads = Heads()  # remembered between units of work (see .memo)
        self._decoded = Decoded()
        if self.vault is not None:
            self.vault.on_forget(self._decoded.clear)
        if create:
            upgrade(self.engine)
            _AT_HEAD.add(self.engine)
            self._checked = True

    def _check(self) -> None:
        """Refuse a database not at the migrations' head (see the class docstring); an engine
        found at head is not asked again, by this store or another on the same engine."""
        if self.engine not in _AT_HEAD:
            where = self.engine.url.render_as_string(hide_password=True)
            with translated(), self.engine.connect() as connection:
                connection.execution_options(**{READ_PHASE: True})  # SQLite: no write lock
                check_revision(connection, where)
            _AT_HEAD.add(self.engine)
        self._checked = True

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work (its transaction begins on first use)."""
        if not self._checked:
            self._check()
        return SqlUnitOfWork(self.engine, self.vault, heads=self._heads, decoded=self._decoded)

    def audit_key(self) -> bytes | None:
        """The key of the audit chain's HMAC: a data key of its own in ``qd_data_keys`` (scope
        ``audit``), wrapped like the others and made on first use; ``None`` in plaintext mode.
        The service takes it when the host gives no ``audit_key``, so the chain is keyed."""
        vault = self.vault
        if vault is None:
            return None
        with self.unit_of_work() as uow:
            key_id = uow.sealer.key_of(AUDIT_SCOPE)
            assert key_id is not None
            raw = vault.raw(uow.execute, key_id)
            uow.commit()
        return raw

    def create_all(self) -> None:
        """Create the tables that are missing (tests, demos; production uses ``upgrade``)."""
        with translated():
            s.metadata.create_all(self.engine)
        self._checked = True

    def drop_all(self) -> None:
        """Drop every qiandao table (tests only)."""
        with translated():
            s.metadata.drop_all(self.engine)

    def dispose(self) -> None:
        """Close pooled connections (only of an engine this store created)."""
        if self._owns_engine:
            self.engine.dispose()
