"""Benchmark: what one command costs on the SQL store, against the raw driver doing its writes.

For each of SQLite (a WAL file), PostgreSQL and MariaDB, in one run: a store with 1,000 items
preloaded (submitted through the service), then full lifecycles through ``Qiandao`` (8 commands
each, ``lifecycle.one_lifecycle``), and, alternately with them, the raw driver (the DB-API
connection of an engine made by the store's own recipe, so with the store's settings) doing
what one command must do in one transaction on tables of its own with 1,000 rows preloaded: the
compare-and-set ``UPDATE`` of the item, the event ``INSERT`` and the outbox ``INSERT``. Prints
µs per command for both and their ratio (medians of the rounds): the issue's target.

It also prints the floor under that ratio: the raw driver *replaying every statement the
lifecycles sent*, with their parameters and transaction boundaries (captured from the engine's
cursor events), on a second database seeded with a row-for-row copy of the first. That is what
the database must do for the commands (actor check, item load, data key, the writes, the audit
chain, the change feed), with no library in between; qiandao over it is the library's own
overhead, and the replay over the three-write transaction is what the guarantees cost.

The store encrypts at rest (its default; a generated key) unless ``--plaintext``.

Run by hand::

    python benchmarks/sql_overhead.py [--lifecycles N] [--rounds R] [--plaintext]

PostgreSQL and MariaDB run when ``QIANDAO_TEST_POSTGRES_URL`` / ``QIANDAO_TEST_MYSQL_URL``
(or ``--pg-url`` / ``--mysql-url``) name a database; its qiandao tables are dropped and created,
and the raw tables (``bench_raw_*``) dropped at the end. Without a URL a server is skipped.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from lifecycle import ACTORS, MEMBER, PAYLOAD, J, one_lifecycle  # benchmarks/lifecycle.py
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.engine import make_url

from qiandao import SHANGHAI, Account, Qiandao, Unit
from qiandao.testing import ManualClock
from qiandao_adapters.sql import SqlStore, make_engine, metadata
from sql import fresh_schema, server_database, sqlite_database  # benchmarks/sql.py

PRELOADED = 1_000
COMMANDS_PER_LIFECYCLE = 8
DOC = "正文" * 600  # about the size of a stored item document
RAW_TABLES = ("bench_raw_outbox", "bench_raw_events", "bench_raw_items")


def _store(url: str, *, plaintext: bool) -> SqlStore:
    """A store on ``url`` with its qiandao tables renewed."""
    keys = None
    if not plaintext:
        from qiandao_adapters.crypto import KeyRing

        keys = KeyRing.generate(algorithm="SM4-GCM")
    store = SqlStore(url, keys=keys, plaintext=plaintext)
    if not url.startswith("sqlite"):
        store.drop_all()
    store.create_all()
    return store


class Service:
    """``Qiandao`` over a store with the actors of ``lifecycle.ACTORS`` and preloaded items."""

    def __init__(self, store: SqlStore, preloaded: int) -> None:
        clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
        counter = itertools.count()
        self.qd = Qiandao(store, clock=clock, ids=lambda: f"{next(counter):012d}", hasher=None)
        with store.unit_of_work() as uow:
            uow.units.add(Unit("unit-1", "市交通运输局", J))
            for actor in ACTORS:
                grants = (actor.grant,)
                uow.accounts.add(
                    Account(actor.account_id, 1, actor.account_id, grants, J, clock.now())
                )
            uow.commit()
        for _ in range(preloaded):
            self.qd.submit_new(MEMBER, PAYLOAD)

    def per_command(self, lifecycles: int) -> float:
        """µs per command over ``lifecycles`` full lifecycles."""
        gc.collect()
        start = time.perf_counter()
        for _ in range(lifecycles):
            one_lifecycle(self.qd)
        elapsed = time.perf_counter() - start
        return elapsed / (lifecycles * COMMANDS_PER_LIFECYCLE) * 1e6


# One step of a replay: a statement with its DB-API parameters (``many``: executemany), or a
# transaction end ("COMMIT" / "ROLLBACK" with no parameters).
_Step = tuple[str, Any, bool]


class Recorder:
    """Every statement an engine sends, with its DB-API parameters, and every commit and
    rollback, in order (SQLAlchemy's cursor and transaction events)."""

    def __init__(self, engine: Engine) -> None:
        self.steps: list[_Step] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda _conn: self.steps.append(("COMMIT", None, False)))
        event.listen(engine, "rollback", lambda _conn: self.steps.append(("ROLLBACK", None, False)))

    def _statement(self, *args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, many = args
        self.steps.append((statement, parameters, many))

    def take(self) -> list[_Step]:
        """The steps recorded since the last call."""
        steps, self.steps = self.steps, []
        return steps


@contextmanager
def _replica(url: str) -> Iterator[str]:
    """A second database beside ``url``'s, dropped afterwards: a sibling SQLite file, or
    ``<name>_replay`` on the same server (made as ``benchmarks/sql.py`` makes its own)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite_database(Path(f"{parsed.database}.replay")) as replica:
            yield replica
    else:
        with server_database(url, f"{parsed.database}_replay") as replica:
            yield replica


class Replay:
    """The raw driver replaying recorded steps on a row-for-row copy of the store's database,
    so every compare-and-set matches and every insert is new, as they were for the store."""

    def __init__(self, source: Engine, url: str) -> None:
        self.engine = make_engine(url)
        fresh_schema(self.engine)
        with source.connect() as read, self.engine.begin() as write:
            for table in reversed(metadata.sorted_tables):  # rows the schema seeds, too
                write.execute(table.delete())
            for table in metadata.sorted_tables:
                rows = [dict(row._mapping) for row in read.execute(select(table))]
                if rows:
                    write.execute(insert(table), rows)
                column = table.autoincrement_column
                if rows and column is not None and self.engine.dialect.name == "postgresql":
                    write.exec_driver_sql(  # explicit keys leave a serial's sequence behind
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"
                        f" (SELECT max({column.name}) FROM {table.name}))"
                    )
        self.pool_connection = self.engine.raw_connection()
        driver = self.pool_connection.driver_connection
        assert driver is not None
        self.conn: Any = driver
        if self.engine.dialect.name == "sqlite":
            self.conn.isolation_level = None  # BEGIN IMMEDIATE is among the recorded steps

    def per_command(self, steps: list[_Step], commands: int) -> float:
        """µs per command replaying ``steps`` (the record of ``commands`` commands)."""
        gc.collect()
        conn = self.conn
        start = time.perf_counter()
        cursor = conn.cursor()
        for statement, parameters, many in steps:
            if parameters is None and statement == "COMMIT":
                conn.commit()
            elif parameters is None and statement == "ROLLBACK":
                conn.rollback()
            elif many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        cursor.close()
        return (time.perf_counter() - start) / commands * 1e6

    def close(self) -> None:
        """Close the connection (the copy's database goes with :func:`_replica`)."""
        self.pool_connection.close()
        self.engine.dispose()


class Raw:
    """The raw driver doing one command's writes: compare-and-set, event, outbox."""

    def __init__(self, url: str, preloaded: int) -> None:
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.pool_connection = self.engine.raw_connection()
        driver = self.pool_connection.driver_connection
        assert driver is not None
        self.conn: Any = driver
        self.mark = "?" if self.dialect == "sqlite" else "%s"
        text = "TEXT" if self.dialect != "mysql" else "LONGTEXT"
        self._run_all(
            [f"DROP TABLE IF EXISTS {name}" for name in RAW_TABLES]
            + [
                "CREATE TABLE bench_raw_items (id VARCHAR(64) PRIMARY KEY,"
                f" version INTEGER NOT NULL, doc {text} NOT NULL)",
                "CREATE TABLE bench_raw_events (id VARCHAR(64) PRIMARY KEY,"
                f" item_id VARCHAR(64) NOT NULL, sequence INTEGER NOT NULL, doc {text} NOT NULL,"
                " UNIQUE (item_id, sequence))",
                "CREATE TABLE bench_raw_outbox (notice_id VARCHAR(64) PRIMARY KEY,"
                f" recorded_at VARCHAR(40) NOT NULL, doc {text} NOT NULL)",
            ]
        )
        self._begin()
        cursor = self.conn.cursor()
        cursor.executemany(
            self._sql("INSERT INTO bench_raw_items (id, version, doc) VALUES (?, 1, ?)"),
            [(f"raw-{n:06d}", DOC) for n in range(preloaded)],
        )
        cursor.close()
        self._commit()
        self.versions = dict.fromkeys(range(preloaded), 1)
        self.counter = itertools.count()

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.mark)

    def _begin(self) -> None:
        if self.dialect == "sqlite":  # the store's recipe: no implicit transactions
            self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        if self.dialect == "sqlite":
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def _run_all(self, statements: list[str]) -> None:
        self._begin()
        cursor = self.conn.cursor()
        for statement in statements:
            cursor.execute(statement)
        cursor.close()
        self._commit()

    def command(self) -> None:
        """One transaction: the compare-and-set update, the event insert, the outbox insert."""
        n = next(self.counter)
        which = n % len(self.versions)
        version = self.versions[which]
        self._begin()
        cursor = self.conn.cursor()
        cursor.execute(
            self._sql(
                "UPDATE bench_raw_items SET version = ?, doc = ? WHERE id = ? AND version = ?"
            ),
            (version + 1, DOC, f"raw-{which:06d}", version),
        )
        assert cursor.rowcount == 1
        cursor.execute(
            self._sql(
                "INSERT INTO bench_raw_events (id, item_id, sequence, doc) VALUES (?, ?, ?, ?)"
            ),
            (f"evt-{n:09d}", f"raw-{which:06d}", version, DOC[:300]),
        )
        cursor.execute(
            self._sql(
                "INSERT INTO bench_raw_outbox (notice_id, recorded_at, doc) VALUES (?, ?, ?)"
            ),
            (f"ntc-{n:09d}", "2026-11-02T09:00:00+08:00", DOC[:200]),
        )
        cursor.close()
        self._commit()
        self.versions[which] = version + 1

    def per_command(self, commands: int) -> float:
        """µs per command over ``commands`` transactions."""
        gc.collect()
        start = time.perf_counter()
        for _ in range(commands):
            self.command()
        return (time.perf_counter() - start) / commands * 1e6

    def close(self) -> None:
        """Drop the raw tables and close the connection."""
        self._run_all([f"DROP TABLE IF EXISTS {name}" for name in RAW_TABLES])
        self.pool_connection.close()
        self.engine.dispose()


def measure(
    url: str, lifecycles: int, rounds: int, *, plaintext: bool = False, preloaded: int = PRELOADED
) -> tuple[float, float, float]:
    """Median µs per command of qiandao, of the raw driver's three writes and of the raw
    driver replaying qiandao's statements on ``url``, measured alternately."""
    store = _store(url, plaintext=plaintext)
    commands = lifecycles * COMMANDS_PER_LIFECYCLE
    ours: list[float] = []
    theirs: list[float] = []
    replayed: list[float] = []
    with ExitStack() as stack:  # closed and dropped in the reverse order, whatever happens
        stack.callback(store.dispose)
        if not url.startswith("sqlite"):
            stack.callback(store.drop_all)
        service = Service(store, preloaded)
        raw = Raw(url, preloaded)
        stack.callback(raw.close)
        replay = Replay(store.engine, stack.enter_context(_replica(url)))
        stack.callback(replay.close)
        recorder = Recorder(store.engine)
        for _ in range(rounds):
            ours.append(service.per_command(lifecycles))
            replayed.append(replay.per_command(recorder.take(), commands))
            theirs.append(raw.per_command(commands))
    return statistics.median(ours), statistics.median(theirs), statistics.median(replayed)


def report(
    name: str, figures: tuple[float, float, float], say: Callable[[str], None] = print
) -> None:
    """Two lines: qiandao against the raw three writes (the target), then against the raw
    replay of its own statements (the library's overhead)."""
    ours, raw, replayed = figures
    line = f"  {name:<12} qiandao {ours:>8,.0f} µs  raw driver, 3 writes {raw:>6,.0f} µs"
    say(f"{line}  ratio {ours / raw:.2f}× (target ≤ 3×)")
    say(
        f"  {'':<12} {'':>8}{'':>19}raw driver, the same statements {replayed:>6,.0f} µs"
        f"  ratio {ours / replayed:.2f}× (replay / 3 writes {replayed / raw:.2f}×)"
    )


def main() -> None:
    """Print the figures for every database given."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--lifecycles", type=int, default=50, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plaintext", action="store_true", help="the store without encryption")
    parser.add_argument("--pg-url", default=os.environ.get("QIANDAO_TEST_POSTGRES_URL"))
    parser.add_argument("--mysql-url", default=os.environ.get("QIANDAO_TEST_MYSQL_URL"))
    args = parser.parse_args()
    mode = "plaintext" if args.plaintext else "encrypted (SM4-GCM)"
    print(
        f"per command, {PRELOADED:,} items preloaded, {args.rounds} alternating rounds of"
        f" {args.lifecycles} lifecycles ({args.lifecycles * COMMANDS_PER_LIFECYCLE} commands),"
        f" store {mode}"
    )
    urls = {"SQLite (WAL)": f"sqlite:///{Path(tempfile.mkdtemp()) / 'command.sqlite3'}"}
    if args.pg_url:
        urls["PostgreSQL"] = args.pg_url
    if args.mysql_url:
        urls["MariaDB"] = args.mysql_url
    for name, url in urls.items():
        report(name, measure(url, args.lifecycles, args.rounds, plaintext=args.plaintext))


if __name__ == "__main__":
    main()
