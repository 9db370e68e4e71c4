#!/usr/bin/env bash
# The project's test command (README): installs what the tests need on a fresh machine, builds,
# and runs the whole suite. Debian packages are installed only when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(git python3-torch redis-server chromium fonts-dejavu-core)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# The WebGPU backend's tests run on Mesa's software Vulkan driver (lavapipe). Bookworm's own
# mesa-vulkan-drivers (22.3) is too old for Dawn; 25.x from bookworm-backports runs compute shaders.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
  && ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -Eq '^(2[5-9]|[3-9][0-9])\.'; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      >/etc/apt/sources.list.d/bookworm-backports.sources
  fi
  echo "installing mesa-vulkan-drivers from bookworm-backports (lavapipe, for the WebGPU tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
fi

npm ci --no-audit --no-fund
npm run build
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
