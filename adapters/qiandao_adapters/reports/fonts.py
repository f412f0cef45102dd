"""The CJK font a report's charts are drawn with (matplotlib needs one for Chinese labels).

A font file named by the caller or by ``$QIANDAO_CJK_FONT`` comes first; else the first of
:data:`FAMILIES` that matplotlib's font manager knows (the system's font directories looked
at again when its cached list has none, as after an ``apt-get install`` since it was cached).
None: ``report.font_missing`` (:class:`~qiandao.errors.ReportFontMissing`), so a chart never
shows empty boxes instead of Chinese. Debian: ``apt-get install fonts-noto-cjk``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from qiandao.errors import ReportFontMissing

__all__ = ["FAMILIES", "FONT_VARIABLE", "CjkFont", "find_cjk_font"]

FONT_VARIABLE = "QIANDAO_CJK_FONT"
FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK JP",
)
"""Families with simplified-Chinese glyphs, in order of preference."""


@attrs.frozen
class CjkFont:
    """A font matplotlib can draw Chinese with: its family name and file."""

    family: str
    path: Path


def find_cjk_font(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> CjkFont:
    """The font for charts: ``path``, else ``$QIANDAO_CJK_FONT``, else an installed family of
    :data:`FAMILIES`; ``report.font_missing`` when none is found (or the named file is not a
    font matplotlib can read)."""
    from matplotlib import font_manager

    named = (
        path
        if path is not None
        else (os.environ if environ is None else environ).get(FONT_VARIABLE)
    )
    if named:
        file = Path(named)
        try:
            font_manager.fontManager.addfont(str(file))
            family = font_manager.FontProperties(fname=str(file)).get_name()
        except (OSError, RuntimeError, ValueError):
            raise ReportFontMissing(f"无法读取指定的中文字体文件：{file}", font=str(file)) from None
        return CjkFont(family, file)
    found = _installed(font_manager.fontManager)
    if found is None:  # fonts installed after matplotlib cached its list: look on disk again
        known = {entry.fname for entry in font_manager.fontManager.ttflist}
        for candidate in font_manager.findSystemFonts():
            if candidate not in known:
                with contextlib.suppress(OSError, RuntimeError, ValueError):
                    font_manager.fontManager.addfont(candidate)
        found = _installed(font_manager.fontManager)
    if found is None:
        raise ReportFontMissing(searched=list(FAMILIES))
    return found


def _installed(manager: Any) -> CjkFont | None:
    """The first family of :data:`FAMILIES` that ``manager`` knows, at its regular weight."""
    installed: dict[str, Path] = {}
    for entry in sorted(manager.ttflist, key=lambda e: e.weight != 400):
        installed.setdefault(entry.name, Path(entry.fname))  # the regular weight first
    for family in FAMILIES:
        if family in installed:
            return CjkFont(family, installed[family])
    return None
