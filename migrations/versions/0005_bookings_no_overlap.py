"""No two booked appointments of one scope overlap: enforced by the database, not only checked by the actions.

The actions check that a slot is free and then insert; two calls confirming the same slot at the same moment
both passed the check and both booked it. An exclusion constraint makes the second insert (or move) fail,
and the action tells that caller the time has just been taken.

btree_gist is needed for `scope WITH =` inside a GiST index; it is a trusted extension (PostgreSQL 13+), so
the database owner can create it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OVERLAPS = """
    SELECT a.reference, b.reference FROM bookings a JOIN bookings b
      ON a.scope = b.scope AND a.id < b.id AND a.status = 'booked' AND b.status = 'booked'
     AND tsrange(a.starts_at, a.starts_at + make_interval(mins => a.duration_minutes))
      && tsrange(b.starts_at, b.starts_at + make_interval(mins => b.duration_minutes))
    LIMIT 20
"""


def upgrade() -> None:
    """Add bookings_no_overlap (after checking that no booked rows overlap already)."""
    clashes = op.get_bind().exec_driver_sql(_OVERLAPS).fetchall()
    if clashes:
        pairs = ", ".join(f"{a}/{b}" for a, b in clashes)
        raise RuntimeError(
            f"bookings already overlap ({pairs}): cancel or move one booking of each pair "
            "(UPDATE bookings SET status = 'cancelled' WHERE reference = ...), then run the migration again"
        )
    # In public, not the first schema of the search_path: tests migrate scratch schemas that are dropped later.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public")
    op.execute(
        """
        ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (
            scope WITH =,
            tsrange(starts_at, starts_at + make_interval(mins => duration_minutes)) WITH &&
        ) WHERE (status = 'booked')
        """
    )


def downgrade() -> None:
    """Drop bookings_no_overlap (btree_gist stays: other objects may use it)."""
    op.execute("ALTER TABLE bookings DROP CONSTRAINT bookings_no_overlap")
