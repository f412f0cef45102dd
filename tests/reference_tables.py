"""The generated parts of docs/reference.md, rendered from the package itself.

``tests/test_reference.py`` checks that the page holds exactly these renderings, so a new enum
member, error class, field or method signature fails the tests until the page is updated. To
update the page after such a change::

    .venv/bin/python -m tests.reference_tables          # rewrites the generated regions
    .venv/bin/python -m tests.reference_tables --signatures   # prints every method signature

Only the regions between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``
are rewritten; the prose around them (and each method's description) is written by hand.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

import qiandao
from qiandao._enum import LabelledEnum

__all__ = [
    "DESCRIBED",
    "REFERENCE",
    "attrs_classes",
    "error_classes",
    "labelled_enums",
    "public_methods",
    "regions",
    "render",
    "signature",
]

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"

DESCRIBED = (
    "AuditRecord",
    "AuditEntry",
    "AuditQuery",
    "AuditPage",
    "AuditVerification",
    "AuditFault",
    "AuditPurge",
    "RequestContext",
    "ItemView",
    "SimilarItem",
    "HotTopics",
    "HotTopic",
    "AssignmentView",
    "AllowedAction",
    "Page",
    "LanePage",
    "FeedPage",
    "FeedEntry",
    "OverdueReview",
    "SignIn",
    "JobReport",
    "DispatchReport",
    "Bulletin",
    "PersonLine",
    "UnitLine",
    "GroupLine",
    "CommissionProgress",
    "InviteeProgress",
    "AnnualPlan",
    "Target",
    "PlanRevision",
    "PlanProgress",
    "TargetProgress",
    "PersonProgress",
    "Actor",
    "Account",
    "AccountView",
    "RoleGrant",
    "AccountEvent",
    "Item",
    "TextVersion",
    "ReviewRecord",
    "ReviewOverrun",
    "Assignment",
    "ExtensionRequest",
    "Reply",
    "Feedback",
    "Commission",
    "Unit",
    "DraftInput",
)
"""Attrs classes whose fields docs/reference.md explains by hand, each in a ``### `Name``` section.
Every other exported attrs class is listed (fields and types) in the generated index."""


def _exported() -> list[tuple[str, object]]:
    return [(name, getattr(qiandao, name)) for name in qiandao.__all__]


def labelled_enums() -> list[type[LabelledEnum]]:
    """Every LabelledEnum exported from ``qiandao``, in ``__all__`` order."""
    return [
        value
        for _, value in _exported()
        if isinstance(value, type) and issubclass(value, LabelledEnum)
    ]


def error_classes() -> list[type[qiandao.QiandaoError]]:
    """``QiandaoError`` and every subclass exported from ``qiandao``, ordered by code."""
    found = [
        value
        for _, value in _exported()
        if isinstance(value, type) and issubclass(value, qiandao.QiandaoError)
    ]
    return sorted(found, key=lambda cls: cls.code)


def attrs_classes() -> list[type]:
    """Every attrs class exported from ``qiandao``, in ``__all__`` order."""
    return [value for _, value in _exported() if isinstance(value, type) and attrs.has(value)]


def public_methods() -> list[str]:
    """The public method names of ``Qiandao`` (its own and its mix-ins'), sorted."""
    return sorted(
        name
        for name, value in inspect.getmembers(qiandao.Qiandao)
        if not name.startswith("_") and callable(value) and not isinstance(value, type)
    )


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _first_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.split("\n\n")[0].replace("\n", " ").replace("``", "`").strip()


def _default(value: object) -> str:
    return '""' if value == "" else repr(value)


def signature(name: str) -> str:
    """``name(parameters) -> return``, as written in the source (without ``self``)."""
    sig = inspect.signature(getattr(qiandao.Qiandao, name))
    parts: list[str] = []
    star = False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = f"{p.name}: {p.annotation}"
        if p.default is not p.empty:
            text += f" = {_default(p.default)}"
        parts.append(text)
    return f"{name}({', '.join(parts)}) -> {sig.return_annotation}"


def _enums() -> str:
    out: list[str] = []
    for cls in labelled_enums():
        out += [
            f"#### `{cls.__name__}`",
            "",
            f"`{cls.__module__}` — {_first_line(cls)}",
            "",
            "| 取值 wire value | 标签 label | 成员 member |",
            "|---|---|---|",
        ]
        out += [f"| `{m.value}` | {_cell(m.label)} | `{m.name}` |" for m in cls]
        out.append("")
    return "\n".join(out)


def _errors() -> str:
    out = [
        "| `code` | 类 class | 类别 kind | HTTP | 默认条款 article | 默认消息 default message "
        "| 何时 when |",
        "|---|---|---|---|---|---|---|",
    ]
    for cls in error_classes():
        parent = cls.__mro__[1].__name__ if cls is not qiandao.QiandaoError else "Exception"
        out.append(
            f"| `{cls.code}` | `{cls.__name__}`（{parent}） | `{cls.kind.value}` | "
            f"{cls.kind.http_status} | {cls.article or '—'} | "
            f"{_cell(cls.default_message)} | {_cell(_first_line(cls))} |"
        )
    return "\n".join(out) + "\n"


def _kinds() -> str:
    out = [
        "| 类别 kind | 含义 label | HTTP | 代码 codes |",
        "|---|---|---|---|",
    ]
    for kind in qiandao.ErrorKind:
        codes = ", ".join(f"`{c.code}`" for c in error_classes() if c.kind is kind)
        out.append(f"| `{kind.value}` | {kind.label} | {kind.http_status} | {codes} |")
    return "\n".join(out) + "\n"


def _annotation(cls: type, name: str) -> str:
    """A field's annotation as written in the source (``attrs.resolve_types``, which the
    converter calls, replaces ``Field.type`` with the evaluated type)."""
    for klass in cls.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get(name)
        if annotation is not None:
            return (
                annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)
            )
    raise LookupError(f"{cls.__name__}.{name} has no annotation")


def _values() -> str:
    out = [
        "| 类 class | 模块 module | 字段 fields |",
        "|---|---|---|",
    ]
    for cls in attrs_classes():
        if cls.__name__ in DESCRIBED:
            continue
        fields = ", ".join(f"`{f.name}: {_annotation(cls, f.name)}`" for f in attrs.fields(cls))
        out.append(f"| `{cls.__name__}` | `{cls.__module__}` | {_cell(fields)} |")
    return "\n".join(out) + "\n"


RENDERERS: dict[str, Callable[[], str]] = {
    "enums": _enums,
    "errors": _errors,
    "kinds": _kinds,
    "values": _values,
}


def render(name: str) -> str:
    """The generated text of one region."""
    return RENDERERS[name]()


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- BEGIN GENERATED: {name} -->\n)(.*?)(<!-- END GENERATED: {name} -->)", re.S
    )


def regions(text: str) -> dict[str, str]:
    """The generated regions found in ``text``, by name."""
    found: dict[str, str] = {}
    for name in RENDERERS:
        match = _pattern(name).search(text)
        if match is not None:
            found[name] = match.group(2)
    return found


def _rewrite() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for name in RENDERERS:
        generated = render(name)

        def fill(match: re.Match[str], generated: str = generated) -> str:
            return match.group(1) + generated + match.group(3)

        text, count = _pattern(name).subn(fill, text)
        if count != 1:
            raise SystemExit(f"docs/reference.md: region {name!r} appears {count} times")
    REFERENCE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if "--signatures" in sys.argv[1:]:
        for method in public_methods():
            print(signature(method))
    else:
        _rewrite()
