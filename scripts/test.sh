#!/usr/bin/env bash
# The project's test command (README): installs what the tests need on a fresh machine, builds,
# and runs the whole suite. Debian packages are installed only when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(git)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

npm ci --no-audit --no-fund
npm run build
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
