"""Reading and changing people (the identity table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, func
from sqlmodel import col, select

from storage.database import Database
from storage.models import Person, row_id

#: People read per query when listing everyone schedulable.
SCHEDULABLE_PAGE = 1000


class PeopleRepository:
    """People by platform identity, team and status."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def find(self, platform: str, platform_user_id: str) -> Person | None:
        """The enrolled person with this platform identity, if any."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Person).where(
                    Person.platform == platform, Person.platform_user_id == platform_user_id
                )
            )
            return result.first()

    async def get(self, person_id: int) -> Person | None:
        """The person with this id, if any."""
        async with self._db.session() as session:
            return await session.get(Person, person_id)

    async def schedulable(self, team: str | None = None) -> Sequence[Person]:
        """Everyone who may get scheduled check-ins (not opted out, still reachable).

        Read a page at a time: turning ten thousand rows into objects in one go held
        the event loop for a noticeable moment every minute, and every button press
        arriving meanwhile waited for its ack.
        """
        query = select(Person).where(
            col(Person.opted_out).is_(False), col(Person.undeliverable).is_(False)
        )
        if team is not None:
            query = query.where(Person.team == team)
        people: list[Person] = []
        after = 0
        while True:
            async with self._db.session() as session:
                page = (
                    await session.exec(
                        query.where(col(Person.id) > after)
                        .order_by(col(Person.id))
                        .limit(SCHEDULABLE_PAGE)
                    )
                ).all()
            people.extend(page)
            if len(page) < SCHEDULABLE_PAGE:
                return people
            after = row_id(page[-1])

    async def list(self, team: str | None = None) -> Sequence[Person]:
        """Everyone, optionally in one team, by team then name."""
        query = select(Person)
        if team is not None:
            query = query.where(Person.team == team)
        async with self._db.session() as session:
            result = await session.exec(query.order_by(Person.team, Person.display_name))
            return result.all()

    async def team_sizes(self) -> dict[str, int]:
        """How many people each team has."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Person.team, func.count(col(Person.id))).group_by(Person.team)
            )
            return {team: count for team, count in result.all()}

    async def add_all(self, people: Sequence[Person]) -> int:
        """Insert or update people by platform identity, all in one transaction.

        Returns:
            How many were new.
        """
        created = 0
        async with self._db.session() as session:
            for incoming in people:
                existing = (
                    await session.exec(
                        select(Person).where(
                            Person.platform == incoming.platform,
                            Person.platform_user_id == incoming.platform_user_id,
                        )
                    )
                ).first()
                if existing is None:
                    session.add(incoming)
                    created += 1
                    continue
                for field in (
                    "email",
                    "display_name",
                    "team",
                    "timezone",
                    "locale",
                    "region",
                    "roles",
                    "manages",
                ):
                    setattr(existing, field, getattr(incoming, field))
                session.add(existing)
        return created

    async def set_paused_until(self, person_id: int, until: date | None) -> None:
        """Pause check-ins until ``until`` (exclusive), or clear the pause."""
        await self._update(person_id, paused_until=until)

    async def set_opted_out(self, person_id: int, opted_out: bool) -> None:
        """Opt a person out of (or back into) scheduled check-ins."""
        await self._update(person_id, opted_out=opted_out)

    async def set_undeliverable(self, person_id: int, undeliverable: bool) -> None:
        """Mark a person the platform can no longer reach (or reachable again)."""
        await self._update(person_id, undeliverable=undeliverable)

    async def set_timezone(self, person_id: int, timezone: str) -> None:
        """Record the timezone the platform profile gives."""
        await self._update(person_id, timezone=timezone)

    async def on_platform(self, platform: str) -> Sequence[Person]:
        """Everyone enrolled on one platform, oldest first."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Person).where(Person.platform == platform).order_by(col(Person.id))
            )
            return result.all()

    async def replace_platform_user_id(
        self, person_id: int, platform_user_id: str, *, timezone: str | None = None
    ) -> Person | None:
        """Swap a placeholder identity (a Slack ``email:`` id) for the platform's real id.

        If someone already holds the real id (the roster was imported again after an
        earlier lookup), the placeholder's roster details are copied onto them and the
        placeholder row is removed, so nobody is enrolled twice. The person is reachable
        again, and the platform's ``timezone`` is kept only where the roster gave none.

        Returns:
            The person now holding the real id, or None if ``person_id`` is gone.
        """
        async with self._db.session() as session:
            placeholder = await session.get(Person, person_id)
            if placeholder is None:
                return None
            holder = (
                await session.exec(
                    select(Person).where(
                        Person.platform == placeholder.platform,
                        Person.platform_user_id == platform_user_id,
                    )
                )
            ).first()
            if holder is None:
                holder = placeholder
                holder.platform_user_id = platform_user_id
            else:
                for field in ("email", "display_name", "team", "locale", "region", "roles"):
                    setattr(holder, field, getattr(placeholder, field))
                holder.manages = placeholder.manages
                holder.timezone = placeholder.timezone or holder.timezone
                await session.delete(placeholder)
            holder.undeliverable = False
            if holder.timezone is None and timezone:
                holder.timezone = timezone
            session.add(holder)
            return holder

    async def _update(self, person_id: int, **values: object) -> None:
        async with self._db.session() as session:
            person = await session.get(Person, person_id)
            if person is None:
                return
            for name, value in values.items():
                setattr(person, name, value)
            session.add(person)

    async def delete(self, person_id: int) -> None:
        """Remove a person's identity (their check-in rows go with it)."""
        async with self._db.session() as session:
            await session.exec(delete(Person).where(col(Person.id) == person_id))
