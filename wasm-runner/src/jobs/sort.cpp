#include <algorithm>
#include <vector>

#include "../fields.hpp"
#include "../prng.hpp"
#include "jobs.hpp"

namespace runner {
namespace {

void insertion_sort(uint32_t* first, uint32_t* last) {
  for (uint32_t* i = first + 1; i < last; ++i) {
    const uint32_t v = *i;
    uint32_t* j = i;
    for (; j > first && j[-1] > v; --j) *j = j[-1];
    *j = v;
  }
}

// Quicksort with a median-of-three pivot, recursing into the smaller side (stack depth O(log n))
// and finishing small ranges by insertion. Our own rather than std::sort: libstdc++ and libc++
// sort differently and at different speeds, and the benchmark should compare the same algorithm.
// The input is PRNG output the caller cannot shape, so quicksort's worst case is not a concern.
__attribute__((noinline)) void quicksort(uint32_t* first, uint32_t* last) {
  while (last - first > 24) {
    uint32_t* mid = first + (last - first) / 2;
    uint32_t a = *first, b = *mid, c = last[-1];
    const uint32_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
    uint32_t* i = first;
    uint32_t* j = last - 1;
    while (true) {  // Hoare partition
      while (*i < pivot) ++i;
      while (*j > pivot) --j;
      if (i >= j) break;
      std::swap(*i++, *j--);
    }
    uint32_t* split = j + 1;
    if (split - first < last - split) {
      quicksort(first, split);
      first = split;
    } else {
      quicksort(split, last);
      last = split;
    }
  }
  insertion_sort(first, last);
}

}  // namespace

// Sorts n splitmix64 words and hashes them in order.
uint32_t sort_checksum(uint32_t n, uint64_t seed) {
  std::vector<uint32_t> values(n);
  SplitMix64 rng(seed);
  for (auto& x : values) x = rng.next32();
  if (n > 1) quicksort(values.data(), values.data() + n);
  Fnv1a32 hash;
  for (uint32_t x : values) hash.add(x);
  return hash.value();
}

Outcome run_sort(const Json& payload) {
  Fields fields(payload);
  const int64_t n = fields.integer("n", 0, kMaxSortN);
  const int64_t seed = fields.integer("seed", 0, kMaxSeed, 0);
  if (!fields.ok()) return fields.error();
  return Outcome::ok(Json{{"checksum", sort_checksum(static_cast<uint32_t>(n), static_cast<uint64_t>(seed))}});
}

}  // namespace runner
