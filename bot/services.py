"""The collaborators every part of the engine shares, passed in explicitly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.catalogue import Catalogue
from bot.crisis import CrisisDirectory, CrisisLine
from bot.delivery import Deliverer, NoAdapter
from bot.messages import Message
from bot.personal_data import PersonalDataRegistry, standard_registry
from bot.ports import DeliveryError, Undeliverable
from bot.pseudonym import Pseudonymizer
from bot.settings import Settings
from bot.workdays import CheckinCalendar
from storage.audit import AuditLog
from storage.checkins import CheckinRepository
from storage.database import Database
from storage.events import EventLog
from storage.models import Person, row_id
from storage.moods import MoodRepository
from storage.people import PeopleRepository

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class Services:
    """Settings, words, storage, delivery and the clock, as one bundle."""

    settings: Settings
    db: Database
    catalogue: Catalogue
    crisis: CrisisDirectory
    calendar: CheckinCalendar
    pseudonymize: Pseudonymizer
    people: PeopleRepository
    checkins: CheckinRepository
    moods: MoodRepository
    events: EventLog
    delivery: Deliverer
    clock: Clock
    #: Who viewed, exported, erased or revealed what: ``await services.audit.record(...)``.
    audit: AuditLog
    #: What each module holds about a person, for export, erasure and retention.
    personal_data: PersonalDataRegistry

    @classmethod
    def build(
        cls,
        *,
        settings: Settings,
        db: Database,
        pepper: bytes,
        delivery: Deliverer,
        clock: Clock,
        catalogue: Catalogue | None = None,
    ) -> Services:
        """Wire the standard collaborators for a database and settings."""
        custom_lines = {
            region: [
                CrisisLine(name=line.name, contact=line.contact, detail=line.detail)
                for line in lines
            ]
            for region, lines in settings.crisis_lines.items()
        }
        people = PeopleRepository(db)
        checkins = CheckinRepository(db)
        moods = MoodRepository(db)
        audit = AuditLog(db, clock)
        return cls(
            settings=settings,
            db=db,
            catalogue=catalogue or Catalogue.load(),
            crisis=CrisisDirectory.load(custom_lines),
            calendar=CheckinCalendar(settings),
            pseudonymize=Pseudonymizer(pepper),
            people=people,
            checkins=checkins,
            moods=moods,
            events=EventLog(db),
            delivery=delivery,
            clock=clock,
            audit=audit,
            personal_data=standard_registry(
                people, checkins, moods, audit, settings.retention_days
            ),
        )

    def text(self, person: Person, key: str, **values: object) -> str:
        """A catalogue message in the person's language."""
        return self.catalogue.text(person.locale, key, **values)

    def pseudonym(self, person: Person) -> str:
        """The person's mood-row key, recomputed from their identity and the pepper."""
        return self.pseudonymize(person.platform, person.platform_user_id)

    def today(self, person: Person) -> datetime:
        """Now, in the person's own timezone."""
        return self.clock().astimezone(self.calendar.timezone(person.team, person.timezone))

    async def reply(self, person: Person, message: Message) -> str | None:
        """Send a message to a person; failures are logged, never raised.

        Returns:
            The message reference, or None if it could not be delivered.
        """
        if message.locale is None:
            message = replace(message, locale=person.locale)
        try:
            return await self.delivery.send_message(
                person.platform, person.platform_user_id, message
            )
        except Undeliverable as gone:
            await self.mark_undeliverable(person, gone.reason)
        except (DeliveryError, NoAdapter) as failure:
            logger.warning("could not reply to person #%s: %s", person.id, failure)
        return None

    async def mark_undeliverable(self, person: Person, reason: str) -> None:
        """Stop scheduling check-ins for someone the platform can no longer reach."""
        logger.warning("person #%s is unreachable (%s); pausing their check-ins", person.id, reason)
        await self.people.set_undeliverable(row_id(person), True)
