"""The security audit (第十九条; GB/T 22239 三级 安全审计): records, their hash chain, verification.

Every command, refusal, sign-in, account change, non-public read, export and audit query leaves
one :class:`AuditRecord`. Records never hold item content or passwords: who (account, grant),
what (action, target ids, the kinds of events it caused), when, the outcome and the host's
request context. Records are chained per *shard* (a person's records always go to the same one,
so unrelated commands do not wait on one head row): each record's hash covers its canonical
encoding, which includes the previous record's hash. Checkpoint records in their own shard bind
every shard's head; a purge of records past retention leaves one, so the rest still verifies.

The hash is SM3 where the platform has it, SHA-256 otherwise, keyed (HMAC) when the host gives
an audit key, so that someone who can write to the database cannot forge a chain; each record
names its algorithm.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput
from qiandao.rules.text import clean_text

__all__ = [
    "AUDIT_SHARDS",
    "CHECKPOINT_SHARD",
    "GENESIS",
    "MIN_RETENTION_DAYS",
    "AuditChain",
    "AuditEntry",
    "AuditFault",
    "AuditHead",
    "AuditOutcome",
    "AuditPage",
    "AuditQuery",
    "AuditRecord",
    "AuditVerification",
    "RequestContext",
    "current_request",
    "request_context",
    "shard_of",
    "verify_records",
]

AUDIT_SHARDS = 16
"""How many chains ordinary records are spread over (by person)."""
CHECKPOINT_SHARD = "cp"
"""The shard of checkpoint records, which bind every shard's head; never purged."""
GENESIS = "0" * 64
"""The "previous hash" of a shard's first record."""
MIN_RETENTION_DAYS = 180
"""等保三级: audit records are kept at least six months."""
CONTEXT_CHARS = 200  # the longest source address, client or request id a host may pass


_SHARDS = tuple(f"{n:02d}" for n in range(AUDIT_SHARDS))  # one string per shard name


@functools.lru_cache(maxsize=4096)
def shard_of(account_id: str | None) -> str:
    """The chain a person's records go to (``"00"`` … ``"15"``); no person: ``"00"``.

    Remembered for the most recent people (every command of theirs asks)."""
    if account_id is None:
        return _SHARDS[0]
    number = int.from_bytes(hashlib.sha256(account_id.encode("utf-8")).digest()[:4], "big")
    return _SHARDS[number % AUDIT_SHARDS]


class AuditOutcome(LabelledEnum):
    """How the audited action ended."""

    SUCCEEDED = "succeeded", "成功"
    REFUSED = "refused", "拒绝"


def outcome_of(value: object) -> AuditOutcome:
    """The outcome of a stored value (``ValueError`` for anything else)."""
    for member in AuditOutcome:
        if member.value == value:
            return member
    raise ValueError(f"not an audit outcome: {value!r}")


@attrs.frozen
class RequestContext:
    """What the host knows of the request: source address, client and its own request id.

    Each is optional text of at most 200 characters without control characters, checked by
    :func:`request_context` (``input.invalid`` / ``input.limit_exceeded`` otherwise).
    """

    source_address: str | None = None
    client: str | None = None
    request_id: str | None = None


_NO_REQUEST = RequestContext()
_REQUEST: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "qiandao_request", default=None
)


@contextlib.contextmanager
def request_context(
    source_address: str | None = None, client: str | None = None, request_id: str | None = None
) -> Iterator[RequestContext]:
    """Run the block's commands with this request context in their audit records.

    A host wraps each request in it (a ``contextvars`` value: per thread and per asyncio task)::

        with request_context(source_address="10.0.0.8", client="portal/2.1", request_id="r-1"):
            qd.submit(actor, item_id)
    """
    values = {"source_address": source_address, "client": client, "request_id": request_id}
    for field, value in values.items():
        if value is not None:
            clean_text(value, field, max_chars=CONTEXT_CHARS)
    context = RequestContext(source_address, client, request_id)
    token = _REQUEST.set(context)
    try:
        yield context
    finally:
        _REQUEST.reset(token)


def current_request() -> RequestContext:
    """The request context in force (empty outside :func:`request_context`)."""
    return _REQUEST.get() or _NO_REQUEST


@attrs.frozen
class AuditEntry:
    """What one audited action was, before it takes its place in a chain.

    ``account_id``, ``role``, ``jurisdiction`` and ``unit_id`` name the person and the grant
    they acted in (the claimed actor for a refused check; for a sign-in, the account the number
    belongs to, if any). ``targets`` are the ids the action named or produced; ``events`` the
    kinds of the item and account events it caused (e.g. ``locked``); ``code`` the error code of
    a refusal; ``secret`` marks a read of a 涉密 item.
    """

    at: datetime
    action: str
    outcome: AuditOutcome
    account_id: str | None = None
    role: str | None = None
    jurisdiction: str | None = None
    unit_id: str | None = None
    targets: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    code: str | None = None
    secret: bool = False
    context: RequestContext = RequestContext()
    heads: tuple[tuple[str, int, str], ...] = ()  # a checkpoint: (shard, sequence, hash)
    bases: tuple[tuple[str, int, str], ...] = ()  # a purge: each shard's last purged record

    @property
    def target_id(self) -> str | None:
        """The first target (the one the audit query filters on)."""
        return self.targets[0] if self.targets else None


@attrs.frozen
class AuditHead:
    """The last record of a shard (``sequence`` 0 and :data:`GENESIS` before the first)."""

    shard: str
    """Name of the shard whose head this is."""
    sequence: int = 0
    """Sequence number of the shard's last record (0 before the first)."""
    hash: str = GENESIS
    """Hash of the shard's last record (:data:`GENESIS` before the first)."""


@attrs.frozen
class AuditRecord:
    """An entry in its chain: shard, sequence, previous hash, its canonical encoding and hash.

    ``document`` is the canonical JSON of every field but ``hash`` (what the hash covers, kept
    as written). ``at``, ``action``, ``account_id``, ``target_id``, ``jurisdiction`` and
    ``outcome`` are the columns the audit query filters on, as the store holds them (a
    verification compares them with the document); ``entry`` is the document's entry with
    those columns as stored.
    """

    shard: str
    sequence: int
    algorithm: str
    previous: str
    document: str
    hash: str
    at: datetime
    action: str
    account_id: str | None
    target_id: str | None
    jurisdiction: str | None
    outcome: str

    @property
    def entry(self) -> AuditEntry:
        """The entry: the document's, with the filtered columns as the store holds them."""
        try:
            entry = decode(self.document)[2]
        except (ValueError, KeyError, TypeError):
            entry = AuditEntry(self.at, self.action, AuditOutcome.REFUSED)
        targets = entry.targets
        if self.target_id != entry.target_id:
            rest = targets[1:]
            targets = (self.target_id, *rest) if self.target_id is not None else rest
        try:
            outcome = outcome_of(self.outcome)
        except ValueError:
            outcome = entry.outcome
        return attrs.evolve(
            entry,
            at=self.at,
            action=self.action,
            account_id=self.account_id,
            targets=targets,
            jurisdiction=self.jurisdiction,
            outcome=outcome,
        )

    @property
    def position(self) -> tuple[datetime, str, int]:
        """Where the record sorts in an audit query: time, shard, sequence."""
        return (self.at, self.shard, self.sequence)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def encode(shard: str, sequence: int, entry: AuditEntry, algorithm: str, previous: str) -> str:
    """The canonical JSON of a record (sorted keys, no spaces, UTF-8 text as is)."""
    context = entry.context
    body: dict[str, object] = {
        "shard": shard,
        "sequence": sequence,
        "algorithm": algorithm,
        "previous": previous,
        "at": _instant(entry.at),
        "action": entry.action,
        "outcome": entry.outcome.value,
        "account_id": entry.account_id,
        "role": entry.role,
        "jurisdiction": entry.jurisdiction,
        "unit_id": entry.unit_id,
        "targets": list(entry.targets),
        "events": list(entry.events),
        "code": entry.code,
        "secret": entry.secret,
        "context": [context.source_address, context.client, context.request_id],
    }
    if entry.heads:
        body["heads"] = [list(h) for h in entry.heads]
    if entry.bases:
        body["bases"] = [list(b) for b in entry.bases]
    return _CANONICAL.encode(body)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""The canonical encoder (made once: ``json.dumps`` with options makes one per call)."""


def record_of(
    shard: str,
    sequence: int,
    algorithm: str,
    previous: str,
    document: str,
    digest: str,
    entry: AuditEntry,
) -> AuditRecord:
    """The record of a sealed ``document`` (of ``entry``) and its ``digest``, its columns taken
    from the entry (as sealed, or as a store that keeps only documents reads them back)."""
    return AuditRecord(
        shard,
        sequence,
        algorithm,
        previous,
        document,
        digest,
        entry.at,
        entry.action,
        entry.account_id,
        entry.target_id,
        entry.jurisdiction,
        entry.outcome.value,
    )


def _triples(raw: object) -> tuple[tuple[str, int, str], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple((str(s), int(n), str(h)) for s, n, h in raw)


def decode(document: str) -> tuple[str, int, AuditEntry, str, str]:
    """Shard, sequence, entry, algorithm and previous hash of a canonical document.

    ``ValueError`` (or ``KeyError``/``TypeError``) for anything that is not one.
    """
    body = json.loads(document)
    source, client, request_id = body["context"]
    entry = AuditEntry(
        at=datetime.fromisoformat(body["at"]),
        action=body["action"],
        outcome=outcome_of(body["outcome"]),
        account_id=body["account_id"],
        role=body["role"],
        jurisdiction=body["jurisdiction"],
        unit_id=body["unit_id"],
        targets=tuple(body["targets"]),
        events=tuple(body["events"]),
        code=body["code"],
        secret=bool(body["secret"]),
        context=RequestContext(source, client, request_id),
        heads=_triples(body.get("heads")),
        bases=_triples(body.get("bases")),
    )
    return body["shard"], int(body["sequence"]), entry, body["algorithm"], body["previous"]


_HASHES = {"SM3": "sm3", "SHA-256": "sha256"}


@functools.cache
def _platform_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


@attrs.frozen
class AuditChain:
    """How records are hashed: SM3 where the platform's OpenSSL has it, else SHA-256; HMAC under
    ``key`` (at least 16 bytes) when the host gives one. ``algorithm`` is what each new record
    names; verification uses the algorithm a record names."""

    key: bytes | None = attrs.field(default=None, repr=False)
    """The HMAC key (at least 16 bytes), or ``None`` for plain hashes; never shown in ``repr``."""
    prefer_sm3: bool = True
    """Whether new records use SM3 when the platform's OpenSSL has it (else SHA-256)."""

    def __attrs_post_init__(self) -> None:
        if self.key is not None and (not isinstance(self.key, bytes) or len(self.key) < 16):
            raise InvalidInput("审计密钥至少 16 字节", field="audit_key")

    @property
    def algorithm(self) -> str:
        """``HMAC-SM3``, ``HMAC-SHA-256``, ``SM3`` or ``SHA-256``."""
        base = "SM3" if self.prefer_sm3 and _platform_sm3() else "SHA-256"
        return f"HMAC-{base}" if self.key is not None else base

    def digest(self, algorithm: str, document: str) -> str | None:
        """The hash of ``document`` under ``algorithm``; ``None`` for an algorithm this chain
        cannot compute (unknown, or keyed without a key)."""
        keyed = algorithm.startswith("HMAC-")
        name = _HASHES.get(algorithm.removeprefix("HMAC-"))
        if name is None or (keyed and self.key is None):
            return None
        data = document.encode("utf-8")
        if keyed:
            assert self.key is not None
            return hmac.new(self.key, data, name).hexdigest()
        return hashlib.new(name, data).hexdigest()

    def seal(self, head: AuditHead, entry: AuditEntry) -> AuditRecord:
        """``entry`` as the record after ``head`` in its shard."""
        algorithm = self.algorithm
        sequence = head.sequence + 1
        document = encode(head.shard, sequence, entry, algorithm, head.hash)
        digest = self.digest(algorithm, document)
        assert digest is not None
        return record_of(head.shard, sequence, algorithm, head.hash, document, digest, entry)


@attrs.frozen
class AuditQuery:
    """A page of the audit, oldest first: each filter ``None`` means any.

    ``since`` is inclusive, ``until`` exclusive; ``after`` is the ``next_cursor`` of the previous
    page; ``limit`` 1 to 500.
    """

    account_id: str | None = None
    action: str | None = None
    target_id: str | None = None  # any of a record's targets
    since: datetime | None = None
    until: datetime | None = None
    after: str | None = None
    limit: int = 100
    jurisdictions: frozenset[str] | None = None  # set by the library: the reader's scope


@attrs.frozen
class AuditPage:
    """One page of audit records, how many records the whole query matches (its filter,
    counted), and the cursor of the next page (``None`` on the last page)."""

    records: tuple[AuditRecord, ...]
    total: int
    next_cursor: str | None


def cursor_of(record: AuditRecord) -> str:
    """The opaque cursor just after ``record``."""
    return f"{_instant(record.at)}|{record.shard}|{record.sequence}"


def parse_cursor(text: str) -> tuple[datetime, str, int]:
    """The position a cursor names (``input.invalid``, field ``after``, otherwise)."""
    try:
        at, shard, sequence = text.split("|")
        return (datetime.fromisoformat(at), shard, int(sequence))
    except (ValueError, AttributeError):
        raise InvalidInput("审计分页游标无效", field="after") from None


@attrs.frozen
class AuditFault:
    """The first record that does not verify, and why (a stable ``reason`` code)."""

    shard: str
    sequence: int
    reason: str  # hash, previous, sequence, encoding, algorithm, columns, head, checkpoint, anchor


@attrs.frozen
class AuditVerification:
    """The result of checking every chain: ``fault`` is ``None`` when all verify."""

    records: int
    shards: int
    fault: AuditFault | None
    anchor: str  # the checkpoint shard's head as "sequence:hash", to keep outside the database

    @property
    def ok(self) -> bool:
        """Whether every record verified."""
        return self.fault is None


def verify_records(
    chain: AuditChain,
    heads: Mapping[str, AuditHead],
    records: Callable[[str], Iterable[AuditRecord]],
    shards: Iterable[str] = (),
    *,
    anchor: str | None = None,
) -> AuditVerification:
    """Check every shard's chain (``records(shard)`` in sequence order) against the heads.

    Each record's document must decode to its own shard and sequence, its columns (time,
    action, person, target, outcome) must equal the document's, its hash must be the chain's
    hash of the document, and its previous hash the hash of the record before (the shard's
    base after a purge, :data:`GENESIS` at sequence 1); the last record must be the head.
    Every checkpoint's heads must be records of their chains (or purged below a base). With an
    ``anchor`` (``"sequence:hash"`` of a checkpoint record kept outside the database), that
    checkpoint must be in the chain: a truncation before it is found. The checkpoint shard is
    checked first; the others stream, holding one record at a time.
    """
    anchored = _parse_anchor(anchor) if anchor is not None else None
    state = _Verifying(chain)
    fault = state.shard(CHECKPOINT_SHARD, records(CHECKPOINT_SHARD), heads)
    if (
        fault is None
        and anchored is not None
        and anchored[0] > 0
        and state.checkpoints.get(anchored[0]) != anchored[1]
    ):
        fault = AuditFault(CHECKPOINT_SHARD, anchored[0], "anchor")
    others = sorted((set(heads) | set(shards)) - {CHECKPOINT_SHARD})
    for shard in others:
        if fault is not None:
            break
        fault = state.shard(shard, records(shard), heads)
    if fault is None and state.wanted:
        (shard, sequence), _ = min(state.wanted.items())
        fault = AuditFault(shard, sequence, "checkpoint")
    cp_head = heads.get(CHECKPOINT_SHARD, AuditHead(CHECKPOINT_SHARD))
    return AuditVerification(
        records=state.total,
        shards=1 + len(others),
        fault=fault,
        anchor=f"{cp_head.sequence}:{cp_head.hash}",
    )


class _Verifying:
    """The running state of :func:`verify_records`."""

    def __init__(self, chain: AuditChain) -> None:
        self.chain = chain
        self.total = 0
        self.bases: dict[str, tuple[int, str]] = {}
        self.checkpoints: dict[int, str] = {}  # checkpoint sequence -> hash
        self.wanted: dict[tuple[str, int], str] = {}  # heads bound by checkpoints, not yet seen

    def shard(
        self, shard: str, records: Iterable[AuditRecord], heads: Mapping[str, AuditHead]
    ) -> AuditFault | None:
        """Check one shard's chain; a checkpoint shard also collects bases and bound heads."""
        previous = self.bases.get(shard, (0, GENESIS))
        for record in records:
            self.total += 1
            reason = _check(self.chain, shard, record)
            if reason is None and record.sequence != previous[0] + 1:
                reason = "sequence"
            if reason is None and record.previous != previous[1]:
                reason = "previous"
            bound = self.wanted.pop((shard, record.sequence), None)
            if reason is None and bound is not None and bound != record.hash:
                reason = "checkpoint"
            if reason is not None:
                return AuditFault(shard, record.sequence, reason)
            previous = (record.sequence, record.hash)
            if shard == CHECKPOINT_SHARD:
                self._checkpoint(record)
        head = heads.get(shard, AuditHead(shard))
        if (head.sequence, head.hash) != previous:
            return AuditFault(shard, previous[0] + 1, "head")
        return None

    def _checkpoint(self, record: AuditRecord) -> None:
        self.checkpoints[record.sequence] = record.hash
        for shard, sequence, digest in record.entry.bases:
            self.bases[shard] = (sequence, digest)
            # heads bound earlier at or below a base were purged
            for key in [k for k in self.wanted if k[0] == shard and k[1] <= sequence]:
                del self.wanted[key]
        for shard, sequence, digest in record.entry.heads:
            base = self.bases.get(shard, (0, GENESIS))
            if sequence > base[0]:
                self.wanted[(shard, sequence)] = digest


def _check(chain: AuditChain, shard: str, record: AuditRecord) -> str | None:
    """Why one record does not verify on its own, or ``None``: its hash, then its document
    against its place in the chain, then the columns the audit query filters on."""
    expected = chain.digest(record.algorithm, record.document)
    if expected is None:
        return "algorithm"
    if not hmac.compare_digest(expected, record.hash):
        return "hash"
    try:
        body = json.loads(record.document)
        place = (body["shard"], body["sequence"], body["algorithm"], body["previous"])
        targets = body["targets"]
        columns = (
            body["at"],
            body["action"],
            body["account_id"],
            targets[0] if targets else None,
            body["jurisdiction"],
            body["outcome"],
        )
    except (ValueError, KeyError, TypeError, IndexError):
        return "encoding"
    if record.shard != shard or place != (
        shard,
        record.sequence,
        record.algorithm,
        record.previous,
    ):
        return "encoding"
    stored = (
        _instant(record.at),
        record.action,
        record.account_id,
        record.target_id,
        record.jurisdiction,
        record.outcome,
    )
    return "columns" if columns != stored else None


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _parse_anchor(anchor: str) -> tuple[int, str]:
    """``"sequence:hash"`` (a 64-digit hex hash, as ``audit checkpoint`` prints it)."""
    try:
        sequence_text, digest = anchor.strip().split(":")
        sequence = int(sequence_text)
    except ValueError:
        sequence = -1
        digest = ""
    if sequence < 0 or not _DIGEST.fullmatch(digest):
        raise InvalidInput("审计锚点格式应为“序号:哈希”（64位十六进制）", field="anchor")
    return sequence, digest
