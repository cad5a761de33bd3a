"""The `kiln` command line, run as a user would, in a scratch directory."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiln.cli import settle_memory

KILN = [sys.executable, "-m", "kiln"]
NOTE = "bit tired today"


def kiln(
    cwd: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    environment.update(env or {})
    return subprocess.run(
        [*KILN, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The acceptance script: mood 3, a note, /support, end of input."""
    cwd = tmp_path_factory.mktemp("demo")
    return cwd, kiln(cwd, "demo", stdin=f"3\n{NOTE}\n/support\n")


def test_demo_shows_a_checkin_takes_a_mood_and_a_note_and_shows_crisis_lines(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = demo_run
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  3) 3 Okay" in out and "  7) Skip today" in out
    assert "[Today's check-in: 3 Okay]" in out
    assert "Thank you for sharing that" in out
    assert "Samaritans: call 116 123" in out and "text SHOUT to 85258" in out and "call 999" in out
    assert out.index("Thank you for sharing") < out.index("116 123")


def test_the_demo_note_is_stored_nowhere(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    cwd, result = demo_run
    files = [p for p in cwd.rglob("*") if p.is_file()]
    assert any(p.name.startswith("kiln-demo.db") for p in files)
    for path in files:
        assert NOTE.encode() not in path.read_bytes(), path
    assert NOTE not in result.stderr


def test_report_on_the_demo_shows_means_and_suppresses_small_groups(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    cwd, _ = demo_run
    ward = kiln(cwd, "report", "--demo", "--team", "ward-7", "--weeks", "6")
    assert ward.returncode == 0, ward.stderr
    assert "ward-7" in ward.stdout and "suppressed" not in ward.stdout.split("\n", 3)[3]
    finance = kiln(
        cwd, "report", "--demo", "--team", "finance", "--weeks", "12", "--csv", "finance.csv"
    )
    assert finance.returncode == 0, finance.stderr
    assert "suppressed" in finance.stdout
    rows = (cwd / "finance.csv").read_text().splitlines()
    assert rows[0].startswith("team,week_start,suppressed,mean")
    suppressed = [r for r in rows[1:] if ",True," in r]
    assert suppressed and all(r.split(",")[3] == "" for r in suppressed)


def test_report_after_only_the_demo_shows_the_demo_data_and_says_so(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    cwd, _ = demo_run
    result = kiln(cwd, "report", "--team", "ward-7", "--weeks", "2")
    assert result.returncode == 0, result.stderr
    assert "made-up data from kiln-demo.db" in result.stderr
    assert "ward-7 (18 people" in result.stdout


def test_report_names_an_unknown_team(
    demo_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    cwd, _ = demo_run
    result = kiln(cwd, "report", "--demo", "--team", "nope")
    assert result.returncode == 2
    assert result.stderr.strip().startswith(
        "kiln: no team called 'nope' (teams: finance, housing, ward-7)"
    )


def test_people_import_is_all_or_nothing_and_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(
        "platform,platform_user_id,display_name,team,timezone\n"
        "slack,U1,Ana,ward,Europe/London\n"
        "slack,U2,Ben,ward,Europe/Lodnon\n"
    )
    bad = kiln(tmp_path, "people", "import", "roster.csv")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        == "kiln: roster.csv: line 3, column 'timezone': unknown timezone 'Europe/Lodnon'"
    )
    listed = kiln(tmp_path, "people", "list")
    assert "0 people" in listed.stdout

    (tmp_path / "roster.csv").write_text(
        "platform,platform_user_id,display_name,team\nslack,U1,Ana,ward\nslack,U2,Ben,ward\n"
    )
    good = kiln(tmp_path, "people", "import", "roster.csv")
    assert good.returncode == 0 and "Imported 2 people (2 new, 0 updated)" in good.stdout
    assert "2 people" in kiln(tmp_path, "people", "list").stdout


def test_people_export_and_forget(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(
        "platform,platform_user_id,display_name,team\nslack,U1,Ana,ward\n"
    )
    kiln(tmp_path, "people", "import", "roster.csv")
    exported = kiln(tmp_path, "people", "export", "slack", "U1")
    assert exported.returncode == 0 and '"display_name": "Ana"' in exported.stdout
    forgot = kiln(tmp_path, "people", "forget", "slack", "U1", "--yes")
    assert forgot.returncode == 0 and "Erased slack:U1" in forgot.stdout
    assert "0 people" in kiln(tmp_path, "people", "list").stdout


def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    result = kiln(tmp_path, "people", "list", env={"KILN_MIN_GROUP_SIZE": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kiln: setting 'min_group_size' (KILN_MIN_GROUP_SIZE): "
        "Input should be greater than or equal to 3"
    ]


def test_run_without_a_platform_says_what_to_set(tmp_path: Path) -> None:
    result = kiln(tmp_path, "run")
    assert result.returncode == 2
    assert "set KILN_SLACK_BOT_TOKEN or KILN_TELEGRAM_TOKEN" in result.stderr


def test_db_upgrade_purge_and_doctor(tmp_path: Path) -> None:
    assert "up to date" in kiln(tmp_path, "db", "upgrade").stdout
    assert "Removed 0 mood answers older than 730 days" in kiln(tmp_path, "purge").stdout
    doctor = kiln(tmp_path, "doctor", env={"KILN_TELEGRAM_TOKEN": "123456:ABCDEFSECRETTOKEN"})
    assert "database reachable and up to date" in doctor.stdout
    assert "ABCDEFSECRETTOKEN" not in doctor.stdout and "1234…EN" in doctor.stdout


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = kiln(tmp_path, "--help")
    for name in ("run", "demo", "checkin", "people", "report", "db", "purge", "doctor"):
        assert name in result.stdout


def test_a_started_worker_keeps_its_start_up_objects_out_of_the_collectors_way() -> None:
    try:
        settle_memory()
        # Everything alive now (modules, ORM metadata, prompts) is never scanned again.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
