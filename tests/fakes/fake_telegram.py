"""A test double of the Telegram Bot API, served over real HTTP.

Point python-telegram-bot at it::

    async with FakeTelegram() as tg:
        app = (
            Application.builder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        tg.push_update(tg.message_update(42, "/start abc"))

Calls to ``/bot{token}/{method}`` are recorded as ``Call``s. PTB sends every
parameter as a form field, JSON-encoding the non-string ones (``chat_id=42``
arrives as the string ``"42"``, ``reply_markup`` as a JSON string), and switches
to multipart when a file is attached; ``args`` undo that encoding for the
parameters listed below so tests compare against plain Python values.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .http_fake import Args, Call, HttpFake, Override, Predicate, Reply

INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
    }
)
BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "has_spoiler",
        "disable_content_type_detection",
    }
)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
MAX_MESSAGE_LENGTH = 4096  # Bot API limit, in UTF-16 code units
NO_RESULT: Any = True  # what Bot API methods without a richer result return


def _utf16_len(text: str) -> int:
    # Telegram measures text (and entity offsets/lengths) in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def telegram_error(code: int, description: str, retry_after: int | None = None) -> Reply:
    """A Bot API error reply; PTB maps code/parameters to its exception classes."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Reply(body, code)


@dataclass
class TelegramFile:
    """A file the bot sent (or referenced by file_id); ``data`` is None if never uploaded."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str | None = None
    mime_type: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


class UpdateQueue:
    """Pending updates with Bot API getUpdates semantics (offset confirms, long poll wakes)."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self._last_id = 0
        self._arrived = asyncio.Event()

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self.next_id()
        else:
            # Keep later generated ids above hand-written ones.
            self._last_id = max(self._last_id, int(update["update_id"]))
        self.pending.append(update)
        self.wake()
        return update

    def wake(self) -> None:
        # Swap the event so waiters that arrive later wait for the next push.
        self._arrived.set()
        self._arrived = asyncio.Event()

    def confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        else:
            self.pending = self.pending[offset:]  # negative: keep only the last -offset

    def clear(self) -> None:
        self.pending.clear()

    async def wait(self, seconds: float) -> None:
        if self.pending or seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), seconds)


class FakeTelegram(HttpFake):
    """Telegram Bot API double; see the module docstring.

    State tests may set or inspect: ``updates`` (the UpdateQueue),
    ``messages`` ((chat_id, message_id) → Message dict, both sent by the bot
    and built by the update helpers), ``chats`` (chat_id → Chat dict),
    ``files`` (file_id → TelegramFile), ``commands``, ``webhook_url``.

    Realistic refusals adapters must cope with: an empty or >4096-character
    text, editing an unknown message, and a no-op edit ("message is not
    modified") answer 400; getUpdates answers 409 while a webhook is set.
    Methods without a handler here answer ``{"ok": true, "result": true}``,
    which is what most Bot API methods return.
    """

    def __init__(
        self,
        *,
        token: str = "7000000001:AAFakeKilnTestToken",  # noqa: S107 - a fake's fake token
        bot_username: str = "kiln_test_bot",
        max_poll_wait: float = 1.0,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_username = bot_username
        # getUpdates long polls at most this long, whatever timeout the client asks for.
        self.max_poll_wait = max_poll_wait
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 7000000001
        self.updates = UpdateQueue()
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.files: dict[str, TelegramFile] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._message_ids = itertools.count(1)
        self._serial = itertools.count(1)
        self._handlers: dict[str, Callable[[Call], Reply]] = {
            "getMe": lambda call: self._ok(self.bot_user),
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
        }

    @property
    def base_url(self) -> str:
        """PTB's ``base_url`` (it appends the token itself)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Kiln",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # -- scripting helpers ------------------------------------------------------

    def respond_error(
        self,
        method: str,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int | None = 1,
        when: Predicate | None = None,
    ) -> Override:
        """E.g. ``respond_error("sendMessage", 403, "Forbidden: bot was blocked by the user")``."""
        reply = telegram_error(code, description, retry_after)
        return self.respond(method, reply.body, reply.status, times=times, when=when)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (assigning ``update_id`` if missing); returns it."""
        return self.updates.push(update)

    def message_update(
        self,
        user_id: int,
        text: str,
        chat_type: str = "private",
        first_name: str = "Alex",
        language_code: str = "en",
        *,
        chat_id: int | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """An Update with a user's text message; ``/commands`` get a bot_command entity."""
        user = self._user(user_id, first_name, language_code, username)
        if chat_type == "private":
            chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
            if username:
                chat["username"] = username
        else:
            chat = {"id": chat_id or -(10**9 + user_id), "type": chat_type, "title": "Kiln test"}
        self.chats[chat["id"]] = chat
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            # Without this entity PTB's CommandHandler ignores the text.
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        self.messages[(chat["id"], message["message_id"])] = message
        return {"update_id": self.updates.next_id(), "message": message}

    def callback_update(
        self,
        user_id: int,
        data: str,
        message_id: int | None = None,
        *,
        chat_id: int | None = None,
        first_name: str = "Alex",
        language_code: str = "en",
    ) -> dict[str, Any]:
        """An Update with an inline-button press on a bot message (the last sent, by default)."""
        chat_key = chat_id if chat_id is not None else user_id
        if message_id is None:
            sent = [
                mid
                for (cid, mid), m in self.messages.items()
                if cid == chat_key and m["from"]["is_bot"]
            ]
            message_id = max(sent) if sent else next(self._message_ids)
        message = self.messages.get((chat_key, message_id))
        if message is None:
            # A hand-picked message id: invent the bot message it belongs to,
            # and remember it so the handler can edit it.
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat(chat_key),
                "date": int(time.time()),
                "text": "…",
            }
            self.messages[(chat_key, message_id)] = message
        callback = {
            "id": str(4_000_000_000_000_000 + next(self._serial)),
            "from": self._user(user_id, first_name, language_code, None),
            "message": message,
            "chat_instance": str(-(10**18) - chat_key),
            "data": data,
        }
        return {"update_id": self.updates.next_id(), "callback_query": callback}

    # -- HttpFake hooks -----------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/bot{token}/{method}", self._api)
        router.add_get("/file/bot{token}/{path:.+}", self._download)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        rejection = None
        if request.match_info["token"] != self.token:
            rejection = telegram_error(401, "Unauthorized")
        return await self.dispatch(request, request.match_info["method"], rejection=rejection)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return telegram_error(401, "Unauthorized").to_response()
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None or stored.data is None:
            return telegram_error(404, "Not Found").to_response()
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _normalise_args(self, args: Args) -> Args:
        for name, value in list(args.items()):
            if not isinstance(value, str):
                continue
            if name in INT_FIELDS and value.lstrip("-").isdigit():
                args[name] = int(value)
            elif name in BOOL_FIELDS and value in ("true", "false"):
                args[name] = value == "true"
            elif name in JSON_FIELDS and value[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    args[name] = json.loads(value)
        return args

    async def _default_reply(self, call: Call) -> Reply:
        if call.method == "getUpdates":
            return await self._get_updates(call)
        handler = self._handlers.get(call.method)
        # close, logOut, answerCallbackQuery, sendChatAction, ...: plain True.
        return handler(call) if handler is not None else self._ok(NO_RESULT)

    def _fault_reply(self, kind: str) -> Reply:
        if kind == "429":
            return telegram_error(429, "Too Many Requests: retry after 1", retry_after=1)
        return telegram_error(500, "Internal Server Error")

    async def _before_close(self) -> None:
        self.updates.wake()  # end long polls now rather than at max_poll_wait

    # -- default handlers ----------------------------------------------------------

    @staticmethod
    def _ok(result: Any) -> Reply:
        return Reply({"ok": True, "result": result})

    @staticmethod
    def _user(
        user_id: int, first_name: str, language_code: str, username: str | None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            user["username"] = username
        return user

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, str):  # "@channelname": give it a stable numeric id
            known = next((c for c in self.chats.values() if c.get("username") == chat_id[1:]), None)
            if known is not None:
                return known
            numeric = -1_000_000_000_000 - len(self.chats) - 1
            channel = {"id": numeric, "type": "channel", "title": chat_id, "username": chat_id[1:]}
            self.chats[numeric] = channel
            return channel
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "group", "title": "Kiln test"}

    def _new_message(self, call: Call, **content: Any) -> dict[str, Any]:
        chat = self._chat(call.args["chat_id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._apply_markup(message, call.args.get("reply_markup"))
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    @staticmethod
    def _apply_markup(message: dict[str, Any], markup: Any) -> None:
        # Telegram echoes only inline keyboards back in the Message.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _send_message(self, call: Call) -> Reply:
        text = call.args.get("text")
        if "chat_id" not in call.args:
            return telegram_error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return telegram_error(400, "Bad Request: message text is empty")
        if _utf16_len(text) > MAX_MESSAGE_LENGTH:
            return telegram_error(400, "Bad Request: message is too long")
        content: dict[str, Any] = {"text": text}
        if isinstance(call.args.get("entities"), list):
            content["entities"] = call.args["entities"]
        return self._ok(self._new_message(call, **content))

    def _find_message(self, call: Call) -> dict[str, Any] | None:
        chat_id, message_id = call.args.get("chat_id"), call.args.get("message_id")
        if isinstance(chat_id, int) and isinstance(message_id, int):
            return self.messages.get((chat_id, message_id))
        return None

    def _edit(self, call: Call, text: str | None) -> Reply:
        if "inline_message_id" in call.args:
            return self._ok(True)
        message = self._find_message(call)
        if message is None:
            return telegram_error(400, "Bad Request: message to edit not found")
        markup = call.args.get("reply_markup")
        if (text is None or text == message.get("text")) and markup == message.get("reply_markup"):
            # Real Telegram rejects no-op edits; adapters must tolerate this.
            return telegram_error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        if text is not None:
            message["text"] = text
        self._apply_markup(message, markup)
        message["edit_date"] = int(time.time())
        return self._ok(message)

    def _edit_message_text(self, call: Call) -> Reply:
        text = call.args.get("text")
        if not isinstance(text, str) or not text.strip():
            return telegram_error(400, "Bad Request: text must be non-empty")
        return self._edit(call, text)

    def _edit_message_reply_markup(self, call: Call) -> Reply:
        return self._edit(call, None)

    def _store_file(self, call: Call, field_name: str, folder: str) -> TelegramFile | None:
        upload = next((f for f in call.files if f.name == field_name), None)
        if upload is None:
            reference = call.args.get(field_name)
            if not isinstance(reference, str) or not reference:
                return None
            if reference in self.files:  # re-sending by file_id
                return self.files[reference]
        serial = next(self._serial)
        stored = TelegramFile(
            file_id=f"FAKE{folder.upper()}{serial:06d}",
            file_unique_id=f"U{serial:06d}",
            file_path=f"{folder}/file_{serial}",
        )
        if upload is not None:
            stored.filename, stored.mime_type, stored.data = (
                upload.filename,
                upload.content_type,
                upload.data,
            )
        self.files[stored.file_id] = stored
        return stored

    def _caption(self, call: Call) -> dict[str, Any]:
        caption = call.args.get("caption")
        return {"caption": caption} if isinstance(caption, str) and caption else {}

    def _send_photo(self, call: Call) -> Reply:
        stored = self._store_file(call, "photo", "photos")
        if stored is None:
            return telegram_error(400, "Bad Request: there is no photo in the request")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "width": 320,
            "height": 240,
        }
        return self._ok(self._new_message(call, photo=[size], **self._caption(call)))

    def _send_document(self, call: Call) -> Reply:
        stored = self._store_file(call, "document", "documents")
        if stored is None:
            return telegram_error(400, "Bad Request: there is no document in the request")
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return self._ok(self._new_message(call, document=document, **self._caption(call)))

    def _get_file(self, call: Call) -> Reply:
        stored = self.files.get(str(call.args.get("file_id")))
        if stored is None:
            return telegram_error(400, "Bad Request: invalid file_id")
        return self._ok(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.file_path,
            }
        )

    @staticmethod
    def _commands_key(args: Args) -> str:
        scope = args.get("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{args.get('language_code', '')}"

    def _set_my_commands(self, call: Call) -> Reply:
        commands = call.args.get("commands")
        if not isinstance(commands, list):
            return telegram_error(400, "Bad Request: commands must be an array")
        self.commands[self._commands_key(call.args)] = commands
        return self._ok(True)

    def _get_my_commands(self, call: Call) -> Reply:
        return self._ok(self.commands.get(self._commands_key(call.args), []))

    def _delete_my_commands(self, call: Call) -> Reply:
        self.commands.pop(self._commands_key(call.args), None)
        return self._ok(True)

    def _set_webhook(self, call: Call) -> Reply:
        url = call.args.get("url")
        if not url:  # setWebhook with an empty url removes it, as in the Bot API
            return self._delete_webhook(call)
        self.webhook_url = str(url)
        self.webhook_secret = call.args.get("secret_token")
        if call.args.get("drop_pending_updates"):
            self.updates.clear()
        return self._ok(True)

    def _delete_webhook(self, call: Call) -> Reply:
        self.webhook_url = self.webhook_secret = None
        if call.args.get("drop_pending_updates"):
            self.updates.clear()
        return self._ok(True)

    def _get_webhook_info(self, call: Call) -> Reply:
        return self._ok(
            {
                "url": self.webhook_url or "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates.pending),
            }
        )

    async def _get_updates(self, call: Call) -> Reply:
        if self.webhook_url:
            return telegram_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = call.args.get("offset")
        self.updates.confirm(offset if isinstance(offset, int) else None)
        timeout = call.args.get("timeout", 0)
        if isinstance(timeout, int) and timeout > 0 and not self._closing.is_set():
            await self.updates.wait(min(float(timeout), self.max_poll_wait))
        limit = call.args.get("limit", 100)
        limit = limit if isinstance(limit, int) and 1 <= limit <= 100 else 100
        return self._ok(self.updates.pending[:limit])
