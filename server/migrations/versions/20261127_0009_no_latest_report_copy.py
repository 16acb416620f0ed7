"""Devices: no copy of the latest report; last_report_seq names it in health_reports.

Ingest rewrote the device's copy of its latest report (about a kilobyte) with every report
it stored, though only ingest's rules ever read it back, for the few reports whose verdict
depends on the one before. The device row stays small now: ingest's update of it writes a
few bytes (on SQLite less to the write-ahead log at each commit; on PostgreSQL a row that
fits its page again), and reading devices, e.g. the silent-devices count, reads less.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE, also on SQLite (3.35+): a batch copy of `devices` would drop the
    # table, which with foreign keys on deletes every row that references it.
    op.drop_column("devices", "latest_report")


def downgrade() -> None:
    op.add_column("devices", sa.Column("latest_report", sa.JSON(), nullable=True))
