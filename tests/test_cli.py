"""The command line and the package's import hygiene."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from qiandao.cli import _build_parser, main


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


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def _bilingual(text: str | None) -> bool:
    """Chinese, and an English word that is not a URL, a file, a variable or an acronym."""
    words = [w for w in re.split(r"[\s，、（）()/]+", text or "") if not re.search(r"[:/.$_]", w)]
    return bool(re.search(r"[\u4e00-\u9fff]", text or "")) and any(
        re.fullmatch(r"[a-z]{3,}[a-z-]*", w) for w in words
    )


def test_every_command_and_option_has_help_in_chinese_and_english() -> None:
    """Every sub-command (the adapters' included) and every option's help names itself in
    Chinese and in English, so an operator reads ``--help`` in either."""
    missing = []
    for prog, parser in _parsers(_build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not _bilingual(action.help):
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not _bilingual(choice.help):
                        missing.append(f"{prog} {choice.dest}")
    assert missing == []
