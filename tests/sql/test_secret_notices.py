"""Notices about a 涉密 item carry no title, body, note or reason (issue 9), on every store.

Each kind of notice ``notices_for`` can send says only ``SECRET_TEXT``; the reference is the
item's generated id (``Notice.item_id``). The same walk on an open item names its title.
"""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from qiandao.events import Change, Event, EventKind
from qiandao.model import Feedback, FeedbackKind, ReviewOverrun, ReviewStage
from qiandao.notices import SECRET_TEXT, notices_for
from qiandao.ports.store import Store
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.points import AdoptionLevel
from qiandao.rules.ruleset import RuleSet
from tests.helpers import make_world

TITLE = "海岛渔民养老保险"
SECRETS = (TITLE, "渔民反映", "理由甲", "说明乙", "承办答复丙")


def _walk(store: Store, *, secret: bool) -> tuple[str, list[tuple[str, str]]]:
    """Walk one item through every command that notifies; its (kind, text) notices."""
    w = make_world(store=store)
    data = {"title": TITLE, "body": "渔民反映。", "category": "hot_issue", "secret": secret}
    item = w.qd.submit_new(w.member, data)
    item = w.qd.return_for_revision(w.editor, item.id, "理由甲")
    item = w.qd.resubmit(w.member, item.id)
    item = w.qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"])
    item = w.qd.send_back(w.deputy, item.id, "理由甲")
    item = w.qd.pass_preliminary(w.editor, item.id, destinations=["forward_to_departments"])
    item = w.qd.approve(w.deputy, item.id)
    item = w.qd.sign(w.head, item.id, "说明乙")
    item = w.qd.assign(w.editor, item.id, [("u-a", True), ("u-b", False)], note="说明乙")
    a, b = item.assignments
    w.qd.decline(w.unit("u-b"), item.id, b.id, "理由甲")
    w.qd.overrule(w.editor, item.id, b.id, "理由甲")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 5, "理由甲")
    w.qd.approve_extension(w.editor, item.id, a.id)
    w.qd.cancel_assignment(w.editor, item.id, b.id, "理由甲")
    w.clock.advance(days=40)
    w.qd.run_due_jobs()
    w.qd.reply(w.unit("u-a"), item.id, a.id, "承办答复丙")
    w.qd.rate(w.member, item.id, a.id, "dissatisfied")
    w.qd.record_adoption(w.editor, item.id, "provincial_cppcc", date(2026, 4, 1), "说明乙")
    w.qd.dispatch(10_000)
    assert w.outbox() == []  # every notice went through the outbox to the gateway
    found = [(n.kind, n.text) for n in w.notifier.sent if n.item_id == item.id]
    return item.id, found


def test_every_notice_about_a_secret_item_says_only_the_fixed_text(any_store: Store) -> None:
    item_id, notices = _walk(any_store, secret=True)
    kinds = {kind for kind, _ in notices}
    assert len(kinds) >= 12, kinds
    assert {text for _, text in notices} == {SECRET_TEXT}
    assert all(item_id not in text for _, text in notices)


def test_the_same_walk_on_an_open_item_names_its_title() -> None:
    from qiandao_adapters.memory import MemoryStore

    _, notices = _walk(MemoryStore(), secret=False)
    assert all(TITLE in text for _, text in notices)


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_of_a_secret_item_says_nothing_else(kind: EventKind) -> None:
    w = make_world()
    item, _ = w.accepted("u-a")
    at = w.clock.now()
    overrun = ReviewOverrun(ReviewStage.PRELIMINARY, at, at, 4, 3)
    item = attrs.evolve(item, secret=True, review_overruns=(overrun,))
    feedback = Feedback(
        FeedbackKind.ADOPTION, date(2026, 5, 1), "e1", at, "说明乙", AdoptionLevel.PROVINCIAL_CPPCC
    )
    assignment = attrs.evolve(item.assignments[0], rating_closes=date(2026, 6, 1))
    for state in (None, ItemState.SUBMITTED, ItemState.IN_REVIEW):
        change = Change(state=state, assignment=assignment, feedback=feedback, note="说明乙")
        event = Event("ev-1", item.id, 99, kind, "e1", at, change)
        for notice in notices_for(event, item, RuleSet.zhoushan()):
            assert notice.text == SECRET_TEXT
            assert notice.item_id == item.id
            assert not any(s in notice.text for s in SECRETS)
