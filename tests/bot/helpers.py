"""Small helpers for engine tests: press buttons and type as a person would."""

from __future__ import annotations

from bot.events import ChoiceSelected, CommandReceived, MessageReceived
from bot.messages import Message
from kiln.runtime import Runtime
from tests.fakes.fake_adapter import FakeAdapter


def button_value(message: Message, label: str) -> str:
    """The value of the button with this label."""
    for button in message.all_buttons:
        if button.label == label:
            return button.value
    raise AssertionError(f"no button {label!r} in {[b.label for b in message.all_buttons]}")


async def press(
    runtime: Runtime, adapter: FakeAdapter, user: str, message: Message, label: str
) -> None:
    """Press a button on a message the person received."""
    await runtime.engine.handle(
        ChoiceSelected(
            adapter.next_event_id(), adapter.platform, user, value=button_value(message, label)
        )
    )


async def say(runtime: Runtime, adapter: FakeAdapter, user: str, text: str) -> None:
    """Send a plain message as the person."""
    await runtime.engine.handle(
        MessageReceived(adapter.next_event_id(), adapter.platform, user, text=text)
    )


async def command(runtime: Runtime, adapter: FakeAdapter, user: str, name: str, *args: str) -> None:
    """Send a slash command as the person."""
    await runtime.engine.handle(
        CommandReceived(adapter.next_event_id(), adapter.platform, user, name=name, args=args)
    )
