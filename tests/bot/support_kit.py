"""Shared set-up for support tests: an organisation, a restartable runtime, a tick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, col, select

from bot.settings import Settings, SupportSettings
from kiln.runtime import Runtime, open_runtime
from storage.models import Person
from storage.support import SupportRequest
from tests.bot.helpers import press, say
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter, Sent

CHANNEL = "#wellbeing-leads"


@dataclass
class World:
    """A running kiln that a test can restart, tick and talk to."""

    settings: Settings
    adapter: FakeAdapter
    clock: FakeClock
    rt: Runtime

    async def restart(self) -> None:
        """Stop this runtime and open a fresh one on the same database."""
        await self.rt.close()
        self.rt = await open_runtime(
            self.settings, [self.adapter], clock=self.clock, pepper=TEST_PEPPER
        )
        await self.rt.start_adapters()

    async def tick(self, **delta: float) -> None:
        """Move the clock on, then run the support tick as the scheduler would."""
        self.clock.advance(**delta)
        await self.rt.support_tick(self.clock.now)

    async def enrol(self, *people: Person) -> list[Person]:
        """Add people to the roster."""
        return await enrol(self.rt, *people)

    async def press(self, user: str, message: Sent | None, label: str) -> None:
        """Press a button on a message ``user`` received (the latest if None)."""
        sent = message or self.adapter.last(user)
        await press(self.rt, self.adapter, user, sent.message, label)

    async def say(self, user: str, text: str) -> None:
        """Send a plain message as ``user``."""
        await say(self.rt, self.adapter, user, text)

    def alerts(self, user: str) -> list[Sent]:
        """Alerts delivered to one volunteer (or the channel)."""
        return self.adapter.to(user, "alert")

    async def count(self, table: type[SQLModel]) -> int:
        """Rows in a table."""
        async with self.rt.db.session() as session:
            return int((await session.exec(select(func.count()).select_from(table))).one())

    async def request(self) -> SupportRequest:
        """The only support request."""
        async with self.rt.db.session() as session:
            rows = (
                await session.exec(select(SupportRequest).order_by(col(SupportRequest.id)))
            ).all()
        assert len(rows) == 1, rows
        return rows[0]


def volunteer(user: str, team: str, **values: Any) -> Person:
    """A Wellbeing Warrior on the fake platform."""
    values.setdefault("roles", "staff;volunteer")
    return person(user, team=team, **values)


@pytest.fixture
async def world(settings: Settings, adapter: FakeAdapter, clock: FakeClock) -> AsyncIterator[World]:
    """kiln with an escalation channel, on a fresh database, Monday 10:00 in London."""
    settings.support = SupportSettings(escalation_channel=f"fake:{CHANNEL}")
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    await rt.start_adapters()
    state = World(settings, adapter, clock, rt)
    yield state
    await state.rt.close()


async def organisation(world: World) -> None:
    """Ana (ward) who needs support, and volunteers in other teams: Vic, Wyn, Xan.

    Vic has the lowest id, so with equal loads she is asked first, then Wyn, then Xan.
    """
    await world.enrol(
        person("ana", display_name="Ana Jones"),
        volunteer("vic", "pharmacy", display_name="Vic Hale"),
        volunteer("wyn", "estates", display_name="Wyn Pryce"),
        volunteer("xan", "finance", display_name="Xan Cole"),
    )


async def ask_for_support(world: World, user: str = "ana", label: str = "Yes, please") -> None:
    """`/support`, then the offer's button."""
    await world.say(user, "/support")
    await world.press(user, None, label)
