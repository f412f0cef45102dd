"""An account leaves the library only as an AccountView (第十七、十九条), on every store: no
password hash or history, and the phone masked (``138****8000``) for all but the person.

Each test is an attack: an administrator (the one who registers, locks, unlocks, revokes and
deletes) reading a person's number or hash through a return value, its JSON form, or an
idempotent retry."""

from __future__ import annotations

import json

import attrs
import pytest

from qiandao import AccountView, Actor, Role, RoleGrant, to_json
from qiandao.ports.store import Store
from tests.helpers import ZS
from tests.sql.test_grants import PHONE, Office

MASKED = "138****8000"
SECOND_PHONE = "13600136000"


@pytest.fixture
def office(any_store: Store) -> Office:
    return Office(any_store)


def _hides(view: AccountView, phone: str) -> None:
    """Neither the view nor its JSON holds the number or any hash."""
    assert not {"password_hash", "password_history"} & set(attrs.fields_dict(AccountView))
    text = json.dumps(to_json(view), ensure_ascii=False)
    assert phone not in text and "argon2" not in text and "password_hash" not in text
    if view.phone is not None:
        assert view.phone_masked and view.phone == phone[:3] + "****" + phone[-4:]


def test_every_admin_command_returns_the_phone_masked(office: Office) -> None:
    qd, admin = office.qd, office.admin
    registered = qd.register(admin, real_name="张三", phone=PHONE, role=Role.MEMBER)
    _hides(registered, PHONE)
    person = office.person(SECOND_PHONE)
    office.grant(person, Role.INFO_OFFICER, ZS)
    for view in (
        qd.revoke_role(admin, person, RoleGrant(Role.INFO_OFFICER, ZS)),
        qd.report_theft(admin, person),
        qd.unlock(admin, person, idempotency_key="u"),
        qd.unlock(admin, person, idempotency_key="u"),  # the retry returns the first outcome
    ):
        _hides(view, SECOND_PHONE)
    for _ in range(2):  # the first outcome, and the retry that returns it
        gone = qd.depart(admin, person, idempotency_key="bye")
        assert gone.phone is None and not gone.phone_masked
        _hides(gone, SECOND_PHONE)


def test_the_first_admin_is_returned_masked_too(office: Office) -> None:
    """bootstrap_admin returns the view of nobody in particular: masked."""
    view = AccountView.of(office.account(office.admin_id), None)
    assert view.phone_masked and "****" in (view.phone or "")


def test_the_person_sees_their_own_phone(office: Office) -> None:
    qd = office.qd
    person = office.person()
    signed = office.sign_in()
    bound = qd.bind_external(signed.token, "zzd", "ok:zhangsan")
    assert (bound.phone, bound.phone_masked) == (PHONE, False)
    own = qd.report_theft(Actor(person, Role.MEMBER, ZS), person)
    assert (own.phone, own.phone_masked) == (PHONE, False)
    assert "password_hash" not in to_json(own)  # type: ignore[operator]


def test_a_stored_account_turned_into_json_is_the_masked_view(office: Office) -> None:
    """A host that serialises a raw Account (read from its store) gets no hash and no number."""
    stored = office.account(office.person())
    assert stored.password_hash is not None
    data = to_json(stored)
    assert isinstance(data, dict)
    assert data["phone"] == MASKED and data["phone_masked"] is True
    assert "password_hash" not in data and "password_history" not in data
    assert stored.password_hash not in json.dumps(data)
