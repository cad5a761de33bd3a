"""Support tables: requests, alerts, their history, the outbox, volunteers, relays.

Every step of getting someone support is a row, so nothing lives only in memory:
a restart, a second worker or a platform outage delays a step but never loses it,
and every timer is a timestamp the scheduler tick re-reads (DESIGN §3).

These rows reference people by id (the identity side) only. They never hold a
pseudonym, a mood score or anything a person wrote: a reason is a category, and
messages are rendered from rows when they are sent, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UnsavedRow, utcnow


def _utc_column(*, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class RequestStatus(StrEnum):
    """Where a support request is."""

    OPEN = "open"  # volunteers are being alerted one at a time
    ESCALATED = "escalated"  # nobody took it; the escalation channel has it
    CLAIMED = "claimed"  # a volunteer said they'll reach out
    CLOSED = "closed"  # the volunteer closed the case


#: Requests still waiting for someone to take them.
UNCLAIMED = (RequestStatus.OPEN.value, RequestStatus.ESCALATED.value)
#: Requests not yet finished.
ACTIVE = (*UNCLAIMED, RequestStatus.CLAIMED.value)


class AlertStatus(StrEnum):
    """What became of one alert to one volunteer."""

    PENDING = "pending"
    CLAIMED = "claimed"
    PASSED = "passed"
    TIMED_OUT = "timed_out"
    TAKEN = "taken"  # someone else claimed the request first
    FAILED = "failed"  # the volunteer could not be reached


class OutboxStatus(StrEnum):
    """Delivery state of one outbox message."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"  # no longer relevant when its turn came
    FAILED = "failed"  # the recipient can no longer be reached


class SupportRequest(SQLModel, table=True):
    """Someone said yes to a Wellbeing Warrior: the request and how it went."""

    __tablename__ = "support_request"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    #: asked, crisis, distress, low_mood or trend: a category, never words.
    reason: str = Field(max_length=16)
    urgent: bool = False
    anonymous: bool = False
    #: Consent to show the claiming volunteer what the person wrote (None: not asked).
    share_note: bool | None = None
    status: str = Field(default=RequestStatus.OPEN.value, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    claimed_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    claimed_at: datetime | None = Field(default=None, sa_column=_utc_column())
    #: Time to first contact (request to claim), for reporting.
    first_contact_seconds: int | None = None
    escalated_at: datetime | None = Field(default=None, sa_column=_utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=_utc_column())
    #: When kiln checks in with the volunteer after the case closed (carers need care).
    volunteer_checkin_at: datetime | None = Field(default=None, sa_column=_utc_column(index=True))


class SupportAlert(SQLModel, table=True):
    """One volunteer asked to take one request. At most one per pair."""

    __tablename__ = "support_alert"
    __table_args__ = (UniqueConstraint("request_id", "volunteer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", ondelete="CASCADE", index=True)
    volunteer_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    status: str = Field(default=AlertStatus.PENDING.value, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    #: The claim timeout: after this the next volunteer is asked.
    expires_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))
    answered_at: datetime | None = Field(default=None, sa_column=_utc_column())


class SupportEvent(SQLModel, table=True):
    """The history of a request: requested, alerted, claimed, passed, timed out, ..."""

    __tablename__ = "support_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="support_request.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=24)
    volunteer_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class OutboxItem(SQLModel, table=True):
    """A support message that must not be lost, delivered (with retries) by the tick.

    Only what to send and to whom is stored; the words are rendered from the
    request's rows at delivery time, so no message text is ever written down.
    """

    __tablename__ = "support_outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    request_id: int | None = Field(
        default=None, foreign_key="support_request.id", ondelete="CASCADE", index=True
    )
    #: A person to message, or else ``destination`` ("platform:channel") for escalations.
    recipient_id: int | None = Field(default=None, foreign_key="person.id", ondelete="CASCADE")
    destination: str | None = Field(default=None, max_length=200)
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))
    #: While one worker sends, others leave the row alone until this passes.
    lease_until: datetime | None = Field(default=None, sa_column=_utc_column())
    #: The class name of the last failure only: never a message or an address.
    last_error: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column())


class VolunteerStatus(SQLModel, table=True):
    """A volunteer's own say over alerts: `/away`, or `/available` outside their hours."""

    __tablename__ = "volunteer_status"

    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", primary_key=True)
    away: bool = False
    #: `/available` outside the usual hours lasts until this moment.
    on_call_until: datetime | None = Field(default=None, sa_column=_utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class RelaySession(SQLModel, table=True):
    """An anonymous chat through kiln. The messages themselves are never stored."""

    __tablename__ = "relay_session"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        foreign_key="support_request.id", ondelete="CASCADE", unique=True, index=True
    )
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    volunteer_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    open: bool = True
    revealed: bool = False
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    last_activity_at: datetime = Field(
        default_factory=utcnow, sa_column=_utc_column(nullable=False)
    )
    ended_at: datetime | None = Field(default=None, sa_column=_utc_column())


def saved_id(row: SupportRequest | SupportAlert | RelaySession | OutboxItem) -> int:
    """The primary key of a saved support row.

    Raises:
        UnsavedRow: if the row was never saved.
    """
    if row.id is None:
        raise UnsavedRow(f"{type(row).__name__} has not been saved yet")
    return row.id


@dataclass(frozen=True)
class Notice:
    """An outbox message to write in the same transaction as a state change.

    Attributes:
        kind: What to render (the engine's names; storage does not interpret them).
        recipient_id: The person to send it to, or None with ``destination``.
        destination: ``platform:channel`` for the escalation channel.
    """

    kind: str
    recipient_id: int | None = None
    destination: str | None = None
