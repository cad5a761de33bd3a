"""SQLModel tables.

Identity and mood live in separate tables on purpose: a mood row carries only the
HMAC pseudonym of its author, and the link back to a person is recomputed with the
pepper, never stored (DESIGN §4). Check-in rows record that a check-in was sent and
closed, never whether it was answered, so no "who did not answer" list can be built.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UnsavedRow(RuntimeError):
    """A row was used as if saved, but has no id yet."""


def row_id(row: Person | Checkin) -> int:
    """The primary key of a saved row.

    Raises:
        UnsavedRow: if the row was never saved.
    """
    if row.id is None:
        raise UnsavedRow(f"{type(row).__name__} has not been saved yet")
    return row.id


def _utc_column(*, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Person(SQLModel, table=True):
    """Who someone is on a platform, and their check-in preferences."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=128)
    email: str | None = Field(default=None, max_length=254)
    display_name: str = Field(max_length=200)
    team: str = Field(max_length=100, index=True)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="en", max_length=16)
    region: str = Field(default="UK", max_length=16)
    roles: str = Field(default="staff", max_length=100)
    manages: str = Field(default="", max_length=1000)
    paused_until: date | None = None
    opted_out: bool = False
    undeliverable: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class Checkin(SQLModel, table=True):
    """One check-in conversation for one person on one local day."""

    __tablename__ = "checkin"
    # The heart of "exactly one check-in per person per local day": the database,
    # not the scheduler, refuses a second row, so restarts and extra workers are harmless.
    __table_args__ = (UniqueConstraint("person_id", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    local_date: date = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column())
    note_open_until: datetime | None = Field(default=None, sa_column=_utc_column())
    message_ref: str | None = Field(default=None, max_length=200)
    send_attempts: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_column=_utc_column())


class Mood(SQLModel, table=True):
    """One mood answer: pseudonym, team and day only. Never free text."""

    __tablename__ = "mood"
    __table_args__ = (UniqueConstraint("pseudonym", "local_date"),)

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=64, index=True)
    team: str = Field(max_length=100, index=True)
    local_date: date = Field(index=True)
    score: int = Field(ge=1, le=5)


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform events already handled, so a platform retry is not handled twice."""

    __tablename__ = "processed_event"

    key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=_utc_column(nullable=False, index=True)
    )
