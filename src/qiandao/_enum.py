"""Enumerations that carry a Chinese label beside their stable English value.

:class:`LabelledEnum` is defined in :mod:`qiandao.errors`, beside the ``InvalidInput`` its
``parse`` raises and the ``ErrorKind`` built on it; this module is where the package imports it.
"""

from __future__ import annotations

from qiandao.errors import LabelledEnum

__all__ = ["LabelledEnum"]
