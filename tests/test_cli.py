"""The command line and the package's import hygiene."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qiandao.cli import main


def test_due_prints_date_and_explanation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "due", "2026-09-28", "15"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2026-10-23"
    assert "2026-10-10" in out[1]  # the 调休 make-up Saturday is counted


def test_years_lists_official_years(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "years"]) == 0
    out = capsys.readouterr().out
    for year in range(2018, 2027):
        assert f"{year}  官方安排" in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["calendar", "due", "2026-13-01", "15"], "calendar.invalid_date"),
        (["calendar", "due", "tomorrow", "15"], "calendar.invalid_date"),
        (["calendar", "due", "2026-11-26", "-3"], "calendar.invalid_count"),
        (["calendar", "due", "2026-11-26", "x"], "calendar.invalid_count"),
        (["calendar", "due", "2026-11-26", "100000"], "calendar.invalid_count"),
        (["calendar", "due", "1990-01-01", "3"], "calendar.year_out_of_range"),
        (
            ["calendar", "due", "2026-11-26", "3", "--schedule", "/nonexistent.toml"],
            "calendar.schedule_invalid",
        ),
    ],
)
def test_bad_input_gives_code_not_traceback(
    args: list[str], code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"[{code}]" in err
    assert "Traceback" not in err


def test_import_loads_no_sql_library_or_driver() -> None:
    probe = (
        "import sys, qiandao, qiandao.testing\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy','alembic','psycopg','pymysql','sqlite3','argon2','qiandao_adapters')]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qiandao", "calendar", "due", "2026-11-26"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("2026-12-17")
