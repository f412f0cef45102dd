"""Benchmark: full lifecycles through the service on the in-memory store.

submit → 初审 → deputy → sign → assign → accept → reply → rate (published), per item.
Run ``python benchmarks/lifecycle.py [--items N]``; prints items per second and the ratio to the
2,000 items/s target, and the same run on an embedded SQLite file for comparison, encrypted at
rest (the default; a generated key unless ``QIANDAO_KEYS`` is set) and in the plaintext mode,
alternately in the same run, with their ratio.

``--compare REV`` measures this checkout and git revision ``REV`` in the same run: each round
runs both, alternately, in fresh processes (``REV``'s ``src`` and ``adapters`` taken with
``git archive``), and the medians and their ratio are printed. ``--store`` picks the store of the
comparison: ``memory`` (default), ``sqlite`` (a fresh file each round) or a database URL (its
qiandao tables dropped and created each round). Compared with a revision before the audit and
encryption at rest (issue 10), this is "with against without" in one run.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from qiandao import SHANGHAI, Account, Actor, Qiandao, Rating, Role, Unit
from qiandao.ports.store import Store
from qiandao.testing import ManualClock
from qiandao_adapters.memory import MemoryStore

TARGET = 2_000
J = "zhoushan"
MEMBER = Actor("m1", Role.MEMBER, J)
EDITOR = Actor("e1", Role.EDITOR, J)
DEPUTY = Actor("d1", Role.DEPUTY, J)
HEAD = Actor("h1", Role.OFFICE_HEAD, J)
UNIT = Actor("u1", Role.HANDLING_UNIT, J, "unit-1")
ACTORS = (MEMBER, EDITOR, DEPUTY, HEAD, UNIT)
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文" * 200, "category": "hot_issue"}


def lifecycles(store: Store, count: int) -> float:
    """Run ``count`` full lifecycles; return seconds elapsed."""
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
    counter = itertools.count()
    qd = Qiandao(store, clock=clock, ids=lambda: f"{next(counter):012d}", hasher=None)
    with store.unit_of_work() as uow:
        uow.units.add(Unit("unit-1", "市交通运输局", J))
        for actor in ACTORS:  # written directly, so that an older revision (--compare) runs too
            grants = (actor.grant,)
            uow.accounts.add(Account(actor.account_id, 1, actor.account_id, grants, J, clock.now()))
        uow.commit()
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        one_lifecycle(qd)
    return time.perf_counter() - start


def one_lifecycle(qd: Qiandao) -> None:
    """Submit one item and take it to a rated, published reply (the actors of ``ACTORS``)."""
    item = qd.submit_new(MEMBER, PAYLOAD)
    qd.pass_preliminary(EDITOR, item.id, destinations=["forward_to_departments"])
    qd.approve(DEPUTY, item.id)
    qd.sign(HEAD, item.id)
    item = qd.assign(EDITOR, item.id, ["unit-1"])
    assignment = item.assignments[0].id
    qd.accept(UNIT, item.id, assignment)
    qd.reply(UNIT, item.id, assignment, "已办理")
    item = qd.rate(MEMBER, item.id, assignment, Rating.SATISFIED)
    assert item.published


def _measure(name: str, make: Callable[[], Store], count: int, rounds: int) -> float:
    rates = [count / lifecycles(make(), count) for _ in range(rounds)]
    rate = statistics.median(rates)
    print(
        f"  {name:<28} {rate:>9,.0f} items/s  (median of {rounds}, {count} items each;"
        f" best {max(rates):,.0f})"
    )
    return rate


def _sqlite(*, plaintext: bool = False) -> Store:
    from qiandao_adapters.crypto import KeyRing, configured_provider
    from qiandao_adapters.sql import SqlStore

    path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    keys = None if plaintext else configured_provider() or KeyRing.generate(algorithm="SM4-GCM")
    store = SqlStore(f"sqlite:///{path}", keys=keys, plaintext=plaintext)
    store.create_all()
    return store


def encryption_cost(count: int, rounds: int) -> float:
    """SQLite lifecycles encrypted and in clear, alternately; print both and return the ratio
    clear / encrypted (how many times slower encryption makes a lifecycle)."""
    sealed: list[float] = []
    clear: list[float] = []
    for _ in range(rounds):
        clear.append(count / lifecycles(_sqlite(plaintext=True), count))
        sealed.append(count / lifecycles(_sqlite(), count))
    on, off = statistics.median(sealed), statistics.median(clear)
    print(f"  {'SQLite, encrypted (SM4-GCM)':<28} {on:>9,.0f} items/s  (median of {rounds})")
    print(f"  {'SQLite, plaintext':<28} {off:>9,.0f} items/s  (median of {rounds})")
    print(f"  plaintext / encrypted: {off / on:.2f}×")
    return off / on


ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str) -> Path:
    """``src`` and ``adapters`` of git revision ``rev``, unpacked into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="qiandao-bench-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src", "adapters"],
        check=True,
        capture_output=True,
    ).stdout
    archive_path = folder / "rev.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_fresh(code_root: Path | None, script: str, *argv: str) -> Any:
    """The JSON value a ``python -c script`` prints last, run in a fresh process from a
    temporary folder, on ``code_root``'s library (``None``: this checkout's); ``argv[0]`` is
    this folder, so the script can import the benchmarks."""
    env = dict(os.environ)
    if code_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(code_root / "src"), str(code_root / "adapters"), env.get("PYTHONPATH", "")]
        )
    out = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent), *argv],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _one_round(code_root: Path | None, count: int, store: str = "memory") -> float:
    """Items per second of one round in a fresh process (``code_root``: another tree) on
    ``store`` (``memory``, ``sqlite`` or a database URL)."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import lifecycle;"
        "n = int(sys.argv[2]); store = lifecycle.make_store(sys.argv[3]);"
        "print(json.dumps(n / lifecycle.lifecycles(store, n)))"
    )
    return float(run_fresh(code_root, script, str(count), store))


def make_store(kind: str) -> Store:
    """A fresh store: ``memory``, ``sqlite`` (a new file) or a database URL (tables renewed).

    SQL stores take their keys from ``QIANDAO_KEYS`` (set by :func:`compare`), so that the same
    call makes an encrypted store of this checkout and a store of a revision before encryption.
    """
    if kind == "memory":
        return MemoryStore()
    from qiandao_adapters.sql import SqlStore

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}" if kind == "sqlite" else kind
    store = SqlStore(url)
    if kind != "sqlite":
        store.drop_all()
    store.create_all()
    return store


def compare(rev: str, count: int, rounds: int, store: str = "memory") -> None:
    """Print this checkout's and ``rev``'s medians on ``store``, measured alternately."""
    if not os.environ.get("QIANDAO_KEYS"):  # the rounds' SQL stores encrypt under one local key
        from qiandao_adapters.crypto import KeyRing

        os.environ["QIANDAO_KEYS"] = KeyRing.generate(algorithm="SM4-GCM").dumps().strip()
    other = checkout(rev)
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        theirs.append(_one_round(other, count, store))
        mine.append(_one_round(None, count, store))
    now, then = statistics.median(mine), statistics.median(theirs)
    where = store if store in ("memory", "sqlite") else store.split("://", maxsplit=1)[0]
    print(f"{where} lifecycles, {rounds} alternating rounds of {count} items")
    print(f"  {rev:<28} {then:>9,.0f} items/s  (best {max(theirs):,.0f})")
    print(f"  {'this checkout':<28} {now:>9,.0f} items/s  (best {max(mine):,.0f})")
    print(f"  this checkout / {rev}: {now / then:.2f}×")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--store", default="memory", help="memory, sqlite or a database URL")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.items, max(args.rounds, 5), args.store)
        return
    print("full lifecycles (8 commands each) through Qiandao")
    memory = _measure("in-memory store", MemoryStore, args.items, args.rounds)
    print(f"  ratio to target {TARGET:,}/s: {memory / TARGET:.2f}×")
    sqlite = _measure("SQLite file (for comparison)", _sqlite, max(args.items // 10, 50), 1)
    print(f"  in-memory / SQLite: {memory / sqlite:.1f}×")
    encryption_cost(max(args.items // 10, 50), max(args.rounds, 3))


if __name__ == "__main__":
    main()
