"""The fakes must hold up against the REAL clients, or adapter tests prove nothing.

Every test drives slack_sdk / slack_bolt / python-telegram-bot over real HTTP
on 127.0.0.1 and checks both sides: what the client returned or raised, and
what the fake recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.say.async_say import AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.http_fake import FAULT_KINDS, Faults

BOT_TOKEN = "xoxb-kiln-test"
APP_TOKEN = "xapp-1-kiln-test"
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("😊 good", callback_data="mood:4")]],
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    # `async with Bot` runs initialize() (getMe) and shutdown() (closes httpx).
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as real_bot:
        yield real_bot


def web_client(slack: FakeSlack, **kwargs: object) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, **kwargs)  # type: ignore[arg-type]


# -- Slack Web API ---------------------------------------------------------------


async def test_post_message_records_json_args_and_returns_a_message(slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "How are you today?"}}]
    client = web_client(slack)

    first = await client.chat_postMessage(channel="U123", text="Check-in", blocks=blocks)
    second = await client.chat_postMessage(channel="U123", text="again")

    [call, _] = slack.calls("chat.postMessage")
    assert call.args == {"channel": "U123", "text": "Check-in", "blocks": blocks}
    assert call.bearer_token == BOT_TOKEN
    assert first["channel"] == "DU123"  # posting to a user id lands in the DM
    assert first["message"]["blocks"] == blocks
    assert float(second["ts"]) > float(first["ts"])


async def test_conversations_open_merges_query_args(slack: FakeSlack) -> None:
    response = await web_client(slack).conversations_open(users="U123")

    [call] = slack.calls("conversations.open")
    assert call.args == {"users": "U123"}  # slack_sdk sent these as query parameters
    assert response["channel"]["id"] == "DU123"


async def test_missing_text_is_rejected_like_slack(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo, pytest.warns(UserWarning, match="`text`"):
        await web_client(slack).chat_postMessage(channel="U1")
    assert excinfo.value.response["error"] == "no_text"
    assert slack.calls("chat.postMessage", delivered=True)  # answered by the default handler


async def test_override_hits_only_the_matching_channel(slack: FakeSlack) -> None:
    slack.respond_error("chat.postMessage", "account_inactive", when=lambda a: a["channel"] == "U2")
    client = web_client(slack)

    await client.chat_postMessage(channel="U1", text="hi")
    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="U2", text="hi")
    await client.chat_postMessage(channel="U2", text="hi")  # times=1: used up

    assert excinfo.value.response["error"] == "account_inactive"
    assert [c.overridden for c in slack.calls("chat.postMessage")] == [False, True, False]


async def test_rate_limit_is_retried_after_retry_after_and_delivered_once(slack: FakeSlack) -> None:
    slack.respond(
        "chat.postMessage", {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"}
    )
    client = web_client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])

    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.chat_postMessage(channel="U1", text="hi")

    assert response["ok"]
    assert loop.time() - started >= 1.0  # honoured Retry-After
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
    assert len(slack.calls("chat.postMessage", delivered=True)) == 1


async def test_server_error_is_retried(slack: FakeSlack) -> None:
    slack.respond("chat.postMessage", {"ok": False, "error": "internal_error"}, 500)
    client = web_client(slack, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)])

    response = await client.chat_postMessage(channel="U1", text="hi")

    assert response["ok"]
    assert [c.status for c in slack.calls("chat.postMessage")] == [500, 200]


async def test_files_upload_v2_end_to_end(slack: FakeSlack) -> None:
    response = await web_client(slack).files_upload_v2(
        content=b"date,score\n2025-01-06,4\n", filename="trend.csv", channel="D1", title="Trend"
    )

    assert response["file"]["name"] == "trend.csv"
    [upload] = slack.uploads.values()
    assert upload.data == b"date,score\n2025-01-06,4\n"
    [complete] = slack.calls("files.completeUploadExternal")
    assert complete.args["channel_id"] == "D1"
    assert complete.args["files"] == [{"id": upload.file_id, "title": "Trend"}]


async def test_users_info_and_lookup_by_email(slack: FakeSlack) -> None:
    slack.users["U1"] = {"tz": "Asia/Tokyo", "real_name": "Aiko", "email": "aiko@example.org"}
    client = web_client(slack)

    user = (await client.users_info(user="U1"))["user"]
    by_email = (await client.users_lookupByEmail(email="AIKO@example.org"))["user"]

    assert (user["tz"], user["tz_offset"], user["real_name"]) == ("Asia/Tokyo", 9 * 3600, "Aiko")
    assert user["profile"]["email"] == "aiko@example.org"
    assert by_email["id"] == "U1"
    with pytest.raises(SlackApiError) as excinfo:
        await client.users_info(user="U404")
    assert excinfo.value.response["error"] == "user_not_found"


# -- Slack Socket Mode -------------------------------------------------------------


async def test_socket_mode_client_receives_an_envelope_and_acks(slack: FakeSlack) -> None:
    received: list[SocketModeRequest] = []

    async def on_request(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "noted"})
        )

    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=slack.api_url)
    )
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()  # type: ignore[no-untyped-call]
        await slack.wait_for_socket()
        envelope_id = await slack.socket_send(
            "slash_commands", {"command": "/kiln", "text": "pause", "user_id": "U1"}, True
        )
        ack = await slack.wait_for_ack(envelope_id)

        await slack.socket.disconnect()  # Slack's periodic "refresh_requested"
        await slack.wait_for_socket(count=2)
        after_reconnect = await slack.socket_send("events_api", {"type": "event_callback"})
        await slack.wait_for_ack(after_reconnect)
    finally:
        await client.close()  # type: ignore[no-untyped-call]

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "noted"}}
    assert len(slack.calls("apps.connections.open")) == 2  # a fresh URL for the reconnect
    assert received[0].type == "slash_commands"
    assert received[0].payload["text"] == "pause"
    assert slack.calls("apps.connections.open")[0].bearer_token == APP_TOKEN


async def test_connections_open_rejects_a_bot_token(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        await web_client(slack).apps_connections_open(app_token=BOT_TOKEN)
    assert excinfo.value.response["error"] == "not_allowed_token_type"


async def test_bolt_app_over_socket_mode(slack: FakeSlack) -> None:
    app = AsyncApp(client=web_client(slack), signing_secret="unused-in-socket-mode")
    clicks: list[str] = []

    @app.event("message")
    async def on_message(event: dict[str, str], say: AsyncSay) -> None:
        await say(text=f"you said {event['text']}")

    @app.action("mood")
    async def on_mood(ack: AsyncAck, action: dict[str, str]) -> None:
        await ack()
        clicks.append(action["value"])

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await slack.wait_for_socket()
        event_id = await slack.socket_send("events_api", slack.message_event("U1", "hello"))
        assert (await slack.wait_for_ack(event_id)) == {"envelope_id": event_id}
        [post] = await slack.wait_for("chat.postMessage")  # bolt acks before say() runs

        click = slack.block_action("U1", "mood", "4", message_ts="1.000001")
        await slack.wait_for_ack(await slack.socket_send("interactive", click))
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

    # Bolt's per-request client adds team_id to every call it makes.
    assert post.args == {"channel": "DU1", "text": "you said hello", "team_id": "T0KILN"}
    assert slack.calls("auth.test")  # bolt authorizes lazily, on the first request
    assert clicks == ["4"]


# -- Telegram Bot API ----------------------------------------------------------------


async def test_get_me_and_send_and_edit_message(tg: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "kiln_test_bot"  # from getMe during initialize()

    sent = await bot.send_message(42, "How are you today?", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("Thanks!", chat_id=42, message_id=sent.message_id)

    [call] = tg.calls("sendMessage")
    assert call.args == {
        "chat_id": 42,
        "text": "How are you today?",
        "reply_markup": {"inline_keyboard": [[{"text": "😊 good", "callback_data": "mood:4"}]]},
    }
    assert sent.reply_markup == KEYBOARD
    assert sent.chat.id == 42
    assert isinstance(edited, type(sent))
    assert (edited.text, edited.reply_markup) == ("Thanks!", None)
    # PTB strips "Bad Request: " and capitalises what is left: match case-blind.
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Thanks!", chat_id=42, message_id=sent.message_id)


async def test_send_photo_uploads_multipart_and_downloads_back(tg: FakeTelegram, bot: Bot) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)

    message = await bot.send_photo(42, png, caption="Your week", filename="week.png")
    file = await bot.get_file(message.photo[-1].file_id)

    [call] = tg.calls("sendPhoto")
    [part] = call.files
    assert (part.name, part.filename, part.content_type, part.size) == (
        "photo",
        "week.png",
        "image/png",
        len(png),
    )
    assert call.args == {"chat_id": 42, "caption": "Your week"}
    assert bytes(await file.download_as_bytearray()) == png


async def test_429_raises_retry_after(
    tg: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # opt in to PTB 23's timedelta, no warning
    tg.respond_error("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(42, "hi")

    assert excinfo.value.retry_after.total_seconds() == 1  # type: ignore[union-attr]


async def test_403_for_one_chat_raises_forbidden(tg: FakeTelegram, bot: Bot) -> None:
    tg.respond_error(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        times=None,
        when=lambda a: a["chat_id"] == 7,
    )

    await bot.send_message(42, "hi")
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(7, "hi")

    assert [c.delivered for c in tg.calls("sendMessage")] == [True, False]


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123:wrong", base_url=tg.base_url, base_file_url=tg.base_file_url):
            pass
    assert tg.calls("getMe")[0].status == 401


async def test_application_polls_a_command_and_a_callback(tg: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )
    start_args: list[list[str]] = []
    answers: list[str | None] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        start_args.append(list(context.args or []))
        assert update.effective_message is not None
        await update.effective_message.reply_text("How are you?", reply_markup=KEYBOARD)

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        answers.append(query.data)
        await query.answer("Noted")
        await query.edit_message_text("Thanks for checking in")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(button))
    async with app:  # initialize() ... shutdown()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
        try:
            tg.push_update(tg.message_update(42, "/start abc"))
            [reply] = await tg.wait_for("sendMessage")
            tg.push_update(tg.callback_update(42, "mood:4"))  # presses the last bot message
            [edit] = await tg.wait_for("editMessageText")
        finally:
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()

    assert start_args == [["abc"]]
    assert reply.args["chat_id"] == 42
    assert answers == ["mood:4"]
    assert tg.calls("answerCallbackQuery")[0].args["text"] == "Noted"
    assert edit.args["message_id"] == reply.response["result"]["message_id"]
    assert tg.messages[(42, edit.args["message_id"])]["text"] == "Thanks for checking in"
    assert not tg.updates.pending  # PTB confirmed both updates via offset


async def test_get_updates_honours_offset_and_long_polls(tg: FakeTelegram, bot: Bot) -> None:
    tg.push_update(tg.message_update(1, "one"))
    tg.push_update(tg.message_update(1, "two"))

    first = await bot.get_updates(timeout=1)
    confirmed = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    loop = asyncio.get_running_loop()
    waiting = asyncio.create_task(bot.get_updates(offset=first[-1].update_id + 1, timeout=30))
    await asyncio.sleep(0.1)
    started = loop.time()
    tg.push_update(tg.message_update(1, "three"))
    woken = await waiting

    assert [u.message.text for u in first if u.message] == ["one", "two"]
    assert confirmed == ()
    assert [u.message.text for u in woken if u.message] == ["three"]
    assert loop.time() - started < 0.5  # returned as soon as the update arrived


# -- fault injection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", SlackApiError),
        ("429", SlackApiError),
        ("timeout", TimeoutError),
        ("drop", aiohttp.ServerDisconnectedError),
        ("bad_json", SlackApiError),
    ],
)
async def test_slack_fault_kinds_as_slack_sdk_sees_them(
    slack: FakeSlack, kind: str, error: type[Exception]
) -> None:
    slack.faults = Faults(rate=1.0, kinds=(kind,), timeout_delay=1.5)
    # No retry handlers: the raw error is what an adapter's own retry logic sees.
    client = web_client(slack, retry_handlers=[], timeout=1)

    with pytest.raises(error):
        await client.chat_postMessage(channel="U1", text="hi")

    [call] = slack.calls("chat.postMessage")
    assert call.fault == kind
    assert call.delivered == (kind in ("timeout", "bad_json"))  # took effect, answer lost
    assert slack.faults.injected == {kind: 1}


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", NetworkError),
        ("429", RetryAfter),
        ("timeout", TimedOut),
        ("drop", NetworkError),
        ("bad_json", TelegramError),
    ],
)
async def test_telegram_fault_kinds_as_ptb_sees_them(
    tg: FakeTelegram, bot: Bot, kind: str, error: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    tg.faults = Faults(rate=1.0, kinds=(kind,), timeout_delay=1.5)

    with pytest.raises(error) as excinfo:
        await bot.send_message(42, "hi", read_timeout=0.5)

    assert excinfo.type is error  # not merely a subclass
    assert tg.calls("sendMessage")[0].fault == kind


async def test_fault_switch_injects_roughly_the_share_asked_for(slack: FakeSlack) -> None:
    slack.faults = Faults(rate=0.3, kinds=("500", "429", "drop", "bad_json"), seed=1)
    failures = 0
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=BOT_TOKEN, base_url=slack.api_url, session=session, retry_handlers=[]
        )
        for n in range(200):
            try:
                await client.chat_postMessage(channel="U1", text=f"#{n}")
            except (SlackApiError, aiohttp.ClientError):
                failures += 1

    faults = slack.faults
    assert faults.considered == 200
    assert 0.2 <= faults.total / 200 <= 0.4
    assert failures == faults.total
    assert set(faults.injected) == {"500", "429", "drop", "bad_json"}
    lost = faults.injected["500"] + faults.injected["429"] + faults.injected["drop"]
    assert len(slack.calls("chat.postMessage", delivered=True)) == 200 - lost


def test_faults_reject_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="subset"):
        Faults(rate=0.5, kinds=("teapot",))
    assert set(FAULT_KINDS) == {"500", "429", "timeout", "drop", "bad_json"}
