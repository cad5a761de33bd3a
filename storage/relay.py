"""Anonymous relay sessions: who is talking to whom through kiln. Never what they say."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import col, select

from storage.database import Database
from storage.outbox import add_notices
from storage.support import Notice, RelaySession
from storage.support_requests import add_event


class RelayRepository:
    """Open, find, reveal and end relay sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, session_id: int) -> RelaySession | None:
        """The relay with this id, if any."""
        async with self._db.session() as session:
            return await session.get(RelaySession, session_id)

    async def for_request(self, request_id: int) -> RelaySession | None:
        """The relay of a request, if it has one."""
        async with self._db.session() as session:
            result = await session.exec(
                select(RelaySession).where(RelaySession.request_id == request_id)
            )
            return result.first()

    async def active_for(self, person_id: int) -> RelaySession | None:
        """The open relay this person is in, on either side."""
        async with self._db.session() as session:
            result = await session.exec(
                select(RelaySession)
                .where(
                    col(RelaySession.open).is_(True),
                    or_(
                        col(RelaySession.person_id) == person_id,
                        col(RelaySession.volunteer_id) == person_id,
                    ),
                )
                .order_by(col(RelaySession.id).desc())
            )
            return result.first()

    async def busy_volunteers(self) -> set[int]:
        """Volunteers in an open relay (they hold one anonymous chat at a time)."""
        async with self._db.session() as session:
            result = await session.exec(
                select(RelaySession.volunteer_id).where(col(RelaySession.open).is_(True))
            )
            return set(result.all())

    async def touch(self, session_id: int, now: datetime) -> None:
        """Note activity (a time only), so idle relays can be ended."""
        async with self._db.session() as session:
            await session.exec(
                update(RelaySession)
                .where(col(RelaySession.id) == session_id)
                .values(last_activity_at=now)
            )

    async def reveal(
        self, session_id: int, person_id: int, now: datetime, notices: Sequence[Notice]
    ) -> list[int] | None:
        """The person shares their name; None if already shared, ended, or not theirs."""
        return await self._change(
            session_id,
            and_(
                col(RelaySession.person_id) == person_id,
                col(RelaySession.revealed).is_(False),
            ),
            {"revealed": True},
            "revealed",
            now,
            notices,
        )

    async def end(
        self, session_id: int, now: datetime, notices: Sequence[Notice]
    ) -> list[int] | None:
        """End an open relay; None if it had already ended."""
        return await self._change(
            session_id,
            col(RelaySession.open).is_(True),
            {"ended_at": now},
            "relay_ended",
            now,
            notices,
            end=True,
        )

    async def idle(self, before: datetime) -> list[RelaySession]:
        """Open relays with no activity since ``before``."""
        async with self._db.session() as session:
            result = await session.exec(
                select(RelaySession).where(
                    col(RelaySession.open).is_(True), col(RelaySession.last_activity_at) < before
                )
            )
            return list(result.all())

    async def _change(
        self,
        session_id: int,
        condition: ColumnElement[bool],
        values: dict[str, object],
        event: str,
        now: datetime,
        notices: Sequence[Notice],
        *,
        end: bool = False,
    ) -> list[int] | None:
        async with self._db.session() as session:
            relay = await session.get(RelaySession, session_id)
            if relay is None or not relay.open:
                return None
            result = await session.exec(
                update(RelaySession)
                .where(and_(col(RelaySession.id) == session_id, condition))
                .values(**values, **({"open": False} if end else {}))
            )
            if result.rowcount != 1:
                return None
            await add_event(session, relay.request_id, event, now)
            return await add_notices(session, relay.request_id, notices, now)
