#!/usr/bin/env bash
# Makes Debian's Chromium and chromedriver available: the page's browser test in `make test`
# drives them (crate/tests/serve/browser.rs), and `make reports` exports PDFs through Chromium.
# Nothing to do when both are there; else the Debian packages when apt and root are available;
# else prints the one command to run (the browser test then fails saying the same).
set -euo pipefail
chromium=/usr/bin/chromium
driver=/usr/bin/chromedriver

[ -x "$chromium" ] && [ -x "$driver" ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "==> installing Chromium for the browser test: apt-get install chromium chromium-driver"
  apt-get update -qq >/dev/null || true
  if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      && [ -x "$chromium" ] && [ -x "$driver" ]; then
    exit 0
  fi
  echo "error: apt-get could not install chromium and chromium-driver; the browser test of" >&2
  echo "       \`make test\` needs them at $chromium and $driver" >&2
  exit 1
fi

echo "warning: Chromium and chromedriver are missing ($chromium, $driver): \`make test\`'s" >&2
echo "         browser test will fail without them. Install them with:" >&2
echo "             sudo apt-get install chromium chromium-driver" >&2
