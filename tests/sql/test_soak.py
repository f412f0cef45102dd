"""Concurrency soaks on each database.

8 processes × 200 commands aimed at the same items: 0 lost updates (each item's version equals
its successful commands), every conflict reported as a concurrency error, invariants intact
(events replay to the stored item).

30 wrong passwords at once from 5 processes, then the right one: the account locks after exactly
the profile's limit, no guess past it is verified, every refusal is ``account.auth_failed`` and
the right password is refused while the lock runs.
"""

from __future__ import annotations

import os

import pytest

from qiandao import PasswordPolicy
from qiandao.rules.ruleset import PasswordProfile
from tests.sql.conftest import Backend
from tests.sql.soak import guess_soak, soak

PROCESSES = int(os.environ.get("QIANDAO_SOAK_PROCESSES", "8"))
COMMANDS = int(os.environ.get("QIANDAO_SOAK_COMMANDS", "200"))


@pytest.mark.slow
def test_soak(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    backend.store()  # empties every table
    report = soak(backend.url, PROCESSES, COMMANDS)
    with capsys.disabled():
        print(f"\n[soak {backend.name}] {report}")
    assert report.other_errors == ()
    assert report.lost_updates == 0
    assert report.succeeded + report.conflicts == report.commands
    assert report.succeeded > 0


@pytest.mark.slow
def test_guess_soak(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    backend.store()  # empties every table
    report = guess_soak(backend.url, processes=5, threads=6)
    with capsys.disabled():
        print(f"\n[guess soak {backend.name}] {report}")
    limit = PasswordPolicy.for_profile(PasswordProfile.DJCP_LEVEL3).max_failed_attempts
    assert report.codes == (("account.auth_failed", 30),)
    assert report.real_verifications == limit
    assert (report.failed_attempts, report.status) == (limit, "locked")
    assert report.right_password == "account.auth_failed"
