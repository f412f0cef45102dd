"""Driver errors translated into qiandao's errors, in this one place.

| driver error                                              | qiandao error                  |
|-----------------------------------------------------------|--------------------------------|
| unique violation on ``qd_accounts.phone``                 | ``DuplicateAccount``           |
| unique violation on ``qd_external_identities`` (bound     | ``DuplicateAccount``           |
| elsewhere)                                                |                                |
| any other unique / primary-key violation (an id that      | ``ConcurrencyConflict``        |
| exists, ``(item_id, sequence)`` of an event)              |                                |
| serialization failure, deadlock, lock wait timeout,       | ``ConcurrencyConflict``        |
| SQLite "database is locked"                               | (``details["retryable"]``)     |
| connection refused or dropped, server gone, pool timeout, | ``StoreUnavailable``           |
| any other ``OperationalError`` / ``InterfaceError``       |                                |
| ``DataError`` (a value the column cannot hold)            | ``InvalidInput``               |

Anything else (a foreign-key or NOT NULL violation, a syntax error) is a bug in the caller or in
this adapter and propagates unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from qiandao.errors import (
    ConcurrencyConflict,
    DuplicateAccount,
    InvalidInput,
    QiandaoError,
    StoreUnavailable,
)

__all__ = ["translate", "translated"]

# Constraint names (PostgreSQL, MySQL/MariaDB) and SQLite's "table.column" spellings of the
# unique constraints that mean "this person is already registered".
_DUPLICATE_ACCOUNT_MARKERS = (
    "uq_qd_accounts_phone",
    "qd_accounts.phone",
    "uq_qd_external_identities_provider_subject",
    "qd_external_identities.provider, qd_external_identities.subject",
)

_PG_UNIQUE = "23505"
_PG_RETRYABLE = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock timeout
_MYSQL_DUPLICATE = frozenset({1062, 1586})  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
_MYSQL_DEADLOCK = 1213
_MYSQL_RETRYABLE = frozenset({1205, _MYSQL_DEADLOCK})  # lock wait timeout, deadlock
_SQLITE_UNIQUE = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_SQLITE_BUSY = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_SNAPSHOT"})


def _sqlstate(orig: BaseException) -> str | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _mysql_errno(orig: BaseException) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _sqlite_name(orig: BaseException) -> str | None:
    name = getattr(orig, "sqlite_errorname", None)
    return name if isinstance(name, str) else None


def _constraint_text(orig: BaseException) -> str:
    """The violated constraint's name (or SQLite's column list), never the duplicated value."""
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None) if diag is not None else None
    if name:
        return str(name)
    text = str(orig)
    key = re.search(r"for key '([^']+)'", text)  # MySQL/MariaDB: "... for key 'name'"
    if key:
        return key.group(1)
    prefix = "UNIQUE constraint failed:"  # SQLite: "...: table.column, table.column"
    return text[len(prefix) :] if text.startswith(prefix) else ""


def _is_unique_violation(orig: BaseException) -> bool:
    if _sqlstate(orig) == _PG_UNIQUE or _mysql_errno(orig) in _MYSQL_DUPLICATE:
        return True
    if _sqlite_name(orig) in _SQLITE_UNIQUE:
        return True
    return str(orig).startswith("UNIQUE constraint failed")


def _is_retryable(orig: BaseException) -> bool:
    if _sqlstate(orig) in _PG_RETRYABLE or _mysql_errno(orig) in _MYSQL_RETRYABLE:
        return True
    if _sqlite_name(orig) in _SQLITE_BUSY:
        return True
    text = str(orig)
    return "database is locked" in text or "database table is locked" in text


def aborts_transaction(error: BaseException) -> bool:
    """The server rolled back the whole transaction, savepoints included (InnoDB deadlock)."""
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    orig = error.orig if isinstance(error.orig, BaseException) else error
    return _mysql_errno(orig) == _MYSQL_DEADLOCK


def translate(error: BaseException) -> QiandaoError | None:
    """The qiandao error a driver error means, or ``None`` if it is not ours to translate."""
    if isinstance(error, QiandaoError):
        return error
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return StoreUnavailable(cause=type(error).__name__)
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    orig = error.orig if isinstance(error.orig, BaseException) else error
    cause = f"{type(orig).__module__}.{type(orig).__name__}"
    if error.connection_invalidated:
        return StoreUnavailable(cause=cause)
    if isinstance(error, sa_exc.IntegrityError):
        if not _is_unique_violation(orig):
            return None
        text = _constraint_text(orig)
        if any(marker in text for marker in _DUPLICATE_ACCOUNT_MARKERS):
            return DuplicateAccount(cause=cause)
        return ConcurrencyConflict(cause=cause)
    if _is_retryable(orig):
        return ConcurrencyConflict(cause=cause, retryable=True)
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return StoreUnavailable(cause=cause)
    if isinstance(error, sa_exc.DataError):
        return InvalidInput("数据库拒绝了该取值", cause=cause)
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of database work, raising qiandao errors instead of driver errors."""
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError) as error:
        mapped = translate(error)
        if mapped is None:
            raise
        raise mapped from error
