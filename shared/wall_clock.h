#ifndef KBO_SHARED_WALL_CLOCK_H_
#define KBO_SHARED_WALL_CLOCK_H_

#include <cstdint>

namespace kbo {

// Injectable wall time (leveldb Env style). Tests pass a manual clock.
class WallClock {
 public:
  virtual ~WallClock() = default;
  // Unix time in milliseconds. May jump backwards; HybridClock copes.
  virtual int64_t NowMillis() = 0;
};

class SystemWallClock : public WallClock {
 public:
  int64_t NowMillis() override;
  // A process-wide instance.
  static SystemWallClock* Default();
};

// A clock the test sets by hand.
class ManualWallClock : public WallClock {
 public:
  explicit ManualWallClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() override { return now_ms_; }
  void Set(int64_t now_ms) { now_ms_ = now_ms; }
  void Advance(int64_t delta_ms) { now_ms_ += delta_ms; }

 private:
  int64_t now_ms_;
};

}  // namespace kbo

#endif  // KBO_SHARED_WALL_CLOCK_H_
