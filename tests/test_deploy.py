"""docs/DEPLOY.md and deploy/: what is shown is what ships, and what ships works.

There is no Docker daemon where these tests run, so the Dockerfile is checked for what it
runs (the README's own install and run commands), not built.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bot.settings import Settings
from storage.database import upgrade_sync
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
DEPLOY = ROOT / "deploy"
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["Dockerfile", "Procfile", "kiln@.service", "postgres-setup.sql"])
def test_the_doc_shows_each_deploy_file_exactly(name: str) -> None:
    shipped = (DEPLOY / name).read_text(encoding="utf-8").strip()
    assert shipped in DOC, f"docs/DEPLOY.md does not show deploy/{name} as it is"


def test_the_dockerfile_installs_and_runs_with_the_readmes_commands() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    runs = [line.split(None, 1)[1] for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert "make install" in runs
    assert re.search(r"^install: \$\(STAMP\)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert "`make install`" in README
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == ["/opt/kiln/.venv/bin/kiln", "run"]
    assert "| `kiln run` |" in README
    # The image's paths are the ones `make install` makes inside WORKDIR /opt/kiln.
    assert "WORKDIR /opt/kiln\nCOPY . .\n" in dockerfile


def test_every_process_runs_kiln_run_which_exists() -> None:
    unit = (DEPLOY / "kiln@.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/kiln/.venv/bin/kiln run\n" in unit
    procfile = (DEPLOY / "Procfile").read_text(encoding="utf-8")
    processes = [line for line in procfile.splitlines() if line and not line.startswith("#")]
    assert len(processes) == 3
    ports = set()
    for line in processes:
        assert line.endswith(" .venv/bin/kiln run")
        ports.update(re.findall(r"_PORT=(\d+)", line))
    assert len(ports) == 9, "each worker needs ports of its own"
    help_text = subprocess.run(
        [sys.executable, "-m", "kiln", "run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "scheduler" in help_text


def test_every_kiln_setting_named_is_a_real_one() -> None:
    real = {f"KILN_{name.upper()}" for name in Settings.model_fields} | {"KILN_CONFIG"}
    texts = [DOC, *(path.read_text(encoding="utf-8") for path in DEPLOY.iterdir())]
    named = {name for text in texts for name in re.findall(r"\bKILN_[A-Z_]+\b", text)}
    assert named and named <= real, named - real


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".venv", ".git", "kiln.key", "*.db", "*.db-*", ".env", "*.env"):
        assert pattern in ignored
    assert "requirements.lock" not in ignored


def test_the_healthz_example_has_the_real_keys() -> None:
    block = re.search(r"```json\n(.*?)```", DOC, re.DOTALL)
    assert block is not None
    example = json.loads(block.group(1))
    assert set(example) == {"status", "database", "scheduler", "adapters"}
    assert set(example["scheduler"]) == {"leader_known", "this_worker"}


def _statements(script: str) -> list[str]:
    code = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


@pytest.mark.postgres
def test_the_postgres_setup_makes_a_database_kiln_migrates_as_its_own_role(
    postgres_server: PostgresServer,
) -> None:
    if not postgres_server.is_running:
        postgres_server.start_server()
    script = (DEPLOY / "postgres-setup.sql").read_text(encoding="utf-8")
    try:
        with postgres_server.connect() as admin:
            for statement in _statements(script):
                admin.execute(statement.encode())
        url = f"postgresql://kiln@{postgres_server.host}:{postgres_server.port}/kiln"
        upgrade_sync(url)
        with psycopg.connect(url) as conn:
            tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
            owner = conn.execute(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'mood'"
            ).fetchone()
        assert {"person", "checkin", "mood", "alembic_version"} <= tables
        assert owner == ("kiln",)
    finally:
        with postgres_server.connect() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier("kiln"))
            )
            admin.execute("DROP ROLE IF EXISTS kiln")
