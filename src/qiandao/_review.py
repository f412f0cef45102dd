"""Collection and review commands (第四、五、七、九条): draft to signature.

Each method loads its facts, calls one decision of :mod:`qiandao.workflow.intake` or
:mod:`qiandao.workflow.review`, and hands it to the command runner.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from qiandao._core import Actor, Tx, _Core, check_ids, once
from qiandao.errors import IdempotencyConflict
from qiandao.model import Item
from qiandao.rules.tiers import Destination
from qiandao.workflow import intake, review
from qiandao.workflow.intake import DraftInput

__all__ = ["DraftInput", "ReviewCommands"]


def _new_item(tx: Tx, actor: Actor, draft: DraftInput, *, submit: bool) -> Item:
    """Load what a new item refers to (co-authors, commission), decide, and stage it."""
    ctx = tx.context(actor.jurisdiction)
    checked = intake.check_draft(ctx, actor, draft)
    coauthors = tuple(tx.uow.accounts.get(account_id) for account_id in checked.coauthor_ids)
    commission = (
        None if draft.commission_id is None else tx.uow.commissions.get(draft.commission_id)
    )
    decide = intake.submit_new if submit else intake.draft
    return tx.create(decide(ctx, actor, checked, coauthors, commission))


def _submitted_again(actor: Actor, client_key: str, tx: Tx, item_id: str) -> Item:
    """The item an earlier submit with the same key created, if this grant could have made it.

    Its fingerprint is the draft's alone (as before 0006, so older keys stay valid): the acting
    grant is checked here instead.
    """
    intake.channel_for(actor.role)  # a retry is refused what a first try would be
    earlier = tx.uow.items.get(item_id)
    if earlier.lead_author_id != actor.account_id:  # another account's key of the same spelling
        raise IdempotencyConflict(key=client_key)
    if earlier.jurisdiction != actor.jurisdiction or earlier.channel is not (
        intake.channel_for(actor.role, commissioned=earlier.commission_id is not None)
    ):  # the same person's key, used while acting in another role grant
        raise IdempotencyConflict(key=client_key)
    return earlier


def _merge(tx: Tx, actor: Actor, item_id: str, into_item_id: str, note: str) -> Item:
    source = tx.uow.items.get(item_id)
    target = tx.uow.items.get(into_item_id)
    merged, received = review.merge(tx.context(source.jurisdiction), actor, source, target, note)
    saved = tx.stage(source, merged)
    tx.stage(target, received)
    return saved


class ReviewCommands(_Core):
    """Draft, submit, 初审, deputy review and sign-off."""

    # --- intake (第四、五、七条) ------------------------------------------------------------

    def draft(
        self,
        actor: Actor,
        data: DraftInput | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """Save a draft (草稿); only its author sees it until it is submitted."""
        draft = intake.draft_input(data)
        key = once(actor, idempotency_key, "draft", draft)
        work = functools.partial(_new_item, actor=actor, draft=draft, submit=False)
        return self._on_items(actor, work, key)

    def submit_new(
        self,
        actor: Actor,
        data: DraftInput | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """Draft and submit in one step; a retry with the same key returns the same item.

        Two concurrent submits with one key race on the key's unique record; the loser runs
        again, finds the winner's record and returns the winner's item.
        """
        draft = intake.draft_input(data)
        work = functools.partial(_new_item, actor=actor, draft=draft, submit=True)
        if idempotency_key is None:  # the fingerprint (a digest of the draft) only with a key
            return self._on_items(actor, work)
        key = once(actor, idempotency_key, "submit_new", fingerprint=intake.fingerprint(draft))
        assert key is not None
        again = functools.partial(_submitted_again, actor, key.client_key)
        return self._on_items(actor, work, key, again)

    def edit_draft(
        self,
        actor: Actor,
        item_id: str,
        *,
        title: str | None = None,
        body: str | None = None,
        idempotency_key: str | None = None,
    ) -> Item:
        """The author edits a draft or a returned item: a new text version."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, intake.edit_draft, title, body)

    def submit(self, actor: Actor, item_id: str, *, idempotency_key: str | None = None) -> Item:
        """The author submits a draft for 初审."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, intake.submit)

    def resubmit(
        self,
        actor: Actor,
        item_id: str,
        *,
        title: str | None = None,
        body: str | None = None,
        idempotency_key: str | None = None,
    ) -> Item:
        """The author resubmits a returned item, optionally revised."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, intake.resubmit, title, body)

    def withdraw(self, actor: Actor, item_id: str, *, idempotency_key: str | None = None) -> Item:
        """The author withdraws a draft or a returned item."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, intake.withdraw)

    # --- review and sign-off (第九条) -----------------------------------------------------

    def pass_preliminary(
        self,
        actor: Actor,
        item_id: str,
        *,
        destinations: Iterable[Destination | str],
        title: str | None = None,
        body: str | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Item:
        """初审通过: the editor's edited text (a new version) and destinations go to the deputy."""
        check_ids(item_id=item_id)
        return self._on_item(
            actor,
            item_id,
            idempotency_key,
            review.pass_preliminary,
            destinations,
            title,
            body,
            note,
        )

    def return_for_revision(
        self, actor: Actor, item_id: str, reason: str, *, idempotency_key: str | None = None
    ) -> Item:
        """退回修改: the editor sends the item back to its author with a reason."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, review.return_for_revision, reason)

    def reject(
        self, actor: Actor, item_id: str, reason: str, *, idempotency_key: str | None = None
    ) -> Item:
        """不予采用, by the editor, the deputy or the signer at their step, with a reason."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, review.reject, reason)

    def merge(
        self,
        actor: Actor,
        item_id: str,
        into_item_id: str,
        note: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> Item:
        """Merge a submitted item into another item; its authors are credited with the target."""
        check_ids(item_id=item_id, into_item_id=into_item_id)
        work = functools.partial(
            _merge, actor=actor, item_id=item_id, into_item_id=into_item_id, note=note
        )
        key = once(actor, idempotency_key, "merge", item_id, into_item_id, note)
        return self._on_items(actor, work, key)

    def approve(
        self,
        actor: Actor,
        item_id: str,
        *,
        destinations: Iterable[Destination | str] | None = None,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Item:
        """The deputy approves (may amend destinations, which recomputes the tier)."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, review.approve, destinations, note)

    def send_back(
        self, actor: Actor, item_id: str, reason: str, *, idempotency_key: str | None = None
    ) -> Item:
        """The deputy sends back to 初审, or the signer back to the deputy, with a reason."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, review.send_back, reason)

    def sign(
        self, actor: Actor, item_id: str, note: str = "", *, idempotency_key: str | None = None
    ) -> Item:
        """审核签发 by the signer the destinations require: the item is adopted (录用)."""
        check_ids(item_id=item_id)
        return self._on_item(actor, item_id, idempotency_key, review.sign, note)
