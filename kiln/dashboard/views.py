"""The dashboard's pages: sign-in, the managers' overview, one team, CSV exports.

Every page about figures first asks ``Auth`` who is signed in and which teams they
manage; a team outside that list gets 403, whether or not it exists.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.reporting import TeamTrend
from bot.reporting import Viewer as ReportViewer
from bot.services import Services
from kiln.dashboard import pages
from kiln.dashboard.auth import NONCE_COOKIE, Auth, Viewer, same
from kiln.dashboard.figures import last_month, support_figures, team_trends
from storage.signin import LinkState

logger = logging.getLogger(__name__)

router = APIRouter()


@dataclass
class DashboardState:
    """What the routes need, kept on ``app.state.kiln``."""

    services: Services
    auth: Auth


def _state(request: Request) -> DashboardState:
    state: DashboardState = request.app.state.kiln
    return state


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """An HTML page that no browser or proxy keeps a copy of."""
    return HTMLResponse(
        pages.render(template, **context), status_code=status, headers={"Cache-Control": "no-store"}
    )


def message(
    status: int, heading: str, *paragraphs: str, link: dict[str, str] | None = None
) -> HTMLResponse:
    """A short page that explains, in plain words, what happened and what to do."""
    return page("message.html", status, heading=heading, paragraphs=paragraphs, link=link)


ASK_IN_CHAT = "To sign in, send /dashboard to kiln in chat, and open the link it sends you."


def not_signed_in() -> HTMLResponse:
    """401: the page for someone without a live session."""
    return message(401, "Please sign in", ASK_IN_CHAT)


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def _trends(
    state: DashboardState, viewer: Viewer, teams: list[str], purpose: str
) -> list[TeamTrend]:
    services = state.services
    who = ReportViewer.manager(viewer.person)
    return await team_trends(services, who, teams, services.clock(), purpose)


def _link(team: str) -> str:
    return f"/teams/{quote(team, safe='')}"


async def _dashboard(
    state: DashboardState, viewer: Viewer, teams: list[str], single: bool
) -> HTMLResponse:
    services = state.services
    trends = await _trends(state, viewer, teams, "dashboard")
    views = [
        dataclasses.replace(
            # Drawing takes CPU time; a worker thread keeps the chat bot answering meanwhile.
            await asyncio.to_thread(pages.team_view, trend, index),
            link=None if single else _link(trend.team),
            csv_url=f"{_link(trend.team)}/figures.csv",
        )
        for index, trend in enumerate(trends)
    ]
    support = None
    if not single:
        period = last_month(services, services.clock())
        support = pages.support_view(await support_figures(services, period, viewer.person))
    title = f"Team {teams[0]}" if single else "Your teams"
    return page(
        "dashboard.html",
        page_title=title,
        teams=views,
        support=support,
        viewer_name=viewer.person.display_name,
        csrf=viewer.csrf,
        min_group_size=services.settings.min_group_size,
        generated=pages.generated_label(services.clock()),
        back_link="/" if single and len(viewer.teams) > 1 else None,
    )


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    """Every team the manager looks after, and the organisation's support figures."""
    state = _state(request)
    viewer = await state.auth.viewer(request)
    if viewer is None:
        return not_signed_in()
    return await _dashboard(state, viewer, list(viewer.teams), single=False)


def _forbidden() -> HTMLResponse:
    return message(
        403,
        "Not one of your teams",
        "You can see the teams you manage, and only those. If that list is wrong, "
        "please ask your wellbeing lead to update the roster.",
        link={"href": "/", "text": "Back to your teams"},
    )


@router.get("/teams/{team}", response_class=HTMLResponse)
async def team_page(request: Request, team: str) -> Response:
    """One team the manager looks after; any other team id gets 403."""
    state = _state(request)
    viewer = await state.auth.viewer(request)
    if viewer is None:
        return not_signed_in()
    if team not in viewer.teams:
        logger.info("dashboard: person #%s refused a team they do not manage", viewer.person.id)
        return _forbidden()
    return await _dashboard(state, viewer, [team], single=True)


@router.get("/figures.csv")
async def overview_csv(request: Request) -> Response:
    """The weekly figures of every team on the overview."""
    state = _state(request)
    viewer = await state.auth.viewer(request)
    if viewer is None:
        return not_signed_in()
    trends = await _trends(state, viewer, list(viewer.teams), "dashboard CSV")
    return _csv(pages.trends_csv(trends), f"kiln-teams-{state.services.clock():%Y-%m-%d}.csv")


@router.get("/teams/{team}/figures.csv")
async def team_csv(request: Request, team: str) -> Response:
    """One team's weekly figures, as on its page."""
    state = _state(request)
    viewer = await state.auth.viewer(request)
    if viewer is None:
        return not_signed_in()
    if team not in viewer.teams:
        return _forbidden()
    trends = await _trends(state, viewer, [team], "dashboard CSV")
    name = pages.slug(team)
    return _csv(pages.trends_csv(trends), f"kiln-{name}-{state.services.clock():%Y-%m-%d}.csv")


@router.get("/support.csv")
async def support_csv(request: Request) -> Response:
    """The organisation's support figures, as on the overview."""
    state = _state(request)
    viewer = await state.auth.viewer(request)
    if viewer is None:
        return not_signed_in()
    services = state.services
    figures = await support_figures(services, last_month(services, services.clock()), viewer.person)
    return _csv(pages.support_csv(figures), f"kiln-support-{services.clock():%Y-%m-%d}.csv")


REFUSED = {
    LinkState.UNKNOWN: (404, "This link doesn't work", "It may have been copied only in part."),
    LinkState.USED: (410, "This link has been used", "Each sign-in link works once."),
    LinkState.EXPIRED: (410, "This link has expired", "Sign-in links work for 10 minutes."),
}


def _refused(state: LinkState) -> HTMLResponse:
    status, heading, why = REFUSED[state]
    return message(status, heading, why, ASK_IN_CHAT)


@router.get("/signin/{token}", response_class=HTMLResponse)
async def signin_page(request: Request, token: str) -> Response:
    """Look at a link (without spending it) and offer a Continue button."""
    auth = _state(request).auth
    check = await auth.check(token)
    if check.state is not LinkState.VALID:
        return _refused(check.state)
    nonce = secrets.token_urlsafe(16)
    response = page("signin.html", token=token, nonce=nonce)
    auth.set_nonce(response, nonce)
    return response


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
        return {}
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


@router.post("/signin/{token}")
async def signin(request: Request, token: str) -> Response:
    """Spend the link and open a session, if the form came from our own sign-in page."""
    auth = _state(request).auth
    form = await _form(request)
    cookie = request.cookies.get(NONCE_COOKIE, "")
    if not cookie or not same(cookie, form.get("nonce", "")):
        return message(
            400,
            "Please open your link again",
            "This sign-in didn't come from your link's page. " + ASK_IN_CHAT,
        )
    response = RedirectResponse("/", status_code=303)
    outcome = await auth.sign_in(token, response)
    if outcome.state is not LinkState.VALID:
        return _refused(outcome.state)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session (the form carries the session's CSRF token)."""
    auth = _state(request).auth
    viewer = await auth.viewer(request)
    if viewer is None:
        return RedirectResponse("/signed-out", status_code=303)
    form = await _form(request)
    if not same(viewer.csrf, form.get("csrf", "")):
        return message(400, "Please try again", "That sign-out request could not be checked.")
    response = RedirectResponse("/signed-out", status_code=303)
    await auth.sign_out(viewer, response)
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out() -> Response:
    """Confirmation that the session has ended."""
    return message(
        200, "You're signed out", "Thank you for looking after your team. " + ASK_IN_CHAT
    )
