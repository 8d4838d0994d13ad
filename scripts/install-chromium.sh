#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/dashboard/*.browser.test.ts drive it with
# playwright-core at /usr/bin/chromium). Playwright's own browser download does not work on
# offline machines, so the tests use the distribution's build. Idempotent: does nothing when
# /usr/bin/chromium already runs.
set -euo pipefail

if [ -x /usr/bin/chromium ] && /usr/bin/chromium --version >/dev/null 2>&1; then
  echo "chromium already installed: $(/usr/bin/chromium --version)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-chromium: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "installed: $(/usr/bin/chromium --version)"
