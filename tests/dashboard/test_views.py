"""The managers' pages: only their teams, only suppressed figures, charts with words, CSV."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

from kiln.dashboard.app import CONTENT_SECURITY_POLICY
from storage.audit import AuditEntry
from tests.dashboard.conftest import FINANCE_MANAGER, Dashboard

SVG = "{http://www.w3.org/2000/svg}"


async def test_the_overview_shows_the_managers_team_with_three_accessible_charts(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    page = await dashboard.client.get("/")

    assert page.status_code == 200
    assert "ward-7" in page.text
    assert "housing" not in page.text and "finance" not in page.text
    charts = re.findall(r"<svg\b.*?</svg>", page.text, flags=re.S)
    assert len(charts) == 3
    for chart in charts:
        root = ET.fromstring(chart)  # noqa: S314 - our own page
        assert root.get("role") == "img"
        labelled = root.get("aria-labelledby", "").split()
        assert [child.tag for child in root[:2]] == [f"{SVG}title", f"{SVG}desc"]
        assert [child.get("id") for child in root[:2]] == labelled
        assert root[1].text and "week" in root[1].text
    # The same figures as a table, for anyone who cannot see the charts.
    assert "<table>" in page.text and "These figures as a table" in page.text


async def test_pages_work_under_a_strict_content_security_policy(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    page = await dashboard.client.get("/")

    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    # Nothing the policy would block: no inline style, no script, nothing from elsewhere.
    assert " style=" not in page.text and "<style" not in page.text
    assert "<script" not in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/", "")
    css = await dashboard.client.get("/static/dashboard.css")
    assert css.status_code == 200 and "--mood-1" in css.text


async def test_another_team_is_403_whether_or_not_it_exists(dashboard: Dashboard) -> None:
    await dashboard.sign_in()

    for team in ("housing", "finance", "no-such-team"):
        page = await dashboard.client.get(f"/teams/{team}")
        assert page.status_code == 403, team
        assert "Not one of your teams" in page.text
        assert (await dashboard.client.get(f"/teams/{team}/figures.csv")).status_code == 403

    own = await dashboard.client.get("/teams/ward-7")
    assert own.status_code == 200
    assert "Team ward-7" in own.text


async def test_pages_need_a_session(dashboard: Dashboard) -> None:
    for path in ("/", "/teams/ward-7", "/figures.csv", "/teams/ward-7/figures.csv", "/support.csv"):
        page = await dashboard.client.get(path)
        assert page.status_code == 401, path
        assert "/dashboard" in page.text


async def test_csv_export_matches_the_screen_and_hides_small_weeks(dashboard: Dashboard) -> None:
    await dashboard.sign_in(FINANCE_MANAGER)
    page = await dashboard.client.get("/teams/finance")
    exported = await dashboard.client.get("/teams/finance/figures.csv")

    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 12
    assert {row["team"] for row in rows} == {"finance"}
    hidden = [row for row in rows if row["status"] == "hidden"]
    assert hidden, "the demo's five-person team has weeks below the threshold"
    for row in hidden:
        assert all(
            value == "" for key, value in row.items() if key not in ("team", "week_start", "status")
        )
    # Every week the page shows as a number is in the file with the same average.
    for row in rows:
        if row["status"] == "shown":
            assert f"{float(row['average_mood']):.1f}" in page.text


async def test_the_overview_csv_and_support_csv(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    teams = await dashboard.client.get("/figures.csv")
    support = await dashboard.client.get("/support.csv")

    assert {row["team"] for row in csv.DictReader(io.StringIO(teams.text))} == {"ward-7"}
    (row,) = list(csv.DictReader(io.StringIO(support.text)))
    assert row["status"] == "shown"
    assert int(row["requests"]) >= 5
    assert float(row["median_minutes_to_contact"]) > 0


async def test_support_figures_are_organisation_wide_and_hidden_when_few(
    dashboard: Dashboard,
) -> None:
    await dashboard.sign_in()
    page = await dashboard.client.get("/")
    assert "Support across the organisation" in page.text
    assert "Time to first contact" in page.text

    # With a threshold above the number of requests, the box says so and shows no numbers.
    dashboard.runtime.settings.min_group_size = 500
    hidden = await dashboard.client.get("/")
    assert "so these figures stay hidden" in hidden.text
    assert "median wait" not in hidden.text


async def test_every_view_and_export_is_in_the_audit_log(dashboard: Dashboard) -> None:
    await dashboard.sign_in()
    await dashboard.client.get("/")
    await dashboard.client.get("/figures.csv")

    entries: list[AuditEntry] = list(await dashboard.runtime.services.audit.since())
    subjects = [entry.subject for entry in entries if entry.action == "view"]
    assert any(subject.startswith("dashboard: ward-7") for subject in subjects)
    assert any(subject.startswith("dashboard CSV: ward-7") for subject in subjects)
    assert any(subject.startswith("support: everyone") for subject in subjects)
    assert all(entry.actor == "person" for entry in entries if entry.action == "view")


async def test_unknown_pages_are_friendly(dashboard: Dashboard) -> None:
    page = await dashboard.client.get("/nowhere")
    assert page.status_code == 404
    assert "Nothing here" in page.text
    assert page.headers["x-frame-options"] == "DENY"
