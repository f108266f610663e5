"""Transcript store: calls, turns, call_events, and the bookings table shared with the Rasa actions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OUTCOMES = ("booked", "cancelled", "rescheduled", "answered", "handoff", "hangup", "failed")


def upgrade() -> None:
    """Create calls, turns, call_events and bookings."""
    outcomes = ", ".join(f"'{o}'" for o in OUTCOMES)
    op.execute(
        f"""
        CREATE TABLE calls (
            call_id          text PRIMARY KEY,
            channel_uniqueid text,
            linkedid         text,
            sip_call_id      text,
            caller_number    text,
            caller_name      text,
            extension        text,
            started_at       timestamptz NOT NULL DEFAULT now(),
            answered_at      timestamptz,
            ended_at         timestamptz,
            -- NULL while the call is in progress.
            outcome          text CONSTRAINT calls_outcome_check CHECK (outcome IN ({outcomes})),
            handoff_reason   text,
            handoff_queue    text,
            booking_ref      text,
            recording_path   text,
            -- 'live' for real calls; tests and demos use their own scope so they can be filtered and purged.
            scope            text NOT NULL DEFAULT 'live'
        )
        """
    )
    op.execute("CREATE INDEX calls_started_at_idx ON calls (started_at DESC)")
    op.execute("CREATE INDEX calls_outcome_idx ON calls (outcome, started_at DESC)")
    op.execute("CREATE INDEX calls_caller_number_idx ON calls (caller_number)")
    # The CDR join looks calls up by Asterisk's ids.
    op.execute("CREATE INDEX calls_channel_uniqueid_idx ON calls (channel_uniqueid)")
    op.execute("CREATE INDEX calls_linkedid_idx ON calls (linkedid)")

    # seq is shared by turns and call_events of one call: ordering both by seq gives the call's timeline.
    op.execute(
        """
        CREATE TABLE turns (
            call_id           text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            seq               integer NOT NULL,
            speaker           text NOT NULL CONSTRAINT turns_speaker_check
                                  CHECK (speaker IN ('caller', 'agent')),
            text              text NOT NULL DEFAULT '',
            source            text,
            asr_confidence    real,
            intent            text,
            intent_confidence real,
            entities          jsonb,
            audio_start_ms    integer,
            audio_end_ms      integer,
            latency           jsonb,
            barge_in          boolean NOT NULL DEFAULT false,
            at                timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT turns_call_seq_key PRIMARY KEY (call_id, seq)
        )
        """
    )
    op.execute("CREATE INDEX turns_intent_idx ON turns (intent)")
    op.execute(
        """
        CREATE TABLE call_events (
            call_id text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
            seq     integer NOT NULL,
            kind    text NOT NULL,
            code    text,
            data    jsonb NOT NULL DEFAULT '{}'::jsonb,
            at      timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT call_events_call_seq_key PRIMARY KEY (call_id, seq)
        )
        """
    )
    op.execute("CREATE INDEX call_events_kind_at_idx ON call_events (kind, at DESC)")
    # Exactly the layout the Rasa actions were written against: do not change it without them.
    op.execute(
        """
        CREATE TABLE bookings (
            id               bigserial PRIMARY KEY,
            reference        text UNIQUE NOT NULL,
            scope            text NOT NULL DEFAULT 'live',
            name             text NOT NULL,
            phone            text,
            service          text NOT NULL,
            starts_at        timestamp NOT NULL,
            duration_minutes int NOT NULL,
            status           text NOT NULL DEFAULT 'booked',
            call_id          text,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    """Drop everything upgrade() created."""
    op.execute("DROP TABLE bookings")
    op.execute("DROP TABLE call_events")
    op.execute("DROP TABLE turns")
    op.execute("DROP TABLE calls")
