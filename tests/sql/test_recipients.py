"""The recipient resolver on every store: names become the active people behind them."""

from __future__ import annotations

import attrs
import pytest

from qiandao import (
    AccountStatus,
    InvalidInput,
    RecipientResolver,
    Recipients,
    Role,
    RoleGrant,
    resolve_recipients,
)
from qiandao.ports.store import Store
from qiandao.testing import sample_account, sample_unit

ZS, DH = "zhoushan", "dinghai"


def _seed(store: Store) -> None:
    unit = sample_unit("u-ocean", jurisdiction=ZS)
    other = sample_unit("u-farm", jurisdiction=ZS)
    accounts = [
        sample_account("e1", "13900000001", role=Role.EDITOR, real_name="编辑甲"),
        sample_account("e2", "13900000002", role=Role.EDITOR),
        sample_account("e-far", "13900000003", role=Role.EDITOR, jurisdiction=DH),
        sample_account("e-gone", None, role=Role.EDITOR, status=AccountStatus.DELETED),
        sample_account("e-stolen", "13900000005", role=Role.EDITOR, status=AccountStatus.LOCKED),
        sample_account("h1", "13900000006", role=Role.HANDLING_UNIT, unit_id="u-ocean"),
        sample_account("h2", "13900000007", role=Role.HANDLING_UNIT, unit_id="u-farm"),
        sample_account("m1", None),  # no phone: reached, but nothing to text
        # an editor who also handles for the ocean unit: one person, reached once
        sample_account(
            "both",
            "13900000009",
            grants=(RoleGrant(Role.EDITOR, ZS), RoleGrant(Role.HANDLING_UNIT, ZS, "u-ocean")),
        ),
    ]
    with store.unit_of_work() as uow:
        uow.units.add(unit)
        uow.units.add(other)
        for account in accounts:
            uow.accounts.add(account)
        uow.commit()


def _resolve(store: Store, *names: str) -> Recipients:
    with store.unit_of_work() as uow:
        return resolve_recipients(uow, names)


def test_groups_become_their_active_people_each_once(any_store: Store) -> None:
    _seed(any_store)
    found = _resolve(any_store, "role:editor@zhoushan", "unit:u-ocean", "m1")
    assert [c.account_id for c in found.contacts] == ["both", "e1", "e2", "h1", "m1"]
    by_id = {c.account_id: c for c in found.contacts}
    assert by_id["both"].via == ("role:editor@zhoushan", "unit:u-ocean")
    assert by_id["e1"].name == "编辑甲"
    assert by_id["e1"].phone == "13900000001"
    assert by_id["e1"].subject("zzd") == "zzd-e1"  # the 浙政钉 id, for a work-notice relay
    assert by_id["e1"].subject("nowhere") is None
    assert found.phones == ("13900000009", "13900000001", "13900000002", "13900000006")
    assert found.unreached == ()


def test_departed_theft_locked_and_other_places_are_not_reached(any_store: Store) -> None:
    _seed(any_store)
    found = _resolve(any_store, "e-gone", "e-stolen", "role:editor@dinghai", "unit:u-farm")
    assert [c.account_id for c in found.contacts] == ["e-far", "h2"]
    assert found.unreached == ("e-gone", "e-stolen")


def test_unknown_names_reach_nobody(any_store: Store) -> None:
    _seed(any_store)
    found = _resolve(any_store, "nobody", "unit:u-missing", "role:chair@zhoushan", "nobody")
    assert found.contacts == ()
    assert found.unreached == ("nobody", "unit:u-missing", "role:chair@zhoushan")


def test_a_malformed_name_is_refused(any_store: Store) -> None:
    _seed(any_store)
    with pytest.raises(InvalidInput) as refused:
        _resolve(any_store, "e1", "role:emperor@zhoushan")
    assert refused.value.code == "input.invalid"


def test_the_resolver_reads_the_store_as_it_is_at_delivery(any_store: Store) -> None:
    _seed(any_store)
    resolve = RecipientResolver(any_store)
    assert [c.account_id for c in resolve(["unit:u-ocean"]).contacts] == ["both", "h1"]
    with any_store.unit_of_work() as uow:
        h1 = uow.accounts.get("h1")
        uow.accounts.save(
            attrs.evolve(h1, status=AccountStatus.LOCKED, version=h1.version + 1), h1.version
        )
        uow.commit()
    assert [c.account_id for c in resolve(["unit:u-ocean"]).contacts] == ["both"]


def test_a_contact_never_shows_its_phone_in_repr(any_store: Store) -> None:
    _seed(any_store)
    (contact,) = _resolve(any_store, "e1").contacts
    assert "13900000001" not in repr(contact)
    assert "139****0001" in repr(contact)
