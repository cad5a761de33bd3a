"""What someone wrote, held briefly in memory in case they choose to share it.

kiln never writes a person's words to disk or logs. When a note leads to the offer
of a Wellbeing Warrior, the person may choose to let the volunteer who takes their
request read it; until then the words wait here, in this process's memory only, for
at most ``[support] note_hold_minutes``. They are dropped the moment they are shown,
declined or expire, and a restart forgets them (the volunteer is then told honestly
that the note is no longer available).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class _Held:
    text: str
    until: datetime


class NoteHold:
    """A per-person, time-limited, memory-only hold on one note."""

    def __init__(self, clock: Callable[[], datetime], lifetime: timedelta) -> None:
        self._clock = clock
        self._lifetime = lifetime
        self._notes: dict[int, _Held] = {}

    def keep(self, person_id: int, text: str) -> None:
        """Hold the person's latest note (replacing any earlier one)."""
        self._expire()
        self._notes[person_id] = _Held(text, self._clock() + self._lifetime)

    def has(self, person_id: int) -> bool:
        """True if a note is held for the person."""
        self._expire()
        return person_id in self._notes

    def take(self, person_id: int) -> str | None:
        """Remove and return the person's note, if still held."""
        self._expire()
        held = self._notes.pop(person_id, None)
        return held.text if held else None

    def drop(self, person_id: int) -> None:
        """Forget the person's note."""
        self._notes.pop(person_id, None)

    def _expire(self) -> None:
        now = self._clock()
        for person_id in [pid for pid, held in self._notes.items() if held.until <= now]:
            del self._notes[person_id]
