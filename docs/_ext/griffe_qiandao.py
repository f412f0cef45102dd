"""A griffe extension for the documentation site (mkdocs.yml): docstrings as the site shows them.

- reST roles in our docstrings (``:class:`~qiandao.Item``` and the like) become inline code, since
  the site renders Markdown;
- an enum member (``DRAFT = "draft", "草稿"``) shows its wire value and its Chinese label;
- the fields of the result types explained in docs/reference.md §3 (the ``DESCRIBED`` classes,
  whose fields carry no docstring of their own) get that explanation on the API pages too, so a
  field reads the same in both places and is written once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")
_SECTION = re.compile(r"^#{3,4} `(\w+)`\n(.*?)(?=^#{2,4} |\Z)", re.M | re.S)
_MEMBER = re.compile(r"""^\(?\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)?$""")
_ROW = re.compile(r"^\| `(\w+)` \| .*? \| (.*) \|$", re.M)
REFERENCE = Path(__file__).resolve().parent.parent / "reference.md"


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def _field_meanings() -> dict[str, dict[str, str]]:
    """Class name → field → meaning, from the field tables of docs/reference.md."""
    text = REFERENCE.read_text(encoding="utf-8")
    found: dict[str, dict[str, str]] = {}
    for name, body in _SECTION.findall(text):
        rows = dict(_ROW.findall(body))
        if rows:
            found.setdefault(name, rows)
    return found


class QiandaoDocstrings(griffe.Extension):
    """Rewrites roles and fills the explained fields of the result types."""

    def __init__(self) -> None:
        self.meanings = _field_meanings()

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Walk the loaded package once."""
        self._walk(pkg)

    def _walk(self, obj: Any) -> None:
        if obj.is_alias:
            return
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_role, obj.docstring.value)
        meanings = self.meanings.get(obj.name, {}) if obj.is_class else {}
        enum = obj.is_class and any("Enum" in str(base) for base in obj.bases)
        for name, member in list(obj.members.items()):
            if member.is_alias:
                continue
            if member.is_attribute and member.docstring is None and name in meanings:
                member.docstring = griffe.Docstring(
                    _ROLE.sub(_role, meanings[name].replace("\\|", "|")), parent=member
                )
            elif enum and member.is_attribute and member.docstring is None:
                pair = _MEMBER.match(str(member.value or ""))
                if pair:
                    member.docstring = griffe.Docstring(
                        f"线上取值 wire value `{pair[1]}` · 标签 label {pair[2]}", parent=member
                    )
            self._walk(member)
