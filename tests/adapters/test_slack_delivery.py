"""Sending on Slack: rate limits, server errors, people who left, sends without start()."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import SlackAdapter
from bot.messages import Attachment, Button, Message
from bot.ports import DeliveryError, RateLimited, Undeliverable
from bot.settings import ConfigError, Settings
from kiln.platforms import configured_adapters
from tests.adapters.slack_helpers import BOT_TOKEN, slack_person, slack_rig
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack

TEAM = [slack_person(user) for user in ("U0ONE", "U0TWO", "U0THREE")]


@pytest.fixture(autouse=True)
def no_slack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read KILN_* from the environment; a developer's own tokens must not leak in."""
    for name in ("BOT_TOKEN", "APP_TOKEN", "SIGNING_SECRET", "API_URL"):
        monkeypatch.delenv(f"KILN_SLACK_{name}", raising=False)


async def test_a_429_is_waited_out_and_delivered_once(settings: Settings, clock: FakeClock) -> None:
    async with slack_rig(settings, clock, "http", TEAM[0], start=False) as rig:
        rig.slack.respond(
            "chat.postMessage", {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"}
        )

        assert await rig.runtime.engine.checkin_now() == 1

        calls = rig.slack.calls("chat.postMessage")
        assert [call.status for call in calls] == [429, 200]
        assert len(rig.slack.calls("chat.postMessage", delivered=True)) == 1


async def test_server_errors_are_retried(settings: Settings, clock: FakeClock) -> None:
    async with slack_rig(settings, clock, "http", TEAM[0], start=False) as rig:
        rig.slack.respond(
            "chat.postMessage", {"ok": False, "error": "internal_error"}, 500, times=2
        )

        assert await rig.runtime.engine.checkin_now() == 1

        assert [c.status for c in rig.slack.calls("chat.postMessage")] == [500, 500, 200]


async def test_a_429_that_outlasts_the_retries_is_rate_limited() -> None:
    async with FakeSlack() as slack:
        adapter = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=slack.api_url)
        slack.respond_error("chat.postMessage", "ratelimited", status=429, retry_after=7, times=3)
        # Keep the test quick: a client that does not retry on its own.
        adapter._client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, retry_handlers=[])

        with pytest.raises(RateLimited) as limited:
            await adapter.send_message("U0ONE", Message("hello"))

        assert limited.value.retry_after == 7


async def test_one_person_who_left_does_not_stop_the_others(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", *TEAM, start=False) as rig:
        rig.slack.respond_error(
            "chat.postMessage",
            "account_inactive",
            times=None,
            when=lambda a: a["channel"] == "DU0TWO",
        )

        assert await rig.runtime.engine.checkin_now() == 2

        delivered = rig.slack.calls("chat.postMessage", delivered=True)
        assert sorted(call.args["channel"] for call in delivered) == ["DU0ONE", "DU0THREE"]
        people = rig.runtime.services.people
        gone = await people.find("slack", "U0TWO")
        assert gone is not None and gone.undeliverable
        assert [p.platform_user_id for p in await people.schedulable()] == ["U0ONE", "U0THREE"]
        # account_inactive can also mean kiln's own token is dead: that was ruled out first.
        assert rig.slack.calls("auth.test")


async def test_a_dead_token_is_not_blamed_on_the_person(
    settings: Settings, clock: FakeClock
) -> None:
    async with slack_rig(settings, clock, "http", TEAM[0], start=False) as rig:
        rig.slack.respond_error("chat.postMessage", "account_inactive", times=None)
        rig.slack.respond_error("auth.test", "account_inactive", times=None)

        assert await rig.runtime.engine.checkin_now() == 0

        person = await rig.runtime.services.people.find("slack", "U0ONE")
        assert person is not None and not person.undeliverable


@pytest.mark.parametrize("error", ["user_not_found", "cannot_dm_bot"])
async def test_conversations_open_errors_mean_undeliverable(error: str) -> None:
    async with FakeSlack() as slack:
        adapter = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=slack.api_url)
        slack.respond_error("conversations.open", error)

        with pytest.raises(Undeliverable) as gone:
            await adapter.send_checkin("U0GONE", Message("hi"))

        assert gone.value.reason == error


async def test_other_failures_are_delivery_errors() -> None:
    async with FakeSlack() as slack:
        adapter = SlackAdapter(BOT_TOKEN, app_token="xapp-1", api_url=slack.api_url)
        slack.respond_error("chat.postMessage", "invalid_blocks")

        with pytest.raises(DeliveryError, match="invalid_blocks") as failure:
            await adapter.send_message("U0ONE", Message("hi"))

        assert not isinstance(failure.value, Undeliverable | RateLimited)
    with pytest.raises(DeliveryError, match="could not reach Slack"):
        await adapter.send_message("U0ONE", Message("the fake has gone"))


async def test_sends_work_without_start_and_carry_files() -> None:
    async with FakeSlack() as slack:
        adapter = SlackAdapter(BOT_TOKEN, signing_secret="s", api_url=slack.api_url.rstrip("/"))
        message = Message(
            "Here is everything kiln holds about you.",
            ((Button("OK", "ok:1"),),),
            Attachment("kiln-data.json", b'{"moods": []}', "application/json"),
        )

        ref = await adapter.send_message("U0ONE", message)
        await adapter.update_checkin("U0ONE", ref, Message("Today's check-in: 3 Okay"))
        alert = await adapter.send_alert("C0ESCALATE", Message("Someone needs a call back"))

        [post, alert_post] = slack.calls("chat.postMessage")
        assert ref == f"DU0ONE:{post.response['ts']}"
        assert [slack.uploads[f].data for f in slack.uploads] == [b'{"moods": []}']
        assert slack.calls("files.completeUploadExternal")[0].args["channel_id"] == "DU0ONE"
        [update] = slack.calls("chat.update")
        assert (update.args["channel"], update.args["ts"]) == ("DU0ONE", post.response["ts"])
        assert alert_post.args["channel"] == "C0ESCALATE" and alert.startswith("C0ESCALATE:")
        assert len(slack.calls("conversations.open")) == 1


def test_the_slack_adapter_is_built_from_settings() -> None:
    settings = Settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1-abc")  # type: ignore[arg-type]

    [adapter] = configured_adapters(settings)

    assert isinstance(adapter, SlackAdapter)
    assert adapter.platform == "slack"
    assert adapter.max_messages_per_second == 4  # the workspace-wide fan-out pace


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({}, "KILN_SLACK_APP_TOKEN .* or KILN_SLACK_SIGNING_SECRET"),
        ({"slack_app_token": "xoxb-wrong"}, "app-level token starting xapp-"),
    ],
)
def test_slack_settings_problems_are_one_clear_line(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        configured_adapters(Settings(slack_bot_token="xoxb-1", **values))  # type: ignore[arg-type]
