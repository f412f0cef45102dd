"""``python -m qiandao audit verify|checkpoint``: a clean log verifies (exit 0), a tampered one
names its first bad record (exit 1), the anchor of a checkpoint finds a later truncation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from qiandao import Qiandao
from qiandao.cli import main
from qiandao_adapters.sql import SqlStore
from qiandao_adapters.sql import schema as s
from tests.helpers import make_world

KEY = b"cli-test-audit-key-0123456789abc"


def _logged(url: str) -> SqlStore:
    store = SqlStore(url)
    store.create_all()
    w = make_world(store=store)
    w.qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, audit_key=KEY, hasher=None)
    w.issued()
    return store


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = tmp_path / "audit.key"
    path.write_text(base64.b64encode(KEY).decode("ascii"), encoding="ascii")
    return str(path)


def test_verify_and_checkpoint(
    sqlite_file: Callable[[], str], key_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_file()
    store = _logged(url)
    assert main(["audit", "verify", "--url", url, "--key-file", key_file]) == 0
    assert "0:" + "0" * 64 not in capsys.readouterr().out  # no checkpoint: no anchor to keep
    assert main(["audit", "checkpoint", "--url", url, "--key-file", key_file]) == 0
    anchor = capsys.readouterr().out.strip().split()[-1]
    assert main(["audit", "verify", "--url", url, "--key-file", key_file, "--anchor", anchor]) == 0
    assert anchor in capsys.readouterr().out
    for malformed in ("2:00ff", "x:" + "0" * 64, "-1:" + "0" * 64, anchor + ":1"):
        verify = ["audit", "verify", "--url", url, "--key-file", key_file, f"--anchor={malformed}"]
        assert main(verify) == 2  # bad input, not a tampered log
        assert "input.invalid" in capsys.readouterr().err
    with store.engine.begin() as conn:
        conn.execute(update(s.audit).where(s.audit.c.sequence == 1).values(action="nothing"))
    capsys.readouterr()
    assert main(["audit", "verify", "--url", url, "--key-file", key_file]) == 1
    assert "columns" in capsys.readouterr().err
    store.dispose()


def test_the_anchor_finds_the_checkpoints_cut(
    sqlite_file: Callable[[], str], key_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_file()
    store = _logged(url)
    assert main(["audit", "checkpoint", "--url", url, "--key-file", key_file]) == 0
    anchor = capsys.readouterr().out.strip().split()[-1]
    with store.engine.begin() as conn:
        conn.execute(delete(s.audit).where(s.audit.c.shard == "cp"))
        conn.execute(
            update(s.audit_heads)
            .where(s.audit_heads.c.shard == "cp")
            .values(sequence=0, hash="0" * 64)
        )
    assert main(["audit", "verify", "--url", url, "--key-file", key_file]) == 0
    assert main(["audit", "verify", "--url", url, "--key-file", key_file, "--anchor", anchor]) == 1
    store.dispose()


def test_a_keyed_log_without_the_key_and_a_bad_key_are_refused(
    sqlite_file: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_file()
    _logged(url).dispose()
    monkeypatch.delenv("QIANDAO_AUDIT_KEY", raising=False)
    assert main(["audit", "verify", "--url", url]) == 1  # keyed records cannot be checked
    monkeypatch.setenv("QIANDAO_AUDIT_KEY", base64.b64encode(KEY).decode("ascii"))
    assert main(["audit", "verify", "--url", url]) == 0
    bad = tmp_path / "bad.key"
    bad.write_text("not base64!", encoding="ascii")
    assert main(["audit", "verify", "--url", url, "--key-file", str(bad)]) == 2


def test_run_due_jobs_leaves_a_checkpoint() -> None:
    w = make_world()
    w.issued()
    report = w.qd.run_due_jobs()
    sequence, digest = report.audit_anchor.split(":")
    with w.store.unit_of_work() as uow:
        [checkpoint] = uow.audit.records("cp")
    assert (checkpoint.sequence, checkpoint.hash) == (int(sequence), digest)
    assert checkpoint.entry.heads  # the chains of the issued item's commands
