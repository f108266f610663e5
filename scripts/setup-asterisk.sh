#!/usr/bin/env bash
# Builds the local Asterisk 22 stack: Debian sid in a chroot (bookworm/trixie have no usable asterisk),
# cached as a zstd tarball so that only the first run on a machine pays for debootstrap + apt.
#   scripts/setup-asterisk.sh            restore from cache (build the cache first if missing)
#   scripts/setup-asterisk.sh --rebuild  throw the cache away and build again
# Result: $ASTERISK_ROOT (see lib.sh) holding asterisk, its modules (cdr_pgsql included), the English core
# sounds and baresip (the SIP test caller).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARBALL="$CACHE_DIR/asterisk-root.tar.zst"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(asterisk asterisk-modules asterisk-config asterisk-core-sounds-en baresip-core)

[ "$(id -u)" -eq 0 ] || die "setup-asterisk.sh needs root (debootstrap and chroot)"

if [ "${1:-}" = "--rebuild" ]; then
    rm -f "$TARBALL"
    rm -rf "$ASTERISK_ROOT"
fi

build_tarball() {
    step "build Asterisk 22 root from Debian sid (debootstrap + apt)"
    apt_install debootstrap zstd ca-certificates
    local work="$CACHE_DIR/asterisk-root.build"
    rm -rf "$work"
    # minbase keeps the root small; sid is the only suite with Asterisk 22 and a libc new enough for it.
    debootstrap --variant=minbase sid "$work" "$MIRROR" >"$CACHE_DIR/asterisk-debootstrap.log" 2>&1 \
        || die "debootstrap failed (sid changes daily; see $CACHE_DIR/asterisk-debootstrap.log)"
    # No daemon may start inside the chroot during package installation.
    printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
    chmod +x "$work/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$work/etc/resolv.conf"
    # Registry mirrors (and offline CI caches) may serve a frozen sid snapshot whose Release file has
    # expired; the signatures are still checked, only the freshness date is not.
    echo 'Acquire::Check-Valid-Until "false";' >"$work/etc/apt/apt.conf.d/99ari-agent-no-valid-until"
    chroot "$work" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        >>"$CACHE_DIR/asterisk-debootstrap.log" 2>&1 || die "apt-get update in the sid root failed"
    chroot "$work" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
        >>"$CACHE_DIR/asterisk-debootstrap.log" 2>&1 \
        || die "apt-get install in the sid root failed (see $CACHE_DIR/asterisk-debootstrap.log)"
    # cdr_pgsql is part of asterisk-modules; fail now rather than at the first call without CDRs.
    compgen -G "$work/usr/lib/*/asterisk/modules/cdr_pgsql.so" >/dev/null \
        || die "cdr_pgsql.so is missing from the sid asterisk-modules package"
    chroot "$work" apt-get clean
    rm -rf "$work"/var/lib/apt/lists/* "$work"/usr/share/doc/* "$work"/usr/share/man/*
    # Directories the agent writes into from the host (TTS prompts) and Asterisk records into.
    mkdir -p "$work/var/lib/ari-agent/sounds" "$work/var/lib/ari-agent/recordings" \
        "$work/var/log/asterisk" "$work/var/run/asterisk" "$work/var/spool/asterisk"
    local tmp="$TARBALL.tmp"
    tar -C "$work" --numeric-owner -cf - . | zstd -q -T0 -10 -o "$tmp" -f
    mv "$tmp" "$TARBALL"
    rm -rf "$work"
    step_done "$(du -h "$TARBALL" | cut -f1) tarball"
}

restore_root() {
    step "restore Asterisk root from $TARBALL"
    apt_install zstd
    local tmp="$ASTERISK_ROOT.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    zstd -q -d -c "$TARBALL" | tar -C "$tmp" --numeric-owner -xf -
    mv "$tmp" "$ASTERISK_ROOT"
    step_done "$(du -sh "$ASTERISK_ROOT" | cut -f1)"
}

[ -f "$TARBALL" ] || build_tarball
if [ ! -x "$ASTERISK_ROOT/usr/sbin/asterisk" ]; then
    rm -rf "$ASTERISK_ROOT"
    restore_root
fi

step "check Asterisk root"
# Idempotent fix-ups: cheap, and they repair a root restored from an older tarball.
mkdir -p "$ASTERISK_ROOT/var/lib/ari-agent/sounds" "$ASTERISK_ROOT/var/lib/ari-agent/recordings" \
    "$ASTERISK_ROOT/var/log/asterisk" "$ASTERISK_ROOT/var/run/asterisk" "$ASTERISK_ROOT/var/spool/asterisk"
version=$(chroot "$ASTERISK_ROOT" asterisk -V 2>/dev/null) || die "asterisk does not run in $ASTERISK_ROOT"
compgen -G "$ASTERISK_ROOT/usr/lib/*/asterisk/modules/cdr_pgsql.so" >/dev/null \
    || die "cdr_pgsql.so is missing from $ASTERISK_ROOT (scripts/setup-asterisk.sh --rebuild)"
[ -x "$ASTERISK_ROOT/usr/bin/baresip" ] || die "baresip is missing from $ASTERISK_ROOT (--rebuild)"
step_done "$version in $ASTERISK_ROOT"
