// The command line shared by the native binary and runner.wasm:
//   runner --job-id ID [--type TYPE] --payload JSON
//   runner --job-id ID [--type TYPE] --payload-stdin      (the JSON is all of standard input)
//   runner --self-test
//   runner --help
// One line on stdout on success; one {"error":{...}} line on stderr and a non-zero exit otherwise.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace runner {

struct CliOutput {
  int exit_code = 0;
  std::string out;  // written to stdout verbatim
  std::string err;  // written to stderr verbatim
};

// Appends standard input to `out` until EOF or until `out` holds `limit` bytes; false on a read
// error. main.cpp reads the process's stdin; the unit tests pass a string.
using StdinReader = std::function<bool(size_t limit, std::string& out)>;

// args excludes argv[0]. read_stdin is called only for --payload-stdin, and only after the flags
// and the type have been checked.
CliOutput run_cli(const std::vector<std::string>& args, const StdinReader& read_stdin = nullptr);

}  // namespace runner
