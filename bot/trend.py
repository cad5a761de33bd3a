"""`/mytrend`: a person's own recent moods, shown only to them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from bot.conversation import MOOD_KEYS
from bot.messages import Message
from bot.services import Services
from storage.models import Person

TREND_DAYS = 28


async def my_trend(services: Services, person: Person) -> Message:
    """The person's last four weeks: each answer, and a mean per week."""
    today = services.today(person).date()
    since = today - timedelta(days=TREND_DAYS - 1)
    history = await services.moods.history(services.pseudonym(person), since)
    text = services.text
    if not history:
        return Message(text(person, "trend.empty", days=TREND_DAYS))
    weeks: dict[date, list[int]] = defaultdict(list)
    lines = [text(person, "trend.title", days=TREND_DAYS)]
    for entry in history:
        day = services.catalogue.day(person.locale, entry.local_date)
        lines.append(text(person, "trend.line", day=day, mood=text(person, MOOD_KEYS[entry.score])))
        weeks[entry.local_date - timedelta(days=entry.local_date.weekday())].append(entry.score)
    lines.append("")
    for monday, scores in sorted(weeks.items()):
        mean = f"{sum(scores) / len(scores):.1f}"
        day = services.catalogue.day(person.locale, monday)
        lines.append(text(person, "trend.week_mean", day=day, mean=mean))
    return Message("\n".join(lines))
