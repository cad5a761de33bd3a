"""INSERT … ON CONFLICT for the hot paths, written so SQLAlchemy compiles it once.

SQLAlchemy 2.0 gives a dialect ``insert().on_conflict_do_*()`` no cache key, so it is
compiled afresh on every execution. A button press ran four of them (the event id, the
mood and two rollup counts), and compiling them was a large share of a worker's CPU
per press (benchmarks/inbound.py). The same statements as ``text()`` are cached like
any other. The SQL is identical on SQLite (3.35+) and PostgreSQL; every bind parameter
carries its column's type, so dates and UTC timestamps are written exactly as the ORM
writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from sqlalchemy import Table, TextClause, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession


def _quoted(name: str) -> str:
    # Quoted, because "key" is a keyword to SQLite; every kiln name is lower case,
    # so quoting never changes which column PostgreSQL finds.
    return f'"{name}"'


def _insert(table: Table, columns: Sequence[str]) -> str:
    names = ", ".join(_quoted(column) for column in columns)
    values = ", ".join(f":{column}" for column in columns)
    # Every name comes from kiln's own table definitions, never from input.
    return f"INSERT INTO {_quoted(table.name)} ({names}) VALUES ({values})"  # noqa: S608


def _typed(statement: str, table: Table, columns: Sequence[str]) -> TextClause:
    binds = [bindparam(column, type_=table.c[column].type) for column in columns]
    return text(statement).bindparams(*binds)


async def insert_unless_present(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, object],
    conflict: tuple[str, ...],
    returning: str,
) -> bool:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING`` in the session's transaction.

    True when the row was inserted. (Told by RETURNING, not rowcount: drivers disagree
    on rowcount for ON CONFLICT.)
    """
    statement = _do_nothing(table, tuple(values), conflict, returning)
    connection = await session.connection()
    return (await connection.execute(statement, dict(values))).first() is not None


async def insert_or_add(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, object],
    conflict: tuple[str, ...],
    add: tuple[str, ...],
) -> None:
    """``INSERT``, or on conflict add the new row's ``add`` columns to the existing row's.

    The addition happens in the database, so concurrent writers' counts add up and
    never overwrite each other.
    """
    statement = _do_add(table, tuple(values), conflict, add)
    connection = await session.connection()
    await connection.execute(statement, dict(values))


@cache
def _do_nothing(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: str
) -> TextClause:
    statement = (
        f"{_insert(table, columns)} ON CONFLICT ({', '.join(map(_quoted, conflict))}) "
        f"DO NOTHING RETURNING {_quoted(returning)}"
    )
    return _typed(statement, table, columns)


@cache
def _do_add(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], add: tuple[str, ...]
) -> TextClause:
    increments = ", ".join(
        f"{_quoted(column)} = {_quoted(table.name)}.{_quoted(column)} + excluded.{_quoted(column)}"
        for column in add
    )
    statement = (
        f"{_insert(table, columns)} ON CONFLICT ({', '.join(map(_quoted, conflict))}) "
        f"DO UPDATE SET {increments}"
    )
    return _typed(statement, table, columns)
