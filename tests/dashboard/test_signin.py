"""Sign-in by one-time link: single use, ten minutes, safe cookies, sign-out that works."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.teammood import dashboard_link
from kiln.dashboard.auth import SESSION_COOKIE
from kiln.runtime import Runtime
from storage.signin import DashboardSession
from tests.dashboard.conftest import WARD_STAFF, Dashboard
from tests.fakes.clock import FakeClock


async def test_signing_in_sets_a_strict_httponly_session_cookie(dashboard: Dashboard) -> None:
    response = await dashboard.sign_in()

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on this machine; https makes it Secure
    overview = await dashboard.client.get("/")
    assert overview.status_code == 200
    assert "ward-7" in overview.text


async def test_looking_at_a_link_does_not_spend_it(dashboard: Dashboard) -> None:
    # Chat apps fetch links to draw previews; only pressing Continue (a POST) signs in.
    token = await dashboard.link()
    for _ in range(3):
        page = await dashboard.client.get(f"/signin/{token}")
        assert page.status_code == 200
        assert "Continue" in page.text
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce is not None
    signed_in = await dashboard.client.post(f"/signin/{token}", data={"nonce": nonce.group(1)})
    assert signed_in.status_code == 303


async def test_a_link_works_once(dashboard: Dashboard) -> None:
    token = await dashboard.link()
    page = await dashboard.client.get(f"/signin/{token}")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce is not None
    first = await dashboard.client.post(f"/signin/{token}", data={"nonce": nonce.group(1)})
    assert first.status_code == 303

    again = await dashboard.client.get(f"/signin/{token}")
    assert again.status_code == 410
    assert "This link has been used" in again.text
    assert "/dashboard" in again.text
    dashboard.client.cookies.clear()
    replay = await dashboard.client.post(f"/signin/{token}", data={"nonce": nonce.group(1)})
    assert replay.status_code >= 400
    assert SESSION_COOKIE not in replay.cookies


async def test_a_link_expires_after_ten_minutes(dashboard: Dashboard, clock: FakeClock) -> None:
    token = await dashboard.link()
    clock.advance(minutes=10, seconds=1)

    page = await dashboard.client.get(f"/signin/{token}")

    assert page.status_code == 410
    assert "expired" in page.text


async def test_an_unknown_or_mangled_link_is_refused(dashboard: Dashboard) -> None:
    token = await dashboard.link()
    page = await dashboard.client.get(f"/signin/{token[:-4]}")
    assert page.status_code == 404
    assert "This link doesn" in page.text


async def test_a_post_without_the_pages_nonce_does_not_sign_in(dashboard: Dashboard) -> None:
    # A page elsewhere that knows a link cannot sign someone in with it.
    token = await dashboard.link()
    forged = await dashboard.client.post(f"/signin/{token}", data={"nonce": "guess"})
    assert forged.status_code == 400
    assert SESSION_COOKIE not in forged.cookies
    # ...and the link is still unspent for its owner.
    assert (await dashboard.client.get(f"/signin/{token}")).status_code == 200


async def test_staff_cannot_sign_in_even_with_a_link(dashboard: Dashboard) -> None:
    response = await dashboard.sign_in(WARD_STAFF)
    assert response.status_code == 404
    assert (await dashboard.client.get("/")).status_code == 401


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    overview = await dashboard.client.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', overview.text)
    assert csrf is not None
    session_cookie = dashboard.client.cookies[SESSION_COOKIE]

    forged = await dashboard.client.post("/signout", data={"csrf": "0" * 64})
    assert forged.status_code == 400
    assert (await dashboard.client.get("/")).status_code == 200

    out = await dashboard.client.post("/signout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303
    assert out.headers["location"] == "/signed-out"
    assert (await dashboard.client.get("/")).status_code == 401
    # The old cookie is dead on the server too, not only forgotten by this browser.
    dashboard.client.cookies.set(SESSION_COOKIE, session_cookie)
    assert (await dashboard.client.get("/")).status_code == 401
    async with dashboard.runtime.db.session() as session:
        assert (await session.get(DashboardSession, 1)) is None


async def test_a_session_ends_when_its_lifetime_is_over(
    dashboard: Dashboard, clock: FakeClock
) -> None:
    await dashboard.sign_in()
    clock.advance(hours=dashboard.runtime.settings.dashboard_session_hours, seconds=1)
    assert (await dashboard.client.get("/")).status_code == 401


async def test_someone_no_longer_a_manager_is_signed_out_at_once(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    people = dashboard.runtime.services.people
    manager = await people.find("demo", "ward-7-00")
    assert manager is not None
    manager.roles = "staff"
    manager.manages = ""
    await people.add_all([manager])

    assert (await dashboard.client.get("/")).status_code == 401


async def test_no_token_ever_reaches_the_log(
    dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    token = await dashboard.link()
    await dashboard.sign_in(token=token)
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert ours, "kiln logged nothing at all, so this test would prove nothing"
    assert not [r for r in ours if token in r.getMessage()]


async def test_behind_https_the_cookie_is_secure_and_links_use_the_public_url(
    seeded: Runtime,
) -> None:
    seeded.settings.dashboard_public_url = "https://wellbeing.example.org"
    server = await seeded.start_dashboard(0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        token = await Dashboard(seeded, server, client).link()
        page = await client.get(f"/signin/{token}")
        nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
        assert nonce is not None
        assert "Secure" in page.headers["set-cookie"]
        # A browser sends a Secure cookie only over https; the proxy in front does that part.
        response = await client.post(
            f"/signin/{token}",
            data={"nonce": nonce.group(1)},
            headers={"Cookie": f"kiln_signin={nonce.group(1)}"},
        )
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{SESSION_COOKIE}=")
    )
    assert "Secure" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")
    manager = await seeded.services.people.find("demo", "ward-7-00")
    assert manager is not None
    link = await dashboard_link(seeded.services, manager)
    assert link.text.split("\n")[1].startswith("https://wellbeing.example.org/signin/")
