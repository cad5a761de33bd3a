"""Serving the dashboard with uvicorn inside kiln's own event loop.

kiln owns the process: its signal handlers, its logging and its shutdown. So the
socket is bound here (a port in use is one clear error, not uvicorn exiting the
process), uvicorn's own signal handling is switched off, and access logs are off
because sign-in URLs carry their token.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

logger = logging.getLogger(__name__)


class DashboardPortError(OSError):
    """The dashboard's port cannot be used."""


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # kiln handles SIGINT/SIGTERM itself and stops the dashboard with the rest.
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one.

    Raises:
        DashboardPortError: if the address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as problem:
        sock.close()
        reason = "is already in use" if problem.errno == errno.EADDRINUSE else f"failed: {problem}"
        raise DashboardPortError(
            f"dashboard: {host}:{port} {reason} (set dashboard_port to another port)"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class DashboardServer:
    """Starts and stops one dashboard in the running event loop."""

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self._sock = sock
        config = uvicorn.Config(
            app,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=True,
            timeout_graceful_shutdown=2,
        )
        # Belt and braces: uvicorn's access log would write sign-in tokens (they are in
        # the path) wherever the root logger goes, whatever else configured logging.
        logging.getLogger("uvicorn.access").disabled = True
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port actually listened on."""
        return int(self._sock.getsockname()[1])

    async def start(self) -> None:
        """Serve in the background; returns once the server is accepting connections."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the dashboard stopped while starting")
            await asyncio.sleep(0.02)
        logger.info("dashboard listening on port %d", self.port)

    async def stop(self) -> None:
        """Finish open requests (briefly) and close the socket."""
        if self._task is None:
            self._sock.close()
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._sock.close()
            self._task = None
