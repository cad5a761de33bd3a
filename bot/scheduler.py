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

logger = logging.getLogger(__name__)

Tick = Callable[[datetime], Awaitable[object]]


class Ticker:
    """Calls ``run_due`` at the top of every minute and daily housekeeping once a day."""

    def __init__(self, run_due: Tick, housekeeping: Tick, clock: Callable[[], datetime]) -> None:
        self._run_due = run_due
        self._housekeeping = housekeeping
        self._clock = clock
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
        self._scheduler.start()
        logger.info("scheduler started: checking who is due every minute")

    def shutdown(self) -> None:
        """Stop ticking; a tick in progress finishes on its own."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _tick(self) -> None:
        try:
            await self._run_due(self._clock())
        except Exception:
            # One bad tick must not stop the next: the next minute retries from the database.
            logger.exception("check-in tick failed; will retry next minute")

    async def _daily(self) -> None:
        try:
            await self._housekeeping(self._clock())
        except Exception:
            logger.exception("daily housekeeping failed; will retry tomorrow")
