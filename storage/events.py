"""Inbound events already handled, so a platform's retry is acknowledged but not re-run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col

from storage.database import Database
from storage.models import ProcessedEvent, utcnow


class EventLog:
    """Remembers event ids (never their content)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, platform: str, event_id: str) -> bool:
        """Record the event; True the first time it is seen, False for a repeat."""
        statement = (
            self._db.insert(ProcessedEvent)
            .values(key=f"{platform}:{event_id}"[:200], received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(ProcessedEvent.key))
        )
        async with self._db.session() as session:
            # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT.
            result = await session.exec(statement)
            return result.first() is not None

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop old event ids (platforms stop retrying within minutes)."""
        async with self._db.session() as session:
            result = await session.exec(
                delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < cutoff)
            )
            return int(result.rowcount)
