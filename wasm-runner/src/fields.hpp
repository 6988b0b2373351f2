// Validated reads of payload fields. The first problem wins and is kept as an exit-3 Outcome;
// later reads return harmless defaults so a job can read all its fields and then check ok() once.
#pragma once

#include <cstdint>
#include <string>

#include "json.hpp"
#include "outcome.hpp"

namespace runner {

class Fields {
 public:
  explicit Fields(const Json& payload);

  // An integer in [min, max]. JSON floats are accepted only when integral (1e3, 10.0).
  int64_t integer(const char* name, int64_t min, int64_t max);
  int64_t integer(const char* name, int64_t min, int64_t max, int64_t fallback);

  // A string of at most max_bytes UTF-8 bytes.
  std::string text(const char* name, size_t max_bytes);
  std::string text(const char* name, size_t max_bytes, const std::string& fallback);

  bool ok() const { return error_.exit_code == kExitOk; }
  const Outcome& error() const { return error_; }

 private:
  const Json* find(const char* name);
  void fail(std::string message);
  int64_t read_integer(const Json& value, const char* name, int64_t min, int64_t max);

  const Json& payload_;
  Outcome error_;
};

}  // namespace runner
