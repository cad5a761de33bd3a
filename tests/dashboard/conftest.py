"""A real dashboard on 127.0.0.1 over the demo's made-up organisation, and a client for it."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from kiln import demo_data as demo
from kiln.dashboard import DashboardServer
from kiln.runtime import Runtime, open_runtime
from storage.models import row_id
from storage.signin import SigninRepository
from tests.conftest import MONDAY_10AM, TEST_PEPPER
from tests.fakes.clock import FakeClock

#: Demo people: index 0 of each team manages it; 2 and 5 are volunteers.
WARD_MANAGER = "ward-7-00"
FINANCE_MANAGER = "finance-00"
WARD_STAFF = "ward-7-01"
WARD_VOLUNTEER = "ward-7-02"


@dataclass
class Dashboard:
    """The running pieces a dashboard test needs."""

    runtime: Runtime
    server: DashboardServer
    client: httpx.AsyncClient

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def link(self, user: str = WARD_MANAGER) -> str:
        """A fresh one-time sign-in token for a demo person."""
        person = await self.runtime.services.people.find("demo", user)
        assert person is not None
        return await SigninRepository(self.runtime.db).issue_link(
            row_id(person), self.runtime.services.clock(), timedelta(minutes=10)
        )

    async def sign_in(self, user: str = WARD_MANAGER, token: str | None = None) -> httpx.Response:
        """Open a link and press Continue, as a browser would."""
        token = token or await self.link(user)
        page = await self.client.get(f"/signin/{token}")
        assert page.status_code == 200, page.text
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce is not None
        return await self.client.post(f"/signin/{token}", data={"nonce": nonce.group(1)})


async def _seed_template(settings: Settings) -> None:
    runtime = await open_runtime(settings, clock=FakeClock(MONDAY_10AM), pepper=TEST_PEPPER)
    try:
        await demo.seed(runtime, MONDAY_10AM.date())
    finally:
        await runtime.close()


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo organisation seeded once; each test gets its own copy of the file."""
    folder = tmp_path_factory.mktemp("demo-template")
    path = folder / "kiln.db"
    asyncio.run(_seed_template(Settings(database_url=f"sqlite:///{path}")))
    return path


@pytest.fixture
def settings(settings: Settings, demo_database: Path) -> Settings:
    """The usual test settings, on a fresh copy of the seeded demo organisation."""
    target = Path(make_url(settings.database_url).database or "")
    shutil.copyfile(demo_database, target)
    return settings


@pytest.fixture
async def seeded(runtime: Runtime) -> Runtime:
    """The shared test runtime (fake clock and adapter) over the demo organisation."""
    return runtime


@pytest.fixture
async def dashboard(seeded: Runtime) -> AsyncIterator[Dashboard]:
    """The dashboard served by uvicorn on a free port, and an HTTP client for it."""
    server = await seeded.start_dashboard(0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        yield Dashboard(seeded, server, client)
