"""One APScheduler job ticking each minute; the database says who is due.

Nothing about who has been sent what lives in the scheduler: a tick only asks the
engine ``run_due(now)``, so restarts, missed ticks and duplicate ticks are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.database import is_unavailable

logger = logging.getLogger(__name__)

Tick = Callable[[datetime], Awaitable[object]]
SUPPORT_TICK_SECONDS = 10


class Ticker:
    """Calls ``run_due`` at the top of every minute and daily housekeeping once a day."""

    def __init__(
        self,
        run_due: Tick,
        housekeeping: Tick,
        clock: Callable[[], datetime],
        support: Tick | None = None,
    ) -> None:
        self._run_due = run_due
        self._housekeeping = housekeeping
        self._clock = clock
        #: Support's claim timeouts and outbox retries, every SUPPORT_TICK_SECONDS.
        self._support = support
        #: When the current database outage began (None: the database answers).
        self._outage_since: datetime | None = None
        # A fresh in-memory job store per process: job stores are never shared, the
        # database is the only shared state.
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def start(self) -> None:
        """Start ticking (needs a running event loop)."""
        self._scheduler.add_job(
            self._tick,
            CronTrigger(second=0),
            id="kiln-run-due",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=50,
        )
        self._scheduler.add_job(
            self._daily,
            CronTrigger(hour=3, minute=17),
            id="kiln-housekeeping",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(timedelta(hours=6).total_seconds()),
        )
        if self._support is not None:
            self._scheduler.add_job(
                self._support_tick,
                IntervalTrigger(seconds=SUPPORT_TICK_SECONDS),
                id="kiln-support",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=SUPPORT_TICK_SECONDS,
            )
        self._scheduler.start()
        logger.info("scheduler started: checking who is due every minute")

    def shutdown(self) -> None:
        """Stop ticking; a tick in progress finishes on its own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run_due_now(self) -> None:
        """The minute's check-in tick, now (what the scheduler runs each minute)."""
        await self._tick()

    async def support_now(self) -> None:
        """Support's tick, now (what the scheduler runs every SUPPORT_TICK_SECONDS)."""
        await self._support_tick()

    async def _tick(self) -> None:
        try:
            await self._run_due(self._clock())
        except Exception as failure:
            # One bad tick must not stop the next: the next minute retries from the database.
            self._failed(failure, "check-in tick failed; will retry next minute")
        else:
            self._database_back()

    async def _support_tick(self) -> None:
        if self._support is None:
            return
        try:
            await self._support(self._clock())
        except Exception as failure:
            # Every support timer is a row: the next tick picks up whatever this one missed.
            self._failed(failure, f"support tick failed; will retry in {SUPPORT_TICK_SECONDS}s")
        else:
            self._database_back()

    def _failed(self, failure: Exception, what: str) -> None:
        if not is_unavailable(failure):
            logger.exception(what)
            return
        # A database outage: one clear line when it starts and one when it ends, not a
        # traceback every few seconds. Every timer is a row, so nothing is lost meanwhile.
        if self._outage_since is None:
            self._outage_since = self._clock()
            logger.error(
                "the database is unavailable (%s); kiln keeps running and will catch up "
                "when it is back",
                type(failure).__name__,
            )
        else:
            logger.debug("the database is still unavailable (%s)", type(failure).__name__)

    def _database_back(self) -> None:
        if self._outage_since is not None:
            logger.warning(
                "the database is back after %s; catching up",
                str(self._clock() - self._outage_since).split(".")[0],
            )
            self._outage_since = None

    async def _daily(self) -> None:
        try:
            await self._housekeeping(self._clock())
        except Exception:
            logger.exception("daily housekeeping failed; will retry tomorrow")
