"""Privacy end to end: a full flow, then every table dumped, every log line read.

One person checks in with a low mood, writes a note, asks for a Wellbeing Warrior
(who takes the request), uses /support, /mytrend, /whosees and /mydata, and their
manager looks at the team. Then:

- no mood row can be joined to a person without the pepper (and can with it);
- after /forgetme, no row of any table (found by inspecting the live schema, so
  tables added by later features are covered too) holds their platform id, name,
  pseudonym, or their id in a column that refers to people;
- no log record at INFO or above carried the note, a platform id or a display name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select
from typer.testing import CliRunner, Result

from bot.pseudonym import Pseudonymizer
from bot.reporting import Group, Viewer, aggregate
from kiln.cli import app
from kiln.runtime import Runtime
from tests.bot.helpers import command, press, say
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.fake_adapter import FakeAdapter

TARGET = "U0TARGET77"
NAME = "Zephyrine Quillfeather"
NOTE = "my rota is crushing me and nobody notices xyzzy"
VOLUNTEER, VOLUNTEER_NAME = "V0HELPER55", "Volunteer Vikramaditya"
MANAGER, MANAGER_NAME = "M0BOSS31", "Manager Marguerite"

Tables = dict[str, list[dict[str, Any]]]


async def dump(runtime: Runtime) -> Tables:
    """Every row of every table in the live database, as dicts."""
    async with runtime.db.engine.connect() as connection:
        meta = MetaData()
        await connection.run_sync(lambda sync: meta.reflect(sync))
        result: Tables = {}
        for table in meta.sorted_tables:
            rows = (await connection.execute(select(table))).mappings().all()
            result[table.name] = [dict(row) for row in rows]
    return result


async def person_columns(runtime: Runtime) -> set[tuple[str, str]]:
    """(table, column) pairs with a foreign key to person.id, from the live schema."""

    def find(sync: Any) -> set[tuple[str, str]]:
        inspector = inspect(sync)
        found = set()
        for table in inspector.get_table_names():
            for key in inspector.get_foreign_keys(table):
                if key["referred_table"] == "person":
                    found.update((table, column) for column in key["constrained_columns"])
        return found

    async with runtime.db.engine.connect() as connection:
        return await connection.run_sync(find)


def mentions(tables: Tables, needles: Iterable[str]) -> list[tuple[str, str, Any]]:
    """(table, column, value) wherever a value equals or contains any needle."""
    wanted = [needle for needle in needles if needle]
    return [
        (name, column, value)
        for name, rows in tables.items()
        for row in rows
        for column, value in row.items()
        if value is not None and any(needle in str(value) for needle in wanted)
    ]


async def full_flow(runtime: Runtime, adapter: FakeAdapter) -> None:
    """Check-in, low mood, a note, a Wellbeing Warrior, /support, /mytrend, /whosees, /mydata."""
    await runtime.engine.run_due()
    checkin = adapter.to(TARGET, "checkin")[-1].message
    await press(runtime, adapter, TARGET, checkin, "2 Low")
    await say(runtime, adapter, TARGET, NOTE)
    for teammate in ("t1", "t2", "t3", "t4", "t5"):
        await press(
            runtime, adapter, teammate, adapter.to(teammate, "checkin")[-1].message, "4 Good"
        )
    await command(runtime, adapter, TARGET, "support")
    await press(runtime, adapter, TARGET, adapter.last(TARGET).message, "Yes, please")
    labels = [b.label for b in adapter.last(TARGET).message.all_buttons]
    if "Share what I wrote" in labels:
        await press(runtime, adapter, TARGET, adapter.last(TARGET).message, "Share what I wrote")
    await runtime.engine.support_tick()
    alerts = [s for s in adapter.to(VOLUNTEER) if "I'll reach out" in str(s.message.all_buttons)]
    assert alerts, "the Wellbeing Warrior was alerted"
    await press(runtime, adapter, VOLUNTEER, alerts[-1].message, "I'll reach out")
    await runtime.engine.support_tick()
    for name in ("mytrend", "whosees", "mydata", "help"):
        await command(runtime, adapter, TARGET, name)
    await command(runtime, adapter, MANAGER, "teammood")


@pytest.fixture
async def flowed(
    runtime: Runtime, adapter: FakeAdapter, caplog: pytest.LogCaptureFixture
) -> Runtime:
    caplog.set_level(logging.DEBUG)
    await enrol(
        runtime,
        person(TARGET, display_name=NAME, email="zephyrine@example.org"),
        *(person(f"t{i}") for i in range(1, 6)),
        person(VOLUNTEER, display_name=VOLUNTEER_NAME, team="night", roles="staff;volunteer"),
        person(
            MANAGER, display_name=MANAGER_NAME, team="night", roles="staff;manager", manages="ward"
        ),
    )
    await full_flow(runtime, adapter)
    return runtime


async def test_no_mood_row_can_be_joined_to_a_person_without_the_pepper(flowed: Runtime) -> None:
    tables = await dump(flowed)
    moods = tables["mood"]
    assert len(moods) == 6
    identities = [
        value
        for row in tables["person"]
        for value in (row["platform_user_id"], row["display_name"], row["email"])
        if value
    ] + [f"{row['platform']}:{row['platform_user_id']}" for row in tables["person"]]
    # Mood rows carry team, day and score by design; nothing that names anyone.
    assert mentions({"mood": moods}, identities) == []
    assert set(moods[0]) == {"id", "pseudonym", "team", "local_date", "score"}

    pseudonyms = {row["pseudonym"] for row in moods}
    people = [(row["platform"], row["platform_user_id"]) for row in tables["person"]]
    wrong = Pseudonymizer(b"not-the-pepper-0123456789abcdef")
    assert {wrong(*who) for who in people} & pseudonyms == set()
    right = Pseudonymizer(TEST_PEPPER)
    assert pseudonyms <= {right(*who) for who in people}
    assert right("fake", TARGET) in pseudonyms
    # The link is recomputed, never stored: no other table holds a pseudonym.
    others = {name: rows for name, rows in tables.items() if name != "mood"}
    assert mentions(others, pseudonyms) == []


async def test_forgetme_after_a_full_flow_leaves_no_row_that_mentions_the_person(
    flowed: Runtime, adapter: FakeAdapter
) -> None:
    target = await flowed.services.people.find("fake", TARGET)
    assert target is not None and target.id is not None
    pseudonym = flowed.services.pseudonym(target)
    needles = [TARGET, NAME, "zephyrine@example.org", pseudonym]
    refs = await person_columns(flowed)
    before = await dump(flowed)
    # The scan has teeth: before erasure it finds the person in several places.
    assert {name for name, _, _ in mentions(before, needles)} >= {"person", "mood"}
    assert {name for name, column in refs if any(r[column] == target.id for r in before[name])} >= {
        "checkin",
        "support_request",
        "audit_log",
    }

    await command(flowed, adapter, TARGET, "forgetme")
    await press(flowed, adapter, TARGET, adapter.last(TARGET).message, "Yes, erase everything")

    after = await dump(flowed)
    assert mentions(after, needles) == []
    assert [
        (name, column) for name, column in refs if any(r[column] == target.id for r in after[name])
    ] == []
    assert len(after["mood"]) == 5  # the teammates' answers stay
    assert [(r["actor"], r["action"]) for r in after["audit_log"]][-1] == ("person", "erase")


async def test_no_note_platform_id_or_name_is_logged_at_info_or_above(
    flowed: Runtime, adapter: FakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    await command(flowed, adapter, TARGET, "forgetme")
    await press(flowed, adapter, TARGET, adapter.last(TARGET).message, "Yes, erase everything")
    await flowed.housekeeping(flowed.services.clock())
    await aggregate(flowed.services, Viewer.admin(), [Group.of_team("ward")])

    formatter = logging.Formatter("%(name)s %(message)s")
    secrets = [NOTE, "xyzzy", TARGET, NAME, VOLUNTEER, VOLUNTEER_NAME, MANAGER, MANAGER_NAME]
    # The flow itself ran in the fixture, so its records belong to the setup phase.
    records = caplog.get_records("setup") + caplog.get_records("call")
    loud = [formatter.format(r) for r in records if r.levelno >= logging.INFO]
    assert loud, "the flow logged something at INFO or above, so the check means something"
    assert [line for line in loud if any(secret in line for secret in secrets)] == []


def test_admin_export_forget_and_audit_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [key for key in os.environ if key.startswith("KILN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KILN_PEPPER", "x" * 32)
    runner = CliRunner()

    def kiln(*args: str) -> Result:
        return runner.invoke(app, list(args))

    (tmp_path / "roster.csv").write_text(
        "platform,platform_user_id,display_name,team\nslack,U1,Ana Jones,ward\n"
    )
    assert kiln("people", "import", "roster.csv").exit_code == 0
    exported = kiln("people", "export", "slack", "U1", "--csv", "ana.csv")
    assert exported.exit_code == 0, exported.output
    assert '"display_name": "Ana Jones"' in exported.stdout
    assert "identity,1,display_name,Ana Jones" in (tmp_path / "ana.csv").read_text()
    forgot = kiln("people", "forget", "slack", "U1", "--yes")
    assert forgot.exit_code == 0 and "Erased slack:U1: 1 audit, 1 identity." in forgot.stdout
    report = kiln("report", "--months", "2")
    assert report.exit_code == 0 and "(everyone)" in report.stdout

    audit = kiln("audit", "--since", "2020-01-01")
    assert audit.exit_code == 0, audit.output
    assert "export" in audit.stdout and "erase" in audit.stdout and "view" in audit.stdout
    assert "3 entries" in audit.stdout
    assert "Ana Jones" not in audit.stdout and "U1" not in audit.stdout
    assert "0 entries" in kiln("audit", "--since", "2999-01-01").stdout
