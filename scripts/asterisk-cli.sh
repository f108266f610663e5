#!/usr/bin/env bash
# Runs Asterisk CLI commands against the local stack:  scripts/asterisk-cli.sh "pjsip show endpoints" [...]
source "$(dirname "${BASH_SOURCE[0]}")/asterisk-env.sh"

[ $# -ge 1 ] || die "usage: $0 \"CLI command\" [\"CLI command\" ...]"
asterisk_running || die "the local Asterisk is not running (scripts/asterisk-start.sh)"
for cmd in "$@"; do
    asterisk_rx "$cmd"
done
