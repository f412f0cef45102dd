"""Recipient names: the names notices write parse back to themselves; malformed ones are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import InvalidInput, RecipientKind, RecipientName, Role, parse_recipient
from qiandao.notices import role_group, unit_group

ids = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s == s.strip())


@given(role=st.sampled_from(Role), place=ids)
def test_a_role_group_parses_to_its_role_and_place(role: Role, place: str) -> None:
    name = role_group(role, place)
    assert parse_recipient(name) == RecipientName(RecipientKind.ROLE, place, role)
    assert str(parse_recipient(name)) == name


@given(unit=ids)
def test_a_unit_group_parses_to_its_unit(unit: str) -> None:
    assert parse_recipient(unit_group(unit)) == RecipientName(RecipientKind.UNIT, unit)
    assert str(parse_recipient(unit_group(unit))) == unit_group(unit)


@given(account=ids.filter(lambda s: not s.startswith(("unit:", "role:"))))
def test_anything_else_is_an_account_id(account: str) -> None:
    assert parse_recipient(account) == RecipientName(RecipientKind.ACCOUNT, account)
    assert str(parse_recipient(account)) == account


@pytest.mark.parametrize(
    "name",
    [
        "",
        " m1",
        "unit:",
        "unit: u1",
        "role:editor",
        "role:editor@",
        "role:emperor@zs",
        "role:信息工作人员@zs",
        "role:EDITOR@zs",
        "x" * 129,
        42,
    ],
)
def test_a_malformed_name_is_invalid_input(name: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_recipient(name)  # type: ignore[arg-type]
    assert refused.value.code == "input.invalid"
    assert refused.value.details["field"] == "recipients"
