"""Who may run the scheduler: a PostgreSQL advisory lock, or a file lock beside SQLite.

PostgreSQL: a session-level advisory lock taken on a dedicated connection that stays
open for as long as this process leads. The lock belongs to that server session, so
when the process dies, even by ``kill -9``, the kernel closes its socket, the server
ends the session and the lock is free for the next worker that asks.

SQLite: only one process may schedule against a database file, so an exclusive
``flock`` on ``<database>.scheduler.lock`` decides. The kernel drops it when the
process dies, so a stale lock file never blocks a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from storage.database import is_sqlite

logger = logging.getLogger(__name__)

#: The advisory lock's two 32-bit keys: "kiln" in ASCII, then which lock (1: the scheduler).
SCHEDULER_LOCK_KEY = (0x6B696C6E, 1)
#: A lock check that takes longer than this counts as a lost connection.
CHECK_TIMEOUT_S = 4.0
#: Server-side TCP keepalives (and a cap on unacknowledged sends), so a leader cut off
#: by the network loses its lock in about 5 + 2 x 3 = 11 seconds instead of the
#: operating system's default of two hours (or 15 minutes of retransmissions).
_KEEPALIVE_SETTINGS = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 11000",
)


class LockError(Exception):
    """The lock's database could not be asked; nobody here knows who leads."""


class SchedulerLocked(RuntimeError):
    """Another process already runs the scheduler on this SQLite database file."""


class PostgresLeaderLock:
    """``pg_try_advisory_lock`` on a connection of its own, kept open while leading."""

    def __init__(
        self,
        url: str,
        key: tuple[int, int] = SCHEDULER_LOCK_KEY,
        *,
        timeout: float = CHECK_TIMEOUT_S,
    ) -> None:
        # psycopg takes the plain libpq URL; kiln's URLs may carry a SQLAlchemy driver name.
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._key = key
        self._timeout = timeout
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._held = False

    @property
    def held(self) -> bool:
        """True while this process believes it holds the lock."""
        return self._held

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True if this process now holds it.

        Raises:
            LockError: the database could not be reached or did not answer in time.
        """
        if self._held:
            return await self.still_held()
        try:
            connection = await self._connect()
            row = await self._fetch_one(
                connection, "SELECT pg_try_advisory_lock(%s, %s)", self._key
            )
        except LockError:
            await self._drop_connection()
            raise
        self._held = bool(row and row[0])
        return self._held

    async def still_held(self) -> bool:
        """Ask the server whether our session still holds the lock.

        A dead or silent connection means the lock is lost (the server frees it when
        it ends the session), never that it is kept.
        """
        if not self._held or self._connection is None:
            return False
        try:
            row = await self._fetch_one(
                self._connection,
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND classid = %s AND objid = %s"
                " AND objsubid = 2 AND granted)",
                self._key,
            )
        except LockError as lost:
            logger.warning("scheduler lock: the connection holding it failed (%s)", lost)
            await self._drop_connection()
            return False
        if not (row and row[0]):
            await self._drop_connection()
            return False
        return True

    async def release(self) -> None:
        """Give the lock up (closing the connection is what really frees it)."""
        if self._connection is not None and self._held:
            with contextlib.suppress(LockError):
                await self._fetch_one(
                    self._connection, "SELECT pg_advisory_unlock(%s, %s)", self._key
                )
        await self._drop_connection()

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        try:
            connection = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(
                    self._conninfo,
                    autocommit=True,
                    connect_timeout=max(2, int(self._timeout)),
                    application_name="kiln scheduler lock",
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=3,
                    tcp_user_timeout=11000,
                ),
                self._timeout,
            )
            for statement in _KEEPALIVE_SETTINGS:
                await asyncio.wait_for(connection.execute(statement), self._timeout)
        except (psycopg.Error, OSError, TimeoutError) as failure:
            raise LockError(f"cannot reach the database: {type(failure).__name__}") from failure
        self._connection = connection
        return connection

    async def _fetch_one(
        self,
        connection: psycopg.AsyncConnection[tuple[object, ...]],
        query: str,
        params: tuple[int, int],
    ) -> tuple[object, ...] | None:
        try:
            cursor = await asyncio.wait_for(connection.execute(query, params), self._timeout)
            return await cursor.fetchone()
        except (psycopg.Error, OSError, TimeoutError) as failure:
            raise LockError(f"the database did not answer: {type(failure).__name__}") from failure

    async def _drop_connection(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await connection.close()


class FileLeaderLock:
    """An exclusive ``flock`` on a file next to the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._fd is not None

    async def try_acquire(self) -> bool:
        """Take the lock without waiting; True if this process holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        # Who holds it, for the other process's error message; the lock is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        """A flock lasts as long as its open file: held until :meth:`release`."""
        return self._fd is not None

    async def release(self) -> None:
        """Give the lock up. The file stays: removing it would race with a new holder."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder_pid(self) -> int | None:
        """The process id the current holder wrote into the file, if readable."""
        try:
            return int(self.path.read_text(encoding="ascii").strip() or "0") or None
        except (OSError, ValueError):
            return None


class AlwaysLeader:
    """For an in-memory SQLite database: no other process can share it."""

    held = True

    async def try_acquire(self) -> bool:
        """Always granted."""
        return True

    async def still_held(self) -> bool:
        """Always held."""
        return True

    async def release(self) -> None:
        """Nothing to give up."""


def sqlite_lock_path(url: str) -> Path | None:
    """``<database>.scheduler.lock`` for a SQLite file URL; None for an in-memory one."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".scheduler.lock")


def scheduler_lock(url: str) -> PostgresLeaderLock | FileLeaderLock | AlwaysLeader:
    """The scheduler lock that suits the database at ``url``."""
    if not is_sqlite(url):
        return PostgresLeaderLock(url)
    path = sqlite_lock_path(url)
    return AlwaysLeader() if path is None else FileLeaderLock(path)


async def claim_sqlite_scheduler(lock: FileLeaderLock) -> None:
    """Take the SQLite scheduler lock or refuse, saying why in one line.

    Raises:
        SchedulerLocked: another process holds it.
    """
    if await lock.try_acquire():
        return
    pid = lock.holder_pid()
    database = lock.path.name.removesuffix(".scheduler.lock")
    who = f"another kiln (process {pid})" if pid else "another kiln"
    raise SchedulerLocked(
        f"{who} is already running the scheduler on {database} (it holds {lock.path}); "
        "SQLite allows one `kiln run` per database file: stop the other one, "
        "or use PostgreSQL (KILN_DATABASE_URL=postgresql://...) for several workers"
    )
