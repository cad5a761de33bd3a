"""Console adapter: chat with kiln in a terminal, buttons shown as numbered choices.

Reads one line at a time and waits for the engine to finish with it before reading
the next, so a piped script gets a deterministic transcript and exits at end of input.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from typing import TextIO

from bot.events import ChoiceSelected, CommandReceived, EventSink, MessageReceived
from bot.messages import Button, Message

logger = logging.getLogger(__name__)

PLATFORM = "console"


class ConsoleAdapter:
    """A one-person chat on stdin/stdout."""

    platform = PLATFORM
    max_messages_per_second: float | None = None

    def __init__(
        self,
        user: str,
        *,
        display_name: str | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        prompt: str = "you> ",
    ) -> None:
        self.user = user
        self._display_name = display_name
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._prompt = prompt
        self._choices: list[Button] = []
        self._ids = itertools.count(1)
        self._refs = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()

    async def start(self, sink: EventSink) -> None:
        """Begin reading lines and passing them to the engine."""
        self._reader = asyncio.create_task(self._read_loop(sink))

    async def stop(self) -> None:
        """Stop reading input."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        self.finished.set()

    async def send_checkin(self, user: str, message: Message) -> str:
        """Print a check-in with numbered choices."""
        return self._show(message)

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        """Show the outcome of an answered check-in; its choices no longer apply."""
        self._choices = []
        self._print(f"  [{message.text}]")

    async def send_message(self, user: str, message: Message) -> str:
        """Print a message."""
        return self._show(message)

    async def send_alert(self, destination: str, message: Message) -> str:
        """Print an alert (the console has one person, so it is shown inline)."""
        return self._show(message)

    def _show(self, message: Message) -> str:
        self._print(f"kiln: {message.text}")
        if message.attachment is not None:
            self._print(f"  (file: {message.attachment.filename})")
        if message.buttons:
            self._choices = list(message.all_buttons)
            for number, button in enumerate(self._choices, start=1):
                self._print(f"  {number}) {button.label}")
        return f"console-{next(self._refs)}"

    def _print(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()

    async def _read_loop(self, sink: EventSink) -> None:
        interactive = self._stdin.isatty()
        try:
            while True:
                if interactive:
                    self._stdout.write(self._prompt)
                    self._stdout.flush()
                line = await asyncio.to_thread(self._stdin.readline)
                if not line:
                    break
                text = line.strip()
                if not text:
                    continue
                if not interactive:
                    # Echo scripted input so a transcript reads like a conversation.
                    self._print(f"{self._prompt}{text}")
                await sink(self._to_event(text))
        finally:
            self.finished.set()

    def _to_event(self, text: str) -> ChoiceSelected | CommandReceived | MessageReceived:
        event_id = f"console-{next(self._ids)}"
        common = {"display_name": self._display_name}
        if text.isdigit() and 1 <= int(text) <= len(self._choices):
            button = self._choices[int(text) - 1]
            return ChoiceSelected(event_id, PLATFORM, self.user, value=button.value, **common)
        if text.startswith("/"):
            name, *args = text[1:].split()
            return CommandReceived(
                event_id, PLATFORM, self.user, name=name.lower(), args=tuple(args), **common
            )
        return MessageReceived(event_id, PLATFORM, self.user, text=text, **common)


class ColleaguesConsole:
    """The demo's made-up colleagues: what kiln sends them is printed, labelled by name.

    It lets someone trying the demo see the whole support flow, such as the alert a
    Wellbeing Warrior gets after they say yes, without a second chat window.
    """

    max_messages_per_second: float | None = None

    def __init__(self, platform: str, stdout: TextIO | None = None) -> None:
        self.platform = platform
        self._stdout = stdout or sys.stdout
        self._names: dict[str, str] = {}
        self._refs = itertools.count(1)

    def know(self, names: dict[str, str]) -> None:
        """Learn who is who, so messages can be labelled with a name."""
        self._names.update(names)

    async def start(self, sink: EventSink) -> None:
        """Colleagues never type in the demo."""

    async def stop(self) -> None:
        """Nothing to release."""

    async def send_checkin(self, user: str, message: Message) -> str:
        """Show a colleague's check-in."""
        return self._show(user, message)

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        """Show a colleague's updated check-in."""
        self._show(user, message)

    async def send_message(self, user: str, message: Message) -> str:
        """Show a message to a colleague."""
        return self._show(user, message)

    async def send_alert(self, destination: str, message: Message) -> str:
        """Show an alert to a volunteer or channel."""
        return self._show(destination, message)

    def _show(self, user: str, message: Message) -> str:
        name = self._names.get(user, user)
        lines = [f"  ┆ (sent to {name}, in their own chat)"]
        lines += [f"  ┆ {line}" for line in message.text.splitlines()]
        if message.buttons:
            lines.append("  ┆ " + "  ".join(f"[{b.label}]" for b in message.all_buttons))
        self._stdout.write("\n".join(lines) + "\n")
        self._stdout.flush()
        return f"{self.platform}-{next(self._refs)}"
