"""The `kiln` command line."""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bot.pseudonym import PepperError
from bot.reporting import TeamTrend, team_trend
from bot.roster import RosterDefaults, RosterError, parse_roster
from bot.settings import ConfigError, Settings, load_settings
from kiln import demo as demo_module
from kiln import doctor as doctor_module
from kiln.platforms import configured_adapters
from kiln.runtime import Runtime, open_runtime
from storage.database import DatabaseUrlError, upgrade_sync

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
    except (ConfigError, PepperError, RosterError, DatabaseUrlError) as problem:
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
        adapters = configured_adapters(config)
        asyncio.run(_serve(config, adapters))


async def _serve(config: Settings, adapters: list) -> None:  # type: ignore[type-arg]
    runtime = await open_runtime(config, adapters)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ticker = runtime.ticker()
    try:
        await runtime.start_adapters()
        ticker.start()
        await runtime.engine.run_due()
        await stop.wait()
    finally:
        ticker.shutdown()
        await runtime.close()


@app.command()
def demo() -> None:
    """Chat with kiln in this terminal as a staff member, on made-up data (no tokens needed)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
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


@people_app.command("export")
def people_export(
    platform: str,
    user_id: str,
    output: Annotated[Path | None, typer.Option("--out", help="Write JSON here.")] = None,
) -> None:
    """Everything kiln holds about one person (a subject access request), as JSON."""
    with friendly_errors():
        data = with_runtime(lambda rt: _export_person(rt, platform, user_id))
        text = json.dumps(data, indent=2, default=str)
        if output:
            output.write_text(text)
            out.print(f"Wrote {output}")
        else:
            sys.stdout.write(text + "\n")


async def _export_person(runtime: Runtime, platform: str, user_id: str) -> dict[str, object]:
    services = runtime.services
    person = await services.people.find(platform, user_id)
    if person is None:
        raise ConfigError(f"nobody with {platform} id {user_id} is enrolled")
    history = await services.moods.history(
        services.pseudonym(person), since=person.created_at.date() - timedelta(days=3650)
    )
    identity = person.model_dump(exclude={"id"})
    return {
        "identity": identity,
        "moods": [{"date": m.local_date, "score": m.score} for m in history],
    }


@people_app.command("forget")
def people_forget(
    platform: str,
    user_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one person's identity and moods (an erasure request)."""
    with friendly_errors():
        if not yes and not typer.confirm(
            f"Erase everything kiln holds about {platform}:{user_id}?"
        ):
            raise typer.Exit(1)
        erased = with_runtime(lambda rt: _forget_person(rt, platform, user_id))
        out.print(f"Erased {platform}:{user_id} and {erased} mood answers.")


async def _forget_person(runtime: Runtime, platform: str, user_id: str) -> int:
    services = runtime.services
    person = await services.people.find(platform, user_id)
    if person is None or person.id is None:
        raise ConfigError(f"nobody with {platform} id {user_id} is enrolled")
    erased = await services.moods.forget(services.pseudonym(person))
    await services.people.delete(person.id)
    return erased


@app.command()
def report(
    team: Annotated[str | None, typer.Option(help="One team (default: every team).")] = None,
    weeks: Annotated[int, typer.Option(min=1, max=104, help="How many weeks back.")] = 8,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the figures as CSV.")
    ] = None,
    demo_data: Annotated[
        bool, typer.Option("--demo", help="Report on the database `kiln demo` made.")
    ] = False,
) -> None:
    """Weekly team mood (aggregates only; small groups are suppressed)."""
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

        async def go(runtime: Runtime) -> list[TeamTrend]:
            sizes = await runtime.services.people.team_sizes()
            teams = [team] if team else sorted(sizes)
            if team and team not in sizes:
                raise ConfigError(
                    f"no team called '{team}' (teams: {', '.join(sorted(sizes)) or 'none yet'})"
                )
            today = runtime.services.clock().date()
            return [await team_trend(runtime.services, name, weeks, today) for name in teams]

        trends = with_runtime(go, config)
        for trend in trends:
            _print_trend(trend)
        if csv_file:
            _write_csv(trends, csv_file)
            out.print(f"Wrote {csv_file}")


def _print_trend(trend: TeamTrend) -> None:
    table = Table(
        "week of",
        "mean",
        "1",
        "2",
        "3",
        "4",
        "5",
        "people",
        "participation",
        title=(
            f"{trend.team} ({trend.team_size} people; "
            f"groups under {trend.min_group_size} are suppressed)"
        ),
    )
    for week in trend.weeks:
        if week.suppressed or week.distribution is None:
            table.add_row(
                str(week.week_start),
                "suppressed",
                "",
                "",
                "",
                "",
                "",
                f"< {trend.min_group_size}",
                "",
            )
            continue
        participation = f"{week.participation:.0%}" if week.participation is not None else ""
        table.add_row(
            str(week.week_start),
            f"{week.mean:.2f}",
            *(str(n) for n in week.distribution),
            str(week.respondents),
            participation,
        )
    out.print(table)


def _write_csv(trends: list[TeamTrend], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "team",
                "week_start",
                "suppressed",
                "mean",
                "n1",
                "n2",
                "n3",
                "n4",
                "n5",
                "respondents",
                "participation",
            ]
        )
        for trend in trends:
            for week in trend.weeks:
                dist = list(week.distribution) if week.distribution else ["", "", "", "", ""]
                writer.writerow(
                    [
                        trend.team,
                        week.week_start,
                        week.suppressed,
                        week.mean if week.mean is not None else "",
                        *dist,
                        week.respondents if week.respondents is not None else "",
                        week.participation if week.participation is not None else "",
                    ]
                )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    with friendly_errors():
        config = settings()
        upgrade_sync(config.database_url)
        out.print("Database is up to date.")


@app.command()
def purge() -> None:
    """Delete mood answers older than retention_days now (this also runs daily)."""
    with friendly_errors():
        config = settings()

        async def go(runtime: Runtime) -> int:
            cutoff = runtime.services.clock().date() - timedelta(days=config.retention_days)
            return await runtime.services.moods.purge_before(cutoff)

        purged = with_runtime(go, config)
        out.print(f"Removed {purged} mood answers older than {config.retention_days} days.")


@app.command()
def doctor() -> None:
    """Check settings, database, pepper and schedule, and say what is wrong in plain words."""
    problems = doctor_module.run_checks(_state["config"], out)
    raise typer.Exit(1 if problems else 0)
