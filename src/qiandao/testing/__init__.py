"""Test support shipped with qiandao, for our tests and for hosts testing their adapters.

- :class:`StoreContract` (with :class:`SimilarityContract` and :class:`TopicsContract`),
  :class:`NotifierContract`, :class:`CalendarContract`, :class:`CipherContract`: the contract
  suites every store, notifier, working-day calendar and cipher must pass (subclass one in a
  ``Test…`` class; see :mod:`qiandao.testing.store`).
- :mod:`qiandao.testing.strategies`: Hypothesis strategies for items, queries and statistics.
- :class:`ManualClock`: a clock a test moves by hand.
- ``sample_…``, ``query_corpus``, ``statistics_corpus`` …: realistic, fully populated values
  (:mod:`qiandao.testing.builders`).

The contract suites and the strategies import pytest and Hypothesis (development
dependencies), so they load on first use: ``from qiandao.testing import ManualClock`` works in
a host without them. For readable assertion failures in the suites, call
``pytest.register_assert_rewrite("qiandao.testing")`` in ``conftest.py`` before importing them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from qiandao.testing import builders
from qiandao.testing.builders import *  # noqa: F403 - every builder is public here
from qiandao.testing.clock import ManualClock

if TYPE_CHECKING:
    from qiandao.testing import strategies
    from qiandao.testing.calendar import CalendarContract
    from qiandao.testing.crypto import CipherContract
    from qiandao.testing.notifier import NotifierContract
    from qiandao.testing.similarity import SimilarityContract
    from qiandao.testing.store import StoreContract
    from qiandao.testing.topics import TopicsContract

__all__ = [
    "CalendarContract",
    "CipherContract",
    "ManualClock",
    "NotifierContract",
    "SimilarityContract",
    "StoreContract",
    "TopicsContract",
    "strategies",
]
__all__ += builders.__all__

# name -> module that defines it; loaded on first access (they import pytest or Hypothesis)
_ON_FIRST_USE = {
    "CalendarContract": "qiandao.testing.calendar",
    "CipherContract": "qiandao.testing.crypto",
    "NotifierContract": "qiandao.testing.notifier",
    "SimilarityContract": "qiandao.testing.similarity",
    "StoreContract": "qiandao.testing.store",
    "TopicsContract": "qiandao.testing.topics",
    "strategies": "qiandao.testing.strategies",
}


def __getattr__(name: str) -> object:
    where = _ON_FIRST_USE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = import_module(where)
    return module if name == "strategies" else getattr(module, name)
