"""The trend rule: when someone's own recent moods call for the offer of support.

Three low check-ins in a row (today's included), or today's mood two or more
points below the person's own mean over the previous 14 days, lead to the offer
of a Wellbeing Warrior (never to an alert: the person still chooses). Computed
from the person's own mood rows, found through their pseudonym, in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from storage.moods import DayMood

LOW_MAX = 2
LOW_RUN = 3
WINDOW_DAYS = 14
DROP = 2.0
#: A mean of fewer answers than this says too little to compare against.
MIN_ANSWERS = 3


def trend_calls_for_offer(history: Sequence[DayMood], today: date, score: int) -> bool:
    """True if today's ``score`` and the person's ``history`` meet the trend rule.

    Args:
        history: The person's moods, oldest first (today's, if present, is ignored).
        today: The person's local date of today's answer.
        score: Today's mood, 1 to 5.
    """
    since = today - timedelta(days=WINDOW_DAYS)
    before = [entry for entry in history if since <= entry.local_date < today]
    run = [entry.score for entry in before[-(LOW_RUN - 1) :]] + [score]
    if len(run) == LOW_RUN and all(value <= LOW_MAX for value in run):
        return True
    if len(before) < MIN_ANSWERS:
        return False
    mean = sum(entry.score for entry in before) / len(before)
    return mean - score >= DROP
