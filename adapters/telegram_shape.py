"""Is an update shaped like one Telegram sends? Checked before any handler looks at it.

python-telegram-bot builds an ``Update`` from whatever JSON arrives and checks no
types: a chat that is missing, or a name that is a number, only fails later, deep in
a filter or in ``telegram_events``. Telegram never sends such updates; someone who
knows the webhook secret might. They are dropped before they are queued for handling,
with one quiet log line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Chat, Message, MessageEntity, Update, User

logger = logging.getLogger(__name__)


def _text(value: Any, *, optional: bool = True) -> bool:
    return isinstance(value, str) or (optional and value is None)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _user_ok(user: Any) -> bool:
    return (
        isinstance(user, User)
        and _integer(user.id)
        and _text(user.first_name, optional=False)
        and all(_text(v) for v in (user.last_name, user.username, user.language_code))
    )


def _chat_ok(chat: Any) -> bool:
    return isinstance(chat, Chat) and _integer(chat.id) and _text(chat.type, optional=False)


def _entity_ok(entity: Any) -> bool:
    return (
        isinstance(entity, MessageEntity)
        and _text(entity.type, optional=False)
        and _integer(entity.offset)
        and _integer(entity.length)
    )


def _message_ok(message: Any) -> bool:
    if not isinstance(message, Message):
        return False
    if not (_integer(message.message_id) and _chat_ok(message.chat) and _text(message.text)):
        return False
    if message.from_user is not None and not _user_ok(message.from_user):
        return False
    entities = message.entities
    return isinstance(entities, tuple | list) and all(_entity_ok(e) for e in entities)


def well_formed(update: Update) -> bool:
    """False for an update whose fields kiln reads are missing or of the wrong type."""
    if not _integer(update.update_id):
        return False
    query = update.callback_query
    if query is not None:
        if not (_user_ok(query.from_user) and _text(query.data)):
            return False
        return query.message is None or _message_ok(query.message)
    for message in (update.message, update.edited_message, update.channel_post):
        if message is not None and not _message_ok(message):
            return False
    return True


class ShapedQueue(asyncio.Queue[object]):
    """PTB's update queue, refusing malformed updates at the door.

    Filtering here, not in a handler, matters: PTB's update loop itself reads fields
    of each update (to group them for persistence), and one update with, say, a chat
    id that is an object ends that loop for good, so kiln would hear nothing more.
    """

    def put_nowait(self, item: object) -> None:
        """Queue ``item`` unless it is an update not shaped like Telegram's."""
        if isinstance(item, Update) and not well_formed(item):
            logger.info("telegram: ignored an update not shaped like Telegram's")
            return
        super().put_nowait(item)
