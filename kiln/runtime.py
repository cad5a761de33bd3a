"""The composition root: settings, database, pepper, adapters and engine, wired once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.delivery import Deliverer
from bot.engine import Engine
from bot.ports import ChatAdapter
from bot.pseudonym import load_pepper
from bot.scheduler import Ticker
from bot.services import Clock, Services
from bot.settings import Settings
from storage.database import Database

logger = logging.getLogger(__name__)

#: Platforms stop retrying an event within minutes; a week of ids is plenty.
EVENT_ID_RETENTION = timedelta(days=7)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class Runtime:
    """Everything a running kiln holds."""

    settings: Settings
    db: Database
    services: Services
    engine: Engine
    adapters: tuple[ChatAdapter, ...]

    async def housekeeping(self, now: datetime) -> None:
        """Daily: drop old event ids and moods past the retention period."""
        await self.services.events.forget_before(now - EVENT_ID_RETENTION)
        cutoff = now.date() - timedelta(days=self.settings.retention_days)
        purged = await self.services.moods.purge_before(cutoff)
        logger.info("housekeeping: %d mood rows past retention removed", purged)

    def ticker(self) -> Ticker:
        """A scheduler that calls the engine each minute and housekeeping daily."""
        return Ticker(self.engine.run_due, self.housekeeping, self.services.clock)

    async def start_adapters(self) -> None:
        """Connect every adapter and route its events to the engine."""
        for adapter in self.adapters:
            await adapter.start(self.engine.handle)

    async def close(self) -> None:
        """Stop adapters and close the database."""
        for adapter in self.adapters:
            try:
                await adapter.stop()
            except Exception:
                logger.exception("adapter %s did not stop cleanly", adapter.platform)
        await self.db.dispose()


async def open_runtime(
    settings: Settings,
    adapters: Sequence[ChatAdapter] = (),
    *,
    clock: Clock = utc_now,
    pepper: bytes | None = None,
    migrate: bool = True,
) -> Runtime:
    """Open the database (migrating it), load the pepper and build the engine.

    Raises:
        PepperError: if the pepper key file is unsafe.
    """
    db = Database(settings.database_url)
    try:
        if migrate:
            await db.upgrade()
        secret = pepper or load_pepper(
            settings.pepper.get_secret_value() if settings.pepper else None, settings.pepper_file
        )
        services = Services.build(
            settings=settings,
            db=db,
            pepper=secret,
            delivery=Deliverer({adapter.platform: adapter for adapter in adapters}),
            clock=clock,
        )
    except BaseException:
        await db.dispose()
        raise
    return Runtime(settings, db, services, Engine(services), tuple(adapters))
