"""docs/reference.md says what the package is: every enum value, error code, method and field."""

from __future__ import annotations

import inspect
import re

import attrs
import pytest

import qiandao
from qiandao._enum import LabelledEnum
from tests.reference_tables import (
    DESCRIBED,
    REFERENCE,
    RENDERERS,
    attrs_classes,
    error_classes,
    labelled_enums,
    public_methods,
    regions,
    render,
    signature,
)

PAGE = REFERENCE.read_text(encoding="utf-8")
REGENERATE = "run `.venv/bin/python -m tests.reference_tables` and commit docs/reference.md"


def section(heading: str) -> str:
    """The text under a Markdown heading line, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", PAGE, re.M | re.S)
    assert match is not None, f"docs/reference.md has no heading {heading!r}"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_generated_tables_match_the_package(name: str) -> None:
    assert regions(PAGE).get(name) == render(name), f"the {name} table is stale: {REGENERATE}"


def test_the_enums_found_include_the_ones_hosts_store() -> None:
    found = {cls.__name__ for cls in labelled_enums()}
    assert {
        "Role",
        "ItemState",
        "AssignmentState",
        "ItemCommand",
        "AssignmentCommand",
        "FocusCategory",
        "Channel",
        "Destination",
        "ReviewStage",
        "ReviewDecision",
        "ExtensionDecision",
        "FeedbackKind",
        "AdoptionLevel",
        "LeaderRank",
        "Rating",
        "DeadlineStatus",
        "Access",
        "AccountStatus",
        "AccountEventKind",
        "EventKind",
        "Lane",
        "PasswordProfile",
    } <= found


@pytest.mark.parametrize("enum", labelled_enums(), ids=lambda cls: cls.__name__)
def test_every_enum_value_and_label_is_documented(enum: type[LabelledEnum]) -> None:
    table = section(f"`{enum.__name__}`")
    missing = [m.name for m in enum if f"| `{m.value}` | {m.label} |" not in table]
    assert not missing, f"{enum.__name__} members missing from docs/reference.md: {missing}"


def test_every_error_code_is_documented() -> None:
    errors = section("6. 错误代码 · Error codes")
    for cls in error_classes():
        assert f"| `{cls.code}` | `{cls.__name__}`" in errors, cls.__name__
    exported = {
        name
        for name in qiandao.__all__
        if isinstance(getattr(qiandao, name), type)
        and issubclass(getattr(qiandao, name), qiandao.QiandaoError)
    }
    assert exported == {cls.__name__ for cls in error_classes()}


@pytest.mark.parametrize("method", public_methods())
def test_every_method_is_documented_with_its_signature(method: str) -> None:
    text = section(f"`{method}`")
    assert f"`{signature(method)}`" in text, f"signature of {method} differs from the code"


def test_the_methods_found_include_the_account_api() -> None:
    assert {
        "bootstrap_admin",
        "register",
        "sign_in",
        "change_password",
        "select_grant",
        "authenticate",
        "grant_role",
        "revoke_role",
        "account_history",
    } <= set(public_methods())


def test_every_constructor_parameter_is_documented() -> None:
    construction = section("1. 构造 · Construction")
    parameters = inspect.signature(qiandao.Qiandao.__init__).parameters
    for name in parameters:
        if name != "self":
            assert f"| `{name}` |" in construction, name


@pytest.mark.parametrize("name", DESCRIBED)
def test_every_field_of_a_described_type_is_explained(name: str) -> None:
    cls = getattr(qiandao, name)
    assert attrs.has(cls), f"{name} is not an exported attrs class"
    text = section(f"`{name}`")
    missing = [f.name for f in attrs.fields(cls) if f"| `{f.name}` |" not in text]
    assert not missing, f"fields of {name} missing from docs/reference.md: {missing}"


def test_every_exported_attrs_class_is_described_or_indexed() -> None:
    values = regions(PAGE)["values"]
    for cls in attrs_classes():
        assert cls.__name__ in DESCRIBED or f"| `{cls.__name__}` |" in values, cls.__name__
