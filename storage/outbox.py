"""The support outbox: messages that must not be lost, claimed by one sender at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.database import Database
from storage.support import Notice, OutboxItem, OutboxStatus


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def add_notices(
    session: AsyncSession, request_id: int | None, notices: Sequence[Notice], now: datetime
) -> list[int]:
    """Write outbox rows inside the caller's transaction; returns their ids."""
    items = [
        OutboxItem(
            kind=notice.kind,
            request_id=request_id,
            recipient_id=notice.recipient_id,
            destination=notice.destination,
            next_attempt_at=now,
            created_at=now,
        )
        for notice in notices
    ]
    session.add_all(items)
    await session.flush()
    return [item.id for item in items if item.id is not None]


class OutboxRepository:
    """Outbox rows: enqueue, claim for sending, record the outcome."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self, request_id: int | None, notices: Sequence[Notice], now: datetime
    ) -> list[int]:
        """Add messages to send; returns their ids."""
        if not notices:
            return []
        async with self._db.session() as session:
            return await add_notices(session, request_id, notices, now)

    async def claim(
        self, now: datetime, lease: timedelta, ids: Sequence[int] | None = None, limit: int = 50
    ) -> list[OutboxItem]:
        """Take rows that are due (or whose sender's lease ran out) for sending.

        Each row is taken with a conditional UPDATE that also bumps ``attempts``, so
        of several workers only one gets a given row. On PostgreSQL the rows are
        first selected ``FOR UPDATE SKIP LOCKED``: workers claiming at the same moment
        each lock a different set instead of queueing behind one another's locks.

        Args:
            now: The current time.
            lease: How long the taker may hold a row before others may retry it.
            ids: Only these rows (an immediate send right after enqueueing).
            limit: At most this many rows.
        """
        due = or_(
            and_(
                col(OutboxItem.status) == OutboxStatus.PENDING.value,
                col(OutboxItem.next_attempt_at) <= now,
            ),
            and_(
                col(OutboxItem.status) == OutboxStatus.SENDING.value,
                col(OutboxItem.lease_until) < now,
            ),
        )
        query = select(OutboxItem).where(due)
        if ids is not None:
            if not ids:
                return []
            query = query.where(col(OutboxItem.id).in_(list(ids)))
        query = query.order_by(col(OutboxItem.id)).limit(limit)
        if not self._db.is_sqlite:
            # Locked until this transaction commits; rows another worker holds are skipped.
            query = query.with_for_update(skip_locked=True)
        taken: list[OutboxItem] = []
        async with self._db.session() as session:
            rows = (await session.exec(query)).all()
            for row in rows:
                seen_status, seen_attempts = row.status, row.attempts
                result = await session.exec(
                    update(OutboxItem)
                    .where(
                        and_(
                            col(OutboxItem.id) == row.id,
                            col(OutboxItem.status) == seen_status,
                            col(OutboxItem.attempts) == seen_attempts,
                        )
                    )
                    .values(
                        status=OutboxStatus.SENDING.value,
                        lease_until=now + lease,
                        attempts=seen_attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    # Detached, so what the caller reads is exactly what was written.
                    session.expunge(row)
                    row.status = OutboxStatus.SENDING.value
                    row.attempts = seen_attempts + 1
                    row.lease_until = now + lease
                    taken.append(row)
        return taken

    async def sent(self, item_id: int, now: datetime) -> None:
        """The message went out."""
        await self._set(item_id, status=OutboxStatus.SENT.value, sent_at=now, lease_until=None)

    async def retry(self, item_id: int, next_attempt_at: datetime, error: str) -> None:
        """The send failed; try again at ``next_attempt_at``."""
        await self._set(
            item_id,
            status=OutboxStatus.PENDING.value,
            next_attempt_at=next_attempt_at,
            lease_until=None,
            last_error=error[:64],
        )

    async def finish(self, item_id: int, status: OutboxStatus, error: str | None = None) -> None:
        """Stop trying: cancelled (no longer relevant) or failed (unreachable)."""
        await self._set(item_id, status=status.value, lease_until=None, last_error=error)

    async def items(self, status: OutboxStatus | None = None) -> list[OutboxItem]:
        """Outbox rows, oldest first (for tests, doctor and reports)."""
        query = select(OutboxItem)
        if status is not None:
            query = query.where(col(OutboxItem.status) == status.value)
        async with self._db.session() as session:
            return list((await session.exec(query.order_by(col(OutboxItem.id)))).all())

    async def _set(self, item_id: int, **values: object) -> None:
        async with self._db.session() as session:
            await session.exec(
                update(OutboxItem).where(col(OutboxItem.id) == item_id).values(**values)
            )
