"""The managers' dashboard: team totals in a browser, signed in by a link sent in chat."""

from __future__ import annotations

import logging

from bot.services import Services
from kiln.dashboard.app import create_app
from kiln.dashboard.server import DashboardPortError, DashboardServer, bind
from kiln.health import Health

logger = logging.getLogger(__name__)


async def start_dashboard(
    services: Services, *, port: int | None = None, health: Health | None = None
) -> DashboardServer:
    """Bind the configured address and serve the dashboard in this event loop.

    Raises:
        DashboardPortError: if the port cannot be used.
    """
    settings = services.settings
    sock = bind(settings.dashboard_listen, settings.dashboard_port if port is None else port)
    server = DashboardServer(create_app(services, health), sock)
    await server.start()
    return server


__all__ = ["DashboardPortError", "DashboardServer", "create_app", "start_dashboard"]
