"""A clock tests can set and move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Returns ``now`` until told otherwise."""

    def __init__(self, now: datetime) -> None:
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
