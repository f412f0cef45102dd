"""Encryption at rest in the SQL store: which columns are sealed, under which data key.

Every text and personal column (:data:`SEALED`) holds a :class:`~qiandao.ports.crypto.Sealed`
text, bound by its associated data to the table, the column and the row's key, so a value
copied to another row or column fails with ``crypto.tampered``. Structured columns (states,
dates, ids, codes, flags, counts) stay clear for the queries, lanes and statistics.

Data keys live in ``qd_data_keys``, wrapped by the :class:`~qiandao.ports.crypto.KeyProvider`'s
key-encryption key:

- ``text``: the store-wide key (one generation per ``keys rotate --reencrypt``; the newest seals);
- ``index``: the blind-index key (HMAC) of ``qd_accounts.phone``;
- ``person:<account id>``: each person's key, sealing their account document (real name, phone);
  deleted in the transaction that saves the account departed (crypto-shredding), the document
  then sealed under the text key without the phone.

Unwrapped keys are cached in the :class:`KeyVault` (one per store, thread-safe) by key id; key
ids are random and never reused, so a cached key is never stale. Which key is current is read
once per unit of work (:class:`Sealer`). A value that does not start with ``v1:`` is a legacy
clear value (a database from before 0008 not yet encrypted in place) and is read as it is.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, Result, Table, bindparam, delete, select
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from qiandao.errors import KeyMissing, KeyUnknown
from qiandao.ports.crypto import Cipher, KeyProvider, Sealed
from qiandao_adapters.sql import schema as s

if TYPE_CHECKING:
    from qiandao_adapters.crypto import BlindIndex

__all__ = [
    "AUDIT_SCOPE",
    "INDEX_SCOPE",
    "SEALED",
    "TEXT_SCOPE",
    "KeyVault",
    "Sealer",
    "associated",
    "is_sealed",
    "person_scope",
]

TEXT_SCOPE = "text"
INDEX_SCOPE = "index"
AUDIT_SCOPE = "audit"  # the key of the audit chain's HMAC (never re-encrypted, only re-wrapped)
_PERSON = "person:"
_INDEX_KEY_BYTES = 32
_SEALED_PREFIX = "v1:"

SEALED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # table: (the row's key columns, the sealed columns)
    "qd_items": (("id",), ("doc",)),
    "qd_text_versions": (("item_id", "number"), ("title", "body")),
    "qd_events": (("id",), ("doc",)),
    "qd_outbox": (("notice_id",), ("doc",)),
    "qd_commissions": (("id",), ("doc",)),
    "qd_grant_proposals": (("id",), ("doc",)),
    "qd_accounts": (("id",), ("doc",)),
    "qd_topic_words": (("term",), ("word",)),
}
"""The sealed columns of each table, with the columns naming a row (bound as associated data)."""

Execute = Callable[..., Result[Any]]


def person_scope(account_id: str) -> str:
    """The scope of one person's data key."""
    return f"{_PERSON}{account_id}"


def associated(table: str, column: str, key: Sequence[object]) -> bytes:
    """The associated data of a sealed value: its table, column and row key, unambiguously."""
    return json.dumps([table, column, *(str(k) for k in key)], ensure_ascii=False).encode()


def is_sealed(value: object) -> bool:
    """Whether a stored value is a sealed text (else a legacy clear one)."""
    return isinstance(value, str) and value.startswith(_SEALED_PREFIX)


def _wrap_associated(algorithm: str, key_id: str) -> bytes:
    # the form of qiandao_adapters.crypto.EnvelopeCipher, with the key id as its scope
    return f"qiandao.data-key:{algorithm}:{key_id}".encode()


def _insert_absent(table: Table, row: Mapping[str, Any], dialect: str) -> Executable:
    """``INSERT`` that does nothing when a unique key is already taken."""
    if dialect in ("postgresql", "sqlite"):
        dialect_insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
        return dialect_insert(table).values(row).on_conflict_do_nothing()
    stmt = mysql_dialect.insert(table).values(row)
    return stmt.on_duplicate_key_update(scope=stmt.inserted.scope)


class KeyVault:
    """The data keys of one store: made, wrapped and unwrapped through ``provider``, cached
    unwrapped by key id (thread-safe). ``algorithm`` seals new data keys' values (SM4-GCM)."""

    def __init__(self, provider: KeyProvider, *, algorithm: str = "SM4-GCM") -> None:
        from qiandao_adapters.crypto import cipher_for  # the crypto extra, needed only here

        self.provider = provider
        self.algorithm = algorithm
        self._cipher_for = cipher_for
        self._cache: dict[str, Any] = {}  # key id -> its Cipher or BlindIndex
        self._lock = threading.Lock()
        self._on_forget: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"KeyVault(algorithm={self.algorithm!r})"

    # --- making and reading keys

    def create(self, execute: Execute, dialect: str, scope: str, generation: int) -> str:
        """A new data key of ``scope`` at ``generation`` (or the one a concurrent writer made
        first); its key id."""
        is_index = scope == INDEX_SCOPE
        algorithm = self._index_algorithm() if is_index else self.algorithm
        size = _INDEX_KEY_BYTES if is_index else _cipher_key_bytes(algorithm)
        key_id = f"{scope[:1]}.{secrets.token_hex(16)}"
        raw = secrets.token_bytes(size)
        wrapped = self.provider.wrap(raw, associated=_wrap_associated(algorithm, key_id))
        row = {
            "key_id": key_id,
            "scope": scope,
            "generation": generation,
            "algorithm": algorithm,
            "wrapped": wrapped.encode(),
            "created_at": datetime.now(UTC),
        }
        execute(_insert_absent(s.data_keys, row, dialect), write=True)
        t = s.data_keys
        found = execute(
            select(t.c.key_id).where(t.c.scope == scope, t.c.generation == generation)
        ).scalar_one()
        return str(found)

    def _unwrap(self, execute: Execute, key_id: str) -> tuple[str, bytes]:
        t = s.data_keys
        row = execute(select(t.c.algorithm, t.c.wrapped).where(t.c.key_id == key_id)).first()
        if row is None:
            raise KeyUnknown(key_id=key_id)
        raw = self.provider.unwrap(
            Sealed.parse(row.wrapped), associated=_wrap_associated(row.algorithm, key_id)
        )
        return str(row.algorithm), raw

    def _cached(self, execute: Execute, key_id: str, make: Callable[[str, bytes], Any]) -> Any:
        """The object ``make(algorithm, raw key)`` of ``key_id``, unwrapped once per store."""
        with self._lock:
            found = self._cache.get(key_id)
        if found is not None:
            return found
        algorithm, raw = self._unwrap(execute, key_id)
        made = make(algorithm, raw)
        with self._lock:
            return self._cache.setdefault(key_id, made)

    def warm(self, execute: Execute, key_ids: Sequence[str]) -> None:
        """Unwrap the cipher keys not cached yet in one read: a page of values sealed under
        many persons' keys costs one query, not one per person."""
        with self._lock:
            missing = sorted({k for k in key_ids if k not in self._cache})
        if not missing:
            return
        t = s.data_keys
        stmt = select(t.c.key_id, t.c.algorithm, t.c.wrapped).where(t.c.key_id.in_(missing))
        for row in execute(stmt):
            key_id, algorithm = str(row.key_id), str(row.algorithm)
            raw = self.provider.unwrap(
                Sealed.parse(row.wrapped), associated=_wrap_associated(algorithm, key_id)
            )
            made = self._cipher_for(algorithm, raw, key_id=key_id)
            with self._lock:
                self._cache.setdefault(key_id, made)

    def cipher(self, execute: Execute, key_id: str) -> Cipher:
        """The cipher of data key ``key_id`` (``crypto.key_unknown`` once it is destroyed)."""
        found: Cipher = self._cached(
            execute, key_id, lambda algorithm, raw: self._cipher_for(algorithm, raw, key_id=key_id)
        )
        return found

    def index(self, execute: Execute, key_id: str) -> BlindIndex:
        """The blind index of key ``key_id``."""
        from qiandao_adapters.crypto import BlindIndex

        found: BlindIndex = self._cached(
            execute,
            key_id,
            lambda algorithm, raw: BlindIndex(raw, prefer_sm3=algorithm == "HMAC-SM3"),
        )
        return found

    def raw(self, execute: Execute, key_id: str) -> bytes:
        """The unwrapped bytes of data key ``key_id`` (the audit chain's HMAC key)."""
        return self._unwrap(execute, key_id)[1]

    def forget(self, key_id: str) -> None:
        """Drop a destroyed key from the cache, and whatever was opened with keys (the
        callbacks of :meth:`on_forget`): a shredded value must not outlive its key here."""
        with self._lock:
            self._cache.pop(key_id, None)
            callbacks = list(self._on_forget)
        for callback in callbacks:
            callback()

    def on_forget(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever a destroyed key is forgotten."""
        with self._lock:
            self._on_forget.append(callback)

    @staticmethod
    def _index_algorithm() -> str:
        from qiandao_adapters.crypto import BlindIndex

        return BlindIndex(bytes(_INDEX_KEY_BYTES)).algorithm


def _cipher_key_bytes(algorithm: str) -> int:
    return 16 if algorithm == "SM4-GCM" else 32


_CURRENT_KEY = (
    select(s.data_keys.c.key_id)
    .where(s.data_keys.c.scope == bindparam("_scope"))
    .order_by(s.data_keys.c.generation.desc())
    .limit(1)
)
"""The newest key id of the scope ``:_scope`` (built once: every command that seals reads it)."""


def current_key(execute: Execute, scope: str) -> str | None:
    """The key id of the newest generation of ``scope``, if there is one."""
    found = execute(_CURRENT_KEY, {"_scope": scope}).scalar()
    return None if found is None else str(found)


class Sealer:
    """One unit of work's view of the keys: seals rows before they are written and opens the
    values read. Without a vault (the explicit plaintext mode) it writes clear values and opens
    only clear ones (``crypto.key_missing`` for a sealed value)."""

    def __init__(self, vault: KeyVault | None, execute: Execute, dialect: str) -> None:
        self._vault = vault
        self._execute = execute
        self._dialect = dialect
        self._keys: dict[str, str] = {}  # scope -> key id, resolved in this transaction
        self._destroyed: list[str] = []  # key ids this transaction deleted

    def reset(self) -> None:
        """Forget the keys resolved in the transaction that just ended."""
        self._keys.clear()

    def ended(self) -> None:
        """After the transaction ended: forget once more the keys it destroyed, since another
        unit may have cached them (or what they opened) between the delete and the commit."""
        destroyed, self._destroyed = self._destroyed, []
        if self._vault is not None:
            for key_id in destroyed:
                self._vault.forget(key_id)

    @property
    def encrypting(self) -> bool:
        """Whether values are sealed (a key provider is configured)."""
        return self._vault is not None

    def _require(self) -> KeyVault:
        if self._vault is None:
            raise KeyMissing()
        return self._vault

    def key_of(self, scope: str, *, create: bool = True) -> str | None:
        """The current key id of ``scope`` in this transaction, made when missing and
        ``create``. Call it before a savepoint, so a key made here is not rolled back with it."""
        found = self._keys.get(scope)
        if found is not None or self._vault is None:
            return found
        found = current_key(self._execute, scope)
        if found is None and create:
            found = self._require().create(self._execute, self._dialect, scope, 1)
        if found is not None:
            self._keys[scope] = found
        return found

    # --- writing

    def seal(self, table: str, column: str, key: Sequence[object], text: str, scope: str) -> str:
        """``text`` sealed under the current key of ``scope``."""
        vault = self._vault
        if vault is None:
            return text
        key_id = self.key_of(scope)
        assert key_id is not None
        cipher = vault.cipher(self._execute, key_id)
        sealed = cipher.encrypt(text.encode("utf-8"), associated=associated(table, column, key))
        return sealed.encode()

    def seal_rows(
        self, table: Table, rows: Sequence[Mapping[str, Any]], *, scope: str = TEXT_SCOPE
    ) -> list[dict[str, Any]]:
        """``rows`` with their :data:`SEALED` columns sealed under ``scope``'s key."""
        keys, columns = SEALED[table.name]
        sealed = []
        for row in rows:
            out = dict(row)
            key = [row[k] for k in keys]
            for column in columns:
                out[column] = self.seal(table.name, column, key, row[column], scope)
            sealed.append(out)
        return sealed

    def seal_row(
        self, table: Table, row: Mapping[str, Any], *, scope: str = TEXT_SCOPE
    ) -> dict[str, Any]:
        """One row with its sealed columns sealed (see :meth:`seal_rows`)."""
        return self.seal_rows(table, [row], scope=scope)[0]

    def phone_token(self, phone: str | None) -> str | None:
        """What ``qd_accounts.phone`` holds for ``phone``: its blind-index token."""
        if phone is None or self._vault is None:
            return phone
        key_id = self.key_of(INDEX_SCOPE)
        assert key_id is not None
        return self._vault.index(self._execute, key_id).exact(phone)

    def term_key(self, word: str) -> str:
        """What the hot-topic index keeps for ``word``: its HMAC under the blind-index key
        (bound to its use by a prefix, so it never equals a phone's token), or the word itself
        without encryption."""
        if self._vault is None:
            return word
        key_id = self.key_of(INDEX_SCOPE)
        assert key_id is not None
        return self._vault.index(self._execute, key_id).exact(f"topic-term:{word}")

    def phone_lookups(self, phone: str) -> list[str]:
        """The ``qd_accounts.phone`` values that mean ``phone``: its token, and the number
        itself in a legacy clear row."""
        if self._vault is None:
            return [phone]
        key_id = self.key_of(INDEX_SCOPE, create=False)
        if key_id is None:
            return [phone]
        return [self._vault.index(self._execute, key_id).exact(phone), phone]

    def destroy(self, scope: str) -> None:
        """Delete every data key of ``scope`` (crypto-shredding), in the caller's transaction."""
        t = s.data_keys
        if self._vault is None:
            return
        ids = list(self._execute(select(t.c.key_id).where(t.c.scope == scope)).scalars())
        if not ids:
            return
        self._execute(delete(t).where(t.c.scope == scope), write=True)
        self._keys.pop(scope, None)
        self._destroyed.extend(ids)
        for key_id in ids:
            self._vault.forget(key_id)

    # --- reading

    def open(self, table: str, column: str, key: Sequence[object], stored: str) -> str:
        """The clear text of a stored value (a legacy clear value as it is)."""
        if not is_sealed(stored):
            return stored
        sealed = Sealed.parse(stored)
        cipher = self._require().cipher(self._execute, sealed.key_id)
        return cipher.decrypt(sealed, associated=associated(table, column, key)).decode("utf-8")

    def warm(self, table: Table, rows: Sequence[Any], column: str = "doc") -> None:
        """Unwrap, in one read, every key the ``column`` values of ``rows`` are sealed under
        (before :meth:`open_doc` opens them one by one)."""
        if self._vault is None or table.name not in SEALED:
            return
        stored = (row._mapping[column] for row in rows)
        key_ids = [Sealed.parse(value).key_id for value in stored if is_sealed(value)]
        self._vault.warm(self._execute, key_ids)

    def open_doc(self, table: Table, row: Any, column: str = "doc") -> str:
        """The clear ``column`` of a row read with its key columns."""
        mapping = row._mapping
        if table.name not in SEALED:
            return str(mapping[column])
        keys, _ = SEALED[table.name]
        return self.open(table.name, column, [mapping[k] for k in keys], mapping[column])


def new_generation(execute: Execute, vault: KeyVault, dialect: str, scope: str) -> str:
    """A new generation of ``scope``'s key (rotation): its key id."""
    t = s.data_keys
    last = execute(
        select(t.c.generation).where(t.c.scope == scope).order_by(t.c.generation.desc()).limit(1)
    ).scalar()
    return vault.create(execute, dialect, scope, int(last or 0) + 1)
