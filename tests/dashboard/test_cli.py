"""`kiln demo` serves the dashboard and still exits at end of input; `kiln report` files."""

from __future__ import annotations

import asyncio
import io
import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kiln import demo
from kiln.cli import app

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder where `kiln demo` ran once with piped input; its transcript."""
    folder = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    code = asyncio.run(
        demo.run_demo(
            folder / "kiln-demo.db", stdin=io.StringIO("3\n"), stdout=out, dashboard_port=0
        )
    )
    assert code == 0
    return folder, out.getvalue()


def test_the_demo_prints_a_managers_link_and_closes_the_dashboard_at_eof(
    demo_folder: tuple[Path, str],
) -> None:
    _, transcript = demo_folder
    assert "Today's check-in: 3 Okay" in transcript
    link = re.search(r"http://127\.0\.0\.1:(\d+)/signin/[\w-]{40,}", transcript)
    assert link is not None, transcript
    assert "dashboard --demo" in transcript
    # The dashboard stopped with the demo: nothing listens on its port any more.
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", int(link.group(1))))


def test_report_writes_a_png_and_a_single_file_page(
    demo_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = demo_folder
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(
        app, ["report", "--demo", "--team", "ward-7", "--png", "t.png", "--html", "t.html"]
    )
    assert result.exit_code == 0, result.output
    assert (folder / "t.png").read_bytes().startswith(PNG_MAGIC)
    page = (folder / "t.html").read_text()
    assert "<style>" in page and "/static/" not in page  # works as a file, offline
    assert page.count("<svg") == 3 and 'role="img"' in page
    assert "ward-7" in page and "housing" not in page


def test_the_kindness_report_covers_the_six_commitments_with_totals_only(
    demo_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = demo_folder
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["report", "--demo", "--kindness", "--html", "k.html"])
    assert result.exit_code == 0, result.output
    assert "the kindness report for" in result.output
    page = (folder / "k.html").read_text()
    for commitment in (
        "Listening",
        "Understanding",
        "Permissive",
        "Systemic",
        "Reflective",
        "Learning",
    ):
        assert f'<p class="kicker">{commitment}</p>' in page
    assert "Time to first contact" in page and "Daily cap respected" in page
    assert "Average mood, month by month" in page
    # Organisation-level only: no team is named anywhere on the page.
    for team in ("ward-7", "housing", "finance"):
        assert team not in page


def test_kindness_needs_an_html_file(
    demo_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = demo_folder
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(app, ["report", "--demo", "--kindness"])
    assert result.exit_code == 2
    assert "--kindness writes a page: add --html FILE" in result.output
