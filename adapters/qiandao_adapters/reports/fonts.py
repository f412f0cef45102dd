"""The CJK font a report's charts are drawn with (matplotlib needs one for Chinese labels).

A font file named by the caller or by ``$QIANDAO_CJK_FONT`` comes first; else the first of
:data:`FAMILIES` that matplotlib's font manager knows. None: ``report.font_missing``
(:class:`~qiandao.errors.ReportFontMissing`), so a chart never shows empty boxes instead of
Chinese. Debian: ``apt-get install fonts-noto-cjk``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

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
    installed: dict[str, Path] = {}
    for entry in sorted(font_manager.fontManager.ttflist, key=lambda e: e.weight != 400):
        installed.setdefault(entry.name, Path(entry.fname))  # the regular weight first
    for family in FAMILIES:
        if family in installed:
            return CjkFont(family, installed[family])
    raise ReportFontMissing(searched=list(FAMILIES))
