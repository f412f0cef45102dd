"""The JSON form of everything qiandao returns, and JSON Schemas of its inputs and views.

:func:`to_json` turns any view, result or error into JSON-native data (dicts, lists, strings,
numbers, booleans, ``None``) through one converter driven by the attrs fields, so a new field or
a new result type needs no work here: every labelled enum becomes ``{"code", "label"}``, an
instant ISO 8601 in Asia/Shanghai with its offset (``+08:00``, whichever zone the store
returned: SQL stores give UTC), a day ISO 8601, a set a sorted
list, a mapping keyed by an enum a mapping keyed by its wire code, an error its
:meth:`~qiandao.QiandaoError.as_dict`, and an :class:`~qiandao.Account` the masked
:class:`~qiandao.AccountView` (never a password hash). :func:`from_json` structures what a host
receives (a draft payload, a role grant, a password policy) with every bad field named by path.

:func:`schema` gives a JSON Schema (draft 2020-12), derived from the same types: a command's
name (``"draft"``) gives the object of its arguments (all but the ``actor`` the host
authenticates), ``"<command>.result"`` what it returns, a class name (``"ItemView"``) its JSON
form. ``python -m qiandao schema [NAME]`` prints them.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import enum
import functools
import inspect
import sys
import types
import typing
from collections import abc
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import attrs
import cattrs

from qiandao._enum import LabelledEnum
from qiandao.converter import make_converter, structure
from qiandao.errors import ErrorKind, InvalidInput, QiandaoError
from qiandao.model import Account, AccountView
from qiandao.rules.deadlines import SHANGHAI

__all__ = [
    "DIALECT",
    "JSON",
    "NOT_JSON_COMMANDS",
    "NOT_JSON_TYPES",
    "arguments",
    "command_names",
    "from_json",
    "make_json_converter",
    "schema",
    "schemas",
    "to_json",
]

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""JSON-native data, as :func:`json.dumps` writes it."""

DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect (draft 2020-12) named by every schema's ``$schema``."""

NOT_JSON_COMMANDS = frozenset({"adopt_calendar", "dispatch"})
"""Methods whose arguments are Python objects (a calendar, a stop callback), not data a host
receives as JSON."""

NOT_JSON_TYPES = frozenset({"Account", "Context"})
"""Exported classes that never leave the library as JSON: the stored account (it leaves as an
:class:`~qiandao.AccountView`) and the workflow's context (it holds the calendar)."""

T = TypeVar("T")


def _enum_json(member: LabelledEnum) -> dict[str, str]:
    return {"code": member.value, "label": member.label}


def _instant(value: dt.datetime) -> str:
    """An instant in ISO 8601, in Asia/Shanghai (``+08:00``) whatever zone the store gave it,
    so that the same view reads the same from every store."""
    return (value.astimezone(SHANGHAI) if value.utcoffset() is not None else value).isoformat()


def _key(key: Any) -> str:
    """A mapping key as JSON allows: an enum's wire code, else the key as text."""
    return key.value if isinstance(key, enum.Enum) else str(key)


def _structure_first(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Unions of plain types (``str | tuple[str, bool]``): the first member that structures."""

    def hook(value: Any, union: Any) -> Any:
        for member in typing.get_args(union):
            try:
                return converter.structure(value, member)
            except (cattrs.BaseValidationError, ValueError, TypeError):
                continue
        raise ValueError(f"取值不合法：{value!r}")

    return hook


def _plain_union(kind: Any) -> bool:
    """A union cattrs cannot tell apart by itself: not ``X | None``, not of attrs classes."""
    if typing.get_origin(kind) not in (typing.Union, types.UnionType):
        return False
    members = [m for m in typing.get_args(kind) if m is not type(None)]
    return len(members) > 1 and not all(attrs.has(m) for m in members)


def _is_mapping(kind: Any) -> bool:
    origin = typing.get_origin(kind) or kind
    return isinstance(origin, type) and issubclass(origin, abc.Mapping)


def make_json_converter() -> cattrs.Converter:
    """The converter of :mod:`qiandao.converter` with the JSON view's unstructuring hooks."""
    converter = make_converter()
    converter.register_unstructure_hook(LabelledEnum, _enum_json)
    converter.register_unstructure_hook(QiandaoError, lambda error: error.as_dict())
    converter.register_unstructure_hook(
        Account, lambda account: converter.unstructure(AccountView.of(account, None))
    )
    converter.register_unstructure_hook(dt.datetime, _instant)
    converter.register_unstructure_hook(dt.timedelta, dt.timedelta.total_seconds)
    converter.register_unstructure_hook(bytes, lambda raw: base64.b64encode(raw).decode("ascii"))
    converter.register_unstructure_hook_func(
        _is_mapping,
        lambda mapping: {_key(k): converter.unstructure(v) for k, v in mapping.items()},
    )
    converter.register_structure_hook_func(_plain_union, _structure_first(converter))
    return converter


_CONVERTER = make_json_converter()


def _native(value: Any, path: str) -> JSON:
    """``value`` checked to be JSON-native, so that no host serialiser meets a stray object."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_native(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _native(v, f"{path}.{k}") for k, v in value.items()}
    raise TypeError(f"{path}: {type(value).__name__} has no JSON form")


def to_json(value: object) -> JSON:
    """``value`` (any view, result, error, or a list or tuple of them) as JSON-native data."""
    return _native(_CONVERTER.unstructure(value), "$")


def from_json(data: object, cls: type[T], *, what: str = "输入") -> T:
    """Structure received JSON into ``cls`` (``DraftInput``, ``RoleGrant``, ...); enums as wire
    codes or ``{"code", ...}``. Bad data: ``InvalidInput`` naming every bad field by path."""
    return structure(data, cls, error=InvalidInput, what=what, converter=_CONVERTER)


def _chosen(members: tuple[Any, ...]) -> list[Any]:
    """The members of an argument's union a JSON value takes: ``Role | str`` the enum (wire
    codes), ``DraftInput | Mapping`` the class."""
    chosen = list(members)
    if any(isinstance(m, type) and issubclass(m, LabelledEnum) for m in chosen):
        chosen = [m for m in chosen if m is not str]
    if any(isinstance(m, type) and attrs.has(m) for m in chosen):
        chosen = [m for m in chosen if not _is_mapping(m)]
    return chosen


def _canonical(kind: Any) -> Any:
    """The type a JSON value of ``kind`` is structured into: ``Role | str`` is the enum (wire
    codes), ``DraftInput | Mapping`` the class, an iterable a tuple."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        chosen = tuple(_canonical(m) for m in _chosen(args))
        return chosen[0] if len(chosen) == 1 else functools.reduce(lambda a, b: a | b, chosen)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return tuple[tuple(_canonical(a) for a in args)]  # type: ignore[misc]
    if isinstance(origin, type) and issubclass(origin, abc.Iterable) and not _is_mapping(origin):
        return tuple[_canonical(args[0]) if args else Any, ...]  # type: ignore[misc]
    return kind


@functools.cache
def _arguments_class(name: str) -> type:
    fields = {
        p.name: attrs.field(
            type=_canonical(p.annotation),
            default=attrs.NOTHING if p.default is p.empty else p.default,
            kw_only=True,
        )
        for p in _signature(name).parameters.values()
        if p.name not in ("self", "actor")
    }
    return attrs.make_class(f"{name}_arguments", fields, frozen=True)


def arguments(name: str, data: object) -> dict[str, Any]:
    """The keyword arguments of command ``name`` from a JSON request body (every argument but
    the ``actor``, which the host takes from the session), as :func:`schema` describes them::

        item = qd.draft(actor, **arguments("draft", body))

    Enums as wire codes (or ``{"code", ...}``), days and instants ISO 8601. Bad data:
    ``InvalidInput`` naming every bad field by path (``data.title``, ``units[1]``).
    """
    if not isinstance(name, str) or name not in command_names():
        raise InvalidInput(f"没有名为 {name} 的命令", field="name")
    cls = _arguments_class(name)
    found: object = structure(data, cls, what="请求参数", converter=_CONVERTER)
    return {f.name: getattr(found, f.name) for f in attrs.fields(cls)}


# --- JSON Schema --------------------------------------------------------------------------

_SCALARS: dict[type, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    type(None): {"type": "null"},
    dt.datetime: {"type": "string", "format": "date-time"},
    dt.date: {"type": "string", "format": "date"},
    dt.timedelta: {"type": "number"},
    bytes: {"type": "string", "contentEncoding": "base64"},
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "kind": {"enum": [k.value for k in ErrorKind]},
        "http_status": {"enum": sorted({k.http_status for k in ErrorKind})},
        "message": {"type": "string"},
        "article": {"type": "string", "pattern": "^(第[一二三四五六七八九十]+条)?$"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                "required": ["path", "message"],
                "additionalProperties": False,
            },
        },
        "details": {"type": "object"},
    },
    "required": ["code", "kind", "http_status", "message", "article", "field", "errors", "details"],
    "additionalProperties": False,
}


class _Builder:
    """Schemas of Python types, for the JSON a host receives (``output``) or sends."""

    def __init__(self, *, output: bool) -> None:
        self.output = output
        self.defs: dict[str, Any] = {}

    def of(self, kind: Any) -> dict[str, Any]:
        if kind is None:
            kind = type(None)
        if kind is Any or kind is object:
            return {}
        if kind in _SCALARS:
            return dict(_SCALARS[kind])
        origin = typing.get_origin(kind)
        if origin in (typing.Union, types.UnionType):
            return self._union(typing.get_args(kind))
        if origin is typing.Literal:
            return {"enum": list(typing.get_args(kind))}
        if origin is not None and attrs.has(origin):  # a generic result type: Page[ItemView]
            return self._named(kind, origin, _bindings(origin, typing.get_args(kind)))
        if origin is not None:
            return self._generic(origin, typing.get_args(kind))
        if isinstance(kind, type):
            return self._class(kind)
        raise TypeError(f"no JSON Schema for {kind!r}")

    def _union(self, members: tuple[Any, ...]) -> dict[str, Any]:
        parts = [self.of(m) for m in _chosen(members)]
        return parts[0] if len(parts) == 1 else {"anyOf": parts}

    def _generic(self, origin: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        if _is_mapping(origin):
            key, value = args or (str, Any)
            found: dict[str, Any] = {"type": "object", "additionalProperties": self.of(value)}
            if isinstance(key, type) and issubclass(key, enum.Enum):
                found["propertyNames"] = {"enum": [m.value for m in key]}
            return found
        if origin is tuple and args and args[-1] is not Ellipsis:
            items = [self.of(a) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "items": False,
                "minItems": len(items),
            }
        if isinstance(origin, type) and issubclass(origin, abc.Iterable):
            found = {"type": "array", "items": self.of(args[0]) if args else {}}
            if issubclass(origin, abc.Set) and not self.output:
                found["uniqueItems"] = True
            return found
        raise TypeError(f"no JSON Schema for {origin!r}[{args!r}]")

    def _class(self, kind: type) -> dict[str, Any]:
        if issubclass(kind, QiandaoError):
            self.defs.setdefault("QiandaoError", _ERROR_SCHEMA)
            return {"$ref": "#/$defs/QiandaoError"}
        if self.output and kind is Account:
            kind = AccountView  # the only form in which an account leaves the library
        if issubclass(kind, LabelledEnum):
            codes = [m.value for m in kind]
            if not self.output:
                return {"type": "string", "enum": codes}
            self.defs.setdefault(
                kind.__name__,
                {
                    "type": "object",
                    "properties": {"code": {"enum": codes}, "label": {"type": "string"}},
                    "required": ["code", "label"],
                    "additionalProperties": False,
                },
            )
            return {"$ref": f"#/$defs/{kind.__name__}"}
        if attrs.has(kind):
            return self._named(kind, kind, _inherited_bindings(kind))
        raise TypeError(f"no JSON Schema for {kind.__name__}")

    def _named(self, kind: Any, cls: type, bindings: dict[Any, Any]) -> dict[str, Any]:
        """A ``$ref`` to the schema of attrs class ``cls`` (its type variables bound)."""
        name = _def_name(kind)
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: recursive types end here
            self.defs[name] = self._attrs(cls, bindings)
        return {"$ref": f"#/$defs/{name}"}

    def _attrs(self, kind: type, bindings: dict[Any, Any] | None = None) -> dict[str, Any]:
        hints = {k: _bound(v, bindings or {}) for k, v in typing.get_type_hints(kind).items()}
        fields = attrs.fields(kind)
        shown = [f for f in fields if self.output or f.init]  # the JSON holds every field
        required = [f.name for f in shown if self.output or f.default is attrs.NOTHING]
        return {
            "type": "object",
            "title": kind.__name__,
            "description": _summary(kind),
            "properties": {f.name: self.of(hints[f.name]) for f in shown},
            "required": required,
            "additionalProperties": False,
        }

    def document(self, root: dict[str, Any], title: str) -> dict[str, Any]:
        found = {"$schema": DIALECT, "$id": f"urn:qiandao:{title}", "title": title, **root}
        if self.defs:
            found["$defs"] = dict(sorted(self.defs.items()))
        return found


def _def_name(kind: Any) -> str:
    """``Page[ItemView]`` → ``Page_ItemView``; a plain class → its name."""
    if isinstance(kind, type):
        return kind.__name__
    args = "_".join(_def_name(a) for a in typing.get_args(kind))
    return f"{typing.get_origin(kind).__name__}_{args}"


def _bindings(cls: type, args: tuple[Any, ...]) -> dict[Any, Any]:
    """The type variables of generic ``cls`` bound to ``args``."""
    return dict(zip(getattr(cls, "__parameters__", ()), args, strict=False))


def _inherited_bindings(cls: type) -> dict[Any, Any]:
    """What a subclass of a bound generic (``LanePage(Page[ItemView])``) binds."""
    found: dict[Any, Any] = {}
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base)
            if origin is not None and attrs.has(origin):
                found.update(_bindings(origin, typing.get_args(base)))
    return found


def _bound(hint: Any, bindings: dict[Any, Any]) -> Any:
    """``hint`` with its type variables replaced by what ``bindings`` gives."""
    if isinstance(hint, typing.TypeVar):
        return bindings.get(hint, Any)
    parameters = getattr(hint, "__parameters__", ())
    if parameters:
        return hint[tuple(bindings.get(p, Any) for p in parameters)]
    return hint


def _summary(obj: object) -> str:
    return (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")


def _service() -> type:
    from qiandao.service import Qiandao  # the facade imports every chapter; this module not

    return Qiandao


def command_names() -> tuple[str, ...]:
    """The public methods of ``Qiandao`` whose arguments and result have a JSON Schema."""
    return tuple(
        name
        for name, value in inspect.getmembers(_service(), inspect.isfunction)
        if not name.startswith("_") and name not in NOT_JSON_COMMANDS
    )


def _signature(name: str) -> inspect.Signature:
    method: Callable[..., Any] = getattr(_service(), name)
    return inspect.signature(method, eval_str=True)


def _command_schema(name: str) -> dict[str, Any]:
    builder = _Builder(output=False)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in _signature(name).parameters.values():
        if parameter.name in ("self", "actor"):
            continue
        properties[parameter.name] = builder.of(parameter.annotation)
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    method = getattr(_service(), name)
    root = {
        "description": _summary(method),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    return builder.document(root, name)


def _result_schema(name: str) -> dict[str, Any]:
    builder = _Builder(output=True)
    root = builder.of(_signature(name).return_annotation)
    return builder.document(root, f"{name}.result")


def _exported_types() -> dict[str, type]:
    package = sys.modules[__name__.rpartition(".")[0]]  # imported before this module
    found: dict[str, type] = {}
    for name in package.__all__:
        value = getattr(package, name)
        if (
            name not in NOT_JSON_TYPES
            and isinstance(value, type)
            and (attrs.has(value) or issubclass(value, LabelledEnum | QiandaoError))
        ):
            found[name] = value
    return found


def _view_schema(kind: type) -> dict[str, Any]:
    builder = _Builder(output=True)
    if issubclass(kind, QiandaoError):
        return builder.document(dict(_ERROR_SCHEMA), kind.__name__)
    return builder.document(builder.of(kind), kind.__name__)


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema named ``name``: a command's arguments (``"draft"``), a command's result
    (``"draft.result"``), or a type's JSON form (``"ItemView"``, ``"QiandaoError"``)."""
    return copy.deepcopy(_schema(name))  # a caller may change its copy


@functools.cache
def _schema(name: str) -> dict[str, Any]:
    commands = command_names()
    if name in commands:
        return _command_schema(name)
    if name.endswith(".result") and name.removesuffix(".result") in commands:
        return _result_schema(name.removesuffix(".result"))
    kind = _exported_types().get(name)
    if kind is None:
        raise InvalidInput(f"没有名为 {name} 的模式", field="name")
    return _view_schema(kind)


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema by name: each command's arguments and result, and each exported type."""
    names = [*command_names(), *(f"{n}.result" for n in command_names()), *_exported_types()]
    return {name: schema(name) for name in names}
