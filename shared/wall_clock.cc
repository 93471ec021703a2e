#include "shared/wall_clock.h"

#include <chrono>

namespace kbo {

int64_t SystemWallClock::NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemWallClock* SystemWallClock::Default() {
  static SystemWallClock clock;
  return &clock;
}

}  // namespace kbo
