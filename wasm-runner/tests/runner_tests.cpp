// Known answers for every job type and the payload rules, run by ctest. A dozen lines of harness
// instead of a test framework dependency: CHECK records a failure and keeps going.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "jobs/jobs.hpp"
#include "prng.hpp"
#include "registry.hpp"

namespace {

int failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      ++failures;                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

#define CHECK_EQ(actual, expected)                                             \
  do {                                                                         \
    const auto a_ = (actual);                                                  \
    const auto e_ = (expected);                                                \
    if (!(a_ == e_)) {                                                         \
      ++failures;                                                              \
      std::fprintf(stderr, "%s:%d: %s != %s\n", __FILE__, __LINE__, #actual, #expected); \
    }                                                                          \
  } while (0)

using runner::run_cli;

// A stand-in for the process's stdin: hands out `input` as main.cpp's reader would, and counts calls.
struct FakeStdin {
  std::string input;
  bool fail = false;
  int calls = 0;
  runner::StdinReader reader() {
    return [this](size_t limit, std::string& out) {
      ++calls;
      out.append(input, 0, std::min(limit, input.size()));
      return !fail;
    };
  }
};

runner::CliOutput stdin_job(const std::string& type, FakeStdin& in) {
  return run_cli({"--job-id", "j1", "--type", type, "--payload-stdin"}, in.reader());
}

runner::CliOutput job(const std::string& type, const std::string& payload) {
  return run_cli({"--job-id", "j1", "--type", type, "--payload", payload});
}

// The stable error code of a failed run, e.g. "bad_payload".
std::string error_code(const runner::CliOutput& out) {
  runner::Json err = runner::Json::parse(out.err, nullptr, false);
  if (err.is_discarded() || !err.contains("error")) return "<no error line>";
  return err["error"]["code"].get<std::string>();
}

void test_primes() {
  CHECK_EQ(runner::count_primes(0), 0u);
  CHECK_EQ(runner::count_primes(1), 0u);
  CHECK_EQ(runner::count_primes(2), 1u);
  CHECK_EQ(runner::count_primes(3), 2u);
  CHECK_EQ(runner::count_primes(10), 4u);
  CHECK_EQ(runner::count_primes(100), 25u);
  CHECK_EQ(runner::count_primes(65537), 6543u);  // crosses a segment boundary, ends on a prime
  CHECK_EQ(runner::count_primes(1000000), 78498u);
  CHECK_EQ(runner::count_primes(10000000), 664579u);
  CHECK_EQ(job("primes", R"({"limit":100000000})").out, "{\"type\":\"primes\",\"result\":{\"count\":5761455}}\n");
}

void test_fib() {
  CHECK_EQ(runner::fib_mod(0), 0u);
  CHECK_EQ(runner::fib_mod(1), 1u);
  CHECK_EQ(runner::fib_mod(2), 1u);
  CHECK_EQ(runner::fib_mod(10), 55u);
  CHECK_EQ(runner::fib_mod(90), 2880067194370816120ull % 1000000007ull);
  // F(1e18) mod 1e9+7, cross-checked with an independent matrix-power implementation.
  CHECK_EQ(runner::fib_mod(1000000000000000000ull), 209783453u);
  CHECK_EQ(job("fib", R"({"n":10})").out, "{\"type\":\"fib\",\"result\":{\"value\":55,\"modulus\":1000000007}}\n");
}

void test_sha256() {
  // FIPS 180-4 / NIST CAVP examples.
  CHECK_EQ(runner::sha256_rounds("", 1), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK_EQ(runner::sha256_rounds("abc", 1), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK_EQ(runner::sha256_rounds("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1),
           std::string("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  CHECK_EQ(runner::sha256_rounds(std::string(1000000, 'a'), 1),
           std::string("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  // Double SHA-256 of "hello", as Bitcoin computes it.
  CHECK_EQ(runner::sha256_rounds("hello", 2), std::string("9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"));
}

void test_seeded_checksums() {
  // Same seed, same answer; different seed, different answer; sizes 0/1 are valid edge cases.
  CHECK_EQ(runner::matmul_checksum(16, 7), runner::matmul_checksum(16, 7));
  CHECK(runner::matmul_checksum(16, 7) != runner::matmul_checksum(16, 8));
  CHECK_EQ(runner::sort_checksum(1000, 3), runner::sort_checksum(1000, 3));
  CHECK(runner::sort_checksum(1000, 3) != runner::sort_checksum(1000, 4));
  CHECK_EQ(runner::sort_checksum(0, 1), 2166136261u);  // FNV-1a offset basis: nothing hashed
  // The hand-written quicksort agrees with std::sort, including on tiny inputs and many duplicates.
  for (uint32_t n : {1u, 2u, 3u, 25u, 1000u, 100000u}) {
    std::vector<uint32_t> values(n);
    runner::SplitMix64 rng(n);
    for (auto& x : values) x = rng.next32();
    std::sort(values.begin(), values.end());
    runner::Fnv1a32 expected;
    for (uint32_t x : values) expected.add(x);
    CHECK_EQ(runner::sort_checksum(n, n), expected.value());
  }
  // 1x1: c = a*b of the first two splitmix64(0) outputs' high halves.
  const uint32_t a = 0xE220A839u, b = 0x6E789E6Au;
  runner::Fnv1a32 h;
  h.add(a * b);
  CHECK_EQ(runner::matmul_checksum(1, 0), h.value());
}

void test_mandelbrot() {
  // 1x1 samples c = -2.5 - 1.25i, which escapes on the first iteration.
  runner::MandelbrotStats one = runner::mandelbrot(1, 1, 100);
  CHECK_EQ(one.iterations, 1u);
  CHECK_EQ(one.inside, 0u);
  // A 4x2 grid samples c = 0.125 + 0i, inside the main cardioid: it never escapes.
  runner::MandelbrotStats grid = runner::mandelbrot(4, 2, 50);
  CHECK(grid.inside >= 1u);
  CHECK_EQ(runner::mandelbrot(64, 48, 200).checksum, runner::mandelbrot(64, 48, 200).checksum);
}

void test_wordcount() {
  runner::WordCount wc = runner::word_count("the cat\nthe hat\n\nthe end", 2);
  CHECK_EQ(wc.lines, 4u);
  CHECK_EQ(wc.words, 6u);
  CHECK_EQ(wc.bytes, 24u);
  CHECK_EQ(wc.unique, 4u);
  CHECK_EQ(wc.top.size(), 2u);
  CHECK_EQ(wc.top[0].first, std::string("the"));
  CHECK_EQ(wc.top[0].second, 3u);
  CHECK_EQ(wc.top[1].first, std::string("cat"));  // ties break alphabetically
  CHECK_EQ(runner::word_count("", 10).lines, 0u);
}

void test_echo_and_sleep_and_fail() {
  CHECK_EQ(job("echo", R"("just a string")").out, "{\"type\":\"echo\",\"result\":\"just a string\"}\n");
  CHECK_EQ(job("echo", R"({"b":1, "a":[true,null,1.5]})").out,
           "{\"type\":\"echo\",\"result\":{\"b\":1,\"a\":[true,null,1.5]}}\n");
  CHECK_EQ(run_cli({"--job-id", "j", "--payload", "42"}).out, "{\"type\":\"echo\",\"result\":42}\n");
  CHECK_EQ(job("sleep", R"({"ms":5})").out, "{\"type\":\"sleep\",\"result\":{\"slept_ms\":5}}\n");
  runner::CliOutput failed = job("fail", R"({"code":7,"message":"boom"})");
  CHECK_EQ(failed.exit_code, 7);
  CHECK_EQ(failed.out, std::string());
  CHECK_EQ(failed.err, "{\"error\":{\"code\":\"job_failed\",\"message\":\"boom\"}}\n");
  CHECK_EQ(job("fail", "{}").exit_code, 1);
}

void test_payload_validation() {
  CHECK_EQ(job("primes", "{").exit_code, 3);                          // invalid JSON
  CHECK_EQ(error_code(job("primes", "{")), std::string("bad_payload"));
  CHECK_EQ(job("primes", "{}").exit_code, 3);                         // missing field
  CHECK_EQ(job("primes", R"({"limit":"10"})").exit_code, 3);          // wrong type
  CHECK_EQ(job("primes", R"({"limit":true})").exit_code, 3);          // bool is not a number
  CHECK_EQ(job("primes", R"({"limit":-1})").exit_code, 3);            // below range
  CHECK_EQ(job("primes", R"({"limit":2000000001})").exit_code, 3);    // above range
  CHECK_EQ(job("primes", R"({"limit":1e300})").exit_code, 3);         // far above range
  CHECK_EQ(job("primes", R"({"limit":18446744073709551615})").exit_code, 3);
  CHECK_EQ(job("primes", R"({"limit":10.5})").exit_code, 3);          // non-integral float
  CHECK_EQ(job("primes", R"({"limit":1e2})").out, "{\"type\":\"primes\",\"result\":{\"count\":25}}\n");
  CHECK_EQ(job("primes", "[1]").exit_code, 3);                        // not an object
  CHECK_EQ(job("sleep", R"({"ms":600001})").exit_code, 3);
  CHECK_EQ(job("fail", R"({"code":0})").exit_code, 3);
  CHECK_EQ(job("fail", R"({"code":126})").exit_code, 3);
  CHECK_EQ(job("sha256", R"({"data":5})").exit_code, 3);
  CHECK_EQ(job("sha256", R"({"data":"x","rounds":0})").exit_code, 3);
  CHECK_EQ(job("mandelbrot", R"({"width":16384,"height":16384,"max_iter":1000})").exit_code, 3);
  CHECK_EQ(job("echo", "\"\xff\"").exit_code, 3);                     // invalid UTF-8
  CHECK_EQ(job("echo", std::string(200, '[') + std::string(200, ']')).exit_code, 3);  // too deep
  CHECK_EQ(job("echo", "\"" + std::string(runner::kMaxArgPayloadBytes, 'x') + "\"").exit_code, 3);
  CHECK(job("echo", std::string(runner::kMaxArgPayloadBytes + 1, ' ')).err.find("at most 65536 bytes with --payload") !=
        std::string::npos);
  CHECK_EQ(run_cli({"--job-id", "j", "--type", "primes"}).exit_code, 3);  // missing payload
  // The message names the field.
  CHECK(job("primes", R"({"limit":-1})").err.find("payload.limit") != std::string::npos);
}

void test_cli_usage() {
  CHECK_EQ(run_cli({}).exit_code, 2);                                    // no --job-id
  CHECK_EQ(error_code(run_cli({})), std::string("usage_error"));
  CHECK_EQ(run_cli({"--job-id"}).exit_code, 2);                          // missing value
  CHECK_EQ(run_cli({"--job-id", "a", "--job-id", "b", "--payload", "1"}).exit_code, 2);
  CHECK_EQ(run_cli({"--job-id", "a", "--bogus", "1"}).exit_code, 2);
  CHECK_EQ(run_cli({"--job-id", "", "--payload", "1"}).exit_code, 2);
  CHECK_EQ(run_cli({"--self-test", "--type", "echo"}).exit_code, 2);
  CHECK_EQ(job("nope", "{}").exit_code, 4);
  CHECK_EQ(error_code(job("nope", "{}")), std::string("unknown_type"));
  CHECK_EQ(job("nope", "{").exit_code, 4);                               // type is checked first
  CHECK_EQ(run_cli({"--self-test"}).out, "{\"self_test\":\"ok\"}\n");
  CHECK_EQ(run_cli({"--help"}).exit_code, 0);
}

void test_payload_stdin() {
  FakeStdin small{R"({"data":"abc"})"};
  CHECK_EQ(stdin_job("sha256", small).out,
           "{\"type\":\"sha256\",\"result\":{\"digest\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}}\n");
  CHECK_EQ(small.calls, 1);

  // Far past the --payload cap: 48 MiB of text, counted as word_count would on the bare string.
  std::string text;
  for (int i = 0; text.size() < (48u << 20); ++i) text += "word" + std::to_string(i % 1000) + (i % 7 ? " " : "\n");
  FakeStdin big{runner::Json{{"top", 1}, {"text", text}}.dump()};
  const runner::CliOutput counted = stdin_job("wordcount", big);
  const runner::WordCount expected = runner::word_count(text, 1);
  CHECK_EQ(counted.exit_code, 0);
  runner::Json result = runner::Json::parse(counted.out, nullptr, false)["result"];
  CHECK_EQ(result["bytes"].get<uint64_t>(), expected.bytes);
  CHECK_EQ(result["words"].get<uint64_t>(), expected.words);
  CHECK_EQ(result["lines"].get<uint64_t>(), expected.lines);
  CHECK_EQ(result["unique"].get<uint64_t>(), 1000u);

  // Exactly at the limit is read whole; one byte more is exit 3 naming the limit.
  FakeStdin at_limit{"\"" + std::string(runner::kMaxStdinPayloadBytes - 2, 'x') + "\""};
  CHECK_EQ(stdin_job("sha256", at_limit).exit_code, 3);  // a string, not an object: read and parsed
  CHECK(stdin_job("sha256", at_limit).err.find("must be a JSON object") != std::string::npos);
  at_limit.input.insert(0, " ");
  const runner::CliOutput over = stdin_job("sha256", at_limit);
  CHECK_EQ(over.exit_code, 3);
  CHECK_EQ(error_code(over), std::string("bad_payload"));
  CHECK_EQ(over.err, "{\"error\":{\"code\":\"bad_payload\",\"message\":\"payload must be at most 104857600 bytes\"}}\n");

  FakeStdin deep{std::string(200, '[') + std::string(200, ']')};
  CHECK(stdin_job("echo", deep).err.find("deeper than 128") != std::string::npos);
  FakeStdin empty{""};
  CHECK_EQ(error_code(stdin_job("echo", empty)), std::string("bad_payload"));  // not JSON
  FakeStdin broken{"{\"data\":\"ab", true};
  CHECK(stdin_job("sha256", broken).err.find("could not read the payload from stdin") != std::string::npos);
  CHECK_EQ(run_cli({"--job-id", "j", "--payload-stdin"}).exit_code, 3);  // no reader at all

  // Flags and type are checked before stdin is read.
  FakeStdin unread{"1"};
  CHECK_EQ(stdin_job("nope", unread).exit_code, 4);
  CHECK_EQ(run_cli({"--job-id", "j", "--payload-stdin", "--payload", "1"}, unread.reader()).exit_code, 2);
  CHECK(run_cli({"--job-id", "j", "--payload", "1", "--payload-stdin"}).err.find("mutually exclusive") != std::string::npos);
  CHECK_EQ(run_cli({"--job-id", "j", "--payload-stdin", "--payload-stdin"}, unread.reader()).exit_code, 2);
  CHECK_EQ(run_cli({"--self-test", "--payload-stdin"}, unread.reader()).exit_code, 2);
  CHECK_EQ(unread.calls, 0);
  CHECK(run_cli({"--help"}).out.find("--payload-stdin") != std::string::npos);
}

}  // namespace

int main() {
  test_primes();
  test_fib();
  test_sha256();
  test_seeded_checksums();
  test_mandelbrot();
  test_wordcount();
  test_echo_and_sleep_and_fail();
  test_payload_validation();
  test_cli_usage();
  test_payload_stdin();
  if (failures > 0) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::puts("runner_tests: all checks passed");
  return 0;
}
