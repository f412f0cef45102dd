"""The public surface: what a host can receive, it can import from ``qiandao``, under one name."""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Iterator

import qiandao
from qiandao import Qiandao, QiandaoError


def _library_types(hint: object) -> Iterator[type]:
    """The qiandao classes named anywhere inside a type hint."""
    if isinstance(hint, type) and hint.__module__.split(".")[0] == "qiandao":
        yield hint
    for arg in typing.get_args(hint):
        yield from _library_types(arg)


def _public_methods() -> Iterator[tuple[str, object]]:
    for name, member in inspect.getmembers(Qiandao, inspect.isfunction):
        if not name.startswith("_"):
            yield name, member


def test_every_type_a_method_takes_or_returns_is_exported() -> None:
    missing: dict[str, set[str]] = {}
    for name, method in _public_methods():
        for hint in typing.get_type_hints(method).values():
            for kind in _library_types(hint):
                if getattr(qiandao, kind.__name__, None) is not kind:
                    missing.setdefault(kind.__qualname__, set()).add(name)
    assert missing == {}


def test_every_type_an_exported_class_returns_is_exported() -> None:
    missing: dict[str, set[str]] = {}
    for name in qiandao.__all__:
        value = getattr(qiandao, name)
        if not isinstance(value, type) or issubclass(value, BaseException):
            continue
        for attr, member in inspect.getmembers(value):
            if attr.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else member
            if not inspect.isfunction(function):
                continue
            hint = typing.get_type_hints(function).get("return")
            for kind in _library_types(hint):
                if getattr(qiandao, kind.__name__, None) is not kind:
                    missing.setdefault(kind.__qualname__, set()).add(f"{name}.{attr}")
    assert missing == {}


def _all_modules() -> list[object]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(qiandao.__path__, "qiandao.")
        if not info.name.endswith("__main__")  # running it would run the command line
    ]


def _subclasses(base: type) -> Iterator[type]:
    subclasses: list[type] = base.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def test_every_error_is_exported() -> None:
    _all_modules()
    errors = {e for e in _subclasses(QiandaoError) if e.__module__.split(".")[0] == "qiandao"}
    assert len(errors) > 20
    assert {e.__name__ for e in errors if getattr(qiandao, e.__name__, None) is not e} == set()


def test_no_two_public_classes_share_a_name() -> None:
    classes: dict[str, set[str]] = {}
    for module in _all_modules():
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, type) and value.__module__.split(".")[0] == "qiandao":
                classes.setdefault(name, set()).add(f"{value.__module__}.{value.__qualname__}")
    assert {name: where for name, where in classes.items() if len(where) > 1} == {}


def test_the_top_level_exports_exist_and_are_listed_once() -> None:
    assert len(qiandao.__all__) == len(set(qiandao.__all__))
    for name in qiandao.__all__:
        assert hasattr(qiandao, name), name


def test_every_public_enum_carries_chinese_labels() -> None:
    for name in qiandao.__all__:
        value = getattr(qiandao, name)
        if isinstance(value, type) and issubclass(value, enum.Enum):
            assert all(getattr(member, "label", "") for member in value), name
