"""The examples in the README and docs/ run as written (a newcomer copies them first)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qiandao_adapters.crypto import SM4_GCM, KeyRing

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(path: Path, language: str) -> list[str]:
    """The fenced code blocks of one language in a Markdown file."""
    return [
        body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang == language
    ]


@pytest.mark.parametrize(
    "doc",
    [
        "README.md",
        "docs/architecture.md",
        "docs/workflow.md",
        "docs/rules.md",
        "docs/calendar.md",
        "docs/reference.md",
        "docs/channels.md",
        "docs/index.md",
        "docs/reports.md",
    ],
)
def test_python_blocks_run(doc: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / doc
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "putuo.toml", tmp_path / "examples" / "putuo.toml")
    toml_blocks = blocks(path, "toml")
    if doc == "docs/calendar.md":  # the documented file format, used by the load example
        (tmp_path / "schedule-2027.toml").write_text(toml_blocks[0], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # the examples are production-shaped: the SQL store's key comes from the environment
    monkeypatch.setenv("QIANDAO_KEYS", KeyRing.generate(key_id="kek-1", algorithm=SM4_GCM).dumps())
    monkeypatch.delenv("QIANDAO_KEY_FILE", raising=False)
    ran = 0
    for code in blocks(path, "python"):
        if "/etc/" in code:  # a deployment path, shown for illustration
            continue
        exec(  # dont_inherit: annotations in the docs are evaluated, as in a reader's file
            compile(code, f"{doc}:python", "exec", dont_inherit=True),
            {"__name__": "__doc_example__"},
        )
        ran += 1
    assert ran > 0


def test_rules_page_shows_the_shipped_county_file() -> None:
    """docs/rules.md shows examples/putuo.toml as it is, so the file and the page never differ."""
    shipped = (ROOT / "examples" / "putuo.toml").read_text(encoding="utf-8")
    assert shipped in blocks(ROOT / "docs" / "rules.md", "toml")


def test_county_host_example_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'putuo.db'}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "county_host.py"), url],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    assert '"status": 201' in done.stdout
    assert '"status": 422' in done.stdout
    assert "关于桃花岛供水管网改造的建议" in done.stdout


def test_demo_runs_in_memory(capsys: pytest.CaptureFixture[str]) -> None:
    from qiandao_adapters.demo import run_demo

    run_demo(memory=True)
    out = capsys.readouterr().out
    assert "陈主席签发" in out
    assert "严重逾期" in out
    assert "哈希链校验：完好" in out  # the audit of everything the demo did verifies
    assert "演示结束" in out


def test_demo_on_sqlite_makes_a_local_key_and_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qiandao_adapters.demo import run_demo

    monkeypatch.delenv("QIANDAO_KEYS", raising=False)
    monkeypatch.delenv("QIANDAO_KEY_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url=url)
    key_file = tmp_path / "qiandao-demo.keys"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first = key_file.read_text()
    (tmp_path / "demo.db").unlink()
    run_demo(url=url)
    assert key_file.read_text() == first
    assert "演示结束" in capsys.readouterr().out
    assert "陈主席".encode() not in (tmp_path / "demo.db").read_bytes()


def test_every_migration_is_described_in_storage_md() -> None:
    versions = ROOT / "adapters" / "qiandao_adapters" / "sql" / "migrations" / "versions"
    page = (ROOT / "docs" / "storage.md").read_text(encoding="utf-8")
    revisions = sorted(path.name[:4] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert len(revisions) >= 16
    missing = [r for r in revisions if f"| `{r}` |" not in page]
    assert not missing, f"migrations without a row in docs/storage.md: {missing}"
