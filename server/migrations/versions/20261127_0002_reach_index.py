"""Covering index for the reach report: loans by digipunt and borrower.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_loans_location_borrower", "loans", ["location_id", "borrower_id"])


def downgrade() -> None:
    op.drop_index("ix_loans_location_borrower", table_name="loans")
