"""How Slack's payloads reach kiln's bolt app: Socket Mode or HTTP mode.

Socket Mode dials out to Slack (no public URL needed); HTTP mode is one aiohttp
endpoint, ``/slack/events``, where bolt checks every request's signature.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp

from adapters.slack_shape import looks_like_slack

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class SocketConnection:
    """Socket Mode: kiln dials out to Slack, so no public URL is needed."""

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token)

    async def start(self) -> None:
        """Open the WebSocket (``apps.connections.open`` with the app-level token)."""
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        logger.info("Slack connected in Socket Mode")

    async def stop(self) -> None:
        """Close the WebSocket."""
        await self._handler.close_async()  # type: ignore[no-untyped-call]


class HttpConnection:
    """HTTP mode: Events API, interactivity and the slash command on one endpoint."""

    def __init__(self, app: AsyncApp, listen: str, port: int) -> None:
        self._app = app
        self._listen = listen
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful when 0 asked for any free one)."""
        if self._runner is None or not self._runner.addresses:
            return self._port
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        """Listen on ``listen:port`` at ``/slack/events``."""
        application = web.Application()
        application.router.add_post(EVENTS_PATH, self._handle)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._listen, self._port).start()
        logger.info("Slack HTTP mode listening on port %d at %s", self.port, EVENTS_PATH)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Slack-Retry-Num"):
            logger.debug("Slack retry #%s", request.headers["X-Slack-Retry-Num"])
        try:
            body = await request.text()
        except UnicodeDecodeError:
            body = ""  # Slack sends UTF-8; anything else is not from Slack
        if not looks_like_slack(body, request.content_type):
            # Not a shape Slack sends: refused before bolt or kiln read a field of it.
            logger.warning("refused a request to /slack/events that is not shaped like Slack's")
            return web.Response(status=400, text="not a Slack request")
        response = await self._app.async_dispatch(await to_bolt_request(request))
        if response.status == 401:
            logger.warning("refused a request with a bad or stale Slack signature")
        return await to_aiohttp_response(response)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
