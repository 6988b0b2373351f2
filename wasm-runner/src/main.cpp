// Entry point of both builds: the native binary and runner.wasm (run under WASI).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

// --payload-stdin: reads straight into the string's spare room, a chunk at a time, until EOF or
// `limit` bytes. Under WASI, fread on stdin is the host's fd_read (worker-node's wasm-thread.mjs).
bool read_stdin(size_t limit, std::string& out) {
  constexpr size_t kChunk = 1 << 20;
  while (out.size() < limit) {
    const size_t used = out.size();
    const size_t want = std::min(kChunk, limit - used);
    out.resize(used + want);
    const size_t got = std::fread(&out[used], 1, want, stdin);
    out.resize(used + got);
    if (got < want) return std::ferror(stdin) == 0;
  }
  return true;
}

// Allocation failure ends the run the same way in both builds: one error line and exit 134, what a
// native SIGABRT reports. Without this, libstdc++ aborts (134, no message) and emscripten's
// standalone abort() is _Exit(1), which would read as an ordinary, retryable job failure. In wasm
// this is a job that needs more than -sMAXIMUM_MEMORY (4 GiB, see build-wasm.sh).
[[noreturn]] void out_of_memory() {
  std::fputs("{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the runner ran out of memory\"}}\n", stderr);
  std::fflush(stderr);
  std::_Exit(134);
}

}  // namespace

int main(int argc, char** argv) {
  std::set_new_handler(out_of_memory);
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const runner::CliOutput output = runner::run_cli(args, read_stdin);
  std::fwrite(output.out.data(), 1, output.out.size(), stdout);
  std::fwrite(output.err.data(), 1, output.err.size(), stderr);
  std::fflush(stdout);
  std::fflush(stderr);
  return output.exit_code;
}
