"""Devices: no index on last_seen_at alone.

Every stored report moves its device's last-seen time, so every index holding that column
is written once per report. No query looks devices up by last_seen_at alone (presence
counts read every device; the silent-devices count uses the (state, report_interval_s,
last_seen_at) index), so this one only cost ingest: ~5 % of its time on SQLite.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_devices_last_seen_at", table_name="devices")


def downgrade() -> None:
    op.create_index("ix_devices_last_seen_at", "devices", ["last_seen_at"])
