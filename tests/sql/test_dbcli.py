"""``python -m qiandao db upgrade``: creates or upgrades a database; bad URLs get clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from qiandao.cli import main
from qiandao_adapters.sql import make_engine, metadata


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
