"""Never dropped: the timeout chain, restarts between steps, and an outbox that retries."""

from __future__ import annotations

import pytest

from bot.outbox import backoff
from bot.ports import DeliveryError, Undeliverable
from bot.settings import SupportSettings
from storage.support import OutboxItem, OutboxStatus
from tests.bot.support_kit import CHANNEL, World, ask_for_support, organisation, world
from tests.conftest import person

__all__ = ["world"]

CRISIS_NOTE = "honestly I don't see the point of going on"


async def _maybe_restart(world: World, restart: bool) -> None:
    if restart:
        await world.restart()


@pytest.mark.parametrize("restart", [False, True], ids=["one-run", "restart-between-steps"])
@pytest.mark.parametrize(("crisis", "minutes"), [(False, 15), (True, 5)], ids=["asked", "crisis"])
async def test_timeout_chain_ends_at_the_escalation_channel_and_an_honest_message(
    world: World, restart: bool, crisis: bool, minutes: int
) -> None:
    await organisation(world)
    if crisis:
        await world.say("ana", CRISIS_NOTE)
        await world.press("ana", None, "Yes, please")
    else:
        await ask_for_support(world)
    assert [len(world.alerts(v)) for v in ("vic", "wyn", "xan")] == [1, 0, 0]

    await _maybe_restart(world, restart)
    await world.tick(minutes=minutes - 1)
    assert len(world.alerts("wyn")) == 0  # not yet
    await world.tick(minutes=1)
    assert [len(world.alerts(v)) for v in ("vic", "wyn", "xan")] == [1, 1, 0]

    await _maybe_restart(world, restart)
    await world.tick(minutes=minutes)
    assert len(world.alerts("xan")) == 1
    assert not world.alerts(CHANNEL)

    await _maybe_restart(world, restart)
    await world.tick(minutes=minutes)
    channel = world.alerts(CHANNEL)
    assert len(channel) == 1 and "Ana Jones (Fake)" in channel[0].message.text
    told = world.adapter.last("ana").message.text
    assert "no Wellbeing Warrior has been able to take your request yet" in told
    assert told.index("support team") < told.index("116 123")

    # Nothing more happens on later ticks: each step happened exactly once.
    await _maybe_restart(world, restart)
    await world.tick(minutes=minutes * 3)
    assert [len(world.alerts(v)) for v in ("vic", "wyn", "xan", CHANNEL)] == [1, 1, 1, 1]
    request = await world.request()
    assert request.status == "escalated"
    kinds = [kind for kind, _ in await world.rt.engine.care.requests.history(request.id or 0)]
    assert kinds == [
        "requested",
        "alerted",
        "timed_out",
        "handed_off",
        "alerted",
        "timed_out",
        "handed_off",
        "alerted",
        "timed_out",
        "handed_off",
        "escalated",
    ]
    # A volunteer whose alert timed out may still take it, and the channel hears.
    await world.press("wyn", world.alerts("wyn")[0], "I'll reach out")
    assert (await world.request()).status == "claimed"
    assert "has been taken" in world.alerts(CHANNEL)[-1].message.text


async def test_a_platform_down_for_ten_minutes_delays_the_alert_but_delivers_it_once(
    world: World,
) -> None:
    await organisation(world)
    down = True
    # The volunteers' side of the platform fails (the person's replies still arrive).
    world.adapter.fail = lambda kind, _to: (
        DeliveryError("platform down") if down and kind == "alert" else None
    )

    await ask_for_support(world, label="Yes, please")

    assert not world.alerts("vic")
    items = await world.rt.engine.care.outbox_rows.items()
    assert [(i.kind, i.status, i.last_error) for i in items] == [
        ("alert", "pending", "DeliveryError")
    ]
    for _ in range(60):  # ten minutes of ticks, every ten seconds
        await world.tick(seconds=10)
    assert not world.alerts("vic")
    attempts = (await world.rt.engine.care.outbox_rows.items())[0].attempts
    assert 5 <= attempts <= 16  # backing off, not trying on each of the 60 ticks

    down = False
    for _ in range(20):  # the platform is back; keep ticking (to 10:13:20)
        await world.tick(seconds=10)

    assert len(world.alerts("vic")) == 1
    assert not world.alerts("wyn")  # still within Vic's 15 minutes
    assert [i.status for i in await world.rt.engine.care.outbox_rows.items()] == ["sent"]


async def test_an_undelivered_alert_survives_a_restart(world: World) -> None:
    await organisation(world)
    world.adapter.fail = lambda kind, _to: DeliveryError("down") if kind == "alert" else None
    await ask_for_support(world)
    world.adapter.fail = None

    await world.restart()
    await world.tick(minutes=1)

    assert len(world.alerts("vic")) == 1


async def test_a_stale_alert_is_dropped_not_delivered_late(world: World) -> None:
    await organisation(world)
    world.adapter.fail = lambda kind, to: DeliveryError("down") if to == "vic" else None
    await ask_for_support(world)

    await world.tick(minutes=15)  # Vic's alert never went out; Wyn is asked
    world.adapter.fail = None
    await world.tick(minutes=5)

    assert not world.alerts("vic")
    assert len(world.alerts("wyn")) == 1
    statuses = {i.recipient_id: i.status for i in await world.rt.engine.care.outbox_rows.items()}
    assert OutboxStatus.CANCELLED.value in statuses.values()


async def test_an_unreachable_volunteer_is_skipped_at_once(world: World) -> None:
    await organisation(world)
    world.adapter.fail = lambda kind, to: Undeliverable("left") if to == "vic" else None

    await ask_for_support(world)

    assert len(world.alerts("wyn")) == 1
    vic = await world.rt.services.people.find("fake", "vic")
    assert vic is not None and vic.undeliverable


async def test_with_no_volunteers_and_no_channel_the_person_is_told_plainly(
    world: World,
) -> None:
    world.settings.support = SupportSettings()
    await world.restart()
    await world.enrol(person("ana"))

    await ask_for_support(world)

    text = world.adapter.last("ana").message.text
    assert "volunteer support isn't switched on" in text and "116 123" in text


async def test_nobody_free_now_waits_and_alerts_whoever_comes_on_duty(world: World) -> None:
    world.settings.support = SupportSettings()  # no escalation channel
    await world.restart()
    await world.enrol(person("ana"), person("vic", team="pharmacy", roles="staff;volunteer"))
    await world.say("vic", "/away")

    await ask_for_support(world)
    assert "no Wellbeing Warrior is free right now" in world.adapter.last("ana").message.text
    assert "116 123" in world.adapter.last("ana").message.text

    await world.say("vic", "/available")
    await world.tick(minutes=2)

    assert len(world.alerts("vic")) == 1


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n, 0.5).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [10, 20, 40, 60]
    assert max(waits) == 60
    assert backoff(3, 0.0).total_seconds() == 32 and backoff(3, 1.0).total_seconds() == 48


async def test_outbox_rows_hold_no_text(world: World) -> None:
    await organisation(world)
    await world.say("ana", CRISIS_NOTE)
    await world.press("ana", None, "Yes, please")
    columns = set(OutboxItem.model_fields)
    assert not {"text", "message", "body", "note"} & columns
