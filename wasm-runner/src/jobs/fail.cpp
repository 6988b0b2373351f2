#include "../fields.hpp"
#include "jobs.hpp"

namespace runner {

// Fails on purpose with the requested exit code. 126+ are left to shells and signals (128+n).
Outcome run_fail(const Json& payload) {
  Fields fields(payload);
  const int64_t code = fields.integer("code", 1, 125, 1);
  std::string message = fields.text("message", 4096, "requested failure");
  if (!fields.ok()) return fields.error();
  return Outcome::error(static_cast<int>(code), "job_failed", std::move(message));
}

}  // namespace runner
