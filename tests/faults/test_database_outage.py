"""PostgreSQL stopped for 30 seconds under a running kiln: it keeps going, says so in one
clear line (not a traceback per tick), and catches up when the database is back."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bot.settings import Settings, TeamSettings
from kiln.runtime import open_runtime
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.postgres

OUTAGE_S = 30
TICK_S = 3


async def test_a_30_second_database_outage_is_one_line_and_kiln_catches_up(
    pg_database_url: str,
    postgres_server: PostgresServer,
    tmp_path: Path,
    adapter: FakeAdapter,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        database_url=pg_database_url,
        pepper_file=tmp_path / "kiln.key",
        teams={"ward": TeamSettings()},
    )
    runtime = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    try:
        await runtime.start_adapters()
        await enrol(runtime, *(person(f"p{n}") for n in range(10)))
        clock.set(clock.now.replace(hour=9, minute=59))
        ticker = runtime.ticker()  # the jobs kiln run schedules, called by hand here
        caplog.set_level(logging.INFO)

        await asyncio.to_thread(postgres_server.stop_server)
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < OUTAGE_S:
            clock.advance(seconds=TICK_S * 20)  # the check-ins fall due during the outage
            await ticker.run_due_now()
            await ticker.support_now()
            ticks += 1
            await asyncio.sleep(TICK_S)
        during = [r for r in caplog.records if r.levelno >= logging.WARNING]
        await asyncio.to_thread(postgres_server.start_server)

        await ticker.run_due_now()
        await ticker.support_now()
    finally:
        if not postgres_server.is_running:
            await asyncio.to_thread(postgres_server.start_server)
        await runtime.close()

    ours = [r for r in during if r.name.startswith(("bot", "kiln", "storage"))]
    assert ticks >= 5
    assert len(ours) == 1, [r.getMessage() for r in ours]  # one clear line for the outage
    [outage] = ours
    assert "database is unavailable" in outage.getMessage() and outage.exc_info is None
    back = [r.getMessage() for r in caplog.records if "database is back" in r.getMessage()]
    assert len(back) == 1
    # Caught up: everyone's check-in went out as soon as the database answered.
    assert sorted(s.recipient for s in adapter.sent if s.kind == "checkin") == sorted(
        f"p{n}" for n in range(10)
    )
