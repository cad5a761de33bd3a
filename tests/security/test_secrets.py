"""Tokens, the pepper and the database password never reach logs, errors or `kiln doctor`.

Each test runs a real flow (a real process where the CLI is involved) with secrets
that are easy to spot, then searches everything printed or logged for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError

from bot.settings import Settings
from kiln import redaction
from kiln.doctor import check_pepper
from storage.database import Database, DatabaseUrlError, driver_urls
from storage.models import Person
from tests.adapters.telegram_helpers import (
    button,
    make_adapter,
    telegram_person,
    telegram_runtime,
    wait_to_chat,
)
from tests.conftest import TEST_PEPPER, enrol
from tests.fakes.clock import FakeClock
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_telegram import FakeTelegram
from tests.security.processes import run_kiln

TELEGRAM_TOKEN = "7000000009:AAsecretTELEGRAMtokenZZ9"
SLACK_TOKEN = "xoxb-1111-2222-secretSLACKtokenQQ7"
SLACK_APP_TOKEN = "xapp-1-A0KILN-secretAPPtokenWW3"
SIGNING_SECRET = "signingSECRETvalueJJ4"
PEPPER = "pepperSECRETvalue-0123456789abcdef"
DB_PASSWORD = "dbPASSWORDsecretKK5"
ALL_SECRETS = (TELEGRAM_TOKEN, SLACK_TOKEN, SLACK_APP_TOKEN, SIGNING_SECRET, PEPPER, DB_PASSWORD)


def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_no_secret(text: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"{secret[:6]}… leaked"
        # Nor a long enough piece of it to matter.
        assert secret[4:-3] not in text, f"part of {secret[:6]}… leaked"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_doctor_shows_secrets_masked_and_never_whole(
    tmp_path: Path, slack: FakeSlack
) -> None:
    slack.respond("auth.test", {"ok": False, "error": "invalid_auth"}, times=None)
    env = {
        "KILN_DATABASE_URL": f"postgresql://kiln:{DB_PASSWORD}@127.0.0.1:{closed_port()}/kiln",
        "KILN_PEPPER": PEPPER,
        "KILN_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "KILN_SLACK_BOT_TOKEN": SLACK_TOKEN,
        "KILN_SLACK_APP_TOKEN": SLACK_APP_TOKEN,
        "KILN_SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "KILN_SLACK_API_URL": slack.api_url,
    }
    done = await run_kiln(tmp_path, env, "doctor")

    assert done.code == 1, done.both
    assert_no_secret(done.both)
    assert "Telegram token set (7000…Z9)" in done.out
    assert "Slack bot token set (xoxb…Q7)" in done.out
    assert "pepper set from KILN_PEPPER (pepp…ef)" in done.out
    assert "cannot use the database at postgresql://kiln:***@127.0.0.1" in done.out
    assert "invalid_auth" in done.out
    assert slack.calls("auth.test")  # the token really was tried, and refused


async def test_a_refused_telegram_token_stops_kiln_run_with_one_line(tmp_path: Path) -> None:
    async with FakeTelegram() as tg:  # its own token differs, so ours is refused (401)
        env = {
            "KILN_DATABASE_URL": f"sqlite:///{tmp_path / 'kiln.db'}",
            "KILN_PEPPER": PEPPER,
            "KILN_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
            "KILN_TELEGRAM_API_URL": tg.base_url,
            "KILN_DASHBOARD_PORT": str(closed_port()),
            "KILN_LOG_LEVEL": "DEBUG",
        }
        done = await run_kiln(tmp_path, env, "run")
        assert [call.method for call in tg.calls()][:1] == ["getMe"]

    assert done.code == 2, done.both
    assert_no_secret(done.both)
    assert done.err.strip().splitlines()[-1] == (
        "kiln: KILN_TELEGRAM_TOKEN was refused by Telegram; copy it again "
        "from @BotFather (/mybots, then API Token)"
    )
    assert "Traceback" not in done.err


async def test_a_malformed_database_url_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"kiln:{DB_PASSWORD}@127.0.0.1/kiln"
    done = await run_kiln(tmp_path, {"KILN_DATABASE_URL": url}, "people", "list")
    assert done.code == 2, done.both
    assert_no_secret(done.both)
    [line] = done.err.strip().splitlines()
    assert line.startswith("kiln: KILN_DATABASE_URL is not a database URL")
    for other in (
        f"postgresql://kiln:{DB_PASSWORD}@127.0.0.1:notaport/kiln",
        f"mysql://kiln:{DB_PASSWORD}@127.0.0.1/kiln",
    ):
        with pytest.raises(DatabaseUrlError) as refused:
            driver_urls(other)
        assert_no_secret(str(refused.value))


async def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://kiln:{DB_PASSWORD}@127.0.0.1:{closed_port()}/kiln"
    done = await run_kiln(tmp_path, {"KILN_DATABASE_URL": url}, "people", "list")
    assert done.code == 2, done.both
    assert_no_secret(done.both)
    [line] = done.err.strip().splitlines()
    assert line.startswith("kiln: cannot use the database at postgresql://kiln:***@127.0.0.1")
    assert "refused" in line.lower()


def test_in_process_errors_and_reprs_never_show_the_password() -> None:
    url = f"postgresql://kiln:{DB_PASSWORD}@db.internal/kiln"
    assert DB_PASSWORD not in repr(Settings(database_url=url))
    with pytest.raises(DatabaseUrlError) as refused:
        driver_urls(f"kiln:{DB_PASSWORD}@db.internal/kiln")
    assert DB_PASSWORD not in str(refused.value)


async def test_a_database_error_never_quotes_the_row(settings: Settings) -> None:
    # SQLAlchemy would put the row's values (names, platform ids) into the error text.
    db = Database(settings.database_url)
    await db.upgrade()
    try:
        row = {"platform": "telegram", "platform_user_id": "4242", "display_name": "Rhiannon Pugh"}
        async with db.session() as session:
            session.add(Person(team="ward", **row))
        with pytest.raises(IntegrityError) as duplicate:
            async with db.session() as session:
                session.add(Person(team="ward", **row))
    finally:
        await db.dispose()
    assert "Rhiannon" not in str(duplicate.value) and "4242" not in str(duplicate.value)


async def test_a_whole_telegram_flow_logs_no_secret_and_no_personal_data(
    settings: Settings, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    note = "my sister is poorly and the rota is a mess"
    async with FakeTelegram() as tg:
        # What `kiln run` does to its log handlers (PTB logs its URL, token and all, at DEBUG).
        settings.telegram_token = SecretStr(tg.token)
        caplog.handler.addFilter(redaction.SecretRedactor(redaction.secrets_in(settings)))
        async with telegram_runtime(settings, tg, clock, make_adapter(tg)) as (runtime, _):
            await enrol(runtime, telegram_person(5151, "Rhiannon Pugh"))
            await runtime.start_adapters()
            await runtime.engine.checkin_now()
            [checkin] = await wait_to_chat(tg, 5151, 1)
            tg.push_update(tg.callback_update(5151, button(checkin, "2 Low")))
            await wait_to_chat(tg, 5151, 2)
            tg.push_update(tg.message_update(5151, note, first_name="Rhiannon"))
            await wait_to_chat(tg, 5151, 3)
            tg.push_update(tg.message_update(5151, "/support", first_name="Rhiannon"))
            await wait_to_chat(tg, 5151, 4)
        token = tg.token

    records = caplog.records
    assert len(records) > 10  # something was logged, so the search means something
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        assert token not in text and token.split(":")[1] not in text, record.name
        assert TEST_PEPPER.decode() not in text
        assert note not in text, record.name
        if record.levelno >= logging.INFO:
            assert "Rhiannon" not in text and "5151" not in text, (record.name, text)


def test_a_pepper_file_must_be_private(tmp_path: Path) -> None:
    from bot.pseudonym import PepperError, load_pepper

    made = tmp_path / "keys" / "kiln.key"
    load_pepper(None, made)
    assert stat.S_IMODE(made.stat().st_mode) == 0o600

    exposed = tmp_path / "exposed.key"
    exposed.write_text(PEPPER)
    os.chmod(exposed, 0o644)
    with pytest.raises(PepperError, match="chmod 600") as refused:
        load_pepper(None, exposed)
    assert PEPPER not in str(refused.value)


async def test_kiln_refuses_to_start_with_a_readable_pepper_file(tmp_path: Path) -> None:
    key = tmp_path / "kiln.key"
    key.write_text(PEPPER)
    await asyncio.to_thread(os.chmod, key, 0o640)
    env = {"KILN_DATABASE_URL": f"sqlite:///{tmp_path / 'kiln.db'}", "KILN_PEPPER_FILE": str(key)}
    done = await run_kiln(tmp_path, env, "people", "list")
    assert done.code == 2
    assert done.err.strip().splitlines() == [
        f"kiln: the pepper key file {key} can be read by others (mode 640); run: chmod 600 {key}"
    ]
    assert_no_secret(done.both)
    [finding] = check_pepper(Settings(pepper_file=key))  # what `kiln doctor` says
    assert not finding.ok and "can be read by others" in finding.text
    assert_no_secret(finding.text)
