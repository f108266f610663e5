"""Asterisk CDRs (cdr_pgsql layout) and the call_cdrs view that joins them to our calls.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the cdr table and the call_cdrs view."""
    # cdr_pgsql fills every column whose name is a CDR field and reads the column list only when it loads, so
    # the names are fixed; no surrogate key, so the module never meets a column it does not know. Strings are
    # text rather than varchar(n): lastdata of a Stasis() call easily passes 80 characters. Times are
    # timestamp without zone because cdr_pgsql writes Asterisk's local wall-clock time, whole seconds.
    op.execute(
        """
        CREATE TABLE cdr (
            calldate    timestamp NOT NULL DEFAULT now(),
            clid        text NOT NULL DEFAULT '',
            src         text NOT NULL DEFAULT '',
            dst         text NOT NULL DEFAULT '',
            dcontext    text NOT NULL DEFAULT '',
            channel     text NOT NULL DEFAULT '',
            dstchannel  text NOT NULL DEFAULT '',
            lastapp     text NOT NULL DEFAULT '',
            lastdata    text NOT NULL DEFAULT '',
            start       timestamp,
            answer      timestamp,
            "end"       timestamp,
            duration    bigint NOT NULL DEFAULT 0,
            billsec     bigint NOT NULL DEFAULT 0,
            disposition text NOT NULL DEFAULT '',
            amaflags    bigint NOT NULL DEFAULT 0,
            accountcode text NOT NULL DEFAULT '',
            peeraccount text NOT NULL DEFAULT '',
            uniqueid    text NOT NULL DEFAULT '',
            linkedid    text NOT NULL DEFAULT '',
            userfield   text NOT NULL DEFAULT '',
            sequence    integer NOT NULL DEFAULT 0
        )
        """
    )
    op.execute("CREATE INDEX cdr_calldate_idx ON cdr (calldate)")
    op.execute("CREATE INDEX cdr_uniqueid_idx ON cdr (uniqueid)")
    op.execute("CREATE INDEX cdr_linkedid_idx ON cdr (linkedid)")
    op.execute("CREATE INDEX cdr_userfield_idx ON cdr (userfield)")
    # One row per (call, CDR). A call usually has several CDRs (both halves of a Local channel, a transfer
    # leg): linkedid finds them all, uniqueid finds the caller's own channel, userfield survives when the
    # channel ids were never recorded (e.g. the agent crashed before CALL_STARTED was written).
    op.execute(
        """
        CREATE VIEW call_cdrs AS
        SELECT c.call_id,
               CASE WHEN d.uniqueid = c.channel_uniqueid THEN 'uniqueid'
                    WHEN d.userfield = c.call_id THEN 'userfield'
                    ELSE 'linkedid' END AS matched_by,
               d.calldate, d.clid, d.src, d.dst, d.dcontext, d.channel, d.dstchannel, d.lastapp, d.lastdata,
               d.start, d.answer, d."end", d.duration, d.billsec, d.disposition, d.amaflags, d.accountcode,
               d.peeraccount, d.uniqueid, d.linkedid, d.userfield, d.sequence
        FROM calls c
        JOIN cdr d ON d.uniqueid = c.channel_uniqueid
                   OR d.linkedid = c.linkedid
                   OR d.userfield = c.call_id
        """
    )


def downgrade() -> None:
    """Drop the view and the cdr table."""
    op.execute("DROP VIEW call_cdrs")
    op.execute("DROP TABLE cdr")
