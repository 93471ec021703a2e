#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>

namespace kbo::testing {
namespace {

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr int kTickMs = 50;

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void CloseWithReset(int fd) {
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

int ConnectLoopback(int port) {
  if (port <= 0) return -1;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct Plan {
  enum class Kind { kNone, kCut, kReset, kStall, kDelay };
  Kind kind = Kind::kNone;
  bool up = true;
  uint64_t at = 0;
  int ms = 0;
};

const char* KindName(Plan::Kind k) {
  switch (k) {
    case Plan::Kind::kCut:
      return "cut";
    case Plan::Kind::kReset:
      return "reset";
    case Plan::Kind::kStall:
      return "stall";
    case Plan::Kind::kDelay:
      return "delay";
    case Plan::Kind::kNone:
      break;
  }
  return "none";
}

Plan RandomPlan(uint64_t seed, uint64_t number) {
  std::mt19937_64 rng(Mix(seed ^ Mix(number + 1)));
  Plan p;
  const uint64_t pick = rng() % 100;
  p.up = (rng() & 1) != 0;
  // Log-uniform offsets: as many faults in a request's head as in a long
  // pull page.
  const unsigned bits = static_cast<unsigned>(rng() % 16);
  p.at = rng() % (uint64_t{1} << bits);
  if (pick < 30) {
    p.kind = Plan::Kind::kNone;
  } else if (pick < 40) {
    p.kind = Plan::Kind::kDelay;
    p.ms = 1 + static_cast<int>(rng() % 20);
  } else if (pick < 65) {
    p.kind = Plan::Kind::kCut;
  } else if (pick < 80) {
    p.kind = Plan::Kind::kReset;
  } else {
    p.kind = Plan::Kind::kStall;
    p.ms = 50 + static_cast<int>(rng() % 1450);
  }
  return p;
}

// Reads "Content-Length: N" (any case) from a request head; 0 if absent.
uint64_t ContentLength(const std::string& head) {
  std::string lower = head;
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoull(lower.c_str() + at + 17, nullptr, 10);
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  std::vector<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (Worker& w : workers) w.thread.join();
}

void FaultProxy::SetRandomFaults(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  next_number_ = 0;
}

void FaultProxy::CutRequest(const std::string& method,
                            const std::string& path_prefix,
                            const std::string& query_contains,
                            uint64_t body_bytes, int times, unsigned how) {
  std::lock_guard<std::mutex> lock(mu_);
  rule_ = Rule{method, path_prefix, query_contains, body_bytes, times > 0, times, how};
}

bool FaultProxy::rule_armed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rule_.armed;
}

FaultProxyStats FaultProxy::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<std::string> FaultProxy::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

void FaultProxy::Event(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(line);
}

bool FaultProxy::TakeRule(const std::string& method, const std::string& target,
                          uint64_t length, uint64_t* body_bytes, bool* half_close) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!rule_.armed || method != rule_.method ||
      target.compare(0, rule_.path_prefix.size(), rule_.path_prefix) != 0) {
    return false;
  }
  if ((rule_.how & kSpareShorter) != 0 && length <= rule_.body_bytes) return false;
  const size_t q = target.find('?');
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  if (!rule_.query_contains.empty() &&
      query.find(rule_.query_contains) == std::string::npos) {
    return false;
  }
  rule_.armed = --rule_.times_left > 0;
  ++stats_.rule_fired;
  *body_bytes = rule_.body_bytes;
  *half_close = (rule_.how & kHalfClose) != 0;
  return true;
}

void FaultProxy::AcceptLoop() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    const int rc = poll(&pfd, 1, kTickMs);
    {
      // Reap finished connections.
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < workers_.size();) {
        if (*workers_[i].done) {
          workers_[i].thread.join();
          workers_[i] = std::move(workers_.back());
          workers_.pop_back();
        } else {
          ++i;
        }
      }
    }
    if (rc <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t number = next_number_++;
    ++stats_.connections;
    auto done = std::make_shared<std::atomic<bool>>(false);
    const uint64_t seed = seed_;
    workers_.push_back({std::thread([this, fd, number, seed, done] {
                          Serve(fd, number, seed);
                          *done = true;
                        }),
                        done});
  }
}

void FaultProxy::Serve(int cfd, uint64_t number, uint64_t seed) {
  const Plan plan = seed != 0 ? RandomPlan(seed, number) : Plan{};
  const int sfd = ConnectLoopback(upstream_port_);
  if (sfd < 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.upstream_refused;
    }
    close(cfd);
    return;
  }
  const std::string who = "conn " + std::to_string(number) + ": ";
  if (plan.kind == Plan::Kind::kDelay) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.delayed;
  }
  // Sleeps `ms`, waking early if the proxy stops.
  auto nap = [this](int ms) {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };

  uint64_t up = 0, down = 0;     // bytes forwarded each way
  bool plan_fired = false;
  // The request parser (client->server).
  std::string head;
  bool parsing = true;           // false after a head too long to be HTTP
  uint64_t body_left = 0;
  uint64_t rule_cut_at = kNever;   // absolute `up` offset
  uint64_t swallow_after = kNever; // drop the answer once `up` reaches this
  bool half_close = false;         // at rule_cut_at: end the way up only
  bool up_ended = false;           // ended so: what comes up is dropped

  enum class End { kClose, kReset };
  auto finish = [&](End how) {
    if (how == End::kReset) {
      CloseWithReset(cfd);
      CloseWithReset(sfd);
    } else {
      shutdown(cfd, SHUT_RDWR);
      shutdown(sfd, SHUT_RDWR);
      close(cfd);
      close(sfd);
    }
  };

  char buf[65536];
  while (!stop_) {
    pollfd fds[2] = {{cfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    const int rc = poll(fds, 2, kTickMs);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    for (int side = 0; side < 2; ++side) {
      if (fds[side].revents == 0) continue;
      const bool is_up = side == 0;
      const int from = is_up ? cfd : sfd;
      const int to = is_up ? sfd : cfd;
      const ssize_t n = recv(from, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        finish(End::kClose);
        return;
      }
      const size_t len = static_cast<size_t>(n);
      if (is_up && up_ended) continue;
      if (!is_up && swallow_after != kNever && up >= swallow_after) {
        // The server has answered the request the rule named: the client
        // never hears of it.
        Event(who + "answer cut after the whole request (" +
              std::to_string(up) + " bytes up)");
        finish(End::kClose);
        return;
      }
      if (is_up && parsing) {
        const uint64_t start = up;  // absolute offset of buf[0]
        size_t i = 0;
        while (i < len) {
          if (body_left > 0) {
            const size_t take =
                static_cast<size_t>(std::min<uint64_t>(body_left, len - i));
            body_left -= take;
            i += take;
            std::lock_guard<std::mutex> lock(mu_);
            stats_.body_bytes_up += take;
            continue;
          }
          head.push_back(buf[i++]);
          if (head.size() > (1u << 16)) {
            parsing = false;
            break;
          }
          if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0)
            continue;
          // A whole request head: "METHOD TARGET HTTP/1.1\r\n..."
          const uint64_t body_start = start + i;
          const uint64_t length = ContentLength(head);
          const size_t sp1 = head.find(' ');
          const size_t sp2 = head.find(' ', sp1 + 1);
          const std::string method = head.substr(0, sp1);
          const std::string target =
              sp1 == std::string::npos || sp2 == std::string::npos
                  ? ""
                  : head.substr(sp1 + 1, sp2 - sp1 - 1);
          {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.requests;
          }
          uint64_t cut_body = 0;
          if (TakeRule(method, target, length, &cut_body, &half_close)) {
            if (cut_body >= length) {
              swallow_after = body_start + length;
            } else {
              rule_cut_at = body_start + cut_body;
            }
            Event(who + method + " " + target + " cut after " +
                  std::to_string(std::min(cut_body, length)) + " of " +
                  std::to_string(length) + " body bytes");
          }
          body_left = length;
          head.clear();
        }
      }
      // Forward, stopping at the byte where a fault fires.
      size_t off = 0;
      while (off < len) {
        uint64_t& pos = is_up ? up : down;
        uint64_t next = kNever;
        const bool byte_fault = plan.kind == Plan::Kind::kCut ||
                                plan.kind == Plan::Kind::kReset ||
                                plan.kind == Plan::Kind::kStall;
        if (!plan_fired && byte_fault && plan.up == is_up && plan.at >= pos)
          next = plan.at;
        if (is_up && rule_cut_at >= pos) next = std::min(next, rule_cut_at);
        const size_t take = static_cast<size_t>(
            std::min<uint64_t>(len - off, next == kNever ? len : next - pos));
        if (plan.kind == Plan::Kind::kDelay) nap(plan.ms);
        if (take > 0 && !SendAll(to, buf + off, take)) {
          finish(End::kClose);
          return;
        }
        pos += take;
        off += take;
        {
          std::lock_guard<std::mutex> lock(mu_);
          (is_up ? stats_.bytes_up : stats_.bytes_down) += take;
        }
        if (pos != next) continue;
        if (is_up && pos == rule_cut_at) {
          if (!half_close) {
            finish(End::kClose);
            return;
          }
          shutdown(sfd, SHUT_WR);
          up_ended = true;
          rule_cut_at = kNever;
          break;
        }
        plan_fired = true;
        Event(who + KindName(plan.kind) + (is_up ? " up at " : " down at ") +
              std::to_string(pos) +
              (plan.kind == Plan::Kind::kStall
                   ? " for " + std::to_string(plan.ms) + " ms"
                   : ""));
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (plan.kind == Plan::Kind::kCut) ++stats_.cuts;
          if (plan.kind == Plan::Kind::kReset) ++stats_.resets;
          if (plan.kind == Plan::Kind::kStall) ++stats_.stalls;
        }
        if (plan.kind == Plan::Kind::kStall) {
          nap(plan.ms);
          continue;
        }
        finish(plan.kind == Plan::Kind::kReset ? End::kReset : End::kClose);
        return;
      }
    }
  }
  finish(End::kClose);
}

uint64_t SeedFromEnv(const char* name) {
  uint64_t seed = 0;
  if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
    seed = std::strtoull(v, nullptr, 10);
  }
  if (seed == 0) {
    seed = Mix(static_cast<uint64_t>(
                   std::chrono::steady_clock::now().time_since_epoch().count()) ^
               static_cast<uint64_t>(getpid()));
    seed = seed % 1000000000 + 1;  // short enough to type
  }
  std::fprintf(stderr, "%s=%llu (set it to replay this run)\n", name,
               static_cast<unsigned long long>(seed));
  return seed;
}

int CountFromEnv(const char* name, int fallback) {
  if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
    const long n = std::strtol(v, nullptr, 10);
    if (n > 0 && n < 1000000) return static_cast<int>(n);
  }
  return fallback;
}

}  // namespace kbo::testing
