"""The support scenarios that lean hardest on the database, on a real PostgreSQL server.

The test bodies are the SQLite ones, imported; only ``world`` differs (see
tests/postgres_server.py for how the throwaway server starts, or why it is skipped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings, SupportSettings, TeamSettings
from kiln.runtime import open_runtime
from tests.bot.support_kit import CHANNEL, World
from tests.bot.test_support import (
    test_claim_race_one_wins_and_the_other_is_told,
    test_only_one_claim_wins_in_the_database_itself,
)
from tests.bot.test_support_cases import test_cases_lists_open_cases_and_close_case_checks_in_later
from tests.bot.test_support_durability import (
    test_a_platform_down_for_ten_minutes_delays_the_alert_but_delivers_it_once,
    test_timeout_chain_ends_at_the_escalation_channel_and_an_honest_message,
)
from tests.bot.test_support_relay import test_reveal_shares_the_name_and_end_closes_the_chat
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter

pytestmark = pytest.mark.postgres

__all__ = [
    "test_a_platform_down_for_ten_minutes_delays_the_alert_but_delivers_it_once",
    "test_cases_lists_open_cases_and_close_case_checks_in_later",
    "test_claim_race_one_wins_and_the_other_is_told",
    "test_only_one_claim_wins_in_the_database_itself",
    "test_reveal_shares_the_name_and_end_closes_the_chat",
    "test_timeout_chain_ends_at_the_escalation_channel_and_an_honest_message",
]


@pytest.fixture
async def world(
    pg_database_url: str, tmp_path: Path, adapter: FakeAdapter, clock: FakeClock
) -> AsyncIterator[World]:
    """Like the SQLite ``world``, on a fresh PostgreSQL database."""
    settings = Settings(
        database_url=pg_database_url,
        pepper_file=tmp_path / "kiln.key",
        teams={"ward": TeamSettings()},
        support=SupportSettings(escalation_channel=f"fake:{CHANNEL}"),
    )
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    await rt.start_adapters()
    state = World(settings, adapter, clock, rt)
    yield state
    await state.rt.close()
