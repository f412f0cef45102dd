"""A command's writes run without savepoints (issue 14): a refusal raised before the first write
leaves the unit of work usable; any other failure inside a write block loses the whole unit, so
nothing of it, not even what was written before the block, can be committed."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, insert, text

from qiandao.errors import ConcurrencyConflict, NotFound, QiandaoError
from qiandao.ports.store import ItemQuery
from qiandao.testing.builders import sample_item, sample_unit
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import unit_row
from tests.sql.conftest import Backend


def test_a_refusal_before_any_write_leaves_the_unit_usable(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.items.add(sample_item("item-0001"))
        uow.commit()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("unit-kept"))
        with pytest.raises(ConcurrencyConflict):
            uow.items.add(sample_item("item-0001"))  # a duplicate: refused before writing
        with pytest.raises(NotFound):
            uow.items.save(sample_item("ghost"), expected_version=3)
        uow.units.add(sample_unit("unit-after"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert {u.id for u in uow.units.list()} == {"unit-kept", "unit-after"}


def test_a_driver_error_after_a_write_loses_the_whole_unit(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        uow.units.add(sample_unit("unit-before"))  # written before the failing block
        with pytest.raises((exc.DBAPIError, QiandaoError)), uow.writes() as conn:
            conn.execute(insert(s.units).values(unit_row(sample_unit("unit-half"))))
            conn.execute(text("SELECT no_such_column FROM qd_units"))
        with pytest.raises(QiandaoError):
            uow.units.add(sample_unit("unit-later"))
        with pytest.raises(QiandaoError):
            uow.commit()
    with store.unit_of_work() as uow:
        assert uow.units.list() == []
        assert uow.items.find(ItemQuery()) == []


def test_a_rollback_makes_a_lost_unit_usable_again(backend: Backend) -> None:
    store = backend.store()
    with store.unit_of_work() as uow:
        with pytest.raises((exc.DBAPIError, QiandaoError)), uow.writes() as conn:
            conn.execute(text("SELECT no_such_column FROM qd_units"))
        uow.rollback()
        uow.units.add(sample_unit("unit-fresh"))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [u.id for u in uow.units.list()] == ["unit-fresh"]
