"""Inbound events already handled, so a platform's retry is acknowledged but not re-run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col

from storage.database import Database
from storage.models import ProcessedEvent, utcnow
from storage.upsert import insert_unless_present


class EventLog:
    """Remembers event ids (never their content)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def first_time(self, platform: str, event_id: str) -> bool:
        """Record the event; True the first time it is seen, False for a repeat."""
        key = f"{platform}:{event_id}"[:200]
        async with self._db.session() as session:
            return await insert_unless_present(
                session,
                ProcessedEvent.__table__,  # type: ignore[attr-defined]
                {"key": key, "received_at": utcnow()},
                conflict=("key",),
                returning="key",
            )

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop old event ids (platforms stop retrying within minutes)."""
        async with self._db.session() as session:
            result = await session.exec(
                delete(ProcessedEvent).where(col(ProcessedEvent.received_at) < cutoff)
            )
            return int(result.rowcount)
