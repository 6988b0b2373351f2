// Every job type: a pure compute function (unit-tested directly) and an entry point that validates
// the payload and shapes the result. Results are JSON objects; the CLI wraps them as
// {"type": ..., "result": ...}. Each limit keeps a native run within roughly a minute and the
// WebAssembly build within its memory cap.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../json.hpp"
#include "../outcome.hpp"

namespace runner {

// Seeds stop at 2^53 - 1 so a JavaScript caller can pass any of them exactly.
constexpr int64_t kMaxSeed = 9007199254740991;

Outcome run_echo(const Json& payload);

constexpr int64_t kMaxSleepMs = 600000;
Outcome run_sleep(const Json& payload);

Outcome run_fail(const Json& payload);

constexpr int64_t kMaxPrimesLimit = 2000000000;
uint32_t count_primes(uint32_t limit);
Outcome run_primes(const Json& payload);

constexpr int64_t kMaxFibN = 1000000000000000000;
constexpr uint32_t kFibModulus = 1000000007;
uint32_t fib_mod(uint64_t n);
Outcome run_fib(const Json& payload);

constexpr int64_t kMaxShaRounds = 50000000;
std::string sha256_rounds(const std::string& data, uint32_t rounds);
Outcome run_sha256(const Json& payload);

constexpr int64_t kMaxMatmulN = 2048;
uint32_t matmul_checksum(uint32_t n, uint64_t seed);
Outcome run_matmul(const Json& payload);

constexpr int64_t kMaxSortN = 20000000;
uint32_t sort_checksum(uint32_t n, uint64_t seed);
Outcome run_sort(const Json& payload);

constexpr int64_t kMaxMandelbrotSide = 16384;
constexpr int64_t kMaxMandelbrotIter = 1000000;
constexpr int64_t kMaxMandelbrotWork = 20000000000;  // width * height * max_iter
struct MandelbrotStats {
  uint64_t iterations = 0;  // sum of every pixel's iteration count
  uint64_t inside = 0;      // pixels that never escaped
  uint32_t checksum = 0;    // FNV-1a of the per-pixel counts, row-major
};
MandelbrotStats mandelbrot(uint32_t width, uint32_t height, uint32_t max_iter);
Outcome run_mandelbrot(const Json& payload);

struct WordCount {
  uint64_t lines = 0, words = 0, bytes = 0, unique = 0;
  std::vector<std::pair<std::string, uint64_t>> top;  // most frequent first, ties by word
};
WordCount word_count(const std::string& text, size_t top_n);
Outcome run_wordcount(const Json& payload);

}  // namespace runner
