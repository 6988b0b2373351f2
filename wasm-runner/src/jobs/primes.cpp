#include <algorithm>
#include <vector>

#include "../fields.hpp"
#include "jobs.hpp"

namespace runner {
namespace {

// 32 KiB of odd numbers per segment stays in L1, and keeps memory flat whatever the limit.
constexpr uint32_t kSegmentBytes = 32768;

std::vector<uint32_t> odd_primes_up_to(uint32_t n) {
  std::vector<uint8_t> composite(n + 1, 0);
  std::vector<uint32_t> primes;
  for (uint32_t i = 3; i <= n; i += 2) {
    if (composite[i]) continue;
    primes.push_back(i);
    for (uint32_t j = i * i; j <= n; j += 2 * i) composite[j] = 1;
  }
  return primes;
}

// One segment per call, not inlined: V8 cannot swap a running WebAssembly loop to optimised code
// (no on-stack replacement), but it does tier a function up between calls. Kept small and called
// often, the hot loop leaves V8's baseline compiler after a few segments.
__attribute__((noinline)) uint32_t sieve_segment(uint8_t* segment, uint32_t low, uint32_t size,
                                                 const std::vector<uint32_t>& base, std::vector<uint32_t>& next) {
  std::fill(segment, segment + size, uint8_t{1});
  for (size_t i = 0; i < base.size(); ++i) {
    const uint32_t p = base[i];
    uint32_t j = next[i];
    if (j >= low + size) continue;  // first multiple lies beyond this segment
    for (j -= low; j < size; j += p) segment[j] = 0;
    next[i] = j + low;
  }
  uint32_t count = 0;
  for (uint32_t j = 0; j < size; ++j) count += segment[j];
  return count;
}

uint32_t isqrt(uint32_t n) {
  uint32_t r = 0;
  while (static_cast<uint64_t>(r + 1) * (r + 1) <= n) ++r;
  return r;
}

}  // namespace

// Segmented sieve of Eratosthenes over odd numbers only. Indices stay 32-bit, which WebAssembly
// handles as cheaply as native code.
uint32_t count_primes(uint32_t limit) {
  if (limit < 2) return 0;
  if (limit < 3) return 1;
  const std::vector<uint32_t> base = odd_primes_up_to(isqrt(limit));
  // Odd number 2k+1 lives at index k (p*p at (p*p)/2; odd multiples of p are p indices apart).
  // Index 0 (the number 1) is not prime; 2 is counted separately. limit <= 2e9 keeps all of this
  // inside uint32.
  const uint32_t last_index = (limit - 1) / 2;
  std::vector<uint32_t> next(base.size());
  for (size_t i = 0; i < base.size(); ++i) next[i] = (base[i] * base[i]) / 2;

  std::vector<uint8_t> segment(kSegmentBytes);
  uint32_t count = 1;  // the prime 2
  for (uint32_t low = 0; low <= last_index; low += kSegmentBytes) {
    const uint32_t size = last_index - low + 1 < kSegmentBytes ? last_index - low + 1 : kSegmentBytes;
    count += sieve_segment(segment.data(), low, size, base, next);
  }
  return count - 1;  // index 0 is the number 1
}

Outcome run_primes(const Json& payload) {
  Fields fields(payload);
  const int64_t limit = fields.integer("limit", 0, kMaxPrimesLimit);
  if (!fields.ok()) return fields.error();
  return Outcome::ok(Json{{"count", count_primes(static_cast<uint32_t>(limit))}});
}

}  // namespace runner
