"""Block Kit for kiln's messages: the engine's text and buttons as Slack blocks and views.

Rendering only. Button values are the engine's opaque strings, carried unchanged;
the block and action ids below are what the listeners in ``slack_app`` match on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.messages import Message

Block = dict[str, Any]
#: Looks up one of the Slack-only words (``[slack]`` in prompts/) in the person's language,
#: filling in placeholders given as keyword arguments.
Words = Callable[..., str]

#: Engine buttons: ``kiln.choice.<row>.<column>`` (ids must be unique within a message).
CHOICE_ACTION = re.compile(r"^kiln\.choice\.")
#: The Slack-only `Add a note` button and the modal it opens.
NOTE_ACTION = "kiln.note"
NOTE_CALLBACK = "kiln.note"
NOTE_BLOCK = "kiln.note"
NOTE_INPUT = "text"
#: App Home buttons: ``kiln.home.<command>``, with the command's argument as the value.
HOME_ACTION = re.compile(r"^kiln\.home\.")
#: (command, argument, label key) for the App Home's buttons.
HOME_BUTTONS: tuple[tuple[str, str, str], ...] = (
    ("mytrend", "", "slack.home_mytrend"),
    ("pause", "7", "slack.home_pause"),
    ("resume", "", "slack.home_resume"),
    ("optout", "", "slack.home_optout"),
    ("optin", "", "slack.home_optin"),
)

SECTION_LIMIT = 3000  # Slack's limit for a section's text
NOTE_LIMIT = 3000

# "/pause 3" at the start of a line or after a space or bracket, but not "/kiln ..."
# itself, a URL ("https://x/y") or a path ("/a/b"): on Slack every command is a
# subcommand of the one slash command.
_COMMAND = re.compile(r"(?:(?<=^)|(?<=[\s(]))/(?!kiln\b)([a-z]+)\b(?!/)", re.MULTILINE)


def slack_commands(text: str) -> str:
    """Commands as they are typed on Slack: ``/pause 3`` becomes ``/kiln pause 3``."""
    return _COMMAND.sub(r"/kiln \1", text)


def escape(text: str) -> str:
    """Text made safe for mrkdwn: Slack reads ``&``, ``<`` and ``>`` as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed: Slack sends ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split long text at paragraph, then line, breaks so each piece fits a section."""
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n"):
        candidate = f"{current}\n{paragraph}" if current else paragraph
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(paragraph) > limit:
            pieces.append(paragraph[:limit])
            paragraph = paragraph[limit:]
        current = paragraph
    if current or not pieces:
        pieces.append(current)
    return pieces


def text_blocks(text: str) -> list[Block]:
    """Sections of mrkdwn holding ``text`` (commands spelled the Slack way)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(piece) or " "}}
        for piece in _chunks(slack_commands(text))
    ]


def button(label: str, action_id: str, value: str = "") -> Block:
    """One Block Kit button (Slack allows 75 characters of label)."""
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75], "emoji": True},
        "action_id": action_id,
    }
    if value:
        element["value"] = value
    return element


def message_blocks(message: Message, note_label: str | None = None) -> list[Block]:
    """The message's text, one actions block per row of buttons, then `Add a note`."""
    blocks = text_blocks(message.text)
    for row_number, row in enumerate(message.buttons):
        if not row:
            continue
        blocks.append(
            {
                "type": "actions",
                "block_id": f"kiln.row.{row_number}",
                "elements": [
                    button(item.label, f"kiln.choice.{row_number}.{column}", item.value)
                    for column, item in enumerate(row)
                ],
            }
        )
    if note_label:
        blocks.append(
            {
                "type": "actions",
                "block_id": NOTE_BLOCK,
                "elements": [button(note_label, NOTE_ACTION)],
            }
        )
    return blocks


def fallback_text(message: Message) -> str:
    """The plain text Slack shows in notifications and where blocks cannot be shown."""
    return slack_commands(message.text) or " "


def note_modal(words: Words) -> Block:
    """The `Add a note` modal: one text box and the promise that words are not kept."""
    return {
        "type": "modal",
        "callback_id": NOTE_CALLBACK,
        "title": {"type": "plain_text", "text": words("slack.note_title")[:24]},
        "submit": {"type": "plain_text", "text": words("slack.note_send")[:24]},
        "close": {"type": "plain_text", "text": words("slack.note_cancel")[:24]},
        "blocks": [
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "label": {"type": "plain_text", "text": words("slack.note_label")},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_INPUT,
                    "multiline": True,
                    "max_length": NOTE_LIMIT,
                },
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": escape(words("slack.note_hint"))}],
            },
        ],
    }


def note_text(view: dict[str, Any]) -> str:
    """The text typed into the `Add a note` modal (empty if the box was not there)."""
    values = view.get("state", {}).get("values", {})
    value = values.get(NOTE_BLOCK, {}).get(NOTE_INPUT, {}).get("value")
    return str(value or "").strip()


def home_view(words: Words, replies: Sequence[Message], min_group_size: int) -> Block:
    """The App Home: the engine's answers (the person's own moods), buttons, who sees what."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": words("slack.home_title")}}
    ]
    for reply in replies:
        blocks.extend(text_blocks(reply.text))
    blocks.append(
        {
            "type": "actions",
            "block_id": "kiln.home",
            "elements": [
                button(words(key), f"kiln.home.{command}", argument)
                for command, argument, key in HOME_BUTTONS
            ],
        }
    )
    blocks.append({"type": "divider"})
    title = escape(words("slack.home_whosees_title"))
    body = escape(words("slack.home_whosees", min_group_size=min_group_size))
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{body}"}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": escape(words("slack.home_help"))}],
        }
    )
    return {"type": "home", "blocks": blocks}
