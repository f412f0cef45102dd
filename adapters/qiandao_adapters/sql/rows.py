"""Row mapping: domain values to the rows of :mod:`qiandao_adapters.sql.schema`, and back.

Every aggregate is stored whole as a JSON document (:func:`dumps`, :func:`loads`, through the
one cattrs converter); the other columns are copies that queries filter and sort on. The credit
rows are :func:`qiandao.statistics.credits_of` of the item, one row per credit, so the store
never decides a credit itself. Public within the package: the benchmarks bulk-load through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Table

from qiandao.accounts import PolicyChange
from qiandao.attention import attention
from qiandao.audit import AuditRecord
from qiandao.converter import CONVERTER
from qiandao.errors import LimitExceeded
from qiandao.events import Event
from qiandao.lanes import (
    Lane,
    assignment_lane,
    destinations_key,
    entered_state_at,
    item_lane,
    priority,
    review_reminded,
)
from qiandao.model import (
    Account,
    AccountEvent,
    Assignment,
    Commission,
    GrantProposal,
    Item,
    Jurisdiction,
    Session,
    Unit,
    UnitEvent,
)
from qiandao.planning import AnnualPlan
from qiandao.ports.store import OutboxMessage
from qiandao.rules.deadlines import local_day
from qiandao.rules.points import AdoptionLevel, Credit, CreditKind, LeaderRank
from qiandao.statistics import CreditKey, credits_of
from qiandao_adapters.sql import schema as s

__all__ = [
    "Row",
    "account_event_row",
    "account_row",
    "assignment_row",
    "audit_record",
    "audit_row",
    "author_rows",
    "check_bounds",
    "commission_row",
    "credit_from_row",
    "credit_key",
    "credit_rows",
    "dumps",
    "event_row",
    "feedback_rows",
    "grant_rows",
    "identity_rows",
    "item_children",
    "item_row",
    "jurisdiction_row",
    "loads",
    "outbox_row",
    "overrun_rows",
    "plan_row",
    "policy_row",
    "proposal_row",
    "session_row",
    "text_rows",
    "unit_event_row",
    "unit_row",
]

T = TypeVar("T")

Row = dict[str, Any]
"""One row: column name to value."""


# --- documents -----------------------------------------------------------------------------


def dumps(value: object) -> str:
    """The JSON document of a domain value (compact, non-ASCII kept)."""
    return json.dumps(CONVERTER.unstructure(value), ensure_ascii=False, separators=(",", ":"))


def loads(doc: str, cls: type[T]) -> T:
    """The domain value of a JSON document written by :func:`dumps`."""
    return CONVERTER.structure(json.loads(doc), cls)


@cache
def _limits(table: Table) -> dict[str, int | None]:
    """Each column of ``table``: its length limit if it is a bounded key column, else ``None``."""
    return {
        column.key: column.type.max_length if isinstance(column.type, s.Key) else None
        for column in table.columns
    }


def check_bounds(table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Refuse a value longer than its bounded column before the database sees it."""
    limits = _limits(table)
    for row in rows:
        for name, value in row.items():
            limit = limits[name]  # a KeyError for a column the table lacks, as before
            if limit is not None and isinstance(value, str) and len(value) > limit:
                raise LimitExceeded(
                    f"{table.name}.{name}超过{limit}个字符的上限",
                    field=f"{table.name}.{name}",
                    limit=limit,
                    length=len(value),
                )


def _code(value: AdoptionLevel | LeaderRank | None) -> str | None:
    return None if value is None else value.value


# --- items ---------------------------------------------------------------------------------


def item_row(item: Item) -> Row:
    """The ``qd_items`` row of ``item``: its document and the columns queries use."""
    return {
        "id": item.id,
        "version": item.version,
        "jurisdiction": item.jurisdiction,
        "state": item.state.value,
        "lead_author_id": item.lead_author_id,
        "urgent": item.urgent,
        "secret": item.secret,
        "published": item.published,
        "created_at": item.created_at,
        "submitted_at": item.submitted_at,
        "issued_at": item.issued_at,
        "commission_id": item.commission_id,
        "submitted_on": None if item.submitted_at is None else local_day(item.submitted_at),
        "category": item.category.value,
        "channel": item.channel.value,
        "sector": item.sector,
        "adopted": item.adopted,
        "lane": _lane_code(item_lane(item)),
        "priority": priority(item.urgent),
        "state_since": entered_state_at(item),
        "destinations_key": destinations_key(item.destinations),
        "review_reminded": review_reminded(item),
        "doc": dumps(item),
    }


def _lane_code(lane: Lane | None) -> str | None:
    return None if lane is None else lane.value


def author_rows(item: Item) -> list[Row]:
    """The ``qd_item_authors`` rows: the lead author and the co-authors."""
    return [{"item_id": item.id, "account_id": person} for person in sorted(item.authors)]


def assignment_row(item: Item, a: Assignment) -> Row:
    """The ``qd_assignments`` row of one assignment of ``item``."""
    replied = bool(a.replies)
    key = attention(a)
    return {
        "item_id": item.id,
        "id": a.id,
        "unit_id": a.unit_id,
        "state": a.state.value,
        "due": a.due,
        "lead": a.lead,
        "jurisdiction": item.jurisdiction,
        "is_open": a.open,
        "assigned_on": local_day(a.assigned_at),
        "last_replied_on": local_day(a.replies[-1].at) if replied else None,
        "reply_workdays": a.reply_workdays if replied else None,
        "rating": a.rating.value,
        "extended": a.approved_extensions > 0,
        "declined": a.decline_reason is not None,
        "rating_pending_until": a.rating_pending_until,
        "reminders_done": a.reminders_done,
        "priority": priority(item.urgent),
        "office_lane": _lane_code(assignment_lane(a, unit=False)),
        "unit_lane": _lane_code(assignment_lane(a, unit=True)),
        "attention": None if key is None else key.kind.value,
        "attention_day": None if key is None else key.day,
    }


def text_rows(item: Item) -> list[Row]:
    """The ``qd_text_versions`` rows: every version of the text, in order."""
    return [
        {
            "item_id": item.id,
            "number": t.number,
            "title": t.title,
            "body": t.body,
            "editor_id": t.editor_id,
            "at": t.at,
        }
        for t in item.texts
    ]


def feedback_rows(item: Item) -> list[Row]:
    """The ``qd_feedback`` rows: every feedback record, numbered from 1."""
    return [
        {
            "item_id": item.id,
            "seq": seq,
            "kind": f.kind.value,
            "level": _code(f.level),
            "rank": _code(f.rank),
            "on_date": f.on,
        }
        for seq, f in enumerate(item.feedback, start=1)
    ]


def credit_rows(item: Item) -> list[Row]:
    """The ``qd_credits`` rows: exactly :func:`~qiandao.statistics.credits_of` of ``item``."""
    return [
        {
            "item_id": credit.item_id,
            "seq": seq,
            "person_id": credit.person_id,
            "kind": credit.kind.value,
            "level": _code(credit.level),
            "rank": _code(credit.rank),
            "on_date": credit.on,
            "jurisdiction": item.jurisdiction,
        }
        for seq, credit in enumerate(credits_of(item), start=1)
    ]


def overrun_rows(item: Item) -> list[Row]:
    """The ``qd_review_overruns`` rows: every review stage that waited past its window."""
    return [
        {
            "item_id": item.id,
            "seq": seq,
            "stage": o.stage.value,
            "on_date": local_day(o.at),
            "jurisdiction": item.jurisdiction,
        }
        for seq, o in enumerate(item.review_overruns, start=1)
    ]


def item_children(item: Item) -> list[tuple[Table, list[Row]]]:
    """The child rows of ``item`` per table (a save rewrites the rows that changed)."""
    return [
        (s.item_authors, author_rows(item)),
        (s.assignments, [assignment_row(item, a) for a in item.assignments]),
        (s.text_versions, text_rows(item)),
        (s.feedback, feedback_rows(item)),
        (s.credits, credit_rows(item)),
        (s.review_overruns, overrun_rows(item)),
    ]


@cache
def credit_key(kind: str, level: str | None, rank: str | None) -> CreditKey:
    """The :class:`~qiandao.statistics.CreditKey` of a credit row's stored codes (memoised)."""
    return CreditKey(
        CreditKind.parse(kind),
        None if level is None else AdoptionLevel.parse(level),
        None if rank is None else LeaderRank.parse(rank),
    )


def credit_from_row(row: Mapping[Any, Any]) -> Credit:
    """The :class:`~qiandao.rules.points.Credit` a ``qd_credits`` row holds."""
    key = credit_key(row["kind"], row["level"], row["rank"])
    on: date = row["on_date"]
    return Credit(row["person_id"], key.kind, on, row["item_id"], level=key.level, rank=key.rank)


# --- the other aggregates ------------------------------------------------------------------


def account_row(account: Account) -> Row:
    """The ``qd_accounts`` row of ``account``."""
    return {
        "id": account.id,
        "version": account.version,
        "phone": account.phone,
        "jurisdiction": account.jurisdiction,
        "status": account.status.value,
        "doc": dumps(account),
    }


def grant_rows(account: Account) -> list[Row]:
    """The ``qd_account_grants`` rows of ``account``, in its order (``seq`` from 1)."""
    return [
        {
            "account_id": account.id,
            "seq": seq,
            "role": g.role.value,
            "jurisdiction": g.jurisdiction,
            "unit_id": g.unit_id,
        }
        for seq, g in enumerate(account.grants, start=1)
    ]


def _log_row(event: AccountEvent | UnitEvent) -> Row:
    """The columns every event log row has: sequence, kind, actor, instant, document."""
    return {
        "sequence": event.sequence,
        "kind": event.kind.value,
        "actor_id": event.actor_id,
        "at": event.at,
        "doc": dumps(event),
    }


def account_event_row(event: AccountEvent) -> Row:
    """The ``qd_account_events`` row of ``event``."""
    return {"account_id": event.account_id, **_log_row(event)}


def identity_rows(account: Account) -> list[Row]:
    """The ``qd_external_identities`` rows of ``account``, in a stable order."""
    return [
        {"provider": e.provider, "subject": e.subject, "account_id": account.id}
        for e in sorted(account.external_ids, key=lambda e: (e.provider, e.subject))
    ]


def proposal_row(proposal: GrantProposal) -> Row:
    """The ``qd_grant_proposals`` row of ``proposal``."""
    return {
        "id": proposal.id,
        "version": proposal.version,
        "account_id": proposal.account_id,
        "jurisdiction": proposal.grant.jurisdiction,
        "state": proposal.state.value,
        "proposed_at": proposal.proposed_at,
        "doc": dumps(proposal),
    }


def policy_row(change: PolicyChange) -> Row:
    """The ``qd_password_policies`` row of ``change``."""
    return {
        "jurisdiction": change.jurisdiction,
        "sequence": change.sequence,
        "actor_id": change.actor_id,
        "at": change.at,
        "doc": dumps(change),
    }


def session_row(session: Session) -> Row:
    """The ``qd_sessions`` row of ``session``."""
    return {
        "token_hash": session.token_hash,
        "account_id": session.account_id,
        "revoked": session.revoked,
        "doc": dumps(session),
        "expires_at": session.expires_at,
    }


def unit_row(unit: Unit) -> Row:
    """The ``qd_units`` row of ``unit``."""
    return {
        "id": unit.id,
        "jurisdiction": unit.jurisdiction,
        "active": unit.active,
        "version": unit.version,
        "doc": dumps(unit),
    }


def unit_event_row(event: UnitEvent) -> Row:
    """The ``qd_unit_events`` row of ``event``."""
    return {"unit_id": event.unit_id, **_log_row(event)}


def jurisdiction_row(jurisdiction: Jurisdiction) -> Row:
    """The ``qd_jurisdictions`` row of ``jurisdiction``."""
    return {
        "code": jurisdiction.code,
        "name": jurisdiction.name,
        "parent": jurisdiction.parent,
        "version": jurisdiction.version,
    }


def commission_row(commission: Commission) -> Row:
    """The ``qd_commissions`` row of ``commission``."""
    return {
        "id": commission.id,
        "version": commission.version,
        "jurisdiction": commission.jurisdiction,
        "doc": dumps(commission),
    }


def plan_row(plan: AnnualPlan) -> Row:
    """The ``qd_plans`` row of ``plan``."""
    return {
        "id": plan.id,
        "version": plan.version,
        "jurisdiction": plan.jurisdiction,
        "year": plan.year,
        "doc": dumps(plan),
    }


def event_row(event: Event) -> Row:
    """The ``qd_events`` row of ``event``."""
    return {
        "id": event.id,
        "item_id": event.item_id,
        "sequence": event.sequence,
        "kind": event.kind.value,
        "actor_id": event.actor_id,
        "at": event.at,
        "doc": dumps(event),
    }


def outbox_row(message: OutboxMessage) -> Row:
    """The ``qd_outbox`` row of ``message`` (its notice is the document)."""
    return {
        "notice_id": message.notice.id,
        "recorded_at": message.recorded_at,
        "dispatched_at": message.dispatched_at,
        "attempts": message.attempts,
        "doc": dumps(message.notice),
        "state": message.state.value,
        "next_attempt_at": message.next_attempt_at,
        "claimed_by": message.claimed_by,
        "lease_until": message.lease_until,
        "last_attempt_at": message.last_attempt_at,
        "last_error": message.last_error,
    }


def audit_row(record: AuditRecord) -> Row:
    """An audit record's row: its document and hash, and the columns the audit query filters."""
    return {
        "shard": record.shard,
        "sequence": record.sequence,
        "at": record.at,
        "action": record.action,
        "account_id": record.account_id,
        "target_id": record.target_id,
        "jurisdiction": record.jurisdiction,
        "outcome": record.outcome,
        "algorithm": record.algorithm,
        "previous": record.previous,
        "hash": record.hash,
        "doc": record.document,
    }


def audit_record(row: Mapping[Any, Any]) -> AuditRecord:
    """The record of a row, columns as stored (verification compares them with the document)."""
    return AuditRecord(
        row["shard"],
        row["sequence"],
        row["algorithm"],
        row["previous"],
        row["doc"],
        row["hash"],
        row["at"],
        row["action"],
        row["account_id"],
        row["target_id"],
        row["jurisdiction"],
        row["outcome"],
    )
