"""The fan-out at scale: chunked claims, batched recording, and a worker dying mid-way."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.fanout import CLAIM_CHUNK, RETRY_AFTER
from bot.sendlog import SendLog, SendStarts
from kiln.runtime import Runtime
from storage.checkins import CheckinRepository, SendAttempt
from storage.models import Checkin
from tests.conftest import enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

PEOPLE = 2 * CLAIM_CHUNK + 50


class Crash(BaseException):
    """The worker's process dies: nothing after this point runs for it."""


async def rows(runtime: Runtime) -> list[Checkin]:
    async with runtime.db.session() as session:
        return list((await session.exec(select(Checkin).order_by(col(Checkin.id)))).all())


async def test_a_large_fan_out_sends_once_to_everyone_and_records_every_send(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, *(person(f"p{n:03d}") for n in range(PEOPLE)))
    assert await runtime.engine.run_due() == PEOPLE
    assert Counter(s.recipient for s in adapter.sent if s.kind == "checkin") == {
        f"p{n:03d}": 1 for n in range(PEOPLE)
    }
    stored = await rows(runtime)
    assert len(stored) == PEOPLE
    assert all(row.sent_at is not None and row.send_attempts == 1 for row in stored)
    assert {row.message_ref for row in stored} == {s.ref for s in adapter.sent}
    assert await runtime.engine.run_due() == 0  # a second tick sends nothing


async def test_a_worker_dying_mid_fan_out_strands_one_chunk_at_most(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, *(person(f"p{n:03d}") for n in range(PEOPLE)))
    sends = 0

    def die_after_150(kind: str, user: str) -> None:
        nonlocal sends
        sends += 1
        if sends > 150:
            raise Crash()

    adapter.fail = die_after_150
    running = asyncio.all_tasks()
    with pytest.raises(Crash):
        await runtime.engine.run_due()
    # The dead worker's other sends (each first marks its row as being sent, a database
    # write) die with it too, before the next leader's sends are let through.
    if dying := asyncio.all_tasks() - running - {asyncio.current_task()}:
        await asyncio.wait(dying, timeout=10)
    adapter.fail = None
    claimed = await rows(runtime)
    assert len(claimed) == CLAIM_CHUNK  # the rest were never claimed
    assert len(adapter.sent) == 150

    # The next leader, moments later: everyone not claimed gets theirs at once.
    clock.advance(seconds=5)
    assert await runtime.engine.run_due() == PEOPLE - CLAIM_CHUNK
    # The stranded part of the dead worker's chunk waits out its lease, then goes too.
    clock.advance(seconds=RETRY_AFTER.total_seconds() - 10)
    assert await runtime.engine.run_due() == 0
    clock.advance(seconds=10)
    assert await runtime.engine.run_due() == CLAIM_CHUNK - 150
    received = Counter(s.recipient for s in adapter.sent if s.kind == "checkin")
    assert received == {f"p{n:03d}": 1 for n in range(PEOPLE)}
    assert all(row.sent_at is not None for row in await rows(runtime))


async def test_the_send_log_batches_writes_and_bounds_what_waits(runtime: Runtime) -> None:
    await enrol(runtime, person("ana"), person("bob"), person("cai"))
    moment = runtime.services.clock()
    claimed = await runtime.services.checkins.claim(
        [runtime.engine.fanout.due([p], moment)[0] for p in await runtime.services.people.list()],
        moment,
    )
    batches: list[int] = []
    real = CheckinRepository(runtime.db)

    class Counting(CheckinRepository):
        async def record_attempts(self, attempts: list[SendAttempt]) -> None:  # type: ignore[override]
            batches.append(len(attempts))
            await asyncio.sleep(0.01)  # a slow database: outcomes pile up meanwhile
            await real.record_attempts(attempts)

    log = SendLog(Counting(runtime.db), max_pending=2)
    ids = [row.id for row in claimed if row.id is not None]
    await log.add(SendAttempt(ids[0], sent=True, message_ref="r0", sent_at=moment))
    await log.add(SendAttempt(ids[1], sent=True, message_ref="r1", sent_at=moment))
    # A third waits for room: at most two sends are ever unrecorded.
    third = asyncio.create_task(log.add(SendAttempt(ids[2], sent=False)))
    await asyncio.sleep(0)
    assert not third.done()
    await third
    await log.close()
    assert sum(batches) == 3 and len(batches) < 3
    stored = {row.id: row for row in await rows(runtime)}
    assert stored[ids[0]].message_ref == "r0" and stored[ids[0]].sent_at is not None
    assert stored[ids[2]].sent_at is None and stored[ids[2]].send_attempts == 1


def test_the_lease_is_longer_than_a_chunk_takes_at_platform_pace() -> None:
    # 200 check-ins at Slack's default 4/s take 50 s: well inside the two-minute lease.
    assert timedelta(seconds=CLAIM_CHUNK / 4) < RETRY_AFTER


async def test_send_starts_are_batched_and_a_row_begun_elsewhere_is_refused(
    runtime: Runtime,
) -> None:
    await enrol(runtime, *(person(f"s{n}") for n in range(6)))
    moment = runtime.services.clock()
    people = await runtime.services.people.list()
    claimed = await runtime.services.checkins.claim(
        runtime.engine.fanout.due(people, moment), moment
    )
    ids = [row.id for row in claimed if row.id is not None]
    assert await runtime.services.checkins.begin_send(ids[0], moment)  # another sender's
    calls: list[int] = []
    real = CheckinRepository(runtime.db)

    class Counting(CheckinRepository):
        async def begin_sends(self, checkin_ids: Sequence[int], now: datetime) -> set[int]:
            calls.append(len(checkin_ids))
            return await real.begin_sends(checkin_ids, now)

    starts = SendStarts(Counting(runtime.db), runtime.services.clock)
    begun = await asyncio.gather(*(starts.begin(checkin_id) for checkin_id in ids))
    assert begun == [False, True, True, True, True, True]
    assert sum(calls) == 6 and len(calls) < 6
