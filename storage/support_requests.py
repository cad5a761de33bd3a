"""Support requests: opened, escalated, closed, and each step's history.

Every change is a conditional UPDATE that says what state it expects, so a double
press, a second worker or a late timer finds the row already moved and does nothing.
Outbox messages about a change are written in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database
from storage.models import Person
from storage.outbox import add_notices, as_utc
from storage.support import (
    ACTIVE,
    UNCLAIMED,
    Notice,
    RequestStatus,
    SupportEvent,
    SupportRequest,
)


@dataclass(frozen=True)
class FirstContact:
    """One request for reporting: the person's team and how long until someone claimed it."""

    team: str
    created_at: datetime
    seconds: int | None


async def add_event(
    session: AsyncSession,
    request_id: int,
    kind: str,
    now: datetime,
    volunteer_id: int | None = None,
) -> None:
    """Add a step to a request's history inside the caller's transaction."""
    session.add(SupportEvent(request_id=request_id, kind=kind, volunteer_id=volunteer_id, at=now))


class SupportRepository:
    """Support requests, their alerts and their history."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, request_id: int) -> SupportRequest | None:
        """The request with this id, if any."""
        async with self._db.session() as session:
            return await session.get(SupportRequest, request_id)

    async def active_for(self, person_id: int) -> SupportRequest | None:
        """The person's request not yet closed, if any."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportRequest)
                .where(
                    SupportRequest.person_id == person_id,
                    col(SupportRequest.status).in_(ACTIVE),
                )
                .order_by(col(SupportRequest.id).desc())
            )
            return result.first()

    async def open_request(
        self, person_id: int, reason: str, *, urgent: bool, anonymous: bool, now: datetime
    ) -> SupportRequest:
        """Record that someone said yes."""
        request = SupportRequest(
            person_id=person_id, reason=reason, urgent=urgent, anonymous=anonymous, created_at=now
        )
        async with self._db.session() as session:
            session.add(request)
            await session.flush()
            assert request.id is not None  # noqa: S101  (set by the flush above)
            await add_event(session, request.id, "requested", now)
        return request

    async def escalate(
        self, request_id: int, now: datetime, notices: Sequence[Notice]
    ) -> list[int] | None:
        """Hand an open request to the escalation path; None if it was not open."""
        async with self._db.session() as session:
            result = await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.status) == RequestStatus.OPEN.value,
                    )
                )
                .values(status=RequestStatus.ESCALATED.value, escalated_at=now)
            )
            if result.rowcount != 1:
                return None
            await add_event(session, request_id, "escalated", now)
            return await add_notices(session, request_id, notices, now)

    async def make_urgent(self, request_id: int, reason: str, now: datetime) -> None:
        """Raise an unclaimed request to crisis urgency; pending alerts keep their timers."""
        async with self._db.session() as session:
            await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.status).in_(UNCLAIMED),
                    )
                )
                .values(urgent=True, reason=reason)
            )
            await add_event(session, request_id, "made_urgent", now)

    async def set_share_note(self, request_id: int, person_id: int, share: bool) -> bool:
        """Record the person's answer about sharing their note; False if not theirs."""
        async with self._db.session() as session:
            result = await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.person_id) == person_id,
                    )
                )
                .values(share_note=share)
            )
            return bool(result.rowcount == 1)

    async def close(
        self, request_id: int, volunteer_id: int, now: datetime, checkin_at: datetime
    ) -> bool:
        """The claiming volunteer closes the case; False if not theirs or not open."""
        async with self._db.session() as session:
            result = await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.claimed_by) == volunteer_id,
                        col(SupportRequest.status) == RequestStatus.CLAIMED.value,
                    )
                )
                .values(
                    status=RequestStatus.CLOSED.value,
                    closed_at=now,
                    volunteer_checkin_at=checkin_at,
                )
            )
            if result.rowcount != 1:
                return False
            await add_event(session, request_id, "closed", now, volunteer_id)
            return True

    async def open_cases(self, volunteer_id: int) -> list[SupportRequest]:
        """A volunteer's claimed, unclosed cases, oldest first."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportRequest)
                .where(
                    SupportRequest.claimed_by == volunteer_id,
                    col(SupportRequest.status) == RequestStatus.CLAIMED.value,
                )
                .order_by(col(SupportRequest.claimed_at))
            )
            return list(result.all())

    async def due_volunteer_checkins(self, now: datetime) -> list[SupportRequest]:
        """Closed cases whose volunteer is due a check-in."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportRequest).where(
                    col(SupportRequest.volunteer_checkin_at).is_not(None),
                    col(SupportRequest.volunteer_checkin_at) <= now,
                )
            )
            return list(result.all())

    async def take_volunteer_checkin(
        self, request_id: int, now: datetime, notices: Sequence[Notice]
    ) -> list[int] | None:
        """Claim a due volunteer check-in (once, whoever ticks first) and queue it."""
        async with self._db.session() as session:
            result = await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.volunteer_checkin_at).is_not(None),
                    )
                )
                .values(volunteer_checkin_at=None)
            )
            if result.rowcount != 1:
                return None
            await add_event(session, request_id, "volunteer_checkin", now)
            return await add_notices(session, request_id, notices, now)

    async def record(
        self, request_id: int, kind: str, now: datetime, volunteer_id: int | None = None
    ) -> None:
        """Add a step to a request's history."""
        async with self._db.session() as session:
            await add_event(session, request_id, kind, now, volunteer_id)

    async def history(self, request_id: int) -> list[tuple[str, int | None]]:
        """A request's steps in order, as (kind, volunteer id)."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportEvent.kind, SupportEvent.volunteer_id)
                .where(SupportEvent.request_id == request_id)
                .order_by(col(SupportEvent.id))
            )
            return [(kind, vid) for kind, vid in result.all()]

    async def first_contact(self, since: datetime) -> list[FirstContact]:
        """Requests from ``since`` on, with the person's team and time to first contact."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Person.team, SupportRequest.created_at, SupportRequest.first_contact_seconds)
                .join(Person, col(Person.id) == col(SupportRequest.person_id))
                .where(col(SupportRequest.created_at) >= since)
                .order_by(col(SupportRequest.created_at))
            )
            return [
                FirstContact(team, as_utc(created), seconds)
                for team, created, seconds in result.all()
            ]
