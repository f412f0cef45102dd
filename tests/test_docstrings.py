"""Every public name a host may use is explained on the documentation site.

The API pages (docs/api/) are rendered by mkdocstrings from the docstrings, so a public class,
function, method, property, constant or field without one would be an empty entry. These tests
read the packages as the site does (griffe) and fail on any such name, and on API pages that no
longer match the packages' ``__all__``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.api_pages import API, PAGES, coverage, load, public_surface, render

pytest.importorskip("griffe", reason="the docs extra (griffe, via mkdocstrings) is not installed")


@pytest.fixture(scope="module")
def packages() -> dict[str, Any]:
    return {name: load(name) for name in ("qiandao", "qiandao_adapters")}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.file)
def test_api_pages_match_the_packages(page: Any) -> None:
    committed = (API / page.file).read_text(encoding="utf-8")
    assert committed == render(page), (
        f"docs/api/{page.file} is stale: run `.venv/bin/python -m tests.api_pages`"
    )


def test_every_api_page_is_in_the_site_navigation() -> None:
    nav = (API.parent.parent / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert f"api/{page.file}" in nav, page.file


def test_every_public_name_member_and_field_has_a_docstring(packages: dict[str, Any]) -> None:
    found = coverage(public_surface(), packages, ("qiandao",))
    assert found.names > 400 and found.members > 500 and found.fields > 200  # the whole surface
    assert not found.missing, "without a docstring:\n" + "\n".join(found.missing)


def test_the_check_finds_an_undocumented_function_method_and_field(tmp_path: Path) -> None:
    package = tmp_path / "undocumented"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            """A package with gaps."""
            import attrs

            __all__ = ["Value", "helper", "documented"]


            def helper(x: int) -> int:
                return x


            def documented() -> None:
                """Has one."""


            @attrs.frozen
            class Value:
                """A value."""

                kept: int
                """Explained."""
                bare: str

                def method(self) -> None:
                    pass
            '''
        ),
        encoding="utf-8",
    )
    import importlib
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("undocumented")
        surface = {f"undocumented.{name}": getattr(module, name) for name in module.__all__}
        found = coverage(
            surface, {"undocumented": load("undocumented", [str(tmp_path)])}, ("undocumented",)
        )
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("undocumented", None)
    assert set(found.missing) == {
        "undocumented.helper",
        "undocumented.Value.bare",
        "undocumented.Value.method",
    }


def test_the_article_index_names_every_method_of_the_service() -> None:
    import inspect
    import re

    import qiandao

    page = (API.parent / "architecture.md").read_text(encoding="utf-8")
    table = page[page.index("## 条文 → 规则 → 决定 → 方法") : page.index("## 宿主在哪里接入")]
    named = set(re.findall(r"`(\w+)`", table))
    methods = {
        name
        for name, value in inspect.getmembers(qiandao.Qiandao, callable)
        if not name.startswith("_") and not isinstance(value, type)
    }
    assert methods - named == set(), "methods missing from the article index in architecture.md"
