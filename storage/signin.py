"""Dashboard sign-in: one-time links and the sessions they open, stored only as hashes.

A manager asks for the dashboard in chat and gets a link holding a random token. Only
the SHA-256 of each token (link or session) is kept, so a copy of the database cannot
be turned into a working link or a signed-in browser. A link works once: spending it
is a conditional UPDATE, so of two requests racing, only one signs in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, DateTime, delete, update
from sqlmodel import Field, SQLModel, col, select

from storage.database import Database

logger = logging.getLogger(__name__)

#: 32 random bytes: far beyond guessing, short enough for a chat message.
TOKEN_BYTES = 32


def _utc_column(*, nullable: bool = True, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def _utc(moment: datetime) -> datetime:
    # SQLite hands datetimes back without a zone; everything here is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def token_hash(token: str) -> str:
    """The stored form of a link or session token."""
    return hashlib.sha256(token.encode()).hexdigest()


class SigninLink(SQLModel, table=True):
    """A one-time sign-in link: whose it is, until when, and whether it was used."""

    __tablename__ = "signin_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=_utc_column())


class DashboardSession(SQLModel, table=True):
    """A signed-in browser. Deleting the row signs it out everywhere at once."""

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=_utc_column(nullable=False, index=True))


class LinkState(StrEnum):
    """What a sign-in link is worth right now."""

    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkCheck:
    """The state of a link and, when it is (or was) valid, whose it is."""

    state: LinkState
    person_id: int | None = None


class SigninRepository:
    """Issues and spends sign-in links; opens, finds and ends sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue_link(self, person_id: int, now: datetime, lifetime: timedelta) -> str:
        """A new one-time link token for a person (only its hash is stored)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self._db.session() as session:
            session.add(
                SigninLink(
                    token_hash=token_hash(token),
                    person_id=person_id,
                    created_at=_utc(now),
                    expires_at=_utc(now + lifetime),
                )
            )
        return token

    async def check_link(self, token: str, now: datetime) -> LinkCheck:
        """Look at a link without spending it (a GET, or a chat app's link preview)."""
        async with self._db.session() as session:
            link = (
                await session.exec(
                    select(SigninLink).where(SigninLink.token_hash == token_hash(token))
                )
            ).first()
        if link is None:
            return LinkCheck(LinkState.UNKNOWN)
        if link.used_at is not None:
            return LinkCheck(LinkState.USED, link.person_id)
        if _utc(link.expires_at) <= _utc(now):
            return LinkCheck(LinkState.EXPIRED, link.person_id)
        return LinkCheck(LinkState.VALID, link.person_id)

    async def spend_link(self, token: str, now: datetime) -> LinkCheck:
        """Use a link once. ``VALID`` means this call spent it; any later call gets ``USED``."""
        moment = _utc(now)
        async with self._db.session() as session:
            spent = await session.exec(
                update(SigninLink)
                .where(
                    col(SigninLink.token_hash) == token_hash(token),
                    col(SigninLink.used_at).is_(None),
                    col(SigninLink.expires_at) > moment,
                )
                .values(used_at=moment)
                .returning(col(SigninLink.person_id))
            )
            person_id = spent.first()
        if person_id is not None:
            return LinkCheck(LinkState.VALID, int(person_id[0]))
        check = await self.check_link(token, now)
        # A link that looked valid a moment ago but could not be spent lost a race.
        return (
            LinkCheck(LinkState.USED, check.person_id) if check.state is LinkState.VALID else check
        )

    async def open_session(self, person_id: int, now: datetime, lifetime: timedelta) -> str:
        """Start a session; returns the token for the browser's cookie."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        async with self._db.session() as session:
            session.add(
                DashboardSession(
                    token_hash=token_hash(token),
                    person_id=person_id,
                    created_at=_utc(now),
                    expires_at=_utc(now + lifetime),
                )
            )
        return token

    async def session_person(self, token: str, now: datetime) -> int | None:
        """The person a live session belongs to, or None if unknown or expired."""
        async with self._db.session() as session:
            row = (
                await session.exec(
                    select(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
                )
            ).first()
        if row is None or _utc(row.expires_at) <= _utc(now):
            return None
        return row.person_id

    async def end_session(self, token: str) -> None:
        """Sign out: the session token stops working at once."""
        async with self._db.session() as session:
            await session.exec(
                delete(DashboardSession).where(
                    col(DashboardSession.token_hash) == token_hash(token)
                )
            )

    async def forget_before(self, cutoff: datetime) -> int:
        """Drop links and sessions that expired before ``cutoff``; returns how many."""
        moment = _utc(cutoff)
        async with self._db.session() as session:
            links = await session.exec(
                delete(SigninLink).where(col(SigninLink.expires_at) < moment)
            )
            sessions = await session.exec(
                delete(DashboardSession).where(col(DashboardSession.expires_at) < moment)
            )
            return int(links.rowcount) + int(sessions.rowcount)
