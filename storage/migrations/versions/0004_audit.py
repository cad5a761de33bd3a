"""audit log (who viewed, exported, erased or revealed what, and when), support summaries

support_summary keeps only counts and timings of support cases closed over 90 days
ago (the cases themselves are deleted by the daily retention purge).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("actor_person_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("subject_person_id", sa.Integer(), nullable=True),
        # SET NULL: erasing a person keeps the record that something happened, not who.
        sa.ForeignKeyConstraint(["actor_person_id"], ["person.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subject_person_id"], ["person.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_actor_person_id"), ["actor_person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_audit_log_subject_person_id"), ["subject_person_id"], unique=False
        )

    op.create_table(
        "support_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("first_contact_seconds", sa.Integer(), nullable=True),
        sa.Column("open_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("support_summary", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_summary_team"), ["team"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_support_summary_week_start"), ["week_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_summary", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_summary_week_start"))
        batch_op.drop_index(batch_op.f("ix_support_summary_team"))
    op.drop_table("support_summary")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_person_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_person_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
    op.drop_table("audit_log")
