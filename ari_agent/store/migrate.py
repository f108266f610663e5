"""Schema migrations, programmatically: `ari-agent db upgrade` and the tests call these, not the CLI."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from alembic import command
from alembic.config import Config

_LOGGER = logging.getLogger(__name__)

DEFAULT_DSN = "postgresql://ari_agent:ari_agent@127.0.0.1:5432/ari_agent"
# Checked in this order; ARI_AGENT_DATABASE_DSN is the name the settings loader uses for the same value.
DSN_ENV_VARS = ("ARI_AGENT_DB_DSN", "ARI_AGENT_DATABASE_DSN")
MIGRATIONS_ENV_VAR = "ARI_AGENT_MIGRATIONS"


def resolve_dsn(dsn: str | None = None) -> str:
    """The DSN to use: the given one, else the environment, else the local default."""
    if dsn:
        return dsn
    for name in DSN_ENV_VARS:
        value = os.environ.get(name)
        if value:
            return value
    return DEFAULT_DSN


def sqlalchemy_url(dsn: str) -> str:
    """Turn a libpq-style postgresql:// DSN into SQLAlchemy's psycopg 3 URL."""
    parts = urlsplit(dsn)
    if parts.scheme in ("postgresql", "postgres"):
        parts = parts._replace(scheme="postgresql+psycopg")
    elif parts.scheme != "postgresql+psycopg":
        raise ValueError(f"not a PostgreSQL URL: scheme {parts.scheme!r} (want postgresql://)")
    return urlunsplit(parts)


def migrations_dir() -> Path:
    """Where the alembic scripts live: $ARI_AGENT_MIGRATIONS, else the repository holding the package."""
    override = os.environ.get(MIGRATIONS_ENV_VAR)
    candidates = [Path(override)] if override else []
    # ari_agent/store/migrate.py -> repository root; this holds for a checkout and for an editable install.
    candidates.append(Path(__file__).resolve().parents[2] / "migrations")
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError(
        f"alembic migrations not found (looked in {', '.join(map(str, candidates))}); "
        f"set {MIGRATIONS_ENV_VAR} to the migrations/ directory of the ari-agent source"
    )


def alembic_config(dsn: str | None = None) -> Config:
    """An alembic Config for our migrations and the resolved DSN (alembic.ini is read when present)."""
    scripts = migrations_dir()
    ini = scripts.parent / "alembic.ini"
    config = Config(str(ini)) if ini.is_file() else Config()
    config.set_main_option("script_location", str(scripts))
    # Read by migrations/env.py; not a main option because ConfigParser treats % in passwords as syntax.
    config.attributes["dsn"] = resolve_dsn(dsn)
    return config


def upgrade(dsn: str | None = None, revision: str = "head") -> None:
    """Migrate the database up to `revision` (blocking: run it in a thread from async code)."""
    _LOGGER.info("migrating %s up to %s", safe_dsn(resolve_dsn(dsn)), revision)
    command.upgrade(alembic_config(dsn), revision)


def downgrade(dsn: str | None, revision: str) -> None:
    """Migrate the database down to `revision` ("base" removes every table of ours)."""
    _LOGGER.info("migrating %s down to %s", safe_dsn(resolve_dsn(dsn)), revision)
    command.downgrade(alembic_config(dsn), revision)


def current(dsn: str | None = None) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(sqlalchemy_url(resolve_dsn(dsn)), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            rev = MigrationContext.configure(connection).get_current_revision()
            return str(rev) if rev is not None else None
    finally:
        engine.dispose()


def safe_dsn(dsn: str) -> str:
    """The DSN without its password, for logs."""
    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)
