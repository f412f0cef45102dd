"""The benchmarks stay runnable: their fast row generator still matches the store's own rows.

(Figures are printed by running the benchmarks by hand; no test times anything.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    """Import a benchmark script as its ``python benchmarks/NAME.py`` run would see it."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # the scripts import each other as siblings
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sql_benchmark_rows_match_the_store() -> None:
    sql = _load("sql")
    sql.check(sql.Corpus(300), sample=300)  # raises AssertionError naming a drifted table


def test_sql_benchmark_corpus_can_be_written_to(tmp_path: Path) -> None:
    """Bulk items carry a log their versions agree with: commands (here the job) act on them,
    without a conflict, and a second pass finds nothing due."""
    sql = _load("sql")
    engine = sql.make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    sql.bulk_load(engine, sql.Corpus(400, due_reminders=20), lambda _line: None)
    figures = sql.measure_jobs(engine, plans=False)
    assert figures["job_first_reminders"] > 0
    with sql.bench_store(engine).unit_of_work() as uow:
        events = uow.events.for_item("b0000399")
        assert [e.sequence for e in events] == [1]
        assert uow.items.get("b0000399").version == 1
        logged = uow.events.since(0, 1000)  # the bulk log, then the job's events after it
        assert [x.position for x in logged] == list(range(1, len(logged) + 1))
        assert {x.event.sequence for x in logged[:400]} == {1}
        assert min(x.event.sequence for x in logged[400:]) == 2
    engine.dispose()


def test_lifecycle_benchmark_runs_a_few_items() -> None:
    lifecycle = _load("lifecycle")
    from qiandao_adapters.memory import MemoryStore

    assert lifecycle.lifecycles(MemoryStore(), 5) > 0


def test_lanes_benchmark_measures_every_lane_of_every_role() -> None:
    lanes = _load("lanes")
    figures = lanes.measure(60, runs=1, report=lambda _line: None)
    from qiandao.lanes import Lane

    measured = {key.split("/")[1] for key in figures}
    assert measured == {lane.value for lane in Lane}


def test_lifecycle_benchmark_measures_encryption_on_and_off() -> None:
    lifecycle = _load("lifecycle")
    assert lifecycle.encryption_cost(3, 1) > 0


def test_audit_benchmark_builds_a_log_that_verifies(tmp_path: Path) -> None:
    audit = _load("audit")
    from qiandao import AuditChain, check_audit
    from qiandao_adapters.crypto import KeyRing
    from qiandao_adapters.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'audit.db'}", keys=KeyRing.generate())
    store.create_all()
    audit.build(store, 250, AuditChain(audit.KEY), every=100)
    assert check_audit(store, audit_key=audit.KEY).records == 250 + 2  # and two checkpoints
    assert audit.bare_read_and_hash(store) == 252
    store.dispose()


def test_paging_benchmark_reaches_a_deep_page_by_cursor() -> None:
    paging = _load("paging")
    figures = paging.measure(None, 40, 25, 1)  # asserts each page's row count
    assert set(figures) == {"published_first", "published_deep", "my_items_first", "my_items_deep"}


def test_outbox_benchmark_measures_dispatch_with_and_without_history() -> None:
    outbox = _load("outbox")
    lines: list[str] = []
    growth = outbox.run(30, 3, report=lines.append)
    assert set(growth) == {"memory", "sqlite"} and all(g > 0 for g in growth.values())
    assert len(lines) == 6
    outbox.run_batches(4, 1, report=lines.append)
    assert len(lines) == 8


def test_similar_benchmark_measures_quality_and_latency_against_a_full_scan() -> None:
    similar = _load("similar")
    lines: list[str] = []
    found = similar.quality(0, report=lines.append, asked=10)
    assert found.queries == 20 and found.corpus == 880
    assert 0 < found.recall_at_5 <= 1 and 0 < found.peer_recall_at_5 <= 1
    figures = similar.latency(200, 5, report=lines.append)
    assert set(figures) == {"median_ms", "p95_ms", "peer_median_ms", "peer_p95_ms"}
    assert len(lines) == 2


def test_topics_benchmark_times_hot_topics_against_a_counter() -> None:
    topics = _load("topics")
    lines: list[str] = []
    figures = topics.run(120, 30, 12, 1, report=lines.append)
    assert set(figures) == {"median_s", "first_s", "peer_median_s", "burst_rank", "peer_burst_rank"}
    assert figures["burst_rank"] >= 1  # the burst is among the topics
    assert len(lines) == 1


def test_reports_benchmark_renders_the_bulletin_in_every_format() -> None:
    reports = _load("reports")
    lines: list[str] = []
    figures = reports.measure(300, runs=1, report=lines.append)
    assert set(figures) == {"quarterly_bulletin", "docx", "xlsx", "csv"}
    assert len(lines) == 6 and "bulletin_report docx" in lines[3]


def test_sql_overhead_benchmark_measures_qiandao_and_the_raw_driver(tmp_path: Path) -> None:
    sql_overhead = _load("sql_overhead")
    ours, raw, replayed = sql_overhead.measure(
        f"sqlite:///{tmp_path / 'command.db'}", 1, 1, preloaded=5, plaintext=True
    )
    assert ours > 0 and raw > 0 and replayed > 0


def test_sql_overhead_replay_does_the_writes_the_commands_did(tmp_path: Path) -> None:
    """The floor the benchmark prints is real work: replaying a lifecycle's recorded statements
    on the copy leaves it row for row as the store is, every compare-and-set included."""
    from sqlalchemy import Engine, select

    from qiandao_adapters.sql import metadata

    def rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
        with engine.connect() as conn:
            return {
                t.name: sorted(tuple(r) for r in conn.execute(select(t)))
                for t in metadata.sorted_tables
            }

    sql_overhead = _load("sql_overhead")
    url = f"sqlite:///{tmp_path / 'command.db'}"
    store = sql_overhead._store(url, plaintext=True)
    service = sql_overhead.Service(store, 3)
    with sql_overhead._replica(url) as replica:
        replay = sql_overhead.Replay(store.engine, replica)
        try:
            recorder = sql_overhead.Recorder(store.engine)
            service.per_command(2)
            steps = recorder.take()
            assert any(s.startswith("UPDATE qd_items") for s, _, _ in steps)
            replay.per_command(steps, 16)
            assert rows(replay.engine) == rows(store.engine)
        finally:
            replay.close()
            store.dispose()


def test_imports_benchmark_times_each_import_against_a_bare_interpreter() -> None:
    imports = _load("imports")
    lines: list[str] = []
    figures = imports.measure(1, report=lines.append)
    assert set(figures) == {"bare", *(f"this checkout/{m}" for m in imports.MODULES)}
    assert all(seconds > 0 for seconds in figures.values())
    assert len(lines) == 2 + len(imports.MODULES) and "heavy loaded: none" in lines[2]


def test_memory_benchmark_counts_bytes_per_item_against_the_item_document() -> None:
    memory = _load("memory")
    figures = memory.measure(20)
    assert set(figures) == {"pending", "dispatched", "document"}
    assert all(value > 0 for value in figures.values())
