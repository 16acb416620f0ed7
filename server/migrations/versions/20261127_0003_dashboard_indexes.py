"""Indexes for the dashboard: devices silent on loan, flag reasons.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Devices silent on loan are counted per report interval by a range on last_seen_at.
    op.create_index(
        "ix_devices_state_interval_seen", "devices", ["state", "report_interval_s", "last_seen_at"]
    )
    # The flags queue's reason filter and its list of reasons.
    op.create_index("ix_flags_status_reason", "flags", ["status", "reason"])


def downgrade() -> None:
    op.drop_index("ix_flags_status_reason", table_name="flags")
    op.drop_index("ix_devices_state_interval_seen", table_name="devices")
