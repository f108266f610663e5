"""Alembic environment of the transcript store: online migrations only, through psycopg 3."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from ari_agent.store.migrate import resolve_dsn, sqlalchemy_url

config = context.config


def _url() -> str:
    # Programmatic callers (ari_agent.store.migrate) put the DSN in the config; the CLI passes -x dsn=...
    x_args = context.get_x_argument(as_dictionary=True)
    given = x_args.get("dsn") or config.attributes.get("dsn")
    return sqlalchemy_url(resolve_dsn(given))


def run_migrations_online() -> None:
    """Run every pending migration in one transaction (PostgreSQL has transactional DDL)."""
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")
run_migrations_online()
