"""The dashboard's FastAPI application: routes, local static files, security headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.services import Services
from kiln.dashboard import pages, views
from kiln.dashboard.auth import Auth
from kiln.health import Health, health_router

logger = logging.getLogger(__name__)

#: No scripts at all, styles only from our own file, nothing may frame the page.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    # Sign-in links carry their token in the path: never pass a URL on to anyone.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
#: Methods that change something: each must come from a page of this dashboard.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def from_this_site(request: Request, public_url: str | None) -> bool:
    """False for a state-changing request a browser says came from another site.

    A second line behind the CSRF tokens and SameSite=Strict cookies. Browsers say where
    a request came from in ``Sec-Fetch-Site``, and in ``Origin``, except that under this
    dashboard's ``Referrer-Policy: no-referrer`` a form post's ``Origin`` is ``null``.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True  # no browser's word either way: the CSRF token decides
    allowed = {_origin(str(request.base_url))}
    if public_url:
        allowed.add(_origin(public_url))
    return origin.lower() in allowed


def create_app(services: Services, health: Health | None = None) -> FastAPI:
    """The dashboard for a running kiln, sharing its database, settings and clock.

    With ``health``, also ``/healthz`` for load balancers (no sign-in, no personal data).
    """
    app = FastAPI(
        title="kiln managers' view",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.kiln = views.DashboardState(services, Auth(services))
    app.include_router(views.router)
    if health is not None:
        app.include_router(health_router(health))
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    secure = services.settings.dashboard_url().startswith("https://")
    public_url = services.settings.dashboard_public_url

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.method in UNSAFE_METHODS and not from_this_site(request, public_url):
            logger.info("dashboard: refused a %s from another site", request.method)
            response: Response = views.message(
                403, "Not from here", "That request came from another site, so nothing was done."
            )
        else:
            try:
                response = await call_next(request)
            except Exception as failure:
                # Only the type: an error's text can quote figures or names. No traceback
                # reaches the browser, and the page keeps its security headers.
                # The first path segment only: sign-in paths carry a token after it.
                where = request.url.path.split("/")[1] or "home"
                logger.error("dashboard: %s on /%s", type(failure).__name__, where)
                logger.debug("dashboard failure in full", exc_info=failure)
                response = views.message(
                    500, "Something went wrong", "Please try again in a minute."
                )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def friendly_errors(request: Request, problem: StarletteHTTPException) -> Response:
        if problem.status_code == 404:
            return views.message(
                404, "Nothing here", "This page doesn't exist.", link={"href": "/", "text": "Home"}
            )
        if problem.status_code == 405:
            return views.message(405, "Not like that", "This page can't be used that way.")
        return views.message(problem.status_code, "Something went wrong", str(problem.detail))

    return app
