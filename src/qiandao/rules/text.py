"""Checks on free text at the boundary: required, trimmed, bounded."""

from __future__ import annotations

from qiandao.errors import InvalidInput, LimitExceeded, ReasonRequired

__all__ = ["clean_text", "require_reason"]


def clean_text(value: object, field: str, *, max_chars: int, required: bool = True) -> str:
    """Return ``value`` stripped, or raise ``InvalidInput``/``LimitExceeded`` naming the field."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field}必须是文本", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field}不能为空", field=field)
    if len(text) > max_chars:
        raise LimitExceeded(
            f"{field}超过{max_chars}字的上限", field=field, limit=max_chars, length=len(text)
        )
    if "\x00" in text or not _encodable(text):
        raise InvalidInput(f"{field}含有非法字符", field=field)
    return text


def _encodable(text: str) -> bool:
    """False for text with lone surrogates (legal in JSON, not storable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def require_reason(value: object, *, max_chars: int, article: str = "第十条") -> str:
    """A written reason (decline, send-back, rejection, extension): non-empty, bounded."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ReasonRequired(f"须书面说明理由（{article}）", article=article)
    return clean_text(value, "理由", max_chars=max_chars)
