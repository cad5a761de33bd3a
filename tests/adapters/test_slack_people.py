"""People on Slack: roster emails resolved with users.lookupByEmail, timezones from users.info."""

from __future__ import annotations

import asyncio

from adapters.slack import SlackAdapter
from bot.roster import parse_roster
from bot.settings import Settings
from kiln.runtime import open_runtime
from tests.adapters.slack_helpers import BOT_TOKEN, slack_person, slack_rig
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
