"""Which events notify whom, and what the notice says (Chinese).

Recipients are account ids, ``unit:<id>`` for a handling unit, or ``role:<role>@<jurisdiction>``
for everyone holding a role in a jurisdiction; the notifier resolves the groups
(:class:`qiandao.recipients.RecipientResolver` turns them into the active people behind them).

A notice about a 涉密 item (``Item.secret``) says only :data:`SECRET_TEXT`: no title, body, note
or reason ever goes into the outbox, a gateway or a log. Its reference is ``Notice.item_id``, the
item's generated id, which carries nothing of the content; the recipient opens it by signing in
(``item_detail`` applies the 涉密 access rule). ``Notice.kind`` still says what happened.
"""

from __future__ import annotations

import functools

from qiandao.events import Event, EventKind
from qiandao.model import Feedback, FeedbackKind, Item, ReviewStage
from qiandao.ports.notify import Notice
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.rating import raters
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.tiers import required_signer

__all__ = ["SECRET_TEXT", "notices_for", "role_group", "unit_group"]

SECRET_TEXT = "您有一条涉密信息待处理"
"""The whole text of a notice about a 涉密 item (第十四条、第十九条)."""

_K = EventKind


@functools.lru_cache(maxsize=1024)
def role_group(role: Role, jurisdiction: str) -> str:
    """The recipient name of everyone with ``role`` in ``jurisdiction`` (one string for all the
    notices that name it: a store that keeps them in memory keeps it once)."""
    return f"role:{role.value}@{jurisdiction}"


@functools.lru_cache(maxsize=4096)
def unit_group(unit_id: str) -> str:
    """The recipient name of a handling unit's accounts (one string per unit, as above)."""
    return f"unit:{unit_id}"


@functools.lru_cache(maxsize=1024)
def _to_role(role: Role, jurisdiction: str) -> tuple[str]:
    """A notice's recipients when they are one role's group (one tuple for all such notices)."""
    return (role_group(role, jurisdiction),)


@functools.lru_cache(maxsize=4096)
def _to_unit(unit_id: str) -> tuple[str]:
    return (unit_group(unit_id),)


def _unit_of(event: Event) -> tuple[str, ...]:
    change = event.change
    return _to_unit(change.assignment.unit_id) if change.assignment is not None else ()


_SILENT = frozenset(
    {
        _K.DRAFTED,
        _K.DRAFT_EDITED,
        _K.WITHDRAWN,
        _K.MERGE_RECEIVED,
        _K.ACCEPTED,
        _K.ALL_REPLIED,
        _K.RATING_CLOSED,
        _K.PUBLICATION_CONSENT_SET,
        _K.RECLASSIFIED,
        _K.REPORTED_UP,
    }
)
"""Events that notify nobody (checked first: most of a command's cost is elsewhere)."""

_TO_AUTHORS = frozenset({_K.RETURNED, _K.REJECTED, _K.MERGED, _K.SIGNED, _K.CLOSED})
_TO_EDITORS = frozenset({_K.DECLINED, _K.EXTENSION_REQUESTED, _K.RATED})
_TO_UNIT = frozenset(
    {
        _K.EXTENSION_APPROVED,
        _K.EXTENSION_REFUSED,
        _K.OVERRULED,
        _K.REHANDLE_ORDERED,
        _K.ASSIGNMENT_CANCELLED,
        _K.REASSIGNED,
        _K.DEADLINE_RECOMPUTED,
        _K.UNIT_MERGED,  # the surviving unit learns of the work it took over
    }
)


def _feedback_text(title: str, feedback: Feedback | None) -> str:
    """What a feedback notice says was recorded (第十一条)."""
    if feedback is None:  # pragma: no cover - FEEDBACK_RECORDED always carries its record
        return f"您的信息“{title}”有新的反馈"
    if feedback.kind is FeedbackKind.ADOPTION and feedback.level is not None:
        return f"您的信息“{title}”被{feedback.level.label}采用"
    if feedback.kind is FeedbackKind.INSTRUCTION and feedback.rank is not None:
        return f"您的信息“{title}”获{feedback.rank.label}批示"
    return f"您的信息“{title}”有新的{feedback.kind.label}"


def _window_text(title: str, event: Event) -> str:
    """What a recomputed rating window notice says: the window's new last day."""
    a = event.change.assignment
    if a is None or a.rating_closes is None:  # pragma: no cover - the event carries its window
        return f"您的信息“{title}”的评价期限已调整"
    last = a.rating_closes
    return f"您的信息“{title}”的评价期限调整为{last.year}年{last.month}月{last.day}日"


_STAGE_ROLES = {ReviewStage.PRELIMINARY: Role.EDITOR, ReviewStage.DEPUTY: Role.DEPUTY}


def _review_recipient(item: Item, rules: RuleSet) -> str:
    """Who answers for a late review stage: the editors (初审), the deputies (审核), or the
    signers of the item's tier (签发)."""
    stage = item.review_overruns[-1].stage
    role = _STAGE_ROLES.get(stage) or required_signer(item.destinations, rules.tiers)
    return role_group(role, item.jurisdiction)


def notices_for(event: Event, item: Item, rules: RuleSet) -> list[Notice]:
    """The notices an event causes (at most one, carrying the event id for de-duplication)."""
    if event.kind in _SILENT:
        return []
    j = item.jurisdiction
    kind = event.kind
    title = f"【急】{item.title}" if item.urgent else item.title
    recipients: tuple[str, ...]
    if kind in (_K.SUBMITTED, _K.RESUBMITTED) or (
        kind is _K.SENT_BACK and event.change.state is ItemState.SUBMITTED
    ):
        recipients, text = _to_role(Role.EDITOR, j), f"新信息待初审：{title}"
    elif kind is _K.PRELIMINARY_PASSED or (
        kind is _K.SENT_BACK and event.change.state is ItemState.IN_REVIEW
    ):
        recipients, text = _to_role(Role.DEPUTY, j), f"信息待审核：{title}"
    elif kind is _K.DEPUTY_APPROVED:
        signer = required_signer(item.destinations, rules.tiers)
        recipients, text = _to_role(signer, j), f"信息待签发：{title}"
    elif kind in _TO_AUTHORS:
        recipients, text = tuple(sorted(item.authors)), f"您的信息“{item.title}”：{kind.label}"
    elif kind is _K.RATING_WINDOW_RECOMPUTED:  # only those who may rate are told
        recipients = raters(item.lead_author_id, item.coauthor_ids, rules.rating)
        text = _window_text(item.title, event)
    elif kind is _K.FEEDBACK_RECORDED:  # every author who may read it, merged ones included
        recipients = tuple(sorted(item.access_facts().author_ids))
        text = _feedback_text(item.title, event.change.feedback)
    elif kind is _K.ASSIGNED:
        recipients, text = _unit_of(event), f"请签收交办信息：{title}"
    elif kind in _TO_EDITORS:
        recipients, text = _to_role(Role.EDITOR, j), f"{kind.label}：{title}"
    elif kind in _TO_UNIT:
        recipients, text = _unit_of(event), f"{kind.label}：{title}"
    elif kind is _K.REPLIED:
        recipients = (*sorted(item.authors), role_group(Role.EDITOR, j))
        text = f"承办单位已答复，请评价：{title}"
    elif kind is _K.REVIEW_OVERDUE:
        recipients, text = (
            (_review_recipient(item, rules),),
            f"审核超时提醒（{event.change.note}）：{title}",
        )
    elif kind is _K.REMINDER_SENT:
        recipients = (*_unit_of(event), role_group(Role.EDITOR, j))
        text = f"办理提醒（{event.change.note}）：{title}"
    else:
        return []
    if not recipients:
        return []
    return [
        Notice(
            id=event.id,
            kind=event.kind.value,
            recipients=recipients,
            text=SECRET_TEXT if item.secret else text,
            at=event.at,
            item_id=item.id,
        )
    ]
