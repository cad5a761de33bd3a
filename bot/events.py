"""Normalised inbound events: what any adapter hands to the engine.

Adapters translate platform payloads into these and nothing more; every decision
about what an event means is the engine's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class InboundEvent:
    """Fields every inbound event carries.

    Attributes:
        event_id: The platform's id for this delivery, used to ignore retries.
        platform: ``slack``, ``telegram`` or ``console``.
        user: The platform user id of the sender (never logged at INFO).
        display_name: The name the platform shows, when it gives one.
        timezone: The sender's IANA timezone, when the platform profile gives one.
        locale: The sender's language tag, when the platform gives one.
    """

    event_id: str
    platform: str
    user: str
    display_name: str | None = field(default=None, kw_only=True)
    timezone: str | None = field(default=None, kw_only=True)
    locale: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class MessageReceived(InboundEvent):
    """A plain message in a one-to-one chat with the bot.

    The text is handled in memory only: kiln never stores or logs it.
    """

    text: str = ""


@dataclass(frozen=True)
class ChoiceSelected(InboundEvent):
    """A button press; ``value`` is the opaque string the engine put on the button."""

    value: str = ""
    message_ref: str | None = None


@dataclass(frozen=True)
class CommandReceived(InboundEvent):
    """A command such as ``/pause 3``: ``name`` without the slash, ``args`` split on spaces."""

    name: str = ""
    args: tuple[str, ...] = ()


EventSink = Callable[[InboundEvent], Awaitable[None]]
