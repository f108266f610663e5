#!/usr/bin/env bash
# Headless Chromium for the supervisor-page browser test (tests/test_web_browser.py).
# Debian's `chromium` package; installed only when missing, so a second run takes well under a second.
# Prints the browser's path on stdout (the test reads it); progress goes to stderr.
#
#   scripts/setup-chromium.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "Chromium (headless browser for the page test)"
# fonts-dejavu-core: without any font the screenshot is boxes; chromium's recommends are skipped by apt_install.
apt_install chromium fonts-dejavu-core
browser="$(command -v chromium || true)"
[ -n "$browser" ] || die "chromium is not on PATH after apt install"
version="$("$browser" --version 2>/dev/null || true)"
[ -n "$version" ] || die "$browser --version failed"
step_done "$version"
printf '%s\n' "$browser"
