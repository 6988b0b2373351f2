// splitmix64 (Steele, Lea, Flood 2014): tiny, explicit and identical on every platform, unlike
// std::rand or <random> distributions whose output differs between libstdc++ and libc++.
#pragma once

#include <cstdint>

namespace runner {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // The high half: splitmix64's best-mixed bits.
  uint32_t next32() { return static_cast<uint32_t>(next() >> 32); }

 private:
  uint64_t state_;
};

// FNV-1a over 32-bit words: the checksum the CPU-bound jobs report. 32-bit arithmetic only, so it
// costs the same in WebAssembly as natively.
class Fnv1a32 {
 public:
  void add(uint32_t word) {
    for (int i = 0; i < 4; ++i) {
      hash_ = (hash_ ^ ((word >> (8 * i)) & 0xFFu)) * 16777619u;
    }
  }
  uint32_t value() const { return hash_; }

 private:
  uint32_t hash_ = 2166136261u;
};

}  // namespace runner
