"""The statements of the per-command hot path, built once and run with parameter dicts.

Building a SQLAlchemy construct costs more than running it from the compiled cache: every
``select``/``insert``/``update`` made anew coerces its columns and clauses again. The statements
here are made on first use per table (``functools.cache``) with :func:`~sqlalchemy.bindparam`
placeholders, so a command only binds its values. Placeholder names start with ``_`` so they never
clash with a column an ``INSERT``/``UPDATE`` sets from the same parameter dict.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Delete,
    Insert,
    Integer,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

__all__ = [
    "child_key",
    "compare_and_set",
    "compare_and_set_rows",
    "delete_child",
    "delete_children",
    "doc_by_id",
    "insert_into",
    "insert_missing",
    "key_present",
    "last_sequence",
    "locked",
    "moved_from",
    "overwrite",
    "set_where",
    "update_child",
    "version_of",
]


@cache
def insert_into(table: Table) -> Insert:
    """``INSERT INTO table``; the columns are the keys of the parameter dicts."""
    return insert(table)


@cache
def doc_by_id(table: Table) -> Select[Any]:
    """The key and document of the row whose ``id`` is ``:_key``."""
    stmt: Select[Any] = select(table.c.id, table.c.doc).where(table.c.id == bindparam("_key"))
    return stmt


@cache
def key_present(table: Table, key: str) -> Select[Any]:
    """The ``key`` column of the row whose ``key`` is ``:_key`` (is it there?)."""
    column = table.c[key]
    stmt: Select[Any] = select(column).where(column == bindparam("_key"))
    return stmt


@cache
def compare_and_set(table: Table) -> Update:
    """``UPDATE table SET ... WHERE id = :_key AND version = :_expected``; the columns set are
    the other keys of the parameter dict."""
    c = table.c
    return update(table).where(c.id == bindparam("_key"), c.version == bindparam("_expected"))


@cache
def compare_and_set_rows(table: Table, columns: tuple[str, ...], count: int) -> Update:
    """The compare-and-set of ``count`` rows in one statement, for MySQL and MariaDB (whose
    driver runs an ``executemany`` ``UPDATE`` as one statement per row): a multi-table
    ``UPDATE`` joined on ``id`` and ``version`` to the rows' new values. Row ``i`` binds
    ``_{i}_<name>`` for each parameter ``<name>`` of :func:`compare_and_set` (``_key``,
    ``_expected`` and ``columns``)."""

    def row(i: int) -> Select[Any]:
        return select(
            bindparam(f"_{i}__key", type_=table.c.id.type).label("_key"),
            bindparam(f"_{i}__expected", type_=Integer()).label("_expected"),
            *(bindparam(f"_{i}_{c}", type_=table.c[c].type).label(c) for c in columns),
        )

    rows = union_all(*(row(i) for i in range(count))) if count > 1 else row(0)
    new = rows.subquery("_new")
    return (
        update(table)
        .where(table.c.id == new.c._key, table.c.version == new.c._expected)
        .values({c: new.c[c] for c in columns})
    )


@cache
def version_of(table: Table) -> Select[Any]:
    """The version of the row whose ``id`` is ``:_key``."""
    stmt: Select[Any] = select(table.c.version).where(table.c.id == bindparam("_key"))
    return stmt


@cache
def child_key(table: Table) -> str:
    """The column that tells an item's child rows apart (the primary key after ``item_id``)."""
    (key,) = [c.name for c in table.primary_key.columns if c.name != "item_id"]
    return key


@cache
def delete_children(table: Table) -> Delete:
    """Delete every child row of the item ``:_owner``."""
    return delete(table).where(table.c.item_id == bindparam("_owner"))


@cache
def delete_child(table: Table) -> Delete:
    """Delete the child row ``:_child`` (its :func:`child_key`) of the item ``:_owner`` (run
    with one parameter set per row: no expanding ``IN``, whose list is compiled per call)."""
    return delete(table).where(
        table.c.item_id == bindparam("_owner"), table.c[child_key(table)] == bindparam("_child")
    )


@cache
def update_child(table: Table) -> Update:
    """``UPDATE`` the child row ``:_child`` of the item ``:_owner``; the columns set are the
    other keys of the parameter dict."""
    return update(table).where(
        table.c.item_id == bindparam("_owner"), table.c[child_key(table)] == bindparam("_child")
    )


@cache
def last_sequence(table: Table, key: str) -> Select[Any]:
    """The highest ``sequence`` of the log rows whose ``key`` column is ``:_owner``."""
    stmt: Select[Any] = select(func.max(table.c.sequence)).where(
        table.c[key] == bindparam("_owner")
    )
    return stmt


@cache
def locked(table: Table, key: str, *columns: str) -> Select[Any]:
    """``columns`` of the row whose ``key`` is ``:_key``, locked until commit (``FOR UPDATE``)."""
    stmt: Select[Any] = (
        select(*(table.c[name] for name in columns))
        .where(table.c[key] == bindparam("_key"))
        .with_for_update()
    )
    return stmt


@cache
def moved_from(table: Table, key: str, *guarded: str) -> Update:
    """``UPDATE table SET ... WHERE key = :_key AND <guarded> = <was>``: a head moved only from
    the value the caller saw (``:_was`` for the first guarded column, ``:_was_<name>`` for the
    others); the columns set are the other keys of the parameter dict."""
    c = table.c
    names = ["_was", *(f"_was_{name}" for name in guarded[1:])]
    return update(table).where(
        c[key] == bindparam("_key"),
        *(c[name] == bindparam(mark) for name, mark in zip(guarded, names, strict=True)),
    )


@cache
def set_where(table: Table, key: str) -> Update:
    """``UPDATE table SET ... WHERE key = :_key``; the columns set are the other keys."""
    return update(table).where(table.c[key] == bindparam("_key"))


@cache
def overwrite(table: Table, dialect: str) -> Insert | None:
    """An ``INSERT`` that overwrites the row with the same primary key, run with one parameter
    set per row (an upsert; ``None``: the dialect has no such statement)."""
    keys = [c.name for c in table.primary_key.columns]
    rest = [c.name for c in table.columns if c.name not in keys]
    if dialect in ("postgresql", "sqlite"):
        dialect_insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
        stmt = dialect_insert(table)
        excluded = {name: stmt.excluded[name] for name in rest}
        upsert: Insert = stmt.on_conflict_do_update(index_elements=keys, set_=excluded)
        return upsert
    if dialect in ("mysql", "mariadb"):
        mysql = mysql_dialect.insert(table)
        return mysql.on_duplicate_key_update({name: mysql.inserted[name] for name in rest})
    return None


@cache
def insert_missing(table: Table, key: str, dialect: str) -> Insert | None:
    """An ``INSERT`` that leaves a row whose ``key`` is already there alone, on ``dialect``
    (``None``: the dialect has no such statement)."""
    if dialect in ("postgresql", "sqlite"):
        dialect_insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
        stmt: Insert = dialect_insert(table).on_conflict_do_nothing(index_elements=[key])
        return stmt
    if dialect in ("mysql", "mariadb"):
        mysql = mysql_dialect.insert(table)
        return mysql.on_duplicate_key_update({key: mysql.inserted[key]})
    return None
