#include <chrono>
#include <ctime>

#include "../fields.hpp"
#include "jobs.hpp"

#ifdef __EMSCRIPTEN__
#include <wasi/api.h>
// Emscripten's JS library does not provide poll_oneoff, so import it from WASI by hand.
extern "C" __attribute__((import_module("wasi_snapshot_preview1"), import_name("poll_oneoff")))
__wasi_errno_t runner_wasi_poll_oneoff(const __wasi_subscription_t* in, __wasi_event_t* out,
                                       __wasi_size_t count, __wasi_size_t* events);
#endif

namespace runner {
namespace {

// Emscripten's nanosleep spins on the clock in standalone builds; WASI's poll_oneoff on a clock
// subscription really blocks, so a sleeping job under node:wasi costs no CPU.
void sleep_ns(uint64_t ns) {
#ifdef __EMSCRIPTEN__
  __wasi_subscription_t sub{};
  sub.type = __WASI_EVENTTYPE_CLOCK;
  sub.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.clock.timeout = ns;  // relative: flags == 0
  __wasi_event_t event;
  __wasi_size_t events = 0;
  // An error just ends this slice early; the loop re-checks the deadline.
  (void)runner_wasi_poll_oneoff(&sub, &event, 1, &events);
#else
  timespec ts{0, static_cast<long>(ns)};
  nanosleep(&ts, nullptr);
#endif
}

}  // namespace

// Sleeps in short slices against a monotonic deadline. In WebAssembly one long sleep would be a
// single blocking host call that Worker.terminate() cannot interrupt; between slices V8 can.
Outcome run_sleep(const Json& payload) {
  Fields fields(payload);
  const int64_t ms = fields.integer("ms", 0, kMaxSleepMs);
  if (!fields.ok()) return fields.error();

  using Clock = std::chrono::steady_clock;
  constexpr uint64_t kSliceNs = 10000000;
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
    const auto left = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count());
    sleep_ns(left < kSliceNs ? left : kSliceNs);
  }
  return Outcome::ok(Json{{"slept_ms", ms}});
}

}  // namespace runner
