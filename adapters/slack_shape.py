"""Is an HTTP request body shaped like something Slack sends? Checked before bolt reads it.

Slack's own requests always are. A body that is not (a field missing, or a list
where an object belongs) can only come from someone holding the signing secret or
from a broken proxy; bolt's middleware and kiln's listeners would fail on it deep
inside, so it is refused here with a 400 and never parsed further. Only what bolt and
kiln rely on is checked; anything else may be there or not.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _is_text(value: Any, *, empty: bool = True) -> bool:
    return isinstance(value, str) and (empty or bool(value))


def _fields_are(payload: dict[str, Any], kind: type, *names: str) -> bool:
    """Each of ``names`` that is present (and not null) holds a ``kind``."""
    return all(payload.get(name) is None or isinstance(payload[name], kind) for name in names)


def _event_ok(body: dict[str, Any]) -> bool:
    event = body.get("event")
    if not isinstance(event, dict) or not _is_text(event.get("type"), empty=False):
        return False
    if not _is_text(body.get("event_id"), empty=False):
        return False
    if not _fields_are(event, str, "user", "text", "channel", "channel_type", "subtype", "tab"):
        return False
    return event["type"] != "app_home_opened" or _is_text(event.get("user"), empty=False)


def _events_api_ok(body: Any) -> bool:
    if not isinstance(body, dict) or not _is_text(body.get("type"), empty=False):
        return False
    if not _fields_are(body, str, "team_id", "api_app_id", "enterprise_id", "token"):
        return False
    if not _fields_are(body, list, "authorizations"):
        return False
    if body["type"] == "url_verification":
        return _is_text(body.get("challenge"))
    return body["type"] != "event_callback" or _event_ok(body)


def _interaction_ok(payload: Any) -> bool:
    if not isinstance(payload, dict) or not _is_text(payload.get("type"), empty=False):
        return False
    if not _fields_are(payload, dict, "team", "enterprise", "channel", "container", "view"):
        return False
    if not _fields_are(payload, str, "trigger_id", "response_url", "api_app_id", "token"):
        return False
    user = payload.get("user")
    if not isinstance(user, dict) or not _is_text(user.get("id"), empty=False):
        return False
    container = payload.get("container") or {}
    if container.get("type") == "message" and not (
        _is_text(container.get("channel_id")) and _is_text(container.get("message_ts"))
    ):
        return False
    actions = payload.get("actions", [])
    if not isinstance(actions, list) or not all(
        isinstance(a, dict) and _is_text(a.get("action_id")) and _fields_are(a, str, "value")
        for a in actions
    ):
        return False
    if payload["type"] == "block_actions" and not actions:
        return False
    view = payload.get("view") or {}
    if not (
        _fields_are(view, str, "id", "callback_id", "type") and _fields_are(view, dict, "state")
    ):
        return False
    if payload["type"] in ("view_submission", "view_closed"):
        return _view_ok(view)
    return True


def _view_ok(view: dict[str, Any]) -> bool:
    """A submitted modal: what bolt matches on, and the typed values kiln reads."""
    if not all(_is_text(view.get(name)) for name in ("id", "callback_id", "type")):
        return False
    values = (view.get("state") or {}).get("values", {})
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(field, dict) for field in block.values())
        for block in values.values()
    )


def _form_ok(text: str) -> bool:
    try:
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=64
        )
    except ValueError:
        return False
    if any(len(values) != 1 for values in fields.values()):
        return False
    if "payload" in fields:
        try:
            return _interaction_ok(json.loads(fields["payload"][0]))
        except ValueError:
            return False
    # A slash command.
    return all(_is_text(fields.get(name, [""])[0], empty=False) for name in ("command", "user_id"))


def looks_like_slack(body: str, content_type: str) -> bool:
    """True if ``body`` has the shape of an Events API, interactivity or slash command request."""
    if content_type == JSON:
        try:
            return _events_api_ok(json.loads(body))
        except ValueError:
            return False
    if content_type == FORM:
        return _form_ok(body)
    return False
