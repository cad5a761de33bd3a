"""Inbound answers: signed Slack ``block_actions`` at a steady rate into HTTP mode.

Run: ``.venv/bin/python benchmarks/inbound.py [--actions N] [--rate R] [--workers W]``

Starts a throwaway PostgreSQL and the fake Slack Web API (in a process of its own),
enrols N Slack people whose check-ins went out today, and starts W real ``kiln run``
workers (one by default) in Slack HTTP mode. Then presses one mood button for each of
them: N signed ``block_actions`` requests, sent open-loop at R per second (each leaves
on schedule, whether or not earlier ones were answered) through a plain aiohttp client,
to the workers in turn as a round-robin load balancer would. Measured:

- ``p50_ms``, ``p99_ms``: time from sending a request to Slack getting kiln's ack;
- ``recorded``: mood answers in the database once the worker has caught up (each press
  must be recorded exactly once: one mood row and one closed check-in per person);
- ``sent``: presses sent (and acknowledged with 200).

The last line is machine-readable: ``result: p50_ms=... p99_ms=... recorded=... sent=...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from _support import Fakes, machine, postgres, result
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import create_engine, func, insert, select

from bot.choices import Action, Choice
from storage.database import driver_urls, upgrade_sync
from storage.models import Checkin, Mood, Person

SIGNING_SECRET = "benchmark-signing-secret"  # noqa: S105 - a fake's secret
TEAM = "T0KILN"
#: How long the worker may take to catch up after the last press (the run must end
#: within 5 minutes, so answers still queued after this count as not recorded).
DRAIN_S = 150.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str, count: int) -> list[tuple[str, int, str]]:
    """People on Slack with today's check-in sent; returns (user, check-in id, ts) each."""
    upgrade_sync(database_url)
    now = datetime.now(UTC)
    today = now.date()
    engine = create_engine(driver_urls(database_url)[1])
    users = [f"U{300_000 + n}" for n in range(count)]
    with engine.begin() as connection:
        people = [
            {
                "platform": "slack",
                "platform_user_id": user,
                "display_name": f"Person {n} Example",
                "team": f"team-{n % 200}",
                "timezone": "UTC",
                "locale": "en",
                "region": "UK",
                "roles": "staff",
                "manages": "",
                "opted_out": False,
                "undeliverable": False,
                "created_at": now - timedelta(days=30),
            }
            for n, user in enumerate(users)
        ]
        connection.execute(insert(Person.__table__), people)  # type: ignore[attr-defined]
        ids = dict(connection.execute(select(Person.platform_user_id, Person.id)).all())
        checkins = [
            {
                "person_id": ids[user],
                "local_date": today,
                "created_at": now,
                "sent_at": now,
                "last_attempt_at": now,
                "send_attempts": 1,
                "message_ref": f"D{user}:{int(now.timestamp())}.{n:06d}",
            }
            for n, user in enumerate(users)
        ]
        connection.execute(insert(Checkin.__table__), checkins)  # type: ignore[attr-defined]
        rows = connection.execute(select(Checkin.person_id, Checkin.id, Checkin.message_ref))
        by_person = {person_id: (cid, str(ref)) for person_id, cid, ref in rows.all()}
    engine.dispose()
    return [(user, by_person[ids[user]][0], by_person[ids[user]][1]) for user in users]


def press_body(user: str, checkin_id: int, ref: str, serial: int, score: int) -> str:
    """A form-encoded ``block_actions`` payload, shaped as Slack sends it."""
    channel, _, ts = ref.partition(":")
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": "A0KILN",
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{serial}.{TEAM}.benchmark",
        "team": {"id": TEAM, "domain": "kiln-benchmark"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": ts, "text": "", "user": "U0KILNBOT"},
        "state": {"values": {}},
        "response_url": f"http://127.0.0.1:9/response/{serial}",
        "actions": [
            {
                "type": "button",
                "action_id": f"kiln.choice.0.{score - 1}",
                "block_id": "kiln",
                "value": Choice(Action.MOOD, checkin_id, score).encode(),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def start_worker(
    folder: Path, database_url: str, fakes: Fakes, name: str
) -> tuple[subprocess.Popen[bytes], int, int]:
    slack_port, dashboard_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    env.update(
        KILN_DATABASE_URL=database_url,
        KILN_PEPPER="inbound-benchmark-pepper-0123456789",
        KILN_LOG_LEVEL="ERROR",
        KILN_DASHBOARD_PORT=str(dashboard_port),
        KILN_SLACK_BOT_TOKEN="xoxb-benchmark",  # noqa: S106 - the fake's token
        KILN_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        KILN_SLACK_API_URL=fakes.slack_api_url,
        KILN_SLACK_LISTEN="127.0.0.1",
        KILN_SLACK_PORT=str(slack_port),
    )
    log = (folder / f"{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kiln", "run"],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return process, slack_port, dashboard_port


async def wait_healthy(
    session: aiohttp.ClientSession, port: int, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kiln run exited with {process.returncode}")
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not become healthy in 90 s")


async def load(ports: list[int], bodies: list[str], rate: float) -> tuple[list[float], int]:
    """Send every body on an open-loop schedule; returns ack latencies (ms) and 200s.

    Requests go to the workers in turn, as a round-robin load balancer sends them.
    """
    urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports]
    verifier = SignatureVerifier(SIGNING_SECRET)
    latencies: list[float] = []
    ok = 0
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def press(body: str, at: float, url: str) -> None:
            nonlocal ok
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
            }
            start = time.perf_counter()
            async with session.post(url, data=body.encode(), headers=headers) as response:
                await response.read()
                if response.status == 200:
                    ok += 1
            latencies.append((time.perf_counter() - start) * 1000)

        begin = time.perf_counter() + 0.5
        await asyncio.gather(
            *(press(body, begin + n / rate, urls[n % len(urls)]) for n, body in enumerate(bodies))
        )
    return latencies, ok


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux), if it can be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recorded(database_url: str) -> tuple[int, int]:
    engine = create_engine(driver_urls(database_url)[1])
    with engine.connect() as connection:
        moods = connection.execute(select(func.count()).select_from(Mood)).scalar_one()
        closed = connection.execute(
            select(func.count()).select_from(Checkin).where(Checkin.closed_at.is_not(None))  # type: ignore[union-attr]
        ).scalar_one()
    engine.dispose()
    return int(moods), int(closed)


async def bench(args: argparse.Namespace) -> dict[str, float]:
    with Fakes() as fakes, postgres() as url, tempfile.TemporaryDirectory() as tmp:
        presses = seed(url, args.actions)
        bodies = [
            press_body(user, checkin_id, ref, n, 1 + n % 5)
            for n, (user, checkin_id, ref) in enumerate(presses)
        ]
        print(f"{args.actions} Slack people with today's check-in; {machine()}", flush=True)
        workers = [
            start_worker(Path(tmp), url, fakes, f"worker-{n + 1}") for n in range(args.workers)
        ]
        try:
            async with aiohttp.ClientSession() as session:
                for process, _, dashboard_port in workers:
                    await wait_healthy(session, dashboard_port, process)
            idle_cpu = [cpu_seconds(process.pid) for process, _, _ in workers]
            took = time.perf_counter()
            latencies, ok = await load([port for _, port, _ in workers], bodies, args.rate)
            took = time.perf_counter() - took
            print(f"{len(latencies)} presses in {took:.1f} s ({len(latencies) / took:.0f}/s)")
            burst_over = time.monotonic()
            deadline = burst_over + DRAIN_S
            moods, closed = recorded(url)
            while moods < args.actions and time.monotonic() < deadline:
                await asyncio.sleep(1)
                moods, closed = recorded(url)
            print(
                f"recorded {moods} moods, closed {closed} check-ins, "
                f"{time.monotonic() - burst_over:.0f} s after the last press",
                flush=True,
            )
            busy = [cpu_seconds(process.pid) for process, _, _ in workers]
            if None not in busy and None not in idle_cpu:
                used = sum(b or 0.0 for b in busy) - sum(i or 0.0 for i in idle_cpu)
                print(
                    f"the workers used {used * 1000 / args.actions:.1f} ms of CPU per press "
                    "(start-up excluded)"
                )
        finally:
            for process, _, _ in workers:
                process.send_signal(signal.SIGTERM)
            for process, _, _ in workers:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for n in range(args.workers):
                log = Path(tmp) / f"worker-{n + 1}.log"
                errors = log.read_text(encoding="utf-8", errors="replace")
                if errors.strip():
                    print(f"{log.stem} logged:\n" + errors[-3000:])
    if moods == args.actions and closed != moods:
        # All caught up, so every closed check-in must have its one mood row.
        raise RuntimeError(f"{moods} moods but {closed} closed check-ins")
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "recorded": moods,
        "sent": ok,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0, help="presses per second")
    parser.add_argument(
        "--workers", type=int, default=1, help="kiln run processes behind the load balancer"
    )
    args = parser.parse_args(argv)
    figures = asyncio.run(bench(args))
    result(
        p50_ms=f"{figures['p50']:.1f}",
        p99_ms=f"{figures['p99']:.1f}",
        recorded=f"{figures['recorded']:.0f}",
        sent=f"{figures['sent']:.0f}",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
