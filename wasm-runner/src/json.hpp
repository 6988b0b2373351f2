// The one place nlohmann/json is included, so every file sees the same configuration.
//
// JSON_NOEXCEPTION: the runner is built without exceptions (smaller, faster WebAssembly), so we use
// the non-throwing parse and check types before every get<>(); a violated precondition aborts,
// which the tests treat as a bug.
#pragma once

#ifndef JSON_NOEXCEPTION
#define JSON_NOEXCEPTION
#endif
#include <nlohmann/json.hpp>

#include <string>

namespace runner {

// ordered_json keeps object keys in insertion (or input) order, so `echo` returns objects as given
// and results print "type" before "result".
using Json = nlohmann::ordered_json;

// Compact serialisation that cannot abort: invalid UTF-8 (impossible after a successful parse, but
// cheap to rule out) is replaced instead of throwing.
inline std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace runner
