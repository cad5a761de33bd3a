"""A real `kiln run` killed with SIGKILL in the middle of a fan-out, then restarted.

The fake Bot API holds on to one check-in: Telegram has it (it took effect) but kiln
never hears back, and kiln is killed right then, mid-send. After a restart no one is
skipped and no one gets a second check-in: the send in flight counts as delivered
(it was written down before the call), the ones never tried are sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.workdays import is_public_holiday
from kiln.runtime import open_runtime
from tests.adapters.telegram_helpers import telegram_person
from tests.conftest import TEST_PEPPER
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.http_fake import Call, Reply
from tests.faults.test_checkin_faults import checkins_per_chat
from tests.security.processes import environment

PEOPLE = 40
FIRST_ID = 400_000
HOLD_AT = 15  # the check-in Telegram takes but kiln never hears back about


class HoldingTelegram(FakeTelegram):
    """Takes the HOLD_AT-th check-in (it is delivered) and then never answers."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = asyncio.Event()
        self._checkins = 0

    async def _default_reply(self, call: Call) -> Reply:
        reply = await super()._default_reply(call)
        if call.method == "sendMessage" and "inline_keyboard" in str(call.args.get("reply_markup")):
            self._checkins += 1
            if self._checkins == HOLD_AT:
                call.delivered = True
                self.holding.set()
                await self._pause(120)  # woken when the fake closes
        return reply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _midday_zone(now: datetime) -> str:
    """An Etc/GMT zone where it is now about midday, so the test never straddles midnight."""
    offset = 12 - now.hour  # hours to add to UTC; Etc/GMT signs are inverted
    offset = max(-12, min(14, offset))
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def _quiet_free_region(day: Any) -> str:
    return next(r for r in ("UK", "IE", "FR", "DE", "US") if not is_public_holiday(r, day))


async def _start(cwd: Path, env: dict[str, str], name: str) -> asyncio.subprocess.Process:
    log = (cwd / f"{name}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kiln", "run", cwd=cwd, env=environment(env),
        stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip


async def test_sigkill_mid_fan_out_then_restart_skips_no_one_and_repeats_no_one(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    zone = _midday_zone(now)
    local_day = (now + timedelta(hours=12 - now.hour)).date()
    region = _quiet_free_region(local_day)
    (tmp_path / "kiln.toml").write_text(
        f"""
[checkin]
time = "00:00"
last_call = "23:59"
weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
fanout_concurrency = 1
retry_after_seconds = 5

[teams.night]
timezone = "{zone}"
"""
    )
    database = f"sqlite:///{tmp_path / 'kiln.db'}"
    settings = Settings(database_url=database, pepper_file=tmp_path / "kiln.key")
    runtime = await open_runtime(settings, pepper=TEST_PEPPER)
    await runtime.services.people.add_all(
        [
            telegram_person(FIRST_ID + n, f"Person {n}", team="night", timezone=zone, region=region)
            for n in range(PEOPLE)
        ]
    )
    await runtime.close()

    async with HoldingTelegram() as tg:
        env = {
            "KILN_CONFIG": str(tmp_path / "kiln.toml"),
            "KILN_DATABASE_URL": database,
            "KILN_PEPPER": TEST_PEPPER.decode(),
            "KILN_TELEGRAM_TOKEN": tg.token,
            "KILN_TELEGRAM_API_URL": tg.base_url,
            "KILN_TELEGRAM_MAX_MESSAGES_PER_SECOND": "20",
            "KILN_DASHBOARD_PORT": str(_free_port()),
        }
        first = await _start(tmp_path, env, "first")
        try:
            async with asyncio.timeout(30):
                await tg.holding.wait()
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        before_restart = checkins_per_chat(tg)
        assert sum(before_restart.values()) == HOLD_AT  # killed mid-fan-out, mid-send

        await asyncio.sleep(6)  # past the 5-second lease the dead worker held
        second = await _start(tmp_path, env, "second")
        try:
            async with asyncio.timeout(40):
                while len(checkins_per_chat(tg)) < PEOPLE:
                    await tg.wait_for("sendMessage", len(tg.calls("sendMessage")) + 1, 40)
            await asyncio.sleep(1)  # time for anything else to (wrongly) go out
        finally:
            second.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                await second.wait()
        per_chat = checkins_per_chat(tg)

    log = (tmp_path / "second.log").read_text()
    assert first.returncode == -signal.SIGKILL
    assert sorted(per_chat) == [FIRST_ID + n for n in range(PEOPLE)], log[-2000:]  # no one skipped
    assert set(per_chat.values()) == {1}, Counter(per_chat.values())  # no one twice
    assert "Traceback" not in log
    assert os.environ.get("KILN_DATABASE_URL") != database  # the test's env stayed its own


ROOT = Path(__file__).resolve().parents[2]
VOLUNTEERS = {"vic": 500101, "wyn": 500102, "xan": 500103}
CHANNEL = -1009990001


def alerts_to(tg: FakeTelegram, chat_id: int) -> int:
    """Alerts (messages with a claim button) that took effect in one chat."""
    return sum(
        1
        for call in tg.calls("sendMessage", delivered=True)
        if call.args.get("chat_id") == chat_id and "claim:" in str(call.args.get("reply_markup"))
    )


async def _runner(cwd: Path, env: dict[str, str], mode: str) -> asyncio.subprocess.Process:
    log = (cwd / f"chain-{mode}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.chain_runner", mode,
        cwd=ROOT, env=environment(env),
        stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip


async def test_sigkill_mid_escalation_then_restart_completes_the_chain(tmp_path: Path) -> None:
    (tmp_path / "kiln.toml").write_text(
        f"""
[support]
claim_timeout_minutes = 1
escalation_channel = "telegram:{CHANNEL}"
"""
    )
    database = f"sqlite:///{tmp_path / 'kiln.db'}"
    runtime = await open_runtime(
        Settings(database_url=database, pepper_file=tmp_path / "kiln.key"), pepper=TEST_PEPPER
    )
    await runtime.services.people.add_all(
        [
            telegram_person(500001, "Ana Jones"),
            *(
                telegram_person(uid, name.title(), team=f"team-{name}", roles="staff;volunteer")
                for name, uid in VOLUNTEERS.items()
            ),
        ]
    )
    await runtime.close()

    async with FakeTelegram() as tg:
        env = {
            "KILN_CONFIG": str(tmp_path / "kiln.toml"),
            "KILN_DATABASE_URL": database,
            "KILN_PEPPER": TEST_PEPPER.decode(),
            "KILN_TELEGRAM_TOKEN": tg.token,
            "KILN_TELEGRAM_API_URL": tg.base_url,
            "KILN_TEST_CLOCK_ANCHOR": str(time.time()),
        }

        async def until(done: Any, limit: float = 30) -> None:
            async with asyncio.timeout(limit):
                while not done():
                    await tg.wait_for(None, len(tg.calls()) + 1, limit)

        first = await _runner(tmp_path, env, "ask")
        try:
            # Vic is asked, says nothing for a (fast) minute, then Wyn is asked: kill.
            await until(lambda: alerts_to(tg, VOLUNTEERS["wyn"]) == 1)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert alerts_to(tg, VOLUNTEERS["xan"]) == 0 and alerts_to(tg, CHANNEL) == 0

        second = await _runner(tmp_path, env, "tick")
        try:
            await until(lambda: alerts_to(tg, CHANNEL) >= 1)
            await until(
                lambda: any(
                    "no Wellbeing Warrior has been able" in str(c.args.get("text"))
                    for c in tg.calls("sendMessage", delivered=True)
                    if c.args.get("chat_id") == 500001
                )
            )
            await asyncio.sleep(1)  # a minute more of fast time: nothing more should go
        finally:
            second.send_signal(signal.SIGKILL)
            await second.wait()

    log = (tmp_path / "chain-tick.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    # The chain picked up where the dead worker stopped and reached its end.
    assert [alerts_to(tg, VOLUNTEERS[v]) for v in ("vic", "wyn", "xan")] == [1, 1, 1]
    assert alerts_to(tg, CHANNEL) == 1
