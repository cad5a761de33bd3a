"""The scheduler locks themselves: a file lock beside SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from storage.locks import (
    AlwaysLeader,
    FileLeaderLock,
    LockError,
    PostgresLeaderLock,
    SchedulerLocked,
    claim_sqlite_scheduler,
    scheduler_lock,
    sqlite_lock_path,
)


async def test_only_one_file_lock_holder_until_it_releases(tmp_path: Path) -> None:
    path = tmp_path / "kiln.db.scheduler.lock"
    first, second = FileLeaderLock(path), FileLeaderLock(path)
    assert await first.try_acquire()
    assert await first.try_acquire()  # asking again while holding is harmless
    assert not await second.try_acquire()
    assert second.holder_pid() is not None
    await first.release()
    assert not await first.still_held()
    assert await second.try_acquire()
    assert await second.still_held()
    await second.release()


async def test_a_second_sqlite_scheduler_is_refused_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kiln.db'}"
    holder = scheduler_lock(url)
    assert isinstance(holder, FileLeaderLock)
    await claim_sqlite_scheduler(holder)
    other = scheduler_lock(url)
    assert isinstance(other, FileLeaderLock)
    with pytest.raises(SchedulerLocked) as refused:
        await claim_sqlite_scheduler(other)
    message = str(refused.value)
    assert "\n" not in message
    assert "already running the scheduler on kiln.db" in message
    assert "PostgreSQL" in message
    await holder.release()


def test_lock_paths_and_kinds(tmp_path: Path) -> None:
    assert sqlite_lock_path(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db.scheduler.lock"
    assert sqlite_lock_path("sqlite://") is None
    assert isinstance(scheduler_lock("sqlite:///:memory:"), AlwaysLeader)
    assert isinstance(scheduler_lock("postgresql://u@127.0.0.1:1/x"), PostgresLeaderLock)


@pytest.mark.postgres
async def test_one_advisory_lock_holder_and_release_hands_it_over(pg_database_url: str) -> None:
    first, second = PostgresLeaderLock(pg_database_url), PostgresLeaderLock(pg_database_url)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await first.still_held()
        assert not await second.still_held()
        await first.release()
        assert await second.try_acquire()
        assert not await first.try_acquire()
    finally:
        await first.release()
        await second.release()


@pytest.mark.postgres
async def test_a_killed_session_loses_the_lock_and_the_other_takes_it(
    pg_database_url: str,
) -> None:
    leader, follower = PostgresLeaderLock(pg_database_url), PostgresLeaderLock(pg_database_url)
    try:
        assert await leader.try_acquire()
        assert not await follower.try_acquire()
        # What the server does when the leader's process dies: its session ends.
        async with await psycopg.AsyncConnection.connect(pg_database_url, autocommit=True) as admin:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'kiln scheduler lock'"
                " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            )
        assert not await leader.still_held()
        assert not leader.held
        assert await follower.try_acquire()
    finally:
        await leader.release()
        await follower.release()


async def test_an_unreachable_database_is_a_lock_error_not_a_lock() -> None:
    lock = PostgresLeaderLock("postgresql://nobody@127.0.0.1:9/none", timeout=2)
    with pytest.raises(LockError):
        await asyncio.wait_for(lock.try_acquire(), 10)
    assert not await lock.still_held()


@pytest.mark.postgres
def test_workers_migrating_a_fresh_database_together_all_start(
    pg_database_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    env["KILN_DATABASE_URL"] = pg_database_url
    upgrades = [
        subprocess.Popen(
            [sys.executable, "-m", "kiln", "db", "upgrade"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for upgrade in upgrades:
        out, err = upgrade.communicate(timeout=120)
        assert upgrade.returncode == 0, err[-2000:]
        assert "up to date" in out
