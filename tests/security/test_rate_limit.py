"""A flood slows down politely; crisis words, /support and buttons always get through."""

from __future__ import annotations

from bot.events import CommandReceived, MessageReceived
from bot.ratelimit import RateLimiter, RateLimitSettings, Verdict
from bot.settings import Settings
from kiln.runtime import Runtime
from tests.bot.helpers import command, press, say
from tests.conftest import enrol, person
from tests.fakes.fake_adapter import FakeAdapter

SLOW_DOWN = "You're sending me a lot of messages at once"
CRISIS = "I can't go on, I want to end my life"


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def small_limiter(ticks: Ticks, burst: int = 3) -> RateLimiter:
    return RateLimiter(RateLimitSettings(burst=burst, per_minute=6, notice_seconds=60), now=ticks)


def test_a_bucket_allows_the_burst_then_tells_once_per_window_then_refills() -> None:
    ticks = Ticks()
    limiter = small_limiter(ticks)
    verdicts = [limiter.check("fake:ana") for _ in range(8)]
    assert (
        verdicts == [Verdict.ALLOW] * 3 + [Verdict.REFUSE_AND_TELL] + [Verdict.REFUSE_QUIETLY] * 4
    )
    assert limiter.check("fake:ben") is Verdict.ALLOW  # one person's flood is theirs alone

    ticks.now += 10  # 6 a minute: one token back every 10 seconds
    assert limiter.check("fake:ana") is Verdict.ALLOW
    assert limiter.check("fake:ana") is Verdict.REFUSE_QUIETLY  # still inside the window
    ticks.now += 60
    assert [limiter.check("fake:ana") for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check("fake:ana") is Verdict.REFUSE_AND_TELL  # a new window, one notice


def test_memory_stays_bounded_however_many_people_write() -> None:
    limiter = RateLimiter(RateLimitSettings(), max_senders=100)
    for number in range(10_000):
        limiter.check(f"telegram:{number}")
    assert len(limiter) == 100


def test_the_limit_is_a_setting_with_sane_bounds() -> None:
    assert Settings(rate_limit={"burst": 5, "per_minute": 10}).rate_limit.burst == 5
    assert Settings().rate_limit == RateLimitSettings()


async def test_a_flood_gets_one_polite_slow_down_and_no_crash(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    ticks = Ticks()
    runtime.engine.guard.limiter = small_limiter(ticks, burst=5)
    await enrol(runtime, person("ana"), person("ben"))

    for number in range(100):
        await say(runtime, adapter, "ana", f"hello {number}")
    for _ in range(20):
        await command(runtime, adapter, "ana", "help")
    await say(runtime, adapter, "ben", "hello")

    texts = [sent.message.text for sent in adapter.to("ana")]
    assert len(texts) == 6  # five answered, then one notice for 115 more
    assert sum(SLOW_DOWN in text for text in texts) == 1 and SLOW_DOWN in texts[-1]
    assert "/support" in texts[-1]
    assert len(adapter.to("ben")) == 1 and SLOW_DOWN not in adapter.last("ben").message.text

    ticks.now += 61  # the flood stopped; after a while, answered again
    await command(runtime, adapter, "ana", "help")
    assert adapter.last("ana").message.text.startswith("Here's what I can do")


async def test_crisis_words_support_and_buttons_still_get_through_when_limited(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    ticks = Ticks()
    runtime.engine.guard.limiter = small_limiter(ticks, burst=2)
    await enrol(runtime, person("ana"))
    await runtime.engine.run_due()
    checkin = adapter.last("ana").message
    for _ in range(10):
        await say(runtime, adapter, "ana", "spam")
    adapter.clear()

    await say(runtime, adapter, "ana", CRISIS)
    crisis = adapter.last("ana").message.text
    assert "116 123" in crisis and "999" in crisis

    await command(runtime, adapter, "ana", "support")
    await say(runtime, adapter, "ana", "support")
    offers = [s.message.text for s in adapter.to("ana") if "116 123" in s.message.text]
    assert len(offers) == 3

    await press(runtime, adapter, "ana", checkin, "4 Good")
    assert adapter.to("ana", "update")[-1].message.text == "Today's check-in: 4 Good"
    assert not any(SLOW_DOWN in s.message.text for s in adapter.to("ana"))


async def test_strangers_flooding_are_told_once_each_burst_then_ignored(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    ticks = Ticks()
    runtime.engine.guard.limiter = small_limiter(ticks, burst=3)
    for number in range(50):
        # A stranger guessing invite codes gets no more tries than the burst.
        await runtime.engine.handle(
            CommandReceived(f"e{number}", "fake", "stranger", name="start", args=(f"c{number}",))
        )
    assert len(adapter.to("stranger")) == 3
    assert all("don't recognise that invite" in s.message.text for s in adapter.to("stranger"))


async def test_words_after_a_slash_are_screened_like_any_message(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    # On Slack everything after /kiln is a "command": "/kiln I can't go on ...".
    await enrol(runtime, person("ana"))
    words = CRISIS.split()
    await runtime.engine.handle(
        CommandReceived("e1", "fake", "ana", name=words[0], args=tuple(words[1:]))
    )
    assert "116 123" in adapter.last("ana").message.text

    await runtime.engine.handle(CommandReceived("e2", "fake", "ana", name="frobnicate"))
    assert adapter.last("ana").message.text.startswith("Sorry, I don't know that one.")


async def test_a_repeat_of_a_limited_event_is_still_just_one_event(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    event = MessageReceived("same", "fake", "ana", text="hello")
    for _ in range(5):
        await runtime.engine.handle(event)  # a platform retrying one delivery
    assert len(adapter.to("ana")) == 1
