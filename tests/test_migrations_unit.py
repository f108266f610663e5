"""DSN handling and migration discovery; no database."""

from __future__ import annotations

import pytest

from ari_agent.store import migrate


def test_sqlalchemy_url_selects_psycopg3() -> None:
    assert migrate.sqlalchemy_url("postgresql://u:p@h:1/d") == "postgresql+psycopg://u:p@h:1/d"
    assert migrate.sqlalchemy_url("postgres://u@h/d?options=-cx%3D1") == "postgresql+psycopg://u@h/d?options=-cx%3D1"
    with pytest.raises(ValueError):
        migrate.sqlalchemy_url("mysql://u@h/d")


def test_dsn_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARI_AGENT_DB_DSN", raising=False)
    monkeypatch.delenv("ARI_AGENT_DATABASE_DSN", raising=False)
    assert migrate.resolve_dsn() == migrate.DEFAULT_DSN
    monkeypatch.setenv("ARI_AGENT_DATABASE_DSN", "postgresql://b@h/d")
    assert migrate.resolve_dsn() == "postgresql://b@h/d"
    monkeypatch.setenv("ARI_AGENT_DB_DSN", "postgresql://a@h/d")
    assert migrate.resolve_dsn() == "postgresql://a@h/d"
    assert migrate.resolve_dsn("postgresql://given@h/d") == "postgresql://given@h/d"


def test_migrations_are_found_from_the_package() -> None:
    scripts = migrate.migrations_dir()
    assert (scripts / "env.py").is_file()
    names = sorted(p.name for p in (scripts / "versions").glob("*.py"))
    assert names[:2] == ["0001_transcripts.py", "0002_cdr.py"]
    config = migrate.alembic_config("postgresql://x@h/d")
    assert config.get_main_option("script_location") == str(scripts)
    assert config.attributes["dsn"] == "postgresql://x@h/d"
