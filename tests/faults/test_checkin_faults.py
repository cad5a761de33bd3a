"""A full day's fan-out to 500 people with 30% of Bot API calls failing.

Every kind of fault the fake can inject: 500s, 429 with Retry-After, timeouts (the
message arrives, the answer does not), dropped connections and garbled answers (the
message arrives, the answer is not JSON). At the end each person has had exactly one
check-in: counted at the fake, from the sends that really took effect.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlmodel import select

from bot.settings import Settings
from storage.models import Checkin
from tests.adapters.telegram_helpers import make_adapter, telegram_person, telegram_runtime
from tests.conftest import enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.http_fake import Faults

PEOPLE = 500
FIRST_ID = 300_000


def checkins_per_chat(tg: FakeTelegram) -> Counter[int]:
    """Check-ins that took effect, per chat (a check-in is a message with mood buttons)."""
    counts: Counter[int] = Counter()
    for call in tg.calls("sendMessage", delivered=True):
        markup = call.args.get("reply_markup") or {}
        labels = [key["text"] for row in markup.get("inline_keyboard", []) for key in row]
        if "3 Okay" in labels:
            counts[call.args["chat_id"]] += 1
    return counts


async def test_a_days_fan_out_under_30_percent_failures_reaches_everyone_once(
    settings: Settings, clock: FakeClock
) -> None:
    settings.checkin.fanout_concurrency = 50
    started = time.monotonic()
    async with FakeTelegram() as tg:
        faults = Faults(rate=0.3, seed=20261123, methods={"sendMessage"}, timeout_delay=1.0)
        adapter = make_adapter(tg, read_timeout=0.3, max_messages_per_second=None)
        async with telegram_runtime(settings, tg, clock, adapter) as (runtime, _):
            await enrol(
                runtime,
                *(telegram_person(FIRST_ID + n, f"Person {n}") for n in range(PEOPLE)),
            )
            tg.faults = faults
            clock.set(clock.now.replace(hour=9, minute=59))
            # The scheduler's day, from 09:59 to 20:00: ticks 3 minutes apart while
            # retries are due (each crosses the 2-minute retry window), then hourly.
            moments = [clock.now + timedelta(minutes=3 * n) for n in range(12)]
            moments += [clock.now.replace(hour=hour, minute=30) for hour in range(11, 20)]
            for moment in moments:
                clock.set(moment)
                await runtime.engine.run_due()
            async with runtime.db.session() as session:
                rows = (await session.exec(select(Checkin))).all()

    per_chat = checkins_per_chat(tg)
    assert faults.total >= 0.2 * faults.considered, faults.injected  # really 30% failing
    assert set(faults.injected) == {"500", "429", "timeout", "drop", "bad_json"}
    assert len(rows) == PEOPLE and all(row.sent_at is not None for row in rows)
    assert sorted(per_chat) == [FIRST_ID + n for n in range(PEOPLE)]  # nobody missed
    assert set(per_chat.values()) == {1}, Counter(per_chat.values())  # nobody twice
    assert time.monotonic() - started < 60
