// Job type name -> entry point, and the steps every job shares: look the type up, parse and bound
// the payload, run, wrap the result.
#pragma once

#include <optional>
#include <string>

#include "outcome.hpp"

namespace runner {

// Native argv caps one argument at 128 KiB (Linux MAX_ARG_STRLEN); a lower cap that both builds
// enforce keeps them in agreement and leaves room for the other arguments.
constexpr size_t kMaxPayloadBytes = 65536;
// The serialiser recurses once per nesting level; this keeps it far from either build's stack limit.
constexpr int kMaxPayloadDepth = 128;

// The known types, comma-separated, for messages and --help.
std::string known_types();

// Runs one job. payload_text is the raw --payload argument (absent when the flag was not given).
// On success, Outcome::result holds {"type": type, "result": ...}.
Outcome run_job(const std::string& type, const std::optional<std::string>& payload_text);

}  // namespace runner
