"""support: requests, alerts, their history, the outbox, volunteer status, relays

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = True) -> "sa.Column[datetime]":
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=unique)


def upgrade() -> None:
    op.create_table(
        "support_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("share_note", sa.Boolean(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("created_at", nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        _at("claimed_at"),
        sa.Column("first_contact_seconds", sa.Integer(), nullable=True),
        _at("escalated_at"),
        _at("closed_at"),
        _at("volunteer_checkin_at"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claimed_by"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("support_request", "person_id", "status", "volunteer_checkin_at")

    op.create_table(
        "support_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("answered_at"),
        sa.ForeignKeyConstraint(["request_id"], ["support_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "volunteer_id"),
    )
    _index("support_alert", "request_id", "volunteer_id", "status", "expires_at")

    op.create_table(
        "support_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        _at("at", nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["support_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("support_event", "request_id")

    op.create_table(
        "support_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("next_attempt_at", nullable=False),
        _at("lease_until"),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        _at("created_at", nullable=False),
        _at("sent_at"),
        sa.ForeignKeyConstraint(["request_id"], ["support_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("support_outbox", "request_id", "status", "next_attempt_at")

    op.create_table(
        "volunteer_status",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        _at("on_call_until"),
        _at("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id"),
    )

    op.create_table(
        "relay_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        _at("opened_at", nullable=False),
        _at("last_activity_at", nullable=False),
        _at("ended_at"),
        sa.ForeignKeyConstraint(["request_id"], ["support_request.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["volunteer_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("relay_session", "person_id", "volunteer_id")
    _index("relay_session", "request_id", unique=True)


def downgrade() -> None:
    for table in (
        "relay_session",
        "volunteer_status",
        "support_outbox",
        "support_event",
        "support_alert",
        "support_request",
    ):
        op.drop_table(table)
