#include "server/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "shared/edge_guard.h"

namespace kbo::server {
namespace {

std::mutex& LogMutex() {
  static std::mutex mu;
  return mu;
}

std::atomic<bool>& Enabled() {
  static std::atomic<bool> enabled{true};
  return enabled;
}

}  // namespace

void LogLine(std::string_view line) {
  if (!Enabled().load(std::memory_order_relaxed)) return;
  const std::time_t now = std::time(nullptr);
  std::tm tm_utc{};
  gmtime_r(&now, &tm_utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  std::string out(stamp);
  out += ' ';
  // Request paths, headers and messages carry text a client chose: a
  // newline in it must not forge a line ("... FORKED DEVICE ...").
  out += edge::EscapeForLog(line);
  out += '\n';
  std::lock_guard<std::mutex> lock(LogMutex());
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

void SetLogEnabled(bool enabled) { Enabled().store(enabled); }

}  // namespace kbo::server
