"""Recording the audit: the call being audited, the wrapper every public method runs in.

Each public method of :class:`~qiandao.Qiandao` (but a few helpers, :data:`UNRECORDED`) runs
inside :func:`audited`: it notes the action (the method's name), the claimed actor and the ids
the call names. The one command runner appends the success record in the command's own
transaction; a refusal (any error) is recorded in a short transaction of its own; reads of
non-public items, exports and audit queries record themselves. A public method called by
another before that one's record is written belongs to the outer call (``inbox`` lists through
``lane``); one called after it (a notifier's command during dispatch) is a call of its own.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import attrs

from qiandao.actor import Actor
from qiandao.audit import AuditEntry, AuditOutcome, current_request
from qiandao.rules.text import is_id

__all__ = ["ID_NAMES", "UNRECORDED", "Call", "audit_methods", "current_call", "entry_for"]

F = TypeVar("F", bound=Callable[..., Any])

UNRECORDED = frozenset({"authenticate", "dispatch", "now", "rules_for", "password_policy"})
"""Public methods that leave no record: per-request session checks (``authenticate``, a
refusal of which the host sees on every expired page), the outbox worker's polls, the clock,
the rules and the public password policy."""

ID_NAMES = (
    "item_id",
    "into_item_id",
    "assignment_id",
    "account_id",
    "unit_id",
    "into_unit_id",
    "commission_id",
    "proposal_id",
)


@attrs.define
class Call:
    """One audited call: its action, claimed actor, the ids it names and what it learnt.

    ``subject`` / ``subject_jurisdiction``: the person a call without an actor is about (the
    account a sign-in's number belongs to). ``recorded`` once its record is committed.
    """

    action: str
    actor: Actor | None
    targets: list[str]
    subject: str | None = None
    subject_jurisdiction: str | None = None
    recorded: bool = False


_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar("qiandao_call", default=None)


def current_call() -> Call | None:
    """The audited call in progress in this context, if any."""
    return _CALL.get()


def entry_for(
    call: Call,
    at: datetime,
    outcome: AuditOutcome,
    *,
    code: str | None = None,
    events: tuple[str, ...] = (),
    secret: bool = False,
    produced: tuple[str, ...] = (),
    touched: tuple[str, ...] = (),
) -> AuditEntry:
    """The audit entry of ``call``: the actor's grant, or the subject for a call without one.

    Targets: the ids the call named, then what it produced and the items and accounts its
    transaction changed (each once, in that order)."""
    targets = tuple(dict.fromkeys((*call.targets, *produced, *touched)))
    actor = call.actor
    if actor is not None:
        who: dict[str, Any] = {
            "account_id": actor.account_id,
            "role": actor.role.value,
            "jurisdiction": actor.jurisdiction,
            "unit_id": actor.unit_id,
        }
    else:
        who = {"account_id": call.subject, "jurisdiction": call.subject_jurisdiction}
    return AuditEntry(
        at=at,
        action=call.action,
        outcome=outcome,
        targets=targets,
        events=events,
        code=code,
        secret=secret,
        context=current_request(),
        **who,
    )


def _printable_id(value: object) -> str | None:
    """An id worth recording: text of 1 to 64 characters (anything else was refused anyway)."""
    return value if is_id(value) else None


def audited(name: str, function: F) -> F:
    """``function`` (a public method) run as an audited call named ``name``."""
    parameters = list(inspect.signature(function).parameters)[1:]  # without self
    actor_at = parameters.index("actor") if "actor" in parameters else None
    id_at = [(n, parameters.index(n)) for n in ID_NAMES if n in parameters]

    @functools.wraps(function)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        outer = _CALL.get()
        if outer is not None and not outer.recorded:  # part of the outer call (inbox → lane)
            return function(self, *args, **kwargs)
        actor: object = None
        if actor_at is not None:
            actor = args[actor_at] if len(args) > actor_at else kwargs.get("actor")
        targets = []
        for id_name, position in id_at:
            value = args[position] if len(args) > position else kwargs.get(id_name)
            checked = _printable_id(value)
            if checked is not None:
                targets.append(checked)
        call = Call(name, actor if isinstance(actor, Actor) else None, targets)
        token = _CALL.set(call)
        try:
            return function(self, *args, **kwargs)
        except Exception as error:
            if not call.recorded:
                self._audit_refusal(call, error)
            raise
        finally:
            _CALL.reset(token)

    return wrapper  # type: ignore[return-value]


def audit_methods(cls: type[Any]) -> type[Any]:
    """Wrap every public method of ``cls`` (and its bases) in :func:`audited`, but
    :data:`UNRECORDED`; a class decorator for the service."""
    for name in dir(cls):
        if name.startswith("_") or name in UNRECORDED:
            continue
        member = inspect.getattr_static(cls, name)
        if inspect.isfunction(member):
            setattr(cls, name, audited(name, member))
    return cls
