"""Recordings: each turn may reference its audio file (turns.audio_path).

calls.recording_path (0001) holds the call's recording directory; turns.audio_path the WAV of one turn in it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add turns.audio_path."""
    op.execute("ALTER TABLE turns ADD COLUMN audio_path text")


def downgrade() -> None:
    """Drop turns.audio_path."""
    op.execute("ALTER TABLE turns DROP COLUMN audio_path")
