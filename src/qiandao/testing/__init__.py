"""Test support shipped with qiandao: contract suites any adapter must pass, and a manual clock."""

from qiandao.testing.clock import ManualClock

__all__ = ["ManualClock"]
