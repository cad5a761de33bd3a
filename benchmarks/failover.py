"""Fail-over: three `kiln run` workers, the leader killed with SIGKILL mid-fan-out.

Run: ``.venv/bin/python benchmarks/failover.py [--people N]``

Starts a throwaway PostgreSQL, the fake Telegram and Slack servers (in a process of their
own), enrols N people (half on each platform) who are all due now, and starts three
real ``kiln run`` processes (Telegram webhook mode, Slack HTTP mode, each on its own
ports, platform pacing on: 25/s Telegram, 20/s Slack). One is elected and starts the
fan-out; once a quarter of the check-ins have gone and the other two are up, the leader
is killed with SIGKILL. Measured:

- ``takeover_s``: from the kill until another worker's ``/healthz`` says it leads;
- ``missed``: people who never got their check-in, once everything settled (check-ins
  the dead leader had claimed but not begun are sent after their two-minute lease, so
  the run waits for that). A send begun at the instant of the kill counts as delivered
  and is never repeated (docs/SECURITY.md, "Exactly once"); had it not reached the
  platform, that one person is missed. At platform pace a send is in flight a few
  milliseconds in every forty, so 0 is expected and 1 is possible;
- ``duplicated``: check-ins beyond one per person (0 by design).

The last line is machine-readable: ``result: takeover_s=... missed=... duplicated=...``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import Fakes, machine, postgres, result
from sqlalchemy import create_engine, insert

from bot.workdays import is_public_holiday
from storage.database import driver_urls, upgrade_sync
from storage.models import Person

WORKERS = 3
SIGNING_SECRET = "benchmark-signing-secret"  # noqa: S105 - a fake's secret
WEBHOOK_SECRET = "benchmark-webhook-secret"  # noqa: S105 - a fake's secret
#: Long enough for the dead leader's stranded check-ins (two-minute lease, then the next
#: minute's tick) and the rest at platform pace; the whole run stays under 5 minutes.
SETTLE_S = 215.0
KILN_TOML = """
default_timezone = "UTC"

[checkin]
time = "00:00"
last_call = "23:59"
weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str, count: int) -> set[str]:
    """Enrol ``count`` people due now; returns where their check-ins should arrive."""
    upgrade_sync(database_url)
    today = datetime.now(UTC).date()
    region = "UK" if not is_public_holiday("UK", today) else "ZZ"
    rows, expected = [], set()
    for n in range(count):
        on_telegram = n % 2 == 0
        user = str(200_000 + n) if on_telegram else f"U{200_000 + n}"
        expected.add(f"telegram:{user}" if on_telegram else f"slack:D{user}")
        rows.append(
            {
                "platform": "telegram" if on_telegram else "slack",
                "platform_user_id": user,
                "display_name": f"Person {n} Example",
                "team": f"team-{n % 20}",
                "timezone": "UTC",
                "locale": "en",
                "region": region,
                "roles": "staff",
                "manages": "",
                "opted_out": False,
                "undeliverable": False,
                "created_at": datetime.now(UTC) - timedelta(days=30),
            }
        )
    engine = create_engine(driver_urls(database_url)[1])
    with engine.begin() as connection:
        connection.execute(insert(Person.__table__), rows)  # type: ignore[attr-defined]
    engine.dispose()
    return expected


class Worker:
    """One `kiln run` process with ports of its own."""

    def __init__(self, number: int, folder: Path, database_url: str, fakes: Fakes) -> None:
        self.number = number
        self.dashboard_port = free_port()
        telegram_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
        env.update(
            KILN_CONFIG=str(folder / "kiln.toml"),
            KILN_DATABASE_URL=database_url,
            KILN_PEPPER="failover-benchmark-pepper-0123456789",
            KILN_LOG_LEVEL="ERROR",
            KILN_DASHBOARD_PORT=str(self.dashboard_port),
            KILN_TELEGRAM_TOKEN=fakes.telegram_token,
            KILN_TELEGRAM_API_URL=fakes.telegram_api_url,
            KILN_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{telegram_port}/telegram",
            KILN_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            KILN_TELEGRAM_LISTEN="127.0.0.1",
            KILN_TELEGRAM_PORT=str(telegram_port),
            KILN_TELEGRAM_MAX_MESSAGES_PER_SECOND="25",
            KILN_SLACK_BOT_TOKEN="xoxb-benchmark",  # noqa: S106 - the fake's token
            KILN_SLACK_SIGNING_SECRET=SIGNING_SECRET,
            KILN_SLACK_API_URL=fakes.slack_api_url,
            KILN_SLACK_LISTEN="127.0.0.1",
            KILN_SLACK_PORT=str(free_port()),
            KILN_SLACK_MAX_MESSAGES_PER_SECOND="20",
        )
        self.log = (folder / f"worker-{number}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kiln", "run"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def health(self) -> dict[str, Any] | None:
        """This worker's /healthz answer, or None if it does not answer."""
        url = f"http://127.0.0.1:{self.dashboard_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                answer: dict[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as problem:
            answer = json.load(problem)
            return answer
        except OSError:
            return None

    def role(self) -> str | None:
        health = self.health()
        return health["scheduler"]["this_worker"] if health and "scheduler" in health else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def delivered(fakes: Fakes) -> int:
    count = fakes.ask("count")
    return int(count["telegram"]) + int(count["slack"])


def run(people: int) -> dict[str, float]:
    with Fakes() as fakes, postgres() as url, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "kiln.toml").write_text(KILN_TOML, encoding="utf-8")
        expected = seed(url, people)
        print(f"{people} people due now; {machine()}", flush=True)
        workers = [Worker(n + 1, folder, url, fakes) for n in range(WORKERS)]
        try:
            deadline = time.monotonic() + 90
            while True:
                roles = [worker.role() for worker in workers]
                sent = delivered(fakes)
                if roles.count("leader") == 1 and roles.count("follower") == WORKERS - 1:
                    if sent >= people // 4:
                        break
                    if sent >= people // 2:
                        raise RuntimeError("the fan-out got halfway before all workers were up")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"workers not ready in 90 s: {roles}, {sent} sent")
                time.sleep(0.05)
            leader = workers[roles.index("leader")]
            leader.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            leader.process.wait()
            print(f"killed worker {leader.number} (the leader) after {sent} check-ins", flush=True)
            others = [worker for worker in workers if worker is not leader]
            takeover = None
            while takeover is None:
                if any(worker.role() == "leader" for worker in others):
                    takeover = time.monotonic() - killed_at
                elif time.monotonic() - killed_at > 60:
                    raise RuntimeError("no worker took over within 60 s")
                time.sleep(0.05)
            print(f"a new leader after {takeover:.1f} s", flush=True)
            while delivered(fakes) < people and time.monotonic() - killed_at < SETTLE_S:
                time.sleep(1)
            time.sleep(2)  # anything still on its way
            received = fakes.ask("checkins")
            settled = time.monotonic() - killed_at
        finally:
            for worker in workers:
                worker.stop()
    missed = len(expected - set(received))
    duplicated = sum(count - 1 for count in received.values() if count > 1)
    unexpected = set(received) - expected
    if unexpected:
        raise RuntimeError(f"check-ins to people never enrolled: {sorted(unexpected)[:5]}")
    print(f"all settled {settled:.0f} s after the kill: {len(received)} people reached")
    return {"takeover": takeover, "missed": missed, "duplicated": duplicated}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1200)
    args = parser.parse_args(argv)
    figures = run(args.people)
    result(
        takeover_s=f"{figures['takeover']:.1f}",
        missed=f"{figures['missed']:.0f}",
        duplicated=f"{figures['duplicated']:.0f}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
