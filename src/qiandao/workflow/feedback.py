"""Feedback, publication, secrecy, reporting up and commissions (第七、十一、十四、十五、二十条).

Decisions only: closing an item, the feedback records of 第十一条 (采用、批示、落实), the authors'
publication consent and the 涉密 label (第十四条), reporting an adopted item up to the parent
CPPCC (第十五、二十条), and 约稿 (第七条) with its progress.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import attrs

from qiandao.actor import Actor
from qiandao.errors import (
    InvalidInput,
    InvalidTransition,
    JurisdictionDenied,
    NotFound,
    PermissionDenied,
    RatingWindowOpen,
    SecrecyRefused,
)
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import (
    Account,
    AccountStatus,
    Channel,
    Commission,
    Feedback,
    FeedbackKind,
    Item,
    TextVersion,
)
from qiandao.ports.notify import Notice
from qiandao.rules.lifecycle import ItemCommand, ItemState
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.roles import OFFICE_ROLES, SUBMITTER_ROLES, Role
from qiandao.rules.ruleset import parent_jurisdiction
from qiandao.rules.text import check_id, clean_text, require_reason
from qiandao.rules.tiers import check_not_author
from qiandao.workflow.context import Context, Decision
from qiandao.workflow.guards import item_step

__all__ = [
    "CommissionProgress",
    "InviteeProgress",
    "check_commission",
    "check_progress_reader",
    "close",
    "commission_progress",
    "create_commission",
    "reclassify",
    "record_adoption",
    "record_implementation",
    "record_instruction",
    "report_up",
    "reported_item",
    "set_publication_consent",
]

_NOT_SUBMITTED = frozenset({ItemState.DRAFT, ItemState.WITHDRAWN})


# --- closing and feedback (第十一条) ----------------------------------------------------------


def close(ctx: Context, actor: Actor, item: Item) -> Decision:
    """办结: the editor closes an issued or replied item; ratings can no longer change.

    Closing would take away the author's right to rate (第十二条), so it is refused while any
    reply's rating window is open and unrated: the author rates, or the window ends (the periodic
    job then records 未评价).
    """
    state = item_step(actor, item, ItemCommand.CLOSE)
    waiting = [
        last
        for a in item.assignments
        if (last := a.rating_pending_until) is not None and ctx.today <= last
    ]
    if waiting:
        until = max(waiting).isoformat()
        raise RatingWindowOpen(
            f"答复的评价期限至{until}届满，作者评价或期限届满后方可办结", item=item.id, until=until
        )
    return [(EventKind.CLOSED, Change(state=state, fields=ItemPatch(closed_at=ctx.now)))]


def _day(ctx: Context, value: object) -> date:
    """A calendar day (not a datetime) that is not in the future."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("须为日期（不含时刻）", field="on")
    if value > ctx.today:
        raise InvalidInput(f"日期不能晚于今天（{ctx.today.isoformat()}）", field="on")
    return value


def _text(ctx: Context, value: object, field: str, label: str, *, required: bool) -> str:
    return clean_text(
        value, field, label=label, max_chars=ctx.rules.intake.max_body_chars, required=required
    )


def _shared(value: object) -> bool:
    """Whether the office shares a feedback record with the handling units (a real bool)."""
    if type(value) is not bool:
        raise InvalidInput("是否告知承办单位须为布尔值", field="shared_with_units")
    return value


def _step_not_credited(actor: Actor, item: Item, command: ItemCommand) -> ItemState:
    """The item step of an act that earns the item's authors points (feedback, reporting up):
    nobody records it for an item they are credited with, in whatever role (第九、十三条)."""
    state = item_step(actor, item, command)
    check_not_author(actor.account_id, item.credited)
    return state


def _feedback_day(ctx: Context, actor: Actor, item: Item, on: object) -> date:
    """Who may record feedback on this item (the office, never someone credited with it), then
    the day the feedback happened (not in the future)."""
    _step_not_credited(actor, item, ItemCommand.RECORD_FEEDBACK)
    return _day(ctx, on)


def _recorded(
    ctx: Context,
    actor: Actor,
    kind: FeedbackKind,
    day: date,
    shared_with_units: object,
    *,
    text: str,
    level: AdoptionLevel | None = None,
    leader: str | None = None,
    rank: LeaderRank | None = None,
) -> Decision:
    """One dated, attributed feedback record appended to an adopted item."""
    shared = _shared(shared_with_units)
    if ctx.probing:  # nothing below refuses
        return []
    feedback = Feedback(
        kind,
        day,
        actor.account_id,
        ctx.now,
        text=text,
        level=level,
        leader=leader,
        rank=rank,
        shared_with_units=shared,
    )
    return [(EventKind.FEEDBACK_RECORDED, Change(feedback=feedback, note=kind.label))]


def record_adoption(
    ctx: Context,
    actor: Actor,
    item: Item,
    level: AdoptionLevel,
    on: date,
    note: str = "",
    *,
    shared_with_units: bool = False,
) -> Decision:
    """采用情况: a higher body adopted the item; one record per level (it earns points).

    ``shared_with_units`` lets the handling units read the record too (authors always do).
    """
    day = _feedback_day(ctx, actor, item, on)
    if any(f.kind is FeedbackKind.ADOPTION and f.level is level for f in item.feedback):
        raise InvalidInput(f"已登记过{level.label}采用情况", field="level")
    text = _text(ctx, note, "note", "说明", required=False)
    return _recorded(
        ctx, actor, FeedbackKind.ADOPTION, day, shared_with_units, text=text, level=level
    )


def record_instruction(
    ctx: Context,
    actor: Actor,
    item: Item,
    leader: str,
    rank: LeaderRank,
    on: date,
    text: str,
    *,
    shared_with_units: bool = False,
) -> Decision:
    """领导批示: who (name and rank), when, and what the leader wrote; units read it if shared."""
    day = _feedback_day(ctx, actor, item, on)
    name = clean_text(leader, "leader", label="批示领导", max_chars=100)
    body = _text(ctx, text, "text", "批示内容", required=True)
    instruction = FeedbackKind.INSTRUCTION
    return _recorded(
        ctx, actor, instruction, day, shared_with_units, text=body, leader=name, rank=rank
    )


def record_implementation(
    ctx: Context,
    actor: Actor,
    item: Item,
    on: date,
    text: str,
    *,
    shared_with_units: bool = False,
) -> Decision:
    """落实情况: how the item's suggestions were carried out; units read it if shared."""
    day = _feedback_day(ctx, actor, item, on)
    body = _text(ctx, text, "text", "落实情况", required=True)
    return _recorded(ctx, actor, FeedbackKind.IMPLEMENTATION, day, shared_with_units, text=body)


# --- publication and secrecy (第十四条) -------------------------------------------------------


def set_publication_consent(ctx: Context, actor: Actor, item: Item, publish: bool) -> Decision:
    """An author allows or refuses publication; the choice already in force decides nothing."""
    item_step(actor, item, ItemCommand.SET_PUBLICATION_CONSENT)
    me = frozenset({actor.account_id})
    opted_out = item.opted_out - me if publish else item.opted_out | me
    if opted_out == item.opted_out:
        return []
    change = Change(
        fields=ItemPatch(opted_out=opted_out), note="同意公开" if publish else "不同意公开"
    )
    return [(EventKind.PUBLICATION_CONSENT_SET, change)]


def reclassify(ctx: Context, actor: Actor, item: Item, secret: bool, reason: str) -> Decision:
    """调整密级, with a reason; the label already in force decides nothing.

    Where the rules refuse 涉密 bodies (保密法) an item already entered cannot be relabelled
    涉密: it is to be rejected and handled offline.
    """
    item_step(actor, item, ItemCommand.RECLASSIFY)
    why = require_reason(reason, max_chars=ctx.rules.intake.max_reason_chars, article="第十四条")
    if secret == item.secret:
        return []
    if secret and ctx.rules.intake.refuse_secret_bodies:
        raise SecrecyRefused(
            "本系统不保存涉密正文：请将该信息作不予采用处理并转线下办理，并由系统管理员清除正文",
            item=item.id,
        )
    return [(EventKind.RECLASSIFIED, Change(fields=ItemPatch(secret=secret), note=why))]


# --- reporting up (第十五、二十条) -----------------------------------------------------------


def _report_target(
    source: Item,
    known: Iterable[str],
    to_jurisdiction: str | None,
    parents: Mapping[str, str | None] | None = None,
) -> str:
    """The parent CPPCC of the source's jurisdiction; a named target must be that parent.

    The parent is the stored link (``parents``) where the store has the jurisdiction, else
    :func:`~qiandao.rules.ruleset.parent_jurisdiction` of its dotted code.
    """
    if parents is not None and source.jurisdiction in parents:
        parent = parents[source.jurisdiction]
    else:
        parent = parent_jurisdiction(source.jurisdiction)
    target = (
        parent
        if to_jurisdiction is None
        else clean_text(to_jurisdiction, "to_jurisdiction", label="报送对象", max_chars=100)
    )
    if target is None or target == source.jurisdiction:
        raise InvalidInput("不能报送本级政协", field="to_jurisdiction", article="第二十条")
    if target not in frozenset(known):
        raise InvalidInput(f"未知的政协：{target}", field="to_jurisdiction")
    if target != parent:
        raise InvalidInput(
            "只能报送上一级政协（县（区）报市）", field="to_jurisdiction", article="第二十条"
        )
    return target


def reported_item(ctx: Context, actor: Actor, source: Item, target: str) -> Item:
    """The parent's new item: a fresh draft naming only what carries over from the source.

    Authors (and those credited through merges), category, sector, urgency, secrecy, consent
    and the issued text (as text version 1) carry over; everything else starts afresh. It
    reaches the parent by 集体报送: a county CPPCC reports as a collective (第二、七条).
    """
    return Item(
        id=ctx.new_id(),
        version=0,
        jurisdiction=target,
        state=ItemState.DRAFT,
        lead_author_id=source.lead_author_id,
        texts=(TextVersion(1, source.title, source.body, actor.account_id, ctx.now),),
        category=source.category,
        channel=Channel.COLLECTIVE,
        created_at=ctx.now,
        sector=source.sector,
        coauthor_ids=source.coauthor_ids,
        urgent=source.urgent,
        secret=source.secret,
        body_withheld=source.body_withheld,
        opted_out=source.opted_out,
        merged_authors=source.merged_authors,
        reported_from=source.id,
    )


def report_up(
    ctx: Context,
    actor: Actor,
    source: Item,
    known: Iterable[str],
    to_jurisdiction: str | None = None,
    parents: Mapping[str, str | None] | None = None,
) -> tuple[Decision, Decision]:
    """A county editor reports an adopted item up to its parent CPPCC (第二十条).

    ``known`` are the jurisdictions the service has rules for (or stores); ``to_jurisdiction``,
    if given, must be the parent; ``parents`` the stored parent links (authoritative where
    present, else the dotted code's parent). Returns the decisions for the new item
    (DRAFTED, SUBMITTED: it enters the parent's 初审) and for the source (REPORTED_UP,
    linking the two).
    """
    state = _step_not_credited(actor, source, ItemCommand.REPORT_UP)
    target = _report_target(source, known, to_jurisdiction, parents)
    if source.reported_as is not None:
        raise InvalidTransition(
            "该信息已报送上级政协", article="第二十条", reported_as=source.reported_as
        )
    reported = reported_item(ctx, actor, source, target)
    submitted = Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=ctx.now))
    linked = Change(state=state, fields=ItemPatch(reported_as=reported.id), note=target)
    return (
        [(EventKind.DRAFTED, Change(item=reported)), (EventKind.SUBMITTED, submitted)],
        [(EventKind.REPORTED_UP, linked)],
    )


# --- commissions (约稿, 第七条) ---------------------------------------------------------------


def _invitee_ids(invitee_ids: object) -> tuple[str, ...]:
    if isinstance(invitee_ids, str) or not isinstance(invitee_ids, Sequence):
        raise InvalidInput("约稿对象须为列表", field="invitee_ids")
    invitees = tuple(dict.fromkeys(check_id(i, "invitee_ids") for i in invitee_ids))
    if not invitees:
        raise InvalidInput("至少须有一个约稿对象", field="invitee_ids", article="第七条")
    return invitees


def _topic(ctx: Context, topic: str) -> str:
    return clean_text(topic, "topic", label="约稿主题", max_chars=ctx.rules.intake.max_title_chars)


def check_commission(
    ctx: Context, actor: Actor, topic: str, invitee_ids: Sequence[str], due: date
) -> tuple[str, ...]:
    """Check what needs no stored facts; return the invitee ids the service must load.

    Only the editor commissions; invitees are a non-empty list of account ids; the due date is
    a calendar day not before today; the topic is clean and within the title limit.
    """
    if actor.role is not Role.EDITOR:
        raise PermissionDenied("只有信息工作人员可以约稿", article="第七条")
    invitees = _invitee_ids(invitee_ids)
    if isinstance(due, datetime) or not isinstance(due, date):
        raise InvalidInput("截止日期须为日期（不含时刻）", field="due")
    _topic(ctx, topic)
    if due < ctx.today:
        raise InvalidInput("截止日期不能早于今天", field="due")
    for invitee in invitees:
        if not isinstance(invitee, str):
            raise InvalidInput("约稿对象须为账号编号", field="invitee_ids")
    return invitees


def _check_invitee(actor: Actor, account: Account) -> None:
    """Invitees hold a submitter grant of the editor's jurisdiction and still exist.

    Grants decide, never the home jurisdiction: a county person holding a city 委员 grant is
    invited by the city. Someone with no grant at all in the jurisdiction is not found there.
    """
    if not any(g.jurisdiction == actor.jurisdiction for g in account.grants):
        raise NotFound(f"账号不存在：{account.id}", id=account.id)
    if (
        not account.holds(SUBMITTER_ROLES, actor.jurisdiction)
        or account.status is AccountStatus.DELETED
    ):
        raise InvalidInput(f"{account.real_name}不能作为约稿对象", field="invitee_ids")


def create_commission(
    ctx: Context,
    actor: Actor,
    topic: str,
    invitee_ids: Sequence[str],
    due: date,
    invitees: Sequence[Account],
) -> tuple[Commission, Notice]:
    """约稿: the new commission and the notice to its invitees.

    ``invitees`` are the accounts of :func:`check_commission`'s ids, in the same order.
    """
    named = check_commission(ctx, actor, topic, invitee_ids, due)
    if tuple(a.id for a in invitees) != named:
        raise InvalidInput("约稿对象与账号不符", field="invitee_ids")
    for account in invitees:
        _check_invitee(actor, account)
    subject = _topic(ctx, topic)
    commission = Commission(
        id=ctx.new_id(),
        version=1,
        jurisdiction=actor.jurisdiction,
        topic=subject,
        invitee_ids=named,
        due=due,
        created_by=actor.account_id,
        created_at=ctx.now,
    )
    notice = Notice(
        id=ctx.new_id(),
        kind="commission_created",
        recipients=named,
        text=f"约稿：{subject}（请于{due.isoformat()}前报送）",
        at=ctx.now,
    )
    return commission, notice


@attrs.frozen
class InviteeProgress:
    """How far one invitee of a commission has got: ``outstanding`` while they have submitted
    nothing, ``overdue`` once the due date has passed with nothing submitted."""

    invitee_id: str
    submitted: int
    adopted: int
    outstanding: bool = False
    overdue: bool = False


@attrs.frozen
class CommissionProgress:
    """A commission's progress: per invitee, totals, and whether it is overdue.

    ``overdue`` means the due date has passed while some invitee has submitted nothing
    (those are ``outstanding``). Only the invitees' items count, in the totals too (第七条).
    """

    commission: Commission
    invitees: tuple[InviteeProgress, ...]
    submitted: int
    adopted: int
    outstanding: tuple[str, ...]
    overdue: bool


def check_progress_reader(actor: Actor) -> None:
    """Only office staff follow commissions (asked before anything is loaded)."""
    if actor.role not in OFFICE_ROLES:
        raise PermissionDenied("只有市政协办公室人员可以查看约稿进度", article="第七条")


def commission_progress(
    ctx: Context, actor: Actor, commission: Commission, items: Iterable[Item]
) -> CommissionProgress:
    """Who was invited, what each has submitted and had adopted, and whether it is overdue.

    ``items`` are the items written for the commission; drafts, withdrawn items and items whose
    lead author was not invited (possible only in data from before only invitees could answer)
    do not count (第七条).
    """
    check_progress_reader(actor)
    if commission.jurisdiction != actor.jurisdiction:
        raise JurisdictionDenied(commission=commission.id)
    invited = frozenset(commission.invitee_ids)
    counted = [
        i
        for i in items
        if i.commission_id == commission.id
        and i.state not in _NOT_SUBMITTED
        and i.lead_author_id in invited
    ]
    late = ctx.today > commission.due
    per_invitee = tuple(
        InviteeProgress(
            invitee,
            submitted=(submitted := sum(1 for i in counted if invitee in i.authors)),
            adopted=sum(1 for i in counted if invitee in i.authors and i.adopted),
            outstanding=submitted == 0,
            overdue=late and submitted == 0,
        )
        for invitee in commission.invitee_ids
    )
    outstanding = tuple(p.invitee_id for p in per_invitee if p.submitted == 0)
    return CommissionProgress(
        commission=commission,
        invitees=per_invitee,
        submitted=len(counted),
        adopted=sum(1 for i in counted if i.adopted),
        outstanding=outstanding,
        overdue=late and bool(outstanding),
    )
