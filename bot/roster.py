"""Roster CSV import: validated in full before anything is written (all or nothing)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.workdays import is_known_region
from storage.models import Person

REQUIRED_COLUMNS = ("platform", "display_name", "team")
OPTIONAL_COLUMNS = (
    "platform_user_id",
    "email",
    "timezone",
    "locale",
    "region",
    "roles",
    "manages",
)
PLATFORMS = frozenset({"slack", "telegram", "console"})
ROLES = frozenset({"staff", "volunteer", "manager"})
#: The longest value each column may hold (the database's column sizes).
MAX_LENGTHS = {
    "platform_user_id": 128,
    "email": 254,
    "display_name": 200,
    "team": 100,
    "timezone": 64,
    "locale": 16,
    "region": 16,
    "roles": 100,
    "manages": 1000,
}


class RosterError(ValueError):
    """A roster problem, naming the line and column."""


@dataclass(frozen=True)
class RosterDefaults:
    """Values for columns a row leaves empty."""

    locale: str = "en"
    region: str = "UK"
    locales: frozenset[str] = frozenset({"en"})


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _show(value: str) -> str:
    """A value quoted on one line, however odd (newlines, control characters, huge)."""
    shown = repr(value)
    return shown if len(shown) <= 60 else f"{shown[:57]}…"


def _row_to_person(row: dict[str, str], line: int, defaults: RosterDefaults) -> Person:
    def fail(column: str, problem: str) -> RosterError:
        return RosterError(f"line {line}, column '{column}': {problem}")

    value = {key: (row.get(key) or "").strip() for key in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    for column, limit in MAX_LENGTHS.items():
        if len(value[column]) > limit:
            raise fail(column, f"is longer than {limit} characters")
    for column, text in value.items():
        if any(ord(char) < 32 for char in text):
            raise fail(column, f"{_show(text)} has a line break or control character in it")
    platform = value["platform"].lower()
    if platform not in PLATFORMS:
        raise fail(
            "platform", f"{_show(value['platform'])} is not one of {', '.join(sorted(PLATFORMS))}"
        )
    if not value["platform_user_id"] and not (platform == "slack" and value["email"]):
        hint = " (on Slack an email column may stand in)" if platform == "slack" else ""
        raise fail("platform_user_id", f"is empty{hint}")
    for column in REQUIRED_COLUMNS[1:]:
        if not value[column]:
            raise fail(column, "is empty")
    if value["timezone"]:
        try:
            ZoneInfo(value["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("timezone", f"unknown timezone {_show(value['timezone'])}") from None
    locale = value["locale"] or defaults.locale
    if locale not in defaults.locales:
        raise fail(
            "locale",
            f"{_show(locale)} has no messages; use one of {', '.join(sorted(defaults.locales))}",
        )
    region = value["region"] or defaults.region
    if not is_known_region(region):
        raise fail(
            "region", f"unknown region {_show(region)} (use a code like UK, UK-WLS, IE, US-CA)"
        )
    roles = _split(value["roles"].lower()) or ["staff"]
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise fail("roles", f"unknown role {_show(unknown[0])} (use staff, volunteer, manager)")
    manages = _split(value["manages"])
    if manages and "manager" not in roles:
        raise fail("manages", "only people with the manager role can manage teams")
    return Person(
        platform=platform,
        # Slack people listed by email get their id looked up when the adapter starts.
        platform_user_id=value["platform_user_id"] or f"email:{value['email'].lower()}",
        email=value["email"] or None,
        display_name=value["display_name"],
        team=value["team"],
        timezone=value["timezone"] or None,
        locale=locale,
        region=region,
        roles=";".join(dict.fromkeys(roles)),
        manages=";".join(manages),
    )


def parse_roster(text: str, defaults: RosterDefaults | None = None) -> list[Person]:
    """Parse and validate a whole roster.

    Raises:
        RosterError: for the first bad line, naming line and column; nothing is kept.
    """
    defaults = defaults or RosterDefaults()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return _parse_rows(reader, defaults)
    except csv.Error as broken:
        # e.g. a field over the csv module's size limit, or a stray NUL byte.
        raise RosterError(f"line {reader.line_num}: not valid CSV ({broken})") from None


def _parse_rows(reader: csv.DictReader[str], defaults: RosterDefaults) -> list[Person]:
    columns = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = columns
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise RosterError(f"line 1: missing column '{missing[0]}'")
    if "platform_user_id" not in columns and "email" not in columns:
        raise RosterError("line 1: missing column 'platform_user_id'")
    unknown = [name for name in columns if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if unknown:
        raise RosterError(f"line 1: unknown column {_show(unknown[0])}")
    people: list[Person] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise RosterError(f"line {line}: more values than columns")
        if not any((cell or "").strip() for cell in row.values()):
            continue
        person = _row_to_person(row, line, defaults)
        key = (person.platform, person.platform_user_id)
        if key in seen:
            raise RosterError(
                f"line {line}, column 'platform_user_id': "
                f"the same person is already on line {seen[key]}"
            )
        seen[key] = line
        people.append(person)
    if not people:
        raise RosterError("the roster has no people in it")
    return people


def roster_rows(people: Iterable[Person]) -> str:
    """People as roster CSV (the same columns the import reads)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            *REQUIRED_COLUMNS[:1],
            "platform_user_id",
            *REQUIRED_COLUMNS[1:],
            "timezone",
            "locale",
            "region",
            "roles",
            "manages",
        ]
    )
    for p in people:
        writer.writerow(
            [
                p.platform,
                p.platform_user_id,
                p.display_name,
                p.team,
                p.timezone or "",
                p.locale,
                p.region,
                p.roles,
                p.manages,
            ]
        )
    return out.getvalue()
