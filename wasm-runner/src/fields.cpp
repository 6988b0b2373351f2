#include "fields.hpp"

#include <cmath>
#include <limits>

namespace runner {

Fields::Fields(const Json& payload) : payload_(payload) {
  if (!payload_.is_object()) fail("payload must be a JSON object");
}

void Fields::fail(std::string message) {
  if (ok()) error_ = Outcome::bad_payload(std::move(message));
}

const Json* Fields::find(const char* name) {
  if (!ok()) return nullptr;
  auto it = payload_.find(name);
  return it == payload_.end() ? nullptr : &*it;
}

int64_t Fields::read_integer(const Json& value, const char* name, int64_t min, int64_t max) {
  const std::string range = "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
  const std::string what = std::string("payload.") + name + " must be an integer in " + range;
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (max >= 0 && v <= static_cast<uint64_t>(max) && static_cast<int64_t>(v) >= min) {
      return static_cast<int64_t>(v);
    }
  } else if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= min && v <= max) return v;
  } else if (value.is_number_float()) {
    double v = value.get<double>();
    // Range-check as double before converting: casting an out-of-range double is undefined.
    if (std::isfinite(v) && std::floor(v) == v && v >= static_cast<double>(min) &&
        v <= static_cast<double>(max)) {
      return static_cast<int64_t>(v);
    }
  }
  fail(what + ", got " + dump(value).substr(0, 64));
  return min;
}

int64_t Fields::integer(const char* name, int64_t min, int64_t max) {
  const Json* value = find(name);
  if (value == nullptr) {
    fail(std::string("payload.") + name + " is required");
    return min;
  }
  return read_integer(*value, name, min, max);
}

int64_t Fields::integer(const char* name, int64_t min, int64_t max, int64_t fallback) {
  const Json* value = find(name);
  if (value == nullptr) return fallback;
  return read_integer(*value, name, min, max);
}

std::string Fields::text(const char* name, size_t max_bytes) {
  const Json* value = find(name);
  if (value == nullptr) {
    fail(std::string("payload.") + name + " is required");
    return {};
  }
  return text(name, max_bytes, std::string());
}

std::string Fields::text(const char* name, size_t max_bytes, const std::string& fallback) {
  const Json* value = find(name);
  if (value == nullptr) return fallback;
  if (!value->is_string()) {
    fail(std::string("payload.") + name + " must be a string");
    return {};
  }
  const std::string& s = value->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    fail(std::string("payload.") + name + " must be at most " + std::to_string(max_bytes) + " bytes");
    return {};
  }
  return s;
}

}  // namespace runner
