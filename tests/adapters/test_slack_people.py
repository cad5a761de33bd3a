"""People on Slack: roster emails resolved with users.lookupByEmail, timezones from users.info."""

from __future__ import annotations

import asyncio

from adapters.slack import SlackAdapter
from bot.roster import parse_roster
from bot.settings import Settings
from kiln.runtime import open_runtime
from tests.adapters.slack_helpers import BOT_TOKEN, message_of, slack_person, slack_rig
from tests.conftest import TEST_PEPPER
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack

ROSTER = """platform,platform_user_id,email,display_name,team,timezone,roles
slack,,Cara@Example.org,Cara Hughes,ward,,staff
slack,,nobody@example.org,Nobody Known,ward,,staff
slack,U0DAF,,Dafydd Evans,ward,Europe/London,staff
"""


async def test_people_listed_by_email_are_found_when_kiln_opens(
    settings: Settings, clock: FakeClock
) -> None:
    async with FakeSlack() as slack:
        slack.users["U0CARA"] = {"email": "cara@example.org", "tz": "America/Toronto"}
        first = await open_runtime(settings, clock=clock, pepper=TEST_PEPPER)
        await first.services.people.add_all(parse_roster(ROSTER))  # `kiln people import`
        await first.close()

        # `kiln checkin now`: a runtime with the adapter, never started.
        adapter = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=slack.api_url)
        runtime = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
        try:
            people = runtime.services.people
            cara = await people.find("slack", "U0CARA")
            assert cara is not None
            assert (cara.display_name, cara.timezone) == ("Cara Hughes", "America/Toronto")
            assert await people.find("slack", "email:cara@example.org") is None

            assert await runtime.engine.checkin_now() == 2  # Cara and Dafydd

            channels = sorted(c.args["channel"] for c in slack.calls("chat.postMessage"))
            assert channels == ["DU0CARA", "DU0DAF"]
            nobody = await people.find("slack", "email:nobody@example.org")
            assert nobody is not None and nobody.undeliverable  # no such Slack account
        finally:
            await runtime.close()


async def test_importing_the_roster_again_does_not_enrol_anyone_twice(
    settings: Settings, clock: FakeClock
) -> None:
    async with FakeSlack() as slack:
        slack.users["U0CARA"] = {"email": "cara@example.org", "tz": "America/Toronto"}
        adapter = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=slack.api_url)
        runtime = await open_runtime(settings, [adapter], clock=clock, pepper=TEST_PEPPER)
        try:
            people = runtime.services.people
            await people.add_all(parse_roster(ROSTER))
            await adapter.prepare(runtime.services)
            moved = ROSTER.replace("Cara Hughes,ward", "Cara Hughes,night")
            await people.add_all(parse_roster(moved))  # the same email, a new team

            await adapter.prepare(runtime.services)  # the next start

            caras = [p for p in await people.list() if p.display_name == "Cara Hughes"]
            assert [(p.platform_user_id, p.team) for p in caras] == [("U0CARA", "night")]
        finally:
            await runtime.close()


async def test_events_carry_the_profile_timezone_for_the_engine_to_keep(
    settings: Settings, clock: FakeClock
) -> None:
    eve = slack_person("U0EVE", timezone=None)
    async with slack_rig(settings, clock, "http", eve) as rig:
        rig.slack.users["U0EVE"]["tz"] = "Asia/Tokyo"

        await rig.say("U0EVE", "help")
        await rig.say("U0EVE", "help")
        [first, _] = await rig.wait_handled(2)

        assert first.timezone == "Asia/Tokyo"
        stored = await rig.runtime.services.people.find("slack", "U0EVE")
        assert stored is not None and stored.timezone == "Asia/Tokyo"
        assert len(rig.slack.calls("users.info")) == 1  # then cached


async def test_starting_fills_timezones_the_roster_left_empty(
    settings: Settings, clock: FakeClock
) -> None:
    fay = slack_person("U0FAY", timezone=None)
    gil = slack_person("U0GIL", timezone="Europe/Dublin")
    async with slack_rig(settings, clock, "socket", fay, gil, start=False) as rig:
        rig.slack.users["U0FAY"]["tz"] = "Australia/Sydney"
        rig.slack.users["U0GIL"]["tz"] = "Asia/Tokyo"

        await rig.runtime.start_adapters()
        people = rig.runtime.services.people
        for _ in range(250):  # the look-up runs in the background: poll for up to 5 s
            fay_now = await people.find("slack", "U0FAY")
            if fay_now is not None and fay_now.timezone:
                break
            await asyncio.sleep(0.02)

        assert fay_now is not None and fay_now.timezone == "Australia/Sydney"

        gil_now = await people.find("slack", "U0GIL")
        assert gil_now is not None and gil_now.timezone == "Europe/Dublin"  # roster wins
        assert [c.args["user"] for c in rig.slack.calls("users.info")] == ["U0FAY"]


async def test_a_fresh_worker_answers_a_press_with_no_lookups(
    settings: Settings, clock: FakeClock
) -> None:
    # Another process (`kiln checkin now`) sent the check-in; this worker has never
    # talked to Hal. His DM channel comes with the press and his timezone is stored,
    # so neither conversations.open nor users.info is needed to answer.
    hal = slack_person("U0HAL", timezone="Europe/London")
    async with slack_rig(settings, clock, "http", hal, start=False) as rig:
        await rig.adapter.prepare(rig.runtime.services)  # as when `kiln run` opens
        await rig.adapter.start(rig.sink)
        sender = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=rig.slack.api_url)
        other = await open_runtime(settings, [sender], clock=clock, pepper=TEST_PEPPER)
        try:
            assert await other.engine.checkin_now() == 1
        finally:
            await other.close()
        [checkin] = await rig.slack.wait_for("chat.postMessage")
        opened_by_sender = len(rig.slack.calls("conversations.open"))

        await rig.press("U0HAL", checkin, "4 Good")
        await rig.wait_handled(1)
        await rig.slack.wait_for("chat.postMessage", 2)  # the follow-up, in Hal's DM
        await rig.say("U0HAL", "help")
        await rig.wait_handled(2)

        assert len(rig.slack.calls("conversations.open")) == opened_by_sender == 1
        assert rig.slack.calls("users.info") == []


async def test_the_web_api_calls_share_one_connection(settings: Settings, clock: FakeClock) -> None:
    people = [slack_person(f"U0P{n}", timezone="Europe/London") for n in range(4)]
    async with slack_rig(settings, clock, "http", *people) as rig:
        assert await rig.runtime.engine.checkin_now() == 4
        calls = await rig.slack.wait_for("chat.postMessage", 4)

        # Fan-out concurrency may open a few connections, but never one per call.
        peers = {call.peer for call in rig.slack.calls()}
        assert None not in peers
        assert len(peers) < len(rig.slack.calls()) and len(calls) == 4

        await rig.adapter.stop()  # closes the session; a later send opens a new one
        await rig.adapter.send_checkin("U0P0", message_of(calls[0]))
        assert len(rig.slack.calls("chat.postMessage")) == 5
