"""``qiandao.testing``: its public names, the documented paths, and how it loads."""

from __future__ import annotations

import subprocess
import sys

import pytest

import qiandao.testing
from qiandao.testing import calendar, contract, crypto, notifier, store, strategies


def test_every_public_name_resolves() -> None:
    for name in qiandao.testing.__all__:
        assert getattr(qiandao.testing, name) is not None, name
    with pytest.raises(AttributeError):
        qiandao.testing.NoSuchContract  # noqa: B018 - the lookup is the test


def test_the_documented_contract_path_keeps_working() -> None:
    assert contract.StoreContract is qiandao.testing.StoreContract is store.StoreContract
    assert contract.NotifierContract is qiandao.testing.NotifierContract
    assert contract.NotifierContract is notifier.NotifierContract
    assert qiandao.testing.CalendarContract is calendar.CalendarContract
    assert qiandao.testing.CipherContract is crypto.CipherContract
    assert qiandao.testing.strategies is strategies


def test_importing_the_package_loads_neither_pytest_nor_hypothesis() -> None:
    """A host (or the demo) uses ``ManualClock`` and the builders without the dev extras."""
    probe = (
        "import sys, qiandao.testing\n"
        "from qiandao.testing import ManualClock, sample_item\n"
        "print(','.join(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    "module", [store, notifier, calendar, crypto, strategies, qiandao.testing._support]
)
def test_the_suites_are_rewritten_for_readable_assertion_failures(module: object) -> None:
    # tests/conftest.py registers "qiandao.testing" before anything imports it
    assert "@py_builtins" in vars(module), module
