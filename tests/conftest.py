"""Shared fixtures: an offline guard, a fixed clock, an engine on a fresh database."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, TeamSettings
from kiln.runtime import Runtime, open_runtime
from storage.models import Person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

pytest_plugins = ["tests.postgres_server"]

TEST_PEPPER = b"test-pepper-0123456789abcdef"
#: Monday 23 November 2026, 10:00 in London (GMT, so also 10:00 UTC).
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _is_local(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return isinstance(address, (str, bytes))  # unix socket paths


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to reach beyond this machine (like PTB's OfflineRequest)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded(method: Any) -> Any:
        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
                raise OSError(f"test tried to reach {address!r}: tests stay on 127.0.0.1")
            return method(self, address)

        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
    yield


@pytest.fixture
def clock() -> FakeClock:
    """A clock set to Monday 10:00 in London."""
    return FakeClock(MONDAY_10AM)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite file; teams 'ward' (weekdays) and 'night' (every day, 01:30)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'kiln.db'}",
        pepper_file=tmp_path / "kiln.key",
        teams={
            "ward": TeamSettings(),
            "night": TeamSettings(
                time="01:30", weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            ),
        },
    )


@pytest.fixture
def adapter() -> FakeAdapter:
    """The in-memory chat platform."""
    return FakeAdapter()


@pytest.fixture
async def runtime(
    settings: Settings, adapter: FakeAdapter, clock: FakeClock
) -> AsyncIterator[Runtime]:
    """A migrated database, the engine and the fake adapter, started."""
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    await rt.start_adapters()
    yield rt
    await rt.close()


def person(user: str, **values: Any) -> Person:
    """A Person on the fake platform."""
    values.setdefault("display_name", f"{user.title()} Example")
    values.setdefault("team", "ward")
    return Person(platform="fake", platform_user_id=user, **values)


async def enrol(runtime: Runtime, *people: Person) -> list[Person]:
    """Add people and return them as stored (with ids)."""
    await runtime.services.people.add_all(list(people))
    stored = []
    for p in people:
        found = await runtime.services.people.find(p.platform, p.platform_user_id)
        assert found is not None
        stored.append(found)
    return stored
