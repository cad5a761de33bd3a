"""`kiln doctor`: checks everything kiln needs and says what is wrong in plain words."""

from __future__ import annotations

import asyncio
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from rich.console import Console
from sqlalchemy import create_engine

from adapters import slack_checks
from bot.settings import ConfigError, Settings, load_settings
from bot.workdays import CheckinCalendar
from storage.database import alembic_config, connection_problem, driver_urls


@dataclass(frozen=True)
class Finding:
    """One check's outcome."""

    ok: bool
    text: str


def mask(secret: str) -> str:
    """Show only enough of a secret to recognise it."""
    return f"{secret[:4]}…{secret[-2:]}" if len(secret) > 10 else "***"


def check_database(settings: Settings) -> list[Finding]:
    """Can we connect, and is the schema current?"""
    try:
        engine = create_engine(driver_urls(settings.database_url)[1])
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        engine.dispose()
    except Exception as exc:
        # connection_problem masks the password, whatever the driver's message says.
        return [Finding(False, connection_problem(settings.database_url, exc))]
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    if current != heads:
        state = ", ".join(sorted(current)) or "empty"
        return [
            Finding(False, f"the database schema is out of date ({state}); run `kiln db upgrade`")
        ]
    return [Finding(True, "database reachable and up to date")]


def check_pepper(settings: Settings) -> list[Finding]:
    """Is there a pepper, and is its key file private?"""
    if settings.pepper:
        return [
            Finding(
                True, f"pepper set from KILN_PEPPER ({mask(settings.pepper.get_secret_value())})"
            )
        ]
    path: Path = settings.pepper_file
    if not path.exists():
        return [Finding(True, f"no pepper yet: one will be made at {path} (mode 600) on first run")]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return [
            Finding(
                False, f"the pepper key file {path} can be read by others; run: chmod 600 {path}"
            )
        ]
    return [Finding(True, f"pepper key file {path} is private")]


def check_platforms(settings: Settings) -> list[Finding]:
    """Which platform tokens are set (shown masked)."""
    findings = []
    for label, secret in (
        ("Slack bot token", settings.slack_bot_token),
        ("Telegram token", settings.telegram_token),
    ):
        if secret:
            findings.append(Finding(True, f"{label} set ({mask(secret.get_secret_value())})"))
    if not findings:
        findings.append(
            Finding(
                False,
                "no chat platform configured: set KILN_SLACK_BOT_TOKEN or KILN_TELEGRAM_TOKEN",
            )
        )
    return findings


def check_slack(settings: Settings) -> list[Finding]:
    """Does Slack accept the bot token (``auth.test``), with the scopes kiln needs?"""
    if settings.slack_bot_token is None:
        return []
    secret = settings.slack_signing_secret
    results = asyncio.run(
        slack_checks.check_slack(
            settings.slack_bot_token.get_secret_value(),
            app_token=settings.slack_app_token.get_secret_value()
            if settings.slack_app_token
            else None,
            signing_secret=secret.get_secret_value() if secret else None,
            api_url=settings.slack_api_url,
        )
    )
    return [Finding(ok, text) for ok, text in results]


def check_schedule(settings: Settings) -> list[Finding]:
    """Describe each configured team's schedule."""
    calendar = CheckinCalendar(settings)
    findings = [
        Finding(
            True, f"default check-in at {settings.checkin.time:%H:%M} ({settings.default_timezone})"
        )
    ]
    for team in sorted(settings.teams):
        schedule = calendar.schedule(team)
        days = ", ".join(
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d] for d in sorted(schedule.weekdays)
        )
        findings.append(
            Finding(True, f"team {team}: {schedule.time:%H:%M} {schedule.timezone} on {days}")
        )
    today = datetime.now(UTC).date()
    past = [d for d in settings.quiet_dates if d < today]
    if past:
        findings.append(
            Finding(True, f"{len(past)} quiet date(s) in the past can be removed from kiln.toml")
        )
    return findings


def run_checks(config: Path | None, console: Console) -> int:
    """Run every check, print findings, return how many problems were found."""
    try:
        settings = load_settings(config)
    except ConfigError as problem:
        console.print(f"[red]✗[/red] settings: {problem}", highlight=False)
        return 1
    findings = [Finding(True, "settings are valid")]
    for check in (check_database, check_pepper, check_platforms, check_slack, check_schedule):
        findings.extend(check(settings))
    for finding in findings:
        mark = "[green]✓[/green]" if finding.ok else "[red]✗[/red]"
        console.print(f"{mark} {finding.text}", highlight=False)
    problems = sum(not finding.ok for finding in findings)
    console.print("All good." if not problems else f"{problems} problem(s) found.")
    return problems


__all__ = ["run_checks"]
