"""Hot topics and trends: who may ask, what stands out, what the index holds and reveals."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from qiandao import (
    AuditOutcome,
    AuditQuery,
    FocusCategory,
    HotTopics,
    Item,
    Qiandao,
    StatisticsQuery,
)
from qiandao.rules.points import Period
from qiandao.topics import background_of, previous_period, weight
from qiandao_adapters.analysis import MinHashAnalyzer
from qiandao_adapters.crypto import KeyRing
from qiandao_adapters.sql import SqlStore
from tests.helpers import World, at, fails, make_world

Q3_2025, Q4_2025, Q1_2026 = (
    Period.quarter(2025, 3),
    Period.quarter(2025, 4),
    Period.quarter(2026, 1),
)
ALWAYS = "关于老旧小区停车泊位紧张的建议"
ALWAYS_BODY = "老旧小区停车泊位严重不足，居民夜间停车困难，建议挖潜增设停车泊位。"
BURST = "关于台风过后渔港避风设施修复的建议"
BURST_BODY = "台风过后渔港避风设施受损，渔船停泊存在隐患，建议尽快修复渔港避风设施。"
OTHER = "关于乡村公交班次偏少的建议"
OTHER_BODY = "偏远海岛乡村公交班次偏少，村民出行不便，建议优化公交线路。"


@pytest.fixture(params=["memory", "sqlite"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A world starting in 2025 Q3, on the memory store and on SQLite encrypted at rest."""
    analyzer = MinHashAnalyzer(key=b"k" * 32)
    start = at(2025, 7, 7)
    if request.param == "memory":
        yield make_world(start, analyzer=analyzer)
        return
    store = SqlStore(f"sqlite:///{tmp_path / 'topics.db'}", keys=KeyRing.generate())
    store.create_all()
    try:
        yield make_world(start, store=store, analyzer=analyzer)
    finally:
        store.dispose()


def _submitted(w: World, title: str, body: str, **more: object) -> Item:
    w.clock.advance(hours=1)
    data = {"title": title, "body": body, "category": "hot_issue", **more}
    return w.qd.submit_new(w.member, data)


def _to(w: World, day: date) -> None:
    w.clock.set(at(day.year, day.month, day.day))


def _burst_world(w: World) -> list[Item]:
    """Parking said every quarter; a typhoon burst in 2026 Q1 (the items returned)."""
    for period in (Q3_2025, Q4_2025):
        _to(w, period.start.replace(day=10))
        for _ in range(4):
            _submitted(w, ALWAYS, ALWAYS_BODY)
        _submitted(w, OTHER, OTHER_BODY)
    _to(w, Q1_2026.start.replace(day=12))
    now = [_submitted(w, ALWAYS, ALWAYS_BODY) for _ in range(4)]
    now += [_submitted(w, BURST, BURST_BODY) for _ in range(3)]
    now.append(_submitted(w, OTHER, OTHER_BODY))
    return now


def _words(found: HotTopics) -> list[str]:
    return [t.word for t in found.topics]


def _indexed(w: World, item_id: str) -> bool:
    with w.store.unit_of_work() as uow:
        return uow.topics.get(item_id) is not None


def test_a_burst_outranks_what_is_always_said(w: World) -> None:
    items = _burst_world(w)
    found = w.qd.hot_topics(w.editor, Q1_2026)
    assert found.items == 8 and found.background_items == 10
    words = _words(found)
    assert words.index("台风") < words.index("停车")
    typhoon = found.topics[words.index("台风")]
    parking = found.topics[words.index("停车")]
    assert typhoon.weight > parking.weight > 0
    assert (typhoon.items, typhoon.previous_items, typhoon.change) == (3, 0, 3)
    assert (parking.items, parking.previous_items, parking.change) == (4, 4, 0)
    burst_ids = {i.id for i in items if i.title == BURST}
    assert {r.item_id for r in typhoon.representatives} == burst_ids
    assert {r.title for r in typhoon.representatives} == {BURST}
    assert "建议" not in words and "问题" not in words  # stop words
    assert len(parking.representatives) == 4
    limited = w.qd.hot_topics(w.editor, Q1_2026, limit=1)
    assert [t.word for t in limited.topics] == words[:1]
    by_category = w.qd.hot_topics(w.editor, Q1_2026, category=FocusCategory.EMERGENCY)
    assert by_category.items == 0 and by_category.topics == ()


def test_only_the_office_of_the_jurisdiction_may_ask(w: World) -> None:
    _burst_world(w)
    fails("permission.denied", lambda: w.qd.hot_topics(w.member, Q1_2026))
    fails("permission.denied", lambda: w.qd.hot_topics(w.units["u-a"], Q1_2026))
    fails("permission.denied", lambda: w.qd.hot_topics(w.editor, Q1_2026, "zhoushan.dinghai"))
    fails("permission.denied", lambda: w.qd.trends(w.member, [Q1_2026]))
    assert w.qd.hot_topics(w.head, Q1_2026, "zhoushan").topics


def test_secret_items_never_enter_and_are_dropped_on_reclassification(w: World) -> None:
    _to(w, Q1_2026.start.replace(day=12))
    secret = [_submitted(w, BURST, BURST_BODY, secret=True) for _ in range(2)]
    assert not any(_indexed(w, i.id) for i in secret)
    assert w.qd.hot_topics(w.editor, Q1_2026).items == 0
    shown = [_submitted(w, BURST, BURST_BODY) for _ in range(3)]
    found = w.qd.hot_topics(w.editor, Q1_2026)
    assert found.items == 3 and "台风" in _words(found)
    assert {r.item_id for t in found.topics for r in t.representatives} == {i.id for i in shown}
    w.qd.reclassify(w.editor, shown[0].id, True, "涉及未公开的应急预案")
    assert not _indexed(w, shown[0].id)
    found = w.qd.hot_topics(w.editor, Q1_2026)
    assert found.items == 2
    reps = {r.item_id for t in found.topics for r in t.representatives}
    assert reps == {shown[1].id, shown[2].id}
    w.qd.reclassify(w.editor, shown[0].id, False, "经核定不涉密")
    assert w.qd.hot_topics(w.editor, Q1_2026).items == 3


def test_the_index_follows_edits_withdrawals_and_other_jurisdictions(w: World) -> None:
    _to(w, Q1_2026.start.replace(day=12))
    county = w.county
    w.clock.advance(hours=1)
    for _ in range(3):
        w.qd.submit_new(
            county["member"], {"title": BURST, "body": BURST_BODY, "category": "hot_issue"}
        )
    draft = w.qd.draft(w.member, {"title": BURST, "body": BURST_BODY, "category": "hot_issue"})
    assert not _indexed(w, draft.id)
    assert w.qd.hot_topics(w.editor, Q1_2026).items == 0  # the county's are its own
    first, second = _submitted(w, OTHER, OTHER_BODY), _submitted(w, OTHER, OTHER_BODY)
    assert "台风" not in _words(w.qd.hot_topics(w.editor, Q1_2026))
    for item in (first, second):
        w.qd.pass_preliminary(
            w.editor, item.id, destinations=["forward_to_departments"], title=BURST, body=BURST_BODY
        )
    assert "台风" in _words(w.qd.hot_topics(w.editor, Q1_2026))
    third = _submitted(w, OTHER, OTHER_BODY)
    w.qd.return_for_revision(w.editor, third.id, "请补充数据来源")
    assert _indexed(w, third.id)
    w.qd.withdraw(w.member, third.id)
    assert not _indexed(w, third.id)


def test_the_read_is_audited_with_the_items_it_shows(w: World) -> None:
    items = _burst_world(w)
    w.qd.hot_topics(w.editor, Q1_2026)
    with w.store.unit_of_work() as uow:
        (record,) = uow.audit.query(AuditQuery(action="hot_topics"))
    assert record.entry.account_id == w.editor.account_id
    assert set(record.entry.targets) <= {i.id for i in items}
    assert {i.id for i in items if i.title == BURST} <= set(record.entry.targets)
    assert not record.entry.secret


def test_without_an_analyzer_a_coded_error() -> None:
    w = make_world()
    item = w.qd.submit_new(w.member, {"title": BURST, "body": BURST_BODY, "category": "hot_issue"})
    assert not _indexed(w, item.id)
    fails("analysis.unavailable", lambda: w.qd.hot_topics(w.editor, Q1_2026))


@pytest.mark.parametrize(
    ("field", "arguments"),
    [("limit", {"limit": 0}), ("period", {"period": "2026Q1"}), ("category", {"category": "x"})],
)
def test_bad_arguments_are_refused(field: str, arguments: dict[str, object]) -> None:
    w = make_world(analyzer=MinHashAnalyzer())
    call = {"period": Q1_2026, **arguments}
    error = fails("input.invalid", lambda: w.qd.hot_topics(w.editor, **call))  # type: ignore[arg-type]
    assert error.details.get("field") == field


def test_under_encryption_the_index_holds_no_word_in_the_clear(tmp_path: Path) -> None:
    path = tmp_path / "sealed.db"
    store = SqlStore(f"sqlite:///{path}", keys=KeyRing.generate())
    store.create_all()
    try:
        w = make_world(store=store, analyzer=MinHashAnalyzer())
        _submitted(w, BURST, BURST_BODY)
        _submitted(w, BURST, BURST_BODY)
        assert "台风" in _words(w.qd.hot_topics(w.editor, Q1_2026))
    finally:
        store.dispose()
    with sqlite3.connect(path) as db:
        terms = [r[0] for r in db.execute("SELECT term FROM qd_topic_terms")]
        words = [r[0] for r in db.execute("SELECT word FROM qd_topic_words")]
    assert terms and len(words) == len(set(terms))
    assert "台风" not in terms and all(len(t) == 64 for t in terms)
    assert all(word.startswith("v1:") and "台风" not in word for word in words)


def test_trends_count_submissions_and_adoptions_per_period_and_group() -> None:
    w = make_world(at(2025, 10, 8))
    w.issued(category="hot_issue")
    w.clock.set(at(2026, 1, 12))
    w.qd.submit_new(w.member, {"title": OTHER, "body": OTHER_BODY, "category": "emergency"})
    w.qd.submit_new(w.member, {"title": OTHER, "body": OTHER_BODY, "category": "emergency"})
    periods = [Q4_2025, Q1_2026]
    found = w.qd.trends(w.editor, periods)
    assert [t.period for t in found] == periods
    with w.store.unit_of_work() as uow:
        for trend in found:
            stats = uow.items.statistics(
                StatisticsQuery("zhoushan", trend.period, date(2026, 3, 1))
            )
            assert trend.groups == stats.by_category
    assert [(g.key, g.submitted, g.adopted) for g in found[0].groups] == [("hot_issue", 1, 1)]
    assert [(g.key, g.submitted, g.adopted) for g in found[1].groups] == [("emergency", 2, 0)]
    by_channel = w.qd.trends(w.editor, periods, by="channel")
    assert [g.key for g in by_channel[1].groups] == ["member"]
    fails("input.invalid", lambda: w.qd.trends(w.editor, periods, by="unit"))  # type: ignore[arg-type]
    fails("input.invalid", lambda: w.qd.trends(w.editor, []))
    with w.store.unit_of_work() as uow:
        records = uow.audit.query(AuditQuery(action="trends"))
    outcomes = sorted(r.entry.outcome for r in records)
    assert outcomes == sorted([AuditOutcome.SUCCEEDED] * 2 + [AuditOutcome.REFUSED] * 2)


def test_the_background_is_the_four_periods_before() -> None:
    previous, earlier = background_of(Q1_2026)
    assert previous == Q4_2025
    assert earlier == Period(date(2025, 1, 1), date(2025, 9, 30))
    month = Period(date(2026, 3, 1), date(2026, 3, 31))
    assert previous_period(month) == Period(date(2026, 2, 1), date(2026, 2, 28))
    days = Period(date(2026, 3, 10), date(2026, 3, 16))
    assert previous_period(days, 4) == Period(date(2026, 2, 10), date(2026, 3, 9))


def test_the_weight_favours_a_burst_over_a_steady_term() -> None:
    steady = weight(300, 1000, 1200, 4000)
    burst = weight(50, 1000, 5, 4000)
    assert burst > 0 and abs(steady) < burst / 10
    assert weight(0, 1000, 5, 4000) == 0.0
    # without a background the weight grows with the count alone
    assert 0 < weight(2, 100, 0, 0) < weight(10, 100, 0, 0) < weight(50, 100, 0, 0)


def test_keys_encrypt_turns_words_kept_in_the_clear_into_tokens(tmp_path: Path) -> None:
    from qiandao_adapters.sql.keys import encrypt_in_place

    path = tmp_path / "clear.db"
    clear = SqlStore(f"sqlite:///{path}", plaintext=True)
    clear.create_all()
    w = make_world(store=clear, analyzer=MinHashAnalyzer())
    _submitted(w, BURST, BURST_BODY)
    _submitted(w, BURST, BURST_BODY)
    before = w.qd.hot_topics(w.editor, Q1_2026)
    clear.dispose()
    with sqlite3.connect(path) as db:
        assert "台风" in [r[0] for r in db.execute("SELECT term FROM qd_topic_terms")]
        (vocabulary,) = db.execute("SELECT count(*) FROM qd_topic_words").fetchone()
    store = SqlStore(f"sqlite:///{path}", keys=KeyRing.generate())
    try:
        report = encrypt_in_place(store, batch=4)
        assert report.sealed["qd_topic_terms.term"] == vocabulary
        qd = Qiandao(store, clock=w.clock, hasher=None, analyzer=MinHashAnalyzer())
        after = qd.hot_topics(w.editor, Q1_2026)
        assert {(t.word, t.items, t.weight) for t in after.topics} == {
            (t.word, t.items, t.weight) for t in before.topics
        }
        assert encrypt_in_place(store).sealed.get("qd_topic_terms.term", 0) == 0
    finally:
        store.dispose()
    with sqlite3.connect(path) as db:
        terms = [r[0] for r in db.execute("SELECT term FROM qd_topic_terms")]
        words = [r[0] for r in db.execute("SELECT word FROM qd_topic_words")]
    assert terms and all(len(t) == 64 for t in terms)
    assert all(word.startswith("v1:") for word in words)
