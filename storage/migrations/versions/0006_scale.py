"""weekly mood rollups (mood_week, mood_week_respondent), backfilled from the mood rows

Markers are sha256("<monday>:<pseudonym>")[:32], as storage/rollup.py makes them.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-22
"""

import hashlib
from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHO = sa.text(
    "SELECT DISTINCT team, pseudonym FROM mood "
    "WHERE local_date >= :monday AND local_date <= :sunday"
).bindparams(sa.bindparam("monday", type_=sa.Date), sa.bindparam("sunday", type_=sa.Date))
_MARKER = sa.text(
    "INSERT INTO mood_week_respondent (team, week_start, marker) "
    "VALUES (:team, :monday, :marker)"
).bindparams(sa.bindparam("monday", type_=sa.Date))
_WEEKS = sa.text(
    "INSERT INTO mood_week (team, week_start, n1, n2, n3, n4, n5, respondents) "
    "SELECT team, :monday, "
    + ", ".join(f"SUM(CASE WHEN score = {s} THEN 1 ELSE 0 END)" for s in range(1, 6))
    + ", COUNT(DISTINCT pseudonym) FROM mood "
    "WHERE local_date >= :monday AND local_date <= :sunday GROUP BY team"
).bindparams(sa.bindparam("monday", type_=sa.Date), sa.bindparam("sunday", type_=sa.Date))


def upgrade() -> None:
    op.create_table(
        "mood_week",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        *(sa.Column(f"n{s}", sa.Integer(), nullable=False) for s in range(1, 6)),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team", "week_start"),
    )
    op.create_table(
        "mood_week_respondent",
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("marker", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("team", "week_start", "marker"),
    )
    with op.batch_alter_table("mood_week", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mood_week_week_start"), ["week_start"], unique=False)
    with op.batch_alter_table("mood_week_respondent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mood_week_respondent_week_start"), ["week_start"], unique=False
        )
    _backfill()


def _backfill() -> None:
    """Count the answers already stored, one ISO week at a time."""
    bind = op.get_bind()
    first, last = bind.execute(sa.text("SELECT MIN(local_date), MAX(local_date) FROM mood")).one()
    if first is None or last is None:
        return
    first, last = (d if isinstance(d, date) else date.fromisoformat(str(d)) for d in (first, last))
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        week = {"monday": monday, "sunday": monday + timedelta(days=6)}
        markers = [
            {"team": team, "monday": monday, "marker": _marker(pseudonym, monday)}
            for team, pseudonym in bind.execute(_WHO, week).all()
        ]
        if markers:
            bind.execute(_MARKER, markers)
        bind.execute(_WEEKS, week)
        monday += timedelta(days=7)


def _marker(pseudonym: str, monday: date) -> str:
    return hashlib.sha256(f"{monday.isoformat()}:{pseudonym}".encode()).hexdigest()[:32]


def downgrade() -> None:
    with op.batch_alter_table("mood_week_respondent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mood_week_respondent_week_start"))
    with op.batch_alter_table("mood_week", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mood_week_week_start"))
    op.drop_table("mood_week_respondent")
    op.drop_table("mood_week")
