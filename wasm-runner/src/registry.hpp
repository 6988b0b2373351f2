// Job type name -> entry point, and the steps every job shares: look the type up, parse and bound
// the payload, run, wrap the result.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "outcome.hpp"

namespace runner {

// Native argv caps one argument at 128 KiB (Linux MAX_ARG_STRLEN); a lower cap on --payload that
// both builds enforce keeps them in agreement and leaves room for the other arguments.
constexpr size_t kMaxArgPayloadBytes = 65536;
// --payload-stdin has no OS limit; this matches the largest blob a job can name (PUT /blobs).
constexpr size_t kMaxStdinPayloadBytes = 100 * 1024 * 1024;
// The serialiser recurses once per nesting level; this keeps it far from either build's stack limit.
constexpr int kMaxPayloadDepth = 128;

// The known types, comma-separated, for messages and --help.
std::string known_types();

// Fills `text` with a job's raw payload, reading at most `limit` bytes: a payload cut at the limit
// is over it. An error outcome (missing or unreadable payload) ends the job with it.
using PayloadReader = std::function<Outcome(size_t limit, std::string& text)>;

// Runs one job. The payload is read only once the type is known, so an unknown type never reads
// (or waits for) a large payload; more than max_bytes is exit 3, and `hint` follows the limit in
// that message. On success, Outcome::result holds {"type": type, "result": ...}.
Outcome run_job(const std::string& type, const PayloadReader& read, size_t max_bytes, const std::string& hint = "");

// Runs one job whose payload is the raw --payload argument (absent when the flag was not given).
Outcome run_job(const std::string& type, const std::optional<std::string>& payload_text);

}  // namespace runner
