"""Importing the library loads only what every host needs: the statutory calendar machinery
(workalendar) loads when a provisional year is asked for, Alembic when a migration is run."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after a fresh interpreter runs ``code``."""
    script = (
        f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def test_import_qiandao_leaves_workalendar_unloaded() -> None:
    assert "workalendar" not in _loaded_after("import qiandao")


def test_a_provisional_year_loads_workalendar() -> None:
    code = (
        "from qiandao.calendar import ChinaWorkdays\n"
        "assert ChinaWorkdays.official().schedule(2049).provisional"
    )
    assert "workalendar" in _loaded_after(code)


def test_import_sql_adapter_leaves_alembic_unloaded() -> None:
    pytest.importorskip("sqlalchemy")
    loaded = _loaded_after("import qiandao_adapters.sql")
    assert "alembic" not in loaded and "workalendar" not in loaded


def test_opening_a_store_at_head_leaves_alembic_unloaded() -> None:
    pytest.importorskip("sqlalchemy")
    code = (
        "from qiandao_adapters.sql import SqlStore\n"
        "store = SqlStore('sqlite://', plaintext=True)\n"
        "store.create_all()\n"
        "with store.unit_of_work() as uow:\n"
        "    uow.units.list()"
    )
    assert "alembic" not in _loaded_after(code)


def test_head_revision_read_from_the_files_is_alembics_head() -> None:
    pytest.importorskip("alembic")
    from qiandao_adapters.sql.migrations import _script, head_revision

    assert head_revision() == _script().get_current_head()
