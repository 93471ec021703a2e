#ifndef KBO_SHARED_HLC_H_
#define KBO_SHARED_HLC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "shared/result.h"
#include "shared/uuid.h"
#include "shared/wall_clock.h"

namespace kbo {

// A hybrid logical clock timestamp: (wall ms, counter, device). Totally
// ordered; the device id breaks ties, so two devices never produce equal
// timestamps.
struct Hlc {
  int64_t wall_ms = 0;
  uint32_t counter = 0;
  Uuid device;

  // Largest wall time the text form can carry (48 bits: year 10889).
  static constexpr int64_t kMaxWallMs = (int64_t{1} << 48) - 1;

  // Fixed-width text: 12 hex digits of wall_ms, '.', 8 hex digits of
  // counter, '.', the device uuid. Byte order of the text is the Hlc order,
  // so SQLite can compare hlc columns directly.
  std::string ToString() const;
  // kInvalidArgument unless `text` is exactly what ToString() produces.
  static Result<Hlc> Parse(std::string_view text);

  friend bool operator<(const Hlc& a, const Hlc& b) {
    return std::tie(a.wall_ms, a.counter, a.device) <
           std::tie(b.wall_ms, b.counter, b.device);
  }
  friend bool operator>(const Hlc& a, const Hlc& b) { return b < a; }
  friend bool operator<=(const Hlc& a, const Hlc& b) { return !(b < a); }
  friend bool operator>=(const Hlc& a, const Hlc& b) { return !(a < b); }
  friend bool operator==(const Hlc& a, const Hlc& b) {
    return a.wall_ms == b.wall_ms && a.counter == b.counter &&
           a.device == b.device;
  }
  friend bool operator!=(const Hlc& a, const Hlc& b) { return !(a == b); }
};

// The clock of one device. Now() never returns a value <= any value it
// returned or observed before, even when the wall clock jumps backwards.
// Persist State() with the data it stamped (same transaction) and pass it
// back on restart. Not thread-safe.
class HybridClock {
 public:
  // Default bound on how far a remote timestamp may be ahead of our wall
  // clock before we refuse it: 24 hours (DESIGN §4).
  static constexpr int64_t kDefaultMaxSkewMs = 24LL * 3600 * 1000;

  HybridClock(WallClock* wall, Uuid device, Hlc last = Hlc{},
              int64_t max_skew_ms = kDefaultMaxSkewMs);
  HybridClock(const HybridClock&) = delete;
  HybridClock& operator=(const HybridClock&) = delete;

  // A new timestamp for a local write.
  Hlc Now();
  // Advances past a timestamp received from elsewhere, so the next Now() is
  // later than it. kFailedPrecondition (clock left unchanged) when `remote`
  // is more than max_skew_ms ahead of our wall clock.
  Status Observe(const Hlc& remote);
  // Checks the skew bound only.
  Status CheckSkew(const Hlc& remote) const;

  // The latest timestamp issued or observed; persist it.
  const Hlc& State() const { return last_; }
  const Uuid& device() const { return device_; }

 private:
  WallClock* wall_;
  Uuid device_;
  Hlc last_;
  int64_t max_skew_ms_;
};

}  // namespace kbo

#endif  // KBO_SHARED_HLC_H_
