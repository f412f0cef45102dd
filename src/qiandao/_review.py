"""Collection and review commands (第四、五、七、九条): draft to signature."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from qiandao._core import Actor, Decision, _Core
from qiandao.converter import structure, unstructure
from qiandao.errors import IdempotencyConflict, InvalidInput, NotFound
from qiandao.events import Change, EventKind
from qiandao.model import (
    AccountStatus,
    Channel,
    FocusCategory,
    Item,
    ReviewDecision,
    ReviewRecord,
    ReviewStage,
    TextVersion,
)
from qiandao.ports.store import IdempotencyRecord, UnitOfWork
from qiandao.rules.lifecycle import ItemCommand, ItemState
from qiandao.rules.roles import SUBMITTER_ROLES
from qiandao.rules.text import clean_text, require_reason
from qiandao.rules.tiers import Destination, check_not_author, check_signer, required_signer

__all__ = ["DraftInput", "ReviewCommands"]

SECRET_STUB = "【涉密信息：正文不在本系统录入，请按保密规定线下报送】"


@attrs.frozen
class DraftInput:
    """What an author submits (第四、五条); a host may pass the same as a JSON object."""

    title: str
    body: str
    category: FocusCategory
    channel: Channel = Channel.MEMBER
    sector: str = ""
    urgent: bool = False
    secret: bool = False
    coauthor_ids: tuple[str, ...] = ()
    publish: bool = True
    commission_id: str | None = None


_STAGE_OF = {
    ItemState.SUBMITTED: ReviewStage.PRELIMINARY,
    ItemState.IN_REVIEW: ReviewStage.DEPUTY,
    ItemState.AWAITING_SIGNOFF: ReviewStage.SIGNOFF,
}


def _destinations(value: Iterable[Destination | str]) -> frozenset[Destination]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("报送去向须为列表", field="destinations", article="第九条")
    chosen = frozenset(Destination.parse(v) for v in value)
    if not chosen:
        raise InvalidInput(
            "至少须确定一个报送去向（第九条）", field="destinations", article="第九条"
        )
    return chosen


def _fingerprint(data: DraftInput) -> str:
    raw = json.dumps(unstructure(data), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


class ReviewCommands(_Core):
    """Draft, submit, 初审, deputy review and sign-off."""

    # --- intake ---------------------------------------------------------------------------

    def _draft_input(self, data: DraftInput | Mapping[str, Any]) -> DraftInput:
        if isinstance(data, DraftInput):
            data = attrs.asdict(data, recurse=False)  # an object built in code gets the same checks
        return structure(data, DraftInput, what="信息内容")

    def _new_item(self, uow: UnitOfWork, actor: Actor, data: DraftInput, now: datetime) -> Item:
        if actor.role not in SUBMITTER_ROLES:
            raise InvalidInput(
                "只有委员、特邀信息员、联系点和集体报送单位可以报送信息", field="role"
            )
        intake = self.rules_for(actor.jurisdiction).intake
        title = clean_text(data.title, "标题", max_chars=intake.max_title_chars)
        body = clean_text(data.body, "正文", max_chars=intake.max_body_chars)
        sector = clean_text(data.sector, "界别", max_chars=100, required=False)
        withheld = data.secret and intake.refuse_secret_bodies
        if withheld:
            body = SECRET_STUB
        coauthors = tuple(dict.fromkeys(c for c in data.coauthor_ids if c != actor.account_id))
        if len(coauthors) > intake.max_coauthors:
            raise InvalidInput(f"联名人数不得超过{intake.max_coauthors}人", field="coauthor_ids")
        for coauthor in coauthors:
            self._check_coauthor(uow, actor, coauthor)
        if data.commission_id is not None:
            commission = uow.commissions.get(data.commission_id)
            if commission.jurisdiction != actor.jurisdiction:
                raise NotFound(f"约稿不存在：{data.commission_id}", id=data.commission_id)
        return Item(
            id=self.new_id(),
            version=0,
            jurisdiction=actor.jurisdiction,
            state=ItemState.DRAFT,
            lead_author_id=actor.account_id,
            texts=(TextVersion(1, title, body, actor.account_id, now),),
            category=data.category,
            channel=data.channel,
            created_at=now,
            sector=sector,
            coauthor_ids=coauthors,
            urgent=data.urgent,
            secret=data.secret,
            body_withheld=withheld,
            opted_out=frozenset() if data.publish else frozenset({actor.account_id}),
            commission_id=data.commission_id,
        )

    @staticmethod
    def _check_coauthor(uow: UnitOfWork, actor: Actor, coauthor: object) -> None:
        """联名: co-authors are active submitters of the author's jurisdiction (not reviewers)."""
        if not isinstance(coauthor, str):
            raise InvalidInput("联名人须为账号编号", field="coauthor_ids")
        account = uow.accounts.get(coauthor)
        if (
            account.role not in SUBMITTER_ROLES
            or account.jurisdiction != actor.jurisdiction
            or account.status is not AccountStatus.ACTIVE
        ):
            raise InvalidInput(
                f"{account.real_name}不能作为联名人（须为本级政协在职的委员、信息员或报送单位）",
                field="coauthor_ids",
                article="第五条",
            )

    def draft(self, actor: Actor, data: DraftInput | Mapping[str, Any]) -> Item:
        """Save a draft (草稿); only its author sees it until it is submitted."""
        draft = self._draft_input(data)

        def work(uow: UnitOfWork, now: datetime) -> Item:
            item = self._new_item(uow, actor, draft, now)
            decision: Decision = [(EventKind.DRAFTED, Change(item=item))]
            return self._stage(uow, None, decision, actor, now, item_id=item.id)

        return self._transact(work)

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
        draft = self._draft_input(data)
        key = None
        if idempotency_key is not None:
            key = f"{actor.account_id}:{clean_text(idempotency_key, '幂等键', max_chars=200)}"

        def work(uow: UnitOfWork, now: datetime) -> Item:
            if key is not None:
                known = uow.idempotency.get(key)
                if known is not None:
                    if known.fingerprint != _fingerprint(draft):
                        raise IdempotencyConflict(key=idempotency_key)
                    return uow.items.get(known.item_id)
            item = self._new_item(uow, actor, draft, now)
            submitted = Change(state=ItemState.SUBMITTED, fields={"submitted_at": now})
            decision: Decision = [
                (EventKind.DRAFTED, Change(item=item)),
                (EventKind.SUBMITTED, submitted),
            ]
            saved = self._stage(uow, None, decision, actor, now, item_id=item.id)
            if key is not None:
                uow.idempotency.add(IdempotencyRecord(key, _fingerprint(draft), saved.id))
            return saved

        return self._transact(work, any_conflict=key is not None)

    def edit_draft(
        self, actor: Actor, item_id: str, *, title: str | None = None, body: str | None = None
    ) -> Item:
        """The author edits a draft or a returned item: a new text version."""

        def decide(item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.EDIT_DRAFT)
            text = self._text(item, actor, now, title, body)
            return [(EventKind.DRAFT_EDITED, Change(state=state, text=text))]

        return self._run(actor, item_id, decide)

    def _text(
        self, item: Item, actor: Actor, now: datetime, title: str | None, body: str | None
    ) -> TextVersion | None:
        if title is None and body is None:
            return None
        intake = self.rules_for(item.jurisdiction).intake
        new_title = (
            item.title
            if title is None
            else clean_text(title, "标题", max_chars=intake.max_title_chars)
        )
        new_body = (
            item.body if body is None else clean_text(body, "正文", max_chars=intake.max_body_chars)
        )
        if item.body_withheld:
            new_body = SECRET_STUB
        if (new_title, new_body) == (item.title, item.body):
            return None
        return TextVersion(len(item.texts) + 1, new_title, new_body, actor.account_id, now)

    def submit(self, actor: Actor, item_id: str) -> Item:
        """The author submits a draft for 初审."""

        def decide(item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.SUBMIT)
            return [(EventKind.SUBMITTED, Change(state=state, fields={"submitted_at": now}))]

        return self._run(actor, item_id, decide)

    def resubmit(
        self, actor: Actor, item_id: str, *, title: str | None = None, body: str | None = None
    ) -> Item:
        """The author resubmits a returned item, optionally revised."""

        def decide(item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.RESUBMIT)
            text = self._text(item, actor, now, title, body)
            return [
                (
                    EventKind.RESUBMITTED,
                    Change(state=state, text=text, fields={"submitted_at": now}),
                )
            ]

        return self._run(actor, item_id, decide)

    def withdraw(self, actor: Actor, item_id: str) -> Item:
        """The author withdraws a draft or a returned item."""

        def decide(item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.WITHDRAW)
            return [(EventKind.WITHDRAWN, Change(state=state))]

        return self._run(actor, item_id, decide)

    # --- review ---------------------------------------------------------------------------

    def _review(
        self,
        actor: Actor,
        item: Item,
        command: ItemCommand,
        decision: ReviewDecision,
        now: datetime,
        note: str,
    ) -> tuple[ItemState, ReviewRecord]:
        stage = _STAGE_OF.get(item.state, ReviewStage.PRELIMINARY)
        state = self._item_step(actor, item, command)
        check_not_author(actor.account_id, item.authors)
        if item.state is ItemState.AWAITING_SIGNOFF:  # only the required tier acts (第九条)
            check_signer(actor.role, item.destinations, self.rules_for(item.jurisdiction).tiers)
        return state, ReviewRecord(stage, decision, actor.account_id, actor.role, now, note)

    def _note(self, item: Item, note: str) -> str:
        limit = self.rules_for(item.jurisdiction).intake.max_reason_chars
        return clean_text(note, "意见", max_chars=limit, required=False)

    def _reason(self, item: Item, reason: str | None, article: str) -> str:
        limit = self.rules_for(item.jurisdiction).intake.max_reason_chars
        return require_reason(reason, max_chars=limit, article=article)

    def _reasoned(
        self,
        actor: Actor,
        item_id: str,
        reason: str,
        command: ItemCommand,
        decision: ReviewDecision,
        kind: EventKind,
    ) -> Item:
        """A review step that needs a written reason (return, reject, send back)."""

        def decide(item: Item, now: datetime) -> Decision:
            why = self._reason(item, reason, "第九条")
            state, record = self._review(actor, item, command, decision, now, why)
            return [(kind, Change(state=state, review=record, note=why))]

        return self._run(actor, item_id, decide)

    def pass_preliminary(
        self,
        actor: Actor,
        item_id: str,
        *,
        destinations: Iterable[Destination | str],
        title: str | None = None,
        body: str | None = None,
        note: str = "",
    ) -> Item:
        """初审通过: the editor's edited text (a new version) and destinations go to the deputy."""
        chosen = _destinations(destinations)

        def decide(item: Item, now: datetime) -> Decision:
            state, record = self._review(
                actor,
                item,
                ItemCommand.PASS_PRELIMINARY,
                ReviewDecision.PASSED,
                now,
                self._note(item, note),
            )
            required_signer(chosen, self.rules_for(item.jurisdiction).tiers)
            text = self._text(item, actor, now, title, body)
            change = Change(state=state, review=record, text=text, fields={"destinations": chosen})
            return [(EventKind.PRELIMINARY_PASSED, change)]

        return self._run(actor, item_id, decide)

    def return_for_revision(self, actor: Actor, item_id: str, reason: str) -> Item:
        """退回修改: the editor sends the item back to its author with a reason."""
        return self._reasoned(
            actor,
            item_id,
            reason,
            ItemCommand.RETURN_FOR_REVISION,
            ReviewDecision.RETURNED,
            EventKind.RETURNED,
        )

    def reject(self, actor: Actor, item_id: str, reason: str) -> Item:
        """不予采用, by the editor, the deputy or the signer at their step, with a reason."""
        return self._reasoned(
            actor, item_id, reason, ItemCommand.REJECT, ReviewDecision.REJECTED, EventKind.REJECTED
        )

    def merge(self, actor: Actor, item_id: str, into_item_id: str, note: str = "") -> Item:
        """Merge a submitted item into another item; its authors are credited with the target."""

        def work(uow: UnitOfWork, now: datetime) -> Item:
            source = uow.items.get(item_id)
            target = uow.items.get(into_item_id)
            if source.id == target.id:
                raise InvalidInput("不能合并到自身", field="into_item_id")
            self._check_office(actor, target)
            if target.state in (
                ItemState.DRAFT,
                ItemState.NOT_ADOPTED,
                ItemState.MERGED,
                ItemState.WITHDRAWN,
            ):
                raise InvalidInput(
                    "目标信息须已提交且未终止", field="into_item_id", article="第九条"
                )
            state, record = self._review(
                actor,
                source,
                ItemCommand.MERGE,
                ReviewDecision.MERGED,
                now,
                self._note(source, note),
            )
            merged = self._stage(
                uow,
                source,
                [
                    (
                        EventKind.MERGED,
                        Change(state=state, review=record, fields={"merged_into": target.id}),
                    )
                ],
                actor,
                now,
            )
            credited = target.merged_authors | source.authors | source.merged_authors
            self._stage(
                uow,
                target,
                [
                    (
                        EventKind.MERGE_RECEIVED,
                        Change(
                            fields={
                                "merged_from": (*target.merged_from, source.id),
                                "merged_authors": credited - target.authors,
                            }
                        ),
                    )
                ],
                actor,
                now,
            )
            return merged

        return self._transact(work)

    def approve(
        self,
        actor: Actor,
        item_id: str,
        *,
        destinations: Iterable[Destination | str] | None = None,
        note: str = "",
    ) -> Item:
        """The deputy approves (may amend destinations, which recomputes the tier)."""
        chosen = None if destinations is None else _destinations(destinations)

        def decide(item: Item, now: datetime) -> Decision:
            state, record = self._review(
                actor, item, ItemCommand.APPROVE, ReviewDecision.PASSED, now, self._note(item, note)
            )
            fields: dict[str, Any] = {}
            if chosen is not None:
                required_signer(chosen, self.rules_for(item.jurisdiction).tiers)
                fields["destinations"] = chosen
            return [(EventKind.DEPUTY_APPROVED, Change(state=state, review=record, fields=fields))]

        return self._run(actor, item_id, decide)

    def send_back(self, actor: Actor, item_id: str, reason: str) -> Item:
        """The deputy sends back to 初审, or the signer back to the deputy, with a reason."""
        return self._reasoned(
            actor,
            item_id,
            reason,
            ItemCommand.SEND_BACK,
            ReviewDecision.RETURNED,
            EventKind.SENT_BACK,
        )

    def sign(self, actor: Actor, item_id: str, note: str = "") -> Item:
        """审核签发 by the signer the destinations require: the item is adopted (录用)."""

        def decide(item: Item, now: datetime) -> Decision:
            state, record = self._review(
                actor, item, ItemCommand.SIGN, ReviewDecision.PASSED, now, self._note(item, note)
            )  # _review checks the signer's tier
            return [
                (EventKind.SIGNED, Change(state=state, review=record, fields={"issued_at": now}))
            ]

        return self._run(actor, item_id, decide)
