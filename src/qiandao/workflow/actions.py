"""Which commands an actor may run on an item now (for menus, buttons and badges).

Every candidate is decided by running the command's own decision of :mod:`qiandao.workflow`
against the facts with valid stand-in input (a reason, one working day, an unused unit, a
submitted merge target) and keeping those that raise nothing. So the answer applies every check
the command applies (role and state, author and lead author, the signer's tier, self-review,
the unit's own assignment, the office's jurisdiction, windows and deadlines, secrecy) and cannot
drift from it. The transition tables only prune what can never pass, which keeps a list cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Final

import attrs

from qiandao.actor import Actor
from qiandao.errors import QiandaoError
from qiandao.model import Assignment, Item, Unit
from qiandao.rules.lifecycle import (
    ASSIGNMENT_TRANSITIONS,
    ITEM_TRANSITIONS,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
    ItemState,
)
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.tiers import Destination
from qiandao.workflow import feedback, handling, intake, review
from qiandao.workflow.context import Context, Decision

__all__ = ["PROBE_REASON", "AllowedAction", "allowed_actions"]

PROBE_REASON: Final = "说明"
"""The reason, note or text every probe supplies (valid for every command that needs one)."""
_PROBE_ID: Final = "\x00probe"  # never a real id: ids have no control characters


@attrs.frozen
class AllowedAction:
    """One command the actor may run now; ``assignment_id`` names the assignment it acts on
    (assignment commands and 评价), ``None`` for commands on the whole item.

    ``command`` is an :class:`AssignmentCommand` where one has the value (``rehandle`` is the
    assignment's 重新办理), else an :class:`ItemCommand`: that is how a wire value reads back.
    """

    command: AssignmentCommand | ItemCommand
    assignment_id: str | None = None


_ItemProbe = Callable[[Context, Actor, Item, Collection[str]], Decision]
_AssignmentProbe = Callable[[Context, Actor, Item, Assignment], Decision]


def _probe_unit(item: Item) -> Unit:
    return Unit(_PROBE_ID, PROBE_REASON, item.jurisdiction)


def _merge(ctx: Context, actor: Actor, item: Item, _: Collection[str]) -> Decision:
    """Merging into some other submitted item of the jurisdiction that nobody here wrote."""
    target = attrs.evolve(
        item,
        id=_PROBE_ID,
        state=ItemState.SUBMITTED,
        lead_author_id=_PROBE_ID,
        coauthor_ids=(),
        merged_authors=frozenset(),
    )
    return review.merge(ctx, actor, item, target)[0]


def _report_up(ctx: Context, actor: Actor, item: Item, known: Collection[str]) -> Decision:
    return feedback.report_up(ctx, actor, item, known)[1]


_C = ItemCommand
_AC = AssignmentCommand
_R = PROBE_REASON

_ITEM_PROBES: Final[dict[ItemCommand, _ItemProbe]] = {
    _C.EDIT_DRAFT: lambda c, a, i, _: intake.edit_draft(c, a, i),
    _C.SUBMIT: lambda c, a, i, _: intake.submit(c, a, i),
    _C.WITHDRAW: lambda c, a, i, _: intake.withdraw(c, a, i),
    _C.RESUBMIT: lambda c, a, i, _: intake.resubmit(c, a, i),
    _C.PASS_PRELIMINARY: lambda c, a, i, _: review.pass_preliminary(
        c, a, i, i.destinations or {Destination.FORWARD_TO_DEPARTMENTS}
    ),
    _C.RETURN_FOR_REVISION: lambda c, a, i, _: review.return_for_revision(c, a, i, _R),
    _C.REJECT: lambda c, a, i, _: review.reject(c, a, i, _R),
    _C.MERGE: _merge,
    _C.APPROVE: lambda c, a, i, _: review.approve(c, a, i),
    _C.SEND_BACK: lambda c, a, i, _: review.send_back(c, a, i, _R),
    _C.SIGN: lambda c, a, i, _: review.sign(c, a, i),
    _C.ASSIGN: lambda c, a, i, _: handling.assign(c, a, i, [(_probe_unit(i), False)]),
    _C.CLOSE: lambda c, a, i, _: feedback.close(c, a, i),
    _C.RECORD_FEEDBACK: lambda c, a, i, _: feedback.record_implementation(c, a, i, c.today, _R),
    _C.SET_PUBLICATION_CONSENT: lambda c, a, i, _: feedback.set_publication_consent(
        c, a, i, a.account_id in i.opted_out
    ),
    _C.RECLASSIFY: lambda c, a, i, _: feedback.reclassify(c, a, i, i.secret, _R),
    _C.REPORT_UP: _report_up,
}
"""Each item command a caller runs, with the stand-in input its probe supplies."""

_ASSIGNMENT_PROBES: Final[dict[AssignmentCommand, _AssignmentProbe]] = {
    _AC.ACCEPT: lambda c, a, i, x: handling.accept(c, a, i, x.id),
    _AC.DECLINE: lambda c, a, i, x: handling.decline(c, a, i, x.id, _R),
    _AC.REQUEST_EXTENSION: lambda c, a, i, x: handling.request_extension(c, a, i, x.id, 1, _R),
    _AC.APPROVE_EXTENSION: lambda c, a, i, x: handling.approve_extension(c, a, i, x.id),
    _AC.REFUSE_EXTENSION: lambda c, a, i, x: handling.refuse_extension(c, a, i, x.id, _R),
    _AC.REASSIGN: lambda c, a, i, x: handling.reassign(c, a, i, x.id, _probe_unit(i)),
    _AC.OVERRULE: lambda c, a, i, x: handling.overrule(c, a, i, x.id, _R),
    _AC.REPLY: lambda c, a, i, x: handling.reply(c, a, i, x.id, _R),
    _AC.REHANDLE: lambda c, a, i, x: handling.order_rehandle(c, a, i, x.id, _R),
    _AC.CANCEL: lambda c, a, i, x: handling.cancel_assignment(c, a, i, x.id, _R),
}
"""Each assignment command, with its probe's stand-in input (重新办理 is ordered per assignment)."""


def _probe_id() -> str:
    return _PROBE_ID


def probe_context(ctx: Context) -> Context:
    """``ctx`` with the probes' stand-in ids (what :func:`allowed_actions` decides under); a
    caller listing many items builds it once and passes it in."""
    return ctx if ctx.probing else attrs.evolve(ctx, ids=_probe_id, probing=True)


def _rate(ctx: Context, actor: Actor, item: Item, assignment: Assignment) -> Decision:
    return handling.rate(ctx, actor, item, assignment.id, Rating.SATISFIED)


def _passes(probe: Callable[..., Decision], *facts: object) -> bool:
    """Whether the probe's decision on ``facts`` raises nothing."""
    try:
        probe(*facts)
    except QiandaoError:
        return False
    return True


@functools.cache
def _item_probes(state: ItemState, role: Role) -> tuple[tuple[ItemCommand, _ItemProbe], ...]:
    """The item commands the transition table allows ``role`` in ``state``, with their probes
    (computed once per pair: a list page asks the same question for every row)."""
    return tuple(
        (command, probe)
        for command, probe in _ITEM_PROBES.items()
        if (state, command, role) in ITEM_TRANSITIONS
    )


@functools.cache
def _assignment_probes(
    state: AssignmentState, role: Role, rehandles: bool
) -> tuple[tuple[AssignmentCommand, _AssignmentProbe], ...]:
    """The assignment commands the table allows ``role`` on an assignment in ``state``
    (重新办理 only where the item's state allows it too), with their probes."""
    return tuple(
        (step, act)
        for step, act in _ASSIGNMENT_PROBES.items()
        if (state, step, role) in ASSIGNMENT_TRANSITIONS and (step is not _AC.REHANDLE or rehandles)
    )


def allowed_actions(
    ctx: Context, actor: Actor, item: Item, jurisdictions: Collection[str] = ()
) -> tuple[AllowedAction, ...]:
    """The commands ``actor`` may run on ``item`` now: commands on the whole item first, then
    those on each assignment (评价 included), in the item's order.

    ``item`` is the item as stored or as the actor sees it (``Item.as_seen`` keeps all that the
    actor acts on); ``jurisdictions`` are those the service has rules for (reporting up needs
    the parent among them). Pure: the probes' decisions are discarded.
    """
    probing = probe_context(ctx)
    role = actor.role
    found = [
        AllowedAction(command)
        for command, probe in _item_probes(item.state, role)
        if _passes(probe, probing, actor, item, jurisdictions)
    ]
    rates = (item.state, _C.RATE, role) in ITEM_TRANSITIONS
    rehandles = (item.state, _C.REHANDLE, role) in ITEM_TRANSITIONS
    for assignment in item.assignments:
        steps: tuple[tuple[AssignmentCommand | ItemCommand, _AssignmentProbe], ...]
        steps = _assignment_probes(assignment.state, role, rehandles)
        if rates:
            steps = ((_C.RATE, _rate), *steps)
        found += (
            AllowedAction(step, assignment.id)
            for step, act in steps
            if _passes(act, probing, actor, item, assignment)
        )
    return tuple(found)
