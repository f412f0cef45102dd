"""What awaits me, my items, published items, overdue lists, item detail filtered by visibility."""

from __future__ import annotations

from qiandao._core import _Core

__all__ = ["QueryCommands"]


class QueryCommands(_Core):
    """What awaits me, my items, published items, overdue lists, item detail filtered by visibility."""
