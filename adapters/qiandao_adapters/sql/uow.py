"""The unit of work of the SQL store: one connection, one transaction, every repository.

PostgreSQL and MySQL/MariaDB: one ``READ COMMITTED`` transaction from the first statement.
SQLite: reads before the first write run without a transaction, and the first write begins
``BEGIN IMMEDIATE`` (one writer at a time, waiting up to the busy timeout), so readers never wait
for writers, a read never makes a later write fail, and two units of work in one thread can read,
then write one after the other. Driver errors are translated in :mod:`qiandao_adapters.sql.errors`.

A command's writes (items, events, outbox, audit, the one-row aggregates) run in the unit's own
transaction with no savepoint (:meth:`SqlUnitOfWork.writes`): they refuse (a stale version, a
duplicate id, a wrong sequence) before their first write, so a refusal leaves the unit usable, and
any other failure loses the unit. Saves of a version the unit read and outbox notices are deferred
(:meth:`SqlUnitOfWork.flush_deferred`, before the next statement or at commit): a row another
writer changed meanwhile is found there, after other writes, and loses the unit. The rest
(accounts, sessions, leases, jurisdictions) still run in a savepoint
(:meth:`SqlUnitOfWork.atomic`). When the unit is lost (an error after a write, a driver error, or
the server aborting the whole transaction: an InnoDB deadlock also drops a savepoint), its
transaction is rolled back at once and every later call and the commit raise the same error, so no
part of it can be committed: a command is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, NoReturn, Self

from sqlalchemy import Connection, Engine, Executable, Result
from sqlalchemy import exc as sa_exc

from qiandao.errors import ConcurrencyConflict, OutcomeUnknown, QiandaoError, StoreUnavailable
from qiandao_adapters.sql.engine import READ_PHASE
from qiandao_adapters.sql.errors import aborts_transaction, translate, translated
from qiandao_adapters.sql.memo import Decoded, Heads
from qiandao_adapters.sql.repositories import (
    SqlAccounts,
    SqlAudit,
    SqlCommissions,
    SqlDirectory,
    SqlEvents,
    SqlIdempotency,
    SqlItems,
    SqlJurisdictions,
    SqlLeases,
    SqlOutbox,
    SqlPlans,
    SqlSessions,
    SqlSimilarity,
    SqlTopics,
    SqlUnits,
)
from qiandao_adapters.sql.sealing import KeyVault, Sealer

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """One transaction over every repository; opened lazily, closed by commit or rollback."""

    def __init__(
        self,
        engine: Engine,
        vault: KeyVault | None = None,
        *,
        heads: Heads | None = None,
        decoded: Decoded | None = None,
    ) -> None:
        self._engine = engine
        # what the store remembers between units (:mod:`.memo`); a unit of its own otherwise
        self.heads = Heads() if heads is None else heads
        self.decoded = Decoded() if decoded is None else decoded
        self.sealer = Sealer(vault, self.execute, engine.dialect.name)
        self._conn: Connection | None = None
        self._deferred_writes = engine.dialect.name == "sqlite"
        self._writing = False
        self._flushing = False
        # set when the unit's transaction was lost (see the module): nothing more may run or commit
        self._lost: QiandaoError | None = None
        self.events = SqlEvents(self)
        self.items = SqlItems(self, self.events)
        self.outbox = SqlOutbox(self)
        self.leases = SqlLeases(self)
        self.accounts = SqlAccounts(self)
        self.sessions = SqlSessions(self)
        self.units = SqlUnits(self)
        self.jurisdictions = SqlJurisdictions(self)
        self.commissions = SqlCommissions(self)
        self.plans = SqlPlans(self)
        self.directory = SqlDirectory(self)
        self.idempotency = SqlIdempotency(self)
        self.audit = SqlAudit(self)
        self.similarity = SqlSimilarity(self)
        self.topics = SqlTopics(self)

    # transaction handling

    def connection(self, *, write: bool = False) -> Connection:
        """This unit of work's connection; ``write`` makes sure its write transaction has begun."""
        if self._lost is not None:
            raise self._lost
        if self._conn is None:
            with translated():
                conn = self._engine.connect()
            if self._deferred_writes:
                conn.execution_options(**{READ_PHASE: True})
            self._conn = conn
            self._writing = not self._deferred_writes
        conn = self._conn
        if write and not self._writing:
            try:
                with translated():
                    if conn.in_transaction():
                        conn.commit()  # ends the read phase; nothing was written
                    conn.execution_options(**{READ_PHASE: False})
                    conn.begin()
            except BaseException:
                self._discard()
                raise
            self._writing = True
        return conn

    @property
    def dialect(self) -> str:
        """The database dialect's name (``sqlite``, ``postgresql``, ``mysql``)."""
        return self._engine.dialect.name

    def execute(
        self, statement: Executable, params: Any = None, *, write: bool = False
    ) -> Result[Any]:
        """Run one statement in this unit of work (after its deferred writes), with driver
        errors translated."""
        self.flush_deferred()
        conn = self.connection(write=write)
        with translated():
            return conn.execute(statement, params)

    @contextmanager
    def writes(self) -> Iterator[Connection]:
        """The block's writes in the unit's transaction, without a savepoint (see the module).

        A ``QiandaoError`` the block raises itself (a refusal, before its first write) leaves the
        unit usable; any other error loses it: rolled back now, and the same error again from
        every later call and the commit, so a half-done block is never committed.
        """
        self.flush_deferred()
        conn = self.connection(write=True)
        try:
            yield conn
        except BaseException as error:
            if isinstance(error, QiandaoError) and not isinstance(
                error.__cause__, sa_exc.DBAPIError
            ):
                raise
            self._lose(error)

    def flush_deferred(self) -> None:
        """Write what the repositories deferred (item saves, then outbox notices), all of a
        kind in one statement, before any other statement runs, so the unit reads its own
        writes. A failure here follows writes already made: it loses the unit."""
        if self._flushing or not (self.items.deferred or self.outbox.deferred):
            return
        self._flushing = True
        try:
            self.items.flush()
            self.outbox.flush()
        except BaseException as error:  # the deferred writes are gone: never go on without them
            self._lose(error)
        finally:
            self._flushing = False

    def _lose(self, error: BaseException) -> NoReturn:
        """Roll the unit back for good after ``error`` and raise what it means."""
        self._discard()
        if aborts_transaction(error):
            self._lost = ConcurrencyConflict(
                "数据库因死锁回滚了本次操作，请重试", retryable=True, cause="deadlock"
            )
            raise self._lost from error
        found = translate(error)
        if found is None:
            self._lost = ConcurrencyConflict(
                "本次操作未能完成，已整体撤销", cause=type(error).__name__
            )
            raise error
        self._lost = found
        if found is error:
            raise error
        raise found from error

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A savepoint: the block's writes all happen, or none and the error propagates."""
        self.flush_deferred()
        conn = self.connection(write=True)
        with translated():
            savepoint = conn.begin_nested()
        try:
            yield conn
        except BaseException as error:
            if aborts_transaction(error):
                self._lose(error)
            with translated():
                if savepoint.is_active:
                    savepoint.rollback()
            found = translate(error)
            if found is not None and found is not error:
                raise found from error
            raise
        with translated():
            savepoint.commit()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lost = None
        self._discard()

    def commit(self) -> None:
        """Make everything since the last commit visible to others, or raise.

        A failure of the COMMIT itself (the connection lost, a driver error the server did not
        report as a rollback) is ``OutcomeUnknown``, never ``StoreUnavailable``: the server may
        have committed before the reply was lost, so the caller must not assume nothing landed.
        """
        if self._lost is not None:
            lost, self._lost = self._lost, None
            raise lost
        self.flush_deferred()
        self.events.flush()  # numbers the events last: the log's head is locked from here on
        try:
            self._end(Connection.commit)
        except (StoreUnavailable, sa_exc.DBAPIError) as error:
            cause = type(error.__cause__ or error).__name__
            raise OutcomeUnknown(cause=cause) from error

    def rollback(self) -> None:
        """Drop everything since the last commit."""
        self._lost = None
        self._end(Connection.rollback)

    def _forget(self) -> None:
        """Drop what the repositories hold for the transaction that ends (reads, deferred
        writes, keys resolved)."""
        self.sealer.reset()
        self.events.reset()
        self.items.reset()
        self.outbox.reset()

    def _end(self, end: Callable[[Connection], None]) -> None:
        self._forget()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with translated():
                end(conn)
        finally:
            conn.close()
            self.sealer.ended()

    def _discard(self) -> None:
        self._forget()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
        except Exception:  # the server rolls back a transaction whose connection is gone
            conn.invalidate()
        finally:
            conn.close()
            self.sealer.ended()
