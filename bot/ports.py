"""The boundary between the engine and chat platforms."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.events import EventSink
from bot.messages import Message


class DeliveryError(Exception):
    """A message could not be delivered right now."""


class RateLimited(DeliveryError):
    """The platform asked us to slow down; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or f"rate limited; retry after {retry_after:g}s")
        self.retry_after = retry_after


class DeliveryUncertain(DeliveryError):
    """The platform may have received the message, but no usable answer came back.

    A read timeout after the request went out, or a garbled reply: the message may
    well have arrived. Sending it again could show it twice, so callers treat it as
    probably delivered (see docs/SECURITY.md, "Exactly once").
    """


class Undeliverable(DeliveryError):
    """The person can no longer be reached (left, blocked the bot, deactivated)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class ChatAdapter(Protocol):
    """What the engine needs from a chat platform.

    Recipients are platform user ids (or, for alerts, a channel id); adapters resolve
    them to conversations. Each send returns an opaque message reference the engine
    may later pass to :meth:`update_checkin`.
    """

    platform: str
    #: The most messages per second kiln should send in a fan-out (None: no pacing).
    max_messages_per_second: float | None

    async def start(self, sink: EventSink) -> None:
        """Connect and begin passing inbound events to ``sink``."""

    async def stop(self) -> None:
        """Disconnect and release resources."""

    async def send_checkin(self, user: str, message: Message) -> str:
        """Send a check-in (text plus mood buttons); return its message reference."""

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        """Replace a sent check-in, e.g. to show the chosen mood and remove the buttons."""

    async def send_message(self, user: str, message: Message) -> str:
        """Send any other message to a person; return its message reference."""

    async def send_alert(self, destination: str, message: Message) -> str:
        """Send an alert to a volunteer or to an escalation channel."""
