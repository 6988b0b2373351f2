#!/usr/bin/env bash
# Builds runner.wasm from the same sources as the native binary.
#   wasm-runner/build-wasm.sh            -> wasm-runner/dist/runner.wasm (committed)
#   wasm-runner/build-wasm.sh OUT_DIR    -> OUT_DIR/runner.wasm (check-wasm.sh uses a temp dir)
# Reproducible: sources are passed as sorted relative paths, there is no debug info, and the only
# third-party header is the vendored nlohmann/json (third_party/), so the output depends only on the sources and the
# emcc version (recorded in dist/EMCC_VERSION and checked by check-wasm.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/dist}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

# Debian's emcc 3.1.6 needs its node modules on NODE_PATH.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
EMCC="${EMCC:-em++}"
NLOHMANN_DIR="$here/third_party/nlohmann-json/include/nlohmann"

# A directory holding only a symlink to the vendored nlohmann/ keeps the include path out of the
# output, which then depends only on the sources and the emcc version.
include_dir="$(mktemp -d)"
trap 'rm -rf "$include_dir"' EXIT
ln -s "$NLOHMANN_DIR" "$include_dir/nlohmann"

cd "$here"
mapfile -t sources < <(find src -name '*.cpp' | LC_ALL=C sort)

# -O3 and -ffp-contract=off, -fno-exceptions, JSON_NOEXCEPTION: the same as CMakeLists.txt.
# -msimd128 lets clang vectorise as g++ does natively with SSE2: without it matmul ran 3.4x slower
# than native (see README.md, Performance). Integer SIMD is exact and wasm SIMD has no fused
# multiply-add, so results are unchanged; Node >= 16.4 and Cloudflare Workers support it.
# STANDALONE_WASM: a plain WASI program (node:wasi runs it); emscripten's JS glue is not used.
# Memory starts at 16 MiB and may grow to 4 GiB, all that wasm32 can address: a 100 MiB
# --payload-stdin payload is held as text, then parsed (the string value alone is another 100 MiB,
# nlohmann's token buffer up to 128 MiB more), then copied out by the job; a 100 MiB sha256 payload
# peaks near 500 MiB, and a wordcount of 100 MiB of distinct words or an echo of 50M array elements
# near 3.5 GiB. A job that needs more ends with out_of_memory, exit 134 (main.cpp).
"$EMCC" -std=c++17 -O3 -DNDEBUG -DJSON_NOEXCEPTION -fno-exceptions -ffp-contract=off -msimd128 \
  -isystem "$include_dir" -Isrc \
  -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=4GB \
  -sTOTAL_STACK=1MB --js-library src/wasi-imports.js \
  "${sources[@]}" -o "$out_dir/runner.wasm"

# The committed module records the compiler that made it: check-wasm.sh needs the same one.
if [[ "$out_dir" == "$here/dist" ]]; then
  version="$("$EMCC" --version)"
  echo "${version%%$'\n'*}" > "$out_dir/EMCC_VERSION"
fi

echo "build-wasm: wrote $out_dir/runner.wasm ($(wc -c < "$out_dir/runner.wasm") bytes)"
