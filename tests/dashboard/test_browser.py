"""End to end in real headless Chromium (Debian's), against uvicorn on 127.0.0.1.

Skips, saying why, where /usr/bin/chromium is missing; with KILN_REQUIRE_BROWSER=1
(CI sets it) a missing browser fails instead, so this test cannot silently vanish.
Playwright only drives the installed browser: never `playwright install`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.dashboard.conftest import Dashboard
from tests.fakes.clock import FakeClock

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("KILN_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"KILN_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)",
            pytrace=False,
        )
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install chromium); CI runs this test",
        allow_module_level=True,
    )

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, with nothing that phones home."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _open_link(page: Page, url: str) -> None:
    await page.goto(url)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Continue").click()


async def test_a_manager_signs_in_sees_the_trend_exports_and_is_kept_to_their_team(
    dashboard: Dashboard, browser: Browser, clock: FakeClock, tmp_path: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    token = await dashboard.link()
    link = f"{dashboard.url}/signin/{token}"

    # Open the link: the manager's team and its trend chart are on the page.
    await _open_link(page, link)
    assert page.url == f"{dashboard.url}/"
    assert await page.get_by_role("heading", name="ward-7").is_visible()
    chart = page.locator("svg.chart[id$='-mean']")
    assert await chart.count() == 1
    assert await chart.get_attribute("role") == "img"
    assert "Average mood" in (await chart.locator("title").text_content() or "")
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 250 and box["height"] > 100
    assert await page.locator("svg.chart").count() == 3
    screenshot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    # No style, script or resource was refused by the Content-Security-Policy.
    assert not [text for text in blocked if "Content Security Policy" in text], blocked

    # Follow the CSV export.
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download these figures (CSV)").first.click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(rows) == 12 and {row["team"] for row in rows} == {"ward-7"}

    # Another team: 403.
    response = await page.goto(f"{dashboard.url}/teams/housing")
    assert response is not None and response.status == 403
    assert await page.get_by_role("heading", name="Not one of your teams").is_visible()

    # The same link again: refused.
    response = await page.goto(link)
    assert response is not None and response.status == 410
    assert await page.get_by_text("This link has been used").is_visible()

    # Sign out works, and the dashboard then asks for a new link.
    await page.goto(f"{dashboard.url}/")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign out").click()
    assert page.url == f"{dashboard.url}/signed-out"
    response = await page.goto(f"{dashboard.url}/")
    assert response is not None and response.status == 401

    # An expired link: refused, and Continue is never offered.
    stale = await dashboard.link()
    clock.advance(minutes=11)
    response = await page.goto(f"{dashboard.url}/signin/{stale}")
    assert response is not None and response.status == 410
    assert await page.get_by_text("This link has expired").is_visible()
    assert await page.get_by_role("button", name="Continue").count() == 0
    await context.close()
