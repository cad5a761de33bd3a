"""Support end to end on Slack: the real slack-bolt adapter against FakeSlack.

A crisis message in the DM gets the crisis lines in the very first reply; `Yes, please`
alerts a Wellbeing Warrior in their own DM; their `I'll reach out` tells the person.
"""

from __future__ import annotations

import pytest

from bot.settings import Settings
from tests.adapters.slack_helpers import Mode, block_text, buttons, slack_person, slack_rig
from tests.fakes.clock import FakeClock

ANA = slack_person("U0ANA", display_name="Ana Jones")
VIC = slack_person("U0VIC", display_name="Vic Hale", team="pharmacy", roles="staff;volunteer")
CRISIS = "honestly I don't see the point of going on"


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_crisis_message_lines_first_then_yes_alerts_a_volunteer(
    settings: Settings, clock: FakeClock, mode: Mode
) -> None:
    async with slack_rig(settings, clock, mode, ANA, VIC) as rig:
        slack = rig.slack

        await rig.say("U0ANA", CRISIS)
        [first] = await slack.wait_for("chat.postMessage")
        assert first.args["channel"] == "DU0ANA"
        text = block_text(first)
        assert "116 123" in text and text.index("116 123") < text.index("Wellbeing Warrior")

        await rig.press("U0ANA", first, "Yes, please")
        posts = await slack.wait_for("chat.postMessage", 3)
        [alert] = [call for call in posts if call.args["channel"] == "DU0VIC"]
        assert "Ana Jones (Slack)" in block_text(alert)
        assert CRISIS not in block_text(alert)
        assert {"I'll reach out", "Can't right now"} <= set(buttons(alert))

        await rig.press("U0VIC", alert, "I'll reach out")
        posts = await slack.wait_for("chat.postMessage", 5)
        to_ana = [block_text(call) for call in posts if call.args["channel"] == "DU0ANA"]
        assert any("Vic Hale" in text for text in to_ana)
        to_vic = [block_text(call) for call in posts if call.args["channel"] == "DU0VIC"]
        assert any("Ana Jones (Slack)" in text and "Close case" in text for text in to_vic)
