"""Scheduling: local time, weekdays, holidays, quiet dates, timezones, DST, restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.ports import RateLimited, Undeliverable
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter


async def tick_through(runtime: Runtime, start: datetime, end: datetime) -> list[datetime]:
    """Tick once a minute from start to end; return the moments something was sent."""
    sent_at = []
    moment = start
    while moment <= end:
        if await runtime.engine.run_due(moment):
            sent_at.append(moment)
        moment += timedelta(minutes=1)
    return sent_at


async def test_nothing_before_the_teams_time_then_exactly_once(runtime: Runtime) -> None:
    await enrol(runtime, person("ana"))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    sent = await tick_through(runtime, start, start + timedelta(hours=3))
    assert sent == [datetime(2026, 11, 23, 10, 0, tzinfo=UTC)]


async def test_weekends_holidays_and_quiet_dates_are_quiet(
    settings: Settings, adapter: FakeAdapter, clock: FakeClock
) -> None:
    settings.quiet_dates = [date(2027, 3, 30)]
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    try:
        await enrol(rt, person("eng", region="UK-ENG"), person("sco", region="UK-SCT"))
        sent: dict[date, int] = {}
        for day in (
            date(2027, 3, 27),
            date(2027, 3, 28),
            date(2027, 3, 29),
            date(2027, 3, 30),
            date(2027, 3, 31),
        ):
            # 26 March 2027 is Good Friday; Easter Monday 29 March is a bank holiday in
            # England but not in Scotland; 30 March is a configured quiet date.
            sent[day] = await rt.engine.run_due(
                datetime.combine(day, datetime.min.time(), UTC).replace(hour=11)
            )
        assert sent == {
            date(2027, 3, 27): 0,
            date(2027, 3, 28): 0,
            date(2027, 3, 29): 1,
            date(2027, 3, 30): 0,
            date(2027, 3, 31): 2,
        }
        assert next(s.recipient for s in adapter.sent if s.kind == "checkin") == "sco"
    finally:
        await rt.close()


async def test_each_person_is_checked_in_at_their_own_local_time(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("london"), person("newyork", timezone="America/New_York"))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    await tick_through(runtime, start, start + timedelta(hours=7))
    assert [s.recipient for s in adapter.sent if s.kind == "checkin"] == ["london", "newyork"]


@pytest.mark.parametrize(
    ("night", "why"),
    [
        (date(2026, 3, 29), "clocks go forward: 01:30 never happens"),
        (date(2026, 10, 25), "clocks go back: 01:30 happens twice"),
    ],
)
async def test_dst_switches_neither_skip_nor_repeat(
    runtime: Runtime, adapter: FakeAdapter, night: date, why: str
) -> None:
    await enrol(runtime, person("nina", team="night"))
    start = datetime.combine(night - timedelta(days=1), datetime.min.time(), UTC).replace(hour=22)
    sent = await tick_through(runtime, start, start + timedelta(hours=30))
    days = [moment.date() for moment in sent]
    assert len(adapter.to("nina", "checkin")) == 2, why
    assert days == [night, night + timedelta(days=1)], why


async def test_restart_and_a_second_worker_do_not_repeat_a_checkin(
    settings: Settings, clock: FakeClock
) -> None:
    first, second = FakeAdapter(), FakeAdapter()
    rt1 = await open_runtime(settings, [first], clock=clock, pepper=TEST_PEPPER)
    rt2 = await open_runtime(settings, [second], clock=clock, pepper=TEST_PEPPER)
    try:
        await enrol(rt1, person("ana"), person("ben"))
        await rt1.engine.run_due()
        await rt2.engine.run_due()
        await rt1.close()
        rt3 = await open_runtime(settings, [first], clock=clock, pepper=TEST_PEPPER)
        await rt3.engine.run_due()
        await rt3.close()
        assert len(first.sent) + len(second.sent) == 2
    finally:
        await rt2.close()


async def test_a_person_who_has_gone_is_marked_and_the_rest_carry_on(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"), person("gone"), person("cara"))
    adapter.fail = lambda kind, user: Undeliverable("account_inactive") if user == "gone" else None

    assert await runtime.engine.run_due() == 2

    gone = await runtime.services.people.find("fake", "gone")
    assert gone is not None and gone.undeliverable
    assert sorted(s.recipient for s in adapter.sent) == ["ana", "cara"]


async def test_rate_limits_are_waited_out_and_delivered_once(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    failures = iter([RateLimited(0.01)])
    adapter.fail = lambda kind, user: next(failures, None)

    assert await runtime.engine.run_due() == 1
    assert len(adapter.to("ana", "checkin")) == 1


async def test_a_failed_send_is_retried_on_a_later_tick(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana"))
    outage = {"left": 1}

    def flaky(kind: str, user: str) -> Exception | None:
        if outage["left"]:
            outage["left"] -= 1
            raise OSError("platform unreachable")
        return None

    adapter.fail = flaky
    assert await runtime.engine.run_due() == 0
    clock.advance(minutes=1)
    assert await runtime.engine.run_due() == 0  # too soon: the retry waits a little
    clock.advance(minutes=2)
    assert await runtime.engine.run_due() == 1
    assert len(adapter.to("ana", "checkin")) == 1


async def test_checkin_now_reaches_everyone_in_scope_without_one_today(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    clock.set(clock.now.replace(hour=1))
    await enrol(runtime, person("ana"), person("ben"), person("nina", team="night"))
    assert await runtime.engine.run_due() == 0  # 01:00: nobody is due yet

    assert await runtime.engine.checkin_now(team="ward") == 2
    assert await runtime.engine.checkin_now() == 1
    assert await runtime.engine.checkin_now() == 0
