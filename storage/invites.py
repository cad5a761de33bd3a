"""Invite codes for enrolling by link: stored only as hashes, each used at most once.

Telegram ids are not known before someone first messages the bot, so people enrol by
opening a one-time link. Only the hash of each code is kept; a leaked database cannot
be turned back into working links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from storage.database import Database
from storage.models import Person

logger = logging.getLogger(__name__)


class Invite(SQLModel, table=True):
    """One invite: which team it enrols into, until when, and whether it was used.

    No link to the person who used it is kept: the person row is enough.
    """

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    platform: str = Field(max_length=16)
    team: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Outcome(StrEnum):
    """What became of an attempt to use an invite code."""

    ENROLLED = "enrolled"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    ALREADY_ENROLLED = "already_enrolled"


@dataclass(frozen=True)
class Redemption:
    """The outcome, and for ``ENROLLED`` the new person (with its id)."""

    outcome: Outcome
    person: Person | None = None


class _AlreadyEnrolled(Exception):
    """Raised inside the transaction so the invite is not spent on a duplicate person."""


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; everything here is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class InviteRepository:
    """Creates invites and redeems them atomically with the enrolment they grant."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        code_hashes: Sequence[str],
        *,
        platform: str,
        team: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Store new invites (their hashes only) for a team."""
        async with self._db.session() as session:
            for code_hash in code_hashes:
                session.add(
                    Invite(
                        code_hash=code_hash,
                        platform=platform,
                        team=team,
                        created_at=_utc(created_at),
                        expires_at=_utc(expires_at),
                    )
                )

    async def redeem(
        self,
        code_hash: str,
        platform: str,
        now: datetime,
        enrol: Callable[[str], Person],
    ) -> Redemption:
        """Spend an invite and add the person it enrols, in one transaction.

        The conditional UPDATE is what makes a code single-use: of two redemptions
        racing, only one changes the row, and the other is told the code was used.
        If adding the person fails because they are already enrolled, the whole
        transaction rolls back and the invite stays unspent.

        Args:
            code_hash: The hash of the code the person sent.
            platform: Only invites made for this platform count.
            now: The current time (timezone-aware).
            enrol: Builds the Person to add, given the invite's team.
        """
        moment = _utc(now)
        try:
            async with self._db.session() as session:
                invite = (
                    await session.exec(
                        select(Invite).where(
                            Invite.code_hash == code_hash, Invite.platform == platform
                        )
                    )
                ).first()
                if invite is None:
                    return Redemption(Outcome.UNKNOWN)
                if invite.used_at is not None:
                    return Redemption(Outcome.USED)
                if _utc(invite.expires_at) <= moment:
                    return Redemption(Outcome.EXPIRED)
                spent = await session.exec(
                    update(Invite)
                    .where(
                        col(Invite.id) == invite.id,
                        col(Invite.used_at).is_(None),
                        col(Invite.expires_at) > moment,
                    )
                    .values(used_at=moment)
                    # The loaded row holds a zone-less datetime on SQLite; don't evaluate
                    # the WHERE against it in Python, the database has decided.
                    .execution_options(synchronize_session=False)
                )
                if spent.rowcount != 1:
                    return Redemption(Outcome.USED)
                person = enrol(invite.team)
                session.add(person)
                try:
                    await session.flush()
                except IntegrityError as duplicate:
                    raise _AlreadyEnrolled from duplicate
                await session.refresh(person)
                return Redemption(Outcome.ENROLLED, person)
        except _AlreadyEnrolled:
            return Redemption(Outcome.ALREADY_ENROLLED)

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop invites that expired before ``cutoff`` (used or not); returns how many."""
        async with self._db.session() as session:
            result = await session.exec(delete(Invite).where(col(Invite.expires_at) < _utc(cutoff)))
            return int(result.rowcount)
