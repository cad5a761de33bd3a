"""`/kiln <subcommand>`, the same words typed in the DM, the App Home and `Add a note`."""

from __future__ import annotations

from datetime import date

import pytest

from bot.settings import Settings
from tests.adapters.slack_helpers import (
    Mode,
    block_text,
    buttons,
    payload,
    slack_person,
    slack_rig,
    texts,
)
from tests.fakes.clock import FakeClock

ANA = slack_person("U0ANA", display_name="Ana Jones")
BEN = slack_person("U0BEN", display_name="Ben Evans", locale="cy")
#: The clock is Monday 23 November 2026; a two-day pause ends on Wednesday.
WEDNESDAY = date(2026, 11, 25)


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_slash_pause_and_plain_pause_both_pause(
    settings: Settings, clock: FakeClock, mode: Mode
) -> None:
    async with slack_rig(settings, clock, mode, ANA, BEN) as rig:
        ack = await rig.command("U0ANA", "pause 2")
        await rig.say("U0BEN", "pause 2")
        await rig.wait_handled(2)

        assert ack == {}  # typed in the DM: a plain ack, the answer comes as a message
        people = rig.runtime.services.people
        for user in ("U0ANA", "U0BEN"):
            person = await people.find("slack", user)
            assert person is not None and person.paused_until == WEDNESDAY
        replies = {
            call.args["channel"]: call.args["text"]
            for call in rig.slack.calls()
            if call.method == "chat.postMessage"
        }
        assert "paused" in replies["DU0ANA"] and "Wednesday 25 November" in replies["DU0ANA"]
        assert "Dydd Mercher 25 Tachwedd" in replies["DU0BEN"]  # Ben reads Welsh
        assert "/kiln resume" in replies["DU0ANA"]


async def test_a_staff_members_teammood_is_refused(settings: Settings, clock: FakeClock) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        await rig.command("U0ANA", "teammood")
        await rig.wait_handled(1)

        [reply] = rig.slack.calls("chat.postMessage")
        assert "only for managers" in reply.args["text"]
        assert not rig.slack.calls("files.completeUploadExternal")  # no chart, no figures


async def test_a_bare_slash_command_is_help_and_a_channel_gets_a_receipt(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        ack = await rig.command("U0ANA", "", channel_id="C0GENERAL", channel_name="general")
        await rig.wait_handled(1)

        assert "answered you in our direct messages" in ack["text"]
        [reply] = rig.slack.calls("chat.postMessage")
        assert reply.args["channel"] == "DU0ANA"  # never in the public channel
        assert reply.args["text"].startswith("Here's what I can do:\n/kiln checkin")


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_app_home_shows_own_moods_and_its_buttons_work(
    settings: Settings, clock: FakeClock, mode: Mode
) -> None:
    async with slack_rig(settings, clock, mode, ANA) as rig:
        await rig.runtime.engine.checkin_now()
        [checkin] = await rig.slack.wait_for("chat.postMessage")
        await rig.press("U0ANA", checkin, "4 Good")
        await rig.wait_handled(1)
        posts_before = len(rig.slack.calls("chat.postMessage"))

        opened = payload("app_home_opened")
        opened["event"]["user"] = "U0ANA"
        await rig.event(opened)
        [home] = await rig.slack.wait_for("views.publish")

        click = rig.slack.block_action("U0ANA", "kiln.home.pause", "7")
        click["container"] = {"type": "view", "view_id": "VHU0ANA"}
        await rig.interactive(click)
        _, after_pause = await rig.slack.wait_for("views.publish", 2)

        assert home.args["user_id"] == "U0ANA"
        assert "Monday 23 November: 4 Good" in block_text(home)
        assert "at least 5 people answered" in block_text(home)
        assert set(buttons(home)) >= {"My recent moods", "Pause for a week", "Opt out"}
        assert "Check-ins paused" in block_text(after_pause)
        assert "4 Good" in block_text(after_pause)  # the moods are still shown
        person = await rig.runtime.services.people.find("slack", "U0ANA")
        assert person is not None and person.paused_until == date(2026, 11, 30)
        # Answers to Home tab requests stay on the Home tab.
        assert len(rig.slack.calls("chat.postMessage")) == posts_before


async def test_add_a_note_opens_a_modal_whose_words_are_the_note(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        await rig.runtime.engine.checkin_now()
        [checkin] = await rig.slack.wait_for("chat.postMessage")
        await rig.press("U0ANA", checkin, "3 Okay")
        _, prompt = await rig.slack.wait_for("chat.postMessage", 2)
        assert set(buttons(prompt)) == {"No thanks", "Add a note"}

        await rig.press("U0ANA", prompt, "Add a note")
        [modal] = await rig.slack.wait_for("views.open")
        submission = payload("view_submission")
        submission["user"]["id"] = "U0ANA"
        await rig.interactive(submission)
        await rig.wait_handled(2)

        view = modal.args["view"]
        assert (view["type"], view["callback_id"], view["title"]["text"]) == (
            "modal",
            "kiln.note",
            "Add a note",
        )
        assert modal.args["trigger_id"]
        [*_, thanks] = rig.slack.calls("chat.postMessage")
        assert "Thank you for sharing that. I haven't kept your words." in thanks.args["text"]
        # The note went to the engine as a message, not as a button press.
        assert [type(event).__name__ for event in rig.handled] == [
            "ChoiceSelected",
            "MessageReceived",
        ]
        assert "lovely" not in " ".join(texts(rig.slack.calls("chat.postMessage")))


async def test_slack_only_words_follow_the_persons_language(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", BEN) as rig:
        await rig.runtime.engine.checkin_now()
        [checkin] = await rig.slack.wait_for("chat.postMessage")
        await rig.press("U0BEN", checkin, "5 Gwych")
        _, prompt = await rig.slack.wait_for("chat.postMessage", 2)

        assert set(buttons(prompt)) == {"Dim diolch", "Ychwanegu nodyn"}


async def test_add_a_note_comes_only_after_an_answered_checkin(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", ANA) as rig:
        await rig.runtime.engine.checkin_now()
        [checkin] = await rig.slack.wait_for("chat.postMessage")

        await rig.press("U0ANA", checkin, "Talk to someone")  # the check-in stays open
        _, offer = await rig.slack.wait_for("chat.postMessage", 2)
        await rig.command("U0ANA", "support")
        *_, support = await rig.slack.wait_for("chat.postMessage", 3)
        await rig.press("U0ANA", checkin, "2 Low")
        *_, low_reply = await rig.slack.wait_for("chat.postMessage", 4)

        for reply in (offer, support):  # offers of support, not note invitations
            assert "Yes, please" in buttons(reply)
            assert "Add a note" not in buttons(reply)
        assert "Add a note" in buttons(low_reply)
