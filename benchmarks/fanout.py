"""The daily fan-out: 10,000 people due at once, kiln against a bare send loop.

Run: ``.venv/bin/python benchmarks/fanout.py [--people N] [--rounds N] [--sqlite]``

Starts a throwaway PostgreSQL (or a SQLite file with ``--sqlite``) and the fake Slack and
Telegram API servers (tests/fakes/, in a process of their own on 127.0.0.1), enrols N
people (half on each platform) who are all due at the same minute, and switches the
platforms' pacing off. Then, in one run, alternately:

- **bare**: a loop that sends the same N check-in messages, already rendered, through
  the same adapters (python-telegram-bot and slack_sdk clients) with the same concurrency;
- **kiln**: ``Engine.run_due(now)``, kiln's whole fan-out: select who is due, claim their
  check-in rows, render, send through the same clients, and record each send.

Each round uses fresh adapters, so neither side gains from the other's warm caches
(Slack DM channel ids, connections), and a new day for kiln. The best time of each side
is compared. This process is the worker: its peak RSS is the memory of a worker serving
N people (adapters started, people loaded, N check-ins sent twice over).

The last line is machine-readable: ``result: ratio=... checkins_per_s=... rss_mb=...``
(ratio = kiln's time / the bare loop's time).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import Fakes, machine, peak_rss_mb, postgres, result

from adapters.slack import SlackAdapter
from adapters.telegram import TelegramAdapter
from adapters.telegram_config import TelegramConfig
from bot.catalogue import Catalogue
from bot.messages import Message
from bot.ports import ChatAdapter
from bot.settings import CheckinSettings, Settings, TeamSettings
from kiln.cli import settle_memory
from kiln.runtime import Runtime, open_runtime
from storage.models import Checkin, Person

PEPPER = b"benchmark-pepper-0123456789abcdef"
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Monday 23 November 2026, 10:00 in London: everyone's 09:00 check-in is due.
FIRST_DAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CONCURRENCY = 20  # kiln's default checkin.fanout_concurrency
SIGNING_SECRET = "benchmark-signing-secret"  # noqa: S105 - a fake's secret
#: Start another round only if the ones so far took less than this (the run must stay
#: under 5 minutes on a 2-core machine, however busy).
ROUND_BUDGET_S = 110.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_adapters(fakes: Fakes, catalogue: Catalogue) -> list[ChatAdapter]:
    """Fresh Telegram and Slack adapters on the fakes, pacing off."""
    telegram = TelegramAdapter(
        TelegramConfig(
            token=fakes.telegram_token,
            api_url=fakes.telegram_api_url,
            max_messages_per_second=None,
            poll_timeout=1.0,
        ),
        catalogue,
    )
    slack = SlackAdapter(
        "xoxb-benchmark",
        signing_secret=SIGNING_SECRET,
        api_url=fakes.slack_api_url,
        listen="127.0.0.1",
        port=free_port(),
        max_messages_per_second=None,
        catalogue=catalogue,
    )
    return [telegram, slack]


def people(count: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n in range(count):
        on_telegram = n % 2 == 0
        rows.append(
            {
                "platform": "telegram" if on_telegram else "slack",
                "platform_user_id": str(100_000 + n) if on_telegram else f"U{100_000 + n}",
                "display_name": f"Person {n} Example",
                "team": f"team-{n % 200}",
                "timezone": "Europe/London",
                "locale": "cy" if n % 10 == 0 else "en",
                "region": "UK",
                "roles": "staff",
                "manages": "",
                "opted_out": False,
                "undeliverable": False,
                "created_at": FIRST_DAY - timedelta(days=30),
            }
        )
    return rows


async def seed(runtime: Runtime, count: int) -> None:
    db = runtime.db
    rows = people(count)
    async with db.session() as session:
        for start in range(0, len(rows), 500):
            await session.exec(db.insert(Person).values(rows[start : start + 500]))


async def open_worker(
    settings: Settings, fakes: Fakes, now: datetime, *, serve: bool = True
) -> Runtime:
    """A worker: runtime, adapters on the fakes, and (``serve``) the adapters started."""
    catalogue = Catalogue.load()
    runtime = await open_runtime(
        settings, make_adapters(fakes, catalogue), clock=lambda: now, pepper=PEPPER
    )
    if serve:
        await runtime.start_adapters()
    return runtime


async def rendered(runtime: Runtime, now: datetime) -> list[tuple[ChatAdapter, str, Message]]:
    """The messages kiln would send, rendered before the clock starts (for the bare loop)."""
    conversation = runtime.engine.conversation
    adapters = {adapter.platform: adapter for adapter in runtime.adapters}
    out = []
    for index, person in enumerate(await runtime.services.people.schedulable()):
        day = runtime.services.calendar.local_date(person.team, person.timezone, now)
        checkin = Checkin(id=10_000_000 + index, person_id=person.id or 0, local_date=day)
        message = conversation.checkin_message(person, checkin)
        out.append((adapters[person.platform], person.platform_user_id, message))
    return out


async def bare_loop(sends: Sequence[tuple[ChatAdapter, str, Message]]) -> tuple[float, int]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def send(adapter: ChatAdapter, user: str, message: Message) -> bool:
        async with limit:
            await adapter.send_checkin(user, message)
            return True

    start = time.perf_counter()
    sent = await asyncio.gather(*(send(*item) for item in sends))
    return time.perf_counter() - start, sum(sent)


async def bench(args: argparse.Namespace, database_url: str, fakes: Fakes) -> dict[str, float]:
    settings = Settings(
        database_url=database_url,
        pepper_file=Path(tempfile.gettempdir()) / "kiln-bench-unused.key",
        teams={f"team-{n}": TeamSettings(time="09:00", weekdays=EVERY_DAY) for n in range(200)},
        checkin=CheckinSettings(fanout_concurrency=CONCURRENCY),
        log_level="WARNING",
    )
    setup = await open_worker(settings, fakes, FIRST_DAY, serve=False)
    await seed(setup, args.people)
    sends = await rendered(setup, FIRST_DAY)
    await setup.close()
    print(f"{args.people} people enrolled; {machine()}", flush=True)
    settle_memory()  # as `kiln run` does once it has started

    bare_times, kiln_times = [], []
    started = time.monotonic()
    for round_no in range(args.rounds):
        if round_no and time.monotonic() - started > ROUND_BUDGET_S:
            print(f"skipping rounds {round_no + 1}+: a busy machine; 5 minutes is the limit")
            break
        now = FIRST_DAY + timedelta(days=round_no)
        fakes.ask("clear")
        worker = await open_worker(settings, fakes, now)
        try:
            bare_adapters = {a.platform: a for a in make_adapters(fakes, Catalogue.load())}
            bare_sends = [(bare_adapters[a.platform], u, m) for a, u, m in sends]
            took, sent = await bare_loop(bare_sends)
            for adapter in bare_adapters.values():
                await adapter.stop()
            count = fakes.ask("count")
            assert sent == args.people == count["telegram"] + count["slack"], (sent, count)
            bare_times.append(took)
            print(f"round {round_no + 1}: bare loop  {took:6.2f} s", flush=True)

            fakes.ask("clear")
            start = time.perf_counter()
            delivered = await worker.engine.run_due(now)
            took = time.perf_counter() - start
            count = fakes.ask("count")
            assert delivered == args.people == count["telegram"] + count["slack"], (
                delivered,
                count,
            )
            kiln_times.append(took)
            print(f"round {round_no + 1}: kiln       {took:6.2f} s", flush=True)
        finally:
            await worker.close()
    return {"bare": min(bare_times), "kiln": min(kiln_times), "rounds": len(kiln_times)}


async def run(args: argparse.Namespace) -> dict[str, float]:
    with Fakes() as fakes:
        if args.sqlite:
            with tempfile.TemporaryDirectory() as folder:
                return await bench(args, f"sqlite:///{folder}/kiln.db", fakes)
        with postgres() as url:
            return await bench(args, url, fakes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2, help="bare/kiln pairs; best counts")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    times = asyncio.run(run(args))
    database = "SQLite" if args.sqlite else "PostgreSQL"
    ratio = times["kiln"] / times["bare"]
    rate = args.people / times["kiln"]
    rss = peak_rss_mb()
    print(
        f"{database}, {args.people} check-ins, concurrency {CONCURRENCY}, pacing off: "
        f"bare loop {times['bare']:.2f} s ({args.people / times['bare']:.0f}/s), "
        f"kiln {times['kiln']:.2f} s ({rate:.0f}/s), best of {times['rounds']:.0f}"
    )
    print(f"peak RSS of this worker: {rss:.0f} MB")
    result(ratio=f"{ratio:.2f}", checkins_per_s=f"{rate:.0f}", rss_mb=f"{rss:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
