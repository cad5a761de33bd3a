"""Button values: opaque to adapters, parsed only here.

Values are short ASCII strings (Telegram allows 64 bytes of callback data) that say
what was chosen and, where it matters, which row it is about: a check-in, a support
request or a relay session. A third part carries a mood score, or for an offer the
reason it was made (so a crisis request is routed as urgently as it should be).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_VALUE_BYTES = 64
_DETAIL = re.compile(r"^[a-z_]{1,16}$")


class Action(StrEnum):
    """What a button does."""

    MOOD = "mood"
    SKIP = "skip"
    TALK = "talk"
    NO_NOTE = "nonote"
    OFFER_YES = "yes"
    OFFER_NO = "no"
    OFFER_ANONYMOUS = "anon"
    SHARE_NOTE = "share"
    KEEP_NOTE = "keep"
    CLAIM = "claim"
    DECLINE = "pass"
    CLOSE_CASE = "close"
    REVEAL = "reveal"
    END_RELAY = "end"
    #: `/forgetme` confirmed or cancelled; ``target`` is the minute the question was asked.
    ERASE = "erase"
    KEEP_DATA = "keepdata"


#: Actions whose third part is a reason rather than a score.
DETAILED = frozenset({Action.OFFER_YES, Action.OFFER_ANONYMOUS})


@dataclass(frozen=True)
class Choice:
    """A decoded button value.

    Attributes:
        action: What the button does.
        target: The id of the row it is about (check-in, support request or relay).
        score: The mood, for mood buttons.
        detail: The reason, for offer buttons.
    """

    action: Action
    target: int | None = None
    score: int | None = None
    detail: str | None = None

    @property
    def checkin_id(self) -> int | None:
        """The check-in a check-in button belongs to."""
        return self.target

    def encode(self) -> str:
        """The string put on the button."""
        parts = [self.action.value, str(self.target or 0)]
        if self.score is not None:
            parts.append(str(self.score))
        elif self.detail is not None:
            parts.append(self.detail)
        value = ":".join(parts)
        if len(value.encode("ascii")) > MAX_VALUE_BYTES:
            raise ValueError(f"button value too long: {len(value)} bytes")
        return value


def decode(value: str) -> Choice | None:
    """The choice a button value stands for, or None if it is not one of ours."""
    parts = value.split(":")
    if len(parts) not in (2, 3):
        return None
    try:
        action = Action(parts[0])
        target = int(parts[1]) or None
    except ValueError:
        return None
    third = parts[2] if len(parts) == 3 else None
    if action in DETAILED:
        if third is not None and not _DETAIL.match(third):
            return None
        return Choice(action, target, detail=third)
    try:
        score = int(third) if third is not None else None
    except ValueError:
        return None
    if (action is Action.MOOD) != (score is not None):
        return None
    if score is not None and not 1 <= score <= 5:
        return None
    return Choice(action, target, score)
