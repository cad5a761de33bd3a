"""Sign-in by one-time link, sessions in the database, CSRF tokens for every form.

- ``GET /signin/{token}`` only looks at the link (chat apps fetch links to preview
  them, and must not spend them); the person presses "Continue", a POST, to sign in.
  That POST must carry a nonce that the GET set as a cookie, so a page elsewhere
  cannot sign someone in to a session of its choosing.
- The session cookie holds a random token (the database keeps its hash), and is
  HttpOnly, SameSite=Strict, and Secure when the dashboard's public URL is https.
- Every request looks the person up again: someone no longer a manager, or erased,
  is signed out at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response

from bot.services import Services
from bot.teammood import LINK_MINUTES, managed_teams
from storage.models import Person
from storage.signin import LinkCheck, LinkState, SigninRepository

logger = logging.getLogger(__name__)

SESSION_COOKIE = "kiln_session"
NONCE_COOKIE = "kiln_signin"


@dataclass(frozen=True)
class Viewer:
    """A signed-in manager and what they may see."""

    person: Person
    teams: tuple[str, ...]
    csrf: str
    session_token: str


def csrf_token(session_token: str) -> str:
    """The form token for a session: unknowable without the HttpOnly session cookie."""
    return hmac.new(session_token.encode(), b"kiln-dashboard-csrf", hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare secrets in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


class Auth:
    """Links, sessions and cookies for one dashboard."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self.repository = SigninRepository(services.db)
        self.secure = services.settings.dashboard_url().startswith("https://")
        self.session_lifetime = timedelta(hours=services.settings.dashboard_session_hours)

    async def viewer(self, request: Request) -> Viewer | None:
        """The signed-in manager of this request, or None."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        person_id = await self.repository.session_person(token, self._services.clock())
        if person_id is None:
            return None
        person = await self._services.people.get(person_id)
        if person is None:
            return None
        teams = managed_teams(person)
        if not teams:
            return None
        return Viewer(person, teams, csrf_token(token), token)

    async def check(self, token: str) -> LinkCheck:
        """What a link is worth, without spending it."""
        return await self.repository.check_link(token, self._services.clock())

    async def sign_in(self, token: str, response: Response) -> LinkCheck:
        """Spend a link; on success, open a session and set its cookie on ``response``."""
        now = self._services.clock()
        spent = await self.repository.spend_link(token, now)
        if spent.person_id is None or spent.state is not LinkState.VALID:
            return spent
        person = await self._services.people.get(spent.person_id)
        if person is None or not managed_teams(person):
            # No longer a manager since the link was sent: the link is spent, nothing opens.
            return LinkCheck(LinkState.UNKNOWN)
        session = await self.repository.open_session(spent.person_id, now, self.session_lifetime)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=int(self.session_lifetime.total_seconds()),
            path="/",
            httponly=True,
            secure=self.secure,
            samesite="strict",
        )
        response.delete_cookie(NONCE_COOKIE, path="/signin")
        logger.info("dashboard: person #%s signed in", spent.person_id)
        return spent

    def set_nonce(self, response: Response, nonce: str) -> None:
        """Set the sign-in form's nonce as a short-lived cookie, to be matched on POST."""
        response.set_cookie(
            NONCE_COOKIE,
            nonce,
            max_age=LINK_MINUTES * 60,
            path="/signin",
            httponly=True,
            secure=self.secure,
            samesite="strict",
        )

    async def sign_out(self, viewer: Viewer, response: Response) -> None:
        """End the session everywhere and clear its cookie."""
        await self.repository.end_session(viewer.session_token)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure, httponly=True)
        logger.info("dashboard: person #%s signed out", viewer.person.id)
