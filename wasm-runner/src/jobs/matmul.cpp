#include <vector>

#include "../fields.hpp"
#include "../prng.hpp"
#include "jobs.hpp"

namespace runner {
namespace {

// row += a * brow, one call per (i, k). Not inlined so V8 tiers it up between calls (see primes.cpp).
__attribute__((noinline)) void axpy(uint32_t* row, uint32_t a, const uint32_t* brow, uint32_t n) {
  for (uint32_t j = 0; j < n; ++j) row[j] += a * brow[j];
}

}  // namespace

// C = A * B over uint32 (wrapping, so exact and identical everywhere), A then B filled row-major
// from one splitmix64 stream. The i-k-j loop order walks B and C along rows, cache-friendly.
uint32_t matmul_checksum(uint32_t n, uint64_t seed) {
  const size_t cells = static_cast<size_t>(n) * n;
  std::vector<uint32_t> a(cells), b(cells), c(cells, 0);
  SplitMix64 rng(seed);
  for (auto& x : a) x = rng.next32();
  for (auto& x : b) x = rng.next32();
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t* row = &c[static_cast<size_t>(i) * n];
    for (uint32_t k = 0; k < n; ++k) axpy(row, a[static_cast<size_t>(i) * n + k], &b[static_cast<size_t>(k) * n], n);
  }
  Fnv1a32 hash;
  for (uint32_t x : c) hash.add(x);
  return hash.value();
}

Outcome run_matmul(const Json& payload) {
  Fields fields(payload);
  const int64_t n = fields.integer("n", 1, kMaxMatmulN);
  const int64_t seed = fields.integer("seed", 0, kMaxSeed, 0);
  if (!fields.ok()) return fields.error();
  return Outcome::ok(Json{{"checksum", matmul_checksum(static_cast<uint32_t>(n), static_cast<uint64_t>(seed))}});
}

}  // namespace runner
