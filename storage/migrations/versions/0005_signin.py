"""dashboard sign-in: one-time links and sessions, stored hashed

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        *(
            [sa.Column("used_at", sa.DateTime(timezone=True), nullable=True)]
            if name == "signin_link"
            else []
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{name}_person_id"), ["person_id"], unique=False)


def upgrade() -> None:
    _create("signin_link")
    _create("dashboard_session")


def downgrade() -> None:
    for name in ("dashboard_session", "signin_link"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_person_id"))
            batch_op.drop_index(batch_op.f(f"ix_{name}_expires_at"))
        op.drop_table(name)
