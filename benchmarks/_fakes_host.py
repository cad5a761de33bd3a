"""The fake Slack and Telegram API servers, in a process of their own, for the benchmarks.

The benchmarks measure kiln's worker, so the platforms' stand-ins run elsewhere: their
CPU and the messages they keep do not count against the worker. Started by
``benchmarks/_support.py``; prints one JSON line with the servers' addresses, then
answers commands on stdin, one per line, with one JSON line each:

- ``checkins``: how many check-ins (messages with buttons) each recipient received;
- ``count``: how many messages each fake took in total;
- ``clear``: forget every call and message (between runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_telegram import FakeTelegram


def _is_checkin(args: dict[str, Any]) -> bool:
    markup = args.get("reply_markup")
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return True
    blocks = args.get("blocks")
    return isinstance(blocks, list) and any(block.get("type") == "actions" for block in blocks)


def checkins(tg: FakeTelegram, slack: FakeSlack) -> dict[str, int]:
    per_recipient: Counter[str] = Counter()
    for call in tg.calls("sendMessage", delivered=True):
        if _is_checkin(call.args):
            per_recipient[f"telegram:{call.args['chat_id']}"] += 1
    for call in slack.calls("chat.postMessage", delivered=True):
        if _is_checkin(call.args):
            per_recipient[f"slack:{call.args['channel']}"] += 1
    return dict(per_recipient)


async def main() -> None:
    # A worker killed mid-request leaves the server a half-read request: expected here.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    async with FakeTelegram() as tg, FakeSlack() as slack:
        print(
            json.dumps(
                {
                    "telegram_api_url": tg.base_url,
                    "telegram_token": tg.token,
                    "slack_api_url": slack.api_url,
                }
            ),
            flush=True,
        )
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = line.strip()
            if not command:  # end of input: the benchmark is done
                return
            if command == "checkins":
                answer: Any = checkins(tg, slack)
            elif command == "count":
                answer = {
                    "telegram": len(tg.calls("sendMessage", delivered=True)),
                    "slack": len(slack.calls("chat.postMessage", delivered=True)),
                }
            elif command == "clear":
                for fake in (tg, slack):
                    fake.clear_calls()
                    fake.messages.clear()
                answer = {"cleared": True}
            else:
                answer = {"error": f"unknown command {command!r}"}
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
