"""Bar charts of a report's tables as PNG bytes (matplotlib, Agg backend, a CJK font).

Horizontal bars, so long Chinese labels (the 第四条 focus categories, unit names) stay legible;
one series per value column, each bar labelled with its value; rates on a 0–100 % axis.
"""

from __future__ import annotations

import io
import textwrap

from qiandao_adapters.reports.fonts import CjkFont
from qiandao_adapters.reports.tables import Chart, Kind, Table, chart_title, display, rows_of

__all__ = ["bar_png"]

COLOURS = ("#c0392b", "#2e6da4", "#7f8c8d")  # 政协 red, a steady blue, grey
LABEL_CHARS = 12  # characters per line of a bar's label


def _wrapped(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LABEL_CHARS)) or " "


def bar_png(table: Table, chart: Chart, font: CjkFont, *, dpi: int = 150) -> bytes:
    """``chart`` of ``table`` drawn with ``font``: a PNG (white background).

    The font goes to each text as its properties, never into matplotlib's global settings,
    so reports drawn at once in several threads of a portal do not disturb each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    def face(size: float) -> FontProperties:
        return FontProperties(family=[font.family, "DejaVu Sans"], size=size)

    rows = list(rows_of(table, chart))
    labels = [_wrapped(str(row[chart.label])) for row in rows]
    columns = [table.columns[i] for i in chart.values]
    percent = all(c.kind is Kind.RATE for c in columns)
    lines = sum(label.count("\n") + 1 for label in labels)
    height = 1.2 + max(lines, 2) * 0.28 + 0.12 * len(rows) * (len(columns) - 1)
    figure = Figure(figsize=(7.2, height), dpi=dpi, facecolor="white", layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    step = 0.8 / len(columns)
    for n, (index, column) in enumerate(zip(chart.values, columns, strict=True)):
        values = [row[index] for row in rows]
        heights = [float(v) if isinstance(v, int | float) else 0.0 for v in values]
        places = [y - 0.4 + step * (n + 0.5) for y in range(len(rows))]
        bars = axes.barh(places, heights, step, label=column.header, color=COLOURS[n % 3])
        shown = [display(column, v) for v in values]
        axes.bar_label(bars, shown, padding=3, fontproperties=face(8))
    axes.set_yticks(range(len(rows)), labels, fontproperties=face(9))
    axes.invert_yaxis()  # the first row on top, as in the table
    axes.set_title(chart_title(table, chart), fontproperties=face(13))
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", alpha=0.3)
    if percent:
        axes.set_xlim(0, 1.15)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    else:
        axes.margins(x=0.12)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: whole ticks
    if len(columns) > 1:  # below the figure, in space the layout keeps for it
        figure.legend(
            loc="outside lower center",
            ncol=len(columns),
            prop=face(9),
            frameon=False,
        )
    if not rows:
        axes.text(
            0.5, 0.5, "本期无数据", ha="center", transform=axes.transAxes, fontproperties=face(11)
        )
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})  # one draw: no "tight"
    return out.getvalue()
