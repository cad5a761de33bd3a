"""Recorded Telegram updates become exactly the kiln events they should, and no more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from telegram import Update

from adapters.telegram_calls import keyboard
from adapters.telegram_config import api_urls, deep_link
from adapters.telegram_events import chat_id_for, message_ref, parse_ref, to_event
from bot.events import ChoiceSelected, CommandReceived, MessageReceived
from bot.messages import Button, Message

PAYLOADS = Path(__file__).resolve().parents[1] / "payloads" / "telegram"


def update(name: str) -> Update:
    return Update.de_json(json.loads((PAYLOADS / f"{name}.json").read_text()), None)


def test_start_with_a_code_is_a_command_with_the_code_as_its_argument() -> None:
    event = to_event(update("start_with_code"), "kiln_test_bot")

    assert event == CommandReceived(
        "815920301",
        "telegram",
        "5550001234",
        name="start",
        args=("Zk3vQ9x_Lr2-Tb8nWc5dYh1JpA7sKe0u",),
        display_name="Dafydd Evans",
        locale="cy",
    )


def test_a_command_addressed_to_this_bot_is_lowercased_and_split() -> None:
    event = to_event(update("private_command"), "kiln_test_bot")

    assert isinstance(event, CommandReceived)
    assert (event.name, event.args) == ("pause", ("3",))


def test_a_command_for_another_bot_is_not_ours() -> None:
    assert to_event(update("command_for_another_bot"), "kiln_test_bot") is None


def test_plain_text_is_a_message_even_when_it_mentions_a_command() -> None:
    event = to_event(update("private_text"), "kiln_test_bot")

    assert isinstance(event, MessageReceived)
    assert event.text == "long shift, but the team were great /support"
    assert (event.event_id, event.user, event.locale) == ("815920304", "5550001234", "en-GB")


def test_a_button_press_carries_its_value_unchanged_and_a_message_ref() -> None:
    event = to_event(update("callback_query"), "kiln_test_bot")

    assert isinstance(event, ChoiceSelected)
    assert event.value == "mood:12:4"
    assert event.message_ref == "5550001234:21"
    assert parse_ref(event.message_ref) == (5550001234, 21)


@pytest.mark.parametrize("name", ["group_message", "sticker"])
def test_group_messages_and_stickers_are_not_events(name: str) -> None:
    assert to_event(update(name), "kiln_test_bot") is None


def test_refs_and_recipients_round_trip() -> None:
    assert parse_ref(message_ref(-1001234567890, 7)) == (-1001234567890, 7)
    assert chat_id_for("5550001234") == 5550001234
    assert chat_id_for("-1001234567890") == -1001234567890
    assert chat_id_for("@wellbeing_escalations") == "@wellbeing_escalations"
    with pytest.raises(ValueError):
        parse_ref("slack-ts-1234.5678")


def test_buttons_become_an_inline_keyboard_row_by_row() -> None:
    message = Message(
        "How are you?",
        ((Button("1 Struggling", "mood:3:1"), Button("2 Low", "mood:3:2")), (Button("x", "y"),)),
    )

    markup = keyboard(message)

    assert markup is not None
    assert [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard] == [
        [("1 Struggling", "mood:3:1"), ("2 Low", "mood:3:2")],
        [("x", "y")],
    ]
    assert keyboard(Message("no buttons")) is None


def test_api_urls_accept_the_documented_form_and_a_bare_host() -> None:
    expected = ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_urls("http://127.0.0.1:8081/bot") == expected
    assert api_urls("http://127.0.0.1:8081/bot/") == expected
    assert api_urls("http://127.0.0.1:8081") == expected
    assert deep_link("kiln_test_bot", "abc_-1") == "https://t.me/kiln_test_bot?start=abc_-1"
