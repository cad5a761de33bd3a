"""Slack Web API failures, turned into the engine's delivery errors (``bot.ports``).

slack_sdk's retry handlers have already waited out 429s and retried 500s by the time
an error reaches here; what is left is either the person being gone, our own token
being wrong, or a limit that outlasted the retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.ports import DeliveryError, RateLimited, Undeliverable

logger = logging.getLogger(__name__)

T = TypeVar("T")
TokenCheck = Callable[[], Awaitable[bool]]
#: How long an ``auth.test`` answer is trusted when telling a gone person from a bad token.
TOKEN_CHECK_TTL_S = 60.0

#: The person (or channel) can no longer be reached: deactivated, deleted, left.
GONE_ERRORS = frozenset(
    {
        "account_inactive",
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "channel_not_found",
        "cannot_dm_bot",
        "is_archived",
    }
)
#: kiln's own bot token is wrong or revoked: never blame a person for these.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "app_uninstalled",
        "team_disabled",
        "not_allowed_token_type",
    }
)


def error_code(failure: SlackApiError) -> str:
    """Slack's error string (``"account_inactive"``), or the HTTP status if there is none."""
    data = failure.response.data if isinstance(failure.response.data, dict) else {}
    return str(data.get("error") or failure.response.status_code)


def _retry_after(response: AsyncSlackResponse) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


async def translate(failure: SlackApiError, token_ok: TokenCheck) -> DeliveryError:
    """The delivery error that a Slack API error means for the engine.

    Slack says ``account_inactive`` both for a person who left and for a bot token
    whose workspace or app is gone, so that one is checked against ``auth.test``
    before anyone is marked unreachable.
    """
    error = error_code(failure)
    if failure.response.status_code == 429:
        return RateLimited(_retry_after(failure.response), "Slack asked kiln to slow down")
    if error in GONE_ERRORS and (error not in TOKEN_ERRORS or await token_ok()):
        return Undeliverable(error)
    if error in TOKEN_ERRORS:
        return DeliveryError(f"Slack did not accept kiln's bot token ({error}); run `kiln doctor`")
    return DeliveryError(f"Slack refused the request ({error})")


async def slack_call(call: Callable[[], Awaitable[T]], token_ok: TokenCheck) -> T:
    """Run one Web API call; failures come out as ``DeliveryError`` and its kinds.

    Raises:
        RateLimited: a 429 outlasted the client's own retries.
        Undeliverable: the person or channel is gone.
        DeliveryError: anything else (bad token, Slack down, network).
    """
    try:
        return await call()
    except SlackApiError as failure:
        raise await translate(failure, token_ok) from failure
    except (aiohttp.ClientError, TimeoutError) as failure:
        raise DeliveryError(f"could not reach Slack ({type(failure).__name__})") from failure


class TokenHealth:
    """Whether Slack still accepts kiln's bot token, asked at most once a minute."""

    def __init__(self, client: Callable[[], AsyncWebClient]) -> None:
        self._client = client
        self._checked: tuple[float, bool] | None = None

    async def __call__(self) -> bool:
        """True if ``auth.test`` succeeds (or fails for a reason other than the token)."""
        now = time.monotonic()
        if self._checked is not None and now - self._checked[0] < TOKEN_CHECK_TTL_S:
            return self._checked[1]
        try:
            await self._client().auth_test()
            ok = True
        except SlackApiError as failure:
            ok = error_code(failure) not in TOKEN_ERRORS
        except (aiohttp.ClientError, TimeoutError):
            ok = False  # cannot tell, so nobody is marked unreachable on this evidence
        self._checked = (now, ok)
        return ok
