"""An in-memory ChatAdapter for engine tests: records every send, can be made to fail."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.events import EventSink, InboundEvent
from bot.messages import Message
from bot.ports import DeliveryError


@dataclass
class Sent:
    """One recorded outbound call."""

    kind: str
    recipient: str
    message: Message
    ref: str


@dataclass
class FakeAdapter:
    """Records what the engine sends; ``fail`` lets a test raise on chosen sends."""

    platform: str = "fake"
    max_messages_per_second: float | None = None
    sent: list[Sent] = field(default_factory=list)
    fail: Callable[[str, str], DeliveryError | None] | None = None
    sink: EventSink | None = None
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def _record(self, kind: str, recipient: str, message: Message, ref: str | None = None) -> str:
        if self.fail is not None:
            error = self.fail(kind, recipient)
            if error is not None:
                raise error
        ref = ref or f"{self.platform}-msg-{next(self._refs)}"
        self.sent.append(Sent(kind, recipient, message, ref))
        return ref

    async def send_checkin(self, user: str, message: Message) -> str:
        return self._record("checkin", user, message)

    async def update_checkin(self, user: str, message_ref: str, message: Message) -> None:
        self._record("update", user, message, message_ref)

    async def send_message(self, user: str, message: Message) -> str:
        return self._record("message", user, message)

    async def send_alert(self, destination: str, message: Message) -> str:
        return self._record("alert", destination, message)

    def next_event_id(self) -> str:
        return f"evt-{next(self._ids)}"

    def to(self, user: str, kind: str | None = None) -> list[Sent]:
        """Everything sent to one recipient, optionally of one kind."""
        return [s for s in self.sent if s.recipient == user and (kind is None or s.kind == kind)]

    def last(self, user: str) -> Sent:
        """The latest thing sent to a recipient."""
        return self.to(user)[-1]

    def clear(self) -> None:
        self.sent.clear()


async def deliver(adapter: FakeAdapter, event: InboundEvent) -> None:
    """Pass an event to whatever sink the adapter was started with."""
    assert adapter.sink is not None, "start the engine's adapters first"
    await adapter.sink(event)
