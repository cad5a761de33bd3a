"""Wellbeing Warriors: who they are, and whether they have said `/away` or `/available`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select

from storage.database import Database
from storage.models import Person
from storage.support import VolunteerStatus

VOLUNTEER_ROLE = "volunteer"


def has_role(person: Person, role: str) -> bool:
    """True if the person's roster roles include ``role``."""
    return role in {part.strip() for part in person.roles.split(";")}


class VolunteerRepository:
    """Volunteers and their availability status."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def volunteers(self) -> list[Person]:
        """Everyone with the volunteer role, by id."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Person)
                .where(col(Person.roles).contains(VOLUNTEER_ROLE))
                .order_by(col(Person.id))
            )
            # The LIKE narrows; the exact check keeps a role such as "volunteers" out.
            return [p for p in result.all() if has_role(p, VOLUNTEER_ROLE)]

    async def statuses(self, person_ids: Sequence[int]) -> dict[int, VolunteerStatus]:
        """The status rows of these volunteers (those who never set one have none)."""
        if not person_ids:
            return {}
        async with self._db.session() as session:
            result = await session.exec(
                select(VolunteerStatus).where(col(VolunteerStatus.person_id).in_(list(person_ids)))
            )
            return {row.person_id: row for row in result.all()}

    async def set_status(
        self, person_id: int, *, away: bool, on_call_until: datetime | None, now: datetime
    ) -> None:
        """Record `/away` (away=True) or `/available` (away=False, maybe on call until a time)."""
        async with self._db.session() as session:
            row = await session.get(VolunteerStatus, person_id)
            if row is None:
                row = VolunteerStatus(person_id=person_id)
            row.away = away
            row.on_call_until = on_call_until
            row.updated_at = now
            session.add(row)
