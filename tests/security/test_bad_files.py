"""Malformed roster CSVs and config files: one clear line naming the problem, never a
traceback. SQL-looking text anywhere is just text: stored as typed, or not at all."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from typer.testing import CliRunner

from bot.roster import RosterDefaults, RosterError, parse_roster
from bot.settings import ConfigError, Settings, load_settings
from kiln.cli import app
from kiln.runtime import Runtime
from tests.adapters.telegram_helpers import assert_not_on_disk
from tests.bot.helpers import command, say
from tests.conftest import enrol, person
from tests.fakes.fake_adapter import FakeAdapter
from tests.security.processes import run_kiln

HEADER = "platform,platform_user_id,display_name,team,timezone,locale,region,roles,manages\n"
DEFAULTS = RosterDefaults(locales=frozenset({"en", "cy"}))
FUZZ = hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SQL = [
    "Robert'); DROP TABLE person;--",
    "' OR '1'='1",
    '"; DELETE FROM mood WHERE "1"="1',
    "1; UPDATE person SET roles='manager'",
]

cells = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["slack", "telegram", "staff;manager", "UK", "Europe/London", "cy", "", '"', "\n", *SQL]
    ),
)
rows = st.lists(cells, max_size=12).map(",".join)
rosters = st.one_of(
    st.text(max_size=400),
    st.lists(rows, max_size=6).map(lambda lines: HEADER + "\n".join(lines)),
)


def one_line(message: str) -> bool:
    return bool(message.strip()) and "\n" not in message and "\r" not in message


@FUZZ
@given(rosters)
def test_any_roster_text_gives_people_or_one_line_naming_the_problem(text: str) -> None:
    try:
        people = parse_roster(text, DEFAULTS)
    except RosterError as problem:
        assert one_line(str(problem)), repr(str(problem))
        assert str(problem).startswith(("line ", "the roster has no people"))
    else:
        assert people and all(p.platform in ("slack", "telegram", "console") for p in people)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "line 1: missing column 'platform'"),
        (b"\xff\xfeplatform,team\n", "is not UTF-8 text"),
        (HEADER.encode() + b"slack,U1,Ana,ward,,,,boss,\n", "column 'roles': unknown role 'boss'"),
        (HEADER.encode() + b'slack,U1,"Ana\nJones",ward\n', "line break or control character"),
        (HEADER.encode() + b"slack,U1," + b"x" * 300 + b",ward\n", "longer than 200 characters"),
        (HEADER.encode() + b"slack,U1," + b"x" * 200_000 + b",ward\n", "not valid CSV"),
        (HEADER.encode() + b"slack,U1,Ana,ward,Mars/Base,,,,\n", "unknown timezone 'Mars/Base'"),
        (HEADER.encode() + b"slack,U1,Ana,ward,,,,,,extra\n", "more values than columns"),
        (HEADER.encode() + b"slack,U1,Ana,ward\nslack,U1,Bo,ward\n", "already on line 2"),
        (b"platform;display_name;team\nslack;Ana;ward\n", "missing column 'platform'"),
    ],
)
def test_bad_roster_files_fail_with_one_line_and_import_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KILN_DATABASE_URL", f"sqlite:///{tmp_path / 'kiln.db'}")
    roster = tmp_path / "roster.csv"
    roster.write_bytes(content)

    result = CliRunner().invoke(app, ["people", "import", str(roster)])

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"kiln: {roster}: ") and expected in line, line
    assert not (tmp_path / "kiln.db").exists()  # refused before the database is touched


keys = st.sampled_from([*Settings.model_fields, "checkin", "teams", "nonsense", "[teams.ward]"])
values = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(["true", "[1, 2]", '["mon"]', "{a = 1}", '"25:00"', "1979-05-27", "inf"]),
    st.text(max_size=20),
)
lines = st.tuples(keys, values).map(lambda kv: f"{kv[0]} = {kv[1]}")
documents = st.one_of(
    st.lists(lines, max_size=6).map("\n".join),
    st.lists(lines, max_size=4).map(lambda ls: "[checkin]\n" + "\n".join(ls)),
    st.text(max_size=200),
    st.binary(max_size=100).map(lambda data: data.decode("latin-1")),
)


@FUZZ
@given(documents)
def test_any_config_file_gives_settings_or_one_line_naming_the_problem(text: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:  # hypothesis runs many examples per test
        target = Path(scratch) / "kiln.toml"
        target.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            load_settings(target, environ={})
        except ConfigError as problem:
            assert one_line(str(problem)), repr(str(problem))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe[checkin]\n", "is not UTF-8 text"),
        (b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nests tables or arrays too deeply"),
        (b"[checkin\n", "is not valid TOML"),
        (b'telegram_token = "123:abc"\n', "'telegram_token' is a secret"),
        (b"min_group_size = 2\n", "setting 'min_group_size'"),
        (b"retention_days = 99999999999\n", "setting 'retention_days'"),
        (b'[checkin]\ntime = "25:00"\n', "setting 'checkin.time'"),
        (b'[teams.ward]\ntimezone = "Mars/Base"\n', "unknown timezone 'Mars/Base'"),
        (b"[rate_limit]\nburst = 0\n", "setting 'rate_limit.burst'"),
        (b'colour = "blue"\n', "unknown setting 'colour'"),
        (b'[support]\nescalation_channel = "nowhere"\n', "setting 'support.escalation_channel'"),
    ],
)
def test_bad_config_files_fail_with_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("KILN_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "kiln.toml"
    config.write_bytes(content)

    result = CliRunner().invoke(app, ["--config", str(config), "people", "list"])

    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("kiln: ") and expected in line, line


async def test_a_bad_config_stops_kiln_run_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "kiln.toml").write_bytes(b"[checkin]\nfanout_concurrency = 0\n")
    done = await run_kiln(tmp_path, {"KILN_TELEGRAM_TOKEN": "1:abc"}, "run")
    assert done.code == 2
    assert done.err.strip().splitlines() == [
        "kiln: setting 'checkin.fanout_concurrency' (in kiln.toml): "
        "Input should be greater than or equal to 1"
    ]


async def _tables(runtime: Runtime) -> set[str]:
    async with runtime.db.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_sql_looking_roster_values_are_stored_as_typed(runtime: Runtime) -> None:
    before = await _tables(runtime)
    people = parse_roster(
        HEADER
        + "".join(
            f'slack,U{n},"{name.replace(chr(34), 2 * chr(34))}",ward\n'
            for n, name in enumerate(SQL)
        ),
        DEFAULTS,
    )
    await runtime.services.people.add_all(people)

    stored = sorted(p.display_name for p in await runtime.services.people.list(None))
    assert stored == sorted(SQL)
    assert await _tables(runtime) == before
    assert all(p.roles == "staff" for p in await runtime.services.people.list(None))


async def test_sql_looking_chat_is_inert_and_stored_nowhere(
    runtime: Runtime, adapter: FakeAdapter, tmp_path: Path
) -> None:
    await enrol(runtime, person("ana"))
    before = await _tables(runtime)
    for text in SQL:
        await say(runtime, adapter, "ana", text)
        assert "I'm here for check-ins" in adapter.last("ana").message.text
    await command(runtime, adapter, "ana", "pause", "1;", "DROP", "TABLE", "person")
    assert "pause" in adapter.last("ana").message.text.lower()
    await runtime.engine.run_due()
    await command(runtime, adapter, "ana", "timezone", "Europe/London'; DROP TABLE person;--")
    assert await _tables(runtime) == before
    assert [p.platform_user_id for p in await runtime.services.people.list(None)] == ["ana"]
    await runtime.db.dispose()
    await asyncio.to_thread(assert_not_on_disk, tmp_path, *SQL)
