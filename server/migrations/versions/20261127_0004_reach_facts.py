"""Reach facts: one row per borrower and municipality where they borrowed, filled from loans.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reach_facts",
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("borrowers.id"), nullable=False),
        sa.Column(
            "municipality_id", sa.Integer(), sa.ForeignKey("municipalities.id"), nullable=False
        ),
        sa.Column("digibank_id", sa.Integer(), sa.ForeignKey("digibanks.id"), nullable=False),
        sa.Column("adult", sa.Boolean(), nullable=False),
        sa.Column("first_loan_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "municipality_id"),
    )
    op.create_index(
        "ix_reach_facts_adult_muni", "reach_facts", ["adult", "municipality_id", "borrower_id"]
    )
    op.create_index(
        "ix_reach_facts_adult_bank", "reach_facts", ["adult", "digibank_id", "borrower_id"]
    )
    op.execute(
        """
        INSERT INTO reach_facts (borrower_id, municipality_id, digibank_id, adult, first_loan_at)
        SELECT lo.borrower_id, l.municipality_id, m.digibank_id, b.adult, min(lo.started_at)
        FROM loans lo
        JOIN borrowers b ON b.id = lo.borrower_id
        JOIN locations l ON l.id = lo.location_id
        JOIN municipalities m ON m.id = l.municipality_id
        GROUP BY lo.borrower_id, l.municipality_id, m.digibank_id, b.adult
        """
    )


def downgrade() -> None:
    op.drop_table("reach_facts")
