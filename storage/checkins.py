"""Check-in rows: claimed once per person per local day, then sent, then closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Update, and_, bindparam, delete, or_, update
from sqlmodel import col, select

from storage.database import Database
from storage.models import Checkin, utcnow
from storage.moods import MoodAnswer, insert_mood

#: ``message_ref`` of a check-in whose send has begun and whose outcome is not recorded
#: yet. Written before the platform is called, so that after a crash the send counts as
#: "maybe delivered" and is never repeated (docs/SECURITY.md, "Exactly once").
IN_FLIGHT = "kiln:in-flight"


@dataclass(frozen=True)
class SendAttempt:
    """The outcome of one attempt to send a check-in."""

    checkin_id: int
    sent: bool
    message_ref: str | None = None
    #: When the platform accepted it (only for sent ones).
    sent_at: datetime | None = None


@dataclass(frozen=True)
class DueCheckin:
    """A person who should have a check-in for a local day."""

    person_id: int
    local_date: date


class CheckinRepository:
    """Check-in rows. The (person, day) unique constraint makes every claim idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, due: Sequence[DueCheckin], now: datetime) -> list[Checkin]:
        """Create rows for the given (person, day) pairs that have none yet.

        Several workers or a repeated tick may call this for the same pairs; only one
        row per pair is ever created and only its creator gets it back.
        """
        if not due:
            return []
        rows = [
            {
                "person_id": item.person_id,
                "local_date": item.local_date,
                "created_at": now,
                "last_attempt_at": now,
                "send_attempts": 0,
            }
            for item in due
        ]
        claimed: list[Checkin] = []
        async with self._db.session() as session:
            # Batches keep each statement well under SQLite's bound-parameter limit.
            for start in range(0, len(rows), 500):
                statement = (
                    self._db.insert(Checkin)
                    .values(rows[start : start + 500])
                    .on_conflict_do_nothing(index_elements=["person_id", "local_date"])
                    .returning(Checkin)
                )
                result = await session.exec(statement)
                claimed.extend(result.scalars().all())
        return claimed

    async def claim_one(self, person_id: int, local_date: date, now: datetime) -> Checkin | None:
        """Create the person's row for a day; None if it already exists."""
        claimed = await self.claim([DueCheckin(person_id, local_date)], now)
        return claimed[0] if claimed else None

    async def claim_retries(
        self, due: Sequence[DueCheckin], now: datetime, retry_after: timedelta, max_attempts: int
    ) -> list[Checkin]:
        """Take over unsent rows for these pairs whose last attempt is older than ``retry_after``.

        The conditional UPDATE is the lease: of several workers, only one moves
        ``last_attempt_at`` forward and so only one retries the send.
        """
        if not due:
            return []
        wanted = {(item.person_id, item.local_date) for item in due}
        cutoff = now - retry_after
        days = {day for _, day in wanted}
        async with self._db.session() as session:
            # A send begun long ago with no outcome: its worker died mid-send. It may
            # well have arrived, so it counts as sent and is never repeated.
            await session.exec(
                update(Checkin)
                .where(
                    col(Checkin.message_ref) == IN_FLIGHT,
                    col(Checkin.sent_at).is_(None),
                    col(Checkin.last_attempt_at) < cutoff,
                    col(Checkin.local_date).in_(days),
                )
                .values(sent_at=col(Checkin.last_attempt_at), message_ref=None)
            )
            stale = (
                await session.exec(
                    select(Checkin).where(
                        col(Checkin.sent_at).is_(None),
                        col(Checkin.message_ref).is_(None),
                        col(Checkin.closed_at).is_(None),
                        col(Checkin.send_attempts) < max_attempts,
                        or_(
                            col(Checkin.last_attempt_at).is_(None),
                            col(Checkin.last_attempt_at) < cutoff,
                        ),
                        col(Checkin.local_date).in_(days),
                    )
                )
            ).all()
            taken: list[Checkin] = []
            for row in stale:
                if (row.person_id, row.local_date) not in wanted:
                    continue
                result = await session.exec(
                    update(Checkin)
                    .where(
                        and_(
                            col(Checkin.id) == row.id,
                            col(Checkin.last_attempt_at) == row.last_attempt_at,
                            col(Checkin.sent_at).is_(None),
                            col(Checkin.message_ref).is_(None),
                        )
                    )
                    .values(last_attempt_at=now)
                )
                if result.rowcount == 1:
                    row.last_attempt_at = now
                    taken.append(row)
            return taken

    async def for_day(self, person_id: int, local_date: date) -> Checkin | None:
        """The person's check-in row for a local day, if one exists."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Checkin).where(
                    Checkin.person_id == person_id, Checkin.local_date == local_date
                )
            )
            return result.first()

    async def get(self, checkin_id: int) -> Checkin | None:
        """The check-in with this id, if any."""
        async with self._db.session() as session:
            return await session.get(Checkin, checkin_id)

    async def open_note(self, person_id: int, now: datetime) -> Checkin | None:
        """The person's check-in still waiting for an optional note, if any."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Checkin)
                .where(Checkin.person_id == person_id, col(Checkin.note_open_until) > now)
                .order_by(col(Checkin.local_date).desc())
            )
            return result.first()

    async def record_attempt(self, checkin_id: int, *, sent: bool, message_ref: str | None) -> None:
        """Count a send attempt; on success remember when and the message reference."""
        async with self._db.session() as session:
            row = await session.get(Checkin, checkin_id)
            if row is None:
                return
            row.send_attempts += 1
            if sent:
                row.sent_at = utcnow()
                row.message_ref = message_ref
            session.add(row)

    async def begin_send(self, checkin_id: int, now: datetime) -> bool:
        """Mark a check-in as being sent now, before calling the platform.

        Returns:
            False if it was sent already or another sender has begun: do not send.
        """
        async with self._db.session() as session:
            result = await session.exec(
                update(Checkin)
                .where(
                    col(Checkin.id) == checkin_id,
                    col(Checkin.sent_at).is_(None),
                    col(Checkin.message_ref).is_(None),
                )
                .values(message_ref=IN_FLIGHT, last_attempt_at=now)
            )
            return bool(result.rowcount == 1)

    async def begin_sends(self, checkin_ids: Sequence[int], now: datetime) -> set[int]:
        """:meth:`begin_send` for many check-ins in one statement; returns those begun."""
        if not checkin_ids:
            return set()
        async with self._db.session() as session:
            result = await session.exec(
                update(Checkin)
                .where(
                    col(Checkin.id).in_(list(checkin_ids)),
                    col(Checkin.sent_at).is_(None),
                    col(Checkin.message_ref).is_(None),
                )
                .values(message_ref=IN_FLIGHT, last_attempt_at=now)
                .returning(col(Checkin.id))
            )
            return {int(checkin_id) for (checkin_id,) in result.all()}

    async def abandon_send(self, checkin_id: int) -> None:
        """Undo :meth:`begin_send` when the send certainly failed before any outcome."""
        async with self._db.session() as session:
            await session.exec(
                update(Checkin)
                .where(col(Checkin.id) == checkin_id, col(Checkin.message_ref) == IN_FLIGHT)
                .values(message_ref=None)
            )

    async def record_attempts(self, attempts: Sequence[SendAttempt]) -> None:
        """Count many send attempts in one transaction (the fan-out's group commit).

        One executemany per outcome instead of a transaction per check-in: during a
        fan-out of thousands, the database round trips were kiln's main cost.
        """
        if not attempts:
            return
        table = Checkin.__table__  # type: ignore[attr-defined]
        sent = [
            {"cid": a.checkin_id, "at": a.sent_at or utcnow(), "ref": a.message_ref}
            for a in attempts
            if a.sent
        ]
        failed = [{"cid": a.checkin_id} for a in attempts if not a.sent]
        async with self._db.session() as session:
            connection = await session.connection()
            if sent:
                await connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("cid"))
                    .values(
                        send_attempts=table.c.send_attempts + 1,
                        sent_at=bindparam("at"),
                        message_ref=bindparam("ref"),
                    ),
                    sent,
                )
            if failed:
                await connection.execute(
                    update(table)
                    .where(table.c.id == bindparam("cid"))
                    .values(send_attempts=table.c.send_attempts + 1, message_ref=None),
                    failed,
                )

    async def close(
        self, checkin_id: int, now: datetime, note_open_until: datetime | None = None
    ) -> bool:
        """Close an open check-in; False if it was already closed (a second press).

        The conditional UPDATE makes a double tap or a platform retry harmless.
        """
        async with self._db.session() as session:
            result = await session.exec(_closing(checkin_id, now, note_open_until))
            return bool(result.rowcount == 1)

    async def answer(
        self,
        checkin_id: int,
        now: datetime,
        note_open_until: datetime | None,
        mood: MoodAnswer,
    ) -> bool:
        """Close an open check-in and store its mood, in one transaction.

        False if it was already closed (a second press): nothing is stored then. A
        failure part-way leaves neither, so the person can simply press again.
        """
        async with self._db.session() as session:
            result = await session.exec(_closing(checkin_id, now, note_open_until))
            if result.rowcount != 1:
                return False
            await insert_mood(session, mood)
            return True

    async def close_note(self, checkin_id: int) -> bool:
        """Stop waiting for a note; False if the note was already taken or declined."""
        async with self._db.session() as session:
            result = await session.exec(
                update(Checkin)
                .where(col(Checkin.id) == checkin_id, col(Checkin.note_open_until).is_not(None))
                .values(note_open_until=None)
            )
            return bool(result.rowcount == 1)

    async def count_for_day(self, local_date: date) -> int:
        """How many check-ins exist for a local day (for tests and doctor)."""
        async with self._db.session() as session:
            result = await session.exec(select(Checkin).where(Checkin.local_date == local_date))
            return len(result.all())

    async def of_person(self, person_id: int) -> Sequence[Checkin]:
        """Every check-in row of one person, oldest first (for their data export)."""
        async with self._db.session() as session:
            result = await session.exec(
                select(Checkin)
                .where(Checkin.person_id == person_id)
                .order_by(col(Checkin.local_date))
            )
            return result.all()

    async def forget_person(self, person_id: int) -> int:
        """Delete every check-in row of one person (erasure); returns how many went."""
        async with self._db.session() as session:
            result = await session.exec(delete(Checkin).where(col(Checkin.person_id) == person_id))
            return int(result.rowcount)

    async def purge_before(self, cutoff: date) -> int:
        """Delete check-in rows for days before ``cutoff`` (retention); returns how many."""
        async with self._db.session() as session:
            result = await session.exec(delete(Checkin).where(col(Checkin.local_date) < cutoff))
            return int(result.rowcount)


def _closing(checkin_id: int, now: datetime, note_open_until: datetime | None) -> Update:
    """Close a check-in only if it is still open: a double tap or a retry changes nothing."""
    return (
        update(Checkin)
        .where(col(Checkin.id) == checkin_id, col(Checkin.closed_at).is_(None))
        .values(closed_at=now, note_open_until=note_open_until)
    )
