"""Every command that changes something takes an ``idempotency_key``: a retry with the same key
and arguments returns the first outcome and appends nothing; other arguments are refused; two
people's keys never collide; a bad key is refused before any store is touched."""

from __future__ import annotations

import attrs
import pytest

from qiandao.testing import enrol
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import DH, fails, make_world
from tests.idempotency_cases import CASES, SAME_TWICE, runs_once, snapshot


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_retry_returns_the_first_outcome_and_changes_nothing(command: str) -> None:
    runs_once(make_world(), command)


@pytest.mark.parametrize("command", sorted(set(CASES) - SAME_TWICE))
def test_without_a_key_the_same_call_runs_again_or_is_refused(command: str) -> None:
    """The key is what makes a retry safe: the control for the test above."""
    w = make_world()
    actor, call = CASES[command](w)
    call(actor, "k", False)
    before = snapshot(w)
    try:
        call(actor, "other-key", False)
    except Exception:  # refused (the step moved on): also not the first outcome
        assert snapshot(w) == before
    else:
        assert snapshot(w) != before


@pytest.mark.parametrize("key", ["", "   ", "a\x00b", "x" * 201, 42])
def test_a_bad_key_is_refused_before_anything_happens(key: object) -> None:
    w = make_world()
    actor, call = CASES["draft"](w)
    before = snapshot(w)
    with pytest.raises(Exception) as caught:
        call(actor, key, False)  # type: ignore[arg-type]
    assert getattr(caught.value, "code", None) in ("input.invalid", "input.too_large")
    assert snapshot(w) == before


def test_two_people_with_one_key_do_not_collide() -> None:
    w = make_world()
    _, call = CASES["draft"](w)
    mine = call(w.member, "k", False)
    theirs = call(w.coauthor, "k", False)
    assert mine != theirs
    assert call(w.member, "k", False) == mine


def test_one_person_in_another_grant_gets_a_conflict_not_the_first_outcome() -> None:
    """The fingerprint covers the acting grant: a key used in one jurisdiction is not replayed
    to the same person acting in another."""
    w = make_world()
    _, call = CASES["draft"](w)
    call(w.member, "k", False)
    elsewhere = attrs.evolve(w.member, jurisdiction=DH)
    enrol(w.store, elsewhere)  # the same person also holds a county member grant
    fails("store.idempotency_conflict", lambda: call(elsewhere, "k", False))


@pytest.mark.parametrize("command", ["register", "unlock"])
def test_a_retried_password_command_delivers_one_password(command: str) -> None:
    """A retry returns the account, never a second initial password to the phone."""
    w = make_world()
    actor, call = CASES[command](w)
    delivery = w.qd.credential_delivery
    assert isinstance(delivery, RecordingDelivery)
    call(actor, "k", False)
    sent = list(delivery.sent)
    call(actor, "k", False)
    assert delivery.sent == sent
