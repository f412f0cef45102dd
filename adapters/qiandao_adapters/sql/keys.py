"""Key maintenance of the SQL store: encrypt a legacy database in place, rotate keys.

Both walk the tables in batches (one short transaction each, in key order), so commands keep
running meanwhile, and every write is compare-and-set on the value read, so a row a command
rewrote in between is left as the command wrote it. Both are safe to run again: a value already
sealed (under the right key) is skipped, so a run that crashed is resumed by running it again.

- :func:`encrypt_in_place`: seals every clear value of :data:`~.sealing.SEALED` (a database
  written before 0008, or in the plaintext mode) and replaces clear phone numbers by their
  blind-index token.
- :func:`rotate`: re-wraps every data key under the provider's current key-encryption key; with
  ``reencrypt`` it also makes a new store-wide text key and re-seals under it every value sealed
  under an older one. A re-run after a crash goes on with the key the crashed run made.

Each returns a :class:`KeyReport` of what changed (for the host's audit record).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Table, delete, func, insert, inspect, or_, select, tuple_, update

from qiandao.errors import InvalidInput, KeyMissing
from qiandao.model import AccountStatus
from qiandao.ports.crypto import Sealed
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.engine import READ_PHASE
from qiandao_adapters.sql.sealing import (
    SEALED,
    TEXT_SCOPE,
    KeyVault,
    is_sealed,
    new_generation,
    person_scope,
)
from qiandao_adapters.sql.store import SqlStore
from qiandao_adapters.sql.uow import SqlUnitOfWork

__all__ = ["KeyReport", "encrypt_in_place", "rotate"]

DEFAULT_BATCH = 500
_TOKEN = re.compile(r"[0-9a-f]{64}")
_MAX_PASSES = 20  # re-encryption passes while commands still write under an older key

Progress = Callable[[str, int], None]
"""Called after each committed batch with the table's name and the rows it changed."""


@attrs.frozen
class KeyReport:
    """What a key command changed: ``sealed`` counts values per ``table.column`` sealed (or
    re-sealed), ``phones`` the phone numbers replaced by their token, ``rewrapped`` the data keys
    wrapped anew under ``kek_id``; ``text_key_id`` is the store-wide key values are sealed
    under now (``None`` if none was needed yet)."""

    kek_id: str
    """Id of the key-encryption key data keys are wrapped under now."""
    sealed: Mapping[str, int] = attrs.field(factory=dict)
    """Values sealed (or re-sealed) per ``table.column``."""
    phones: int = 0
    """Phone numbers replaced by their token."""
    rewrapped: int = 0
    """Data keys wrapped anew under ``kek_id``."""
    text_key_id: str | None = None
    """The store-wide key values are sealed under now (``None`` if none was needed yet)."""


def _vault(store: SqlStore) -> KeyVault:
    if store.vault is None:
        raise KeyMissing("明文模式的存储不能加密或轮换密钥")
    if not inspect(store.engine).has_table(s.data_keys.name):
        raise InvalidInput(
            "数据库缺少 qd_data_keys 表：请先运行 python -m qiandao db upgrade", field="url"
        )
    return store.vault


def _batches(
    store: SqlStore, table: Table, columns: Sequence[str], batch: int
) -> Iterator[tuple[SqlUnitOfWork, Sequence[Any]]]:
    """Each batch of ``table``'s rows in key order, in a unit of work of its own that the
    caller writes in; committed after the caller has handled it."""
    keys = [table.c[k] for k in SEALED[table.name][0]]
    wanted = [*keys, *(table.c[c] for c in columns if c not in SEALED[table.name][0])]
    after: tuple[Any, ...] | None = None
    while True:
        with store.unit_of_work() as uow:
            stmt = select(*wanted).order_by(*keys).limit(batch)
            if after is not None:
                stmt = stmt.where(tuple_(*keys) > tuple_(*after))
            rows = uow.execute(stmt).all()
            if not rows:
                return
            yield uow, rows
            uow.commit()
        after = tuple(rows[-1]._mapping[k.name] for k in keys)


def _write(uow: SqlUnitOfWork, table: Table, row: Any, changes: Mapping[str, Any]) -> bool:
    """Compare-and-set ``changes`` on ``row`` (unchanged since read): whether it was written."""
    mapping = row._mapping
    key = [table.c[k] == mapping[k] for k in SEALED[table.name][0]]
    same = [
        table.c[c].is_(None) if mapping[c] is None else table.c[c] == mapping[c] for c in changes
    ]
    result = uow.execute(update(table).where(*key, *same).values(dict(changes)), write=True)
    return bool(getattr(result, "rowcount", 0))


def _sweep(
    store: SqlStore,
    decide: Callable[[SqlUnitOfWork, Table, Any], dict[str, Any]],
    batch: int,
    progress: Progress | None,
    counts: dict[str, int],
) -> None:
    """Every row of every sealed table through ``decide`` (the new values of its columns)."""
    if batch < 1:
        raise InvalidInput("批量大小至少为 1", field="batch", batch=batch)
    for name, (_, sealed) in SEALED.items():
        table = s.metadata.tables[name]
        extra = ("phone", "status") if table is s.accounts else ()
        for uow, rows in _batches(store, table, (*sealed, *extra), batch):
            changed = 0
            for row in rows:
                changes = decide(uow, table, row)
                if changes and _write(uow, table, row, changes):
                    changed += 1
                    for column in changes:
                        label = f"{name}.{column}" if column != "phone" else "phone"
                        counts[label] = counts.get(label, 0) + 1
            if progress is not None:
                progress(name, changed)


def _scope(table: Table, row: Any) -> str:
    """The scope a row's values are sealed under: the person's, or the store-wide text key."""
    mapping = row._mapping
    if table is s.accounts and mapping["status"] != AccountStatus.DELETED.value:
        return person_scope(mapping["id"])
    return TEXT_SCOPE


def _report(vault: KeyVault, counts: dict[str, int], **extra: Any) -> KeyReport:
    phones = counts.pop("phone", 0)
    return KeyReport(vault.provider.current_key_id, sealed=counts, phones=phones, **extra)


def encrypt_in_place(
    store: SqlStore, *, batch: int = DEFAULT_BATCH, progress: Progress | None = None
) -> KeyReport:
    """Seal every clear value and tokenise every clear phone number, in batches."""
    _vault(store)
    counts: dict[str, int] = {}
    _tokenise_topic_terms(store, batch, counts)

    def decide(uow: SqlUnitOfWork, table: Table, row: Any) -> dict[str, Any]:
        mapping = row._mapping
        keys, columns = SEALED[table.name]
        key = [mapping[k] for k in keys]
        scope = _scope(table, row)
        changes: dict[str, Any] = {
            c: uow.sealer.seal(table.name, c, key, mapping[c], scope)
            for c in columns
            if not is_sealed(mapping[c])
        }
        phone = mapping.get("phone") if table is s.accounts else None
        if phone is not None and not _TOKEN.fullmatch(phone):
            changes["phone"] = uow.sealer.phone_token(phone)
        return changes

    _sweep(store, decide, batch, progress, counts)
    _compact(store)
    return _report(store.vault or _vault(store), counts)


def _tokenise_topic_terms(store: SqlStore, batch: int, counts: dict[str, int]) -> None:
    """Hot-topic terms a store without keys kept as words become keyed tokens (HMAC under the
    blind-index key): each word's rows in ``qd_topic_terms`` take its token, and its dictionary
    row moves to the token, the word sealed. Runs before the sweep, in batches of words."""
    w, t = s.topic_words, s.topic_terms
    after = ""
    while True:
        with store.unit_of_work() as uow:
            rows = uow.execute(
                select(w.c.term, w.c.word).where(w.c.term > after).order_by(w.c.term).limit(batch)
            ).all()
            if not rows:
                return
            after = rows[-1].term
            for row in rows:
                if _TOKEN.fullmatch(row.term):
                    continue
                word = uow.sealer.open(w.name, "word", [row.term], row.word)
                token = uow.sealer.term_key(word)
                uow.execute(update(t).where(t.c.term == row.term).values(term=token), write=True)
                uow.execute(delete(w).where(w.c.term == row.term), write=True)
                known = uow.execute(select(w.c.term).where(w.c.term == token)).first()
                if known is None:
                    sealed = uow.sealer.seal_row(w, {"term": token, "word": word})
                    uow.execute(insert(w).values(sealed), write=True)
                counts["qd_topic_terms.term"] = counts.get("qd_topic_terms.term", 0) + 1
            uow.commit()


def _compact(store: SqlStore) -> None:
    """SQLite: rewrite the file and empty its log, so the clear values just replaced are not
    left in free pages. (PostgreSQL and MariaDB: the host runs ``VACUUM`` / ``OPTIMIZE``.)"""
    if store.engine.dialect.name != "sqlite" or store.engine.url.database in (None, "", ":memory:"):
        return
    with store.engine.connect() as conn:
        conn.execution_options(**{READ_PHASE: True})  # no BEGIN: VACUUM runs outside one
        conn.exec_driver_sql("VACUUM")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _rewrap(store: SqlStore, vault: KeyVault, batch: int) -> int:
    """Wrap every data key not under the current key-encryption key anew; how many."""
    t = s.data_keys
    current = vault.provider.current_key_id
    done = 0
    after = ""
    while True:
        with store.unit_of_work() as uow:
            rows = uow.execute(
                select(t.c.key_id, t.c.algorithm, t.c.wrapped)
                .where(t.c.key_id > after)
                .order_by(t.c.key_id)
                .limit(batch)
            ).all()
            if not rows:
                return done
            for row in rows:
                wrapped = Sealed.parse(row.wrapped)
                if wrapped.key_id == current:
                    continue
                associated = f"qiandao.data-key:{row.algorithm}:{row.key_id}".encode()
                raw = vault.provider.unwrap(wrapped, associated=associated)
                fresh = vault.provider.wrap(raw, associated=associated).encode()
                result = uow.execute(
                    update(t)
                    .where(t.c.key_id == row.key_id, t.c.wrapped == row.wrapped)
                    .values(wrapped=fresh),
                    write=True,
                )
                done += bool(getattr(result, "rowcount", 0))
            uow.commit()
            after = rows[-1].key_id


def _text_keys(store: SqlStore) -> list[str]:
    """The store-wide text keys, newest first."""
    t = s.data_keys
    with store.unit_of_work() as uow:
        stmt = select(t.c.key_id).where(t.c.scope == TEXT_SCOPE).order_by(t.c.generation.desc())
        return [str(k) for k in uow.execute(stmt).scalars()]


def _under(key_ids: Sequence[str]) -> Iterator[tuple[Table, Any]]:
    """Per sealed column, the condition "sealed under one of ``key_ids``" (the key id is the
    third field of the clear ``v1:<alg>:<key id>:...`` prefix)."""
    for name, (_, columns) in SEALED.items():
        table = s.metadata.tables[name]
        for column in columns:
            patterns = [table.c[column].like(f"v1:%:{k}:%") for k in key_ids]
            yield table, or_(*patterns)


def _remaining(store: SqlStore, key_ids: Sequence[str]) -> int:
    """How many values are still sealed under ``key_ids``."""
    if not key_ids:
        return 0
    total = 0
    with store.unit_of_work() as uow:
        for table, condition in _under(key_ids):
            stmt = select(func.count()).select_from(table).where(condition)
            total += int(uow.execute(stmt).scalar_one())
    return total


def rotate(
    store: SqlStore,
    *,
    reencrypt: bool = False,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> KeyReport:
    """Re-wrap the data keys under the current key-encryption key; with ``reencrypt``, also
    re-seal every value under a new store-wide text key (resuming an unfinished re-encryption)."""
    vault = _vault(store)
    rewrapped = _rewrap(store, vault, batch)
    if not reencrypt:
        return KeyReport(vault.provider.current_key_id, rewrapped=rewrapped)
    existing = _text_keys(store)
    if existing and _remaining(store, existing[1:]):
        target, old = existing[0], existing[1:]  # an unfinished run: go on with its key
    else:
        with store.unit_of_work() as uow:
            target = new_generation(uow.execute, vault, uow.dialect, TEXT_SCOPE)
            uow.commit()
        old = existing
    counts: dict[str, int] = {}
    stale = set(old)

    def decide(uow: SqlUnitOfWork, table: Table, row: Any) -> dict[str, Any]:
        mapping = row._mapping
        keys, columns = SEALED[table.name]
        key = [mapping[k] for k in keys]
        changes = {}
        for c in columns:
            value = mapping[c]
            if is_sealed(value) and Sealed.parse(value).key_id in stale:
                clear = uow.sealer.open(table.name, c, key, value)
                changes[c] = uow.sealer.seal(table.name, c, key, clear, TEXT_SCOPE)
        return changes

    for _ in range(_MAX_PASSES):
        _sweep(store, decide, batch, progress, counts)
        if not _remaining(store, old):
            break
    return _report(vault, counts, rewrapped=rewrapped, text_key_id=target)
