#include "../fields.hpp"
#include "../prng.hpp"
#include "jobs.hpp"

namespace runner {
namespace {

// Iterations until c = x0 + y0 i escapes, capped at max_iter. Not inlined so V8 tiers it up
// between calls (see primes.cpp).
__attribute__((noinline)) uint32_t escape_time(double x0, double y0, uint32_t max_iter) {
  double x = 0.0, y = 0.0, x2 = 0.0, y2 = 0.0;
  uint32_t iter = 0;
  while (iter < max_iter && x2 + y2 <= 4.0) {
    y = 2.0 * x * y + y0;
    x = x2 - y2 + x0;
    x2 = x * x;
    y2 = y * y;
    ++iter;
  }
  return iter;
}

}  // namespace

// Escape-time iteration over [-2.5, 1] x [-1.25, 1.25]. IEEE doubles give the same bits on both
// builds as long as nothing fuses a*b+c into an FMA, hence -ffp-contract=off in CMakeLists.txt and
// build-wasm.sh.
MandelbrotStats mandelbrot(uint32_t width, uint32_t height, uint32_t max_iter) {
  MandelbrotStats stats;
  Fnv1a32 hash;
  for (uint32_t py = 0; py < height; ++py) {
    const double y0 = -1.25 + 2.5 * static_cast<double>(py) / static_cast<double>(height);
    for (uint32_t px = 0; px < width; ++px) {
      const double x0 = -2.5 + 3.5 * static_cast<double>(px) / static_cast<double>(width);
      const uint32_t iter = escape_time(x0, y0, max_iter);
      stats.iterations += iter;
      stats.inside += iter == max_iter;
      hash.add(iter);
    }
  }
  stats.checksum = hash.value();
  return stats;
}

Outcome run_mandelbrot(const Json& payload) {
  Fields fields(payload);
  const int64_t width = fields.integer("width", 1, kMaxMandelbrotSide);
  const int64_t height = fields.integer("height", 1, kMaxMandelbrotSide);
  const int64_t max_iter = fields.integer("max_iter", 1, kMaxMandelbrotIter);
  if (!fields.ok()) return fields.error();
  if (width * height > kMaxMandelbrotWork / max_iter) {
    return Outcome::bad_payload("payload.width * height * max_iter must be at most " +
                                std::to_string(kMaxMandelbrotWork));
  }
  const MandelbrotStats s = mandelbrot(static_cast<uint32_t>(width), static_cast<uint32_t>(height),
                                       static_cast<uint32_t>(max_iter));
  return Outcome::ok(Json{{"checksum", s.checksum}, {"iterations", s.iterations}, {"inside", s.inside}});
}

}  // namespace runner
