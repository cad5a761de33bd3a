"""A kiln worker for the crash test: the real runtime and Telegram adapter, in its own
process, with a clock that runs sixty times fast (a claim timeout of one minute passes
in one second), ticking support's timers as `kiln run` does every ten seconds.

Run as ``python -m tests.faults.chain_runner ask|tick``; settings come from the
environment and KILN_CONFIG, the clock's anchor from KILN_TEST_CLOCK_ANCHOR.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from bot.catalogue import Catalogue
from bot.events import ChoiceSelected, CommandReceived
from bot.settings import load_settings
from kiln.platforms import telegram_adapter
from kiln.runtime import open_runtime

#: Monday 10:00 UTC: volunteers are within their usual hours.
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SPEED = 60.0
ASKER = "500001"


def fast_clock() -> datetime:
    anchor = float(os.environ["KILN_TEST_CLOCK_ANCHOR"])
    return START + timedelta(seconds=(time.time() - anchor) * SPEED)


async def main(mode: str) -> None:
    settings = load_settings()
    runtime = await open_runtime(settings, [telegram_adapter(settings)], clock=fast_clock)
    await runtime.start_adapters()
    engine = runtime.engine
    if mode == "ask":
        await engine.handle(CommandReceived("ask-1", "telegram", ASKER, name="support"))
        person = await runtime.services.people.find("telegram", ASKER)
        assert person is not None
        yes = engine.support.offer_buttons(person)[0][0].value
        await engine.handle(ChoiceSelected("ask-2", "telegram", ASKER, value=yes))
    while True:  # until killed
        await runtime.support_tick(fast_clock())
        await asyncio.sleep(0.1)


if __name__ == "__main__":
    Catalogue.load()
    asyncio.run(main(sys.argv[1]))
