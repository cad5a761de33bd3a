"""Outbound messages: what the engine asks an adapter to show a person."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """A choice shown to a person.

    Attributes:
        label: The words on the button, shown exactly as given.
        value: An opaque string the engine owns; adapters carry it back unchanged.
    """

    label: str
    value: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message (a data export, a chart)."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Message:
    """Text, optional rows of buttons, optional file.

    ``locale`` is the language the text is in, when the engine knows it, so an
    adapter adding words of its own (Slack's `Add a note`) matches them.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachment: Attachment | None = field(default=None)
    locale: str | None = None

    @property
    def all_buttons(self) -> tuple[Button, ...]:
        """Every button, row by row."""
        return tuple(button for row in self.buttons for button in row)
