#include "../fields.hpp"
#include "../sha256.hpp"
#include "jobs.hpp"

namespace runner {

// Round 1 hashes the UTF-8 bytes of data; every further round hashes the previous raw 32-byte
// digest (so rounds=2 is sha256(sha256(data)), as in Bitcoin's double hash).
std::string sha256_rounds(const std::string& data, uint32_t rounds) {
  Sha256Digest digest = sha256(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  for (uint32_t i = 1; i < rounds; ++i) digest = sha256(digest.data(), digest.size());
  return to_hex(digest.data(), digest.size());
}

Outcome run_sha256(const Json& payload) {
  Fields fields(payload);
  const std::string data = fields.text("data", SIZE_MAX);
  const int64_t rounds = fields.integer("rounds", 1, kMaxShaRounds, 1);
  if (!fields.ok()) return fields.error();
  return Outcome::ok(Json{{"digest", sha256_rounds(data, static_cast<uint32_t>(rounds))}});
}

}  // namespace runner
