"""Support rows seen from the privacy side: one person's share, erasure, and the 90-day trim.

The support tables themselves belong to :mod:`storage.support`; this module only
reads them for a person's data export, deletes a person's rows on erasure, and, once
a closed case is 90 days old, replaces it with a :class:`SupportSummary`: its team,
week and timings, with nobody in it (DESIGN §4, retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Field, SQLModel, col, select

from storage.database import Database
from storage.models import Person
from storage.support import (
    OutboxItem,
    RelaySession,
    RequestStatus,
    SupportAlert,
    SupportEvent,
    SupportRequest,
    VolunteerStatus,
)


class SupportSummary(SQLModel, table=True):
    """What is left of a closed support case after 90 days: counts and timings only."""

    __tablename__ = "support_summary"

    id: int | None = Field(default=None, primary_key=True)
    team: str = Field(max_length=100, index=True)
    #: The Monday of the week the request was made (no day, no time).
    week_start: date = Field(index=True)
    handled: bool
    first_contact_seconds: int | None = None
    open_seconds: int | None = None


@dataclass(frozen=True)
class PersonSupport:
    """Everything in the support tables about one person."""

    requests: list[tuple[SupportRequest, bool | None]]  # with "revealed" from any relay
    alerts: list[SupportAlert]
    status: VolunteerStatus | None


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds())


class SupportRecords:
    """Reads, erases and trims support rows for the privacy features."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of_person(self, person_id: int) -> PersonSupport:
        """The person's own requests (with consents), alerts sent to them, their status."""
        async with self._db.session() as session:
            requests = (
                await session.exec(
                    select(SupportRequest, RelaySession.revealed)
                    .outerjoin(RelaySession, col(RelaySession.request_id) == col(SupportRequest.id))
                    .where(SupportRequest.person_id == person_id)
                    .order_by(col(SupportRequest.created_at))
                )
            ).all()
            alerts = (
                await session.exec(
                    select(SupportAlert)
                    .where(SupportAlert.volunteer_id == person_id)
                    .order_by(col(SupportAlert.created_at))
                )
            ).all()
            status = await session.get(VolunteerStatus, person_id)
        return PersonSupport([(r, v) for r, v in requests], list(alerts), status)

    async def erase(self, person_id: int) -> int:
        """Delete the person's requests (with their alerts, history, relay and outbox rows)
        and their volunteer rows, and unlink them from cases they took; rows changed."""
        total = 0
        async with self._db.session() as session:
            for statement in (
                delete(SupportRequest).where(col(SupportRequest.person_id) == person_id),
                delete(SupportAlert).where(col(SupportAlert.volunteer_id) == person_id),
                delete(RelaySession).where(
                    (col(RelaySession.person_id) == person_id)
                    | (col(RelaySession.volunteer_id) == person_id)
                ),
                delete(OutboxItem).where(col(OutboxItem.recipient_id) == person_id),
                delete(VolunteerStatus).where(col(VolunteerStatus.person_id) == person_id),
                update(SupportRequest)
                .where(col(SupportRequest.claimed_by) == person_id)
                .values(claimed_by=None),
                update(SupportEvent)
                .where(col(SupportEvent.volunteer_id) == person_id)
                .values(volunteer_id=None),
            ):
                total += int((await session.exec(statement)).rowcount)
        return total

    async def trim_closed_before(self, cutoff: datetime) -> int:
        """Replace cases closed before ``cutoff`` by summaries; how many were trimmed."""
        async with self._db.session() as session:
            closed = (
                await session.exec(
                    select(SupportRequest, Person.team)
                    .join(Person, col(Person.id) == col(SupportRequest.person_id))
                    .where(
                        SupportRequest.status == RequestStatus.CLOSED.value,
                        col(SupportRequest.closed_at) < cutoff,
                    )
                )
            ).all()
            for request, team in closed:
                created = request.created_at.date()
                session.add(
                    SupportSummary(
                        team=team,
                        week_start=created - timedelta(days=created.weekday()),
                        handled=request.claimed_at is not None,
                        first_contact_seconds=request.first_contact_seconds,
                        open_seconds=_seconds(request.created_at, request.closed_at),
                    )
                )
                await session.delete(request)
            return len(closed)
