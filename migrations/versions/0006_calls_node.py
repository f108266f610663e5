"""Calls carry the node that took them: several Asterisk servers (and their agents) share one database.

The supervisor pages and `ari-agent calls` show it, and an agent that restarts closes only the unfinished
calls of its own node (another node's live calls are not in its Asterisk's channel list, and must stay open).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add calls.node (NULL for calls taken before it existed)."""
    op.execute("ALTER TABLE calls ADD COLUMN node text")
    op.execute("CREATE INDEX calls_node_idx ON calls (node, started_at DESC)")


def downgrade() -> None:
    """Drop calls.node."""
    op.execute("DROP INDEX calls_node_idx")
    op.execute("ALTER TABLE calls DROP COLUMN node")
