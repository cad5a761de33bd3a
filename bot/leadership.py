"""Exactly one scheduler among many workers: campaign for a lock, keep checking it.

Every worker serves its adapters; only the holder of the scheduler lock ticks. A
follower asks for the lock every few seconds, so when the leader dies another takes
over within one interval of the server noticing. The leader re-checks the lock just
as often and stops ticking the moment it cannot prove it still holds it. Even a
brief overlap would be harmless: the database, not the scheduler, refuses a second
check-in for the same person and day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from storage.locks import LockError

logger = logging.getLogger(__name__)

#: Seconds between lock checks, for leader and followers alike.
CHECK_INTERVAL_S = 3.0

Hook = Callable[[], Awaitable[None]]


class LeaderLock(Protocol):
    """A lock at most one process holds (storage/locks.py has the real ones)."""

    async def try_acquire(self) -> bool:
        """Take the lock if free; True if held now. May raise LockError."""

    async def still_held(self) -> bool:
        """True if this process provably still holds the lock."""

    async def release(self) -> None:
        """Give the lock up."""


class Role(StrEnum):
    """What this worker knows about the scheduler."""

    LEADER = "leader"
    FOLLOWER = "follower"  # another worker holds the lock
    UNKNOWN = "unknown"  # the lock's database could not be asked


class Leadership:
    """Runs ``on_elected`` when this process wins the lock and ``on_deposed`` when it loses it."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Hook,
        on_deposed: Hook,
        interval: float = CHECK_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = lock
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self.interval = interval
        self._monotonic = monotonic
        self._role = Role.UNKNOWN
        self._checked_at: float | None = None

    @property
    def role(self) -> Role:
        """This worker's role as of the last check."""
        return self._role

    @property
    def is_leader(self) -> bool:
        """True while this worker runs the scheduler."""
        return self._role is Role.LEADER

    @property
    def leader_known(self) -> bool:
        """True if a recent check found a leader (this worker or another)."""
        if self._role is Role.UNKNOWN or self._checked_at is None:
            return False
        return self._monotonic() - self._checked_at <= 3 * self.interval

    async def step(self) -> Role:
        """One check: keep, win or lose the lock, and start or stop the scheduler."""
        if self._role is Role.LEADER:
            if await self._lock.still_held():
                self._checked_at = self._monotonic()
                return self._role
            logger.warning("scheduler: lost the leader lock; this worker stops scheduling")
            self._role = Role.UNKNOWN
            await self._lock.release()
            await self._run_hook(self._on_deposed, "stopping the scheduler")
            return self._role
        try:
            won = await self._lock.try_acquire()
        except LockError as failure:
            if self._role is not Role.UNKNOWN:
                logger.warning("scheduler: cannot tell who leads (%s)", failure)
            self._role = Role.UNKNOWN
            return self._role
        self._checked_at = self._monotonic()
        if not won:
            if self._role is not Role.FOLLOWER:
                logger.info("scheduler: another worker leads; this one serves adapters only")
            self._role = Role.FOLLOWER
            return self._role
        logger.info("scheduler: this worker is now the leader")
        self._role = Role.LEADER
        if not await self._run_hook(self._on_elected, "starting the scheduler"):
            await self.resign()
        return self._role

    async def resign(self) -> None:
        """Stop the scheduler (if this worker runs it) and give the lock up."""
        was_leader = self._role is Role.LEADER
        self._role = Role.UNKNOWN
        if was_leader:
            await self._run_hook(self._on_deposed, "stopping the scheduler")
        await self._lock.release()

    async def _run_hook(self, hook: Hook, doing: str) -> bool:
        try:
            await hook()
        except Exception:
            logger.exception("scheduler: failed %s", doing)
            return False
        return True
