"""What the benchmarks share: a throwaway PostgreSQL, the fake platforms, the result line."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from tests.postgres_server import PostgresServer  # noqa: E402

#: Memory settings closer to a real server's than the test suite's small defaults.
SERVER_SETTINGS = {"shared_buffers": "512MB", "work_mem": "64MB", "maintenance_work_mem": "256MB"}


@contextlib.contextmanager
def postgres(*, roomy: bool = False) -> Iterator[str]:
    """A throwaway PostgreSQL server with an empty database; yields its URL.

    Args:
        roomy: Give the server the memory settings of a real one (needs a restart).
    """
    with PostgresServer() as server:
        if roomy:
            with server.connect() as admin:
                for name, value in SERVER_SETTINGS.items():
                    admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            server.stop_server()
            server.start_server()
        server.create_database("kiln_bench")
        yield server.plain_url("kiln_bench")


class Fakes:
    """The fake Telegram and Slack servers, running in a child process."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_fakes_host.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._read()
        self.telegram_api_url: str = first["telegram_api_url"]
        self.telegram_token: str = first["telegram_token"]
        self.slack_api_url: str = first["slack_api_url"]

    def ask(self, command: str) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def _read(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the fake platform servers stopped")
        return json.loads(line)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Fakes:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """A short description of the machine, for the figures' context."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}"


def result(**values: object) -> None:
    """The machine-readable last line: ``result: key=value ...`` in the given order."""
    print("result: " + " ".join(f"{key}={value}" for key, value in values.items()), flush=True)
