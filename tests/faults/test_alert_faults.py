"""Alerts under a Bot API failing 30% of the time: every one delivered, none twice.

Twenty people ask for a Wellbeing Warrior at once through the real Telegram adapter
while the fake Bot API fails a seeded 30% of sends in every way it can. The outbox
retries what certainly failed, never what may have arrived, and the support tick
(every 10 seconds in kiln run) carries on until everything is out.
"""

from __future__ import annotations

from collections import Counter

from sqlmodel import col, select

from bot.events import ChoiceSelected, CommandReceived
from bot.settings import Settings, SupportSettings
from storage.support import OutboxItem, OutboxStatus
from tests.adapters.telegram_helpers import make_adapter, telegram_person, telegram_runtime
from tests.conftest import enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.http_fake import Faults

ASKERS = [200_000 + n for n in range(20)]
VOLUNTEERS = [210_000 + n for n in range(10)]


def alerts_per_request(tg: FakeTelegram) -> Counter[str]:
    """Alerts that took effect, by the request their `I'll reach out` button claims."""
    counts: Counter[str] = Counter()
    for call in tg.calls("sendMessage", delivered=True):
        markup = call.args.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for key in row:
                if str(key.get("callback_data", "")).startswith("claim:"):
                    counts[key["callback_data"]] += 1
    return counts


async def test_every_alert_is_delivered_exactly_once_under_30_percent_failures(
    settings: Settings, clock: FakeClock
) -> None:
    settings.support = SupportSettings(volunteer_daily_cap=5)
    async with FakeTelegram() as tg:
        adapter = make_adapter(tg, read_timeout=0.3, max_messages_per_second=None)
        async with telegram_runtime(settings, tg, clock, adapter) as (runtime, _):
            await enrol(
                runtime,
                *(telegram_person(uid, f"Asker {n}") for n, uid in enumerate(ASKERS)),
                *(
                    telegram_person(uid, f"Warrior {n}", team=f"team-{n}", roles="staff;volunteer")
                    for n, uid in enumerate(VOLUNTEERS)
                ),
            )
            await runtime.start_adapters()
            faults = Faults(rate=0.3, seed=7, methods={"sendMessage"}, timeout_delay=1.0)
            tg.faults = faults
            engine = runtime.engine
            for number, user in enumerate(ASKERS):
                await engine.handle(
                    CommandReceived(f"s{number}", "telegram", str(user), name="support")
                )
                # The offer's `Yes, please` (its value is the engine's own, not parsed here).
                offer = runtime.engine.support.offer_buttons(
                    await runtime.services.people.find("telegram", str(user))  # type: ignore[arg-type]
                )
                await engine.handle(
                    ChoiceSelected(f"y{number}", "telegram", str(user), value=offer[0][0].value)
                )
            # The support tick, every 10 seconds, for ten minutes: less than the claim
            # timeout, so every alert seen is a first alert.
            for _ in range(60):
                clock.advance(seconds=10)
                await runtime.support_tick(clock.now)
            async with runtime.db.session() as session:
                waiting = (
                    await session.exec(
                        select(OutboxItem).where(
                            col(OutboxItem.status).in_(
                                [OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]
                            )
                        )
                    )
                ).all()

    per_request = alerts_per_request(tg)
    assert faults.total >= 0.15 * faults.considered, faults.injected
    assert {"timeout", "bad_json", "500", "429", "drop"} <= set(faults.injected)
    assert len(per_request) == len(ASKERS), per_request  # every request reached a warrior
    assert set(per_request.values()) == {1}, per_request  # and none twice
    assert waiting == []  # the outbox is empty: nothing left to retry
