// The command line shared by the native binary and runner.wasm:
//   runner --job-id ID [--type TYPE] --payload JSON
//   runner --self-test
//   runner --help
// One line on stdout on success; one {"error":{...}} line on stderr and a non-zero exit otherwise.
#pragma once

#include <string>
#include <vector>

namespace runner {

struct CliOutput {
  int exit_code = 0;
  std::string out;  // written to stdout verbatim
  std::string err;  // written to stderr verbatim
};

// args excludes argv[0].
CliOutput run_cli(const std::vector<std::string>& args);

}  // namespace runner
