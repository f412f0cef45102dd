"""Rating rights (第十二条) and feedback to the author (第十一条), on every store.

Closing waits for the author's rating or the end of the window; rating windows are deadlines,
provisional in a year with no official schedule and recounted by ``adopt_calendar``; authors
(merged authors too) and the office read every feedback record, a unit only those shared with it.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from pathlib import Path

import attrs
import pytest

from qiandao import Actor, EventKind, Item, ItemState, Rating, RuleSet
from qiandao._jobs import SYSTEM_ACTOR_ID
from qiandao.model import Assignment, FeedbackKind
from qiandao.ports.store import AssignmentQuery, Store
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.workdays import ChinaWorkdays
from tests.helpers import World, at, fails, make_world, refused
from tests.test_recompute import SCHEDULE_2027


@pytest.fixture
def w(any_store: Store) -> World:
    return make_world(store=any_store)


def _replied(w: World, *units: str) -> tuple[Item, list[Assignment]]:
    """An item whose every unit (default: unit A) has replied, on 10 March."""
    item, assignments = w.accepted(*units)
    w.clock.set(at(2026, 3, 10))
    for a in assignments:
        w.qd.reply(w.unit(a.unit_id), item.id, a.id, "答复。")
    item = w.load(item.id)  # as stored: a unit's command returns only what it may see
    return item, list(item.assignments)


# --- closing waits for the rating (第十二条) ---------------------------------------------------


def test_closing_waits_for_the_authors_rating(w: World) -> None:
    item, (a,) = _replied(w)
    assert item.state is ItemState.REPLIED
    error = refused(w, item.id, "rating.window_open", lambda: w.qd.close(w.editor, item.id))
    assert error.article == "第十二条"
    w.qd.rate(w.member, item.id, a.id, Rating.SATISFIED)
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


def test_closing_after_the_window_ends_unrated(w: World) -> None:
    item, (a,) = _replied(w)
    assert a.rating_closes is not None
    last = a.rating_closes
    w.clock.set(at(last.year, last.month, last.day, 23, 59))  # the window's last day
    refused(w, item.id, "rating.window_open", lambda: w.qd.close(w.editor, item.id))
    w.clock.set(at(last.year, last.month, last.day) + timedelta(days=1))
    assert w.qd.run_due_jobs().ratings_closed == 1  # 未评价 recorded
    (lapsed,) = w.load(item.id).assignments
    assert (lapsed.rating, lapsed.rating_pending_until) == (Rating.NOT_RATED, None)
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


def test_every_open_window_holds_the_close(w: World) -> None:
    item, (a, b) = _replied(w, "u-a", "u-b")
    w.qd.rate(w.member, item.id, a.id, Rating.BASICALLY_SATISFIED)
    refused(w, item.id, "rating.window_open", lambda: w.qd.close(w.editor, item.id))
    refused(w, item.id, "permission.denied", lambda: w.qd.close(w.member, item.id))
    w.qd.rate(w.member, item.id, b.id, Rating.DISSATISFIED)
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


# --- provisional rating windows ---------------------------------------------------------------


def test_a_provisional_rating_window_is_kept_and_recounted(w: World, tmp_path: Path) -> None:
    """A reply on 15 December 2026 opens a window into 2027 (no official schedule yet)."""
    w.clock.set(at(2026, 12, 15))
    waiting, (a,) = w.accepted()
    waiting = w.qd.reply(w.unit("u-a"), waiting.id, a.id, "答复。")
    rated, (b,) = w.accepted()
    w.qd.reply(w.unit("u-a"), rated.id, b.id, "答复。")
    w.qd.rate(w.member, rated.id, b.id, Rating.SATISFIED)
    (window,) = w.load(waiting.id).assignments
    assert window == waiting.assignments[0]  # round-trips through the store
    assert window.rating_provisional and window.rating_closes is not None
    with w.store.unit_of_work() as uow:
        found = uow.items.assignments(AssignmentQuery(provisional_only=True))
    assert [(i.id, x.id) for i, x in found] == [(waiting.id, a.id)]

    path = tmp_path / "2027.toml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    official = ChinaWorkdays.official().load_schedule(path)
    w.notifier.sent.clear()
    assert w.qd.adopt_calendar(official) == 1

    (moved,) = w.load(waiting.id).assignments
    assert moved.rating_closes == official.add_working_days(date(2026, 12, 15), 15)
    assert moved.rating_closes != window.rating_closes
    assert not moved.rating_provisional
    last = w.events(waiting.id)[-1]
    assert (last.kind, last.actor_id) == (EventKind.RATING_WINDOW_RECOMPUTED, SYSTEM_ACTOR_ID)
    # only the lead author may rate (co-authors may not by default): only they are told
    assert [(n.kind, n.recipients) for n in w.notifier.sent] == [
        ("rating_window_recomputed", ("m1",))
    ]
    assert "2027年1月8日" in w.notifier.sent[0].text  # the new last day
    assert w.qd.adopt_calendar(official) == 0
    with w.store.unit_of_work() as uow:
        assert uow.items.assignments(AssignmentQuery(provisional_only=True)) == []


def _official_2027(tmp_path: Path) -> ChinaWorkdays:
    path = tmp_path / "2027.toml"
    path.write_text(SCHEDULE_2027, encoding="utf-8")
    return ChinaWorkdays.official().load_schedule(path)


def _provisional_window(w: World) -> tuple[Item, Assignment]:
    """An item replied to on 15 December 2026: its provisional window ends 6 January 2027
    (8 January under the 2027 schedule of ``_official_2027``)."""
    w.clock.set(at(2026, 12, 15))
    item, (a,) = w.accepted()
    item = w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    (window,) = item.assignments
    assert (window.rating_closes, window.rating_provisional) == (date(2027, 1, 6), True)
    return item, window


def test_co_authors_who_may_rate_are_told_of_a_recomputed_window(
    any_store: Store, tmp_path: Path
) -> None:
    zhoushan = RuleSet.zhoushan()
    rules = attrs.evolve(zhoushan, rating=attrs.evolve(zhoushan.rating, coauthors_may_rate=True))
    w = make_world(store=any_store, city_rules=rules)
    _provisional_window(w)
    w.notifier.sent.clear()
    assert w.qd.adopt_calendar(_official_2027(tmp_path)) == 1
    assert [(n.kind, n.recipients) for n in w.notifier.sent] == [
        ("rating_window_recomputed", ("m1", "m2"))
    ]


@pytest.mark.parametrize("job_first", [False, True], ids=["adopt_first", "job_first"])
def test_a_rating_window_already_over_is_final(w: World, tmp_path: Path, job_first: bool) -> None:
    """Adopting the calendar on 7 January 2027, after the window's last day (6 January), does
    not reopen it, whether or not the job has already recorded 未评价."""
    item, window = _provisional_window(w)
    w.clock.set(at(2027, 1, 7))
    if job_first:
        assert w.qd.run_due_jobs().ratings_closed == 1
    w.notifier.sent.clear()
    w.qd.adopt_calendar(_official_2027(tmp_path))
    assert not any(n.kind == "rating_window_recomputed" for n in w.notifier.sent)
    kinds = [e.kind for e in w.events(item.id)]
    assert EventKind.RATING_WINDOW_RECOMPUTED not in kinds
    refused(
        w,
        item.id,
        "rating.window_closed",
        lambda: w.qd.rate(w.member, item.id, window.id, Rating.SATISFIED),
    )
    if not job_first:
        assert w.qd.run_due_jobs().ratings_closed == 1
    (lapsed,) = w.load(item.id).assignments
    assert (lapsed.rating, lapsed.rating_closes, lapsed.rating_pending_until) == (
        Rating.NOT_RATED,
        date(2027, 1, 6),
        None,
    )
    assert w.qd.close(w.editor, item.id).state is ItemState.CLOSED


def test_the_rating_window_of_a_closed_item_is_never_recounted(w: World, tmp_path: Path) -> None:
    item, _ = _provisional_window(w)
    w.clock.set(at(2027, 1, 7))  # the window is over: the office may close before the job runs
    closed = w.qd.close(w.editor, item.id)
    assert closed.state is ItemState.CLOSED
    w.notifier.sent.clear()
    assert w.qd.adopt_calendar(_official_2027(tmp_path)) == 0
    assert w.notifier.sent == []
    assert w.load(item.id) == closed


# --- feedback to the author (第十一条) ----------------------------------------------------------


def _merged_and_assigned(w: World) -> Item:
    """m1's item (with m2) into which m3's item was merged, issued and assigned to unit A."""
    data = {"title": "渔民养老", "body": "正文", "category": "hot_issue"}
    target = w.qd.submit_new(w.member, {**data, "coauthor_ids": ["m2"]})
    source = w.qd.submit_new(w.stranger, data)
    w.qd.merge(w.editor, source.id, target.id)
    w.qd.pass_preliminary(w.editor, target.id, destinations=["forward_to_departments"])
    w.qd.approve(w.deputy, target.id)
    w.qd.sign(w.head, target.id)
    item = w.qd.assign(w.editor, target.id, [("u-a", True)])
    assert item.merged_authors == frozenset({"m3"})
    return item


def test_authors_read_feedback_units_only_what_is_shared(w: World) -> None:
    item = _merged_and_assigned(w)
    on = date(2026, 3, 2)
    qd = w.qd
    qd.record_adoption(w.editor, item.id, AdoptionLevel.PROVINCIAL_CPPCC, on)
    notices = [w.notifier.sent[-1]]
    qd.record_instruction(
        w.editor, item.id, "张某某", LeaderRank.CITY_PRINCIPAL_LEADER, on, "请研究。",
        shared_with_units=True,
    )  # fmt: skip
    notices.append(w.notifier.sent[-1])
    item = qd.record_implementation(w.editor, item.id, on, "已落实。")
    notices.append(w.notifier.sent[-1])
    everything = item.feedback
    assert [f.shared_with_units for f in everything] == [False, True, False]

    for reader in (w.member, w.coauthor, w.stranger, w.editor, w.deputy):  # m3: merged author
        assert qd.item_detail(reader, item.id).feedback == everything, reader
    (shared,) = qd.item_detail(w.unit("u-a"), item.id).feedback
    assert (shared.kind, shared.leader, shared.rank, shared.on, shared.text) == (
        FeedbackKind.INSTRUCTION,
        "张某某",
        LeaderRank.CITY_PRINCIPAL_LEADER,
        on,
        "请研究。",
    )
    for reader in (w.unit("u-b"), w.county["member"], w.county["editor"]):  # published only
        assert qd.item_detail(reader, item.id).feedback == (), reader

    # each notice goes to every author, merged ones too, and says what was recorded
    assert {n.recipients for n in notices} == {("m1", "m2", "m3")}
    assert [n.kind for n in notices] == ["feedback_recorded"] * 3
    assert AdoptionLevel.PROVINCIAL_CPPCC.label in notices[0].text
    assert LeaderRank.CITY_PRINCIPAL_LEADER.label in notices[1].text
    assert FeedbackKind.IMPLEMENTATION.label in notices[2].text


def test_merged_authors_do_not_read_a_secret_target(w: World) -> None:
    item = _merged_and_assigned(w)
    w.qd.reclassify(w.editor, item.id, True, "涉及未公开数据")
    w.qd.record_adoption(w.editor, item.id, AdoptionLevel.PROVINCIAL_CPPCC, date(2026, 3, 2))
    assert w.notifier.sent[-1].recipients == ("m1", "m2")  # not m3, outside need to know
    fails("not_found", lambda: w.qd.item_detail(w.stranger, item.id))
    assert w.qd.item_detail(w.member, item.id).feedback != ()


def test_merged_authors_do_not_read_a_returned_target_once_withdrawn(w: World) -> None:
    data = {"title": "渔民养老", "body": "正文", "category": "hot_issue"}
    target = w.qd.submit_new(w.member, data)
    source = w.qd.submit_new(w.stranger, data)
    w.qd.merge(w.editor, source.id, target.id)
    w.qd.return_for_revision(w.editor, target.id, "请补充")
    assert w.qd.item_detail(w.stranger, target.id).id == target.id  # credited: reads it
    w.qd.withdraw(w.member, target.id)
    for outsider in (w.stranger, w.editor):
        fails("not_found", functools.partial(w.qd.item_detail, outsider, target.id))
    assert w.qd.item_detail(w.member, target.id).state is ItemState.WITHDRAWN


def test_a_feedback_refusal_changes_nothing(w: World) -> None:
    item = _merged_and_assigned(w)
    not_a_bool: object = "yes"
    refused(
        w,
        item.id,
        "input.invalid",
        lambda: w.qd.record_implementation(
            w.editor,
            item.id,
            date(2026, 3, 2),
            "已落实。",
            shared_with_units=not_a_bool,  # type: ignore[arg-type]
        ),
    )
    refused(
        w,
        item.id,
        "permission.denied",
        lambda: w.qd.record_adoption(
            w.member, item.id, "city_cppcc", date(2026, 3, 2), shared_with_units=True
        ),
    )


def _shows_no_more_than_detail(w: World, unit: Actor, returned: Item) -> None:
    """What a unit's command returned holds nothing the unit's ``item_detail`` hides."""
    detail = w.qd.item_detail(unit, returned.id)
    assert returned.feedback == detail.feedback
    assert [a.id for a in returned.assignments] == [v.assignment.id for v in detail.assignments]
    assert returned.reviews == detail.reviews == ()
    assert (returned.lead_author_id or None) == detail.lead_author_id is None
    assert returned.coauthor_ids == () and returned.merged_authors == frozenset()
    assert [(t.title, t.body, t.editor_id) for t in returned.texts] == [
        (detail.title, detail.body, "")
    ]


def test_a_units_commands_return_only_what_the_unit_may_see(w: World) -> None:
    """Unshared feedback, the authors, the original text, the review chain and the other
    units' assignments never reach a unit through a command's return value (第十、十一条)."""
    item = _merged_and_assigned(w)
    item = w.qd.assign(w.editor, item.id, ["u-b"])
    a, b = (x.id for x in item.assignments)
    on = date(2026, 3, 2)
    w.qd.record_instruction(
        w.editor, item.id, "张某", LeaderRank.CITY_PRINCIPAL_LEADER, on, "内部批示"
    )
    w.qd.record_implementation(w.editor, item.id, on, "告知单位", shared_with_units=True)
    ua, ub = w.unit("u-a"), w.unit("u-b")
    for unit, returned in (
        (ua, w.qd.accept(ua, item.id, a)),
        (ub, w.qd.decline(ub, item.id, b, "不属于本单位职责")),
        (ua, w.qd.request_extension(ua, item.id, a, 5, "情况复杂")),
        (ua, w.qd.reply(ua, item.id, a, "答复。")),
    ):
        _shows_no_more_than_detail(w, unit, returned)
        assert [f.text for f in returned.feedback] == ["告知单位"]
    stored = w.load(item.id)
    assert len(stored.feedback) == 2 and stored.lead_author_id == "m1"  # the store keeps all


def test_a_units_command_keeps_publication_right_and_hides_the_rest(w: World) -> None:
    """The author refused publication: the unit's return value says unpublished, like its
    item_detail, without naming who refused; the sector and other units' re-handlings stay
    hidden (第十、十四条)."""
    item = w.issued(publish=False, sector="民建界")
    item = w.qd.assign(w.editor, item.id, [("u-a", True), "u-b"])
    a, b = (x.id for x in item.assignments)
    w.qd.accept(w.unit("u-a"), item.id, a)
    w.qd.reply(w.unit("u-a"), item.id, a, "答复。")
    w.qd.rate(w.member, item.id, a, Rating.DISSATISFIED)
    w.qd.order_rehandle(w.editor, item.id, a, "未答复到位")
    returned = w.qd.accept(w.unit("u-b"), item.id, b)
    assert returned.published is w.qd.item_detail(w.unit("u-b"), item.id).published is False
    assert returned.opted_out == frozenset({""}) and returned.sector == ""
    assert returned.rehandles == 0 and w.load(item.id).rehandles == 1
