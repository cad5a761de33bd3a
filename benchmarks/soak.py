"""Soak: steady check-ins and answers for a few minutes; errors stay at 0, memory flat.

Run: ``.venv/bin/python benchmarks/soak.py [--minutes 2] [--people 150]``

Everything is on this machine: the fake Telegram Bot API (tests/fakes/) on 127.0.0.1,
kiln's real runtime with the real Telegram adapter polling it, and a SQLite database in
a scratch folder. kiln's clock moves a day per round, so every round is a new day:

1. the day's fan-out sends everyone a check-in;
2. everyone answers through Telegram (a mood button; every fourth person a note too;
   every tenth person a command), and waits for kiln's replies.

It prints each round's throughput (handled answers and sent messages per second) and
the process's resident memory (sampled every two seconds), then compares the memory of
the last third of the run with the first third. Any ERROR from kiln's own code, or an
answer that gets no reply, counts as an error. The last line is machine-readable:
``result: minutes=... rounds=... answers_per_s=... messages_per_s=... errors=...
memory_growth_pct=...``
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.telegram import TelegramAdapter
from adapters.telegram_config import TelegramConfig
from bot.catalogue import Catalogue
from bot.ratelimit import RateLimitSettings
from bot.settings import Settings, TeamSettings
from kiln.runtime import open_runtime
from storage.models import Person
from tests.fakes.fake_telegram import FakeTelegram

PEPPER = b"soak-pepper-0123456789abcdef0123"
FIRST_ID = 700_000
NOTES = ["a long shift but a kind team", "tired, the rota changed again", "fine, thanks"]
COMMANDS = ["/mytrend", "/help", "/whosees"]


class Clock:
    """kiln's clock: a weekday at 10:00 London time, moved on a day per round."""

    def __init__(self) -> None:
        self.now = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)  # a Monday, GMT

    def __call__(self) -> datetime:
        return self.now

    def next_weekday(self) -> None:
        self.now += timedelta(days=1)
        while self.now.weekday() >= 5:
            self.now += timedelta(days=1)


class ErrorCount(logging.Handler):
    """Counts ERROR records from kiln's own loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in ("bot", "adapters", "kiln", "storage"):
            self.count += 1
            self.first = self.first or f"{record.name}: {record.getMessage()}"


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


async def delivered_messages(tg: FakeTelegram) -> int:
    return len(tg.calls("sendMessage", delivered=True)) + len(
        tg.calls("editMessageText", delivered=True)
    )


async def wait_for_messages(tg: FakeTelegram, count: int, limit: float) -> bool:
    """Wait until ``count`` sends and edits in all have taken effect."""
    deadline = time.monotonic() + limit
    while await delivered_messages(tg) < count:
        if time.monotonic() > deadline:
            return False
        try:
            await tg.wait_for(
                None, len(tg.calls()) + 1, timeout=max(0.1, deadline - time.monotonic())
            )
        except AssertionError:
            return False
    return True


async def soak(minutes: float, people: int, folder: Path) -> int:
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.WARNING)
    clock = Clock()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'soak.db'}",
        pepper_file=folder / "kiln.key",
        teams={"ward": TeamSettings()},
        # One person answering a check-in is a few events a minute of kiln's clock; the
        # soak's rounds are seconds apart, so the flood guard would (rightly) step in.
        rate_limit=RateLimitSettings(burst=1000, per_minute=6000),
    )
    async with FakeTelegram(max_poll_wait=0.2) as tg:
        config = TelegramConfig(
            token=tg.token, api_url=tg.base_url, max_messages_per_second=None, poll_timeout=0.2
        )
        adapter = TelegramAdapter(config, Catalogue.load())
        runtime = await open_runtime(settings, [adapter], clock=clock, pepper=PEPPER)
        try:
            await runtime.services.people.add_all(
                [
                    Person(
                        platform="telegram",
                        platform_user_id=str(FIRST_ID + n),
                        display_name=f"Person {n}",
                        team="ward",
                        timezone="Europe/London",
                    )
                    for n in range(people)
                ]
            )
            await runtime.start_adapters()
            samples: list[float] = []

            async def sample() -> None:
                while True:
                    samples.append(rss_mb())
                    await asyncio.sleep(2)

            sampler = asyncio.create_task(sample())
            answers = messages = rounds = missing = 0
            busy = 0.0
            stop_at = time.monotonic() + minutes * 60
            while time.monotonic() < stop_at:
                started = time.monotonic()
                before = await delivered_messages(tg)
                sent = await runtime.engine.run_due()
                if sent == 0:  # a public holiday: nobody is due
                    clock.next_weekday()
                    continue
                checkins = [
                    call
                    for call in tg.calls("sendMessage", delivered=True)[-sent:]
                    if "inline_keyboard" in str(call.args.get("reply_markup"))
                ]
                expected = before + sent
                for number, call in enumerate(checkins):
                    user = int(call.args["chat_id"])
                    keys = call.args["reply_markup"]["inline_keyboard"][0]
                    mood = keys[(user + rounds) % 5]["callback_data"]
                    tg.push_update(tg.callback_update(user, mood))
                    expected += 2  # the check-in edited, and a reply
                    if number % 4 == 0:
                        tg.push_update(tg.message_update(user, NOTES[number % len(NOTES)]))
                        expected += 1
                    if number % 10 == 0:
                        tg.push_update(tg.message_update(user, COMMANDS[rounds % len(COMMANDS)]))
                        expected += 1
                    answers += 1
                if not await wait_for_messages(tg, expected, 60):
                    missing += expected - await delivered_messages(tg)
                messages += await delivered_messages(tg) - before
                busy += time.monotonic() - started
                rounds += 1
                print(
                    f"round {rounds}: {sent} check-ins, {len(checkins)} answers in "
                    f"{time.monotonic() - started:.1f}s, rss {samples[-1]:.0f} MB",
                    flush=True,
                )
                # A long run sends each person many check-ins; the fake keeps every call,
                # which is the test double's memory, not kiln's: let it go.
                tg.clear_calls()
                tg.messages.clear()
                clock.next_weekday()
            sampler.cancel()
        finally:
            await runtime.close()
    third = max(1, len(samples) // 3)
    early = sum(samples[:third]) / third
    late = sum(samples[-third:]) / third
    growth = 100 * (late - early) / early if samples else 0.0
    total_errors = errors.count + missing
    if errors.first:
        print(f"first error: {errors.first}")
    print(
        f"result: minutes={minutes:g} rounds={rounds} people={people} "
        f"answers_per_s={answers / busy if busy else 0:.1f} "
        f"messages_per_s={messages / busy if busy else 0:.1f} errors={total_errors} "
        f"memory_growth_pct={growth:.1f}"
    )
    return 1 if total_errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to run (default 2)")
    parser.add_argument("--people", type=int, default=60, help="people checked in each round")
    args = parser.parse_args()
    if not 0 < args.minutes <= 30:
        parser.error("--minutes must be between 0 and 30")
    with tempfile.TemporaryDirectory(prefix="kiln-soak-") as folder:
        return asyncio.run(soak(args.minutes, args.people, Path(folder)))


if __name__ == "__main__":
    raise SystemExit(main())
