"""Checks on free text and ids at the boundary: required, trimmed, bounded, printable."""

from __future__ import annotations

import re
from typing import TypeGuard

from qiandao.errors import InvalidInput, LimitExceeded, ReasonRequired

__all__ = ["ID_LENGTH", "check_id", "clean_text", "is_id", "require_reason"]

ID_LENGTH = 64
"""The longest id (item, account, unit, assignment, event, ...) a store must accept; ids a
request carries longer than this are refused before any store sees them."""

# One scan each (the hot path: every id and text of every command). Control characters (Unicode
# category Cc: U+0000–U+001F, U+007F–U+009F), bidi embeddings, overrides and isolates
# (U+202A–U+202E, U+2066–U+2069: text that displays otherwise than it reads), and lone
# surrogates (legal in JSON, not storable as UTF-8); free text keeps tab, LF and CR.
_NOT_IN_ID = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]")
_NOT_IN_TEXT = re.compile(
    "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]"
)


def is_id(value: object) -> TypeGuard[str]:
    """True for a ``str`` every store can compare as text: 1 to ``ID_LENGTH`` characters,
    not all blank, encodable as UTF-8 (no lone surrogate), no control or bidi characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= ID_LENGTH
        and not value.isspace()
        and _NOT_IN_ID.search(value) is None
    )


def check_id(value: object, field: str) -> str:
    """``value`` if it is an id (:func:`is_id`), else ``InvalidInput`` naming ``field``.

    An id is text end to end: an ``int`` is refused here, so no store compares it as a number.
    """
    if not is_id(value):
        raise InvalidInput(f"{field} 须为编号（1至{ID_LENGTH}个可见字符）", field=field)
    return value


def clean_text(
    value: object, field: str, *, label: str = "", max_chars: int, required: bool = True
) -> str:
    """Return ``value`` stripped, or raise ``InvalidInput``/``LimitExceeded`` naming the field.

    ``field`` is the payload path in English (the error's ``field``); ``label`` the Chinese
    name the message uses (``field`` if none).

    Refused as ``input.invalid``: a lone surrogate, a control character other than a newline,
    carriage return or tab, and a bidi embedding, override or isolate (U+202A–U+202E,
    U+2066–U+2069), which would make text display otherwise than it reads.
    """
    name = label or field
    if not isinstance(value, str):
        raise InvalidInput(f"{name}必须是文本", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{name}不能为空", field=field)
    if len(text) > max_chars:
        raise LimitExceeded(
            f"{name}超过{max_chars}字的上限", field=field, limit=max_chars, length=len(text)
        )
    if _NOT_IN_TEXT.search(text) is not None:
        raise InvalidInput(f"{name}含有非法字符", field=field)
    return text


def require_reason(value: object, *, max_chars: int, article: str = "第十条") -> str:
    """A written reason (decline, send-back, rejection, extension): non-empty, bounded."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ReasonRequired(f"须书面说明理由（{article}）", article=article, field="reason")
    return clean_text(value, "reason", label="理由", max_chars=max_chars)
