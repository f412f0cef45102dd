"""Feedback, publication and reporting commands (第十一、十四条), and commissions (约稿, 第七条)."""

from __future__ import annotations

from qiandao._core import _Core

__all__ = ["FeedbackCommands"]


class FeedbackCommands(_Core):
    """Feedback, publication and reporting commands (第十一、十四条), and commissions (约稿, 第七条)."""
