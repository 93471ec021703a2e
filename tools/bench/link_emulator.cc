#include "tools/bench/link_emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <random>
#include <utility>

namespace kbo::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

constexpr size_t kSegment = 1460;
constexpr size_t kQueueCap = 64 * 1024;  // the bottleneck's buffer
constexpr int kMinRtoMs = 200;           // Linux's TCP_RTO_MIN

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void ResetOnClose(int fd) {
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

}  // namespace

// One direction of one connection: a reader that stamps each piece with the
// time it reaches the other end, and a writer that hands it over then.
struct Direction {
  struct Piece {
    SteadyClock::time_point at;
    std::string bytes;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Piece> queue;
  size_t queued = 0;
  bool eof = false;  // the sender finished (or the connection died)
  SteadyClock::time_point link_free = SteadyClock::time_point::min();
  SteadyClock::time_point last_at = SteadyClock::time_point::min();
};

struct LinkEmulator::Conn {
  int device_fd = -1;
  int server_fd = -1;
  std::atomic<bool> dead{false};
  std::atomic<int> writers_done{0};  // both: the connection is over
  Direction up, down;
  std::vector<std::thread> threads;

  void Kill(bool reset) {
    if (dead.exchange(true)) return;
    if (reset) {
      ResetOnClose(device_fd);
      ResetOnClose(server_fd);
    }
    shutdown(device_fd, SHUT_RDWR);
    shutdown(server_fd, SHUT_RDWR);
    for (Direction* d : {&up, &down}) {
      std::lock_guard<std::mutex> lock(d->mu);
      d->eof = true;
      d->cv.notify_all();
    }
  }
  ~Conn() {
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
    close(device_fd);
    close(server_fd);
  }
};

LinkEmulator::LinkEmulator(int upstream_port, LinkProfile profile, uint64_t seed)
    : profile_(std::move(profile)), upstream_port_(upstream_port), seed_(seed) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return;
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(a.sin_port);
  start_ms_ = NowMs();
  acceptor_ = std::thread([this] { AcceptLoop(); });
  if (profile_.drop_every_s > 0) dropper_ = std::thread([this] { DropLoop(); });
}

LinkEmulator::~LinkEmulator() {
  stop_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (dropper_.joinable()) dropper_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(conns_);
  }
  for (auto& c : conns) c->Kill(false);
  conns.clear();  // joins their threads
}

LinkStats LinkEmulator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool LinkEmulator::InOutage() const { return NowMs() < outage_until_ms_.load(); }

void LinkEmulator::DropLoop() {
  int64_t next = start_ms_ + int64_t{profile_.drop_every_s} * 1000;
  while (!stop_) {
    if (NowMs() < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    next += int64_t{profile_.drop_every_s} * 1000;
    outage_until_ms_ = NowMs() + int64_t{profile_.outage_s} * 1000;
    std::vector<std::shared_ptr<Conn>> conns;
    {
      std::lock_guard<std::mutex> lock(mu_);
      conns = conns_;
    }
    for (auto& c : conns) {
      if (c->dead) continue;
      {
        // Counted before the cut: whoever sees the cut sees it counted.
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.drops;
      }
      c->Kill(true);
    }
  }
}

void LinkEmulator::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int dfd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (dfd < 0) continue;
    const int one = 1;
    setsockopt(dfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (InOutage()) {
      {
        // Counted before the close, as drops.
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.refused;
      }
      ResetOnClose(dfd);
      close(dfd);
      continue;
    }
    const int sfd = ConnectLoopback(upstream_port_);
    if (sfd < 0) {
      close(dfd);
      continue;
    }
    auto conn = std::make_shared<Conn>();
    conn->device_fd = dfd;
    conn->server_fd = sfd;
    std::vector<std::shared_ptr<Conn>> over;  // joined outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.connections;
      auto keep = std::partition(conns_.begin(), conns_.end(),
                                 [](const std::shared_ptr<Conn>& c) {
                                   return c->writers_done.load() < 2;
                                 });
      over.assign(std::make_move_iterator(keep), std::make_move_iterator(conns_.end()));
      conns_.erase(keep, conns_.end());
      conns_.push_back(conn);
    }
    over.clear();
    const uint64_t seed = seed_.fetch_add(0x9E3779B97F4A7C15ULL);
    Conn* c = conn.get();
    auto reader = [this, c](int from, Direction* d, uint64_t s) {
      std::mt19937_64 rng(s);
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      const auto one_way = Micros(int64_t{profile_.rtt_ms} * 500);
      const auto rto = Micros(int64_t{profile_.rtt_ms + kMinRtoMs} * 1000);
      char buf[kSegment];
      while (!c->dead) {
        {
          std::unique_lock<std::mutex> lock(d->mu);
          d->cv.wait(lock, [&] { return d->queued < kQueueCap || d->eof; });
          if (d->eof) break;
        }
        const ssize_t n = recv(from, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard<std::mutex> lock(d->mu);
        if (n <= 0) {
          d->eof = true;
          d->cv.notify_all();
          break;
        }
        const auto now = SteadyClock::now();
        const auto send_time = Micros(static_cast<int64_t>(
            static_cast<double>(n) * 8.0 * 1e6 / profile_.rate_bps));
        d->link_free = std::max(d->link_free, now) + send_time;
        auto at = d->link_free + one_way;
        if (profile_.loss > 0 && coin(rng) < profile_.loss) {
          at += rto;
          std::lock_guard<std::mutex> stats_lock(mu_);
          ++stats_.lost_segments;
        }
        at = std::max(at, d->last_at);  // in order: behind a lost segment
        d->last_at = at;
        d->queue.push_back({at, std::string(buf, static_cast<size_t>(n))});
        d->queued += static_cast<size_t>(n);
        d->cv.notify_all();
      }
    };
    auto writer = [this, c](int to, Direction* d, bool up) {
      struct Done {
        Conn* c;
        ~Done() {
          if (++c->writers_done == 2) c->dead = true;
        }
      } done{c};
      for (;;) {
        Direction::Piece piece;
        {
          std::unique_lock<std::mutex> lock(d->mu);
          d->cv.wait(lock, [&] { return !d->queue.empty() || d->eof; });
          if (d->queue.empty()) break;  // eof and drained
          if (c->dead) break;
          const auto at = d->queue.front().at;
          if (SteadyClock::now() < at) {
            d->cv.wait_until(lock, at, [&] { return c->dead.load(); });
            if (c->dead) break;
            continue;
          }
          piece = std::move(d->queue.front());
          d->queue.pop_front();
          d->queued -= piece.bytes.size();
          d->cv.notify_all();
        }
        size_t off = 0;
        while (off < piece.bytes.size()) {
          const ssize_t w = send(to, piece.bytes.data() + off, piece.bytes.size() - off,
                                 MSG_NOSIGNAL);
          if (w < 0 && errno == EINTR) continue;
          if (w <= 0) {
            c->Kill(false);
            return;
          }
          off += static_cast<size_t>(w);
        }
        std::lock_guard<std::mutex> lock(mu_);
        (up ? stats_.bytes_up : stats_.bytes_down) += piece.bytes.size();
      }
      if (!c->dead) shutdown(to, SHUT_WR);
    };
    c->threads.emplace_back(reader, dfd, &c->up, seed);
    c->threads.emplace_back(writer, sfd, &c->up, true);
    c->threads.emplace_back(reader, sfd, &c->down, seed ^ 0x5555);
    c->threads.emplace_back(writer, dfd, &c->down, false);
  }
}

}  // namespace kbo::bench
