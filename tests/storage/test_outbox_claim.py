"""Outbox claims across workers: two engines, each with its own connections, one database.

On PostgreSQL the claim selects ``FOR UPDATE SKIP LOCKED``; on SQLite the conditional
UPDATE alone decides. Either way no row is delivered twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.messages import Message
from bot.outbox import LEASE, Outbox
from bot.settings import Settings
from bot.support_kinds import Outgoing
from kiln.runtime import Runtime, open_runtime
from storage.database import Database
from storage.outbox import OutboxRepository
from storage.support import Notice, OutboxItem, OutboxStatus
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ROWS = 300


class ToChannel:
    """Renders each row as a message naming it, to its destination channel."""

    async def render(self, item: OutboxItem, now: datetime) -> Outgoing | None:
        assert item.destination is not None
        platform, channel = item.destination.split(":", 1)
        return Outgoing(platform, channel, Message(f"row {item.id}"), alert=True)


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kiln.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture
async def workers(database_url: str, tmp_path: Path) -> AsyncIterator[list[Runtime]]:
    """Two runtimes on one database, as two worker processes would have."""
    settings = Settings(database_url=database_url, pepper_file=tmp_path / "kiln.key")
    clock = FakeClock(NOW)
    first = await open_runtime(settings, [FakeAdapter()], clock=clock, pepper=TEST_PEPPER)
    second = await open_runtime(
        settings, [FakeAdapter()], clock=clock, pepper=TEST_PEPPER, migrate=False
    )
    yield [first, second]
    await first.close()
    await second.close()


async def enqueue(db: Database, count: int) -> None:
    notices = [Notice("test", destination=f"fake:C{n}") for n in range(count)]
    await OutboxRepository(db).enqueue(None, notices, NOW)


async def test_two_workers_draining_together_deliver_every_row_exactly_once(
    workers: list[Runtime],
) -> None:
    await enqueue(workers[0].db, ROWS)
    outboxes = [
        Outbox(rt.services, OutboxRepository(rt.db), ToChannel(), jitter=lambda: 0.5)
        for rt in workers
    ]
    sent = await asyncio.gather(*(outbox.drain(NOW, batches=ROWS) for outbox in outboxes))
    assert sum(sent) == ROWS
    delivered = Counter(
        sent.message.text
        for rt in workers
        for adapter in rt.adapters
        if isinstance(adapter, FakeAdapter)
        for sent in adapter.sent
    )
    assert len(delivered) == ROWS and set(delivered.values()) == {1}
    rows = await OutboxRepository(workers[1].db).items()
    assert {row.status for row in rows} == {OutboxStatus.SENT.value}
    assert {row.attempts for row in rows} == {1}


async def test_claims_at_the_same_moment_take_disjoint_rows(workers: list[Runtime]) -> None:
    await enqueue(workers[0].db, ROWS)
    repos = [OutboxRepository(rt.db) for rt in workers]

    async def claim_all(repo: OutboxRepository) -> list[int]:
        ids: list[int] = []
        while batch := await repo.claim(NOW, LEASE, limit=7):
            ids += [item.id for item in batch if item.id is not None]
        return ids

    first, second = await asyncio.gather(*(claim_all(repo) for repo in repos))
    assert not set(first) & set(second)
    assert len(first) + len(second) == ROWS


@pytest.mark.postgres
async def test_a_claim_skips_rows_another_worker_has_locked_without_waiting(
    pg_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=pg_database_url, pepper_file=tmp_path / "kiln.key")
    holder = await open_runtime(settings, clock=FakeClock(NOW), pepper=TEST_PEPPER)
    other = Database(pg_database_url)
    try:
        await enqueue(holder.db, 20)
        locked = asyncio.Event()
        release = asyncio.Event()

        async def hold_first_five() -> None:
            # Another worker in the middle of its own claim: five rows locked, uncommitted.
            async with holder.db.session() as session:
                query = select(OutboxItem).order_by(col(OutboxItem.id)).limit(5).with_for_update()
                held = (await session.exec(query)).all()
                assert len(held) == 5
                locked.set()
                await release.wait()

        holding = asyncio.create_task(hold_first_five())
        await locked.wait()
        taken = await asyncio.wait_for(
            OutboxRepository(other).claim(NOW, timedelta(minutes=5), limit=10), 5
        )
        assert [item.id for item in taken] == list(range(6, 16))
        release.set()
        await holding
        rest = await OutboxRepository(other).claim(NOW, timedelta(minutes=5), limit=50)
        assert sorted(item.id for item in rest) == [1, 2, 3, 4, 5, 16, 17, 18, 19, 20]
    finally:
        await other.dispose()
        await holder.close()
