"""Handling (第十条): assign, accept, decline, reassign, extensions, reply; rating (第十二条).

Each method loads its facts, calls one decision of :mod:`qiandao.workflow.handling`, and hands
it to the command runner.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from qiandao._core import Actor, Tx, _Core, check_ids, once
from qiandao.errors import InvalidInput, NotFound
from qiandao.model import Item, Unit
from qiandao.rules.rating import Rating
from qiandao.workflow import handling

__all__ = ["HandlingCommands"]


def _unit(tx: Tx, unit_id: str) -> Unit | str:
    """The unit, or its bare id when there is none: the decision refuses it after the
    actor's permission is checked, so an unknown id tells an outsider nothing."""
    try:
        return tx.uow.units.get(unit_id)
    except NotFound:
        return unit_id


def _assign(
    tx: Tx, actor: Actor, item_id: str, entries: Sequence[tuple[str, bool]], note: str
) -> Item:
    """Load the item and the named units, decide the assignment, and stage it."""
    item = tx.uow.items.get(item_id)
    units = [(_unit(tx, unit_id), lead) for unit_id, lead in entries]
    decision = handling.assign(tx.context(item.jurisdiction), actor, item, units, note)
    return tx.stage(item, decision)


def _reassign(
    tx: Tx, actor: Actor, item_id: str, assignment_id: str, unit_id: str, lead: bool | None
) -> Item:
    """Load the item and the new unit, decide the reassignment, and stage it."""
    item = tx.uow.items.get(item_id)
    unit = _unit(tx, unit_id)
    decision = handling.reassign(
        tx.context(item.jurisdiction), actor, item, assignment_id, unit, lead
    )
    return tx.stage(item, decision)


class HandlingCommands(_Core):
    """Handling (第十条): assignment, decline, extensions, reply; rating (第十二条)."""

    # --- assignment -----------------------------------------------------------------------

    def assign(
        self,
        actor: Actor,
        item_id: str,
        units: Sequence[str | tuple[str, bool]],
        *,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Item:
        """交办: the editor hands an adopted item to units, each with a 15-working-day deadline.

        ``units`` holds ``(unit_id, lead)`` pairs or bare unit ids (协办). Naming a lead (主办)
        requires exactly one lead among the item's open assignments.
        """
        check_ids(item_id=item_id)
        entries = handling.unit_entries(units)
        work = functools.partial(_assign, actor=actor, item_id=item_id, entries=entries, note=note)
        key = once(actor, idempotency_key, "assign", item_id, entries, note)
        return self._on_items(actor, work, key)

    def accept(
        self, actor: Actor, item_id: str, assignment_id: str, *, idempotency_key: str | None = None
    ) -> Item:
        """签收: the unit accepts its assignment; the deadline still runs from assignment."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(actor, item_id, idempotency_key, handling.accept, assignment_id)

    def decline(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """申退: a unit declines an item outside its remit, with a reason, within the window."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.decline, assignment_id, reason
        )

    def reassign(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        unit_id: str,
        *,
        lead: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Item:
        """改派: the office moves a declined assignment to another unit, with a fresh deadline.

        ``lead=None`` keeps the declined assignment's lead (主办) flag.
        """
        check_ids(item_id=item_id, assignment_id=assignment_id, unit_id=unit_id)
        if not isinstance(unit_id, str) or not unit_id.strip():
            raise InvalidInput("承办单位编号不能为空", field="unit_id")
        if lead is not None and type(lead) is not bool:
            raise InvalidInput("是否主办须为布尔值", field="lead")
        work = functools.partial(
            _reassign,
            actor=actor,
            item_id=item_id,
            assignment_id=assignment_id,
            unit_id=unit_id,
            lead=lead,
        )
        key = once(actor, idempotency_key, "reassign", item_id, assignment_id, unit_id, lead)
        return self._on_items(actor, work, key)

    def overrule(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """不同意申退: the office keeps the unit on the item; the deadline is unchanged."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.overrule, assignment_id, reason
        )

    def cancel_assignment(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """撤销交办: the office withdraws an open assignment, with a reason.

        If that leaves a handling item with replies and nothing open, the item is REPLIED.
        """
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.cancel_assignment, assignment_id, reason
        )

    # --- extensions -----------------------------------------------------------------------

    def request_extension(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        workdays: int,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """申请延期: before the deadline, with a reason, within the count and size limits."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor,
            item_id,
            idempotency_key,
            handling.request_extension,
            assignment_id,
            workdays,
            reason,
        )

    def approve_extension(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        workdays: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """同意延期: the office grants the requested (or another) number of working days.

        The new due date counts from the current one; the request's time decides whether it was
        asked before the deadline. Reminders start afresh for the new deadline.
        """
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.approve_extension, assignment_id, workdays
        )

    def refuse_extension(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """不同意延期: the office refuses with a reason; the deadline stays."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.refuse_extension, assignment_id, reason
        )

    # --- reply, rating, re-handling -------------------------------------------------------

    def reply(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        text: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """书面答复: the unit replies (late replies are accepted and show as overdue).

        A reply while an extension request is pending leaves that request undecided (it lapses).
        The rating window opens; the last reply moves the item to REPLIED.
        """
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(actor, item_id, idempotency_key, handling.reply, assignment_id, text)

    def rate(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        rating: Rating | str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """评价: the author rates a unit's reply; a given rating may change until closing."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        grade = Rating.parse(rating, "rating")
        return self._on_item(actor, item_id, idempotency_key, handling.rate, assignment_id, grade)

    def order_rehandle(
        self,
        actor: Actor,
        item_id: str,
        assignment_id: str,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """重新办理 after 不满意: a new 15-working-day deadline from now; the rating resets."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        return self._on_item(
            actor, item_id, idempotency_key, handling.order_rehandle, assignment_id, reason
        )
