"""Per-person token buckets, in memory: a flood of messages slows down, nothing breaks.

Each sender (``platform:user``) has a bucket of ``burst`` tokens that refills at
``per_minute`` tokens a minute; every command or message takes one. The buckets live
in this process only: after a restart everyone starts with a full bucket, and with
several workers each keeps its own, which is fine for a limit meant to stop floods,
not to count precisely. Nothing here is stored or logged with the sender's id.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RateLimitSettings(BaseModel):
    """How much a person may send before kiln asks them to slow down (``[rate_limit]``)."""

    model_config = ConfigDict(extra="forbid")

    #: Commands and messages a person may send at once.
    burst: int = Field(default=20, ge=1, le=1000)
    #: How many more they may send each minute after that.
    per_minute: float = Field(default=30, gt=0, le=6000)
    #: At most one "please slow down" message per person in this many seconds.
    notice_seconds: int = Field(default=60, ge=1, le=24 * 3600)


class Verdict(StrEnum):
    """What to do with one event: let it through, or refuse it (and whether to say so)."""

    ALLOW = "allow"
    REFUSE_AND_TELL = "refuse_and_tell"
    REFUSE_QUIETLY = "refuse_quietly"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    told_at: float | None = None


class RateLimiter:
    """Token buckets keyed by sender; the least recently seen are forgotten first.

    A forgotten bucket was full anyway (its owner has been quiet), so forgetting
    loses nothing but memory.
    """

    def __init__(
        self,
        settings: RateLimitSettings | None = None,
        *,
        now: Callable[[], float] = time.monotonic,
        max_senders: int = 50_000,
    ) -> None:
        self.settings = settings or RateLimitSettings()
        self._now = now
        self._max_senders = max_senders
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, sender: str) -> Verdict:
        """Take a token for ``sender`` if one is left.

        ``REFUSE_AND_TELL`` is returned for the first refusal in each
        ``notice_seconds`` window, ``REFUSE_QUIETLY`` for the rest, so a flood of
        a hundred messages gets one polite reply, not a hundred.
        """
        settings = self.settings
        now = self._now()
        bucket = self._buckets.pop(sender, None)
        if bucket is None:
            bucket = _Bucket(tokens=float(settings.burst), updated=now)
        else:
            refill = (now - bucket.updated) * settings.per_minute / 60.0
            bucket.tokens = min(float(settings.burst), bucket.tokens + max(refill, 0.0))
            bucket.updated = now
        self._buckets[sender] = bucket  # most recently seen last
        while len(self._buckets) > self._max_senders:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.ALLOW
        if bucket.told_at is None or now - bucket.told_at >= settings.notice_seconds:
            bucket.told_at = now
            return Verdict.REFUSE_AND_TELL
        return Verdict.REFUSE_QUIETLY
