#include "client/home.h"
#include "shared/encoding.h"

#include <cstdint>
#include <cstdlib>

namespace kbo::client {

Result<std::string> ResolveHomeDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KBO_HOME"); env && *env) return std::string(env);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/kbo";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/share/kbo";
  }
  return Status::InvalidArgument(
      "no home folder: pass --home DIR or set KBO_HOME");
}

HomePaths PathsFor(const std::string& dir) {
  return {dir, dir + "/field.db", dir + "/device.key", dir + "/blobs"};
}

namespace {

class OffsetWallClock : public WallClock {
 public:
  explicit OffsetWallClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowMillis() override {
    return SystemWallClock::Default()->NowMillis() + offset_ms_;
  }

 private:
  int64_t offset_ms_;
};

}  // namespace

WallClock* ClientWallClock() {
  static WallClock* const clock = []() -> WallClock* {
    const char* env = std::getenv("KBO_TEST_CLOCK_OFFSET_MS");
    if (env == nullptr || *env == '\0') return SystemWallClock::Default();
    const std::optional<int64_t> offset = ParseInt64(env);
    if (!offset) return SystemWallClock::Default();
    static OffsetWallClock shifted(*offset);
    return &shifted;
  }();
  return clock;
}

}  // namespace kbo::client
