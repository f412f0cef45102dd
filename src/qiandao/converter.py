"""The one cattrs converter: structures boundary data (JSON, TOML) into frozen attrs values.

Errors come out as ``InvalidInput`` (or a subclass chosen by the caller) whose ``details["errors"]``
names every bad field by path, e.g. ``required field missing @ $.title``.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput, QiandaoError

__all__ = ["CONVERTER", "make_converter", "structure", "unstructure"]

T = TypeVar("T")


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"须为日期而非时间：{value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"须为 ISO 日期：{value!r}")


def _structure_datetime(value: Any, _: type) -> datetime:
    result = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            result = datetime.fromisoformat(value)
        except ValueError:
            result = None
    if result is None:
        raise ValueError(f"须为 ISO 时间：{value!r}")
    if result.utcoffset() is None:
        raise ValueError(f"时间须带时区：{value!r}")
    return result


def _structure_enum(value: Any, cls: type[LabelledEnum]) -> LabelledEnum:
    """A member, its wire code, or the ``{"code", "label"}`` object ``qiandao.json`` writes."""
    if isinstance(value, cls):
        return value
    if isinstance(value, dict) and set(value) <= {"code", "label"} and "code" in value:
        value = value["code"]
    member = cls._value2member_map_.get(value) if isinstance(value, str) else None
    if isinstance(member, cls):
        return member
    allowed = "、".join(m.value for m in cls)
    raise ValueError(f"无效取值 {value!r}，可选：{allowed}")


def _is_enum_union(kind: Any) -> bool:
    """``A | B`` of labelled enums (``AllowedAction.command``)."""
    args = typing.get_args(kind)
    return (
        typing.get_origin(kind) in (typing.Union, types.UnionType)
        and len(args) > 1
        and all(isinstance(a, type) and issubclass(a, LabelledEnum) for a in args)
    )


def _structure_enum_union(value: Any, kind: Any) -> LabelledEnum:
    """The member of the first enum of the union that has the value (a value two enums share,
    such as ``rehandle``, is the first one's)."""
    members: tuple[type[LabelledEnum], ...] = typing.get_args(kind)
    for cls in members:
        if isinstance(value, cls):
            return value
    for cls in members:
        member = cls._value2member_map_.get(value) if isinstance(value, str) else None
        if isinstance(member, cls):
            return member
    allowed = ", ".join(m.value for cls in members for m in cls)
    raise ValueError(f"无效取值 {value!r}，可选：{allowed}")


_KIND_NAMES = {str: "文本", int: "整数", bool: "布尔值", float: "数字"}


def _structure_strict(kind: type) -> Any:
    def hook(value: Any, _: type) -> Any:
        if type(value) is not kind:
            raise ValueError(f"须为{_KIND_NAMES[kind]}：{value!r}")
        return value

    return hook


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"须为字符串列表：{value!r}")
    if not all(type(v) is str for v in value):
        raise ValueError(f"列表元素须为字符串：{value!r}")
    return tuple(value)


def _sorted(values: Iterable[Any]) -> list[Any]:
    """Sets become lists in a stable order (JSON has no sets; a set of dicts cannot exist)."""
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))


def make_converter() -> cattrs.Converter:
    """Build the converter: strict scalars, ISO dates, enums by value, no unknown keys."""
    converter = cattrs.Converter(
        detailed_validation=True,
        forbid_extra_keys=True,
        unstruct_collection_overrides={AbstractSet: _sorted},
    )
    converter.register_structure_hook(date, _structure_date)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    for kind in (str, int, bool, float):
        converter.register_structure_hook(kind, _structure_strict(kind))
    converter.register_structure_hook(LabelledEnum, _structure_enum)
    converter.register_structure_hook_func(_is_enum_union, _structure_enum_union)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_str_tuple)
    converter.register_unstructure_hook(LabelledEnum, lambda e: e.value)
    return converter


CONVERTER = make_converter()
"""The one cattrs converter of the library: strict structuring of every public value type."""


def _describe(exc: BaseException, kind: type | None) -> str:
    """A problem in Chinese (the converter's hooks raise Chinese ``ValueError`` messages)."""
    if isinstance(exc, KeyError):
        return "缺少必填字段"
    if isinstance(exc, ForbiddenExtraKeysError):
        return "含有未知字段：" + "、".join(sorted(exc.extra_fields))
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    expected = getattr(kind, "__name__", None)
    return f"类型不符，应为 {expected}" if expected else "取值不合法"


def _messages(exc: BaseException) -> list[str]:
    if isinstance(exc, ClassValidationError | ForbiddenExtraKeysError | cattrs.BaseValidationError):
        return list(cattrs.transform_error(exc, format_exception=_describe))
    return [str(exc)]


def structure(
    data: Any,
    cls: type[T],
    *,
    error: type[QiandaoError] = InvalidInput,
    what: str = "输入",
    converter: cattrs.Converter | None = None,
) -> T:
    """Structure ``data`` into ``cls``; every problem is named by path in the raised error
    (``details["errors"]``: ``消息 @ $.path``; the error's ``errors``: path and message)."""
    try:
        return (converter or CONVERTER).structure(data, cls)
    except QiandaoError:
        raise
    except (cattrs.BaseValidationError, ForbiddenExtraKeysError) as exc:
        problems = _messages(exc)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        problems = [f"{exc} @ $"]
    raise error(f"{what}有误：" + "；".join(problems), errors=tuple(problems))


def unstructure(value: Any) -> Any:
    """Plain data (dicts, lists, strings) for JSON or TOML."""
    return CONVERTER.unstructure(value)
