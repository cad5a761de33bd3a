"""Managers in chat: `/teammood` (totals and a chart) and `/dashboard` (a sign-in link).

Both are for people with the manager role, and only about the teams their roster row
says they manage. Every figure comes from ``bot.reporting``, which has already hidden
any week with too few people answering; this module only words and draws it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot import charts
from bot.messages import Attachment, Message
from bot.reporting import TeamTrend, Viewer, WeekCell, team_trend
from bot.services import Services
from storage.models import Person, row_id
from storage.signin import SigninRepository

logger = logging.getLogger(__name__)

#: Weeks in the `/teammood` chart.
TEAMMOOD_WEEKS = 8
#: A chat image stays legible with this many teams; more are still summarised in words.
MAX_CHART_TEAMS = 3
#: How long a `/dashboard` link works.
LINK_MINUTES = 10


def managed_teams(person: Person) -> tuple[str, ...]:
    """The teams a manager may see (empty for anyone without the manager role)."""
    roles = {role.strip().lower() for role in person.roles.split(";")}
    if "manager" not in roles:
        return ()
    teams = (team.strip() for team in person.manages.split(";"))
    return tuple(dict.fromkeys(team for team in teams if team))


def is_manager(person: Person) -> bool:
    """True for people with the manager role."""
    return "manager" in {role.strip().lower() for role in person.roles.split(";")}


def refusal(services: Services, person: Person) -> Message | None:
    """The polite "not for you" reply, or None when the person may see team figures."""
    if not is_manager(person):
        return Message(services.text(person, "manager.not_a_manager"))
    if not managed_teams(person):
        return Message(services.text(person, "manager.no_teams"))
    return None


def _week(services: Services, person: Person, cell: WeekCell | None, trend: TeamTrend) -> str:
    if cell is None or cell.suppressed or cell.mean is None:
        return services.text(person, "manager.mood_hidden", min=trend.min_group_size)
    if cell.participation is None:
        return services.text(
            person, "manager.mood_week_no_size", mean=f"{cell.mean:.1f}", people=cell.respondents
        )
    return services.text(
        person,
        "manager.mood_week",
        mean=f"{cell.mean:.1f}",
        people=cell.respondents,
        participation=f"{cell.participation:.0%}",
    )


def summary(services: Services, person: Person, trends: list[TeamTrend]) -> str:
    """The last finished week against the one before, per team, in the person's language."""
    threshold = trends[0].min_group_size if trends else services.settings.min_group_size
    lines = [services.text(person, "manager.mood_title", min=threshold)]
    for trend in trends:
        weeks = trend.weeks
        lines.append(
            services.text(
                person,
                "manager.mood_team",
                team=trend.team,
                last_week=_week(services, person, weeks[-1] if weeks else None, trend),
                week_before=_week(services, person, weeks[-2] if len(weeks) > 1 else None, trend),
            )
        )
    lines.append(services.text(person, "manager.mood_chart", weeks=TEAMMOOD_WEEKS))
    return "\n".join(lines)


async def team_mood(services: Services, person: Person) -> Message:
    """`/teammood`: a short summary and the chart, or a polite refusal."""
    refused = refusal(services, person)
    if refused is not None:
        return refused
    viewer = Viewer.manager(person)
    now = services.clock()
    trends = [
        await team_trend(services, team, TEAMMOOD_WEEKS, now, viewer=viewer, purpose="teammood")
        for team in managed_teams(person)
    ]
    # Drawing takes a moment of CPU; keep the event loop free for other people meanwhile.
    image = await asyncio.to_thread(charts.png, trends[:MAX_CHART_TEAMS])
    return Message(
        summary(services, person, trends),
        attachment=Attachment("team-mood.png", image, "image/png"),
    )


async def dashboard_link(services: Services, person: Person) -> Message:
    """`/dashboard`: a one-time sign-in link, or a polite refusal."""
    refused = refusal(services, person)
    if refused is not None:
        return refused
    token = await SigninRepository(services.db).issue_link(
        row_id(person), services.clock(), timedelta(minutes=LINK_MINUTES)
    )
    url = f"{services.settings.dashboard_url()}/signin/{token}"
    logger.info("dashboard: sign-in link sent to person #%s", person.id)
    return Message(services.text(person, "manager.dashboard_link", url=url, minutes=LINK_MINUTES))
