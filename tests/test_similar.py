"""Similar items at 初审: who may ask, what they see, how the index follows the items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qiandao import AuditQuery, Item, Qiandao, SimilarItem
from qiandao.similarity import THRESHOLD
from qiandao_adapters.analysis import MinHashAnalyzer
from qiandao_adapters.crypto import KeyRing
from qiandao_adapters.sql import SqlStore
from tests.data.make_similar_pairs import load_pairs
from tests.helpers import World, fails, make_world

PAIRS = load_pairs()
DUPLICATE = next(p for p in PAIRS if p["label"] == "duplicate")
OTHER_MATTER = next(p for p in PAIRS if p["label"] == "different")


def _text(pair: dict[str, object], side: str) -> dict[str, str]:
    doc = pair[side]
    assert isinstance(doc, dict)
    return {"title": doc["title"], "body": doc["body"], "category": str(pair["category"])}


@pytest.fixture(params=["memory", "sqlite"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A world on the memory store and on the SQL store (SQLite, encrypted at rest)."""
    analyzer = MinHashAnalyzer(key=b"k" * 32)
    if request.param == "memory":
        yield make_world(analyzer=analyzer)
        return
    store = SqlStore(f"sqlite:///{tmp_path / 'similar.db'}", keys=KeyRing.generate())
    store.create_all()
    try:
        yield make_world(store=store, analyzer=analyzer)
    finally:
        store.dispose()


def _submitted(w: World, text: dict[str, str], **more: object) -> Item:
    w.clock.advance(minutes=1)
    return w.qd.submit_new(w.member, {**text, **more})


def _ids(found: tuple[SimilarItem, ...]) -> list[str]:
    return [s.item_id for s in found]


def _indexed(w: World, item_id: str) -> bool:
    with w.store.unit_of_work() as uow:
        return uow.similarity.get(item_id) is not None


def test_the_editor_sees_the_duplicate_first_with_its_score_and_view(w: World) -> None:
    first = _submitted(w, _text(DUPLICATE, "a"))
    unrelated = _submitted(w, _text(OTHER_MATTER, "b"))
    second = _submitted(w, _text(DUPLICATE, "b"))
    found = w.qd.similar_items(w.editor, second.id)
    assert _ids(found)[:1] == [first.id]
    assert unrelated.id not in _ids(found)
    top = found[0]
    assert THRESHOLD <= top.score <= 1.0
    assert top.view.id == first.id and top.view.title == first.title
    assert top.view.body == first.body  # the office reads the whole item
    assert second.id not in _ids(found)  # never the item itself
    assert _ids(w.qd.similar_items(w.head, first.id)) == [second.id]


def test_only_office_roles_may_ask(w: World) -> None:
    item = _submitted(w, _text(DUPLICATE, "a"))
    fails("permission.denied", lambda: w.qd.similar_items(w.member, item.id))
    fails("permission.denied", lambda: w.qd.similar_items(w.units["u-a"], item.id))


def test_an_item_the_editor_may_not_see_is_not_found(w: World) -> None:
    county = w.county
    item = w.qd.submit_new(county["member"], _text(DUPLICATE, "a"))
    fails("not_found", lambda: w.qd.similar_items(w.editor, item.id))
    draft = w.qd.draft(w.member, _text(DUPLICATE, "b"))
    fails("not_found", lambda: w.qd.similar_items(w.editor, draft.id))


def test_items_of_another_jurisdiction_and_drafts_never_appear(w: World) -> None:
    county = w.county
    w.qd.submit_new(county["member"], _text(DUPLICATE, "a"))
    draft = w.qd.draft(w.member, _text(DUPLICATE, "a"))
    item = _submitted(w, _text(DUPLICATE, "b"))
    assert w.qd.similar_items(w.editor, item.id) == ()
    assert not _indexed(w, draft.id)


def test_secret_items_are_never_indexed_and_are_dropped_on_reclassification(w: World) -> None:
    secret = _submitted(w, _text(DUPLICATE, "a"), secret=True)
    assert not _indexed(w, secret.id)
    item = _submitted(w, _text(DUPLICATE, "b"))
    assert w.qd.similar_items(w.editor, item.id) == ()
    assert w.qd.similar_items(w.editor, secret.id) == ()  # a 涉密 item's text is not compared
    other = _submitted(w, _text(DUPLICATE, "a"))
    assert _ids(w.qd.similar_items(w.editor, item.id)) == [other.id]
    w.qd.reclassify(w.editor, other.id, True, "涉及未公开的应急预案")
    assert not _indexed(w, other.id)
    assert w.qd.similar_items(w.editor, item.id) == ()
    w.qd.reclassify(w.editor, other.id, False, "经核定不涉密")
    assert _ids(w.qd.similar_items(w.editor, item.id)) == [other.id]


def test_the_index_follows_the_text_and_drops_a_withdrawn_item(w: World) -> None:
    first = _submitted(w, _text(DUPLICATE, "a"))
    second = _submitted(w, _text(OTHER_MATTER, "a"))
    assert w.qd.similar_items(w.editor, first.id) == ()
    # the editor's edit at 初审 rewrites the second item as the same matter
    w.qd.pass_preliminary(
        w.editor,
        second.id,
        destinations=["forward_to_departments"],
        body=_text(DUPLICATE, "b")["body"],
        title=_text(DUPLICATE, "b")["title"],
    )
    assert _ids(w.qd.similar_items(w.editor, first.id)) == [second.id]
    returned = _submitted(w, _text(DUPLICATE, "b"))
    w.qd.return_for_revision(w.editor, returned.id, "请补充数据来源")
    assert returned.id in _ids(w.qd.similar_items(w.editor, first.id))
    w.qd.withdraw(w.member, returned.id)
    assert not _indexed(w, returned.id)
    assert returned.id not in _ids(w.qd.similar_items(w.editor, first.id))


def test_only_the_last_months_count_and_the_limit_holds(w: World) -> None:
    old = _submitted(w, _text(DUPLICATE, "a"))
    w.clock.advance(days=90)
    copies = [_submitted(w, _text(DUPLICATE, "a")) for _ in range(3)]
    item = _submitted(w, _text(DUPLICATE, "b"))
    assert set(_ids(w.qd.similar_items(w.editor, item.id))) == {old.id, *(c.id for c in copies)}
    recent = w.qd.similar_items(w.editor, item.id, months=1)
    assert set(_ids(recent)) == {c.id for c in copies}
    assert len(w.qd.similar_items(w.editor, item.id, limit=2)) == 2
    scores = [s.score for s in w.qd.similar_items(w.editor, item.id)]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("field", "arguments"),
    [("limit", {"limit": 0}), ("months", {"months": 0}), ("months", {"months": "12"})],
)
def test_bad_limits_are_refused(w: World, field: str, arguments: dict[str, object]) -> None:
    item = _submitted(w, _text(DUPLICATE, "a"))
    error = fails("input.invalid", lambda: w.qd.similar_items(w.editor, item.id, **arguments))  # type: ignore[arg-type]
    assert error.details.get("field") == field


def test_without_an_analyzer_there_is_no_index_and_a_coded_error() -> None:
    w = make_world()
    item = w.qd.submit_new(w.member, _text(DUPLICATE, "a"))
    assert not _indexed(w, item.id)
    fails("analysis.unavailable", lambda: w.qd.similar_items(w.editor, item.id))


def test_the_read_is_audited_with_the_items_it_shows(w: World) -> None:
    first = _submitted(w, _text(DUPLICATE, "a"))
    second = _submitted(w, _text(DUPLICATE, "b"))
    w.qd.similar_items(w.editor, second.id)
    with w.store.unit_of_work() as uow:
        (record,) = uow.audit.query(AuditQuery(action="similar_items"))
    assert record.entry.account_id == w.editor.account_id
    assert second.id in record.entry.targets and first.id in record.entry.targets
    assert not record.entry.secret
    fails("permission.denied", lambda: w.qd.similar_items(w.member, second.id))
    with w.store.unit_of_work() as uow:
        refused = uow.audit.query(AuditQuery(action="similar_items", account_id="m1"))
    assert [r.entry.code for r in refused] == ["permission.denied"]


def test_an_item_stored_before_the_analyzer_is_compared_but_not_found_until_rewritten() -> None:
    plain = make_world()
    before = plain.qd.submit_new(plain.member, _text(DUPLICATE, "a"))
    qd = Qiandao(
        plain.store, clock=plain.clock, hasher=None, analyzer=MinHashAnalyzer(key=b"k" * 32)
    )
    plain.clock.advance(minutes=1)
    after = qd.submit_new(plain.member, _text(DUPLICATE, "b"))
    assert [s.item_id for s in qd.similar_items(plain.editor, before.id)] == [after.id]
    assert qd.similar_items(plain.editor, after.id) == ()  # not indexed: written before
