"""Alembic environment: runs on the connection kiln hands in, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import storage.invites  # invite codes, for autogenerate
import storage.models  # people, check-ins, moods, event ids, for autogenerate
import storage.rollup  # weekly mood rollups, for autogenerate
import storage.signin  # dashboard sign-in links and sessions, for autogenerate
import storage.support  # noqa: F401  (support tables, for autogenerate)
from storage import audit, support_records  # noqa: F401  (audit log, support summaries)

target_metadata = SQLModel.metadata
config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
