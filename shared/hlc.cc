#include "shared/hlc.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "shared/encoding.h"

namespace kbo {

std::string Hlc::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012" PRIx64 ".%08" PRIx32 ".",
                static_cast<uint64_t>(std::clamp<int64_t>(wall_ms, 0, kMaxWallMs)),
                counter);
  return buf + device.ToString();
}

Result<Hlc> Hlc::Parse(std::string_view text) {
  // 12 + 1 + 8 + 1 + 36
  if (text.size() != 58 || text[12] != '.' || text[21] != '.') {
    return Status::InvalidArgument("not an hlc timestamp");
  }
  uint64_t wall = 0, counter = 0;
  if (!ParseHexU64(text.substr(0, 12), &wall) ||
      !ParseHexU64(text.substr(13, 8), &counter)) {
    return Status::InvalidArgument("not an hlc timestamp (bad hex)");
  }
  Result<Uuid> device = Uuid::Parse(text.substr(22));
  if (!device.ok()) return device.status();
  Hlc h;
  h.wall_ms = static_cast<int64_t>(wall);
  h.counter = static_cast<uint32_t>(counter);
  h.device = *device;
  if (h.ToString() != text) {
    return Status::InvalidArgument("hlc timestamp not in canonical form");
  }
  return h;
}

HybridClock::HybridClock(WallClock* wall, Uuid device, Hlc last,
                         int64_t max_skew_ms)
    : wall_(wall), device_(device), last_(last), max_skew_ms_(max_skew_ms) {}

Hlc HybridClock::Now() {
  const int64_t physical = std::clamp<int64_t>(wall_->NowMillis(), 0,
                                               Hlc::kMaxWallMs);
  Hlc next;
  next.device = device_;
  if (physical > last_.wall_ms) {
    next.wall_ms = physical;
    next.counter = 0;
  } else if (last_.counter == UINT32_MAX) {
    next.wall_ms = last_.wall_ms + 1;  // counter exhausted: borrow a ms
    next.counter = 0;
  } else {
    next.wall_ms = last_.wall_ms;
    next.counter = last_.counter + 1;
  }
  last_ = next;
  return next;
}

Status HybridClock::CheckSkew(const Hlc& remote) const {
  const int64_t now = wall_->NowMillis();
  if (remote.wall_ms > now && remote.wall_ms - now > max_skew_ms_) {
    return Status::FailedPrecondition(
        "a clock is " + std::to_string((remote.wall_ms - now) / 1000) +
        " s ahead of this one (limit " + std::to_string(max_skew_ms_ / 1000) +
        " s): check the date and time setting of the device that wrote it");
  }
  return Status();
}

Status HybridClock::Observe(const Hlc& remote) {
  if (Status s = CheckSkew(remote); !s.ok()) return s;
  if (remote.wall_ms > last_.wall_ms ||
      (remote.wall_ms == last_.wall_ms && remote.counter > last_.counter)) {
    last_.wall_ms = remote.wall_ms;
    last_.counter = remote.counter;
    last_.device = device_;
  }
  return Status();
}

}  // namespace kbo
