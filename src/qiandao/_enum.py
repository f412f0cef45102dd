"""Enumerations that carry a Chinese label beside their stable English value."""

from __future__ import annotations

import enum
from typing import Self

__all__ = ["LabelledEnum"]


class LabelledEnum(str, enum.Enum):
    """A string enum whose members also carry a Chinese ``label`` for display.

    The value is the stable code stored and exchanged; the label is what a person reads.
    """

    _value_: str
    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self._value_

    @classmethod
    def parse(cls, raw: object, field: str = "") -> Self:
        """Return the member for a value, a member name or a Chinese label.

        ``field`` is the payload path the value came from (``"rating"``, ``"destinations[0]"``),
        named by the ``InvalidInput`` raised for anything else.
        """
        from qiandao.errors import InvalidInput  # errors' ErrorKind is itself a LabelledEnum

        if isinstance(raw, cls):
            return raw
        if isinstance(raw, str):
            for member in cls:
                if raw in (member.value, member.name, member.label):
                    return member
        allowed = "、".join(m.value for m in cls)
        raise InvalidInput(f"无效的取值：{raw!r}（可选：{allowed}）", field=field)
