"""What kiln holds about a person, module by module: exported, erased and expired together.

Each part of kiln that keeps something about people registers a
:class:`PersonalDataHolder` in the composition root. `/mydata` and
`kiln people export` ask every holder for its records, `/forgetme` and
`kiln people forget` ask every holder to erase, and the daily housekeeping asks
every holder to drop what is past its retention period. A feature that adds a table
adds a holder; nothing here needs to change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from storage.audit import AuditLog
from storage.checkins import CheckinRepository
from storage.models import Person, row_id
from storage.moods import MoodRepository
from storage.people import PeopleRepository

logger = logging.getLogger(__name__)

#: One exported record: names to plain values (text, numbers, dates, booleans, None).
Record = dict[str, object]


@dataclass(frozen=True)
class DataSubject:
    """The person a request is about, with every key their data may be filed under.

    Attributes:
        person: Their identity row.
        pseudonym: Their mood-row key (recomputed with the pepper; never stored).
    """

    person: Person
    pseudonym: str

    @property
    def person_id(self) -> int:
        """Their identity row's id."""
        return row_id(self.person)


class PersonalDataHolder(Protocol):
    """One module's share of what kiln holds about people."""

    #: The section name in an export ("moods", "support_requests").
    section: str

    async def export(self, subject: DataSubject) -> list[Record]:
        """Everything this module holds about the person."""

    async def erase(self, subject: DataSubject) -> int:
        """Delete (or unlink) everything this module holds about the person; how many rows."""

    async def purge(self, now: datetime) -> int:
        """Delete what is past its retention period; how many rows."""


class PersonalDataRegistry:
    """Every holder, identity first; identity is erased last (others may need it)."""

    def __init__(self, identity: PersonalDataHolder) -> None:
        self._identity = identity
        self._others: list[PersonalDataHolder] = []

    def register(self, holder: PersonalDataHolder) -> None:
        """Add a module's holder.

        Raises:
            ValueError: if another holder already uses its section name.
        """
        if holder.section in self.sections:
            raise ValueError(f"a holder for {holder.section!r} is already registered")
        self._others.append(holder)

    @property
    def sections(self) -> tuple[str, ...]:
        """Section names in export order."""
        return (self._identity.section, *(holder.section for holder in self._others))

    async def export(self, subject: DataSubject) -> dict[str, list[Record]]:
        """Every holder's records about the person, by section."""
        result = {self._identity.section: await self._identity.export(subject)}
        for holder in self._others:
            result[holder.section] = await holder.export(subject)
        return result

    async def erase(self, subject: DataSubject) -> dict[str, int]:
        """Erase the person from every holder, identity last; rows removed per section."""
        counts = {holder.section: await holder.erase(subject) for holder in self._others}
        counts[self._identity.section] = await self._identity.erase(subject)
        logger.info("erased person #%s from %d sections", subject.person_id, len(counts))
        return counts

    async def purge(self, now: datetime) -> dict[str, int]:
        """Apply every holder's retention period; rows removed per section."""
        holders = (self._identity, *self._others)
        return {holder.section: await holder.purge(now) for holder in holders}


class IdentityHolder:
    """The person row: name, platform id, team, roles, preferences."""

    section = "identity"

    def __init__(self, people: PeopleRepository) -> None:
        self._people = people

    async def export(self, subject: DataSubject) -> list[Record]:
        """The identity row as stored (without the internal id)."""
        person = await self._people.get(subject.person_id)
        return [person.model_dump(exclude={"id"})] if person is not None else []

    async def erase(self, subject: DataSubject) -> int:
        """Delete the identity row (rows that point at it go with it)."""
        await self._people.delete(subject.person_id)
        return 1

    async def purge(self, now: datetime) -> int:
        """Identity is kept while someone is enrolled; an admin removes leavers."""
        return 0


class CheckinHolder:
    """Check-in rows: which days a check-in was sent and closed (never the answer)."""

    section = "checkins"

    def __init__(self, checkins: CheckinRepository, retention_days: int) -> None:
        self._checkins = checkins
        self._retention = timedelta(days=retention_days)

    async def export(self, subject: DataSubject) -> list[Record]:
        """Each check-in's day and when it was sent and closed."""
        rows = await self._checkins.of_person(subject.person_id)
        return [
            {"date": row.local_date, "sent_at": row.sent_at, "closed_at": row.closed_at}
            for row in rows
        ]

    async def erase(self, subject: DataSubject) -> int:
        """Delete the person's check-in rows."""
        return await self._checkins.forget_person(subject.person_id)

    async def purge(self, now: datetime) -> int:
        """Drop check-in rows past the retention period."""
        return await self._checkins.purge_before(now.date() - self._retention)


class MoodHolder:
    """Mood answers, found through the person's pseudonym."""

    section = "moods"

    def __init__(self, moods: MoodRepository, retention_days: int) -> None:
        self._moods = moods
        self._retention = timedelta(days=retention_days)

    async def export(self, subject: DataSubject) -> list[Record]:
        """Each day's mood, oldest first."""
        history = await self._moods.history(subject.pseudonym, since=date.min)
        return [{"date": entry.local_date, "score": entry.score} for entry in history]

    async def erase(self, subject: DataSubject) -> int:
        """Delete every mood filed under the person's pseudonym."""
        return await self._moods.forget(subject.pseudonym)

    async def purge(self, now: datetime) -> int:
        """Drop moods past the retention period."""
        return await self._moods.purge_before(now.date() - self._retention)


class AuditHolder:
    """Audit entries the person made (views, exports) or that were about them."""

    section = "audit"

    def __init__(self, audit: AuditLog, retention_days: int) -> None:
        self._audit = audit
        self._retention = timedelta(days=retention_days)

    async def export(self, subject: DataSubject) -> list[Record]:
        """When, what, and whether the person did it or it was about them."""
        return [
            {
                "at": entry.at,
                "action": entry.action,
                "subject": entry.subject,
                "by_you": entry.actor_person_id == subject.person_id,
            }
            for entry in await self._audit.involving(subject.person_id)
        ]

    async def erase(self, subject: DataSubject) -> int:
        """Keep the entries (they record that something happened) but unlink the person."""
        return await self._audit.scrub(subject.person_id)

    async def purge(self, now: datetime) -> int:
        """Drop entries past the retention period."""
        return await self._audit.purge_before(now - self._retention)


def standard_registry(
    people: PeopleRepository,
    checkins: CheckinRepository,
    moods: MoodRepository,
    audit: AuditLog,
    retention_days: int,
) -> PersonalDataRegistry:
    """The holders of the core tables; features register theirs on top."""
    registry = PersonalDataRegistry(IdentityHolder(people))
    registry.register(CheckinHolder(checkins, retention_days))
    registry.register(MoodHolder(moods, retention_days))
    registry.register(AuditHolder(audit, retention_days))
    return registry
