"""Database connections: one async engine for the app, a sync one for Alembic.

SQLite runs in WAL mode so the dashboard and the bot can read while a check-in is
written; PostgreSQL is used through psycopg 3, which serves both sync and async.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """The database URL names a database kiln cannot use."""


def driver_urls(url: str) -> tuple[str, str]:
    """Return (async URL, sync URL) for a user-facing database URL.

    Users write plain ``sqlite:///kiln.db`` or ``postgresql://...``; the driver
    choice is ours.

    Raises:
        DatabaseUrlError: if the URL is not SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(f"not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            parsed.set(drivername="sqlite").render_as_string(hide_password=False),
        )
    if backend in ("postgresql", "postgres"):
        pg = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return pg, pg
    raise DatabaseUrlError(f"kiln supports sqlite:/// and postgresql:// URLs, not {backend}://")


def is_sqlite(url: str) -> bool:
    """True when the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def _enable_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


class Database:
    """The app's handle on its database: sessions, migrations, disposal."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._async_url, self._sync_url = driver_urls(url)
        self.is_sqlite = is_sqlite(url)
        self.engine: AsyncEngine = create_async_engine(self._async_url, pool_pre_ping=True)
        if self.is_sqlite:
            _enable_sqlite_pragmas(self.engine.sync_engine)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    def insert(self, table: type[Any]) -> Any:
        """An INSERT that supports ``on_conflict_do_nothing`` on this database's dialect.

        Both SQLite and PostgreSQL spell "insert unless it exists" the same way in
        SQLAlchemy, but through different dialect modules.
        """
        return (sqlite_insert if self.is_sqlite else pg_insert)(table)

    async def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (safe to call on each start)."""
        await asyncio.to_thread(upgrade_sync, self.url)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at kiln's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", driver_urls(url)[1].replace("%", "%%"))
    return config


def upgrade_sync(url: str) -> None:
    """Apply migrations with a short-lived sync engine (Alembic is synchronous)."""
    sync_url = driver_urls(url)[1]
    engine = create_engine(sync_url)
    if is_sqlite(url):
        _enable_sqlite_pragmas(engine)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            # "heads": features may add migrations on parallel branches off the same parent.
            command.upgrade(config, "heads")
    finally:
        engine.dispose()
    logger.info("database schema is up to date")
