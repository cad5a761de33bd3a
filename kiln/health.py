"""``/healthz`` for load balancers: database reachable, scheduler leader known, adapters up.

No sign-in and nothing about people: only the state of this worker, as JSON, with
200 when every check passes and 503 when any fails, so a load balancer takes a
worker that lost its database or its platform connection out of rotation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.leadership import Leadership
from bot.ports import ChatAdapter
from storage.database import Database

logger = logging.getLogger(__name__)

#: A database that does not answer ``SELECT 1`` within this long counts as unreachable.
DATABASE_TIMEOUT_S = 2.0


class Health:
    """What this worker can say about itself."""

    def __init__(self, db: Database, adapters: Sequence[ChatAdapter] = ()) -> None:
        self._db = db
        self._adapters = tuple(adapters)
        self._started: set[str] = set()
        #: Set by `kiln run` once it campaigns for the scheduler; None elsewhere.
        self.leadership: Leadership | None = None

    def started(self, platform: str) -> None:
        """An adapter finished starting (connected, polling or listening)."""
        self._started.add(platform)

    def stopped(self, platform: str) -> None:
        """An adapter was stopped."""
        self._started.discard(platform)

    async def database_reachable(self) -> bool:
        """True if the database answers a trivial query in time."""
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_S), self._db.session() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        except Exception as failure:
            logger.warning("health: the database did not answer (%s)", type(failure).__name__)
            return False
        return True

    def adapter_connected(self, adapter: ChatAdapter) -> bool:
        """An adapter's own ``connected`` flag if it has one, else whether it started."""
        connected = getattr(adapter, "connected", None)
        if isinstance(connected, bool):
            return connected and adapter.platform in self._started
        return adapter.platform in self._started

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details) for ``/healthz``."""
        database = await self.database_reachable()
        checks: dict[str, Any] = {"database": "reachable" if database else "unreachable"}
        healthy = database
        if self.leadership is not None:
            known = self.leadership.leader_known
            checks["scheduler"] = {
                "leader_known": known,
                "this_worker": self.leadership.role.value,
            }
            healthy = healthy and known
        adapters = {a.platform: self.adapter_connected(a) for a in self._adapters}
        checks["adapters"] = {
            name: "connected" if up else "disconnected" for name, up in adapters.items()
        }
        healthy = healthy and all(adapters.values())
        return healthy, {"status": "ok" if healthy else "unavailable", **checks}


def health_router(health: Health) -> APIRouter:
    """The ``GET /healthz`` route."""
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        healthy, details = await health.report()
        return JSONResponse(
            details,
            status_code=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

    return router
