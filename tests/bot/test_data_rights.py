"""`/mydata`, `/forgetme`, `/whosees`, the holder registry and retention, through the engine."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.events import ChoiceSelected
from bot.personal_data import DataSubject, Record
from bot.reporting import EVERYONE, Viewer, aggregate
from bot.settings import Settings
from kiln.runtime import Runtime, open_runtime
from storage.audit import AuditEntry
from storage.models import Checkin, Mood, Person
from storage.support import SupportRequest
from storage.support_records import SupportSummary
from tests.bot.helpers import command, press
from tests.conftest import TEST_PEPPER, enrol, person
from tests.fakes.clock import FakeClock
from tests.fakes.fake_adapter import FakeAdapter


async def answer(runtime: Runtime, adapter: FakeAdapter, user: str, label: str) -> None:
    """Take today's scheduled check-in and press a mood."""
    await runtime.engine.run_due()
    await press(runtime, adapter, user, adapter.to(user, "checkin")[-1].message, label)


async def rows(runtime: Runtime, model: type) -> list:
    async with runtime.db.session() as session:
        return list((await session.exec(select(model))).all())


async def test_mydata_sends_everything_as_json_then_csv(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana", display_name="Ana Jones"))
    await answer(runtime, adapter, "ana", "4 Good")
    clock.advance(days=1)
    await answer(runtime, adapter, "ana", "2 Low")
    adapter.clear()

    await command(runtime, adapter, "ana", "mydata")

    first, second = adapter.to("ana", "message")
    assert first.message.attachment is not None and second.message.attachment is not None
    assert first.message.attachment.filename == "kiln-my-data-2026-11-24.json"
    assert first.message.attachment.mime_type == "application/json"
    assert "Only you have been sent this" in first.message.text
    data = json.loads(first.message.attachment.content)
    assert data["identity"]["display_name"] == "Ana Jones"
    assert data["identity"]["platform_user_id"] == "ana"
    assert data["moods"] == [{"date": "2026-11-23", "score": 4}, {"date": "2026-11-24", "score": 2}]
    assert [c["date"] for c in data["checkins"]] == ["2026-11-23", "2026-11-24"]
    assert data["kiln_export"]["version"] == 1

    assert second.message.attachment.filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(second.message.attachment.content.decode())))
    assert {
        "section": "identity",
        "item": "1",
        "field": "display_name",
        "value": "Ana Jones",
    } in table
    assert {"section": "moods", "item": "2", "field": "score", "value": "2"} in table

    (entry,) = await runtime.services.audit.since()
    assert (entry.actor, entry.action, entry.subject) == (
        "person",
        "export",
        "all data held about one person (chat, /mydata)",
    )
    assert entry.actor_person_id == entry.subject_person_id is not None


async def test_forgetme_asks_first_and_no_keeps_everything(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(runtime, person("ana"))
    await answer(runtime, adapter, "ana", "3 Okay")

    await command(runtime, adapter, "ana", "forgetme")
    question = adapter.last("ana").message
    assert "can't be undone" in question.text
    assert [b.label for b in question.all_buttons] == ["Yes, erase everything", "No, keep it"]

    await press(runtime, adapter, "ana", question, "No, keep it")

    assert adapter.last("ana").message.text == "That's fine. Nothing has been erased."
    assert await runtime.services.people.find("fake", "ana") is not None
    assert len(await rows(runtime, Mood)) == 1


async def test_forgetme_yes_erases_identity_moods_and_checkins(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    ana, ben = await enrol(runtime, person("ana"), person("ben"))
    await answer(runtime, adapter, "ana", "3 Okay")
    await press(runtime, adapter, "ben", adapter.to("ben", "checkin")[-1].message, "5 Great")
    await command(runtime, adapter, "ana", "mydata")
    await command(runtime, adapter, "ana", "forgetme")
    question = adapter.last("ana")

    await runtime.engine.handle(
        ChoiceSelected(
            adapter.next_event_id(),
            "fake",
            "ana",
            value=question.message.all_buttons[0].value,
            message_ref=question.ref,
        )
    )

    assert "has been erased" in adapter.last("ana").message.text
    tidy = adapter.to("ana", "update")[-1]
    assert (tidy.ref, tidy.message.text) == (question.ref, "Your data has been erased.")
    assert await runtime.services.people.find("fake", "ana") is None
    assert [m.pseudonym for m in await rows(runtime, Mood)] == [runtime.services.pseudonym(ben)]
    assert [c.person_id for c in await rows(runtime, Checkin)] == [ben.id]
    entries = await rows(runtime, AuditEntry)
    assert [(e.actor, e.action) for e in entries] == [("person", "export"), ("person", "erase")]
    assert all(e.actor_person_id is None and e.subject_person_id is None for e in entries)

    await command(runtime, adapter, "ana", "help")
    assert "isn't set up for you yet" in adapter.last("ana").message.text
    assert ana.id not in {p.id for p in await rows(runtime, Person)}


async def test_an_old_forgetme_button_erases_nothing(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    await enrol(runtime, person("ana"))
    await command(runtime, adapter, "ana", "forgetme")
    question = adapter.last("ana").message
    clock.advance(hours=2)

    await press(runtime, adapter, "ana", question, "Yes, erase everything")

    assert "expired, so nothing has been erased" in adapter.last("ana").message.text
    assert await runtime.services.people.find("fake", "ana") is not None


async def test_whosees_names_the_managers_and_the_threshold(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    await enrol(
        runtime,
        person("ana"),
        person("dai", display_name="Dai Evans", roles="staff;manager;volunteer", manages="ward"),
    )

    await command(runtime, adapter, "ana", "whosees")
    text = adapter.last("ana").message.text
    assert text.startswith("Who can see what about you:")
    assert "Dai Evans (managing ward): team totals only, and only when at least 5" in text
    assert "Wellbeing Warriors (volunteer peer supporters)" in text
    assert "As a manager" not in text

    await command(runtime, adapter, "dai", "whosees")
    text = adapter.last("dai").message.text
    assert "As a manager, you see totals for ward" in text
    assert "As a Wellbeing Warrior" in text


async def test_whosees_in_welsh_and_with_no_manager(runtime: Runtime, adapter: FakeAdapter) -> None:
    await enrol(runtime, person("nia", locale="cy", team="night"))
    await command(runtime, adapter, "nia", "whosees")
    text = adapter.last("nia").message.text
    assert text.startswith("Pwy sy'n gallu gweld beth amdanoch chi:")
    assert "does neb yn gallu gweld cyfansymiau tîm night eto" in text
    assert "Hyrwyddwyr Llesiant (Wellbeing Warriors)" in text


class Badges:
    """A feature's own table, plugged into the registry without kiln knowing it."""

    section = "badges"

    def __init__(self) -> None:
        self.held: dict[int, list[Record]] = {}
        self.purged: list[datetime] = []

    async def export(self, subject: DataSubject) -> list[Record]:
        return self.held.get(subject.person_id, [])

    async def erase(self, subject: DataSubject) -> int:
        return len(self.held.pop(subject.person_id, []))

    async def purge(self, now: datetime) -> int:
        self.purged.append(now)
        return 0


async def test_a_feature_registers_what_it_holds_and_is_exported_and_erased(
    runtime: Runtime, adapter: FakeAdapter
) -> None:
    (ana,) = await enrol(runtime, person("ana"))
    badges = Badges()
    badges.held[ana.id or 0] = [{"badge": "first check-in", "on": date(2026, 11, 23)}]
    runtime.services.personal_data.register(badges)
    with pytest.raises(ValueError, match="already registered"):
        runtime.services.personal_data.register(Badges())

    await command(runtime, adapter, "ana", "mydata")
    exported = json.loads(adapter.to("ana")[-2].message.attachment.content)  # type: ignore[union-attr]
    assert exported["badges"] == [{"badge": "first check-in", "on": "2026-11-23"}]

    await command(runtime, adapter, "ana", "forgetme")
    await press(runtime, adapter, "ana", adapter.last("ana").message, "Yes, erase everything")
    assert badges.held == {}
    await runtime.housekeeping(runtime.services.clock())
    assert badges.purged == [runtime.services.clock()]


async def test_housekeeping_purges_moods_checkins_and_audit_past_retention(
    runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    (ana,) = await enrol(runtime, person("ana"))
    await answer(runtime, adapter, "ana", "3 Okay")
    await aggregate(runtime.services, Viewer.admin(), [EVERYONE])
    days = runtime.settings.retention_days

    clock.advance(days=days)
    await runtime.housekeeping(clock())
    assert len(await rows(runtime, Mood)) == 1  # exactly retention_days old: kept

    clock.advance(days=1)
    await runtime.housekeeping(clock())
    assert await rows(runtime, Mood) == [] and await rows(runtime, Checkin) == []
    entries = await rows(runtime, AuditEntry)
    assert [(e.actor, e.action) for e in entries] == [("system", "purge")]
    assert entries[0].subject == "past retention: 1 checkins, 1 moods, 1 audit"
    assert await runtime.services.people.get(ana.id or 0) is not None  # identity stays


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_runtime(
    request: pytest.FixtureRequest, settings: Settings, adapter: FakeAdapter, clock: FakeClock
) -> AsyncIterator[Runtime]:
    """The full runtime on SQLite and on a real PostgreSQL database."""
    if request.param == "postgresql":
        settings = settings.model_copy(
            update={"database_url": request.getfixturevalue("pg_database_url")}
        )
    rt = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
    await rt.start_adapters()
    yield rt
    await rt.close()


async def test_closed_support_cases_keep_only_counts_and_timings_after_90_days(
    any_runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    runtime = any_runtime
    ana, vic = await enrol(runtime, person("ana"), person("vic", roles="staff;volunteer"))
    opened = clock() - timedelta(days=100)
    async with runtime.db.session() as session:
        for closed_days_ago in (95, 10):
            session.add(
                SupportRequest(
                    person_id=ana.id or 0,
                    reason="asked",
                    status="closed",
                    created_at=opened,
                    claimed_by=vic.id,
                    claimed_at=opened + timedelta(minutes=4),
                    first_contact_seconds=240,
                    closed_at=clock() - timedelta(days=closed_days_ago),
                )
            )

    await runtime.housekeeping(clock())

    requests = await rows(runtime, SupportRequest)
    assert [r.closed_at is not None for r in requests] == [True]  # the recent one stays
    (summary,) = await rows(runtime, SupportSummary)
    assert (summary.team, summary.handled, summary.first_contact_seconds) == ("ward", True, 240)
    assert summary.week_start == date(2026, 8, 10) and summary.open_seconds == 5 * 86400
    (entry,) = await rows(runtime, AuditEntry)
    assert entry.subject == "past retention: 1 support"


async def test_support_rows_are_exported_and_erased_with_the_person(
    any_runtime: Runtime, adapter: FakeAdapter, clock: FakeClock
) -> None:
    runtime = any_runtime
    ana, vic = await enrol(runtime, person("ana"), person("vic", roles="staff;volunteer"))
    await command(runtime, adapter, "ana", "support")
    await press(runtime, adapter, "ana", adapter.last("ana").message, "Yes, please")
    await runtime.engine.support_tick()
    alert = next(s for s in adapter.to("vic") if "I'll reach out" in str(s.message.all_buttons))
    await press(runtime, adapter, "vic", alert.message, "I'll reach out")

    await command(runtime, adapter, "vic", "mydata")
    vic_data = json.loads(adapter.to("vic")[-2].message.attachment.content)  # type: ignore[union-attr]
    assert [r["outcome"] for r in vic_data["support"]] == ["claimed"]
    assert "reason" not in vic_data["support"][0]  # nothing about the person they helped
    await command(runtime, adapter, "ana", "mydata")
    ana_data = json.loads(adapter.to("ana")[-2].message.attachment.content)  # type: ignore[union-attr]
    (case,) = ana_data["support"]
    assert (case["kind"], case["reason"], case["status"]) == (
        "your support request",
        "asked",
        "claimed",
    )

    await command(runtime, adapter, "ana", "forgetme")
    await press(runtime, adapter, "ana", adapter.last("ana").message, "Yes, erase everything")

    assert await rows(runtime, SupportRequest) == []
    assert await runtime.services.people.get(vic.id or 0) is not None
    assert ana.id not in {e.subject_person_id for e in await rows(runtime, AuditEntry)}
