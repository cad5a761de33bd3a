"""The `kiln` command line."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from adapters.telegram_config import deep_link
from bot.periods import PeriodKind
from bot.pseudonym import PepperError
from bot.roster import RosterDefaults, RosterError, parse_roster
from bot.settings import ConfigError, Settings, load_settings
from kiln import demo as demo_module
from kiln import doctor as doctor_module
from kiln import kindness as kindness_module
from kiln import privacy_cli, redaction
from kiln.dashboard import DashboardPortError
from kiln.dashboard import export as report_files
from kiln.platforms import configured_adapters, telegram_adapter
from kiln.runtime import Runtime, open_runtime
from kiln.scheduling import Scheduling
from storage.database import DatabaseUnavailable, DatabaseUrlError, upgrade_sync
from storage.locks import SchedulerLocked

T = TypeVar("T")

app = typer.Typer(
    help="kiln: kind, private wellbeing check-ins for staff, in the chat tools they already use.",
    no_args_is_help=True,
    add_completion=False,
)
people_app = typer.Typer(help="Manage the roster and people's data.", no_args_is_help=True)
checkin_app = typer.Typer(help="Send check-ins by hand.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(checkin_app, name="checkin")
app.add_typer(db_app, name="db")

out = Console()
_state: dict[str, Path | None] = {"config": None}

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Path to kiln.toml (default: $KILN_CONFIG, then ./kiln.toml)."),
]


@app.callback()
def main(config: ConfigOption = None) -> None:
    """kiln: kind, private wellbeing check-ins for staff."""
    _state["config"] = config


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn known problems into one clear line and exit code 2."""
    try:
        yield
    except (
        ConfigError,
        PepperError,
        RosterError,
        DatabaseUrlError,
        DatabaseUnavailable,
        DashboardPortError,
        SchedulerLocked,
    ) as problem:
        # Plain stderr, never wrapped: one line that scripts and people can both read.
        sys.stderr.write(f"kiln: {problem}\n")
        raise typer.Exit(2) from None


def settings() -> Settings:
    """Settings from --config / KILN_CONFIG / ./kiln.toml and the environment."""
    return load_settings(_state["config"])


def with_runtime(work: Callable[[Runtime], Awaitable[T]], config: Settings | None = None) -> T:
    """Open a runtime without adapters, run ``work`` on it, close it."""

    async def go() -> T:
        runtime = await open_runtime(config or settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(go())


@app.command()
def run() -> None:
    """Start the configured chat adapters and the check-in scheduler."""
    with friendly_errors():
        config = settings()
        logging.basicConfig(
            level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        redaction.install(config)  # libraries log tokens at DEBUG; never let one through
        adapters = configured_adapters(config)
        asyncio.run(_serve(config, adapters))


def settle_memory() -> None:
    """Take everything made while starting out of the garbage collector's sight.

    The libraries, the ORM's metadata and the prompts live as long as the worker, yet
    Python's full collections walked them all again and again; under a burst of
    button presses those pauses were most of the slowest acks (benchmarks/inbound.py:
    p99 184 -> 70 ms). ``gc.freeze`` moves them to a generation that is never scanned.
    """
    gc.collect()
    gc.freeze()


async def _serve(config: Settings, adapters: list) -> None:  # type: ignore[type-arg]
    runtime = await open_runtime(config, adapters)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        # On SQLite a second `kiln run` stops here, before it connects to any platform.
        scheduling = await Scheduling.claim(runtime)
        runtime.health.leadership = scheduling.leadership
        try:
            await runtime.start_adapters()
            await runtime.start_dashboard()
            await scheduling.start()  # every worker serves; only the elected one ticks
            settle_memory()
            await stop.wait()
        finally:
            await scheduling.stop()
    finally:
        await runtime.close()


@app.command()
def dashboard(
    demo_data: Annotated[
        bool,
        typer.Option(
            "--demo", help="Serve the made-up data `kiln demo` made, with a manager's link."
        ),
    ] = False,
) -> None:
    """Serve the managers' dashboard (managers sign in with /dashboard in chat)."""
    with friendly_errors():
        config = settings()
        if demo_data:
            if not demo_module.DEMO_DB.exists():
                raise ConfigError("no demo database here yet; run `kiln demo` first")
            config = demo_module.demo_settings(demo_module.DEMO_DB)
        logging.basicConfig(
            level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        redaction.install(config)  # libraries log tokens at DEBUG; never let one through
        asyncio.run(_serve_dashboard(config, demo_data))


async def _serve_dashboard(config: Settings, demo_data: bool) -> None:
    pepper = demo_module.DEMO_PEPPER if demo_data else None
    runtime = await open_runtime(config, pepper=pepper)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if demo_data:
            server = await demo_module.serve_dashboard(runtime)
            url = f"http://127.0.0.1:{server.port}"
            link, name = await demo_module.manager_link(runtime, url)
            out.print(f"Sign in as {name}, Ward 7's made-up manager (once, within 10 minutes):")
            sys.stdout.write(f"  {link}\n")
        else:
            await runtime.start_dashboard()
            out.print(
                f"The dashboard is at {config.dashboard_url()}. "
                "Managers sign in by sending /dashboard in chat."
            )
        out.print("Press Ctrl-C to stop.")
        await stop.wait()
    finally:
        await runtime.close()


@app.command()
def demo() -> None:
    """Chat with kiln in this terminal as a staff member, on made-up data (no tokens needed)."""
    # The demo is a conversation: keep operational warnings out of the transcript.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    with friendly_errors():
        raise typer.Exit(demo_module.main())


@checkin_app.command("now")
def checkin_now(
    team: Annotated[str | None, typer.Option(help="Only this team.")] = None,
) -> None:
    """Send a check-in now to everyone in scope who has none today."""
    with friendly_errors():
        config = settings()
        adapters = configured_adapters(config)

        async def go() -> int:
            runtime = await open_runtime(config, adapters)
            try:
                return await runtime.engine.checkin_now(team)
            finally:
                await runtime.close()

        sent = asyncio.run(go())
        out.print(f"Sent {sent} check-in{'s' if sent != 1 else ''}.")


@people_app.command("import")
def people_import(
    roster: Annotated[Path, typer.Argument(help="Roster CSV file.", exists=True, dir_okay=False)],
) -> None:
    """Add or update people from a roster CSV (all or nothing)."""
    with friendly_errors():
        config = settings()
        from bot.catalogue import Catalogue

        defaults = RosterDefaults(
            locale=config.default_locale,
            region=config.default_region,
            locales=frozenset(Catalogue.load().locales),
        )
        try:
            people = parse_roster(roster.read_text(encoding="utf-8-sig"), defaults)
        except RosterError as problem:
            raise RosterError(f"{roster}: {problem}") from None
        except UnicodeDecodeError:
            raise RosterError(f"{roster}: is not UTF-8 text; save it as CSV UTF-8") from None
        created = with_runtime(lambda rt: rt.services.people.add_all(people), config)
        out.print(
            f"Imported {len(people)} people ({created} new, {len(people) - created} updated)."
        )


@people_app.command("list")
def people_list(team: Annotated[str | None, typer.Option(help="Only this team.")] = None) -> None:
    """List enrolled people (names, teams and roles; never answers)."""
    with friendly_errors():
        people = with_runtime(lambda rt: rt.services.people.list(team))
        table = Table("platform", "name", "team", "roles", "status")
        for person in people:
            status = (
                "opted out"
                if person.opted_out
                else "unreachable"
                if person.undeliverable
                else "active"
            )
            if person.paused_until:
                status = f"paused until {person.paused_until}"
            table.add_row(person.platform, person.display_name, person.team, person.roles, status)
        out.print(table)
        out.print(f"{len(people)} people")


@people_app.command("invite")
def people_invite(
    team: Annotated[str, typer.Option(help="The team the links enrol people into.")],
    count: Annotated[int, typer.Option(min=1, max=500, help="How many links (one each).")] = 1,
) -> None:
    """Print one-time Telegram links; whoever opens one is enrolled into the team."""
    with friendly_errors():
        config = settings()
        name = team.strip()
        if not name or len(name) > 100:
            raise ConfigError("--team needs a team name of 1 to 100 characters")
        links, expires, known = asyncio.run(_invite(config, name, count))
        # Links alone on stdout, so they can be piped; the explanation goes to stderr.
        sys.stdout.write("".join(f"{link}\n" for link in links))
        if not known:
            sys.stderr.write(
                f"note: nobody is in team '{name}' yet and kiln.toml has no [teams.{name}]; "
                "check the spelling\n"
            )
        sys.stderr.write(
            f"{count} one-time link{'s' if count != 1 else ''} for team {name}, valid until "
            f"{expires:%Y-%m-%d %H:%M} UTC. Give each person their own link.\n"
        )


async def _invite(config: Settings, team: str, count: int) -> tuple[list[str], datetime, bool]:
    adapter = telegram_adapter(config)
    try:
        username = await adapter.bot_username()  # getMe, before any code is made
    finally:
        await adapter.stop()
    runtime = await open_runtime(config)
    try:
        known = team in config.teams or team in await runtime.services.people.team_sizes()
        invites = await runtime.engine.enrolment.create_invites(team, count, adapter.platform)
    finally:
        await runtime.close()
    links = [deep_link(username, code) for code in invites.codes]
    return links, invites.expires_at.astimezone(UTC), known


@people_app.command("export")
def people_export(
    platform: str,
    user_id: str,
    output: Annotated[Path | None, typer.Option("--out", help="Write JSON here.")] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write the same data as CSV here.")
    ] = None,
) -> None:
    """Everything kiln holds about one person (a subject access request), as JSON."""
    with friendly_errors():
        export = with_runtime(lambda rt: privacy_cli.export_one(rt, platform, user_id))
        if output:
            output.write_bytes(export.to_json())
            out.print(f"Wrote {output}")
        else:
            sys.stdout.write(export.to_json().decode() + "\n")
        if csv_out:
            csv_out.write_bytes(export.to_csv())
            sys.stderr.write(f"Wrote {csv_out}\n")


@people_app.command("forget")
def people_forget(
    platform: str,
    user_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase everything kiln holds about one person (an erasure request)."""
    with friendly_errors():
        if not yes and not typer.confirm(
            f"Erase everything kiln holds about {platform}:{user_id}?"
        ):
            raise typer.Exit(1)
        erased = with_runtime(lambda rt: privacy_cli.forget_one(rt, platform, user_id))
        out.print(f"Erased {platform}:{user_id}: {privacy_cli.describe_counts(erased)}.")


@app.command()
def report(
    team: Annotated[str | None, typer.Option(help="One team (default: every team).")] = None,
    weeks: Annotated[int, typer.Option(min=1, max=104, help="How many weeks back.")] = 8,
    months: Annotated[
        int | None,
        typer.Option(min=1, max=24, help="Monthly instead: how many months back."),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the figures as CSV.")
    ] = None,
    demo_data: Annotated[
        bool, typer.Option("--demo", help="Report on the database `kiln demo` made.")
    ] = False,
    png_file: Annotated[
        Path | None, typer.Option("--png", help="Also draw the charts as a PNG image.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a single-file HTML page.")
    ] = None,
    kindness: Annotated[
        bool,
        typer.Option("--kindness", help="The monthly kindness report instead (needs --html FILE)."),
    ] = False,
) -> None:
    """Team mood by finished week or month (aggregates only; small groups are suppressed)."""
    with friendly_errors():
        config = settings()
        if not demo_data and demo_module.nothing_but_the_demo(config):
            # A new install that has only tried the demo: show its data rather than nothing.
            sys.stderr.write(
                f"kiln: no kiln database here yet, so this shows the made-up data from "
                f"{demo_module.DEMO_DB} (run by `kiln demo`).\n"
            )
            demo_data = True
        if demo_data:
            if not demo_module.DEMO_DB.exists():
                raise ConfigError("no demo database here yet; run `kiln demo` first")
            config = demo_module.demo_settings(demo_module.DEMO_DB)
        if kindness:
            if html_file is None:
                raise ConfigError("--kindness writes a page: add --html FILE")
            made = with_runtime(lambda rt: kindness_module.write(rt.services, html_file), config)
            out.print(f"Wrote {html_file} (the kindness report for {made.month})")
            return
        if months and (png_file or html_file):
            raise ConfigError("--png and --html draw weekly reports; leave out --months")
        kind = PeriodKind.MONTH if months else PeriodKind.WEEK
        count = months or weeks
        result = with_runtime(lambda rt: privacy_cli.team_report(rt, team, kind, count), config)
        privacy_cli.print_report(out, result)
        if csv_file:
            privacy_cli.write_report_csv(result, csv_file)
            out.print(f"Wrote {csv_file}")
        if png_file or html_file:
            with_runtime(
                lambda rt: report_files.write_files(rt.services, result, png_file, html_file),
                config,
            )
            for written in (png_file, html_file):
                if written:
                    out.print(f"Wrote {written}")


@app.command()
def audit(
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Only entries from this day on (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Who viewed reports, exported, erased or revealed what, and when (never the data)."""
    with friendly_errors():
        start = since.replace(tzinfo=UTC) if since else None
        rows = with_runtime(lambda rt: privacy_cli.audit_entries(rt, start))
        privacy_cli.print_audit(out, rows)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    with friendly_errors():
        config = settings()
        upgrade_sync(config.database_url)
        out.print("Database is up to date.")


@app.command()
def purge() -> None:
    """Delete everything past its retention period now (this also runs daily)."""
    with friendly_errors():
        config = settings()
        purged = with_runtime(privacy_cli.purge_now, config)
        out.print(
            f"Removed {purged.get('moods', 0)} mood answers older than "
            f"{config.retention_days} days."
        )
        others = {section: n for section, n in purged.items() if section != "moods"}
        if any(others.values()):
            out.print(f"Also removed: {privacy_cli.describe_counts(others)}.")


@app.command()
def doctor() -> None:
    """Check settings, database, pepper and schedule, and say what is wrong in plain words."""
    problems = doctor_module.run_checks(_state["config"], out)
    raise typer.Exit(1 if problems else 0)
