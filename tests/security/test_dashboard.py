"""The dashboard under attack: CSRF, framing, tampered and replayed links, stolen sessions."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from kiln.dashboard import views
from kiln.dashboard.auth import SESSION_COOKIE
from tests.dashboard.conftest import Dashboard, dashboard, demo_database, seeded, settings
from tests.fakes.clock import FakeClock

__all__ = ["dashboard", "demo_database", "seeded", "settings"]

#: Every route that changes something, and the form field that proves it came from us.
STATE_CHANGING = {"/signin/{token}": "nonce", "/signout": "csrf"}
STRICT = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_every_state_changing_route_is_one_that_checks_a_token() -> None:
    # A new POST route must be added here, with its own CSRF check and test.
    unsafe = {
        route.path
        for route in views.router.routes
        if isinstance(route, APIRoute) and route.methods - {"GET", "HEAD"}
    }
    assert unsafe == set(STATE_CHANGING)


async def _csrf(dashboard: Dashboard) -> str:
    page = await dashboard.client.get("/")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_sign_out_without_or_with_a_wrong_token_changes_nothing(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    for form in ({}, {"csrf": ""}, {"csrf": "x" * 64}, {"nonce": "whatever"}):
        refused = await dashboard.client.post("/signout", data=form)
        assert refused.status_code == 400
    # A JSON body is not a form: refused the same way.
    refused = await dashboard.client.post("/signout", json={"csrf": await _csrf(dashboard)})
    assert refused.status_code == 400
    assert (await dashboard.client.get("/")).status_code == 200


async def test_a_post_from_another_site_is_refused_even_with_the_right_token(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    csrf = await _csrf(dashboard)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another app on a sibling subdomain
    ):
        refused = await dashboard.client.post("/signout", data={"csrf": csrf}, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.headers["x-frame-options"] == "DENY"
    assert (await dashboard.client.get("/")).status_code == 200

    token = await dashboard.link()
    forged = await dashboard.client.post(
        f"/signin/{token}", data={"nonce": "n"}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert (await dashboard.client.get(f"/signin/{token}")).status_code == 200  # unspent

    # What a browser sends for the dashboard's own form: under no-referrer, Origin is null.
    same_site = await dashboard.client.post(
        "/signout", data={"csrf": csrf}, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert same_site.status_code == 303
    await dashboard.sign_in()
    csrf = await _csrf(dashboard)
    own_origin = await dashboard.client.post(
        "/signout", data={"csrf": csrf}, headers={"Origin": dashboard.url}
    )
    assert own_origin.status_code == 303


async def test_other_methods_are_refused(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    for method in ("PUT", "PATCH", "DELETE"):
        for path in ("/", "/signout", "/teams/ward-7", "/figures.csv"):
            response = await dashboard.client.request(
                method, path, headers={"Origin": dashboard.url}
            )
            assert response.status_code == 405, (method, path)
    assert (await dashboard.client.get("/")).status_code == 200


async def test_every_answer_carries_strict_headers(dashboard: Dashboard) -> None:
    answers = [
        await dashboard.client.get("/"),  # 401
        await dashboard.client.get("/signin/not-a-token"),  # 404
        await dashboard.client.get("/no/such/page"),
        await dashboard.client.get("/static/dashboard.css"),
        await dashboard.client.post("/signout"),
    ]
    await dashboard.sign_in()
    answers += [
        await dashboard.client.get("/"),
        await dashboard.client.get("/figures.csv"),
        await dashboard.client.get("/teams/housing"),  # 403
    ]
    for answer in answers:
        for name, value in STRICT.items():
            assert answer.headers.get(name) == value, (answer.url, name)
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert "server" not in answer.headers  # no version banner
    for data in answers[5:7]:
        assert data.headers["cache-control"] == "no-store"


async def test_an_internal_error_shows_a_plain_page_and_logs_no_detail(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await dashboard.sign_in()

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("Ana Jones answered 1 on Monday")

    monkeypatch.setattr(views, "team_trends", broken)
    caplog.set_level("INFO")
    page = await dashboard.client.get("/")

    assert page.status_code == 500 and "Something went wrong" in page.text
    assert "Traceback" not in page.text and "Ana Jones" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    logged = [r for r in caplog.records if r.levelname in ("ERROR", "WARNING", "INFO")]
    assert any("RuntimeError" in r.getMessage() for r in logged)
    assert not any("Ana Jones" in r.getMessage() or r.exc_info for r in logged)


async def test_a_tampered_link_is_refused_and_spends_nothing(dashboard: Dashboard) -> None:
    token = await dashboard.link()
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (flipped, token + "x", token[1:], token.upper(), "%00" + token, "../" + token):
        page = await dashboard.client.get(f"/signin/{bad}")
        assert page.status_code in (404, 410), bad
        posted = await dashboard.client.post(f"/signin/{bad}", data={"nonce": "n"})
        assert posted.status_code >= 400
        assert SESSION_COOKIE not in dashboard.client.cookies
    assert (await dashboard.sign_in(token=token)).status_code == 303


async def test_a_replayed_link_is_refused_in_another_browser(dashboard: Dashboard) -> None:
    token = await dashboard.link()
    await dashboard.sign_in(token=token)
    async with httpx.AsyncClient(base_url=dashboard.url) as thief:
        page = await thief.get(f"/signin/{token}")
        assert page.status_code == 410
        posted = await thief.post(f"/signin/{token}", data={"nonce": "n"})
        assert posted.status_code >= 400 and SESSION_COOKIE not in thief.cookies
        assert (await thief.get("/")).status_code == 401


async def test_a_session_chosen_by_someone_else_is_never_used(dashboard: Dashboard) -> None:
    # Session fixation: a cookie planted before sign-in is replaced, never adopted.
    planted = "attacker-chosen-session-value"
    dashboard.client.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1")
    assert (await dashboard.client.get("/")).status_code == 401
    await dashboard.sign_in()
    fresh = dashboard.client.cookies[SESSION_COOKIE]
    assert fresh != planted and len(fresh) >= 40
    async with httpx.AsyncClient(base_url=dashboard.url, cookies={SESSION_COOKIE: planted}) as c:
        assert (await c.get("/")).status_code == 401


async def test_sessions_expire_in_the_browser_and_on_the_server(
    dashboard: Dashboard, clock: FakeClock
) -> None:
    response = await dashboard.sign_in()
    hours = dashboard.runtime.settings.dashboard_session_hours
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert f"Max-Age={hours * 3600}" in cookie
    stolen = dashboard.client.cookies[SESSION_COOKIE]
    clock.advance(hours=hours - 1)
    assert (await dashboard.client.get("/")).status_code == 200
    clock.advance(hours=1, seconds=1)
    # Even a stolen copy of the cookie, replayed later, opens nothing.
    async with httpx.AsyncClient(base_url=dashboard.url, cookies={SESSION_COOKIE: stolen}) as c:
        assert (await c.get("/")).status_code == 401
        assert (await c.get("/figures.csv")).status_code == 401
