"""`kiln demo`: a synthetic organisation and a console chat as one of its staff.

Everything here is made up and lives in its own database file, so the demo never
touches real data and needs no tokens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from adapters.console import ColleaguesConsole, ConsoleAdapter
from bot.settings import WEEKDAYS, Settings, SupportSettings, TeamSettings
from bot.teammood import LINK_MINUTES
from kiln.dashboard import DashboardPortError, DashboardServer
from kiln.demo_data import COLLEAGUES_PLATFORM, DEMO_MANAGER, DEMO_USER, seed
from kiln.runtime import Runtime, open_runtime
from storage.models import row_id
from storage.signin import SigninRepository

DEMO_DB = Path("kiln-demo.db")
#: A fixed, public pepper: fine for made-up data, never used outside the demo.
DEMO_PEPPER = b"kiln-demo-pepper-not-a-secret-0000"


def demo_settings(db_path: Path) -> Settings:
    """Settings for the demo: its own SQLite file and three team schedules."""
    return Settings(
        database_url=f"sqlite:///{db_path}",
        teams={
            "ward-7": TeamSettings(weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            "housing": TeamSettings(),
            "finance": TeamSettings(),
        },
        # The made-up Wellbeing Warriors are on call around the clock, so saying
        # "Yes, please" in the demo shows an alert whatever the day or hour.
        support=SupportSettings(
            volunteer_weekdays=list(WEEKDAYS),
            volunteer_from=dt.time(0, 0),
            volunteer_until=dt.time(23, 59),
        ),
    )


def nothing_but_the_demo(settings: Settings) -> bool:
    """True when the configured database is the default one, not yet made, and a demo ran here."""
    default = Settings.model_fields["database_url"].default
    return (
        settings.database_url == default
        and not Path(make_url(default).database or "").exists()
        and DEMO_DB.exists()
    )


async def manager_link(runtime: Runtime, base_url: str) -> tuple[str, str]:
    """A one-time sign-in link for the Ward 7 manager, and their name."""
    manager = await runtime.services.people.find(COLLEAGUES_PLATFORM, DEMO_MANAGER)
    if manager is None:
        raise RuntimeError("the demo manager was not seeded")
    token = await SigninRepository(runtime.db).issue_link(
        row_id(manager), runtime.services.clock(), timedelta(minutes=LINK_MINUTES)
    )
    return f"{base_url}/signin/{token}", manager.display_name


async def serve_dashboard(runtime: Runtime, port: int | None = None) -> DashboardServer:
    """Serve the demo's dashboard; if the usual port is taken, any free one will do."""
    try:
        return await runtime.start_dashboard(port)
    except DashboardPortError:
        return await runtime.start_dashboard(0)


DASHBOARD_NOTE = """Managers' view: open this in a browser to see Ward 7 as its manager, {name},
does (team totals only). The link works once, within {minutes} minutes:
  {link}
{after}"""


def kiln_command() -> str:
    """How the person ran kiln, so hints can be copied as they are (``.venv/bin/kiln``)."""
    program = Path(sys.argv[0])
    if program.name != "kiln":
        return "kiln"
    try:
        return str(program.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(program)


def reset_database(path: Path) -> None:
    """Remove a previous demo database and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


BANNER = """kiln demo: you are Sam, a nurse on Ward 7. Everyone else here is made up.
Answer with the numbers shown, or type as you would in chat (/help lists the commands).
{ending}
"""


async def run_demo(
    db_path: Path = DEMO_DB,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    dashboard_port: int | None = None,
) -> int:
    """Seed the demo organisation, serve its dashboard, send Sam a check-in, chat until EOF."""
    out = stdout or sys.stdout
    source = stdin or sys.stdin
    reset_database(db_path)
    console = ConsoleAdapter(DEMO_USER, display_name="Sam Jones", stdin=source, stdout=out)
    colleagues = ColleaguesConsole(COLLEAGUES_PLATFORM, stdout=out)
    runtime = await open_runtime(demo_settings(db_path), [console, colleagues], pepper=DEMO_PEPPER)
    try:
        now = runtime.services.clock()
        sam = await seed(runtime, now.date())
        people = await runtime.services.people.list()
        colleagues.know({p.platform_user_id: p.display_name for p in people})
        ending = "Press Ctrl-D to finish." if source.isatty() else ""
        out.write(BANNER.format(ending=ending).rstrip() + "\n\n")
        server = await serve_dashboard(runtime, dashboard_port)
        link, name = await manager_link(runtime, f"http://127.0.0.1:{server.port}")
        after = (
            "It stays open while you chat here."
            if source.isatty()
            else f"It closes when the demo ends; `{kiln_command()} dashboard --demo` reopens it."
        )
        note = DASHBOARD_NOTE.format(name=name, minutes=LINK_MINUTES, link=link, after=after)
        out.write(note.rstrip() + "\n\n")
        # The check-in goes out before input is read, so a piped "3" answers it.
        await runtime.engine.start_checkin(sam, now)
        await runtime.start_adapters()
        await console.finished.wait()
        out.write(
            f"\nThanks for trying kiln. The made-up team data is in {db_path}; see it with:\n"
            f"  {kiln_command()} report --demo --team ward-7\n"
            f"and its managers' dashboard with:\n"
            f"  {kiln_command()} dashboard --demo\n"
        )
        out.flush()
    finally:
        await runtime.close()
    return 0


def main() -> int:
    """Entry point used by the CLI."""
    return asyncio.run(run_demo())


__all__ = ["DEMO_DB", "main", "manager_link", "run_demo", "seed", "serve_dashboard"]
