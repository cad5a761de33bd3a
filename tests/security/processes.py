"""Running `python -m kiln` as a real process from an async test (the fakes keep serving)."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finished:
    """A finished kiln process."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        """Everything it printed."""
        return self.out + self.err


def environment(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without any KILN_ setting, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    clean.update(env)
    return clean


async def run_kiln(
    cwd: Path,
    env: dict[str, str],
    *args: str,
    limit: float = 60,
    stdin: bytes | None = None,
) -> Finished:
    """Run `kiln ARGS` to the end without blocking this event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kiln",
        *args,
        cwd=cwd,
        env=environment(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(limit):
        out, err = await process.communicate(stdin)
    return Finished(process.returncode or 0, out.decode(), err.decode())
