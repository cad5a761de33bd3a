"""Tests for the throwaway PostgreSQL test server (``tests/postgres_server.py``)."""

from __future__ import annotations

import importlib
import os
import textwrap
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from tests.postgres_server import DatabaseUrls, PostgresServer

# Registers the fixtures (postgres_server, database_urls, pg_database_url) and pytester.
# tests.postgres_server is deliberately not imported at module level: pytest must import it
# first, as a plugin, so that its asserts get rewritten (the ``pg_mod`` fixture gives access).
pytest_plugins = ["pytester", "tests.postgres_server"]

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Names of per-test databases seen so far (for the "distinct databases" test).
_seen_databases: list[str] = []


@pytest.fixture
def pg_mod() -> ModuleType:
    """The ``tests.postgres_server`` module (already imported by pytest as a plugin)."""
    return importlib.import_module("tests.postgres_server")


# --------------------------------------------------------------------------- real server


@pytest.mark.postgres
def test_server_listens_on_loopback_tcp(postgres_server: PostgresServer) -> None:
    """The server is up on 127.0.0.1:PORT with the test settings applied."""
    assert postgres_server.host == "127.0.0.1"
    assert 0 < postgres_server.port < 65536
    assert (
        postgres_server.plain_url("x")
        == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/x"
    )
    assert postgres_server.sync_url("x").startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert postgres_server.async_url("x") == postgres_server.sync_url("x")
    with postgres_server.connect() as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (
                    [
                        "fsync",
                        "synchronous_commit",
                        "full_page_writes",
                        "max_connections",
                        "listen_addresses",
                    ],
                ),
            ).fetchall()
        )
    assert settings == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "listen_addresses": "127.0.0.1",
    }
    assert postgres_server.socket_dir.is_dir()


@pytest.mark.postgres
def test_sync_psycopg_connection(pg_database_url: str) -> None:
    """A plain ``postgresql://`` URL works with psycopg directly."""
    assert pg_database_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(pg_database_url) as conn:
        row = conn.execute("SELECT 1, version(), current_database()").fetchone()
    assert row is not None
    one, version, dbname = row
    assert one == 1
    assert version.startswith("PostgreSQL ")
    assert pg_database_url.endswith("/" + dbname)


@pytest.mark.postgres
async def test_sqlalchemy_async_engine(database_urls: DatabaseUrls) -> None:
    """SQLAlchemy's async engine with the psycopg driver can talk to the per-test database."""
    assert database_urls.async_.startswith("postgresql+psycopg://")
    engine = create_async_engine(database_urls.async_)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
            version = (await conn.execute(text("SELECT version()"))).scalar_one()
            dbname = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    finally:
        await engine.dispose()
    assert "PostgreSQL" in version
    assert dbname == database_urls.name


@pytest.mark.postgres
@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_its_own_database(
    round_: int, database_urls: DatabaseUrls, postgres_server: PostgresServer
) -> None:
    """Per-test databases are distinct, start empty, and earlier ones have been dropped."""
    assert database_urls.name not in _seen_databases
    with psycopg.connect(database_urls.plain) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE marker (round int)")
        conn.execute("INSERT INTO marker VALUES (%s)", (round_,))
    with postgres_server.connect() as admin:
        existing = {name for (name,) in admin.execute("SELECT datname FROM pg_database").fetchall()}
    assert database_urls.name in existing
    assert existing.isdisjoint(_seen_databases), "an earlier test database was not dropped"
    _seen_databases.append(database_urls.name)


@pytest.mark.postgres
def test_restart_keeps_data(postgres_server: PostgresServer, pg_database_url: str) -> None:
    """``stop_server()`` makes the database unreachable; ``start_server()`` brings it back."""
    port = postgres_server.port
    with psycopg.connect(pg_database_url) as conn:
        conn.execute("CREATE TABLE survivor (value text)")
        conn.execute("INSERT INTO survivor VALUES ('still here')")
    try:
        postgres_server.stop_server()
        assert not postgres_server.is_running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(pg_database_url, connect_timeout=2)
    finally:
        postgres_server.start_server()
    assert postgres_server.is_running
    assert postgres_server.port == port
    with psycopg.connect(pg_database_url) as conn:
        assert conn.execute("SELECT value FROM survivor").fetchall() == [("still here",)]


@pytest.mark.postgres
def test_create_and_drop_database(postgres_server: PostgresServer) -> None:
    """``create_database``/``drop_database`` work even with a session still connected."""
    name = "kiln_test_manual"
    postgres_server.create_database(name)
    lingering = psycopg.connect(postgres_server.plain_url(name))
    try:
        postgres_server.drop_database(name)  # WITH (FORCE) ends the lingering session
    finally:
        lingering.close()
    with postgres_server.connect() as admin:
        row = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert row.fetchone() == (0,)
    postgres_server.drop_database(name)  # IF EXISTS: dropping twice is fine


# --------------------------------------------------------------------------- discovery


def test_find_pg_bin_honours_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType
) -> None:
    """``KILN_PG_BIN`` wins; a directory without the binaries yields None."""
    monkeypatch.setenv(pg_mod.PG_BIN_ENV, str(tmp_path))
    assert pg_mod.find_pg_bin() is None
    for name in ("initdb", "pg_ctl"):
        binary = tmp_path / name
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    assert pg_mod.find_pg_bin() == tmp_path


# --------------------------------------------------------------------------- skip policy


def test_require_or_skip_skips_by_default(
    monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType
) -> None:
    """Without ``KILN_REQUIRE_POSTGRES`` the helper skips with the given reason."""
    monkeypatch.delenv(pg_mod.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server here"):
        pg_mod.require_or_skip("no server here")


def test_require_or_skip_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType
) -> None:
    """With ``KILN_REQUIRE_POSTGRES=1`` the helper fails with the given reason."""
    monkeypatch.setenv(pg_mod.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no server here"):
        pg_mod.require_or_skip("no server here")


def test_missing_binaries_skip_reason(monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType) -> None:
    """No binaries and not required: skipped, and the reason says where we looked."""
    monkeypatch.setattr(pg_mod, "find_pg_bin", lambda: None)
    monkeypatch.delenv(pg_mod.REQUIRE_ENV, raising=False)
    monkeypatch.delenv(pg_mod.PG_BIN_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as info:
        pg_mod.ensure_postgres_available()
    assert str(info.value.msg) == (
        "PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); "
        "install postgresql or set KILN_PG_BIN"
    )


def test_missing_binaries_fail_when_required(
    monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType
) -> None:
    """No binaries and ``KILN_REQUIRE_POSTGRES=1``: the test fails instead."""
    monkeypatch.setattr(pg_mod, "find_pg_bin", lambda: None)
    monkeypatch.setenv(pg_mod.REQUIRE_ENV, "1")
    monkeypatch.delenv(pg_mod.PG_BIN_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL binaries not found"):
        pg_mod.ensure_postgres_available()


def test_root_without_postgres_user_skips(
    monkeypatch: pytest.MonkeyPatch, pg_mod: ModuleType, tmp_path: Path
) -> None:
    """As root with no ``postgres`` account the reason says so (initdb refuses root)."""
    monkeypatch.setattr(pg_mod, "find_pg_bin", lambda: tmp_path)
    monkeypatch.setattr(pg_mod, "_running_as_root", lambda: True)
    monkeypatch.setattr(pg_mod, "_server_account", lambda: None)
    monkeypatch.delenv(pg_mod.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no 'postgres' system user"):
        pg_mod.ensure_postgres_available()


_FIXTURE_USER = textwrap.dedent(
    """
    pytest_plugins = ["tests.postgres_server"]

    def test_needs_postgres(pg_database_url):
        raise AssertionError("must not run without PostgreSQL")
    """
)


@pytest.mark.parametrize(
    ("required", "outcome"),
    [(None, {"skipped": 1}), ("1", {"failed": 0, "errors": 1})],
)
def test_fixture_policy_end_to_end(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    pg_mod: ModuleType,
    required: str | None,
    outcome: dict[str, int],
) -> None:
    """Through the real fixtures (in a fresh process): skip by default, error when required."""
    monkeypatch.setenv(pg_mod.PG_BIN_ENV, str(pytester.path / "no-such-dir"))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    )
    if required is None:
        monkeypatch.delenv(pg_mod.REQUIRE_ENV, raising=False)
    else:
        monkeypatch.setenv(pg_mod.REQUIRE_ENV, required)
    pytester.makepyfile(test_uses_pg=_FIXTURE_USER)
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines(["*PostgreSQL binaries not found: KILN_PG_BIN=*no-such-dir*"])
