"""`/whosees`: who can see what about you, in plain words, for your own roles."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Message
from bot.services import Services
from storage.models import Person


def _roles(person: Person) -> set[str]:
    return {role.strip().lower() for role in person.roles.split(";") if role.strip()}


def _teams(person: Person) -> list[str]:
    return [team.strip() for team in person.manages.split(";") if team.strip()]


def managers_of(team: str, people: Sequence[Person]) -> list[str]:
    """The names of people with the manager role who manage ``team``."""
    return sorted(
        person.display_name
        for person in people
        if "manager" in _roles(person) and team in _teams(person)
    )


async def who_sees(services: Services, person: Person) -> Message:
    """What each kind of person can see about this person, and what their own role sees."""
    text = services.text
    threshold = services.settings.min_group_size
    managers = managers_of(person.team, await services.people.list())
    lines = [
        text(person, "privacy.whosees_title"),
        text(person, "privacy.whosees_answers"),
        text(person, "privacy.whosees_notes"),
        text(
            person,
            "privacy.whosees_managers",
            managers=", ".join(managers),
            team=person.team,
            min=threshold,
        )
        if managers
        else text(person, "privacy.whosees_no_manager", team=person.team, min=threshold),
        text(person, "privacy.whosees_warriors"),
        text(person, "privacy.whosees_admins"),
    ]
    roles = _roles(person)
    if "manager" in roles and _teams(person):
        lines += [
            "",
            text(
                person,
                "privacy.whosees_as_manager",
                teams=", ".join(_teams(person)),
                min=threshold,
            ),
        ]
    if "volunteer" in roles:
        lines += ["", text(person, "privacy.whosees_as_volunteer")]
    lines += ["", text(person, "privacy.whosees_footer")]
    return Message("\n".join(lines))
