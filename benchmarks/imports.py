"""Benchmark: how long ``import qiandao`` and the adapters take, against a bare interpreter.

Run ``python benchmarks/imports.py [--rounds N] [--compare REV]``. Each round starts fresh
processes, alternately: ``python -c pass`` (the peer) and ``python -c 'import MODULE'`` for each
module; the medians of their CPU times (user and system, so that a busy machine does not stretch
them), the import's own cost (median minus the bare
interpreter's) and the ratio to the bare interpreter are printed, with the heavy optional
packages each import left loaded (workalendar, Alembic). ``--compare REV`` also measures git
revision ``REV``'s ``src`` and ``adapters`` in the same rounds (before and after in one run).

Bytecode is cached as in an installed package (``PYTHONDONTWRITEBYTECODE`` is lifted; the caches
go to a temporary ``PYTHONPYCACHEPREFIX``) and one warm-up run of each import writes it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

MODULES = ("qiandao", "qiandao_adapters.memory", "qiandao_adapters.sql")
HEAVY = ("workalendar", "alembic")
"""Packages that only some calls need; an import should leave them unloaded."""


_CACHE = tempfile.mkdtemp(prefix="qiandao-pycache-")


def _environment(code_root: Path | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=_CACHE)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if code_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(code_root / "src"), str(code_root / "adapters"), env.get("PYTHONPATH", "")]
        )
    return env


def cpu_time(code: str, code_root: Path | None = None) -> float:
    """CPU seconds (user and system) of a fresh ``python -c code``, start to exit: unlike its
    wall time, not stretched by other processes on a busy machine."""
    env = _environment(code_root)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tempfile.gettempdir())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def loaded(module: str, code_root: Path | None = None) -> list[str]:
    """The :data:`HEAVY` packages left in ``sys.modules`` by ``import module`` alone."""
    code = (
        f"import sys, {module}; heavy = {HEAVY!r};"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=_environment(code_root),
        cwd=tempfile.gettempdir(),
    ).stdout
    return out.split()


def measure(
    rounds: int,
    trees: dict[str, Path | None] | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, float]:
    """Median CPU time of each (tree, module) import and of the bare interpreter, in seconds,
    measured alternately in ``rounds`` rounds; prints a line per import."""
    trees = trees or {"this checkout": None}
    samples: dict[str, list[float]] = {"bare": []}
    for root in trees.values():  # the warm-up writes the bytecode caches
        for module in MODULES:
            cpu_time(f"import {module}", root)
    for _ in range(rounds):
        samples["bare"].append(cpu_time("pass"))
        for name, root in trees.items():
            for module in MODULES:
                samples.setdefault(f"{name}/{module}", []).append(
                    cpu_time(f"import {module}", root)
                )
    medians = {key: statistics.median(values) for key, values in samples.items()}
    bare = medians["bare"]
    report(f"fresh processes, median of {rounds} rounds")
    report(f"  {'bare interpreter (python -c pass)':<48} {bare * 1e3:7.1f} ms")
    for key, value in medians.items():
        if key == "bare":
            continue
        name, module = key.split("/")
        heavy = ", ".join(loaded(module, trees[name])) or "none"
        report(
            f"  {key:<48} {value * 1e3:7.1f} ms  import {(value - bare) * 1e3:6.1f} ms,"
            f" {value / bare:4.1f}× bare; heavy loaded: {heavy}"
        )
    return medians


def main(argv: Sequence[str] | None = None) -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compare", metavar="REV", help="also measure git revision REV")
    args = parser.parse_args(argv)
    trees: dict[str, Path | None] = {"this checkout": None}
    if args.compare:
        from lifecycle import checkout

        trees[args.compare] = checkout(args.compare)
    measure(args.rounds, trees)


if __name__ == "__main__":
    main()
