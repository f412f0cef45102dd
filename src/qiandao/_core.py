"""The service core: wiring of ports, the one command runner, the outbox dispatcher.

Every command runs as: load the facts in one unit of work → decide (a pure function of
:mod:`qiandao.workflow`) → evolve → save with a version check, append events, queue notices →
commit → dispatch after commit. :meth:`_Core._transact` is that runner, the one place where
retries happen (and where the actor check and the audit record belong).
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import attrs

from qiandao._audit import ID_NAMES, Call, current_call, entry_for
from qiandao.actor import Actor
from qiandao.audit import MIN_RETENTION_DAYS, AuditChain, AuditEntry, AuditOutcome, shard_of
from qiandao.converter import unstructure
from qiandao.errors import (
    AuditRetention,
    AuditUnavailable,
    ConcurrencyConflict,
    HasherMissing,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    QiandaoError,
)
from qiandao.events import Event, evolve
from qiandao.model import Account, AccountEvent, AccountEventKind, Item, RoleGrant
from qiandao.notices import notices_for
from qiandao.outbox import RetryPolicy
from qiandao.ports.analysis import TextAnalyzer
from qiandao.ports.clock import Clock
from qiandao.ports.notify import Notice, Notifier
from qiandao.ports.security import CredentialDelivery, IdentityProvider, PasswordHasher
from qiandao.ports.store import (
    AuditKeySource,
    IdempotencyRecord,
    OutboxMessage,
    Store,
    UnitOfWork,
)
from qiandao.rules.deadlines import WorkdayCalendar
from qiandao.rules.publication import access
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.text import check_id, clean_text
from qiandao.similarity import SimilarityEntry, band_keys, indexed
from qiandao.topics import TopicEntry, topic_entry, topic_facts
from qiandao.workflow.accounts import AccountChange, check_actor
from qiandao.workflow.context import Context, Decision

__all__ = [
    "DISPATCH_LEASE",
    "Actor",
    "DispatchReport",
    "Once",
    "Tx",
    "check_ids",
    "once",
    "seen_by",
]

_log = logging.getLogger("qiandao")

T = TypeVar("T")
P = ParamSpec("P")
_ATTEMPTS = 3  # tries of a command whose transaction the database aborted (retryable)
KEY_CHARS = 200  # the longest idempotency key a client may send
LOCKED_OUT = "locked_out"
"""The audit's event kind for a temporary lock after failed sign-ins (not an account event)."""
REPLAYED = "replayed"
"""The audit's event kind of a call answered from its idempotency key (nothing done again)."""


class _Identified(Protocol):
    """A command's result that a retry can find again by id (an item, account, commission)."""

    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Identified)
_Entry = TypeVar("_Entry")
_Entry_contra = TypeVar("_Entry_contra", contravariant=True)


class _DerivedIndex(Protocol[_Entry_contra]):
    """An index derived from items' texts at write time (similarity, hot-topic terms)."""

    def put(self, entry: _Entry_contra, /) -> None: ...

    def drop(self, item_id: str, /) -> None: ...


def _text_only(item: Item) -> object:
    """An index entry that holds nothing besides what the text gives."""
    return None


def _similarity_entry(analyzer: TextAnalyzer, item: Item) -> SimilarityEntry:
    """The similarity entry of a submitted item: the signature of its text and its bands."""
    assert item.submitted_at is not None  # only submitted items are indexed
    signature = analyzer.signature(item.title, item.body)
    return SimilarityEntry(
        item.id, item.jurisdiction, item.submitted_at, signature, band_keys(signature)
    )


def _topic_entry(analyzer: TextAnalyzer, item: Item) -> TopicEntry:
    """The term-index entry of a submitted item: the terms of its text."""
    return topic_entry(item, analyzer.terms(item.title, item.body))


@attrs.frozen
class Once:
    """The idempotency key of one command call: scoped key, command name, argument digest."""

    key: str  # "<actor's account id>:<client key>": two people's keys never collide
    client_key: str
    command: str
    fingerprint: str


def settled(value: object) -> object:
    """``value`` with a one-shot iterable (a generator) made a tuple, so it can be digested and
    still be passed on to the decision."""
    if isinstance(value, str | bytes | Mapping | tuple | list | frozenset | set):
        return value
    return tuple(value) if isinstance(value, Iterable) else value


def digest(*parts: object) -> str:
    """A stable SHA-256 of JSON-able parts (attrs values and enums through the converter)."""
    raw = json.dumps(unstructure(list(parts)), sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def once(
    actor: Actor, idempotency_key: object, command: str, *arguments: object, fingerprint: str = ""
) -> Once | None:
    """The checked key of a command call (``None`` without one), checked at the boundary.

    The key is text of 1 to 200 characters without control characters or ``:``
    (``input.invalid`` / ``input.limit_exceeded``, field ``idempotency_key``): it is stored as
    ``"<account id>:<key>"``, which an account id holding ``:`` could otherwise spell the same
    way for two people. The fingerprint digests the command, the acting grant and the
    arguments, unless the caller gives one (``submit_new``).
    """
    if idempotency_key is None:
        return None
    client_key = clean_text(idempotency_key, "idempotency_key", max_chars=KEY_CHARS)
    if ":" in client_key:
        raise InvalidInput("幂等键不得包含冒号", field="idempotency_key")
    return Once(
        f"{actor.account_id}:{client_key}",
        client_key,
        command,
        fingerprint or digest(command, actor, *arguments),
    )


def _run_once(key: Once, work: Callable[[Tx], R], again: Callable[[Tx, str], R], tx: Tx) -> R:
    """Run ``work`` and remember its result under ``key`` in the same transaction; a retry
    with the same key and arguments gets ``again`` (the first result as stored now)."""
    known = tx.uow.idempotency.get(key.key)
    if known is not None:
        if (known.command, known.fingerprint) != (key.command, key.fingerprint):
            raise IdempotencyConflict(key=key.client_key)
        tx.audit_events.append(REPLAYED)  # the audit tells a replay from the first call
        return again(tx, known.result_id)
    result = work(tx)
    tx.uow.idempotency.add(IdempotencyRecord(key.key, key.fingerprint, result.id, key.command))
    return result


def item_again(tx: Tx, item_id: str) -> Item:
    """The item a first call with the key produced, as stored now."""
    return tx.uow.items.get(item_id)


@attrs.frozen
class DispatchReport:
    """What one outbox dispatch did: notices sent, sends failed, and of those, notices now dead
    (no attempt left: they wait in ``outbox list --failed``)."""

    sent: int
    failed: int
    dead: int = 0


DISPATCH_LEASE = timedelta(minutes=5)
"""How long a dispatcher holds the notices it claimed: nothing is sent after it runs out."""


class Required(enum.Enum):
    """The default of a constructor argument the host must give, even if only as ``None``."""

    ARGUMENT = "required"


def _chosen_hasher(hasher: PasswordHasher | Required | None) -> PasswordHasher | None:
    """The host's hasher, refused at construction when the host made no choice: a service
    that handles passwords fails on its first start rather than on its first sign-in."""
    if isinstance(hasher, Required):
        raise HasherMissing(
            "构造 Qiandao 时须选择密码哈希器：如 hasher=Argon2Hasher()"
            "（from qiandao_adapters.argon2_hasher import Argon2Hasher）；"
            "在别处完成登录、不处理密码的宿主请明确传入 hasher=None",
            field="hasher",
        )
    return hasher


def _uuid() -> str:
    return uuid.uuid4().hex


ID_PARAMETERS = frozenset(ID_NAMES)
"""Parameters of a public command or query that name a stored record by id."""


def unit_of(actor: Actor) -> str:
    """The unit a handling-unit actor acts for; without one, a unit query would have no scope
    (every unit's assignments), so it is refused as ``input.invalid`` (field ``unit_id``)."""
    if actor.unit_id is None:
        raise InvalidInput("承办单位账号缺少单位", field="unit_id")
    return actor.unit_id


def check_ids(**ids: object) -> None:
    """The boundary check every public method runs first on the ids it takes.

    Each named id (:data:`ID_PARAMETERS`) must be a ``str`` of 1 to ``ID_LENGTH`` printable
    characters (``qiandao.rules.text.check_id``), else ``input.invalid`` naming the parameter,
    before any store is touched; ``None`` passes only where the method makes the id optional
    (the caller leaves it out then). Ids inside a value (units, invitees, co-authors) are
    checked by its decision.
    """
    for name, value in ids.items():
        check_id(value, name)


def seen_by(actor: Actor, item: Item) -> Item:
    """What a command returns of ``item``: the projection the same actor's ``item_detail``
    shows (``Item.as_seen`` at the actor's access level to the saved item), never more.

    An actor whose access the command ended (level ``NONE``) gets a receipt: ids, state, dates
    and the category and flags; no text, people, channel, reviews, assignments or feedback.
    """
    return item.as_seen(access(actor.viewer(), item.access_facts()), actor.unit_id)


class _Core:
    """Shared machinery of the command mix-ins."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        calendar: WorkdayCalendar | None = None,
        rules: RuleSet | Mapping[str, RuleSet] | None = None,
        notifier: Notifier | None = None,
        hasher: PasswordHasher | Required | None = Required.ARGUMENT,
        identity_providers: Sequence[IdentityProvider] = (),
        credential_delivery: CredentialDelivery | None = None,
        ids: Callable[[], str] = _uuid,
        dispatch_after_commit: bool = False,
        outbox_retry: RetryPolicy | None = None,
        dispatcher_id: str | None = None,
        audit_key: bytes | None = None,
        audit_retention_days: int = MIN_RETENTION_DAYS,
        analyzer: TextAnalyzer | None = None,
    ) -> None:
        """Wire the service to its ports (docs/reference.md §1 has each in full).

        :param store: where everything is kept: ``MemoryStore``, ``SqlStore`` (encrypted at
            rest) or a host's store that passes ``StoreContract``.
        :param clock: the only source of time; must return aware datetimes.
        :param calendar: the working-day calendar; ``None`` is the official Chinese one.
        :param rules: one ``RuleSet``, or one per jurisdiction code (county overrides);
            ``None`` is Zhoushan's.
        :param notifier: where notices go; ``None`` keeps them in the outbox.
        :param hasher: the password hasher, a required choice: ``Argon2Hasher()``, or ``None``
            when people sign in elsewhere (omitting it is ``account.hasher_missing``).
        :param identity_providers: external sign-in (浙政钉), by their ``name``.
        :param credential_delivery: sends initial passwords to the person, never to an admin
            (without it ``register``, ``unlock`` and ``approve_grant`` are refused).
        :param ids: the source of new ids (``uuid4().hex``; deterministic in tests).
        :param dispatch_after_commit: send notices right after each commit (demos, tests);
            production leaves them to ``python -m qiandao worker``.
        :param outbox_retry: backoff and attempts before a notice is dead.
        :param dispatcher_id: this instance's name in the outbox and job leases.
        :param audit_key: the audit chain's HMAC key (≥ 16 bytes); ``None`` uses the store's.
        :param audit_retention_days: how long audit records are kept, at least 180 days.
        """
        if calendar is None:
            from qiandao.calendar import ChinaWorkdays

            calendar = ChinaWorkdays.official()
        self.store = store
        """The store the service reads and writes."""
        self.clock = clock
        """The only source of time."""
        self.calendar = calendar
        """The working-day calendar in force (``adopt_calendar`` replaces it)."""
        if isinstance(rules, RuleSet):
            self._default_rules = rules
            self._rules: Mapping[str, RuleSet] = {rules.jurisdiction: rules}
        else:
            self._rules = dict(rules or {})
            self._default_rules = self._rules.get("zhoushan", RuleSet.zhoushan())
        self.notifier = notifier
        """Where notices are sent (``None``: they wait in the outbox)."""
        self.hasher = _chosen_hasher(hasher)
        """The password hasher (``None``: the host signs people in elsewhere)."""
        self.identity_providers = {p.name: p for p in identity_providers}
        """External sign-in providers by name."""
        self.credential_delivery = credential_delivery
        """How initial passwords reach the person."""
        self.new_id = ids
        """The source of new ids."""
        self.dispatch_after_commit = dispatch_after_commit
        """Whether commands send their notices right after commit."""
        self.outbox_retry = outbox_retry if outbox_retry is not None else RetryPolicy()
        """Backoff and attempts of failed notices."""
        self.dispatcher_id = dispatcher_id if dispatcher_id is not None else f"qd-{_uuid()}"
        """This instance's name in the leases."""
        self._audit_chain: AuditChain | None = None if audit_key is None else AuditChain(audit_key)
        if (
            not isinstance(audit_retention_days, int)
            or isinstance(audit_retention_days, bool)
            or audit_retention_days < MIN_RETENTION_DAYS
        ):
            raise AuditRetention(
                f"审计记录至少保存{MIN_RETENTION_DAYS}天", field="audit_retention_days"
            )
        self.audit_retention_days = audit_retention_days
        """How long audit records are kept (days, at least 180)."""
        self.analyzer = analyzer
        """What derives the similarity signature and hot-topic terms of a written text."""

    # --- helpers --------------------------------------------------------------------------

    def rules_for(self, jurisdiction: str) -> RuleSet:
        """The RuleSet of a jurisdiction (a county's overrides, else the default rules)."""
        if not isinstance(jurisdiction, str):  # a host's value, e.g. from JSON
            raise InvalidInput("政协编码须为文本", field="jurisdiction")
        return self._rules.get(jurisdiction, self._default_rules)

    def _jurisdictions(self) -> frozenset[str]:
        """The jurisdictions the service has rules for (reporting up must name one)."""
        return frozenset({*self._rules, self._default_rules.jurisdiction})

    @property
    def audit_chain(self) -> AuditChain:
        """How audit records are hashed: under the host's ``audit_key``, else the key the store
        keeps (:class:`~qiandao.ports.store.AuditKeySource`, read once, outside any command's
        transaction), else unkeyed SM3 / SHA-256."""
        if self._audit_chain is None:
            self._audit_chain = AuditChain(audit_key_of(self.store))
        return self._audit_chain

    def _platform(self) -> str:
        """The platform's own jurisdiction, whose admin acts in every jurisdiction."""
        return self._default_rules.jurisdiction

    def now(self) -> datetime:
        """The clock's instant, checked to be aware."""
        instant = self.clock.now()
        if instant.utcoffset() is None:
            raise InvalidInput("时钟必须返回带时区的时间", field="clock")
        return instant

    # --- running commands -----------------------------------------------------------------

    def _context(self, jurisdiction: str, now: datetime) -> Context:
        """What a decision about an item of ``jurisdiction`` may consult at ``now``."""
        return Context(self.rules_for(jurisdiction), self.calendar, now, self.new_id)

    def _transact(
        self,
        actor: Actor | None,
        work: Callable[[Tx], T],
        *,
        any_conflict: bool = False,
        attempts: int = _ATTEMPTS,
        dispatch: bool = True,
        audit: bool = True,
    ) -> T:
        """The one command runner: run ``work`` in a unit of work, commit, then dispatch.

        ``work`` loads its facts through ``tx.uow``, calls one decision of
        :mod:`qiandao.workflow` and stages the result (``tx.stage`` evolves and saves an item
        with a version check, appends its events and queues its notices in the outbox). A
        conflict the store marks ``retryable`` (a serialization failure or deadlock: nothing was
        written) runs the whole command again on fresh data; ``any_conflict`` also retries plain
        version conflicts (where a retry is known to be safe, e.g. idempotent submits).
        Dispatch happens only when the command queued notices (so ``authenticate``, called on
        every request, never polls the outbox); ``dispatch=False`` leaves them in the outbox for
        the caller to send once after a batch of commands (the periodic job). A failed COMMIT
        (``store.outcome_unknown``: it may have landed) is never retried here; the caller retries
        with its idempotency key (:meth:`_transact_once`).

        The audited call's record (:mod:`qiandao._audit`) is appended in the same transaction
        (``audit=False``: a preliminary step whose call is recorded by a later one): if it
        cannot be written, the command fails ("no audit, no access"). A call that runs several
        transactions (the periodic job, item by item) is recorded by its first and by every
        later one that changes an item or account.
        """
        now = self.now()
        call = current_call() if audit else None
        chain = self.audit_chain  # resolved before the transaction: it may read the store
        for attempt in range(1, attempts + 1):
            try:
                with self.store.unit_of_work() as uow:
                    _verify(uow, actor)
                    tx = Tx(self, uow, actor, now)
                    result = work(tx)
                    if call is not None and (not call.recorded or tx.audit_events):
                        self._audit_in(tx, call, result, chain)
                    uow.commit()
                break
            except ConcurrencyConflict as conflict:
                if attempt == attempts or not (any_conflict or conflict.details.get("retryable")):
                    raise
        if call is not None:
            call.recorded = True
        if dispatch and tx.queued:
            self._after_commit()
        return result

    def _transact_once(
        self,
        actor: Actor | None,
        key: Once | None,
        work: Callable[[Tx], R],
        again: Callable[[Tx, str], R] = item_again,  # type: ignore[assignment]
        **options: int | bool,
    ) -> R:
        """:meth:`_transact` with an idempotency key: the key's record is added in the same
        transaction as the effect, and a retry with it returns ``again(tx, result_id)``.

        With a key, any conflict is retried: two concurrent calls race on the key's record and
        the loser runs again, finding the winner's record.
        """
        if key is None:
            return self._transact(actor, work, **options)  # type: ignore[arg-type]
        options["any_conflict"] = True
        run = functools.partial(_run_once, key, work, again)
        return self._transact(actor, run, **options)  # type: ignore[arg-type]

    def _audit_in(self, tx: Tx, call: Call, result: object, chain: AuditChain) -> None:
        """Append the call's record to the command's transaction: refused when the work
        returned an error to raise after commit (a counted failed sign-in)."""
        code = result.code if isinstance(result, QiandaoError) else None
        outcome = AuditOutcome.SUCCEEDED if code is None else AuditOutcome.REFUSED
        produced = getattr(result, "id", None)
        entry = entry_for(
            call,
            tx.now,
            outcome,
            code=code,
            events=tuple(tx.audit_events),
            produced=(produced,) if isinstance(produced, str) else (),
            touched=tuple(tx.audit_targets),
        )
        tx.uow.audit.append(shard_of(entry.account_id), entry, chain)

    def _audit_alone(self, entry: AuditEntry) -> None:
        """Append one record in a short transaction of its own (a refusal, a read)."""
        chain = self.audit_chain
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                with self.store.unit_of_work() as uow:
                    uow.audit.append(shard_of(entry.account_id), entry, chain)
                    uow.commit()
                return
            except ConcurrencyConflict as conflict:
                if attempt == _ATTEMPTS or not conflict.details.get("retryable"):
                    raise

    def _audit_refusal(self, call: Call, error: Exception) -> None:
        """Record a refused call (its error code) in a transaction of its own; if that fails
        too, the refusal is still raised and the failure logged."""
        code = error.code if isinstance(error, QiandaoError) else "internal.error"
        try:
            instant = self.now()
        except QiandaoError:
            return
        try:
            self._audit_alone(entry_for(call, instant, AuditOutcome.REFUSED, code=code))
        except Exception:
            _log.warning(
                "审计记录写入失败（操作已被拒绝）：%s %s", call.action, code, exc_info=True
            )
        call.recorded = True

    def _audit_read(self, *, secret: bool = False, items: Sequence[str] = ()) -> None:
        """Record a successful read of the current call (a non-public item, an export, the
        audit itself) before its result is returned: no record, no data (``audit.unavailable``).
        ``items``: the non-public items a listing shows.
        """
        call = current_call()
        if call is None or call.recorded:
            return
        entry = entry_for(
            call, self.now(), AuditOutcome.SUCCEEDED, secret=secret, touched=tuple(items)
        )
        try:
            self._audit_alone(entry)
        except Exception as error:
            raise AuditUnavailable() from error
        call.recorded = True

    def _audit_listing(self, items: Iterable[Item]) -> None:
        """Record a listing that shows non-public items (a lane, an inbox, an overdue list):
        their ids, and whether any is 涉密; a listing of public items only leaves no record."""
        hidden = [item for item in items if not item.published]
        if hidden:
            self._audit_read(secret=any(i.secret for i in hidden), items=[i.id for i in hidden])

    def _read(self, actor: Actor | None, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a unit of work that is never committed: a command's facts, read
        before an effect outside any transaction (e.g. the account whose password is verified).
        """
        now = self.now()
        with self.store.unit_of_work() as uow:
            _verify(uow, actor)
            return work(Tx(self, uow, actor, now))

    @contextlib.contextmanager
    def _reading(self, actor: Actor) -> Iterator[UnitOfWork]:
        """A unit of work for a query by ``actor``, verified first (never committed)."""
        with self.store.unit_of_work() as uow:
            _verify(uow, actor)
            yield uow

    def _on_item(
        self,
        actor: Actor,
        item_id: str,
        idempotency_key: str | None,
        decide: Callable[Concatenate[Context, Actor, Item, P], Decision],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Item:
        """Run a one-item command: load the item, ``decide(context, actor, item, …)``, save.

        Returns the saved item as the actor may see it (:func:`seen_by`): never more than the
        same actor's ``item_detail`` shows; a retry with the same key returns the item as it
        is stored now, seen the same way.
        """
        key = None
        if idempotency_key is not None:
            args = tuple(settled(a) for a in args)  # type: ignore[assignment]
            key = once(actor, idempotency_key, decide.__name__, item_id, args, kwargs)
        work = functools.partial(_decide_on_item, actor, item_id, decide, args, kwargs)
        return self._on_items(actor, work, key)

    def _on_items(
        self,
        actor: Actor,
        work: Callable[[Tx], Item],
        key: Once | None = None,
        again: Callable[[Tx, str], Item] = item_again,
        *,
        any_conflict: bool = False,
    ) -> Item:
        """Run an item command on the runner (once per idempotency ``key``) and return its
        item as the actor sees it now.

        Every command that returns an :class:`Item` goes through here (see :func:`seen_by`).
        """
        saved = self._transact_once(actor, key, work, again, any_conflict=any_conflict)
        return seen_by(actor, saved)

    def _after_commit(self) -> None:
        """Dispatch after commit; a failure here must not look like the command failed."""
        if self.dispatch_after_commit and self.notifier is not None:
            try:
                self.dispatch()
            except Exception:  # the notices stay in the outbox for the next dispatch
                _log.warning("提交后投递通知失败，通知保留在发件箱中", exc_info=True)

    def dispatch(
        self,
        limit: int = 100,
        *,
        lease: timedelta | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> DispatchReport:
        """Send up to ``limit`` due notices, at least once, each by one dispatcher at a time.

        The notices are claimed for this dispatcher (``dispatcher_id``) until ``now + lease``
        (``DISPATCH_LEASE`` unless given) in
        one short unit of work; sending happens with no transaction open (a slow gateway never
        holds database locks), and nothing is sent once the lease has run out (another
        dispatcher may have taken the notice). The results are marked afterwards in one short
        unit of work: a failed notice waits by the ``outbox_retry`` policy, then is dead. A
        crash in between only means the notices are sent again when their lease expires, and
        receivers drop repeats by notice id. ``stop`` (asked before each send) ends the batch
        early, e.g. on SIGTERM; the notices not sent are released for others at once.
        """
        if self.notifier is None:
            return DispatchReport(0, 0)
        lease = _positive_lease(lease, DISPATCH_LEASE)
        now = self.now()
        with self.store.unit_of_work() as uow:
            claimed = uow.outbox.claim(limit, now, lease, self.dispatcher_id)
            uow.commit()
        if not claimed:
            return DispatchReport(0, 0)
        sent: list[str] = []
        failed: list[tuple[OutboxMessage, str]] = []
        expires = now + lease
        for message in claimed:
            if (stop is not None and stop()) or self.now() >= expires:
                break
            try:
                self.notifier.send(message.notice)
            except Exception as error:  # any notifier failure: tried again later
                failed.append((message, type(error).__name__))
            else:
                sent.append(message.notice.id)
        done = len(sent) + len(failed)
        dead = self._mark(sent, failed, [m.notice.id for m in claimed[done:]])
        return DispatchReport(len(sent), len(failed), dead)

    def _mark(
        self, sent: list[str], failed: list[tuple[OutboxMessage, str]], unsent: list[str]
    ) -> int:
        """Record a batch's results in one unit of work; returns how many notices died."""
        dead = 0
        with self.store.unit_of_work() as uow:
            at = self.now()
            uow.outbox.mark_all_dispatched(sent, at)  # one write for the batch
            for message, error in failed:
                retry_at = self.outbox_retry.next_attempt(message.attempts + 1, at)
                dead += retry_at is None
                uow.outbox.mark_failed(message.notice.id, at, retry_at, error)
            if unsent:  # only this batch's: another thread of this instance may hold others
                uow.outbox.release(self.dispatcher_id, unsent)
            uow.commit()
        return dead


class Tx:
    """One attempt of a command: its unit of work, actor and instant, and what it stages."""

    __slots__ = ("_core", "actor", "audit_events", "audit_targets", "now", "queued", "uow")

    def __init__(self, core: _Core, uow: UnitOfWork, actor: Actor | None, now: datetime) -> None:
        self._core = core
        self.audit_events: list[str] = []  # kinds of the events staged, for the audit record
        self.audit_targets: list[str] = []  # the items and accounts they changed
        self.queued = 0  # notices queued in the outbox by this attempt
        self.uow = uow
        self.actor = actor
        self.now = now

    def context(self, jurisdiction: str) -> Context:
        """The decision context for an item of ``jurisdiction``."""
        return self._core._context(jurisdiction, self.now)

    def platform(self) -> str:
        """The platform's own jurisdiction, whose system admin acts in every jurisdiction."""
        return self._core._platform()

    def stage(self, item: Item | None, decision: Decision, *, actor_id: str | None = None) -> Item:
        """Evolve ``item`` by the decided events and stage the save, the events and notices.

        ``item`` is ``None`` for a new item: the decision's first event (DRAFTED) carries it.
        Events are attributed to the command's actor unless ``actor_id`` says otherwise.
        """
        current = item
        first = decision[0][1].item if decision else None
        target = item if item is not None else first
        if target is None:  # pragma: no cover - programming error
            raise ValueError("a new item's first event must carry it")
        by = actor_id if actor_id is not None else self.actor.account_id if self.actor else None
        if by is None:  # pragma: no cover - programming error
            raise ValueError("an event needs an actor")
        sequence = item.version if item is not None else 0
        events: list[Event] = []
        for kind, change in decision:
            self.audit_events.append(kind.value)
            sequence += 1
            event = Event(self._core.new_id(), target.id, sequence, kind, by, self.now, change)
            current = evolve(current, event)
            events.append(event)
        if current is None or not events:
            return target
        self.audit_targets.append(target.id)
        if item is None:
            self.uow.items.add(current)
        else:
            self.uow.items.save(current, item.version)
        self.uow.events.append(events)
        self.index(item, current)
        self.index_topics(item, current)
        rules = self._core.rules_for(current.jurisdiction)
        self.notify([n for e in events for n in notices_for(e, current, rules)])
        return current

    def index(self, before: Item | None, after: Item) -> None:
        """Keep the similarity index in step with a saved item (signature and bands of its
        current text); nothing is written when the text is unchanged."""
        self._keep_index(self.uow.similarity, before, after, _text_only, _similarity_entry)

    def index_topics(self, before: Item | None, after: Item) -> None:
        """Keep the hot-topic term index in step with a saved item (the terms of its current
        text); nothing is written when neither the text nor the facts an entry holds
        (:func:`~qiandao.topics.topic_facts`) changed."""
        self._keep_index(self.uow.topics, before, after, topic_facts, _topic_entry)

    def _keep_index(
        self,
        index: _DerivedIndex[_Entry],
        before: Item | None,
        after: Item,
        facts: Callable[[Item], object],
        entry: Callable[[TextAnalyzer, Item], _Entry],
    ) -> None:
        """One derived index, in the item's transaction: written while
        :func:`~qiandao.similarity.indexed` holds and the service has an analyzer, dropped when
        it stops holding (涉密, withdrawn); left alone when the text and ``facts`` (what the
        entry holds besides the text) are unchanged."""
        was = before is not None and indexed(before)
        if not indexed(after):
            if was:
                index.drop(after.id)
            return
        analyzer = self._core.analyzer
        if analyzer is None or after.submitted_at is None:
            return
        if (
            was
            and before is not None
            and before.texts[-1] == after.texts[-1]
            and facts(before) == facts(after)
        ):
            return
        index.put(entry(analyzer, after))

    def create(self, decision: Decision) -> Item:
        """Stage a new item from a decision whose first event (DRAFTED) carries it."""
        return self.stage(None, decision)

    def add_account(self, account: Account) -> Account:
        """Stage a new account (its first version) and its REGISTERED event (with its grant;
        none for an account whose grant is still proposed)."""
        self.uow.accounts.add(account)
        grant = account.grants[0] if account.grants else None
        self.account_event(account, AccountEventKind.REGISTERED, grant)
        return account

    def account_event(
        self, account: Account, kind: AccountEventKind, grant: RoleGrant | None = None
    ) -> None:
        """Append the next event of ``account``'s log, by the command's actor (else the owner)."""
        sequence = len(self.uow.accounts.events(account.id)) + 1
        by = self.actor.account_id if self.actor is not None else account.id
        event = AccountEvent(account.id, sequence, kind, by, self.now, grant)
        self.uow.accounts.append_events([event])
        self.audit_events.append(kind.value)
        self.audit_targets.append(account.id)

    def audit_subject(self, account_id: str, jurisdiction: str | None = None) -> None:
        """Name the person a call without an actor is about (a sign-in's account, a session's
        owner) in its audit record."""
        call = current_call()
        if call is not None and call.actor is None:
            call.subject = account_id
            call.subject_jurisdiction = jurisdiction

    def save_account(self, before: Account, after: Account) -> Account:
        """Stage ``after`` as the next version of the stored ``before`` (checked on save).

        Nothing is written when nothing changed. The one place an account's version moves.
        """
        if after == before:
            return before
        if after.locked_until is not None and after.locked_until != before.locked_until:
            self.audit_events.append(LOCKED_OUT)  # a lock after failed guesses (no event)
        saved = attrs.evolve(after, version=before.version + 1)
        self.uow.accounts.save(saved, before.version)
        return saved

    def change_account(self, before: Account, change: AccountChange) -> Account:
        """Stage an account decision: the account, then its sessions (ended, started, seen)."""
        saved = self.save_account(before, change.account)
        if change.event is not None:
            self.account_event(saved, change.event, change.grant)
        for kind in change.also:
            self.account_event(saved, kind)
        if change.end_sessions:
            self.uow.sessions.revoke_all(saved.id)
        elif change.end_grant is not None:
            self.uow.sessions.revoke_all(saved.id, change.end_grant)
        if change.session is not None:
            self.uow.sessions.put(change.session)
        return saved

    def notify(self, notices: Sequence[Notice]) -> None:
        """Queue notices in the outbox; they are sent after commit, at least once."""
        if notices:
            self.uow.outbox.add([OutboxMessage(n, self.now) for n in notices])
            self.queued += len(notices)


def _positive_lease(lease: object, default: timedelta) -> timedelta:
    """``lease``, or ``default`` for ``None``; anything but a positive ``timedelta`` is
    ``input.invalid`` (field ``lease``)."""
    if lease is None:
        return default
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidInput("租约时长须为正的时间段", field="lease")
    return lease


def audit_key_of(store: Store, given: bytes | None = None) -> bytes | None:
    """The key of the audit chain: the one given, else the store's own
    (:class:`~qiandao.ports.store.AuditKeySource`), else ``None`` (unkeyed)."""
    if given is None and isinstance(store, AuditKeySource):
        return store.audit_key()
    return given


def _verify(uow: UnitOfWork, actor: Actor | None) -> None:
    """The actor check of every command and query: the acting account, read by its key in the
    command's own unit of work, exists, is active and holds the actor's grant
    (``account.actor_refused`` otherwise). ``None`` is a command acting for a session token or
    the system, which checks its own account."""
    if actor is None:
        return
    try:
        account = uow.accounts.get(actor.account_id)
    except NotFound:
        account = None
    check_actor(account, actor)


def _decide_on_item(
    actor: Actor,
    item_id: str,
    decide: Callable[..., Decision],
    args: tuple[object, ...],
    kwargs: dict[str, object],
    tx: Tx,
) -> Item:
    """The work of a one-item command: load, decide, stage."""
    item = tx.uow.items.get(item_id)
    return tx.stage(item, decide(tx.context(item.jurisdiction), actor, item, *args, **kwargs))
