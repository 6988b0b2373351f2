// SHA-256 (FIPS 180-4). Small enough to own, so both builds hash with the same code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace runner {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t size);
  Sha256Digest finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

Sha256Digest sha256(const uint8_t* data, size_t size);
std::string to_hex(const uint8_t* data, size_t size);

}  // namespace runner
