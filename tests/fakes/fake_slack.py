"""A test double of the Slack Web API and Socket Mode, served over real HTTP.

Point the real clients at it::

    async with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="U1", text="hi")
        [call] = await slack.wait_for("chat.postMessage")

Every ``/api/{method}`` request is recorded as a ``Call`` whose ``args`` merge
the query string, form fields and JSON body (slack_sdk sends
``conversations.open`` as query parameters but ``chat.postMessage`` as JSON),
with JSON-valued fields such as ``blocks`` decoded whichever way they came.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSCloseCode, WSMsgType, web

from .http_fake import Args, Call, HttpFake, Override, Predicate, Reply

EnvelopeType = Literal["events_api", "interactive", "slash_commands"]

# Fields Slack accepts either as JSON values or as JSON-encoded strings (form
# encoding, or slack_sdk's files.completeUploadExternal): decoded so tests can
# assert on structure regardless of transport.
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})
# users[...] keys that Slack reports inside "profile", not at the top level.
PROFILE_ONLY = frozenset({"email", "display_name"})


def _ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def _error(error: str) -> dict[str, Any]:
    # Slack reports API errors with HTTP 200 and ok=false.
    return {"ok": False, "error": error}


@dataclass
class SlackUpload:
    """One file announced with files.getUploadURLExternal, with its bytes once uploaded."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = field(default=None, repr=False)


class SocketModeServer:
    """The Socket Mode half of the fake: a WebSocket that pushes envelopes and collects acks.

    Shaped after what ``slack_sdk.socket_mode.aiohttp.SocketModeClient``
    relies on: a ``hello`` text message first, envelopes as JSON text
    messages, acks back as ``{"envelope_id": ..., "payload"?: ...}``, ping
    frames answered with pongs echoing the data (aiohttp's autoping does that).
    """

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.received: list[dict[str, Any]] = []  # every JSON message clients sent (acks)
        self.connections = 0  # connections ever accepted; >1 means the client reconnected
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Condition()

    @property
    def connected(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0)  # bounded close handshake
        await ws.prepare(request)
        self.connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": self.connected + 1,
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._sockets.append(ws)
        await self._touch()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        finally:
            self._sockets.remove(ws)
            await self._touch()
        return ws

    def _on_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        self.received.append(message)
        waiter = self._acks.get(str(message.get("envelope_id")))
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    async def _touch(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_connection(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing deadline, as in HttpFake.wait_for
        count: int = 1,
    ) -> None:
        """Wait until the ``count``-th connection ever was made and a client is connected.

        ``count=2`` therefore waits for the reconnect after ``disconnect()``.
        """
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(
                    lambda: self.connections >= count and self.connected > 0
                )
        except TimeoutError:
            raise AssertionError(
                f"connection #{count} of a Socket Mode client not made within {timeout}s "
                f"({self.connected} connected, {self.connections} ever)"
            ) from None

    async def send(
        self,
        envelope_type: EnvelopeType,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Push one envelope to the most recently connected client; returns its envelope_id."""
        sockets = [ws for ws in self._sockets if not ws.closed]
        if not sockets:
            raise AssertionError("no Socket Mode client is connected; await wait_for_socket()")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": dict(payload),
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":  # only Events API envelopes carry retry info
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        # Register before sending: a fast client may ack before send_json returns.
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        await sockets[-1].send_json(envelope)
        return envelope_id

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing deadline
    ) -> dict[str, Any]:
        """The message the client sent back for ``envelope_id``."""
        waiter = self._acks.get(envelope_id)
        if waiter is None:
            raise KeyError(f"envelope {envelope_id} was never sent")
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            raise AssertionError(f"envelope {envelope_id} not acked within {timeout}s") from None

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask clients to reconnect, as Slack does every few hours."""
        for ws in list(self._sockets):
            if not ws.closed:
                await ws.send_json(
                    {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
                )

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        for waiter in self._acks.values():
            waiter.cancel()


class FakeSlack(HttpFake):
    """Slack Web API + Socket Mode double; see the module docstring.

    State tests may set or inspect: ``users`` (user_id → {"tz", "real_name",
    "name", "email", ...}), ``emails`` (email → user_id), ``messages``
    ((channel, ts) → message), ``views`` (view_id → view), ``uploads``
    (file_id → SlackUpload), ``socket`` (the SocketModeServer).

    Methods without a handler answer ``{"ok": true}``. Close Socket Mode
    clients before the fake: a connected client would otherwise try to
    reconnect to a server that is going away.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0KILN",
        bot_user_id: str = "U0KILNBOT",
        bot_id: str = "B0KILN",
        app_id: str = "A0KILN",
    ) -> None:
        super().__init__()
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.users: dict[str, dict[str, Any]] = {}
        self.emails: dict[str, str] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, SlackUpload] = {}
        self.socket = SocketModeServer(app_id)
        self._serial = itertools.count(1)
        self._epoch = int(time.time())
        self._handlers: dict[str, Callable[[Args], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    @property
    def api_url(self) -> str:
        """What to pass as slack_sdk's ``base_url`` (it must end in ``/api/``)."""
        return f"{self.url}/api/"

    # -- scripting helpers ------------------------------------------------------

    def respond_error(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        times: int | None = 1,
        when: Predicate | None = None,
    ) -> Override:
        """Shortcut for ``respond(method, {"ok": False, "error": error}, ...)``.

        ``retry_after`` adds the ``Retry-After`` header (use with status 429).
        """
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return self.respond(method, _error(error), status, headers, times, when)

    # -- Socket Mode -------------------------------------------------------------

    async def socket_send(
        self,
        envelope_type: EnvelopeType,
        payload: Mapping[str, Any],
        accepts_response_payload: bool = False,
    ) -> str:
        return await self.socket.send(
            envelope_type, payload, accepts_response_payload=accepts_response_payload
        )

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing deadline
    ) -> dict[str, Any]:
        return await self.socket.wait_for_ack(envelope_id, timeout)

    async def wait_for_socket(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - test-facing deadline
        count: int = 1,
    ) -> None:
        await self.socket.wait_for_connection(timeout, count)

    # -- realistic inbound payloads ---------------------------------------------

    def message_event(
        self, user_id: str, text: str, *, channel: str | None = None, channel_type: str = "im"
    ) -> dict[str, Any]:
        """An Events API ``event_callback`` payload for a user's message (a DM by default)."""
        ts = self._next_ts()
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": {
                "type": "message",
                "channel": channel or self._dm_channel(user_id),
                "channel_type": channel_type,
                "user": user_id,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "team": self.team_id,
                "client_msg_id": str(uuid.uuid4()),
            },
            "type": "event_callback",
            "event_id": f"Ev{next(self._serial):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        message_ts: str | None = None,
        channel: str | None = None,
        block_id: str = "kiln",
    ) -> dict[str, Any]:
        """An ``interactive`` ``block_actions`` payload for a button click on a bot message."""
        channel = channel or self._dm_channel(user_id)
        ts = message_ts or self._next_ts()
        message = self.messages.get((channel, ts)) or self._message(channel, ts, {"text": ""})
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": self.app_id,
            "token": "fake-verification-token",
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._serial)}.{self.team_id}.fake",
            "team": {"id": self.team_id, "domain": "kiln-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "directmessage"},
            "message": message,
            "state": {"values": {}},
            "response_url": f"{self.url}/response/{next(self._serial)}",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": self._next_ts(),
                }
            ],
        }

    # -- HttpFake hooks -----------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/api/{method}", self._api)
        router.add_post("/upload/v1/{file_id}", self._upload)
        router.add_post("/response/{id}", self._response_url)
        router.add_get("/socket", self.socket.handle)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        return await self.dispatch(request, request.match_info["method"])

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        # Bolt's respond() posts here; recorded like an API method.
        return await self.dispatch(request, "response_url")

    def _normalise_args(self, args: Args) -> Args:
        for name in JSON_FIELDS & args.keys():
            value = args[name]
            if isinstance(value, str) and value[:1] in ("[", "{"):
                # Malformed JSON stays a string for the test to see.
                with contextlib.suppress(ValueError):
                    args[name] = json.loads(value)
        return args

    async def _default_reply(self, call: Call) -> Reply:
        if call.method == "apps.connections.open" and not str(call.bearer_token).startswith(
            "xapp-"
        ):
            # Slack wants the app-level token here; passing the bot token is a
            # classic Socket Mode setup bug worth failing on.
            return Reply(_error("not_allowed_token_type"))
        handler = self._handlers.get(call.method)
        return Reply(handler(call.args) if handler is not None else _ok())

    def _fault_reply(self, kind: str) -> Reply:
        if kind == "429":
            return Reply(_error("ratelimited"), 429, {"Retry-After": "1"})
        return Reply(_error("internal_error"), 500)

    async def _before_close(self) -> None:
        await self.socket.close()

    # -- default handlers ----------------------------------------------------------

    def _next_ts(self) -> str:
        # Strictly increasing, like Slack's; tests never post a million messages.
        return f"{self._epoch}.{next(self._serial):06d}"

    @staticmethod
    def _dm_channel(user_id: str) -> str:
        return f"D{user_id}"

    def _message(self, channel: str, ts: str, args: Args) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": args.get("text", ""),
        }
        for name in ("blocks", "attachments", "metadata", "thread_ts"):
            if name in args:
                message[name] = args[name]
        self.messages[(channel, ts)] = message
        return message

    def _auth_test(self, args: Args) -> dict[str, Any]:
        return _ok(
            url="https://kiln-test.slack.com/",
            team="Kiln Test",
            user="kiln",
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )

    def _apps_connections_open(self, args: Args) -> dict[str, Any]:
        # A fresh ticket per call, as Slack issues; the path is what the fake serves.
        ws_url = self.url.replace("http://", "ws://", 1)
        return _ok(url=f"{ws_url}/socket?ticket={uuid.uuid4()}")

    def _conversations_open(self, args: Args) -> dict[str, Any]:
        if "channel" in args:
            return _ok(channel={"id": args["channel"]})
        users = str(args.get("users", ""))
        if not users:
            return _error("users_list_not_supplied")
        # A stable id per user (set): adapters may cache it, tests may predict it.
        channel_id = self._dm_channel(users) if "," not in users else f"G{users.replace(',', '')}"
        return _ok(channel={"id": channel_id})

    def _target_channel(self, args: Args) -> str:
        # Posting to a user id delivers to the DM with the bot, as in Slack.
        channel = str(args["channel"])
        return self._dm_channel(channel) if channel[:1] in ("U", "W") else channel

    def _chat_post_message(self, args: Args) -> dict[str, Any]:
        if not args.get("channel"):
            return _error("channel_not_found")
        if not any(args.get(name) for name in ("text", "blocks", "attachments")):
            return _error("no_text")
        channel = self._target_channel(args)
        ts = self._next_ts()
        return _ok(channel=channel, ts=ts, message=self._message(channel, ts, args))

    def _chat_update(self, args: Args) -> dict[str, Any]:
        if not args.get("channel") or not args.get("ts"):
            return _error("invalid_arguments")
        channel, ts = self._target_channel(args), str(args["ts"])
        # Lenient: updating a message the fake never saw (e.g. from a hand-made
        # block_actions payload) succeeds and stores it.
        message = self._message(channel, ts, args)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return _ok(channel=channel, ts=ts, text=message["text"], message=message)

    def _chat_post_ephemeral(self, args: Args) -> dict[str, Any]:
        if not args.get("channel") or not args.get("user"):
            return _error("invalid_arguments")
        return _ok(message_ts=self._next_ts())

    def _view(self, view_id: str, args: Args) -> dict[str, Any]:
        spec = args.get("view")
        if not isinstance(spec, dict):
            spec = {}
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._serial)}",
            "root_view_id": view_id,
            "previous_view_id": None,
            **spec,
        }
        self.views[view_id] = view
        return view

    def _views_open(self, args: Args) -> dict[str, Any]:
        if not args.get("trigger_id") or not isinstance(args.get("view"), dict):
            return _error("invalid_arguments")
        return _ok(view=self._view(f"V{next(self._serial):08d}", args))

    def _views_update(self, args: Args) -> dict[str, Any]:
        view_id = args.get("view_id") or f"V{next(self._serial):08d}"
        return _ok(view=self._view(str(view_id), args))

    def _views_publish(self, args: Args) -> dict[str, Any]:
        if not args.get("user_id") or not isinstance(args.get("view"), dict):
            return _error("invalid_arguments")
        return _ok(view=self._view(f"VH{args['user_id']}", args))

    def _user_object(self, user_id: str) -> dict[str, Any]:
        record = self.users[user_id]
        tz_name = str(record.get("tz", "Europe/London"))
        try:
            now = datetime.now(ZoneInfo(tz_name))
            offset = now.utcoffset()
            tz_offset, tz_label = int(offset.total_seconds()) if offset else 0, now.tzname()
        except ZoneInfoNotFoundError:
            tz_offset, tz_label = 0, tz_name
        real_name = str(record.get("real_name", user_id))
        profile: dict[str, Any] = {
            "real_name": real_name,
            "display_name": record.get("display_name", real_name),
        }
        if "email" in record:
            profile["email"] = record["email"]
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": record.get("name", user_id.lower()),
            "deleted": False,
            "real_name": real_name,
            "tz": tz_name,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "is_bot": False,
            "is_admin": False,
            "updated": int(datetime.now(UTC).timestamp()),
            "profile": profile,
            **{key: value for key, value in record.items() if key not in PROFILE_ONLY},
        }

    def _users_info(self, args: Args) -> dict[str, Any]:
        user_id = str(args.get("user", ""))
        if user_id not in self.users:
            return _error("user_not_found")
        return _ok(user=self._user_object(user_id))

    def _users_lookup_by_email(self, args: Args) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        user_id = {key.lower(): value for key, value in self.emails.items()}.get(email)
        if user_id is None:
            user_id = next(
                (
                    uid
                    for uid, rec in self.users.items()
                    if str(rec.get("email", "")).lower() == email
                ),
                None,
            )
        if user_id is None:
            return _error("users_not_found")
        self.users.setdefault(user_id, {"email": email})
        return _ok(user=self._user_object(user_id))

    def _files_get_upload_url(self, args: Args) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return _error("invalid_arguments")
        file_id = f"F{next(self._serial):08d}"
        self.uploads[file_id] = SlackUpload(file_id, str(args["filename"]), int(args["length"]))
        return _ok(upload_url=f"{self.url}/upload/v1/{file_id}", file_id=file_id)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        # Slack's upload host answers in plain text; slack_sdk only checks the status.
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file_not_found")
        upload.data = await request.read()
        return web.Response(text=f"OK - {len(upload.data)}")

    def _files_complete_upload(self, args: Args) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        completed = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload.data is None:
                return _error("file_not_found")
            completed.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": item.get("title", upload.filename),
                    "size": len(upload.data),
                    "channels": [args["channel_id"]] if args.get("channel_id") else [],
                }
            )
        return _ok(files=completed)
