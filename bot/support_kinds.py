"""What kinds of support message the outbox sends, and where a rendered one goes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.messages import Message


class Kind(StrEnum):
    """What an outbox row sends."""

    ALERT = "alert"
    ESCALATION = "escalation"
    ESCALATION_TAKEN = "escalation_taken"
    DELAYED_ESCALATED = "delayed_escalated"
    DELAYED_WAITING = "delayed_waiting"
    NO_VOLUNTEERS = "no_volunteers"
    CLAIMED = "claimed"
    CONFIRMED = "confirmed"
    TAKEN = "taken"
    VOLUNTEER_CHECKIN = "volunteer_checkin"
    RELAY_ENDED = "relay_ended"
    RELAY_IDLE = "relay_idle"
    REVEALED = "revealed"


#: What the person is told when help is delayed, before the crisis lines again.
DELAYED = {
    Kind.DELAYED_ESCALATED: "routing.delayed_escalated",
    Kind.DELAYED_WAITING: "routing.delayed_waiting",
    Kind.NO_VOLUNTEERS: "support.no_router",
}
#: Messages that are just words.
PLAIN = {Kind.TAKEN: "routing.taken_notice", Kind.RELAY_IDLE: "relay.ended_idle"}


@dataclass(frozen=True)
class Outgoing:
    """A rendered message and where it goes."""

    platform: str
    recipient: str
    message: Message
    alert: bool = False


def platform_label(platform: str) -> str:
    """How a platform is named to people ("Slack", "Telegram")."""
    return platform.capitalize()
