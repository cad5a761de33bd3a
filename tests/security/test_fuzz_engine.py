"""Hypothesis-made engine events, straight into `Engine.handle`: it never raises.

Any adapter, present or future, hands the engine these three event types; whatever
their fields hold (someone else's button, a stale one, a forged value, huge or odd
text, unknown platforms and people) the engine answers or ignores, and never
throws. Sends fail now and then, as platforms do.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.choices import Action
from bot.events import ChoiceSelected, CommandReceived, InboundEvent, MessageReceived
from bot.ports import DeliveryError, RateLimited, Undeliverable
from bot.ratelimit import RateLimitSettings
from bot.settings import Settings, SupportSettings
from kiln.runtime import Runtime, open_runtime
from tests.conftest import MONDAY_10AM, TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter
from tests.security.loop_thread import ErrorWatch, LoopThread
from tests.security.payloads import hostile_text

USERS = ["ana", "ben", "vic", "meg", "stranger"]
COMMANDS = [
    "checkin", "pause", "resume", "optout", "optin", "support", "mytrend", "help", "start",
    "teammood", "dashboard", "available", "away", "cases", "mydata", "forgetme", "whosees",
    "timezone", "", "🙂", "DROP",
]  # fmt: skip


@dataclass
class Harness:
    thread: LoopThread
    runtime: Runtime
    adapter: FakeAdapter
    clock: FakeClock
    ids: itertools.count[int]


def flaky(rng: random.Random) -> object:
    def fail(_kind: str, _recipient: str) -> DeliveryError | None:
        roll = rng.random()
        if roll < 0.05:
            return DeliveryError("platform down")
        if roll < 0.07:
            return RateLimited(0.0)
        if roll < 0.08:
            return Undeliverable("blocked")
        return None

    return fail


async def _start(tmp_path: Path) -> Harness:
    adapter = FakeAdapter()
    clock = FakeClock(MONDAY_10AM)
    kiln_settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'kiln.db'}",
        pepper_file=tmp_path / "kiln.key",
        support=SupportSettings(escalation_channel="fake:#leads"),
        rate_limit=RateLimitSettings(burst=1000, per_minute=6000),
    )
    runtime = await open_runtime(kiln_settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    await enrol(
        runtime,
        person("ana"),
        person("ben", locale="cy"),
        person("vic", team="pharmacy", roles="staff;volunteer"),
        person("meg", roles="staff;manager", manages="ward"),
    )
    await runtime.start_adapters()
    await runtime.engine.run_due()
    adapter.fail = flaky(random.Random(5))  # type: ignore[assignment]
    return Harness(LoopThread.__new__(LoopThread), runtime, adapter, clock, itertools.count())


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    thread = LoopThread()
    made = thread.run(_start(tmp_path))
    made.thread = thread
    yield made
    thread.run(made.runtime.close())
    thread.close()


@st.composite
def events(draw: st.DrawFn, harness: Harness) -> InboundEvent:
    event_id = draw(st.integers(0, 10**9).map(str) | st.sampled_from(["same", ""]))
    event_id = draw(st.just(event_id) | st.text(max_size=300))
    platform = draw(st.sampled_from(["fake", "fake", "fake", "slack", "telegram", ""]))
    user = draw(st.sampled_from(USERS) | st.text(max_size=140))
    extra = {
        "display_name": draw(st.none() | st.text(max_size=300)),
        "timezone": draw(st.none() | st.sampled_from(["Europe/Paris", "Nowhere/Land", "", "UTC"])),
        "locale": draw(st.none() | st.sampled_from(["cy", "en-GB", "xx", "", "🙂"])),
    }
    kind = draw(st.sampled_from(["message", "command", "choice", "choice"]))
    if kind == "message":
        return MessageReceived(event_id, platform, user, text=draw(hostile_text), **extra)
    if kind == "command":
        name = draw(st.sampled_from(COMMANDS) | st.text(max_size=20))
        args = tuple(draw(st.lists(hostile_text | st.sampled_from(["3", "0", "-1", "9" * 30]))))
        return CommandReceived(event_id, platform, user, name=name, args=args, **extra)
    # Shaped like kiln's own values (for anyone's check-in, request or case) or junk.
    action = draw(st.sampled_from([a.value for a in Action]))
    numbers = [str(n) for n in draw(st.lists(st.integers(-1, 12), max_size=2))]
    detail = draw(st.lists(st.sampled_from(["asked", "crisis", "x"]), max_size=1))
    shaped = ":".join([action, *numbers, *detail])
    value = draw(st.just(shaped) | st.text(max_size=80))
    ref = draw(st.none() | st.text(max_size=40) | st.sampled_from(["fake-msg-1", "1:2"]))
    return ChoiceSelected(event_id, platform, user, value=value, message_ref=ref, **extra)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_event_is_answered_or_ignored_never_raised(
    harness: Harness, data: st.DataObject
) -> None:
    with ErrorWatch() as errors:
        for _ in range(data.draw(st.integers(1, 4))):
            harness.thread.run(harness.runtime.engine.handle(data.draw(events(harness))))
        if data.draw(st.integers(0, 9)) == 0:
            harness.clock.advance(minutes=data.draw(st.integers(1, 300)))
            harness.thread.run(harness.runtime.engine.support_tick())
            harness.thread.run(harness.runtime.engine.run_due())
        assert errors.records == [], errors.describe()


def test_the_fuzzed_engine_still_runs_a_normal_day(harness: Harness) -> None:
    # After hostile input, plain use still works: a new day's check-in, answered.
    harness.adapter.fail = None
    harness.clock.advance(days=1)
    engine = harness.runtime.engine
    assert harness.thread.run(engine.run_due(harness.clock.now + timedelta(minutes=1))) >= 1
    checkin = harness.adapter.to("ana", "checkin")[-1].message
    value = next(b.value for b in checkin.all_buttons if b.label == "4 Good")
    harness.thread.run(engine.handle(ChoiceSelected("fresh", "fake", "ana", value=value)))
    assert harness.adapter.to("ana", "update")[-1].message.text == "Today's check-in: 4 Good"
