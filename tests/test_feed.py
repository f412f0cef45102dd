"""The change feed (``events_since``): every item event in commit order, paged by a durable
cursor, each entry cut to what the asking actor may see of its item now; attacks on it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao import (
    Access,
    Actor,
    AuditOutcome,
    AuditQuery,
    EventKind,
    FeedEntry,
    FeedPage,
    Item,
    NotFound,
    Qiandao,
    QiandaoError,
    Role,
)
from qiandao._feed import FEED_SCAN_PAGES
from qiandao.feed import PUBLIC_FEED_KINDS, feed_entry
from qiandao.rules.publication import access
from qiandao.testing import enrol, sample_events
from qiandao.testing.strategies import items as any_items
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from tests.helpers import DH, SECURITY, ZS, World, fails, make_world

INTEGRATION = Actor("int-zs", Role.INTEGRATION, ZS)
COUNTY_INTEGRATION = Actor("int-dh", Role.INTEGRATION, DH)
SYSTEM = Actor("sys-1", Role.SYSTEM_ADMIN, ZS)
AUDITOR = Actor("auditor-1", Role.AUDIT_ADMIN, ZS)
DRAFT = {"title": "标题", "body": "正文", "category": "hot_issue"}


@pytest.fixture
def w() -> World:
    world = make_world()
    enrol(world.store, INTEGRATION, COUNTY_INTEGRATION, SYSTEM, AUDITOR)
    return world


def everything(w: World, actor: Actor, *, limit: int = 500) -> list[FeedEntry]:
    """The actor's whole feed, page by page."""
    found: list[FeedEntry] = []
    cursor = None
    while True:
        page = w.qd.events_since(actor, cursor, limit)
        found += page.items
        cursor = page.next_cursor
        if page.caught_up:
            return found


def last_position(w: World) -> int:
    with w.store.unit_of_work() as uow:
        return uow.events.since(0, 100_000)[-1].position


# --- following in order -------------------------------------------------------------------


def test_the_office_follows_every_event_in_commit_order_whole(w: World) -> None:
    first = w.issued()
    second = w.qd.submit_new(w.member, DRAFT)
    w.qd.assign(w.editor, first.id, ["u-a"])
    page = w.qd.events_since(w.editor, None)
    assert isinstance(page, FeedPage) and page.caught_up
    with w.store.unit_of_work() as uow:
        logged = uow.events.since(0, 1000)
    assert [(e.position, e.item_id, e.sequence) for e in page.items] == [
        (x.position, x.event.item_id, x.event.sequence) for x in logged
    ]
    assert {e.item_id for e in page.items} == {first.id, second.id}
    for entry, x in zip(page.items, logged, strict=True):
        assert entry.access is Access.FULL
        assert (entry.kind, entry.actor_id, entry.at, entry.change) == (
            x.event.kind,
            x.event.actor_id,
            x.event.at,
            x.event.change,
        )
    assert page.next_cursor == str(logged[-1].position)
    again = w.qd.events_since(w.editor, page.next_cursor)
    assert again == FeedPage((), page.next_cursor, True)
    w.qd.accept(w.unit("u-a"), first.id, w.load(first.id).assignments[0].id)
    later = w.qd.events_since(w.editor, page.next_cursor)
    assert [e.kind for e in later.items] == [EventKind.ACCEPTED]
    assert later.items[0].position > logged[-1].position


def test_pages_by_cursor_return_each_entry_once_in_order(w: World) -> None:
    for _ in range(3):
        w.issued()
    whole = w.qd.events_since(w.editor, None, 500).items
    for size in (1, 2, 7):
        paged = everything(w, w.editor, limit=size)
        assert paged == list(whole)
    page = w.qd.events_since(w.editor, None, 2)
    assert len(page.items) == 2 and not page.caught_up
    assert page.next_cursor == str(page.items[-1].position)


def test_a_cursor_is_durable_across_services(w: World) -> None:
    w.issued()
    cursor = w.qd.events_since(INTEGRATION, None).next_cursor
    w.qd.submit_new(w.member, DRAFT)
    fresh = type(w.qd)(w.store, clock=w.clock, hasher=None)  # another instance of the host
    assert [e.kind for e in fresh.events_since(INTEGRATION, cursor).items] == [
        EventKind.DRAFTED,
        EventKind.SUBMITTED,
    ]


# --- what each actor sees -----------------------------------------------------------------


def test_skipped_events_move_the_cursor_without_a_trace(w: World) -> None:
    w.qd.submit_new(w.member, DRAFT)  # unpublished: the stranger may not see it
    page = w.qd.events_since(w.stranger, None)
    assert page.items == () and page.caught_up
    assert page.next_cursor == str(last_position(w))


def test_a_member_sees_own_items_whole_and_others_only_once_published(w: World) -> None:
    mine = w.qd.submit_new(w.stranger, DRAFT)
    theirs = w.issued()
    entries = everything(w, w.stranger)
    own = [e for e in entries if e.item_id == mine.id]
    other = [e for e in entries if e.item_id == theirs.id]
    assert [e.kind for e in own] == [EventKind.DRAFTED, EventKind.SUBMITTED]
    assert all(e.access is Access.FULL for e in own)
    # of the member's published item: only its issue, without who did it, notes or texts
    assert [e.kind for e in other] == [EventKind.SIGNED]
    (signed,) = other
    assert signed.access is Access.PUBLISHED and signed.actor_id == ""
    assert signed.change.note == "" and signed.change.text is None
    assert signed.change.review is None and signed.change.item is None
    assert signed.change.fields.issued_at is not None
    assert signed.change.fields.destinations is None


def test_a_draft_is_its_authors_alone(w: World) -> None:
    draft = w.qd.draft(w.member, DRAFT)
    assert [e.kind for e in everything(w, w.member)] == [EventKind.DRAFTED]
    for actor in (w.editor, w.head, INTEGRATION, w.coauthor, w.unit("u-a")):
        assert [e for e in everything(w, actor) if e.item_id == draft.id] == []


def test_a_unit_sees_only_its_own_assignment_never_another_units(w: World) -> None:
    item, (a, b) = w.assigned(("u-a", True), "u-b")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    w.qd.decline(w.unit("u-b"), item.id, b.id, "不属于本单位职责")
    seen = everything(w, w.unit("u-a"))
    kinds = [e.kind for e in seen if e.access is Access.ISSUED_TEXT]
    assert kinds == [EventKind.ASSIGNED, EventKind.ACCEPTED]
    for entry in seen:
        assert entry.change.note == ""
        assert entry.change.review is None and entry.change.text is None
        own = entry.change.assignment
        assert own is None or own.unit_id == "u-a"
        assert entry.actor_id in ("", w.unit("u-a").account_id)
    # a unit never assigned sees the published item's issue and nothing of any assignment
    outsider = everything(w, w.unit("u-c"))
    assert [e.kind for e in outsider] == [EventKind.SIGNED]
    assert all(e.change.assignment is None for e in outsider)


def test_secret_items_never_reach_the_public_or_an_integration_account(w: World) -> None:
    item = w.issued()
    w.qd.reclassify(w.editor, item.id, True, "涉及国家秘密")
    for actor in (INTEGRATION, w.stranger, w.unit("u-c"), w.county["editor"]):
        assert [e for e in everything(w, actor) if e.item_id == item.id] == []
    office = [e for e in everything(w, w.editor) if e.item_id == item.id]
    assert office[-1].kind is EventKind.RECLASSIFIED
    w.qd.reclassify(w.editor, item.id, False, "已解密")  # the label lifted: readable again
    again = [e.kind for e in everything(w, INTEGRATION) if e.item_id == item.id]
    assert again == [*(e.kind for e in office), EventKind.RECLASSIFIED]


def test_an_integration_account_reads_its_jurisdiction_whole_and_others_as_the_public(
    w: World,
) -> None:
    city = w.issued()
    county = w.issued(w.county)
    mine = everything(w, INTEGRATION)
    assert {e.access for e in mine if e.item_id == city.id} == {Access.FULL}
    assert [e.kind for e in mine if e.item_id == county.id] == [EventKind.SIGNED]
    theirs = everything(w, COUNTY_INTEGRATION)
    assert {e.access for e in theirs if e.item_id == county.id} == {Access.FULL}
    assert [e.kind for e in theirs if e.item_id == city.id] == [EventKind.SIGNED]
    # the same rule answers item_detail: the feed shows nothing the detail would not
    assert w.qd.item_detail(INTEGRATION, city.id).access is Access.FULL


def test_the_integration_role_is_granted_only_through_a_proposal(w: World) -> None:
    """A content-reading grant (三员分立): the system admin proposes, the security admin
    approves; until then the account holds no grant and reads nothing."""
    enrol(w.store, SECURITY)
    qd = Qiandao(
        w.store,
        clock=w.clock,
        hasher=Argon2Hasher.fast(),
        credential_delivery=RecordingDelivery(),
    )
    pending = qd.register(SYSTEM, real_name="数据中心", phone="13905800077", role="integration")
    with w.store.unit_of_work() as uow:
        assert uow.accounts.get(pending.id).grants == ()
    (proposal,) = [p for p in qd.grant_proposals(SECURITY).items if p.account_id == pending.id]
    assert proposal.grant.role is Role.INTEGRATION
    qd.approve_grant(SECURITY, proposal.id)
    with w.store.unit_of_work() as uow:
        assert uow.accounts.get(pending.id).grants == (proposal.grant,)


@pytest.mark.parametrize("admin", [SYSTEM, AUDITOR])
def test_administrators_read_no_item_content(w: World, admin: Actor) -> None:
    w.issued()
    fails("permission.denied", lambda: w.qd.events_since(admin, None))


@pytest.mark.parametrize(
    ("cursor", "limit", "field"),
    [
        ("abc", 10, "cursor"),
        ("-1", 10, "cursor"),
        ("", 10, "cursor"),
        ("1" * 19, 10, "cursor"),
        ("١٢", 10, "cursor"),  # Arabic-Indic digits are digits to str.isdigit
        (5, 10, "cursor"),
        (None, 0, "limit"),
        (None, 501, "limit"),
        (None, True, "limit"),
        (None, 2.0, "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_refused(
    w: World, cursor: object, limit: object, field: str
) -> None:
    error = fails("input.invalid", lambda: w.qd.events_since(w.editor, cursor, limit))  # type: ignore[arg-type]
    assert error.details["field"] == field


def test_a_reader_who_sees_little_gets_a_bounded_answer(w: World) -> None:
    for _ in range(FEED_SCAN_PAGES):  # two events each, none visible to the stranger
        w.qd.submit_new(w.member, DRAFT)
    page = w.qd.events_since(w.stranger, None, 1)
    assert page.items == () and not page.caught_up
    assert page.next_cursor == str(FEED_SCAN_PAGES)  # one page of 1, ten times
    assert everything(w, w.stranger, limit=1) == []


def test_an_unknown_actor_is_refused(w: World) -> None:
    fails("account.actor_refused", lambda: w.qd.events_since(Actor("ghost", Role.EDITOR, ZS)))


# --- audited like a listing ---------------------------------------------------------------


def _feed_records(w: World) -> list[tuple[AuditOutcome, tuple[str, ...]]]:
    page = w.qd.audit_log(AUDITOR, AuditQuery(action="events_since", limit=500))
    return [(r.entry.outcome, r.entry.targets) for r in page.records]


def test_non_public_items_shown_are_audited(w: World) -> None:
    published = w.issued()
    hidden = w.qd.submit_new(w.member, DRAFT)
    w.qd.events_since(w.stranger, None)  # the published item only: no record
    assert _feed_records(w) == []
    w.qd.events_since(INTEGRATION, None)
    ((outcome, targets),) = _feed_records(w)
    assert outcome is AuditOutcome.SUCCEEDED
    assert set(targets) == {hidden.id} and published.id not in targets


# --- the rule, on random items --------------------------------------------------------------

VIEWERS = [  # the people, units and jurisdictions of qiandao.testing.strategies.items
    Actor("m1", Role.MEMBER, "zhoushan"),
    Actor("m9", Role.MEMBER, "zhoushan"),
    Actor("e1", Role.EDITOR, "zhoushan"),
    Actor("e9", Role.EDITOR, "dinghai"),
    Actor("u1", Role.HANDLING_UNIT, "zhoushan", unit_id="u-1"),
    Actor("int", Role.INTEGRATION, "zhoushan"),
    Actor("int-dh", Role.INTEGRATION, "dinghai"),
    Actor("sys", Role.SYSTEM_ADMIN, "zhoushan"),
]


@given(any_items(), st.sampled_from(VIEWERS))
def test_an_entry_never_shows_more_than_the_item_detail(item: Item, actor: Actor) -> None:
    level = access(actor.viewer(), item.access_facts())
    seen = item.as_seen(level, actor.unit_id)
    for n, event in enumerate(sample_events(item), start=1):
        entry = feed_entry(n, event, item, actor.viewer())
        if level is Access.NONE:
            assert entry is None
            continue
        if entry is None:
            continue
        assert entry.access is level
        change = entry.change
        if level is Access.FULL:
            assert change == event.change and entry.actor_id == event.actor_id
            continue
        assert change.note == "" and change.text is None and change.review is None
        assert change.item is None and change.fields.destinations is None
        assert change.fields.merged_authors is None and change.fields.review_overruns is None
        if change.assignment is not None:
            assert change.assignment.unit_id == actor.unit_id
        if change.feedback is not None:
            assert change.feedback.shared_with_units
        if level is Access.PUBLISHED:
            assert entry.kind in PUBLIC_FEED_KINDS and seen.published
        if entry.actor_id:
            assert entry.actor_id == actor.account_id


def test_the_feed_and_item_detail_agree_for_every_actor(w: World) -> None:
    w.issued()
    w.assigned("u-a")
    w.qd.submit_new(w.member, DRAFT)
    w.issued(w.county)
    actors = [*w.city.values(), *w.county.values(), *w.units.values(), INTEGRATION]
    for actor in actors:
        for entry in everything(w, actor):
            try:
                view = w.qd.item_detail(actor, entry.item_id)
            except NotFound:
                pytest.fail(f"{actor.account_id} follows {entry.item_id} it may not read")
            assert view.access is entry.access
    with pytest.raises(QiandaoError):
        w.qd.events_since(SYSTEM)
