#include "../fields.hpp"
#include "jobs.hpp"

namespace runner {

// Fast doubling, top bit first: F(2k) = F(k)(2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2.
// O(log n), so n may be as large as 1e18; every product of two residues fits in uint64.
uint32_t fib_mod(uint64_t n) {
  const uint64_t m = kFibModulus;
  uint64_t a = 0, b = 1;  // F(k), F(k+1) for k = the bits of n consumed so far
  for (int bit = 63; bit >= 0; --bit) {
    const uint64_t c = a * ((2 * b + m - a) % m) % m;
    const uint64_t d = (a * a + b * b) % m;
    if ((n >> bit) & 1) {
      a = d;
      b = (c + d) % m;
    } else {
      a = c;
      b = d;
    }
  }
  return static_cast<uint32_t>(a);
}

Outcome run_fib(const Json& payload) {
  Fields fields(payload);
  const int64_t n = fields.integer("n", 0, kMaxFibN);
  if (!fields.ok()) return fields.error();
  return Outcome::ok(Json{{"value", fib_mod(static_cast<uint64_t>(n))}, {"modulus", kFibModulus}});
}

}  // namespace runner
