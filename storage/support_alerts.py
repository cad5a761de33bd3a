"""Alerts to volunteers: who was asked, who claimed, passed or timed out, and their load.

The first claim wins through a conditional UPDATE on the request, so two volunteers
pressing `I'll reach out` at once, or two workers, can never both have it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, update
from sqlmodel import col, select

from storage.database import Database
from storage.outbox import add_notices, as_utc
from storage.support import (
    UNCLAIMED,
    AlertStatus,
    Notice,
    RelaySession,
    RequestStatus,
    SupportAlert,
    SupportRequest,
)
from storage.support_requests import add_event


@dataclass(frozen=True)
class VolunteerLoad:
    """What routing weighs for one volunteer."""

    open_cases: int = 0
    last_alerted_at: datetime | None = None
    recent_alerts: int = 0


class AlertRepository:
    """Alerts of support requests, and the claim."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_alert(
        self,
        request_id: int,
        volunteer_id: int,
        *,
        now: datetime,
        expires_at: datetime,
        notices: Sequence[Notice],
    ) -> list[int] | None:
        """Alert one volunteer; None if they were already alerted for this request."""
        async with self._db.session() as session:
            existing = await session.exec(
                select(SupportAlert.id).where(
                    SupportAlert.request_id == request_id, SupportAlert.volunteer_id == volunteer_id
                )
            )
            if existing.first() is not None:
                return None
            session.add(
                SupportAlert(
                    request_id=request_id,
                    volunteer_id=volunteer_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            await add_event(session, request_id, "alerted", now, volunteer_id)
            return await add_notices(session, request_id, notices, now)

    async def alerts(self, request_id: int) -> list[SupportAlert]:
        """Every alert of a request, oldest first."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportAlert)
                .where(SupportAlert.request_id == request_id)
                .order_by(col(SupportAlert.id))
            )
            return list(result.all())

    async def claim(
        self, request_id: int, volunteer_id: int, now: datetime, notices: Sequence[Notice]
    ) -> list[int] | None:
        """First claim wins: None if the request was already taken or closed.

        For an anonymous request the relay opens in the same transaction, so the
        messages queued here always find it.
        """
        async with self._db.session() as session:
            request = await session.get(SupportRequest, request_id)
            if request is None:
                return None
            waited = int((now - as_utc(request.created_at)).total_seconds())
            won = await session.exec(
                update(SupportRequest)
                .where(
                    and_(
                        col(SupportRequest.id) == request_id,
                        col(SupportRequest.status).in_(UNCLAIMED),
                    )
                )
                .values(
                    status=RequestStatus.CLAIMED.value,
                    claimed_by=volunteer_id,
                    claimed_at=now,
                    first_contact_seconds=max(waited, 0),
                )
            )
            if won.rowcount != 1:
                return None
            await session.exec(
                update(SupportAlert)
                .where(
                    and_(
                        col(SupportAlert.request_id) == request_id,
                        col(SupportAlert.volunteer_id) == volunteer_id,
                    )
                )
                .values(status=AlertStatus.CLAIMED.value, answered_at=now)
            )
            await session.exec(
                update(SupportAlert)
                .where(
                    and_(
                        col(SupportAlert.request_id) == request_id,
                        col(SupportAlert.status) == AlertStatus.PENDING.value,
                    )
                )
                .values(status=AlertStatus.TAKEN.value)
            )
            await add_event(session, request_id, "claimed", now, volunteer_id)
            if request.anonymous:
                session.add(
                    RelaySession(
                        request_id=request_id,
                        person_id=request.person_id,
                        volunteer_id=volunteer_id,
                        opened_at=now,
                        last_activity_at=now,
                    )
                )
                await add_event(session, request_id, "relay_opened", now, volunteer_id)
            return await add_notices(session, request_id, notices, now)

    async def answer_alert(
        self, alert_id: int, status: AlertStatus, now: datetime, event: str
    ) -> SupportAlert | None:
        """Move a pending alert on (passed, timed out, failed); None if it had moved already."""
        async with self._db.session() as session:
            result = await session.exec(
                update(SupportAlert)
                .where(
                    and_(
                        col(SupportAlert.id) == alert_id,
                        col(SupportAlert.status) == AlertStatus.PENDING.value,
                    )
                )
                .values(status=status.value, answered_at=now)
            )
            if result.rowcount != 1:
                return None
            alert = await session.get(SupportAlert, alert_id)
            if alert is None:
                return None
            await add_event(session, alert.request_id, event, now, alert.volunteer_id)
            return alert

    async def due_timeouts(self, now: datetime) -> list[SupportAlert]:
        """Pending alerts whose claim timeout has passed."""
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportAlert).where(
                    col(SupportAlert.status) == AlertStatus.PENDING.value,
                    col(SupportAlert.expires_at) <= now,
                )
            )
            return list(result.all())

    async def unattended(self, since: datetime) -> list[SupportRequest]:
        """Unclaimed requests from ``since`` on with no volunteer currently alerted."""
        pending = select(SupportAlert.request_id).where(
            col(SupportAlert.status) == AlertStatus.PENDING.value
        )
        async with self._db.session() as session:
            result = await session.exec(
                select(SupportRequest).where(
                    col(SupportRequest.status).in_(UNCLAIMED),
                    col(SupportRequest.created_at) >= since,
                    col(SupportRequest.id).not_in(pending),
                )
            )
            return list(result.all())

    async def loads(
        self, volunteer_ids: Sequence[int], since: datetime
    ) -> dict[int, VolunteerLoad]:
        """Open cases, last alert and alerts since ``since``, per volunteer."""
        ids = list(volunteer_ids)
        if not ids:
            return {}
        async with self._db.session() as session:
            cases = await session.exec(
                select(SupportRequest.claimed_by, func.count(col(SupportRequest.id)))
                .where(
                    col(SupportRequest.claimed_by).in_(ids),
                    col(SupportRequest.status) == RequestStatus.CLAIMED.value,
                )
                .group_by(col(SupportRequest.claimed_by))
            )
            open_cases = {vid: count for vid, count in cases.all() if vid is not None}
            alerts = await session.exec(
                select(
                    SupportAlert.volunteer_id,
                    func.max(SupportAlert.created_at),
                    func.sum(case((col(SupportAlert.created_at) >= since, 1), else_=0)),
                )
                .where(col(SupportAlert.volunteer_id).in_(ids))
                .group_by(col(SupportAlert.volunteer_id))
            )
            alerted = {vid: (last, int(recent or 0)) for vid, last, recent in alerts.all()}
        return {
            vid: VolunteerLoad(
                open_cases=open_cases.get(vid, 0),
                last_alerted_at=as_utc(alerted[vid][0]) if vid in alerted else None,
                recent_alerts=alerted[vid][1] if vid in alerted else 0,
            )
            for vid in ids
        }
