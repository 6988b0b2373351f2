#include "cli.hpp"

#include <optional>

#include "jobs/jobs.hpp"
#include "outcome.hpp"
#include "registry.hpp"

namespace runner {
namespace {

struct Invocation {
  bool help = false;
  bool self_test = false;
  bool payload_stdin = false;
  std::optional<std::string> job_id, type, payload;
};

Outcome parse_args(const std::vector<std::string>& args, Invocation& inv) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      inv.help = true;
      continue;
    }
    if (flag == "--self-test") {
      inv.self_test = true;
      continue;
    }
    if (flag == "--payload-stdin") {
      if (inv.payload_stdin) return Outcome::usage(flag + " given twice");
      inv.payload_stdin = true;
      continue;
    }
    std::optional<std::string>* slot = flag == "--job-id"    ? &inv.job_id
                                       : flag == "--type"    ? &inv.type
                                       : flag == "--payload" ? &inv.payload
                                                             : nullptr;
    if (slot == nullptr) return Outcome::usage("unknown argument \"" + flag.substr(0, 64) + "\"");
    if (slot->has_value()) return Outcome::usage(flag + " given twice");
    if (i + 1 >= args.size()) return Outcome::usage(flag + " needs a value");
    *slot = args[++i];
  }
  if (inv.help) return Outcome::ok(nullptr);
  if (inv.self_test) {
    if (inv.job_id || inv.type || inv.payload || inv.payload_stdin) return Outcome::usage("--self-test takes no other flags");
    return Outcome::ok(nullptr);
  }
  if (inv.payload && inv.payload_stdin) return Outcome::usage("--payload and --payload-stdin are mutually exclusive");
  if (!inv.job_id) return Outcome::usage("--job-id is required");
  if (inv.job_id->empty() || inv.job_id->size() > 256) {
    return Outcome::usage("--job-id must be 1 to 256 bytes");
  }
  return Outcome::ok(nullptr);
}

// A few small jobs with known answers, checked end to end through run_job. The worker node runs
// this at boot to decide whether the native binary is usable on this machine.
Outcome self_test() {
  struct Check {
    const char* type;
    const char* payload;
    const char* expected;
  };
  static const Check kChecks[] = {
      {"echo", R"({"a":[1,"x"]})", R"({"type":"echo","result":{"a":[1,"x"]}})"},
      {"primes", R"({"limit":1000})", R"({"type":"primes","result":{"count":168}})"},
      {"sha256", R"({"data":"abc"})",
       R"({"type":"sha256","result":{"digest":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}})"},
  };
  for (const Check& check : kChecks) {
    Outcome o = run_job(check.type, std::string(check.payload));
    if (!o.succeeded() || dump(o.result) != check.expected) {
      return Outcome::error(kExitJobFailed, "self_test_failed", std::string("self-test failed on ") + check.type);
    }
  }
  return Outcome::ok(Json{{"self_test", "ok"}});
}

std::string usage_text() {
  return "usage: runner --job-id ID [--type TYPE] --payload JSON\n"
         "       runner --job-id ID [--type TYPE] --payload-stdin < JSON\n"
         "       runner --self-test\n"
         "TYPE defaults to echo; one of: " +
         known_types() + "\n"
         "--payload takes at most " + std::to_string(kMaxArgPayloadBytes) + " bytes, --payload-stdin at most " +
         std::to_string(kMaxStdinPayloadBytes) + " (read until EOF)\n";
}

Outcome run_invocation(const Invocation& inv, const StdinReader& read_stdin) {
  if (inv.self_test) return self_test();
  const std::string type = inv.type.value_or("echo");
  if (!inv.payload_stdin) return run_job(type, inv.payload);
  const PayloadReader from_stdin = [&](size_t limit, std::string& text) {
    if (!read_stdin || !read_stdin(limit, text)) return Outcome::bad_payload("could not read the payload from stdin");
    return Outcome::ok(nullptr);
  };
  return run_job(type, from_stdin, kMaxStdinPayloadBytes);
}

}  // namespace

CliOutput run_cli(const std::vector<std::string>& args, const StdinReader& read_stdin) {
  Invocation inv;
  Outcome outcome = parse_args(args, inv);
  if (outcome.succeeded()) {
    if (inv.help) return CliOutput{kExitOk, usage_text(), ""};
    outcome = run_invocation(inv, read_stdin);
  }
  if (outcome.succeeded()) return CliOutput{kExitOk, dump(outcome.result) + "\n", ""};
  const Json error = {{"error", {{"code", outcome.error_code}, {"message", outcome.error_message}}}};
  return CliOutput{outcome.exit_code, "", dump(error) + "\n"};
}

}  // namespace runner
