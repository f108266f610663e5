#!/usr/bin/env bash
# PostgreSQL for the transcript store and Asterisk's CDRs: the machine's own server, a password role reachable
# over TCP on 127.0.0.1 (Asterisk runs in a chroot and cannot see the Unix socket), the database PG_DB and a
# scratch database ${PG_DB}_test for the integration tests, both migrated to alembic head.
# Idempotent: a second run only checks and finishes in about a second.
#
#   scripts/setup-postgres.sh            # install if needed, start, create role/dbs, migrate both
#   SKIP_MIGRATE=1 scripts/setup-postgres.sh   # server, role and databases only
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_TEST_DB="${PG_DB}_test"

as_postgres() {  # runs psql as the postgres superuser over the Unix socket (peer auth)
    local port=$1
    shift
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"
}

step "PostgreSQL server"
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
    apt_install postgresql
fi
command -v pg_lsclusters >/dev/null 2>&1 || die "postgresql-common is missing after apt install"
# Prefer the cluster that owns PG_PORT; otherwise the newest one (a fresh install has exactly one).
cluster_line="$(pg_lsclusters -h | awk -v port="$PG_PORT" '$3 == port' | tail -n1)"
[ -n "$cluster_line" ] || cluster_line="$(pg_lsclusters -h | sort -V | tail -n1)"
[ -n "$cluster_line" ] || die "no PostgreSQL cluster found (pg_lsclusters is empty)"
read -r PG_VERSION PG_CLUSTER cluster_port cluster_status _ <<<"$cluster_line"
[ "$cluster_port" = "$PG_PORT" ] \
    || die "cluster $PG_VERSION/$PG_CLUSTER listens on $cluster_port, not PG_PORT=$PG_PORT; set PG_PORT=$cluster_port"
conf_dir="/etc/postgresql/$PG_VERSION/$PG_CLUSTER"
restart_needed=0

# Debian's default listen_addresses is 'localhost'; only override it when someone set it to something that
# leaves 127.0.0.1 out, and do it in conf.d so the packaged postgresql.conf stays untouched.
listen="$(grep -hE "^[[:space:]]*listen_addresses" "$conf_dir/postgresql.conf" "$conf_dir"/conf.d/*.conf 2>/dev/null \
    | tail -n1 | sed -E "s/.*=[[:space:]]*'([^']*)'.*/\1/" || true)"
if [ -n "$listen" ] && ! grep -qE "(^|,)[[:space:]]*(\*|localhost|127\.0\.0\.1|0\.0\.0\.0)[[:space:]]*(,|$)" <<<"$listen"; then
    mkdir -p "$conf_dir/conf.d"
    printf "# ari-agent: Asterisk (chroot) and the agent connect over TCP\nlisten_addresses = '%s,127.0.0.1'\n" \
        "$listen" >"$conf_dir/conf.d/ari-agent.conf"
    restart_needed=1
fi
# Password auth for our role over IPv4 loopback. Debian ships a scram line for 127.0.0.1/32 already; add one
# (before any other host line) only if no host rule for 127.0.0.1 accepts passwords.
hba="$conf_dir/pg_hba.conf"
if ! grep -qE "^[[:space:]]*host[[:space:]]+(all|$PG_DB)[[:space:]]+(all|$PG_USER)[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)" "$hba"; then
    tmp="$(mktemp)"
    awk -v db="$PG_DB,$PG_TEST_DB" -v user="$PG_USER" '
        !done && /^[[:space:]]*host/ { print "host    " db "    " user "    127.0.0.1/32    scram-sha-256  # ari-agent"; done = 1 }
        { print }
        END { if (!done) print "host    " db "    " user "    127.0.0.1/32    scram-sha-256  # ari-agent" }' "$hba" >"$tmp"
    cat "$tmp" >"$hba" && rm -f "$tmp"
    [ "$cluster_status" = online ] && pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" reload
fi
if [ "$cluster_status" != online ]; then
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
elif [ "$restart_needed" = 1 ]; then
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
fi
wait_for_port 127.0.0.1 "$PG_PORT" 30 "PostgreSQL $PG_VERSION/$PG_CLUSTER"
step_done "cluster $PG_VERSION/$PG_CLUSTER online on 127.0.0.1:$PG_PORT"

step "role $PG_USER and databases $PG_DB, $PG_TEST_DB"
# The password is passed as a psql variable (:'pw' quotes it), never spliced into SQL by the shell.
as_postgres "$PG_PORT" -v user="$PG_USER" -v pw="$PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
-- Re-set the password every run so a changed PG_PASSWORD takes effect; scram by the server default.
ALTER ROLE :"user" WITH LOGIN PASSWORD :'pw';
SQL
for db in "$PG_DB" "$PG_TEST_DB"; do
    as_postgres "$PG_PORT" -v db="$db" -v user="$PG_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
done
step_done "ready"

if [ "${SKIP_MIGRATE:-0}" != 1 ]; then
    [ -x "$AGENT_VENV/bin/python" ] || die "no agent venv at $AGENT_VENV: create it first"
    step "alembic upgrade head ($PG_DB, $PG_TEST_DB)"
    # One interpreter for both databases: importing alembic costs more than the migrations themselves.
    revs="$(cd "$REPO_ROOT" && PG_TEST_DB="$PG_TEST_DB" "$AGENT_VENV/bin/python" - 2>"$RUN_DIR/alembic.log" <<'PY'
import os
from ari_agent.store import migrate

e = os.environ
for db in (e["PG_DB"], e["PG_TEST_DB"]):
    dsn = f"postgresql://{e['PG_USER']}:{e['PG_PASSWORD']}@{e['PG_HOST']}:{e['PG_PORT']}/{db}"
    migrate.upgrade(dsn, "head")
    print(f"{db}={migrate.current(dsn)}", end=" ")
PY
)" || { cat "$RUN_DIR/alembic.log" >&2; die "alembic upgrade failed"; }
    step_done "at $revs"
fi
