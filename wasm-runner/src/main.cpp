// Entry point of both builds: the native binary and runner.wasm (run under WASI).
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const runner::CliOutput output = runner::run_cli(args);
  std::fwrite(output.out.data(), 1, output.out.size(), stdout);
  std::fwrite(output.err.data(), 1, output.err.size(), stderr);
  std::fflush(stdout);
  std::fflush(stderr);
  return output.exit_code;
}
