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

__all__ = ["cause_of", "hint_for", "translate", "translated"]

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


# What to check, by words of the database's own message (lower case), first match wins.
_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("password authentication failed", "access denied for user", "authentication failed"),
        "检查 URL 中的用户名与密码 / check the user name and password in the URL",
    ),
    (
        ('database "', "unknown database"),
        "数据库不存在：请先建库（MariaDB/MySQL 用 utf8mb4）/ create the database first",
    ),
    (
        (
            "connection refused",
            "could not connect",
            "can't connect",
            "could not translate host",
            "name or service not known",
            "no route to host",
            "timeout expired",
            "timed out",
        ),
        "检查数据库服务器是否在运行、URL 中的主机与端口"
        " / is the server up, are host and port right?",
    ),
    (
        ("unable to open database",),
        "无法打开 SQLite 文件：检查目录是否存在且可写 / does the SQLite file's directory exist?",
    ),
    (
        ("already exists", "duplicate column"),
        "库中已有同名的表或列（可能由 create_all 或其他程序建立）："
        "请用空库升级，或核对结构后再标记版本"
        " / a table or column of that name exists already: upgrade an empty database",
    ),
    (
        ("readonly", "read-only", "read only", "permission denied", "command denied"),
        "数据库或其文件不可写：检查文件权限与数据库用户的建表权限"
        " / the database is read-only for this user: check file and DDL permissions",
    ),
    (
        ("database is locked", "lock wait timeout", "lock timeout"),
        "另一进程正占用数据库，请稍后重试 / another process holds the database: retry later",
    ),
)
_DEFAULT_HINT = "修复上述问题后重新运行 db upgrade / fix the cause above and run db upgrade again"


def cause_of(error: BaseException, password: str | None = None) -> str:
    """The database's own message of ``error`` on one line (the driver's text, not the SQL or
    its parameters), with ``password`` masked should the driver repeat it."""
    orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    text = " ".join(str(orig).split()) or type(orig).__name__
    if password:
        text = text.replace(password, "***")
    return text[:500]


def hint_for(cause: str) -> str:
    """What a host should check, given the database's message ``cause``."""
    lowered = cause.lower()
    for words, hint in _HINTS:
        if any(word in lowered for word in words):
            return hint
    return _DEFAULT_HINT
