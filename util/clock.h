// The wall clock in Prometheus's unit: the one copy the modules share.
#ifndef EMBER_UTIL_CLOCK_H_
#define EMBER_UTIL_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace ember::util {

// Milliseconds since the Unix epoch, from the system (wall) clock.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ember::util

#endif  // EMBER_UTIL_CLOCK_H_
