// What a job (or the CLI) produced: a result to print on stdout, or an error for stderr plus the
// process exit code. Errors are values, not exceptions: the runner is built with -fno-exceptions.
#pragma once

#include <string>
#include <utility>

#include "json.hpp"

namespace runner {

// Exit codes are part of the wire protocol (see README.md): the scheduler never retries 3 and 4.
enum ExitCode : int {
  kExitOk = 0,
  kExitJobFailed = 1,
  kExitUsage = 2,
  kExitBadPayload = 3,
  kExitUnknownType = 4,
};

struct Outcome {
  int exit_code = kExitOk;
  Json result;                // the job's "result" member, when exit_code == 0
  std::string error_code;     // stable machine-readable code, when exit_code != 0
  std::string error_message;  // human-readable, names the offending flag or field

  static Outcome ok(Json result) {
    Outcome o;
    o.result = std::move(result);
    return o;
  }
  static Outcome error(int exit_code, std::string code, std::string message) {
    Outcome o;
    o.exit_code = exit_code;
    o.error_code = std::move(code);
    o.error_message = std::move(message);
    return o;
  }
  static Outcome usage(std::string message) { return error(kExitUsage, "usage_error", std::move(message)); }
  static Outcome bad_payload(std::string message) {
    return error(kExitBadPayload, "bad_payload", std::move(message));
  }

  bool succeeded() const { return exit_code == kExitOk; }
};

}  // namespace runner
