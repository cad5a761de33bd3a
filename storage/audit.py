"""The audit log: who looked at, exported, erased or revealed what, and when.

Rows say *that* something happened, never the data itself: "a manager viewed the
weekly report for ward-7", not the figures; "a person's data was erased", not whose.
People are referenced by id only, and those references are cleared (ON DELETE SET
NULL, and :meth:`AuditLog.scrub` on erasure), so an erased person leaves an
anonymous trace that the erasure happened and nothing that points back to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, delete, or_, update
from sqlmodel import Field, SQLModel, col, select

from storage.database import Database
from storage.models import Person, utcnow

logger = logging.getLogger(__name__)

SUBJECT_MAX = 300


class AuditAction(StrEnum):
    """What was done. Other features may add their own short words."""

    VIEW = "view"  # an aggregate report, /teammood, the dashboard
    EXPORT = "export"  # a copy of one person's data (/mydata, kiln people export)
    ERASE = "erase"  # one person's data erased (/forgetme, kiln people forget)
    REVEAL = "reveal"  # a person agreed to show who they are (to a Wellbeing Warrior)
    PURGE = "purge"  # data past its retention period deleted


class AuditEntry(SQLModel, table=True):
    """One audited action. Never holds the data that was seen."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    #: ``admin``, ``system``, or ``person`` (then ``actor_person_id`` says who).
    actor: str = Field(max_length=32)
    actor_person_id: int | None = Field(
        default=None, foreign_key="person.id", ondelete="SET NULL", index=True
    )
    action: str = Field(max_length=32, index=True)
    #: What it was about, in words that carry no personal data ("report: ward-7; 8 weeks").
    subject: str = Field(max_length=SUBJECT_MAX)
    subject_person_id: int | None = Field(
        default=None, foreign_key="person.id", ondelete="SET NULL", index=True
    )


class AuditLog:
    """Appends audit entries and reads them back."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def record(
        self, actor: Person | str, action: str, subject: str, *, about: Person | None = None
    ) -> None:
        """Append one entry.

        Args:
            actor: The person who acted, or ``admin`` / ``system``.
            action: An :class:`AuditAction` value (or another short word).
            subject: What it concerned, never the data itself and never a name or id.
            about: The person the action concerned, if it concerned one person.
        """
        entry = AuditEntry(
            at=self._clock(),
            actor="person" if isinstance(actor, Person) else actor[:32],
            actor_person_id=actor.id if isinstance(actor, Person) else None,
            action=str(action)[:32],
            subject=subject[:SUBJECT_MAX],
            subject_person_id=about.id if about is not None else None,
        )
        async with self._db.session() as session:
            session.add(entry)
        logger.debug("audit: %s %s", entry.actor, entry.action)

    async def since(self, moment: datetime | None = None) -> Sequence[AuditEntry]:
        """Entries from ``moment`` on (all if None), oldest first."""
        query = select(AuditEntry).order_by(col(AuditEntry.at), col(AuditEntry.id))
        if moment is not None:
            query = query.where(col(AuditEntry.at) >= moment)
        async with self._db.session() as session:
            return (await session.exec(query)).all()

    async def involving(self, person_id: int) -> Sequence[AuditEntry]:
        """Entries where the person acted or was the subject, oldest first."""
        async with self._db.session() as session:
            result = await session.exec(
                select(AuditEntry)
                .where(
                    or_(
                        col(AuditEntry.actor_person_id) == person_id,
                        col(AuditEntry.subject_person_id) == person_id,
                    )
                )
                .order_by(col(AuditEntry.at), col(AuditEntry.id))
            )
            return result.all()

    async def scrub(self, person_id: int) -> int:
        """Clear every reference to a person (erasure); the entries themselves stay."""
        total = 0
        async with self._db.session() as session:
            for name in ("actor_person_id", "subject_person_id"):
                result = await session.exec(
                    update(AuditEntry)
                    .where(getattr(AuditEntry, name) == person_id)
                    .values({name: None})
                )
                total += int(result.rowcount)
        return total

    async def purge_before(self, cutoff: datetime) -> int:
        """Delete entries older than ``cutoff`` (retention); returns how many went."""
        async with self._db.session() as session:
            result = await session.exec(delete(AuditEntry).where(col(AuditEntry.at) < cutoff))
            return int(result.rowcount)
