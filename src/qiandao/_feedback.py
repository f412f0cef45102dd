"""Feedback, publication and reporting commands (第十一、十四、二十条), and commissions (第七条).

Each method loads its facts, calls one decision of :mod:`qiandao.workflow.feedback`, and hands it
to the command runner.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

from qiandao._core import Actor, Tx, _Core, check_ids, once
from qiandao.errors import InvalidInput
from qiandao.model import Commission, Item
from qiandao.ports.store import ItemQuery
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.workflow import feedback
from qiandao.workflow.feedback import CommissionProgress, InviteeProgress

__all__ = ["CommissionProgress", "FeedbackCommands", "InviteeProgress"]


def _report_up(
    tx: Tx, actor: Actor, item_id: str, known: frozenset[str], to_jurisdiction: str | None
) -> Item:
    """Create the parent's new item, then link the source to it; returns the linked source."""
    source = tx.uow.items.get(item_id)
    ctx = tx.context(source.jurisdiction)
    stored = tx.uow.jurisdictions.get(source.jurisdiction)
    parents = {} if stored is None else {stored.code: stored.parent}
    if stored is not None and stored.parent is not None:
        known = known | {stored.parent}
    created, linked = feedback.report_up(ctx, actor, source, known, to_jurisdiction, parents)
    tx.create(created)
    return tx.stage(source, linked)


def _create_commission(
    tx: Tx, actor: Actor, topic: str, invitee_ids: Sequence[str], due: date
) -> Commission:
    """Load the invitees' accounts, decide, and add the commission and its notice."""
    ctx = tx.context(actor.jurisdiction)
    named = feedback.check_commission(ctx, actor, topic, invitee_ids, due)
    invitees = tuple(tx.uow.accounts.get(account_id) for account_id in named)
    commission, notice = feedback.create_commission(ctx, actor, topic, named, due, invitees)
    tx.uow.commissions.add(commission)
    tx.notify([notice])
    return commission


def _commission_again(tx: Tx, commission_id: str) -> Commission:
    """The commission a first call with the key created, as stored now."""
    return tx.uow.commissions.get(commission_id)


class FeedbackCommands(_Core):
    """Feedback, publication, secrecy, reporting up (第十一、十四条) and commissions (第七条)."""

    # --- closing and feedback -------------------------------------------------------------

    def close(self, actor: Actor, item_id: str, *, idempotency_key: str | None = None) -> Item:
        """办结: the editor closes an issued or replied item; ratings can no longer change.

        Refused with ``rating.window_open`` while a reply's rating window is open and unrated.
        """
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, feedback.close)

    def record_adoption(
        self,
        actor: Actor,
        item_id: str,
        level: AdoptionLevel | str,
        on: date,
        note: str = "",
        *,
        shared_with_units: bool = False,
        idempotency_key: str | None = None,
    ) -> Item:
        """采用情况: a higher body adopted the item; one record per level (it earns points).

        Authors read every feedback record; the handling units only those shared with them.
        """
        check_ids(item_id=item_id)
        chosen = AdoptionLevel.parse(level, "level")
        return self._on_item(
            actor,
            item_id,
            idempotency_key,
            feedback.record_adoption,
            chosen,
            on,
            note,
            shared_with_units=shared_with_units,
        )

    def record_instruction(
        self,
        actor: Actor,
        item_id: str,
        leader: str,
        rank: LeaderRank | str,
        on: date,
        text: str,
        *,
        shared_with_units: bool = False,
        idempotency_key: str | None = None,
    ) -> Item:
        """领导批示: who (name and rank), when, and what the leader wrote (shareable with units)."""
        check_ids(item_id=item_id)
        chosen = LeaderRank.parse(rank, "rank")
        return self._on_item(
            actor,
            item_id,
            idempotency_key,
            feedback.record_instruction,
            leader,
            chosen,
            on,
            text,
            shared_with_units=shared_with_units,
        )

    def record_implementation(
        self,
        actor: Actor,
        item_id: str,
        on: date,
        text: str,
        *,
        shared_with_units: bool = False,
        idempotency_key: str | None = None,
    ) -> Item:
        """落实情况: how the item's suggestions were carried out; units read it if shared."""
        check_ids(item_id=item_id)
        return self._on_item(
            actor,
            item_id,
            idempotency_key,
            feedback.record_implementation,
            on,
            text,
            shared_with_units=shared_with_units,
        )

    # --- publication and secrecy ----------------------------------------------------------

    def set_publication_consent(
        self, actor: Actor, item_id: str, publish: bool, *, idempotency_key: str | None = None
    ) -> Item:
        """An author allows or refuses publication; publication is re-derived (第十四条).

        Setting the choice already in force records nothing.
        """
        check_ids(item_id=item_id)
        if type(publish) is not bool:
            raise InvalidInput("是否公开须为布尔值", field="publish")
        return self._on_item(
            actor, item_id, idempotency_key, feedback.set_publication_consent, publish
        )

    def reclassify(
        self,
        actor: Actor,
        item_id: str,
        secret: bool,
        reason: str,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """调整密级: the editor marks an item 涉密 or lifts the label, with a reason.

        Publication follows at once (涉密 items are never published). The label already in
        force records nothing.
        """
        check_ids(item_id=item_id)
        if type(secret) is not bool:
            raise InvalidInput("是否涉密须为布尔值", field="secret")
        return self._on_item(actor, item_id, idempotency_key, feedback.reclassify, secret, reason)

    # --- reporting up (第十五、二十条) ----------------------------------------------------

    def report_up(
        self,
        actor: Actor,
        item_id: str,
        to_jurisdiction: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """A county editor reports an adopted item up to its parent CPPCC: a new linked item.

        The target is the parent of the item's jurisdiction: the stored link
        (:meth:`jurisdictions`), else the dotted code's (``zhoushan.putuo`` → ``zhoushan``);
        a ``to_jurisdiction`` given must name it. The new item enters the parent's 初审
        (SUBMITTED) with the same authors and the county's issued text, by 集体报送. Returns the
        county item, whose ``reported_as`` names the new one (the county editor does not read the
        parent's items, so the new item itself is not returned).
        """
        check_ids(item_id=item_id)
        work = functools.partial(
            _report_up,
            actor=actor,
            item_id=item_id,
            known=self._jurisdictions(),
            to_jurisdiction=to_jurisdiction,
        )
        key = once(actor, idempotency_key, "report_up", item_id, to_jurisdiction)
        return self._on_items(actor, work, key)

    # --- commissions (约稿, 第七条) ------------------------------------------------------

    def create_commission(
        self,
        actor: Actor,
        topic: str,
        invitee_ids: Sequence[str],
        due: date,
        *,
        idempotency_key: str | None = None,
    ) -> Commission:
        """约稿: the editor asks members, officers or organisations to research a topic."""
        work = functools.partial(
            _create_commission, actor=actor, topic=topic, invitee_ids=invitee_ids, due=due
        )
        key = once(actor, idempotency_key, "create_commission", topic, invitee_ids, due)
        return self._transact_once(actor, key, work, _commission_again)

    def commission_progress(self, actor: Actor, commission_id: str) -> CommissionProgress:
        """Who was invited, what each has submitted and had adopted, and whether it is overdue."""
        check_ids(commission_id=commission_id)
        feedback.check_progress_reader(actor)
        ctx = self._context(actor.jurisdiction, self.now())
        with self._reading(actor) as uow:
            commission = uow.commissions.get(commission_id)
            query = ItemQuery(jurisdiction=commission.jurisdiction, commission_id=commission.id)
            items = uow.items.find(query)
        return feedback.commission_progress(ctx, actor, commission, items)
