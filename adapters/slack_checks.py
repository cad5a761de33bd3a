"""`kiln doctor` for Slack: does Slack accept kiln's tokens, with the scopes it needs?

Each finding is ``(ok, text)`` in plain words: what is wrong and where in the Slack
app's settings to put it right.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack_errors import error_code

Finding = tuple[bool, str]

#: The bot scopes kiln uses; adapters/slack_manifest.yaml asks for exactly these.
REQUIRED_SCOPES = frozenset(
    {
        "chat:write",  # post check-ins and replies, update answered check-ins
        "im:write",  # open the DM with each person (conversations.open)
        "im:history",  # hear what people write in that DM (message.im events)
        "users:read",  # each person's timezone (users.info)
        "users:read.email",  # roster rows that give an email instead of a Slack id
        "commands",  # the /kiln slash command
        "files:write",  # files a person asks for, such as their own data
    }
)
REINSTALL = "reinstall the app (OAuth & Permissions, Install to Workspace) and copy the new token"
BOT_TOKEN_ERRORS = {
    "invalid_auth": "Slack does not accept KILN_SLACK_BOT_TOKEN (invalid_auth): copy the "
    "Bot User OAuth Token, which starts xoxb-, from your app's OAuth & Permissions page",
    "not_authed": "KILN_SLACK_BOT_TOKEN reached Slack empty (not_authed): set it to the "
    "Bot User OAuth Token from your app's OAuth & Permissions page",
    "token_revoked": f"the Slack bot token was revoked (token_revoked): {REINSTALL}",
    "token_expired": f"the Slack bot token has expired (token_expired): {REINSTALL}",
    "account_inactive": "the Slack bot token belongs to an app or workspace that is no "
    f"longer active (account_inactive): {REINSTALL}",
    "app_uninstalled": "the kiln app was removed from the workspace (app_uninstalled): "
    f"{REINSTALL}",
    "missing_scope": "the Slack bot token lacks a scope it needs (missing_scope): add the "
    "scopes from adapters/slack_manifest.yaml under OAuth & Permissions, then reinstall the app",
    "ratelimited": "Slack is rate-limiting kiln just now (ratelimited): run `kiln doctor` "
    "again in a minute",
}
APP_TOKEN_ERRORS = {
    "not_allowed_token_type": "KILN_SLACK_APP_TOKEN is not an app-level token: make one with "
    "the connections:write scope under Basic Information, App-Level Tokens (it starts xapp-)",
    "invalid_auth": "Slack does not accept KILN_SLACK_APP_TOKEN (invalid_auth): make a new "
    "app-level token with the connections:write scope under Basic Information",
}


def _mode(app_token: str | None, signing_secret: str | None) -> Finding:
    if app_token:
        return (True, "Slack: Socket Mode (KILN_SLACK_APP_TOKEN is set; no public URL needed)")
    if signing_secret:
        return (True, "Slack: HTTP mode (KILN_SLACK_SIGNING_SECRET is set) at /slack/events")
    return (
        False,
        "Slack can send but never hear answers: set KILN_SLACK_APP_TOKEN (Socket Mode) "
        "or KILN_SLACK_SIGNING_SECRET (HTTP mode)",
    )


def _scopes(granted: str | None) -> list[Finding]:
    if granted is None:
        return []  # Slack did not say; nothing to compare
    missing = sorted(REQUIRED_SCOPES - {scope.strip() for scope in granted.split(",")})
    if not missing:
        return [(True, "the Slack app has every scope kiln needs")]
    return [
        (
            False,
            f"the Slack app is missing the scope(s) {', '.join(missing)}: add them under "
            "OAuth & Permissions (or create the app again from adapters/slack_manifest.yaml), "
            "then reinstall it to the workspace",
        )
    ]


async def check_slack(
    bot_token: str,
    *,
    app_token: str | None = None,
    signing_secret: str | None = None,
    api_url: str = "https://slack.com/api/",
) -> list[Finding]:
    """Call ``auth.test`` (and ``apps.connections.open`` for Socket Mode) and explain."""
    findings = [_mode(app_token, signing_secret)]
    if bot_token.startswith("xoxp-"):
        findings.append(
            (
                False,
                "KILN_SLACK_BOT_TOKEN is a user token (xoxp-): kiln needs the Bot User "
                "OAuth Token (xoxb-) from OAuth & Permissions",
            )
        )
    client = AsyncWebClient(token=bot_token, base_url=api_url, timeout=10)
    try:
        response = await client.auth_test()
    except SlackApiError as failure:
        error = error_code(failure)
        findings.append(
            (False, BOT_TOKEN_ERRORS.get(error, f"Slack refused kiln's bot token ({error})"))
        )
        return findings
    except (aiohttp.ClientError, TimeoutError) as failure:
        findings.append(
            (
                False,
                f"cannot reach Slack at {api_url} ({type(failure).__name__}): check the "
                "network, or KILN_SLACK_API_URL if you set it",
            )
        )
        return findings
    findings.append(
        (
            True,
            f"Slack accepts the bot token: workspace {response.get('team')}, "
            f"app user @{response.get('user')}",
        )
    )
    findings.extend(_scopes(response.headers.get("x-oauth-scopes")))
    if app_token:
        try:
            await client.apps_connections_open(app_token=app_token)
        except SlackApiError as failure:
            error = error_code(failure)
            findings.append(
                (
                    False,
                    APP_TOKEN_ERRORS.get(
                        error,
                        f"Socket Mode is not available ({error}): switch it on under your "
                        "app's Socket Mode page",
                    ),
                )
            )
        else:
            findings.append((True, "Slack accepts the app-level token for Socket Mode"))
    return findings
