"""Where the engine's replies go on Slack, judged by what the person just did.

Two Slack-only touches, both decided by the request being handled, never by what
the engine's words or button values mean:

* **The Home tab.** Opening it (or pressing one of its buttons) runs an ordinary
  engine command such as `mytrend`. The engine answers through ``send_message`` as
  always; while that request is handled, the answer is kept for the Home tab
  instead of being posted in the DM, the way a slash command is answered where it
  was typed. The engine never knows there is a Home tab.
* **`Add a note`.** DESIGN §2 invites a note right after a check-in is answered.
  When a button press makes the engine replace a check-in with its outcome
  (``update_checkin``), a reply with buttons in that same handling is that
  invitation, and gets the Slack-only `Add a note` button next to the engine's.
  `Talk to someone` answers nothing (the check-in stays open), and confirmations
  such as `/forgetme` are not replies to a check-in, so neither gets one.

Both are context variables, so only sends made while handling that request (the
same task) are affected; a fan-out or another person's reply at the same moment
is not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from bot.events import CommandReceived, EventSink
from bot.messages import Message


@dataclass
class HomeRequest:
    """Whose Home tab is being built, and the engine's answers so far."""

    user: str
    replies: list[Message] = field(default_factory=list)


@dataclass
class ButtonPress:
    """A press being handled, and whether it answered a check-in."""

    user: str
    answered_checkin: bool = False


_HOME_REQUEST: ContextVar[HomeRequest | None] = ContextVar("kiln_slack_home", default=None)
_BUTTON_PRESS: ContextVar[ButtonPress | None] = ContextVar("kiln_slack_press", default=None)


def keep_for_home(user: str, message: Message) -> bool:
    """Keep ``message`` for the Home tab if it answers a request made there.

    Returns:
        True if it was kept (and so must not be posted in the DM).
    """
    request = _HOME_REQUEST.get()
    if request is None or request.user != user:
        return False
    request.replies.append(message)
    return True


async def answers_for_home(
    user: str, requests: Sequence[CommandReceived], sink: EventSink
) -> list[Message]:
    """Pass ``requests`` to the engine and return what it answered, in order."""
    request = HomeRequest(user)
    token = _HOME_REQUEST.set(request)
    try:
        for event in requests:
            await sink(event)
    finally:
        _HOME_REQUEST.reset(token)
    return request.replies


@contextmanager
def button_press(user: str) -> Iterator[ButtonPress]:
    """Mark the engine's handling of one button press by ``user``."""
    press = ButtonPress(user)
    token = _BUTTON_PRESS.set(press)
    try:
        yield press
    finally:
        _BUTTON_PRESS.reset(token)


def checkin_answered(user: str) -> None:
    """Record that the press being handled replaced ``user``'s check-in with its outcome."""
    press = _BUTTON_PRESS.get()
    if press is not None and press.user == user:
        press.answered_checkin = True


def invites_note(user: str, message: Message) -> bool:
    """True for the reply with buttons that follows an answered check-in."""
    press = _BUTTON_PRESS.get()
    return (
        bool(message.buttons)
        and press is not None
        and press.user == user
        and press.answered_checkin
    )
