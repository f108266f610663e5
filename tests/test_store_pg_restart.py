"""The writer across a real PostgreSQL stop and start in the middle of a call.

The shared cluster serves other test runs, so this test starts a private PostgreSQL server (initdb into a
temporary directory, its own port) and stops it with `pg_ctl stop -m fast`, exactly what an operator's restart
does to the agent's connection.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ari_agent.store import migrate
from tests.test_store_db import counts, long_call, make_writer, until

pytestmark = pytest.mark.integration

_BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


@dataclass
class PrivateServer:
    """A PostgreSQL server owned by this test."""

    bindir: Path
    datadir: Path
    port: int

    def _pg_ctl(self, *args: str) -> None:
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "30", *args]
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True)

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        opts = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", opts, "-l", str(self.datadir / "log"), "start")

    def stop(self) -> None:
        """Stop like an operator's restart: every session is terminated."""
        self._pg_ctl("-m", "fast", "stop")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    """initdb + start a throw-away server with a trusted role ari_agent and database store."""
    if os.geteuid() != 0 or not _BINDIRS or shutil.which("runuser") is None:
        pytest.skip("needs root and the postgresql server binaries to run a private server")
    bindir = Path(_BINDIRS[-1])
    # Not under pytest's tmp_path: its parents are private to root and the server runs as postgres.
    datadir = Path(tempfile.mkdtemp(prefix="ari-agent-pg-"))
    shutil.chown(datadir, "postgres", "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
    )
    pg = PrivateServer(bindir, datadir, _free_port())
    pg.start()
    try:
        admin = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE ROLE ari_agent LOGIN")
            conn.execute("CREATE DATABASE store OWNER ari_agent")
        yield pg
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(datadir, ignore_errors=True)


async def test_postgres_restart_mid_call_loses_and_duplicates_nothing(server: PrivateServer, tmp_path: Path) -> None:
    dsn = f"postgresql://ari_agent@127.0.0.1:{server.port}/store"
    await asyncio.to_thread(migrate.upgrade, dsn)
    writer = make_writer(dsn, tmp_path)
    await writer.start()
    events = long_call("restart", 40)
    for event in events[:30]:
        writer(event)
    assert await writer.flush(10)

    await asyncio.to_thread(server.stop)
    for event in events[30:90]:
        writer(event)
    await until(lambda: writer.spool_depth > 0 and writer.stats.queue_depth == 0)
    assert not writer.stats.connected
    for event in events[90:]:
        writer(event)

    await asyncio.to_thread(server.start)
    assert await writer.flush(20)
    stats = writer.stats
    await writer.close()
    assert stats.spool_depth == 0 and stats.dropped_ops == 0 and stats.rejected_ops == 0
    assert counts(dsn, "restart") == (1, 80, 80, 0)
    with psycopg.connect(dsn) as conn:
        seqs = conn.execute("SELECT array_agg(seq ORDER BY seq) FROM turns WHERE call_id = 'restart'").fetchone()
    assert seqs is not None and seqs[0] == list(range(80))
