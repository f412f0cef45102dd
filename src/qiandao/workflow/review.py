"""Review and sign-off (第六、九条): 初审, the deputy's review, the signature of the required tier.

Every issued item carries, in order, the 初审 decision, the deputy's review and the signature of
the signer its destinations require. Nobody reviews, returns, rejects, approves, signs or merges
an item they wrote, co-wrote or had merged into it: the check compares persons (account ids),
never role grants, so one person's editor grant never reviews what their member grant wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

from qiandao.actor import Actor
from qiandao.errors import InvalidInput
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import Item, ReviewDecision, ReviewRecord, ReviewStage
from qiandao.rules.lifecycle import TERMINAL_ITEM_STATES, ItemCommand, ItemState
from qiandao.rules.text import clean_text, require_reason
from qiandao.rules.tiers import Destination, check_destinations, check_not_author, check_signer
from qiandao.workflow.context import Context, Decision
from qiandao.workflow.guards import check_office, item_step
from qiandao.workflow.intake import revised_text

__all__ = [
    "approve",
    "merge",
    "pass_preliminary",
    "reject",
    "return_for_revision",
    "send_back",
    "sign",
]

_STAGE_OF = {
    ItemState.SUBMITTED: ReviewStage.PRELIMINARY,
    ItemState.IN_REVIEW: ReviewStage.DEPUTY,
    ItemState.AWAITING_SIGNOFF: ReviewStage.SIGNOFF,
}


def _review(
    ctx: Context,
    actor: Actor,
    item: Item,
    command: ItemCommand,
    decision: ReviewDecision,
    note: str,
) -> tuple[ItemState, ReviewRecord]:
    """The next state and the review record; the signer's tier is checked at sign-off."""
    stage = _STAGE_OF.get(item.state, ReviewStage.PRELIMINARY)
    state = item_step(actor, item, command)
    check_not_author(actor.account_id, item.credited)
    if item.state is ItemState.AWAITING_SIGNOFF:  # only the required tier acts (第九条)
        check_signer(actor.role, item.destinations, ctx.rules.tiers)
    return state, ReviewRecord(stage, decision, actor.account_id, actor.role, ctx.now, note)


def _note(ctx: Context, note: str) -> str:
    return clean_text(
        note, "note", label="意见", max_chars=ctx.rules.intake.max_reason_chars, required=False
    )


def _reasoned(
    ctx: Context,
    actor: Actor,
    item: Item,
    reason: str,
    command: ItemCommand,
    decision: ReviewDecision,
    kind: EventKind,
) -> Decision:
    """A review step that needs a written reason (return, reject, send back)."""
    why = require_reason(reason, max_chars=ctx.rules.intake.max_reason_chars, article="第九条")
    state, record = _review(ctx, actor, item, command, decision, why)
    return [(kind, Change(state=state, review=record, note=why))]


def pass_preliminary(
    ctx: Context,
    actor: Actor,
    item: Item,
    destinations: Iterable[Destination | str],
    title: str | None = None,
    body: str | None = None,
    note: str = "",
) -> Decision:
    """初审通过: the editor's edited text (a new version) and destinations go to the deputy."""
    chosen = check_destinations(destinations)
    state, record = _review(
        ctx, actor, item, ItemCommand.PASS_PRELIMINARY, ReviewDecision.PASSED, _note(ctx, note)
    )
    text = revised_text(ctx, actor, item, title, body)
    change = Change(state=state, review=record, text=text, fields=ItemPatch(destinations=chosen))
    return [(EventKind.PRELIMINARY_PASSED, change)]


def return_for_revision(ctx: Context, actor: Actor, item: Item, reason: str) -> Decision:
    """退回修改: the editor sends the item back to its author with a reason."""
    return _reasoned(
        ctx,
        actor,
        item,
        reason,
        ItemCommand.RETURN_FOR_REVISION,
        ReviewDecision.RETURNED,
        EventKind.RETURNED,
    )


def reject(ctx: Context, actor: Actor, item: Item, reason: str) -> Decision:
    """不予采用, by the editor, the deputy or the signer at their step, with a reason."""
    return _reasoned(
        ctx, actor, item, reason, ItemCommand.REJECT, ReviewDecision.REJECTED, EventKind.REJECTED
    )


def send_back(ctx: Context, actor: Actor, item: Item, reason: str) -> Decision:
    """The deputy sends back to 初审, or the signer back to the deputy, with a reason."""
    return _reasoned(
        ctx,
        actor,
        item,
        reason,
        ItemCommand.SEND_BACK,
        ReviewDecision.RETURNED,
        EventKind.SENT_BACK,
    )


def approve(
    ctx: Context,
    actor: Actor,
    item: Item,
    destinations: Iterable[Destination | str] | None = None,
    note: str = "",
) -> Decision:
    """The deputy approves; amended destinations recompute the tier that must sign."""
    chosen = None if destinations is None else check_destinations(destinations)
    state, record = _review(
        ctx, actor, item, ItemCommand.APPROVE, ReviewDecision.PASSED, _note(ctx, note)
    )
    change = Change(state=state, review=record)
    if chosen is not None:
        change = Change(state=state, review=record, fields=ItemPatch(destinations=chosen))
    return [(EventKind.DEPUTY_APPROVED, change)]


def sign(ctx: Context, actor: Actor, item: Item, note: str = "") -> Decision:
    """审核签发 by the signer the destinations require: the item is adopted (录用)."""
    state, record = _review(
        ctx, actor, item, ItemCommand.SIGN, ReviewDecision.PASSED, _note(ctx, note)
    )
    change = Change(state=state, review=record, fields=ItemPatch(issued_at=ctx.now))
    return [(EventKind.SIGNED, change)]


def merge(
    ctx: Context, actor: Actor, source: Item, target: Item, note: str = ""
) -> tuple[Decision, Decision]:
    """Merge a submitted item into another; the source's authors are credited with the target.

    The actor's right to merge the source is checked first, so nobody who may not merge learns
    anything of the target. Whoever refused publication of the source still refuses it for the
    target, which now carries their text (第十四条).

    Returns the decisions for the source (MERGED) and for the target (MERGE_RECEIVED).
    """
    state, record = _review(
        ctx, actor, source, ItemCommand.MERGE, ReviewDecision.MERGED, _note(ctx, note)
    )
    if source.id == target.id:
        raise InvalidInput("不能合并到自身", field="into_item_id")
    check_office(actor, target)
    check_not_author(actor.account_id, target.credited)
    if target.state is ItemState.DRAFT or target.state in TERMINAL_ITEM_STATES:
        raise InvalidInput("目标信息须已提交且未终止", field="into_item_id", article="第九条")
    merged = Change(state=state, review=record, fields=ItemPatch(merged_into=target.id))
    credited = target.merged_authors | source.authors | source.merged_authors
    received = Change(
        fields=ItemPatch(
            merged_from=(*target.merged_from, source.id),
            merged_authors=credited - target.authors,
            opted_out=None
            if source.opted_out <= target.opted_out
            else (target.opted_out | source.opted_out),
        )
    )
    return [(EventKind.MERGED, merged)], [(EventKind.MERGE_RECEIVED, received)]
