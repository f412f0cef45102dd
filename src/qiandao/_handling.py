"""Handling commands (第十条): assign, accept, decline, reassign, extensions, reply, and rating (第十二条)."""

from __future__ import annotations

from qiandao._core import _Core

__all__ = ["HandlingCommands"]


class HandlingCommands(_Core):
    """Handling commands (第十条): assign, accept, decline, reassign, extensions, reply, and rating (第十二条)."""
