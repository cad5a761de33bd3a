"""An event loop in a background thread, so hypothesis (synchronous) can drive async kiln.

Everything kiln needs (database, adapters, fakes) is created on this loop and lives
across hypothesis examples: the point of the fuzz tests is that one long-running
process keeps serving whatever it is fed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: kiln's own code: an ERROR from any of these during a fuzz run is a failure.
KILN_LOGGERS = ("bot", "adapters", "kiln", "storage")


class LoopThread:
    """Runs coroutines on a private loop; ``run`` blocks the caller until each is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``work`` on the loop and return its result (or raise its exception)."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class ErrorWatch(logging.Handler):
    """Collects ERROR (and worse) records from kiln's own loggers, whichever thread logs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in KILN_LOGGERS:
            self.records.append(record)

    def __enter__(self) -> ErrorWatch:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def describe(self) -> list[str]:
        """The collected records, one line each (for an assertion message)."""
        return [f"{r.name}: {r.getMessage()}" for r in self.records]
