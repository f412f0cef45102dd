"""Builders of realistic, fully populated domain values for tests (stores, services, exports).

Every builder returns the real frozen classes with aware Asia/Shanghai datetimes, and takes
keyword overrides that are applied with ``attrs.evolve``::

    >>> item = sample_item("item-0001", state=ItemState.ISSUED, urgent=False)
    >>> item.title
    '关于加强海岛渔民养老保障的建议 🐟'
    >>> item.texts[0].body.count("DROP TABLE")
    1

The texts carry emoji, quotes, SQL metacharacters (``'; DROP TABLE items; --``, ``%_\\``),
newlines and tabs, so a store that builds SQL by string concatenation or escapes badly shows it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from qiandao.actor import Actor
from qiandao.errors import NotFound
from qiandao.events import Change, Event, EventKind, ItemPatch
from qiandao.model import (
    Account,
    AccountStatus,
    Assignment,
    Channel,
    Commission,
    ExtensionDecision,
    ExtensionRequest,
    ExternalIdentity,
    Feedback,
    FeedbackKind,
    FocusCategory,
    Item,
    Reply,
    ReviewDecision,
    ReviewOverrun,
    ReviewRecord,
    ReviewStage,
    RoleGrant,
    Session,
    TextVersion,
    Unit,
)
from qiandao.planning import (
    AnnualPlan,
    PlanRevision,
    Target,
    TargetMeasure,
    TargetScope,
    plan_id,
)
from qiandao.ports.notify import Notice
from qiandao.ports.store import IdempotencyRecord, OutboxMessage, Store
from qiandao.rules.deadlines import SHANGHAI, DeadlineStatus
from qiandao.rules.lifecycle import AssignmentState, ItemState
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.tiers import Destination

__all__ = [
    "NASTY_TEXT",
    "T0",
    "Choose",
    "enrol",
    "lane_corpus",
    "maximal_item",
    "query_corpus",
    "sample_account",
    "sample_assignment",
    "sample_commission",
    "sample_events",
    "sample_idempotency_record",
    "sample_item",
    "sample_notice",
    "sample_outbox_message",
    "sample_plan",
    "sample_session",
    "sample_unit",
    "statistics_corpus",
    "statistics_item",
]

Choose = Callable[[Sequence[Any]], Any]
"""Picks one element of a sequence: ``random.Random(seed).choice``, or a Hypothesis draw."""

T0 = datetime(2025, 3, 3, 9, 30, 15, 123456, tzinfo=SHANGHAI)
"""A Monday morning in Zhoushan, with microseconds (stores must keep them)."""

NASTY_TEXT = (
    '渔民反映：\'; DROP TABLE items; -- 以及 %_\\ 通配符，"引号"、`反引号`、'
    "emoji 🌊🐟🚢，制表\t与换行\n第二行；零宽连接符\u200d。"
)
"""Text that breaks naive SQL, LIKE patterns, JSON and non-BMP handling."""


def _at(days: float = 0, **delta: float) -> datetime:
    return T0 + timedelta(days=days, **delta)


def sample_assignment(
    assignment_id: str = "asg-0001", unit_id: str = "unit-ocean", **changes: Any
) -> Assignment:
    """A replied, rated lead assignment with an approved extension and every field set."""
    assigned = _at(7)  # Monday 2025-03-10
    assignment = Assignment(
        id=assignment_id,
        unit_id=unit_id,
        lead=True,
        state=AssignmentState.REPLIED,
        assigned_at=assigned,
        due=date(2025, 3, 31),
        decline_until=date(2025, 3, 13),
        provisional=True,
        extensions=(
            ExtensionRequest(
                requested_at=_at(20, hours=2),
                workdays=10,
                reason="需会同渔业、人社部门联合调研：" + NASTY_TEXT,
                decision=ExtensionDecision.APPROVED,
                decided_by="editor-001",
                decided_at=_at(21, hours=1),
                new_due=date(2025, 4, 15),
            ),
        ),
        replies=(
            Reply(
                text="已会同相关部门研究落实，详见附件。" + NASTY_TEXT,
                by="unit-account-007",
                at=_at(40, hours=5),
            ),
        ),
        rating=Rating.BASICALLY_SATISFIED,
        rated_at=_at(42, hours=3),
        rating_closes=date(2025, 5, 6),
        rating_provisional=True,
        decline_reason="（撤回申退）不属于本单位职责范围",
        reassigned_to="unit-fishery",
        rehandles=1,
        reminders=frozenset({DeadlineStatus.DUE_SOON, DeadlineStatus.DUE_TODAY}),
    )
    return attrs.evolve(assignment, **changes)


def sample_item(item_id: str = "item-0001", **changes: Any) -> Item:
    """A closed item with two text versions, the full review chain, assignments and feedback.

    Every field of :class:`~qiandao.model.Item` that a closed item can carry is populated;
    pass overrides (``state=``, ``jurisdiction=``, ``created_at=`` …) to vary it.
    """
    original = TextVersion(
        number=1,
        title="关于加强海岛渔民养老保障的建议",
        body="舟山海岛渔民参保率偏低。" + NASTY_TEXT,
        editor_id="member-001",
        at=_at(),
    )
    edited = TextVersion(
        number=2,
        title="关于加强海岛渔民养老保障的建议 🐟",
        body="【编辑稿】舟山海岛渔民参保率偏低，建议如下。" + NASTY_TEXT,
        editor_id="editor-001",
        at=_at(1, hours=2),
    )
    reviews = (
        ReviewRecord(
            ReviewStage.PRELIMINARY,
            ReviewDecision.PASSED,
            "editor-001",
            Role.EDITOR,
            _at(1, hours=2),
            "初审通过，建议专报。",
        ),
        ReviewRecord(
            ReviewStage.DEPUTY, ReviewDecision.PASSED, "deputy-001", Role.DEPUTY, _at(2), "同意"
        ),
        ReviewRecord(
            ReviewStage.SIGNOFF,
            ReviewDecision.PASSED,
            "secgen-001",
            Role.SECRETARY_GENERAL,
            _at(3),
            "签发 ✍️",
        ),
    )
    assignments = (
        sample_assignment("asg-0001", "unit-ocean"),
        Assignment(
            id="asg-0002",
            unit_id="unit-hrss",
            lead=False,
            state=AssignmentState.REASSIGNED,
            assigned_at=_at(7),
            due=date(2025, 3, 31),
            decline_until=date(2025, 3, 13),
            decline_reason="不属于本单位职责范围：" + NASTY_TEXT,
            reassigned_to="unit-fishery",
        ),
        Assignment(
            id="asg-0003",
            unit_id="unit-fishery",
            lead=False,
            state=AssignmentState.REPLIED,
            assigned_at=_at(9, hours=4),
            due=date(2025, 4, 2),
            decline_until=date(2025, 3, 17),
            replies=(Reply("协办意见：同意主办单位意见。", "unit-account-009", _at(30)),),
            rating=Rating.SATISFIED,
            rated_at=_at(31),
            rating_closes=date(2025, 4, 23),
            reminders=frozenset({DeadlineStatus.DUE_SOON}),
        ),
    )
    feedback = (
        Feedback(
            kind=FeedbackKind.ADOPTION,
            on=date(2025, 3, 20),
            recorded_by="editor-001",
            at=_at(17),
            text="被省政协《社情民意》采用",
            level=AdoptionLevel.PROVINCIAL_CPPCC,
        ),
        Feedback(
            kind=FeedbackKind.INSTRUCTION,
            on=date(2025, 3, 25),
            recorded_by="editor-001",
            at=_at(22),
            text="请市人社局研究。" + NASTY_TEXT,
            leader="张某某",
            rank=LeaderRank.CITY_PRINCIPAL_LEADER,
            shared_with_units=True,
        ),
        Feedback(
            kind=FeedbackKind.IMPLEMENTATION,
            on=date(2025, 4, 30),
            recorded_by="editor-002",
            at=_at(58),
            text="已出台渔民参保补贴办法。",
        ),
    )
    item = Item(
        id=item_id,
        version=17,
        jurisdiction="zhoushan",
        state=ItemState.CLOSED,
        lead_author_id="member-001",
        texts=(original, edited),
        category=FocusCategory.HOT_ISSUE,
        channel=Channel.COMMISSION,
        created_at=_at(),
        sector="农业和农村界",
        coauthor_ids=("member-002", "officer-003"),
        urgent=True,
        opted_out=frozenset({"officer-003"}),
        destinations=frozenset(
            {Destination.FORWARD_TO_DEPARTMENTS, Destination.REPORT_TO_CITY_LEADERS}
        ),
        reviews=reviews,
        assignments=assignments,
        feedback=feedback,
        submitted_at=_at(0, minutes=5),
        issued_at=_at(3),
        closed_at=_at(60),
        commission_id="commission-01",
        merged_from=("item-0090", "item-0091"),
        merged_authors=frozenset({"member-090", "officer-091"}),
        reported_as="city-item-0001",
        rehandles=1,
    )
    return attrs.evolve(item, **changes)


def maximal_item(item_id: str = "item-max", **changes: Any) -> Item:
    """:func:`sample_item` with every remaining optional field set too (not a realistic item).

    Sets ``secret``, ``body_withheld``, ``merged_into`` and ``reported_from`` besides all the
    rest, so a round-trip through a store covers every column.
    """
    item = sample_item(
        item_id,
        secret=True,
        body_withheld=True,
        merged_into="item-0100",
        reported_from="daishan:item-0042",
        sector="经济界 'x' %_\\",
    )
    return attrs.evolve(item, **changes)


def sample_account(
    account_id: str = "member-001",
    phone: str | None = "13800571234",
    *,
    role: Role = Role.MEMBER,
    unit_id: str | None = None,
    **changes: Any,
) -> Account:
    """An active account with a password, a 浙政钉 binding and every field set.

    It holds one grant, ``role`` (a member by default) in its jurisdiction with ``unit_id``,
    unless ``grants`` is given.
    """
    place = changes.get("jurisdiction", "zhoushan")
    account = Account(
        id=account_id,
        version=3,
        real_name="王小明",
        grants=(RoleGrant(role, place, unit_id),),
        jurisdiction=place,
        created_at=_at(-30),
        phone=phone,
        status=AccountStatus.ACTIVE,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaCdzOyAtLQ",
        must_change_password=False,
        password_changed_at=_at(-29),
        failed_attempts=2,
        locked_until=_at(-1),
        lock_reason="连续登录失败 🔒",
        external_ids=frozenset(
            {
                ExternalIdentity("zzd", f"zzd-{account_id}"),
                ExternalIdentity("wx", f"wx'_%-{account_id}"),
            }
        ),
    )
    return attrs.evolve(account, **changes)


def enrol(store: Store, *actors: Actor, at: datetime = T0) -> list[Account]:
    """Store an active account for each actor's person, holding each of its grants.

    The service believes no ``Actor`` it is handed: it checks the account, its status and the
    grant. A test that builds actors by hand enrols them first. A person already stored gets
    the grants it lacks; the accounts are returned as stored, in the order first named.
    """
    grants: dict[str, list[RoleGrant]] = {}
    places: dict[str, str] = {}
    for actor in actors:
        held = grants.setdefault(actor.account_id, [])
        places.setdefault(actor.account_id, actor.jurisdiction)
        if actor.grant not in held:
            held.append(actor.grant)
    stored: list[Account] = []
    with store.unit_of_work() as uow:
        for account_id, wanted in grants.items():
            try:
                before = uow.accounts.get(account_id)
            except NotFound:
                account = Account(
                    account_id,
                    1,
                    account_id,
                    tuple(wanted),
                    places[account_id],
                    at,
                    must_change_password=False,
                )
                uow.accounts.add(account)
            else:
                extra = tuple(g for g in wanted if g not in before.grants)
                account = attrs.evolve(
                    before, version=before.version + 1, grants=before.grants + extra
                )
                if extra:
                    uow.accounts.save(account, before.version)
                else:
                    account = before
            stored.append(account)
        uow.commit()
    return stored


def sample_unit(unit_id: str = "unit-ocean", **changes: Any) -> Unit:
    """A handling unit (承办单位)."""
    return attrs.evolve(Unit(unit_id, "舟山市海洋与渔业局 'x'; --", "zhoushan"), **changes)


def sample_commission(commission_id: str = "commission-01", **changes: Any) -> Commission:
    """A commission (约稿) with invitees and linked items."""
    commission = Commission(
        id=commission_id,
        version=2,
        jurisdiction="zhoushan",
        topic="海岛共同富裕调研 🏝️ " + NASTY_TEXT,
        invitee_ids=("member-001", "member-002", "org-005"),
        due=date(2025, 4, 30),
        created_by="editor-001",
        created_at=_at(-10),
        item_ids=("item-0001", "item-0002"),
    )
    return attrs.evolve(commission, **changes)


def sample_plan(jurisdiction: str = "zhoushan", year: int = 2025, **changes: Any) -> AnnualPlan:
    """An annual plan (第六条) in its second revision, with every kind of target, a former
    revision and people reminded."""
    targets = (
        Target(TargetScope.ROLE, TargetMeasure.SUBMITTED, 2, role=Role.MEMBER),
        Target(TargetScope.ROLE, TargetMeasure.ADOPTED, 1, role=Role.CONTACT_POINT),
        Target(TargetScope.JURISDICTION, TargetMeasure.ADOPTED, 30),
        Target(TargetScope.CATEGORY, TargetMeasure.SUBMITTED, 5, category=FocusCategory.EMERGENCY),
    )
    plan = AnnualPlan(
        id=plan_id(jurisdiction, year),
        jurisdiction=jurisdiction,
        year=year,
        version=3,
        revision=2,
        targets=targets,
        set_by="editor-001",
        set_at=_at(-5),
        note="年中调整 " + NASTY_TEXT,
        history=(PlanRevision(1, targets[:1], "head-001", _at(-60), "年初"),),
        reminded=("member-001", "member-002"),
    )
    return attrs.evolve(plan, **changes)


def sample_session(
    token_hash: str = "sha256:3f1c0d", account_id: str = "member-001", **changes: Any
) -> Session:
    """A live session."""
    session = Session(
        token_hash=token_hash,
        account_id=account_id,
        created_at=_at(0, hours=1),
        last_seen=_at(0, hours=1, minutes=20),
        password_change_only=True,
    )
    return attrs.evolve(session, **changes)


def sample_idempotency_record(key: str = "member-001:req-1", **changes: Any) -> IdempotencyRecord:
    """A remembered submission key."""
    return attrs.evolve(IdempotencyRecord(key, "9" * 64, "item-0001", "submit_new"), **changes)


def sample_notice(notice_id: str = "evt-0001", **changes: Any) -> Notice:
    """A notice to the author and the editors."""
    notice = Notice(
        id=notice_id,
        kind=EventKind.SIGNED.value,
        recipients=("member-001", "role:editor@zhoushan"),
        text="您的信息“关于加强海岛渔民养老保障的建议 🐟”：签发 " + NASTY_TEXT,
        at=_at(3),
        item_id="item-0001",
    )
    return attrs.evolve(notice, **changes)


def sample_outbox_message(notice_id: str = "evt-0001", **changes: Any) -> OutboxMessage:
    """A pending outbox message carrying :func:`sample_notice` (due when recorded)."""
    fields: dict[str, Any] = {"notice": sample_notice(notice_id), "recorded_at": _at(3)}
    return OutboxMessage(**{**fields, **changes})


def sample_events(item: Item, *, first: int = 1, prefix: str = "evt") -> list[Event]:
    """A realistic run of events for ``item`` numbered from ``first``, one of each change shape.

    The run is drafted (carrying the whole item), submitted (a state and a datetime field),
    passed 初审 (a review, a text and a frozenset of enums), assigned (an assignment), given
    feedback and reclassified (a bool field); replaying it does not rebuild ``item`` exactly
    — it exists to prove that a store gives back what it was given, in order.
    """
    texts = item.texts
    shapes: list[tuple[EventKind, Change]] = [
        (EventKind.DRAFTED, Change(item=attrs.evolve(item, version=0, state=ItemState.DRAFT))),
        (
            EventKind.SUBMITTED,
            Change(
                state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=item.submitted_at or T0)
            ),
        ),
        (
            EventKind.PRELIMINARY_PASSED,
            Change(
                state=ItemState.IN_REVIEW,
                review=item.reviews[0] if item.reviews else None,
                text=texts[-1],
                fields=ItemPatch(destinations=item.destinations),
                note="初审通过",
            ),
        ),
        (
            EventKind.ASSIGNED,
            Change(
                state=ItemState.HANDLING,
                assignment=item.assignments[0] if item.assignments else sample_assignment(),
            ),
        ),
        (
            EventKind.FEEDBACK_RECORDED,
            Change(feedback=item.feedback[0] if item.feedback else None, note=NASTY_TEXT),
        ),
        (
            EventKind.RECLASSIFIED,
            Change(fields=ItemPatch(secret=True, body_withheld=False), note="调整为涉密"),
        ),
    ]
    return [
        Event(
            id=f"{prefix}-{item.id}-{first + index}",
            item_id=item.id,
            sequence=first + index,
            kind=kind,
            actor_id="editor-001" if index else item.lead_author_id,
            at=_at(index, minutes=index),
            change=change,
        )
        for index, (kind, change) in enumerate(shapes)
    ]


_A = AssignmentState
_S = ItemState

# id, jurisdiction, state, lead, coauthors, urgent, secret, opted out, commission,
# created (hours after T0), submitted (hours or None), issued (hours or None),
# assignments as (unit, state, due day in March/April 2025 as (month, day)).
_CorpusRow = tuple[
    str,
    str,
    ItemState,
    str,
    tuple[str, ...],
    bool,
    bool,
    tuple[str, ...],
    str | None,
    int,
    int | None,
    int | None,
    tuple[tuple[str, AssignmentState, tuple[int, int]], ...],
]
# fmt: off
_CORPUS: tuple[_CorpusRow, ...] = (
    ("c01", "zhoushan", _S.CLOSED, "m1", ("m2",), True, False, (), "k1", 0, 1, 50,
     (("u-ocean", _A.REPLIED, (3, 31)), ("u-fish", _A.REASSIGNED, (3, 31)))),
    ("c02", "zhoushan", _S.HANDLING, "m2", (), False, False, (), None, 0, 2, 60,
     (("u-ocean", _A.PENDING, (4, 1)), ("u-hrss", _A.DECLINED, (3, 31)))),
    ("c03", "zhoushan", _S.ISSUED, "m3", ("m1", "o'brien%_\\"), False, False, ("m3",), None,
     3, 3, 60, ()),
    ("c04", "zhoushan", _S.REPLIED, "m1", (), True, True, (), "k2", 4, 4, 70,
     (("u-fish", _A.REPLIED, (4, 1)),)),
    ("c05", "zhoushan", _S.SUBMITTED, "o'brien%_\\", (), True, False, (), "k1", 5, 40, None, ()),
    ("c06", "zhoushan", _S.DRAFT, "o'brien-x", (), True, False, (), None, 6, None, None, ()),
    ("c07", "zhoushan", _S.IN_REVIEW, "m4", ("m1",), False, False, (), None, 6, 6, None, ()),
    ("c08", "zhoushan", _S.AWAITING_SIGNOFF, "m5", (), False, False, ("m5",), "k1", 8, 9, None,
     ()),
    ("c09", "zhoushan", _S.NOT_ADOPTED, "m1", (), False, False, (), None, 9, 10, None, ()),
    ("c10", "zhoushan", _S.MERGED, "m2", (), True, False, (), None, 10, 10, None, ()),
    ("c11", "zhoushan", _S.WITHDRAWN, "m3", (), False, False, (), None, 11, None, None, ()),
    ("c12", "zhoushan", _S.RETURNED, "m4", (), False, False, (), None, 12, 13, None, ()),
    ("d01", "dinghai", _S.HANDLING, "m1", (), False, False, (), None, 0, 1, 50,
     (("u-ocean", _A.ACCEPTED, (3, 28)), ("u-dh", _A.EXTENSION_REQUESTED, (4, 1)))),
    ("d02", "dinghai", _S.CLOSED, "m6", ("m2",), True, False, (), "k3", 2, 2, 55,
     (("u-dh", _A.REPLIED, (3, 31)), ("u-dh", _A.CANCELLED, (3, 28)))),
    ("d03", "dinghai", _S.SUBMITTED, "m6", (), False, False, (), None, 1, 2, None, ()),
    ("p01", "putuo", _S.ISSUED, "m7", (), False, False, (), None, 7, 7, None, ()),
)
# fmt: on


def _awaiting_rating(index: int, state: AssignmentState) -> dict[str, Any]:
    """First replies of the corpus still await a rating (window closing 2025-05-06); second
    assignments have had every reminder, the very-overdue one included."""
    if index == 0 and state is AssignmentState.REPLIED:
        return {"rating": Rating.NOT_RATED, "rated_at": None}
    if index == 1:
        return {"reminders": frozenset(DeadlineStatus)}
    return {}


def query_corpus() -> list[Item]:
    """A deterministic set of items that exercises every filter and ordering of the queries.

    Three jurisdictions, every state, co-authors, authors whose ids contain ``'``, ``%``, ``_``
    and ``\\``, urgent and 涉密 items, opt-outs, commissions, ties on every ordering key
    (broken by id), items never submitted or issued, an item stamped in UTC rather than
    Asia/Shanghai, and assignments (unique ids) to several units in every state.
    """
    items = []
    for (
        item_id,
        jurisdiction,
        state,
        lead,
        coauthors,
        urgent,
        secret,
        opted_out,
        commission_id,
        created,
        submitted,
        issued,
        assigned,
    ) in _CORPUS:
        assignments = tuple(
            sample_assignment(
                f"{item_id}-a{index}",
                unit_id,
                lead=index == 0,
                state=assignment_state,
                due=date(2025, *due),
                provisional=index == 0,  # provisional_only: open work and windows, some not
                rating_provisional=item_id != "c04",
                **_awaiting_rating(index, assignment_state),
            )
            for index, (unit_id, assignment_state, due) in enumerate(assigned)
        )
        created_at = _at(0, hours=created)
        if item_id == "c07":
            created_at = created_at.astimezone(UTC)
        items.append(
            sample_item(
                item_id,
                jurisdiction=jurisdiction,
                state=state,
                lead_author_id=lead,
                coauthor_ids=coauthors,
                urgent=urgent,
                secret=secret,
                opted_out=frozenset(opted_out),
                commission_id=commission_id,
                created_at=created_at,
                submitted_at=None if submitted is None else _at(0, hours=submitted),
                issued_at=None if issued is None else _at(0, hours=issued),
                closed_at=_at(0, hours=100) if state is ItemState.CLOSED else None,
                assignments=assignments,
            )
        )
    return items


# --- statistics ---------------------------------------------------------------------------

_SH = SHANGHAI
#: Instants around the edges of Q1 2025 in Asia/Shanghai days. 2025-03-31T16:00Z is already
#: 2025-04-01 in Zhoushan: a store that takes UTC days puts it in the wrong quarter.
_STAT_INSTANTS = (
    datetime(2024, 12, 31, 23, 30, tzinfo=_SH),
    T0,
    datetime(2025, 3, 31, 23, 59, 59, 999999, tzinfo=_SH),
    datetime(2025, 3, 31, 16, 0, tzinfo=UTC),
    datetime(2025, 4, 1, 8, 0, 0, 1, tzinfo=_SH),
    datetime(2025, 5, 20, 10, tzinfo=_SH),
    datetime(2025, 7, 1, 0, 0, tzinfo=_SH),
)
_STAT_DAYS = (
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2025, 3, 3),
    date(2025, 3, 31),
    date(2025, 4, 1),
    date(2025, 6, 30),
    date(2025, 7, 1),
)
_STAT_PEOPLE = ("m1", "m2", "m3", "o'1%", "m9")
_STAT_UNITS = ("u-1", "u-2", "u-3 ")
_STAT_JURISDICTIONS = ("zhoushan", "dinghai", "putuo")
#: "" is "no sector"; a trailing space is a different sector (no-pad collations).
_STAT_SECTORS = ("", "农业和农村界", "农业和农村界 ", "经济界 'x' %_\\")
_STAT_DESTINATIONS = (
    (),
    (Destination.FORWARD_TO_DEPARTMENTS,),
    (Destination.REPORT_TO_CITY_LEADERS,),
    (Destination.FORWARD_TO_DEPARTMENTS, Destination.REPORT_TO_CITY_LEADERS),
    (Destination.REPORT_TO_CITY_LEADERS, Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE),
    (Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE,),
)


def _stat_feedback(choose: Choose) -> Feedback:
    kind = choose(tuple(FeedbackKind))
    level = choose((None, *AdoptionLevel)) if kind is FeedbackKind.ADOPTION else None
    rank = choose((None, *LeaderRank)) if kind is FeedbackKind.INSTRUCTION else None
    return Feedback(
        kind=kind,
        on=choose(_STAT_DAYS),
        recorded_by="editor-001",
        at=choose(_STAT_INSTANTS),
        text="反馈",
        level=level,
        leader="张某某" if rank is not None else None,
        rank=rank,
    )


def _stat_extension(decision: ExtensionDecision) -> ExtensionRequest:
    return ExtensionRequest(
        requested_at=T0,
        workdays=5,
        reason="需联合调研",
        decision=decision,
        new_due=date(2025, 4, 15) if decision is ExtensionDecision.APPROVED else None,
    )


def _stat_assignment(assignment_id: str, lead: bool, choose: Choose) -> Assignment:
    replies = tuple(
        Reply("已办理", "unit-account-001", choose(_STAT_INSTANTS))
        for _ in range(choose((0, 0, 1, 2)))
    )
    d = ExtensionDecision
    extensions = ((), (d.APPROVED,), (d.REFUSED,), (d.REFUSED, d.APPROVED), (d.PENDING,))
    return sample_assignment(
        assignment_id,
        choose(_STAT_UNITS),
        lead=lead,
        state=choose(tuple(AssignmentState)),
        assigned_at=choose(_STAT_INSTANTS),
        due=choose(_STAT_DAYS),
        replies=replies,
        rating=choose(tuple(Rating)),
        extensions=tuple(_stat_extension(x) for x in choose(extensions)),
        decline_reason=choose((None, "不属于本单位职责范围")),
        reply_workdays=choose((None, 0, 3, 17)) if replies else None,
    )


def statistics_item(item_id: str, choose: Choose) -> Item:
    """An item varied in everything the bulletin counts, each choice made by ``choose``.

    States, submission and issue instants on both sides of a quarter's edge (in Asia/Shanghai
    and in UTC), upward destinations, merged authors (some also authors), feedback with and
    without level or rank, sectors that differ only by a trailing space, and assignments
    replied on time, late or never, extended, declined and rated.
    """
    lead = choose(_STAT_PEOPLE)
    coauthors = tuple(p for p in choose(((), ("m2",), ("m3", "o'1%"))) if p != lead)
    return sample_item(
        item_id,
        jurisdiction=choose(_STAT_JURISDICTIONS),
        state=choose(tuple(ItemState)),
        lead_author_id=lead,
        coauthor_ids=coauthors,
        merged_authors=frozenset(choose(((), ("m9",), ("m9", lead)))),
        opted_out=frozenset(),
        category=choose(tuple(FocusCategory)),
        channel=choose(tuple(Channel)),
        sector=choose(_STAT_SECTORS),
        destinations=frozenset(choose(_STAT_DESTINATIONS)),
        submitted_at=choose((None, *_STAT_INSTANTS)),
        issued_at=choose((None, *_STAT_INSTANTS)),
        feedback=tuple(_stat_feedback(choose) for _ in range(choose((0, 1, 3)))),
        assignments=tuple(
            _stat_assignment(f"{item_id}-a{n}", n == 0, choose) for n in range(choose((0, 1, 3)))
        ),
    )


def statistics_corpus(size: int = 80, seed: int = 20250331) -> list[Item]:
    """``size`` items from :func:`statistics_item`, the same for the same ``seed``."""
    rng = random.Random(seed)
    return [statistics_item(f"s{n:03d}", rng.choice) for n in range(size)]


# --- lanes ----------------------------------------------------------------------------------

#: Instants items entered their state: ties on purpose, both zones, and ``None`` (documents
#: written before ``state_since`` existed: the lanes derive it).
_SINCE = (
    None,
    T0,
    T0,
    T0.astimezone(UTC),
    datetime(2025, 3, 5, 17, 0, tzinfo=SHANGHAI),
    datetime(2025, 3, 10, 8, 0, tzinfo=SHANGHAI),
)
_DESTINATION_SETS = (
    frozenset({Destination.FORWARD_TO_DEPARTMENTS}),
    frozenset({Destination.FORWARD_TO_DEPARTMENTS, Destination.REPORT_TO_CITY_LEADERS}),
    frozenset({Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE}),
    frozenset({Destination.REPORT_TO_CITY_LEADERS}),
)


def lane_corpus() -> list[Item]:
    """Items for every lane: the query and statistics corpora with ties on ``state_since``,
    urgent and ordinary items, every destination tier, re-opened (rehandled) assignments and
    review overruns, some for the current stage entry (reminded) and some for an older one."""
    items = [*query_corpus(), *statistics_corpus(40, seed=5)]
    out = []
    for n, item in enumerate(items):
        since = _SINCE[n % len(_SINCE)]
        assignments = tuple(
            attrs.evolve(a, rehandles=1) if (n + k) % 3 == 0 else a
            for k, a in enumerate(item.assignments)
        )
        changed = attrs.evolve(
            item,
            state_since=since,
            urgent=item.urgent if n % 4 else not item.urgent,
            destinations=_DESTINATION_SETS[n % len(_DESTINATION_SETS)],
            assignments=assignments,
        )
        if n % 5 == 0:
            entered = since or T0
            older = entered - timedelta(days=20)
            overrun = ReviewOverrun(
                ReviewStage.PRELIMINARY,
                since=entered if n % 10 == 0 else older,
                at=entered + timedelta(days=6),
                waited_workdays=4,
                window_workdays=3,
            )
            changed = attrs.evolve(changed, review_overruns=(overrun,))
        out.append(changed)
    return out
