"""The composition root: settings, database, pepper, adapters and engine, wired once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.data_rights import purge_expired
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.inflow import bounded
from bot.ports import ChatAdapter
from bot.pseudonym import load_pepper
from bot.scheduler import Ticker
from bot.services import Clock, Services
from bot.settings import Settings
from bot.support_privacy import SupportHolder
from kiln.dashboard import DashboardServer, start_dashboard
from kiln.health import Health
from storage.database import Database
from storage.signin import SigninRepository
from storage.support_records import SupportRecords

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
    dashboard: DashboardServer | None = None
    #: What /healthz reports about this worker.
    health: Health = field(init=False)

    def __post_init__(self) -> None:
        self.health = Health(self.db, self.adapters)

    async def housekeeping(self, now: datetime) -> None:
        """Daily: drop old event ids, and whatever every holder keeps past its retention."""
        await self.services.events.forget_before(now - EVENT_ID_RETENTION)
        # Moods, check-ins and audit entries past retention_days, and what features add
        # (bot.personal_data: each module registers a holder with its own purge).
        purged = await purge_expired(self.services, now, actor="system")
        logger.info(
            "housekeeping: removed past retention: %s",
            ", ".join(f"{count} {section}" for section, count in purged.items()),
        )
        await SigninRepository(self.db).forget_before(now)

    def ticker(self) -> Ticker:
        """A scheduler that calls the engine each minute and housekeeping daily."""
        return Ticker(
            self.engine.run_due,
            self.housekeeping,
            self.services.clock,
            support=self.support_tick,
        )

    async def support_tick(self, now: datetime) -> int:
        """Every few seconds: support's claim timeouts and hand-offs, and the outbox."""
        return await self.engine.support_tick(now)

    async def start_adapters(self) -> None:
        """Connect every adapter and route its events to the engine."""
        sink = bounded(self.engine.handle)  # a burst waits its turn, never the pool's timeout
        for adapter in self.adapters:
            await adapter.start(sink)
            self.health.started(adapter.platform)

    async def start_dashboard(self, port: int | None = None) -> DashboardServer:
        """Serve the managers' dashboard in this event loop (``close`` stops it).

        Raises:
            DashboardPortError: if the port cannot be used.
        """
        self.dashboard = await start_dashboard(self.services, port=port, health=self.health)
        return self.dashboard

    async def close(self) -> None:
        """Stop the dashboard and adapters, and close the database."""
        if self.dashboard is not None:
            try:
                await self.dashboard.stop()
            except Exception:
                logger.exception("the dashboard did not stop cleanly")
            self.dashboard = None
        for adapter in self.adapters:
            try:
                self.health.stopped(adapter.platform)
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
        # Each feature that keeps something about people says so, for /mydata,
        # /forgetme and retention (the core tables are registered by Services.build).
        services.personal_data.register(SupportHolder(SupportRecords(db)))
        for adapter in adapters:
            # An adapter that needs the roster before any send (Slack looks up people
            # listed by email) prepares here, so `kiln checkin now` reaches them too.
            prepare = getattr(adapter, "prepare", None)
            if prepare is not None:
                await prepare(services)
    except BaseException:
        await db.dispose()
        raise
    return Runtime(settings, db, services, Engine(services), tuple(adapters))
