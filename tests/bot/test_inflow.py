"""A burst of inbound events: all handled, never more than the limit at once."""

from __future__ import annotations

import asyncio

from bot.events import InboundEvent, MessageReceived
from bot.inflow import bounded


async def test_a_burst_is_handled_in_full_a_few_at_a_time() -> None:
    running = peak = 0
    handled: list[str] = []

    async def slow(event: InboundEvent) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        handled.append(event.event_id)
        running -= 1

    sink = bounded(slow, limit=4)
    events = [MessageReceived(f"e{n}", "fake", "ana", text="hi") for n in range(100)]
    await asyncio.gather(*(sink(event) for event in events))
    assert sorted(handled) == sorted(event.event_id for event in events)
    assert peak == 4
