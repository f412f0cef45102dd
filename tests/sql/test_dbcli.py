"""``python -m qiandao db upgrade``: creates or upgrades a database; bad URLs get clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from qiandao.cli import main
from qiandao_adapters.sql import current_revision, make_engine, metadata


def test_upgrade_creates_then_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert main(["db", "upgrade", "--url", url]) == 0
    engine = make_engine(url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "head" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("nonsense://", "input.invalid"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", "store.unavailable"),
    ],
)
def test_bad_urls(url: str, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--url", url]) == 2
    err = capsys.readouterr().err
    assert f"[{code}]" in err
    assert "Traceback" not in err


def test_upgrade_to_an_older_revision_is_refused_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    head = current_revision(url)
    assert head is not None and head != "0002"
    capsys.readouterr()
    assert main(["db", "upgrade", "--url", url, "--revision", "0002"]) == 2
    out, err = capsys.readouterr()
    assert "已升级到 0002" not in out
    assert "[input.invalid]" in err
    assert f"当前版本为 {head}" in err
    assert "不降级" in err
    assert "Traceback" not in err
    assert current_revision(url) == head


def test_upgrade_prints_the_revision_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert main(["db", "upgrade", "--url", url, "--revision", "0002"]) == 0
    assert "已升级到 0002：" in capsys.readouterr().out
    assert current_revision(url) == "0002"
    assert main(["db", "upgrade", "--url", url]) == 0
    out = capsys.readouterr().out
    assert f"已升级到 {current_revision(url)}（head）" in out
    assert current_revision(url) != "0002"


def test_an_unknown_revision_is_a_coded_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'county.db'}"
    assert main(["db", "upgrade", "--url", url, "--revision", "9999"]) == 2
    err = capsys.readouterr().err
    assert "[input.invalid]" in err
    assert "Traceback" not in err
    assert current_revision(url) is None
