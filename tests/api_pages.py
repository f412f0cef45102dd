"""The API pages of the documentation site (docs/api/), generated from the packages' ``__all__``.

Each page holds mkdocstrings directives (``::: qiandao.Item``) that the site renders from the
docstrings; ``tests/test_docstrings.py`` checks that the committed pages are exactly what this
module writes, so a new public name appears on the site or fails the tests. To update::

    .venv/bin/python -m tests.api_pages        # rewrites docs/api/*.md
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

__all__ = [
    "API",
    "PAGES",
    "SUBMODULES",
    "ApiPage",
    "Coverage",
    "coverage",
    "load",
    "main",
    "page_of",
    "public_surface",
    "render",
]

API = Path(__file__).resolve().parent.parent / "docs" / "api"


@attrs.frozen
class ApiPage:
    """One page of the API reference: its file, its title and its introduction."""

    file: str
    title: str
    intro: str


PAGES = (
    ApiPage(
        "service.md",
        "服务 · The service",
        "`Qiandao` 是宿主调用的唯一入口：每个公开方法核对操作人、检查权限、调用一个决定函数，"
        "在一个事务中保存并审计。方法的权限与错误代码另见[宿主参考](../reference.md#2-方法--methods)。\n"
        "`Qiandao` is the one entry point a host calls; who may call each method and its error "
        "codes are also in the [host reference](../reference.md#2-方法--methods).",
    ),
    ApiPage(
        "values.md",
        "值与结果 · Values and results",
        "命令与查询返回的冻结值（attrs 类）。枚举的线上取值与中文标签列在"
        "[宿主参考 §5](../reference.md#5-枚举--enums)，结果字段的含义在"
        "[§3](../reference.md#3-结果类型--result-types)。\n"
        "The frozen values commands and queries return. Enum wire values and labels are in the "
        "[host reference §5](../reference.md#5-枚举--enums); result fields in "
        "[§3](../reference.md#3-结果类型--result-types).",
    ),
    ApiPage(
        "errors.md",
        "错误 · Errors",
        "每个拒绝都是一个 `QiandaoError` 子类，带稳定的 `code`、中文消息和所执行的条文；"
        "完整的代码表（类别、HTTP 状态、默认消息）见"
        "[宿主参考 §6](../reference.md#6-错误代码--error-codes)。\n"
        "Every refusal is a `QiandaoError` subclass with a stable `code`, a Chinese message "
        "and the article it enforces; the full table is in the "
        "[host reference §6](../reference.md#6-错误代码--error-codes).",
    ),
    ApiPage(
        "rules.md",
        "规则 · Rules",
        "`qiandao.rules`：纯规则——状态转移表、签发层级、期限、评价、公开与可见性、积分、`RuleSet`。"
        "说明见[规则](../rules.md)。\n"
        "`qiandao.rules`: the pure rules; explained in [Rules](../rules.md).",
    ),
    ApiPage(
        "workflow.md",
        "决定 · Workflow decisions",
        "`qiandao.workflow`：每个命令决定什么，一个纯函数 `(context, actor, facts…) -> Decision`，"
        "无需存储即可调用。条文到决定的对照见[架构](../architecture.md)。\n"
        "`qiandao.workflow`: what each command decides, as pure functions callable without a "
        "store; the article index is on [Architecture](../architecture.md).",
    ),
    ApiPage(
        "calendar.md",
        "工作日日历 · Calendar",
        "`qiandao.calendar`：中国工作日（国务院办公厅节假日安排）。说明见[日历](../calendar.md)。\n"
        "`qiandao.calendar`: Chinese working days; explained in [Calendar](../calendar.md).",
    ),
    ApiPage(
        "ports.md",
        "端口 · Ports",
        "`qiandao.ports`：宿主或适配器实现的协议（存储与工作单元、通知、时钟、密码、加密、身份）。"
        "每个存储都须通过 `qiandao.testing.StoreContract`。\n"
        "`qiandao.ports`: the Protocols a host or an adapter implements; every store must pass "
        "`qiandao.testing.StoreContract`.",
    ),
    ApiPage(
        "json.md",
        "JSON 与转换器 · JSON and the converter",
        "`qiandao.json`：视图与错误的 JSON 形式、命令参数的解析、JSON Schema；"
        "`qiandao.converter`：唯一的 cattrs 转换器。见"
        "[宿主参考 §8](../reference.md#8-json-形式--json-form)。\n"
        "`qiandao.json`: the JSON form, arguments and schemas; `qiandao.converter`: the one cattrs "
        "converter. See the [host reference §8](../reference.md#8-json-形式--json-form).",
    ),
    ApiPage(
        "testing.md",
        "合同测试与测试工具 · Testing",
        "`qiandao.testing`：每个端口的合同测试（宿主为自己的存储、通知、日历、加密运行同一套测试），"
        "以及测试用时钟、样例与 Hypothesis 策略。"
        "合同类中的 `test_*` 方法名即其断言，本页不逐一列出。\n"
        "`qiandao.testing`: the contract suite of each port, a manual clock, samples and "
        "Hypothesis strategies. The contract classes' `test_*` methods are named for what "
        "they assert and are not listed here.",
    ),
    ApiPage(
        "adapters.md",
        "适配器 · Adapters",
        "`qiandao_adapters`：端口的实现——内存与 SQL 存储、加密、密码散列、时钟、"
        "通知渠道、初始密码送达。"
        "行映射、表结构与命令行模块是实现细节，不在此列。\n"
        "`qiandao_adapters`: the ports' implementations. Row mapping, the schema and the command "
        "line modules are implementation details and not listed.",
    ),
)

SUBMODULES = {
    "rules.md": ("qiandao.rules",),
    "workflow.md": tuple(
        f"qiandao.workflow.{name}"
        for name in (
            "context",
            "intake",
            "review",
            "handling",
            "feedback",
            "jobs",
            "timeliness",
            "accounts",
            "units",
            "actions",
            "guards",
        )
    ),
    "calendar.md": ("qiandao.calendar",),
    "ports.md": ("qiandao.ports",),
    "json.md": ("qiandao.json", "qiandao.converter"),
    "testing.md": ("qiandao.testing",),
    "adapters.md": (
        "qiandao_adapters.memory",
        "qiandao_adapters.sql",
        "qiandao_adapters.sql.keys",
        "qiandao_adapters.crypto",
        "qiandao_adapters.argon2_hasher",
        "qiandao_adapters.clock",
        "qiandao_adapters.channels",
        "qiandao_adapters.notifiers",
        "qiandao_adapters.delivery",
        "qiandao_adapters.reports",
    ),
}
"""The modules each page documents whole (their ``__all__``), beside the top-level names."""


def page_of(name: str) -> str:
    """The page a name exported from ``qiandao`` is documented on, by what it is."""
    import qiandao

    value = getattr(qiandao, name)
    if name == "Qiandao" or (inspect.isfunction(value) and value.__module__ in _SERVICE_FUNCTIONS):
        return "service.md"
    if inspect.isclass(value) and value.__module__ == "qiandao.errors":
        return "errors.md"
    return "values.md"


_SERVICE_FUNCTIONS = ("qiandao._auditing", "qiandao.audit")
"""Where the functions that go with the service live (audit checks, request context)."""


def _top_level(file: str) -> Iterator[str]:
    import qiandao

    for name in qiandao.__all__:
        if name == "Qiandao" and file == "service.md":
            continue
        if page_of(name) == file:
            yield name


def render(page: ApiPage) -> str:
    """The Markdown of one API page."""
    lines = [f"# {page.title}", "", page.intro, ""]
    if page.file == "service.md":
        lines += [
            "::: qiandao.Qiandao",
            "    options:",
            "      inherited_members: true",
            "      members_order: alphabetical",
            "",
        ]
    top = list(_top_level(page.file))
    if top:
        lines += ["## `qiandao`", ""] if page.file == "service.md" else []
        for name in top:
            lines += [f"::: qiandao.{name}", "    options:", "      heading_level: 3", ""]
    for module in SUBMODULES.get(page.file, ()):
        lines += [
            f"::: {module}",
            "    options:",
            "      filters: " + _FILTERS.get(module, "public"),
            "      show_submodules: false",
            "      members_order: source",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


_FILTERS = {"qiandao.testing": '["!^_", "!^test_"]'}
"""Modules whose page filters differently: the contract suites' tests are named, not listed."""


def public_surface() -> dict[str, object]:
    """Every public name a host may use, by its documented path: the top-level ``qiandao``
    names and each documented module's ``__all__``."""
    import qiandao

    found: dict[str, object] = {f"qiandao.{n}": getattr(qiandao, n) for n in qiandao.__all__}
    for modules in SUBMODULES.values():
        for module_name in modules:
            module = importlib.import_module(module_name)
            found[module_name] = module
            for name in module.__all__:
                found[f"{module_name}.{name}"] = getattr(module, name)
    return found


@attrs.frozen
class Coverage:
    """What the docstring check found: how many public names, members and fields it looked
    at, and the documented paths of those without a docstring."""

    names: int
    members: int
    fields: int
    missing: tuple[str, ...]


SOURCES = [str(API.parent.parent / "src"), str(API.parent.parent / "adapters")]
"""Where griffe reads the packages from (the source, as mkdocstrings does)."""


def load(package: str, search_paths: list[str] | None = None) -> Any:
    """The package as griffe reads it (what the site renders), aliases resolved."""
    import griffe

    return griffe.load(
        package,
        search_paths=search_paths or SOURCES,
        resolve_aliases=True,
        resolve_external=False,
    )


def _target(obj: Any) -> Any:
    return obj.final_target if obj.is_alias else obj


def coverage(
    surface: dict[str, object], packages: dict[str, Any], owners: tuple[str, ...]
) -> Coverage:
    """Check each public name of ``surface`` (documented path → value) in the griffe
    ``packages``: the name itself, every public method and property of a class (its own and
    those inherited from ``owners``' modules), and every field of an attrs class, unless
    ``DESCRIBED`` fields are explained in docs/reference.md. A contract suite's ``test_*``
    methods are named for what they assert and are exempt."""
    from tests.reference_tables import DESCRIBED

    missing: list[str] = []
    seen: set[str] = set()
    names = members = fields = 0
    for path, value in surface.items():
        root, _, rest = path.partition(".")
        obj = _target(packages[root][rest] if rest else packages[root])
        if obj.path in seen:
            continue
        seen.add(obj.path)
        names += 1
        if not obj.docstring:
            missing.append(path)
        if not obj.is_class:
            continue
        field_names = (
            {f.name for f in attrs.fields(value)}
            if isinstance(value, type) and attrs.has(value)
            else set()
        )
        for name, member in obj.all_members.items():
            target = _target(member)
            if name.startswith("_") or name.startswith("test_"):
                continue
            if not target.path.startswith(owners):
                continue
            if name in field_names:
                if isinstance(value, type) and value.__name__ in DESCRIBED:
                    continue
                fields += 1
            elif target.is_function or "property" in target.labels:
                members += 1
            else:
                continue
            if not target.docstring:
                missing.append(f"{path}.{name}")
    return Coverage(names, members, fields, tuple(missing))


def main() -> None:
    """Rewrite docs/api/*.md; with ``--count``, print the docstring coverage instead."""
    if "--count" in sys.argv:
        packages = {name: load(name) for name in ("qiandao", "qiandao_adapters")}
        found = coverage(public_surface(), packages, ("qiandao",))
        print(
            f"{found.names} public names, {found.members} methods and properties, "
            f"{found.fields} fields; without a docstring: {len(found.missing)}"
        )
        for path in found.missing:
            print(f"  {path}")
        return
    for page in PAGES:
        (API / page.file).write_text(render(page), encoding="utf-8")
    print(f"wrote {len(PAGES)} pages to {API}", file=sys.stderr)


if __name__ == "__main__":
    main()
