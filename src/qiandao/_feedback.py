"""Feedback, publication and reporting commands (第十一、十四条), and commissions (约稿, 第七条)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

import attrs

from qiandao._core import Actor
from qiandao._legacy import _LegacyCore
from qiandao.errors import (
    InvalidInput,
    InvalidTransition,
    JurisdictionDenied,
    NotFound,
    PermissionDenied,
    SecrecyRefused,
)
from qiandao.events import Change, EventKind, ItemPatch
from qiandao.model import (
    AccountStatus,
    Commission,
    Feedback,
    FeedbackKind,
    Item,
    TextVersion,
)
from qiandao.ports.notify import Notice
from qiandao.ports.store import ItemQuery, OutboxMessage, UnitOfWork
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import ItemCommand, ItemState
from qiandao.rules.points import AdoptionLevel, LeaderRank
from qiandao.rules.roles import OFFICE_ROLES, SUBMITTER_ROLES, Role
from qiandao.rules.ruleset import parent_jurisdiction
from qiandao.rules.text import clean_text, require_reason
from qiandao.workflow.context import Decision

__all__ = ["CommissionProgress", "FeedbackCommands", "InviteeProgress"]

_NOT_SUBMITTED = frozenset({ItemState.DRAFT, ItemState.WITHDRAWN})


@attrs.frozen
class InviteeProgress:
    """How far one invitee of a commission has got."""

    invitee_id: str
    submitted: int
    adopted: int


@attrs.frozen
class CommissionProgress:
    """A commission's progress: per invitee, totals, and whether it is overdue.

    ``overdue`` means the due date has passed while some invitee has submitted nothing
    (those are ``outstanding``). Totals include items by people who were not invited.
    """

    commission: Commission
    invitees: tuple[InviteeProgress, ...]
    submitted: int
    adopted: int
    outstanding: tuple[str, ...]
    overdue: bool


def _day(value: object, field: str, today: date) -> date:
    """A calendar day (not a datetime) that is not in the future."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("须为日期（不含时刻）", field=field)
    if value > today:
        raise InvalidInput(f"日期不能晚于今天（{today.isoformat()}）", field=field)
    return value


class FeedbackCommands(_LegacyCore):
    """Feedback, publication, secrecy, reporting up (第十一、十四条) and commissions (第七条)."""

    # --- closing and feedback -------------------------------------------------------------

    def close(self, actor: Actor, item_id: str) -> Item:
        """办结: the editor closes an issued or replied item; ratings can no longer change."""

        def decide(item: Item, now: datetime) -> Decision:
            state = self._item_step(actor, item, ItemCommand.CLOSE)
            return [(EventKind.CLOSED, Change(state=state, fields=ItemPatch(closed_at=now)))]

        return self._run(actor, item_id, decide)

    def _record_feedback(
        self,
        actor: Actor,
        item_id: str,
        make: Callable[[Item, datetime], Feedback],
    ) -> Item:
        """Append one dated, attributed feedback record to an adopted item (第十一条)."""

        def decide(item: Item, now: datetime) -> Decision:
            self._item_step(actor, item, ItemCommand.RECORD_FEEDBACK)
            feedback = make(item, now)
            note = feedback.kind.label
            return [(EventKind.FEEDBACK_RECORDED, Change(feedback=feedback, note=note))]

        return self._run(actor, item_id, decide)

    def _feedback_text(self, item: Item, value: object, field: str, *, required: bool) -> str:
        limit = self.rules_for(item.jurisdiction).intake.max_body_chars
        return clean_text(value, field, max_chars=limit, required=required)

    def record_adoption(
        self,
        actor: Actor,
        item_id: str,
        level: AdoptionLevel | str,
        on: date,
        note: str = "",
    ) -> Item:
        """采用情况: a higher body adopted the item; one record per level (it earns points)."""
        chosen = AdoptionLevel.parse(level)

        def make(item: Item, now: datetime) -> Feedback:
            day = _day(on, "on", local_day(now))
            if any(f.kind is FeedbackKind.ADOPTION and f.level is chosen for f in item.feedback):
                raise InvalidInput(f"已登记过{chosen.label}采用情况", field="level")
            text = self._feedback_text(item, note, "说明", required=False)
            return Feedback(
                FeedbackKind.ADOPTION, day, actor.account_id, now, text=text, level=chosen
            )

        return self._record_feedback(actor, item_id, make)

    def record_instruction(
        self,
        actor: Actor,
        item_id: str,
        leader: str,
        rank: LeaderRank | str,
        on: date,
        text: str,
    ) -> Item:
        """领导批示: who (name and rank), when, and what the leader wrote."""
        chosen = LeaderRank.parse(rank)

        def make(item: Item, now: datetime) -> Feedback:
            day = _day(on, "on", local_day(now))
            name = clean_text(leader, "批示领导", max_chars=100)
            body = self._feedback_text(item, text, "批示内容", required=True)
            return Feedback(
                FeedbackKind.INSTRUCTION,
                day,
                actor.account_id,
                now,
                text=body,
                leader=name,
                rank=chosen,
            )

        return self._record_feedback(actor, item_id, make)

    def record_implementation(self, actor: Actor, item_id: str, on: date, text: str) -> Item:
        """落实情况: how the item's suggestions were carried out."""

        def make(item: Item, now: datetime) -> Feedback:
            day = _day(on, "on", local_day(now))
            body = self._feedback_text(item, text, "落实情况", required=True)
            return Feedback(FeedbackKind.IMPLEMENTATION, day, actor.account_id, now, text=body)

        return self._record_feedback(actor, item_id, make)

    # --- publication and secrecy ----------------------------------------------------------

    def set_publication_consent(self, actor: Actor, item_id: str, publish: bool) -> Item:
        """An author allows or refuses publication; publication is re-derived (第十四条).

        Setting the choice already in force records nothing.
        """
        if type(publish) is not bool:
            raise InvalidInput("是否公开须为布尔值", field="publish")

        def decide(item: Item, now: datetime) -> Decision:
            self._item_step(actor, item, ItemCommand.SET_PUBLICATION_CONSENT)
            me = frozenset({actor.account_id})
            opted_out = item.opted_out - me if publish else item.opted_out | me
            if opted_out == item.opted_out:
                return []
            note = "同意公开" if publish else "不同意公开"
            change = Change(fields=ItemPatch(opted_out=opted_out), note=note)
            return [(EventKind.PUBLICATION_CONSENT_SET, change)]

        return self._run(actor, item_id, decide)

    def reclassify(self, actor: Actor, item_id: str, secret: bool, reason: str) -> Item:
        """调整密级: the editor marks an item 涉密 or lifts the label, with a reason.

        Publication follows at once (涉密 items are never published). The label already in
        force records nothing.
        """
        if type(secret) is not bool:
            raise InvalidInput("是否涉密须为布尔值", field="secret")

        def decide(item: Item, now: datetime) -> Decision:
            self._item_step(actor, item, ItemCommand.RECLASSIFY)
            limit = self.rules_for(item.jurisdiction).intake.max_reason_chars
            why = require_reason(reason, max_chars=limit, article="第十四条")
            if secret == item.secret:
                return []
            if secret and self.rules_for(item.jurisdiction).intake.refuse_secret_bodies:
                # this deployment may not hold 涉密 bodies (保密法): handle offline, do not relabel
                raise SecrecyRefused(
                    "本系统不保存涉密正文：请将该信息作不予采用处理并转线下办理，"
                    "并由系统管理员清除正文",
                    item=item.id,
                )
            return [(EventKind.RECLASSIFIED, Change(fields=ItemPatch(secret=secret), note=why))]

        return self._run(actor, item_id, decide)

    # --- reporting up (第十五、二十条) ----------------------------------------------------

    def _known_jurisdictions(self) -> frozenset[str]:
        return frozenset({*self._rules, self._default_rules.jurisdiction})

    def report_up(self, actor: Actor, item_id: str, to_jurisdiction: str = "zhoushan") -> Item:
        """A county editor reports an adopted item up to the city: a new linked item there.

        The new item enters the city's 初审 (SUBMITTED) with the same authors and the county's
        issued text; the county item records ``reported_as``. Returns the new item.
        """

        def work(uow: UnitOfWork, now: datetime) -> Item:
            source = uow.items.get(item_id)
            state = self._item_step(actor, source, ItemCommand.REPORT_UP)
            target = clean_text(to_jurisdiction, "报送对象", max_chars=100)
            if target == source.jurisdiction:
                raise InvalidInput("不能报送本级政协", field="to_jurisdiction", article="第二十条")
            if target not in self._known_jurisdictions():
                raise InvalidInput(f"未知的政协：{target}", field="to_jurisdiction")
            if parent_jurisdiction(source.jurisdiction) != target:
                raise InvalidInput(
                    "只能报送上一级政协（县（区）报市）",
                    field="to_jurisdiction",
                    article="第二十条",
                )
            if source.reported_as is not None:
                raise InvalidTransition(
                    "该信息已报送上级政协", article="第二十条", reported_as=source.reported_as
                )
            new_id = self.new_id()
            reported = attrs.evolve(
                source,
                id=new_id,
                version=0,
                jurisdiction=target,
                state=ItemState.DRAFT,
                texts=(TextVersion(1, source.title, source.body, actor.account_id, now),),
                destinations=frozenset(),
                reviews=(),
                assignments=(),
                feedback=(),
                submitted_at=None,
                issued_at=None,
                closed_at=None,
                created_at=now,
                commission_id=None,
                merged_into=None,
                merged_from=(),
                reported_from=source.id,
                reported_as=None,
                rehandles=0,
            )
            created = self._stage(
                uow,
                None,
                [
                    (EventKind.DRAFTED, Change(item=reported)),
                    (
                        EventKind.SUBMITTED,
                        Change(state=ItemState.SUBMITTED, fields=ItemPatch(submitted_at=now)),
                    ),
                ],
                actor,
                now,
                item_id=new_id,
            )
            self._stage(
                uow,
                source,
                [
                    (
                        EventKind.REPORTED_UP,
                        Change(state=state, fields=ItemPatch(reported_as=new_id), note=target),
                    )
                ],
                actor,
                now,
            )
            return created

        return self._legacy_transact(work)

    # --- commissions (约稿, 第七条) ------------------------------------------------------

    def create_commission(
        self, actor: Actor, topic: str, invitee_ids: Sequence[str], due: date
    ) -> Commission:
        """约稿: the editor asks members, officers or organisations to research a topic."""
        if actor.role is not Role.EDITOR:
            raise PermissionDenied("只有信息工作人员可以约稿", article="第七条")
        if isinstance(invitee_ids, str) or not isinstance(invitee_ids, Sequence):
            raise InvalidInput("约稿对象须为列表", field="invitee_ids")
        invitees = tuple(dict.fromkeys(invitee_ids))
        if not invitees:
            raise InvalidInput("至少须有一个约稿对象", field="invitee_ids", article="第七条")
        if isinstance(due, datetime) or not isinstance(due, date):
            raise InvalidInput("截止日期须为日期（不含时刻）", field="due")
        rules = self.rules_for(actor.jurisdiction)
        subject = clean_text(topic, "约稿主题", max_chars=rules.intake.max_title_chars)
        now = self.now()
        if due < local_day(now):
            raise InvalidInput("截止日期不能早于今天", field="due")

        def work(uow: UnitOfWork, _: datetime) -> Commission:
            for invitee in invitees:
                if not isinstance(invitee, str):
                    raise InvalidInput("约稿对象须为账号编号", field="invitee_ids")
                account = uow.accounts.get(invitee)
                if account.jurisdiction != actor.jurisdiction:
                    raise NotFound(f"账号不存在：{invitee}", id=invitee)
                if account.role not in SUBMITTER_ROLES or account.status is AccountStatus.DELETED:
                    raise InvalidInput(f"{account.real_name}不能作为约稿对象", field="invitee_ids")
            commission = Commission(
                id=self.new_id(),
                version=1,
                jurisdiction=actor.jurisdiction,
                topic=subject,
                invitee_ids=invitees,
                due=due,
                created_by=actor.account_id,
                created_at=now,
            )
            uow.commissions.add(commission)
            notice = Notice(
                id=self.new_id(),
                kind="commission_created",
                recipients=invitees,
                text=f"约稿：{subject}（请于{due.isoformat()}前报送）",
                at=now,
            )
            uow.outbox.add([OutboxMessage(notice, now)])
            return commission

        return self._legacy_transact(work)

    def commission_progress(self, actor: Actor, commission_id: str) -> CommissionProgress:
        """Who was invited, what each has submitted and had adopted, and whether it is overdue."""
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有市政协办公室人员可以查看约稿进度", article="第七条")
        today = local_day(self.now())
        with self.store.unit_of_work() as uow:
            commission = uow.commissions.get(commission_id)
            if commission.jurisdiction != actor.jurisdiction:
                raise JurisdictionDenied(commission=commission_id)
            query = ItemQuery(jurisdiction=commission.jurisdiction, commission_id=commission.id)
            items = [i for i in uow.items.find(query) if i.state not in _NOT_SUBMITTED]
        per_invitee = tuple(
            InviteeProgress(
                invitee,
                submitted=sum(1 for i in items if invitee in i.authors),
                adopted=sum(1 for i in items if invitee in i.authors and i.adopted),
            )
            for invitee in commission.invitee_ids
        )
        outstanding = tuple(p.invitee_id for p in per_invitee if p.submitted == 0)
        return CommissionProgress(
            commission=commission,
            invitees=per_invitee,
            submitted=len(items),
            adopted=sum(1 for i in items if i.adopted),
            outstanding=outstanding,
            overdue=today > commission.due and bool(outstanding),
        )
