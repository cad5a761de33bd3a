"""Telegram updates in, kiln events out: translation only, every decision is the engine's.

``event_id`` is the update's ``update_id``: Telegram redelivers an update with the same
id (a webhook retry, a restart before the offset was confirmed), so the engine's event
log recognises repeats. Message references are ``"<chat_id>:<message_id>"``.
"""

from __future__ import annotations

import logging

from telegram import Chat, MessageEntity, Update

from bot.events import ChoiceSelected, CommandReceived, InboundEvent, MessageReceived

logger = logging.getLogger(__name__)

PLATFORM = "telegram"


def message_ref(chat_id: int, message_id: int) -> str:
    """The reference kiln keeps for a sent message."""
    return f"{chat_id}:{message_id}"


def parse_ref(ref: str) -> tuple[int, int]:
    """``(chat_id, message_id)`` from a reference made by :func:`message_ref`.

    Raises:
        ValueError: if ``ref`` is not one of ours.
    """
    chat_id, _, message_id = ref.partition(":")
    return int(chat_id), int(message_id)


def chat_id_for(recipient: str) -> int | str:
    """A user id or chat id as Telegram wants it; ``@channel`` names stay text."""
    stripped = recipient.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


def is_private(chat: Chat | None) -> bool:
    """kiln only talks one to one."""
    return chat is not None and chat.type == Chat.PRIVATE


def to_event(update: Update, bot_username: str | None = None) -> InboundEvent | None:
    """The kiln event for a private-chat update, or None if kiln has no use for it.

    Commands become ``CommandReceived`` (``/pause 3`` → name ``pause``, args ``("3",)``),
    other text ``MessageReceived`` and button presses ``ChoiceSelected``. Group chats,
    edits, stickers, photos and commands meant for another bot are not events.
    """
    event_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None or not is_private(message.chat) or query.data is None:
            return None
        return ChoiceSelected(
            event_id,
            PLATFORM,
            str(query.from_user.id),
            value=query.data,
            message_ref=message_ref(message.chat.id, message.message_id),
            display_name=query.from_user.full_name or None,
            locale=query.from_user.language_code,
        )
    message = update.message
    if message is None or not is_private(message.chat) or message.from_user is None:
        return None
    text = message.text
    if not text:
        return None
    sender = message.from_user
    user = str(sender.id)
    entity = message.entities[0] if message.entities else None
    if entity is not None and entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
        # Entity lengths count UTF-16 units; a command is ASCII, so they match str indices.
        command = text[1 : entity.length]
        name, _, addressee = command.partition("@")
        if addressee and bot_username and addressee.lower() != bot_username.lower():
            return None
        return CommandReceived(
            event_id,
            PLATFORM,
            user,
            name=name.lower(),
            args=tuple(text[entity.length :].split()),
            display_name=sender.full_name or None,
            locale=sender.language_code,
        )
    return MessageReceived(
        event_id,
        PLATFORM,
        user,
        text=text,
        display_name=sender.full_name or None,
        locale=sender.language_code,
    )
