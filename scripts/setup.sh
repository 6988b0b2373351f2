#!/usr/bin/env bash
# What the test suite, CI and the benchmarks need beyond Node, installed when missing. Run by `npm test` before any
# test and by .ci/run, so the README's command and CI cannot drift apart. Each tool is looked up
# first (command -v), so a second run installs nothing and costs a few milliseconds.
#
#   cmake, g++,    the native runner and its C++ tests (ctest)
#   make
#   emcc           rebuilds runner.wasm to check the committed one (wasm-runner/check-wasm.sh, CI)
#   chromium       the dashboard's browser tests (playwright-core drives /usr/bin/chromium)
#   promtool       the /metrics exposition checked by Prometheus's own linter
#   redis-server   BullMQ, the peer `npm run bench` measures against
#   systemd-analyze  checks the worker node's systemd unit (worker-node/packaging)
#
# As root on Debian or Ubuntu it installs them with apt-get; otherwise it stops at once and prints
# the command to run, rather than letting tests fail one by one twenty minutes later.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool:package, one per line; the package is what Debian calls the tool's provider.
wanted='cmake:cmake
c++:g++
make:make
emcc:emscripten
chromium:chromium
promtool:prometheus
redis-server:redis-server
systemd-analyze:systemd'

missing=()
while IFS=: read -r tool pkg; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
done <<<"$wanted"

if [ ${#missing[@]} -gt 0 ]; then
  install="apt-get install -y --no-install-recommends ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "x setup: missing ${missing[*]} (Debian package names); install them with your system's package manager" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "x setup: missing ${missing[*]}; run: sudo apt-get update && sudo $install" >&2
    exit 1
  fi
  echo "> setup: installing ${missing[*]} (apt-get, as root)"
  export DEBIAN_FRONTEND=noninteractive
  # Only a machine that lacks something pays for the index refresh.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for pkg in "${missing[@]}"; do echo "  installed $pkg"; done
fi

# npm packages: the same check start.mjs makes, so `npm test` works on a clone nobody installed.
if [ ! -x node_modules/.bin/vitest ] || [ ! -x node_modules/.bin/wrangler ]; then
  echo "> setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
