-- The agreed bookings schema (the alembic migration is the source of truth in production). Used only to
-- create a throwaway database for the Rasa integration tests until the migration lands.
CREATE TABLE IF NOT EXISTS bookings (
    id bigserial PRIMARY KEY,
    reference text UNIQUE NOT NULL,
    scope text NOT NULL DEFAULT 'live',
    name text NOT NULL,
    phone text,
    service text NOT NULL,
    starts_at timestamp NOT NULL,
    duration_minutes int NOT NULL,
    status text NOT NULL DEFAULT 'booked' /* booked|cancelled */,
    call_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
