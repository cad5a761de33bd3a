"""`/teammood` and `/dashboard` in chat: for managers only, totals only."""

from __future__ import annotations

from bot.charts import MOOD_COLOURS
from bot.events import CommandReceived
from kiln.runtime import Runtime
from storage.models import Person
from tests.dashboard.conftest import FINANCE_MANAGER, WARD_MANAGER, WARD_STAFF, WARD_VOLUNTEER
from tests.fakes.fake_adapter import FakeAdapter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def _as(runtime: Runtime, adapter: FakeAdapter, user: str) -> str:
    """Move a demo person onto the fake platform, so replies to them are recorded."""
    people = runtime.services.people
    person = await people.find("demo", user)
    assert person is not None
    moved = Person(**person.model_dump(exclude={"id", "platform", "created_at"}), platform="fake")
    await people.add_all([moved])
    return user


async def _command(runtime: Runtime, adapter: FakeAdapter, user: str, name: str) -> None:
    await runtime.engine.handle(
        CommandReceived(adapter.next_event_id(), "fake", user, name=name, args=())
    )


async def test_teammood_gives_a_manager_a_summary_and_a_chart(
    seeded: Runtime, adapter: FakeAdapter
) -> None:
    user = await _as(seeded, adapter, WARD_MANAGER)
    await _command(seeded, adapter, user, "teammood")

    reply = adapter.last(user).message
    assert reply.text.startswith("Team mood (totals only")
    assert "ward-7: last week average" in reply.text
    assert "of the team" in reply.text
    assert reply.attachment is not None
    assert reply.attachment.mime_type == "image/png"
    assert reply.attachment.content.startswith(PNG_MAGIC)
    entries = await seeded.services.audit.since()
    assert any(e.subject.startswith("teammood: ward-7") for e in entries)


async def test_teammood_says_hidden_for_a_small_team_week(
    seeded: Runtime, adapter: FakeAdapter
) -> None:
    seeded.settings.min_group_size = 50
    user = await _as(seeded, adapter, FINANCE_MANAGER)
    await _command(seeded, adapter, user, "teammood")

    text = adapter.last(user).message.text
    assert "hidden, as fewer than 50 answered" in text
    assert "average" not in text


async def test_staff_and_volunteers_are_refused_politely(
    seeded: Runtime, adapter: FakeAdapter
) -> None:
    for user in (WARD_STAFF, WARD_VOLUNTEER):
        await _as(seeded, adapter, user)
        for command in ("teammood", "dashboard"):
            await _command(seeded, adapter, user, command)
            reply = adapter.last(user).message
            assert reply.text.startswith("Sorry, team mood and the dashboard are only for managers")
            assert reply.attachment is None
            assert "/signin/" not in reply.text


async def test_dashboard_sends_a_manager_a_one_time_link(
    seeded: Runtime, adapter: FakeAdapter
) -> None:
    user = await _as(seeded, adapter, WARD_MANAGER)
    await _command(seeded, adapter, user, "dashboard")

    text = adapter.last(user).message.text
    assert "http://127.0.0.1:8080/signin/" in text
    assert "within 10 minutes" in text


async def test_a_manager_in_welsh_gets_welsh(seeded: Runtime, adapter: FakeAdapter) -> None:
    user = await _as(seeded, adapter, WARD_MANAGER)
    person = await seeded.services.people.find("fake", user)
    assert person is not None
    person.locale = "cy"
    await seeded.services.people.add_all([person])
    await _command(seeded, adapter, user, "dashboard")
    assert "Dyma'ch dolen i ddangosfwrdd y rheolwyr" in adapter.last(user).message.text


async def test_help_lists_manager_commands_only_for_managers(
    seeded: Runtime, adapter: FakeAdapter
) -> None:
    manager = await _as(seeded, adapter, WARD_MANAGER)
    staff = await _as(seeded, adapter, WARD_STAFF)
    await _command(seeded, adapter, manager, "help")
    await _command(seeded, adapter, staff, "help")
    assert "/teammood" in adapter.last(manager).message.text
    assert "/teammood" not in adapter.last(staff).message.text


def test_the_palette_is_okabe_ito_with_a_neutral_grey() -> None:
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert set(MOOD_COLOURS) - okabe_ito == {"#D9D9D9"}
