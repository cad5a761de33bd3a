"""Block Kit rendering, the app manifest, and `kiln doctor`'s Slack check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from adapters.slack_blocks import (
    escape,
    message_blocks,
    note_text,
    slack_commands,
    text_blocks,
    unescape,
)
from adapters.slack_checks import REQUIRED_SCOPES, check_slack
from bot.messages import Button, Message
from bot.settings import Settings
from kiln import doctor
from tests.adapters.slack_helpers import APP_TOKEN, BOT_TOKEN, payload
from tests.fakes.fake_slack import FakeSlack

MANIFEST = Path(__file__).resolve().parents[2] / "adapters" / "slack_manifest.yaml"


@pytest.mark.parametrize(
    ("text", "slack"),
    [
        ("Send /checkin any time", "Send /kiln checkin any time"),
        ("/pause 3  pause check-ins", "/kiln pause 3  pause check-ins"),
        ("lines:\n/support  talk", "lines:\n/kiln support  talk"),
        ("(or /help)", "(or /kiln help)"),
        ("already /kiln help", "already /kiln help"),
        ("see https://kiln.example/dashboard", "see https://kiln.example/dashboard"),
        ("and/or 23/11 /etc/passwd", "and/or 23/11 /etc/passwd"),
    ],
)
def test_commands_are_spelled_as_slack_subcommands(text: str, slack: str) -> None:
    assert slack_commands(text) == slack


def test_mrkdwn_is_escaped_and_typed_text_unescaped() -> None:
    assert escape("Tea & cake <3 > coffee") == "Tea &amp; cake &lt;3 &gt; coffee"
    assert unescape("Tea &amp; cake &lt;3") == "Tea & cake <3"


def test_long_text_is_split_into_sections_slack_accepts() -> None:
    text = "\n".join(f"line {n}: " + "x" * 90 for n in range(80))  # about 8,000 characters

    blocks = text_blocks(text)

    assert len(blocks) == 3
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks)
    assert "\n".join(block["text"]["text"] for block in blocks) == text


def test_buttons_carry_the_engines_values_with_unique_action_ids() -> None:
    message = Message(
        "How are you?",
        (
            tuple(Button(f"{n} mood", f"mood:7:{n}") for n in range(1, 6)),
            (Button("Talk to someone", "talk:7"), Button("Skip today", "skip:7")),
        ),
    )

    blocks = message_blocks(message, note_label="Add a note")

    actions = [block for block in blocks if block["type"] == "actions"]
    elements = [element for block in actions for element in block["elements"]]
    assert [e.get("value") for e in elements] == [
        *(f"mood:7:{n}" for n in range(1, 6)),
        "talk:7",
        "skip:7",
        None,  # `Add a note` carries no engine value: it only opens the modal
    ]
    assert len({e["action_id"] for e in elements}) == len(elements)
    assert elements[-1]["action_id"] == "kiln.note"
    assert len({block["block_id"] for block in actions}) == len(actions)


def test_the_note_is_read_from_the_modal_submission() -> None:
    view = payload("view_submission")["view"]

    assert note_text(view) == "A long week, but the team has been lovely."
    assert note_text({"state": {"values": {}}}) == ""


def test_the_manifest_asks_for_what_kiln_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())

    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/kiln"
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.im",
        "app_home_opened",
    }
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


async def test_doctor_says_all_is_well_and_names_missing_scopes() -> None:
    async with FakeSlack() as slack:
        slack.respond(
            "auth.test",
            {"ok": True, "team": "Kiln Test", "user": "kiln", "team_id": "T0KILN"},
            headers={"X-OAuth-Scopes": "chat:write,im:write,im:history,users:read,commands"},
        )

        findings = await check_slack(BOT_TOKEN, app_token=APP_TOKEN, api_url=slack.api_url)

    assert findings == [
        (True, "Slack: Socket Mode (KILN_SLACK_APP_TOKEN is set; no public URL needed)"),
        (True, "Slack accepts the bot token: workspace Kiln Test, app user @kiln"),
        (
            False,
            "the Slack app is missing the scope(s) files:write, users:read.email: add them "
            "under OAuth & Permissions (or create the app again from "
            "adapters/slack_manifest.yaml), then reinstall it to the workspace",
        ),
        (True, "Slack accepts the app-level token for Socket Mode"),
    ]


@pytest.mark.parametrize(
    ("bot_error", "app_token", "expected"),
    [
        ("invalid_auth", APP_TOKEN, "copy the Bot User OAuth Token, which starts xoxb-"),
        ("token_revoked", APP_TOKEN, "reinstall the app"),
        (None, BOT_TOKEN, "KILN_SLACK_APP_TOKEN is not an app-level token"),
    ],
)
async def test_doctor_explains_bad_tokens_in_plain_words(
    bot_error: str | None, app_token: str, expected: str
) -> None:
    async with FakeSlack() as slack:
        if bot_error:
            slack.respond_error("auth.test", bot_error)

        findings = await check_slack(BOT_TOKEN, app_token=app_token, api_url=slack.api_url)

    [problem] = [text for ok, text in findings if not ok]
    assert expected in problem


async def test_kiln_doctor_runs_the_slack_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BOT_TOKEN", "APP_TOKEN", "SIGNING_SECRET", "API_URL"):
        monkeypatch.delenv(f"KILN_SLACK_{name}", raising=False)
    async with FakeSlack() as slack:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'kiln.db'}",
            slack_bot_token=BOT_TOKEN,  # type: ignore[arg-type]
            slack_api_url=slack.api_url,
        )
        # doctor is synchronous (it runs its own event loop), as `kiln doctor` calls it.
        findings = await asyncio.to_thread(doctor.check_slack, settings)

    assert [(f.ok, f.text.split(":")[0]) for f in findings] == [
        (False, "Slack can send but never hear answers"),
        (True, "Slack accepts the bot token"),
    ]
    assert doctor.check_slack(settings.model_copy(update={"slack_bot_token": None})) == []
