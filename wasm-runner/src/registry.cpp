#include "registry.hpp"

#include "jobs/jobs.hpp"

namespace runner {
namespace {

struct JobType {
  const char* name;
  Outcome (*run)(const Json& payload);
};

constexpr JobType kJobTypes[] = {
    {"echo", run_echo},     {"sleep", run_sleep},   {"fail", run_fail},
    {"primes", run_primes}, {"fib", run_fib},       {"sha256", run_sha256},
    {"matmul", run_matmul}, {"sort", run_sort},     {"mandelbrot", run_mandelbrot},
    {"wordcount", run_wordcount},
};

const JobType* find_type(const std::string& name) {
  for (const JobType& t : kJobTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

// Deepest bracket nesting outside strings, measured before parsing so a hostile payload is
// rejected without building (or later recursing through) a deep tree.
int nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::string known_types() {
  std::string names;
  for (const JobType& t : kJobTypes) {
    if (!names.empty()) names += ", ";
    names += t.name;
  }
  return names;
}

Outcome run_job(const std::string& type, const PayloadReader& read, size_t max_bytes, const std::string& hint) {
  const JobType* job = find_type(type);
  if (job == nullptr) {
    return Outcome::error(kExitUnknownType, "unknown_type",
                          "unknown job type \"" + type.substr(0, 64) + "\"; known types: " + known_types());
  }
  std::string text;
  Outcome got = read(max_bytes + 1, text);
  if (!got.succeeded()) return got;
  if (text.size() > max_bytes) {
    return Outcome::bad_payload("payload must be at most " + std::to_string(max_bytes) + " bytes" + hint);
  }
  if (nesting_depth(text) > kMaxPayloadDepth) {
    return Outcome::bad_payload("payload nests deeper than " + std::to_string(kMaxPayloadDepth) + " levels");
  }
  Json payload = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  // The raw text is not needed any more; a 100 MiB payload must not be held twice while the job
  // copies its fields out of the parsed value.
  std::string().swap(text);
  if (payload.is_discarded()) return Outcome::bad_payload("payload is not valid JSON");

  Outcome outcome = job->run(payload);
  if (outcome.succeeded()) outcome.result = Json{{"type", type}, {"result", std::move(outcome.result)}};
  return outcome;
}

Outcome run_job(const std::string& type, const std::optional<std::string>& payload_text) {
  const PayloadReader from_arg = [&](size_t, std::string& text) {
    if (!payload_text) return Outcome::bad_payload("missing --payload or --payload-stdin");
    text = *payload_text;
    return Outcome::ok(nullptr);
  };
  return run_job(type, from_arg, kMaxArgPayloadBytes, " with --payload (larger payloads go through --payload-stdin)");
}

}  // namespace runner
