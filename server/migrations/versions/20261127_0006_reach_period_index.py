"""Reach for a period: the loans index by place and borrower also carries the start time.

The period report counts borrowers per place among loans begun in the period; with the
start time in the index it reads the index alone instead of every loan's row.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_loans_location_borrower_started", "loans", ["location_id", "borrower_id", "started_at"]
    )
    op.drop_index("ix_loans_location_borrower", table_name="loans")


def downgrade() -> None:
    op.create_index("ix_loans_location_borrower", "loans", ["location_id", "borrower_id"])
    op.drop_index("ix_loans_location_borrower_started", table_name="loans")
