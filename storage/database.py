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
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock keys held while migrating: "kiln", then 0 (storage/locks.py uses 1).
MIGRATION_LOCK = {"a": 0x6B696C6E, "b": 0}


class DatabaseUrlError(ValueError):
    """The database URL names a database kiln cannot use."""


class DatabaseUnavailable(ConnectionError):
    """The database cannot be reached or refused the connection; the message is safe to show."""


def safe_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(not a database URL)"


def is_unavailable(error: BaseException) -> bool:
    """True if ``error`` means the database could not be reached (down, restarting, gone)."""
    if isinstance(error, DatabaseUnavailable | InterfaceError):
        return True
    if isinstance(error, OperationalError):
        # SQLite's "database is locked" is busy, not down; the rest are connection trouble.
        return "locked" not in str(error.orig).lower()
    return isinstance(error, ConnectionError)


def connection_problem(url: str, error: BaseException) -> str:
    """One line saying why the database could not be used, never its password.

    Drivers' messages name the host, port and user, not the password; it is masked
    here all the same, in case a driver ever quotes the URL it was given.
    """
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    reason = lines[0].strip() if lines else type(cause).__name__
    try:
        password = make_url(url).password
    except Exception:
        password = None
    if password:
        reason = reason.replace(str(password), "***")
    return f"cannot use the database at {safe_url(url)}: {reason}"


def driver_urls(url: str) -> tuple[str, str]:
    """Return (async URL, sync URL) for a user-facing database URL.

    Users write plain ``sqlite:///kiln.db`` or ``postgresql://...``; the driver
    choice is ours.

    Raises:
        DatabaseUrlError: if the URL is not SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception:
        # Never quote the URL: it may hold a password.
        raise DatabaseUrlError(
            "KILN_DATABASE_URL is not a database URL "
            "(use sqlite:///path/kiln.db or postgresql://user:password@host/name)"
        ) from None
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


#: Connections each worker keeps open, and how many more it may open at a peak
#: (docs/DEPLOY.md sizes PostgreSQL's ``max_connections`` from these).
POOL_SIZE = 15
POOL_OVERFLOW = 5


class Database:
    """The app's handle on its database: sessions, migrations, disposal."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._async_url, self._sync_url = driver_urls(url)
        self.is_sqlite = is_sqlite(url)
        # hide_parameters: an error's text must never carry the values of a row (names, ids).
        self.engine: AsyncEngine = create_async_engine(
            self._async_url,
            pool_pre_ping=True,
            hide_parameters=True,
            # Kept open: as many as a busy worker uses at once (a fan-out's batches,
            # ten inbound events, the dashboard). SQLAlchemy's default of five made
            # every further session open and close a PostgreSQL connection of its own.
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
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
    engine = create_engine(sync_url, hide_parameters=True)
    if is_sqlite(url):
        _enable_sqlite_pragmas(engine)
    try:
        try:
            connection = engine.connect()
        except (OperationalError, InterfaceError) as failure:
            raise DatabaseUnavailable(connection_problem(url, failure)) from None
        with connection, connection.begin():
            if not is_sqlite(url):
                # Workers starting together on a fresh database would each create the
                # tables; the lock lines them up, and the later ones find nothing to do.
                connection.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), MIGRATION_LOCK)
            config = alembic_config(url)
            config.attributes["connection"] = connection
            # "heads": features may add migrations on parallel branches off the same parent.
            command.upgrade(config, "heads")
    finally:
        engine.dispose()
    logger.info("database schema is up to date")
