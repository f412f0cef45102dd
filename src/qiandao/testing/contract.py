"""The contract suites under their first documented path.

``from qiandao.testing.contract import NotifierContract, StoreContract`` keeps working; new code
imports them from :mod:`qiandao.testing` (they live in :mod:`qiandao.testing.store` and
:mod:`qiandao.testing.notifier`). Importing this module imports pytest and Hypothesis.
"""

from __future__ import annotations

from qiandao.testing.notifier import NotifierContract
from qiandao.testing.store import StoreContract

__all__ = ["NotifierContract", "StoreContract"]
