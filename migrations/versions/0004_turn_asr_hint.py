"""The recogniser's expectation hint of a caller turn (turns.asr_hint).

When the bot asked for a day, a time, a phone number or a yes/no, the agent also decodes the turn against the
phrases of such answers (ari_agent/asr/expectations.py) and the dialogue may use that reading. The column keeps
it ({"kind", "text", "complete"}) so a supervisor can see why "half past do" was booked as 14:30.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add turns.asr_hint."""
    op.execute("ALTER TABLE turns ADD COLUMN asr_hint jsonb")


def downgrade() -> None:
    """Drop turns.asr_hint."""
    op.execute("ALTER TABLE turns DROP COLUMN asr_hint")
