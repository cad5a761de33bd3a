"""A real, throwaway PostgreSQL server for the test session.

The server is started lazily (only when a test requests the ``postgres_server`` fixture,
directly or through ``database_urls`` / ``pg_database_url``), once per test session, with a
fresh data directory in a temporary folder, listening on a free TCP port on 127.0.0.1 only.
It is tuned for tests (no fsync, no synchronous commit, no full-page writes) and is
stopped, and its temporary folders removed, at the end of the session (and at interpreter
exit as a safety net).

``initdb`` refuses to run as root, so when the tests run as root every PostgreSQL command
is run as the ``postgres`` system user (through ``subprocess``'s ``user=``/``group=``).

Skip/fail policy: when PostgreSQL cannot be used (no binaries, no ``postgres`` user while
running as root, or the server fails to start) tests that need it are skipped with a reason
that says what is missing -- unless ``KILN_REQUIRE_POSTGRES=1`` is set (e.g. in CI), in which
case they fail instead.

Use it from the top-level ``tests/conftest.py`` with either (preferred)::

    pytest_plugins = ["tests.postgres_server"]

or, importing ``postgres_server`` together with the per-test fixtures you use::

    from tests.postgres_server import database_urls, pg_database_url, postgres_server  # noqa: F401

Fixtures: ``postgres_server`` (session, :class:`PostgresServer`), ``pg_database_url``
(function, ``str``: ``postgresql://postgres@127.0.0.1:PORT/kiln_test_<hex>``) and
``database_urls`` (function, :class:`DatabaseUrls` with plain/sync/async URLs).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import NoReturn, Self

import psycopg
import pytest
from psycopg import sql

__all__ = [
    "PG_BIN_ENV",
    "REQUIRE_ENV",
    "DatabaseUrls",
    "PostgresServer",
    "PostgresServerError",
    "database_urls",
    "ensure_postgres_available",
    "find_pg_bin",
    "pg_database_url",
    "postgres_server",
    "require_or_skip",
]

#: Environment variable naming a directory that holds ``initdb`` and ``pg_ctl``.
PG_BIN_ENV = "KILN_PG_BIN"
#: Environment variable: when ``1``, a missing/unusable PostgreSQL fails tests instead of skipping.
REQUIRE_ENV = "KILN_REQUIRE_POSTGRES"

_DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
_SERVER_USER = "postgres"
_START_TIMEOUT_S = 60
_STOP_TIMEOUT_S = 30
_PORT_ATTEMPTS = 3

#: Settings written into ``postgresql.conf`` (besides port, listen address and socket dir).
TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "'64MB'",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


class PostgresServerError(RuntimeError):
    """Raised when the throwaway server cannot be initialised, started or stopped."""


# --------------------------------------------------------------------------- discovery


def _has_server_binaries(directory: Path) -> bool:
    """Return True when *directory* holds executable ``initdb`` and ``pg_ctl``."""
    return all(os.access(directory / name, os.X_OK) for name in ("initdb", "pg_ctl"))


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` (numeric, so 15 > 9.6)."""
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """Find the directory holding PostgreSQL's server binaries (``initdb`` and ``pg_ctl``).

    Order: ``$KILN_PG_BIN`` (if set, it is the only place looked at), then the newest
    ``/usr/lib/postgresql/*/bin``, then the directory of ``pg_ctl`` on ``PATH``.
    Returns None when none of them has both binaries.
    """
    override = os.environ.get(PG_BIN_ENV)
    if override:
        path = Path(override).expanduser()
        return path if _has_server_binaries(path) else None
    candidates = sorted(
        (Path(p) for p in glob.glob(_DEBIAN_GLOB)),
        key=_version_key,
        reverse=True,
    )
    for candidate in candidates:
        if _has_server_binaries(candidate):
            return candidate
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None:
        directory = Path(pg_ctl).resolve().parent
        if _has_server_binaries(directory):
            return directory
    return None


def _missing_binaries_reason() -> str:
    """Explain exactly where we looked for PostgreSQL binaries."""
    override = os.environ.get(PG_BIN_ENV)
    if override:
        return (
            f"PostgreSQL binaries not found: {PG_BIN_ENV}={override} does not contain "
            "executable initdb and pg_ctl; fix or unset it"
        )
    return (
        f"PostgreSQL binaries not found (looked in {_DEBIAN_GLOB} and PATH); "
        f"install postgresql or set {PG_BIN_ENV}"
    )


def _running_as_root() -> bool:
    """True when the effective user is root (initdb and postgres refuse to run as root)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _server_account() -> tuple[int, int] | None:
    """UID/GID of the ``postgres`` system user, or None when there is none."""
    try:
        import pwd
    except ImportError:  # pragma: no cover - non-POSIX
        return None
    try:
        entry = pwd.getpwnam(_SERVER_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


# --------------------------------------------------------------------------- policy


def require_or_skip(reason: str) -> NoReturn:
    """Skip the current test because PostgreSQL is unusable -- or fail if it is required.

    Fails (``pytest.fail``) when ``KILN_REQUIRE_POSTGRES=1``, otherwise skips
    (``pytest.skip``). *reason* should say exactly what is missing.
    """
    if os.environ.get(REQUIRE_ENV, "").strip() == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is an error)", pytrace=False)
    pytest.skip(reason)


def ensure_postgres_available() -> Path:
    """Check the prerequisites for starting a server; skip/fail (see ``require_or_skip``).

    Returns the binary directory when everything needed is present.
    """
    bin_dir = find_pg_bin()
    if bin_dir is None:
        require_or_skip(_missing_binaries_reason())
    if _running_as_root() and _server_account() is None:
        require_or_skip(
            "running as root, but there is no 'postgres' system user to run PostgreSQL as "
            "(initdb refuses root); create it (useradd --system postgres) or run the tests "
            "as a non-root user"
        )
    return bin_dir


# --------------------------------------------------------------------------- server


def _free_port() -> int:
    """Ask the kernel for a currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A throwaway PostgreSQL cluster in temporary directories, on a free local TCP port.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`stop_server`
    and :meth:`start_server` stop and restart the *same* cluster (same data, same port) to
    simulate an outage.
    """

    def __init__(self, bin_dir: Path | None = None) -> None:
        """Prepare (but do not start) a server using the binaries in *bin_dir*.

        Without *bin_dir*, :func:`find_pg_bin` is used at :meth:`start`.
        """
        self._bin_dir = bin_dir
        self._port: int | None = None
        self._base_dir: Path | None = None
        self._socket_dir: Path | None = None
        self._running = False
        self._owner_pid = os.getpid()
        self._account: tuple[int, int] | None = None
        self._atexit_registered = False

    # ----------------------------------------------------------------- properties
    @property
    def host(self) -> str:
        """The TCP address the server listens on (always ``127.0.0.1``)."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The TCP port the server listens on (fixed for the life of the cluster)."""
        if self._port is None:
            raise PostgresServerError("the server has not been started")
        return self._port

    @property
    def user(self) -> str:
        """The database superuser (trust authentication, no password)."""
        return "postgres"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's unix socket."""
        if self._socket_dir is None:
            raise PostgresServerError("the server has not been started")
        return self._socket_dir

    @property
    def log_file(self) -> Path:
        """The server's log file (``pg_ctl -l``)."""
        return self._base() / "postgres.log"

    @property
    def is_running(self) -> bool:
        """True between a successful :meth:`start_server` and the next :meth:`stop_server`."""
        return self._running

    def _base(self) -> Path:
        if self._base_dir is None:
            raise PostgresServerError("the server has not been started")
        return self._base_dir

    # ----------------------------------------------------------------- URLs
    def plain_url(self, dbname: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:PORT/dbname`` (libpq / psycopg style)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def sync_url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for the psycopg 3 driver: ``postgresql+psycopg://...``."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def async_url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL for ``create_async_engine`` (psycopg 3 does async too)."""
        return self.sync_url(dbname)

    # ----------------------------------------------------------------- databases
    def connect(self, dbname: str = "postgres", *, autocommit: bool = True) -> psycopg.Connection:
        """Open a psycopg connection to *dbname* as the superuser."""
        return psycopg.connect(self.plain_url(dbname), autocommit=autocommit, connect_timeout=10)

    def create_database(self, name: str) -> None:
        """Create database *name* (empty, from ``template1``)."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop database *name* if it exists, disconnecting any remaining sessions."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and remove its temporary directories."""
        self.stop()

    def start(self) -> None:
        """Create temporary directories, ``initdb`` a cluster and start it on a free port.

        Raises :class:`PostgresServerError` (with the tail of the server log) on failure;
        in that case everything created so far is removed again.
        """
        if self._base_dir is not None:
            raise PostgresServerError("the server was already started")
        if self._bin_dir is None:
            self._bin_dir = find_pg_bin()
            if self._bin_dir is None:
                raise PostgresServerError(_missing_binaries_reason())
        if _running_as_root():
            self._account = _server_account()
            if self._account is None:
                raise PostgresServerError(
                    "running as root but there is no 'postgres' system user to run the server as"
                )
        self._owner_pid = os.getpid()
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True
        try:
            self._base_dir = Path(tempfile.mkdtemp(prefix="kiln-pg-"))
            self._socket_dir = Path(tempfile.mkdtemp(prefix="kiln-pgsock-"))
            for directory in (self._base_dir, self._socket_dir):
                self._give_to_server_user(directory)
            self._initdb()
            self._start_on_free_port()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast mode) if running and remove the temporary directories.

        Safe to call more than once.
        """
        try:
            if self._running:
                self.stop_server()
        finally:
            for directory in (self._base_dir, self._socket_dir):
                if directory is not None:
                    shutil.rmtree(directory, ignore_errors=True)
            self._base_dir = None
            self._socket_dir = None
            self._running = False
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False

    def start_server(self) -> None:
        """(Re)start the existing cluster: same data directory, same port."""
        if self._running:
            return
        self._pg_ctl("start", "-w", "-t", str(_START_TIMEOUT_S), "-l", str(self.log_file))
        self._running = True

    def stop_server(self) -> None:
        """Stop the cluster (``pg_ctl stop -m fast``) but keep its data for :meth:`start_server`.

        Falls back to immediate mode, then to SIGKILL of the postmaster, if needed.
        """
        if not self._running:
            return
        pid = self._postmaster_pid()
        try:
            self._pg_ctl("stop", "-w", "-m", "fast", "-t", str(_STOP_TIMEOUT_S))
        except PostgresServerError:
            try:
                self._pg_ctl("stop", "-w", "-m", "immediate", "-t", str(_STOP_TIMEOUT_S))
            except PostgresServerError:
                self._kill_postmaster()
        if pid is not None:
            _wait_for_exit(pid)
        self._running = False

    # ----------------------------------------------------------------- internals
    def _atexit_stop(self) -> None:
        """Safety net: stop the server at interpreter exit (only in the process that started it)."""
        if os.getpid() == self._owner_pid:
            self.stop()

    def _give_to_server_user(self, path: Path) -> None:
        """When running as root, hand *path* to the ``postgres`` user."""
        if self._account is not None:
            os.chown(path, *self._account)

    def _env(self) -> dict[str, str]:
        """Environment for PostgreSQL commands: ours minus libpq's ``PG*`` variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.setdefault("LC_ALL", "C")
        if self._account is not None:
            env["HOME"] = str(self._base())
            env["USER"] = env["LOGNAME"] = _SERVER_USER
        return env

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL command (as ``postgres`` when we are root); capture its output."""
        uid, gid = self._account if self._account is not None else (None, None)
        try:
            return subprocess.run(
                args,
                cwd=self._base(),
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                user=uid,
                group=gid,
                extra_groups=None if uid is None else [],
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresServerError(
                f"{Path(args[0]).name} timed out after {timeout:.0f}s{self._log_tail()}"
            ) from exc

    def _bin(self, name: str) -> str:
        assert self._bin_dir is not None
        return str(self._bin_dir / name)

    def _initdb(self) -> None:
        """Create the cluster and write the test settings into ``postgresql.conf``."""
        result = self._run(
            [
                self._bin("initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                self.user,
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresServerError(
                f"initdb failed (exit {result.returncode}): {result.stderr.strip()}"
            )

    def _write_settings(self, port: int) -> None:
        """Append our settings (later lines win) to the cluster's ``postgresql.conf``."""
        socket_dir = str(self.socket_dir).replace("'", "''")
        lines = [
            "",
            "# --- kiln test settings (tests/postgres_server.py) ---",
            "listen_addresses = '127.0.0.1'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            *(f"{key} = {value}" for key, value in TEST_SETTINGS.items()),
            "",
        ]
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n".join(lines))

    def _start_on_free_port(self) -> None:
        """Pick a free port and start; retry with another port if it was taken meanwhile."""
        last_error: PostgresServerError | None = None
        for _attempt in range(_PORT_ATTEMPTS):
            port = _free_port()
            self._write_settings(port)
            self._port = port
            try:
                self.start_server()
                return
            except PostgresServerError as exc:
                last_error = exc
                if "already in use" not in str(exc):
                    raise
        assert last_error is not None
        raise last_error

    def _pg_ctl(self, action: str, *options: str) -> None:
        """Run ``pg_ctl ACTION -D DATA OPTIONS``; raise with the log tail on failure."""
        args = [self._bin("pg_ctl"), action, "-D", str(self.data_dir), *options]
        result = self._run(args, timeout=_START_TIMEOUT_S + 15)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise PostgresServerError(
                f"pg_ctl {action} failed (exit {result.returncode}): {output}{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 15) -> str:
        """The last lines of the server log, formatted for an error message."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except (OSError, PostgresServerError):
            return ""
        tail = "\n".join(text.strip().splitlines()[-lines:])
        return f"\n--- server log ({self.log_file}) ---\n{tail}" if tail else ""

    def _postmaster_pid(self) -> int | None:
        """The postmaster's PID from ``postmaster.pid``, or None if unreadable."""
        with contextlib.suppress(OSError, ValueError, IndexError, PostgresServerError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def _kill_postmaster(self) -> None:
        """Last resort: SIGKILL the postmaster named in ``postmaster.pid``."""
        pid = self._postmaster_pid()
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _wait_for_exit(pid: int, timeout: float = 10.0) -> None:
    """Wait until process *pid* has exited (gone, or a zombie awaiting its reaper).

    ``pg_ctl stop -w`` returns once ``postmaster.pid`` is removed, a moment before the
    process is really gone; the postmaster is re-parented to init, which reaps it.
    """
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline:
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return  # gone (or no /proc: nothing more we can check)
        if state in {"Z", "X"}:
            return
        time.sleep(0.02)


# --------------------------------------------------------------------------- fixtures

#: The session's server, shared even if the fixture is registered by several conftests.
_session_server: PostgresServer | None = None


@dataclass(frozen=True)
class DatabaseUrls:
    """Connection URLs for one freshly created test database."""

    name: str
    #: ``postgresql://postgres@127.0.0.1:PORT/name`` (psycopg/libpq; kiln maps it itself)
    plain: str
    #: ``postgresql+psycopg://...`` for ``create_engine``
    sync: str
    #: ``postgresql+psycopg://...`` for ``create_async_engine``
    async_: str


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server, started on first use (~2 s).

    Skips (or fails, with ``KILN_REQUIRE_POSTGRES=1``) when PostgreSQL is unusable. Tests
    may call ``stop_server()``/``start_server()``; per-test database fixtures restart a
    server that a test left stopped.
    """
    global _session_server
    if _session_server is not None:  # already provided by another registration
        yield _session_server
        return
    bin_dir = ensure_postgres_available()
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except PostgresServerError as exc:
        require_or_skip(f"PostgreSQL failed to start: {exc}")
    _session_server = server
    try:
        yield server
    finally:
        _session_server = None
        server.stop()


@contextlib.contextmanager
def _fresh_database(server: PostgresServer) -> Iterator[str]:
    """Create a uniquely named database, yield its name, drop it (forcibly) afterwards.

    Restarts the server first if a test left it stopped (simulated outage).
    """
    if not server.is_running:
        server.start_server()
    name = f"kiln_test_{uuid.uuid4().hex[:16]}"
    server.create_database(name)
    try:
        yield name
    finally:
        if not server.is_running:
            server.start_server()
        server.drop_database(name)


@pytest.fixture
def database_urls(postgres_server: PostgresServer) -> Iterator[DatabaseUrls]:
    """A fresh, uniquely named database for one test (all URL flavours); dropped afterwards."""
    with _fresh_database(postgres_server) as name:
        yield DatabaseUrls(
            name=name,
            plain=postgres_server.plain_url(name),
            sync=postgres_server.sync_url(name),
            async_=postgres_server.async_url(name),
        )


@pytest.fixture
def pg_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The ``postgresql://...`` URL of a fresh per-test database; dropped afterwards."""
    with _fresh_database(postgres_server) as name:
        yield postgres_server.plain_url(name)
