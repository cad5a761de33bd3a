"""What `kiln report`, `kiln people export|forget`, `kiln audit` and `kiln purge` do.

The commands themselves live in :mod:`kiln.cli`; this module does the work through
the same engine functions chat uses (:mod:`bot.reporting`, :mod:`bot.data_rights`),
so an admin and a person asking in chat get the same rules and the same audit trail.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.data_rights import PersonalExport, erase_person, export_person, purge_expired
from bot.periods import PeriodKind
from bot.reporting import EVERYONE, Group, Report, Viewer, aggregate
from bot.settings import ConfigError
from kiln.runtime import Runtime
from storage.audit import AuditEntry
from storage.models import Person

ADMIN = "admin"
CHANNEL = "command line"


async def _find(runtime: Runtime, platform: str, user_id: str) -> Person:
    person = await runtime.services.people.find(platform, user_id)
    if person is None:
        raise ConfigError(f"nobody with {platform} id {user_id} is enrolled")
    return person


async def export_one(runtime: Runtime, platform: str, user_id: str) -> PersonalExport:
    """Everything kiln holds about one person (a subject access request); audited."""
    person = await _find(runtime, platform, user_id)
    return await export_person(runtime.services, person, actor=ADMIN, channel=CHANNEL)


async def forget_one(runtime: Runtime, platform: str, user_id: str) -> dict[str, int]:
    """Erase one person (an erasure request); rows removed per section; audited."""
    person = await _find(runtime, platform, user_id)
    return await erase_person(runtime.services, person, actor=ADMIN, channel=CHANNEL)


def describe_counts(counts: dict[str, int]) -> str:
    """``1 identity, 3 checkins, 12 moods`` (sections with nothing are left out)."""
    return ", ".join(f"{count} {section}" for section, count in counts.items() if count) or (
        "nothing"
    )


async def team_report(runtime: Runtime, team: str | None, kind: PeriodKind, count: int) -> Report:
    """The anonymised report for one team, or for every team and the organisation."""
    sizes = await runtime.services.people.team_sizes()
    if team is not None and team not in sizes:
        names = ", ".join(sorted(sizes)) or "none yet"
        raise ConfigError(f"no team called '{team}' (teams: {names})")
    teams = [team] if team is not None else sorted(sizes)
    groups = [Group.of_team(name) for name in teams] + ([] if team else [EVERYONE])
    return await aggregate(
        runtime.services, Viewer.admin(), groups, kind=kind, count=count, purpose="report"
    )


def _name(group: Group) -> str:
    return group.team if group.team is not None else "(everyone)"


def print_report(console: Console, report: Report) -> None:
    """One table per group; suppressed cells say so and show no numbers."""
    first = "week of" if report.kind is PeriodKind.WEEK else "month"
    for group in report.groups:
        table = Table(
            first,
            "mean",
            "1",
            "2",
            "3",
            "4",
            "5",
            "people",
            "participation",
            title=(
                f"{_name(group)} ({report.group_sizes[group]} people; "
                f"groups under {report.min_group_size} are suppressed)"
            ),
        )
        for cell in report.row(group):
            if cell.suppressed or cell.distribution is None:
                table.add_row(cell.period.label, "suppressed", *[""] * 7)
                continue
            participation = f"{cell.participation:.0%}" if cell.participation is not None else ""
            table.add_row(
                cell.period.label,
                f"{cell.mean:.2f}",
                *(str(n) for n in cell.distribution),
                str(cell.respondents),
                participation,
            )
        if not report.periods:
            table.add_row("no finished period yet", *[""] * 8)
        console.print(table)


def write_report_csv(report: Report, path: Path) -> None:
    """The report's cells as CSV; suppressed rows have no figures."""
    first = "week_start" if report.kind is PeriodKind.WEEK else "month"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "team",
                first,
                "suppressed",
                "mean",
                *(f"n{score}" for score in range(1, 6)),
                "respondents",
                "participation",
            ]
        )
        for group in report.groups:
            for cell in report.row(group):
                dist: Sequence[object] = cell.distribution or [""] * 5
                writer.writerow(
                    [
                        _name(group),
                        cell.period.label,
                        cell.suppressed,
                        "" if cell.mean is None else cell.mean,
                        *dist,
                        "" if cell.respondents is None else cell.respondents,
                        "" if cell.participation is None else cell.participation,
                    ]
                )


async def audit_entries(
    runtime: Runtime, since: datetime | None
) -> list[tuple[AuditEntry, str, str]]:
    """Audit entries from ``since`` with who acted and whom it concerned, in words."""
    people: dict[int, Person | None] = {}

    async def who(person_id: int | None, fallback: str) -> str:
        if person_id is None:
            return fallback
        if person_id not in people:
            people[person_id] = await runtime.services.people.get(person_id)
        person = people[person_id]
        return f"{person.display_name} (#{person_id})" if person else f"#{person_id}"

    rows = []
    for entry in await runtime.services.audit.since(since):
        actor = {"person": "a person since erased", "system": "kiln (daily)"}.get(
            entry.actor, entry.actor
        )
        about = await who(entry.subject_person_id, "")
        rows.append((entry, await who(entry.actor_person_id, actor), about))
    return rows


def print_audit(console: Console, rows: list[tuple[AuditEntry, str, str]]) -> None:
    """The audit log as a table, oldest first."""
    table = Table("when (UTC)", "who", "action", "what", "about")
    for entry, actor, about in rows:
        table.add_row(f"{entry.at:%Y-%m-%d %H:%M}", actor, entry.action, entry.subject, about)
    console.print(table)
    console.print(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}")


async def purge_now(runtime: Runtime) -> dict[str, int]:
    """Apply every retention period now; rows removed per section; audited."""
    services = runtime.services
    return await purge_expired(services, services.clock(), actor=ADMIN)
