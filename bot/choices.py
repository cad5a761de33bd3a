"""Button values: opaque to adapters, parsed only here.

Values are short ASCII strings (Telegram allows 64 bytes of callback data) that say
what was chosen and, where it matters, which check-in it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    """What a button does."""

    MOOD = "mood"
    SKIP = "skip"
    TALK = "talk"
    NO_NOTE = "nonote"
    OFFER_YES = "yes"
    OFFER_NO = "no"


@dataclass(frozen=True)
class Choice:
    """A decoded button value."""

    action: Action
    checkin_id: int | None = None
    score: int | None = None

    def encode(self) -> str:
        """The string put on the button."""
        parts = [self.action.value, str(self.checkin_id or 0)]
        if self.score is not None:
            parts.append(str(self.score))
        return ":".join(parts)


def decode(value: str) -> Choice | None:
    """The choice a button value stands for, or None if it is not one of ours."""
    parts = value.split(":")
    if len(parts) not in (2, 3):
        return None
    try:
        action = Action(parts[0])
        checkin_id = int(parts[1]) or None
        score = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        return None
    if (action is Action.MOOD) != (score is not None):
        return None
    if score is not None and not 1 <= score <= 5:
        return None
    return Choice(action, checkin_id, score)
