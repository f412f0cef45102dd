"""Collection (第四、五、七条): drafts, submission, revision and withdrawal by authors.

Decisions only: the service loads the facts (co-author accounts, the commission), calls one of
these functions, and hands the decided events to the command runner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import attrs

from qiandao.actor import Actor
from qiandao.converter import structure, unstructure
from qiandao.errors import ChannelMismatch, InvalidInput, NotFound, PermissionDenied
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import (
    Account,
    AccountStatus,
    Channel,
    Commission,
    FocusCategory,
    Item,
    TextVersion,
)
from qiandao.rules.lifecycle import ItemCommand, ItemState
from qiandao.rules.roles import SUBMITTER_ROLES, Role
from qiandao.rules.text import check_id, clean_text
from qiandao.workflow.context import Context, Decision
from qiandao.workflow.guards import item_step

__all__ = [
    "SECRET_STUB",
    "CheckedDraft",
    "DraftInput",
    "channel_for",
    "check_draft",
    "draft",
    "draft_input",
    "edit_draft",
    "fingerprint",
    "resubmit",
    "revised_text",
    "submit",
    "submit_new",
    "withdraw",
]

_NOBODY: frozenset[str] = frozenset()  # one empty set shared by every item that opts out of nothing

SECRET_STUB = "【涉密信息：正文不在本系统录入，请按保密规定线下报送】"
"""The body kept instead of a 涉密 text where the rules refuse 涉密 bodies (保密法)."""


@attrs.frozen
class DraftInput:
    """What an author submits (第四、五条); a host may pass the same as a JSON object."""

    title: str
    body: str
    category: FocusCategory
    channel: Channel | None = None  # derived; a payload may name it only as it is derived
    sector: str = ""
    urgent: bool = False
    secret: bool = False
    coauthor_ids: tuple[str, ...] = ()
    publish: bool = True
    commission_id: str | None = None


_CHANNEL_OF_ROLE = {
    Role.MEMBER: Channel.MEMBER,
    Role.INFO_OFFICER: Channel.INFO_OFFICER,
    Role.CONTACT_POINT: Channel.CONTACT_POINT,
    Role.ORGANISATION: Channel.COLLECTIVE,
}


def channel_for(role: Role, *, commissioned: bool = False) -> Channel:
    """The channel an item comes in by (第二、七条): 约稿 for an answer to a commission, else the
    submitter's own (委员, 信息员, 联系点, 集体报送). Only submitter roles have one."""
    if commissioned:
        return Channel.COMMISSION
    try:
        return _CHANNEL_OF_ROLE[role]
    except KeyError:
        raise PermissionDenied(
            "只有委员、特邀信息员、联系点和集体报送单位可以报送信息",
            article="第二条",
            role=role.value,
        ) from None


def draft_input(data: DraftInput | Mapping[str, Any]) -> DraftInput:
    """Validate a payload (or a ``DraftInput`` built in code) with every bad field named."""
    if isinstance(data, DraftInput):
        data = attrs.asdict(data, recurse=False)  # an object built in code gets the same checks
    return structure(data, DraftInput, what="信息内容")


def fingerprint(data: DraftInput) -> str:
    """A digest of the payload: a retried submit with the same key must carry the same draft.

    A lone surrogate (refused later as ``input.invalid``) is digested, not raised on here.
    """
    raw = json.dumps(unstructure(data), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@attrs.frozen
class CheckedDraft:
    """A draft that passed :func:`check_draft`: its cleaned texts and the co-author ids to load."""

    data: DraftInput
    """The draft as submitted."""
    title: str
    """The cleaned title."""
    body: str
    """The cleaned body."""
    sector: str
    """The cleaned sector (界别; ``""``: none)."""
    coauthor_ids: tuple[str, ...]
    """Account ids of the co-authors to load and check."""


def check_draft(ctx: Context, actor: Actor, data: DraftInput | CheckedDraft) -> CheckedDraft:
    """Check what needs no stored facts; ``coauthor_ids`` are the accounts the service loads.

    Only submitters draft; a channel named in the payload must be the derived one (第七条);
    title, body and sector are clean and within the limits; co-authors are distinct account ids
    other than the author, within the limit (第四、五条).
    """
    channel_for(actor.role)  # refuses a role that may not submit
    if isinstance(data, CheckedDraft):
        return data
    derived = channel_for(actor.role, commissioned=data.commission_id is not None)
    if data.channel is not None and data.channel is not derived:
        raise ChannelMismatch(field="channel", named=data.channel.value, derived=derived.value)
    title, body, sector = _texts(ctx, data)
    limit = ctx.rules.intake.max_coauthors
    for coauthor in data.coauthor_ids:
        check_id(coauthor, "coauthor_ids")
    if data.commission_id is not None:
        check_id(data.commission_id, "commission_id")
    coauthors = tuple(dict.fromkeys(c for c in data.coauthor_ids if c != actor.account_id))
    if len(coauthors) > limit:
        raise InvalidInput(f"联名人数不得超过{limit}人", field="coauthor_ids")
    return CheckedDraft(data, title, body, sector, coauthors)


def _check_coauthor(actor: Actor, account: Account) -> None:
    """联名: co-authors are active submitters of the author's jurisdiction (not reviewers)."""
    if (
        not account.holds(SUBMITTER_ROLES, actor.jurisdiction)
        or account.status is not AccountStatus.ACTIVE
    ):
        raise InvalidInput(
            f"{account.real_name}不能作为联名人（须为本级政协在职的委员、信息员或报送单位）",
            field="coauthor_ids",
            article="第五条",
        )


def _texts(ctx: Context, data: DraftInput) -> tuple[str, str, str]:
    intake = ctx.rules.intake
    return (
        clean_text(data.title, "title", label="标题", max_chars=intake.max_title_chars),
        clean_text(data.body, "body", label="正文", max_chars=intake.max_body_chars),
        clean_text(data.sector, "sector", label="界别", max_chars=100, required=False),
    )


def _new_item(
    ctx: Context,
    actor: Actor,
    draft: DraftInput | CheckedDraft,
    coauthors: tuple[Account, ...],
    commission: Commission | None,
) -> Item:
    checked = check_draft(ctx, actor, draft)
    data, title, body, sector = checked.data, checked.title, checked.body, checked.sector
    withheld = data.secret and ctx.rules.intake.refuse_secret_bodies
    if tuple(a.id for a in coauthors) != checked.coauthor_ids:
        raise InvalidInput("联名人与信息内容不符", field="coauthor_ids")
    for account in coauthors:
        _check_coauthor(actor, account)
    if (None if commission is None else commission.id) != data.commission_id:
        raise InvalidInput("约稿与信息内容不符", field="commission_id")
    if commission is not None and commission.jurisdiction != actor.jurisdiction:
        raise NotFound(f"约稿不存在：{commission.id}", id=commission.id)
    if commission is not None and actor.account_id not in commission.invitee_ids:
        raise PermissionDenied("只有受邀对象可以报送约稿信息", article="第七条", id=commission.id)
    return Item(
        id=ctx.new_id(),
        version=0,
        jurisdiction=actor.jurisdiction,
        state=ItemState.DRAFT,
        lead_author_id=actor.account_id,
        texts=(
            TextVersion(1, title, SECRET_STUB if withheld else body, actor.account_id, ctx.now),
        ),
        category=data.category,
        channel=channel_for(actor.role, commissioned=commission is not None),
        created_at=ctx.now,
        sector=sector,
        coauthor_ids=tuple(a.id for a in coauthors),
        urgent=data.urgent,
        secret=data.secret,
        body_withheld=withheld,
        opted_out=_NOBODY if data.publish else frozenset({actor.account_id}),
        commission_id=None if commission is None else commission.id,
    )


def draft(
    ctx: Context,
    actor: Actor,
    data: DraftInput | CheckedDraft,
    coauthors: tuple[Account, ...] = (),
    commission: Commission | None = None,
) -> Decision:
    """Save a draft (草稿); ``coauthors`` are the accounts of :func:`check_draft`'s ids."""
    return [(EventKind.DRAFTED, Change(item=_new_item(ctx, actor, data, coauthors, commission)))]


def submit_new(
    ctx: Context,
    actor: Actor,
    data: DraftInput | CheckedDraft,
    coauthors: tuple[Account, ...] = (),
    commission: Commission | None = None,
) -> Decision:
    """Draft and submit in one step: the item goes straight to 初审."""
    submitted = Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=ctx.now))
    return [*draft(ctx, actor, data, coauthors, commission), (EventKind.SUBMITTED, submitted)]


def revised_text(
    ctx: Context, actor: Actor, item: Item, title: str | None, body: str | None
) -> TextVersion | None:
    """A new text version if the title or body changes (the original is kept), else ``None``."""
    if title is None and body is None:
        return None
    intake = ctx.rules.intake
    new_title = (
        item.title
        if title is None
        else clean_text(title, "title", label="标题", max_chars=intake.max_title_chars)
    )
    new_body = (
        item.body
        if body is None
        else clean_text(body, "body", label="正文", max_chars=intake.max_body_chars)
    )
    if item.body_withheld:
        new_body = SECRET_STUB
    if (new_title, new_body) == (item.title, item.body):
        return None
    return TextVersion(len(item.texts) + 1, new_title, new_body, actor.account_id, ctx.now)


def edit_draft(
    ctx: Context, actor: Actor, item: Item, title: str | None = None, body: str | None = None
) -> Decision:
    """The lead author edits a draft or a returned item: a new text version."""
    state = item_step(actor, item, ItemCommand.EDIT_DRAFT)
    text = revised_text(ctx, actor, item, title, body)
    return [(EventKind.DRAFT_EDITED, Change(state=state, text=text))]


def submit(ctx: Context, actor: Actor, item: Item) -> Decision:
    """The lead author submits a draft for 初审."""
    state = item_step(actor, item, ItemCommand.SUBMIT)
    return [(EventKind.SUBMITTED, Change(state=state, fields=ItemPatch(submitted_at=ctx.now)))]


def resubmit(
    ctx: Context, actor: Actor, item: Item, title: str | None = None, body: str | None = None
) -> Decision:
    """The lead author resubmits a returned item, optionally revised."""
    state = item_step(actor, item, ItemCommand.RESUBMIT)
    text = revised_text(ctx, actor, item, title, body)
    change = Change(state=state, text=text, fields=ItemPatch(submitted_at=ctx.now))
    return [(EventKind.RESUBMITTED, change)]


def withdraw(ctx: Context, actor: Actor, item: Item) -> Decision:
    """The lead author withdraws a draft or a returned item."""
    return [(EventKind.WITHDRAWN, Change(state=item_step(actor, item, ItemCommand.WITHDRAW)))]
