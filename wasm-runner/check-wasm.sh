#!/usr/bin/env bash
# Verifies that the committed dist/runner.wasm is exactly what build-wasm.sh makes from the current
# sources: rebuilds into a temp dir and compares byte for byte.
#   exit 0  identical, or (outside CI) emcc is not installed, so there is nothing to check with
#   exit 1  different, or emcc missing under CI=true
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
EMCC="${EMCC:-em++}"

if ! command -v "$EMCC" > /dev/null 2>&1; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "check-wasm: FAIL: $EMCC not found; CI must install emscripten (apt-get install emscripten)" >&2
    exit 1
  fi
  echo "check-wasm: skipped: $EMCC not found (install emscripten to check dist/runner.wasm)"
  exit 0
fi

committed="$here/dist/runner.wasm"
if [[ ! -f "$committed" ]]; then
  echo "check-wasm: FAIL: $committed is missing; run npm run build:wasm and commit it" >&2
  exit 1
fi

expected_version="$(cat "$here/dist/EMCC_VERSION" 2> /dev/null || echo unknown)"
actual_version="$("$EMCC" --version)"
actual_version="${actual_version%%$'\n'*}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$here/build-wasm.sh" "$tmp" > /dev/null

if cmp -s "$committed" "$tmp/runner.wasm"; then
  echo "check-wasm: ok: dist/runner.wasm matches a fresh build ($(wc -c < "$committed") bytes, $actual_version)"
  exit 0
fi

echo "check-wasm: FAIL: dist/runner.wasm differs from a fresh build of the sources." >&2
if [[ "$expected_version" != "$actual_version" ]]; then
  echo "  dist was built with:  $expected_version" >&2
  echo "  this machine has:     $actual_version" >&2
  echo "  the output is only reproducible with the same emcc; rebuild with that version." >&2
else
  echo "  run npm run build:wasm and commit wasm-runner/dist/runner.wasm." >&2
fi
exit 1
