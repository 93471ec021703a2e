#ifndef KBO_SHARED_EDGE_GUARD_H_
#define KBO_SHARED_EDGE_GUARD_H_

// The network edge of both HTTP servers (`kbo-server serve`, `kbo ui`):
// what a connection may cost before the HTTP library sees a byte of it.
// Socket level only, no HTTP library types (tools/check-layering): each
// server's HTTP file wraps an EdgeConnection in its library's stream type and
// hands each checked request head to the library (docs/decisions.md, "The
// network edge").
//
// Per connection, in this order:
//   1. its peer address holds at most `per_address` connections at once
//      (IPv6: per /64); over that it gets a 503 at once and is closed;
//   2. between requests it may idle `keep_alive` at most;
//   3. from the first byte of a request, the whole head (request line and
//      headers) must arrive within `head_deadline`, a fixed deadline that
//      no byte restarts: else 408 and closed;
//   4. the head is at most `max_head_bytes` bytes and `max_headers` header
//      lines: else 431 and closed, as soon as a cap is passed (the bytes
//      are never kept beyond it);
//   5. Content-Length, if given, is 1-18 decimal digits (one value) and at
//      most `max_body_bytes`: else 400 / 413 and closed before the body is
//      read; Transfer-Encoding is refused (411): every client of ours sends
//      a length. A Content-Encoding other than "zstd" or "identity" is
//      refused (415): cpp-httplib would inflate gzip, deflate or br bodies
//      itself with no bound on the output (a decompression bomb behind a
//      small Content-Length); zstd is passed on untouched and decoded by our
//      code with a cap (shared/compression.h). A POST/PUT/PATCH/DELETE without either has no body
//      (RFC 9112 §6.3) and is passed on with "Content-Length: 0";
//   6. the body arrives at `body_min_rate` bytes/s on average after a grace
//      of `body_grace` from the end of the head: by time t after the head,
//      at least (t - body_grace) * body_min_rate of its bytes (or all of
//      them) must have arrived, else 408 and closed. A byte dripped now and
//      then no longer holds a worker: a body of N bytes holds one at most
//      body_grace + N / body_min_rate, and a drip is cut soon after the
//      grace;
//   6b. a Range header names one range at most (416 otherwise): cpp-httplib
//      answers "bytes=0-,0-,..." with a multipart body holding each range
//      whole, built in memory, so 2,600 of them made a 10 KB page 25 MB and
//      a 3 MB file 7 GB (an unauthenticated crash);
//   7. a request whose body the library did not read to its end closes the
//      connection (the unread bytes are never parsed as a request).
// Reads and writes after the head wait at most `io_timeout` each.
//
// Per server, connections served at once are at most `pool` (the worker
// pool). Once half of it is taken, an address holding more than its fair
// share (pool - pool/16, split evenly among the addresses connected now)
// is refused new connections (503, Retry-After), and the last pool/16
// places go only to an address's first connection: a new address gets a
// place even while a few busy ones hold the rest.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kbo::edge {

struct EdgeLimits {
  size_t max_head_bytes = 32 * 1024;
  size_t max_headers = 64;
  std::chrono::milliseconds head_deadline{10000};
  std::chrono::milliseconds keep_alive{5000};
  std::chrono::milliseconds io_timeout{30000};
  uint64_t max_body_bytes = 64ull << 20;
  int per_address = 16;
  // Requests served on one connection before it is closed.
  size_t max_requests_per_connection = 100;
  // The body's minimum average rate, after a grace from the end of the head.
  std::chrono::milliseconds body_grace{30000};
  uint64_t body_min_rate = 2048;  // bytes per second
  // Connections served at once (the server's worker threads).
  size_t pool = 256;
};

// Socket options for a listening socket: SO_REUSEADDR (a restart may bind
// while old connections sit in TIME_WAIT) and never SO_REUSEPORT, so a
// second process cannot bind a port this one listens on (Linux refuses
// the second listen with EADDRINUSE).
void ExclusiveListenOptions(int fd);

// "127.0.0.1", "::1", ... of a connected socket's peer; "" if unknown.
std::string PeerAddress(int fd, int* port = nullptr);
std::string LocalAddress(int fd, int* port = nullptr);

// Counts connections per peer address (IPv6 by /64) and in all. Thread-safe.
class AddressLimiter {
 public:
  // `pool` 0: no pool-wide rule (per address only).
  explicit AddressLimiter(int per_address, size_t pool = 0)
      : per_address_(per_address), pool_(pool) {}
  // True and counted if `address` may open one more connection: it holds
  // fewer than per_address and, with a pool, (a) the pool is not full;
  // (b) in the last pool/16 places (the reserve), only if it holds none;
  // (c) with half of the pool taken, only if it holds fewer than its fair
  // share: (pool - reserve) / the addresses connected now (this one
  // included), at least 1.
  bool Acquire(const std::string& address);
  // Uncounts one. Returns how many connections of this address were refused
  // since its count was last zero, once it drops to zero (else 0), so a
  // flood costs one log line, not one per connection.
  // `fair_refused` (optional) gets, at the same moment, how many were
  // refused by the pool's rules (b, c).
  uint64_t Release(const std::string& address,
                   uint64_t* fair_refused = nullptr);
  // Connections counted now (tests, logs).
  size_t Active() const;

 private:
  struct Entry {
    int active = 0;
    uint64_t refused = 0;
    uint64_t refused_fair = 0;
  };
  const int per_address_;
  const size_t pool_;
  size_t total_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_address_;
};

// A pool of up to `max_threads` threads that grows on demand and shrinks
// when idle (threads idle for `idle` exit), so the memory of a burst
// returns after it. Jobs beyond the threads wait in order. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(size_t max_threads,
                      std::chrono::milliseconds idle = std::chrono::seconds(10));
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  void Enqueue(std::function<void()> job);
  // Runs every job queued so far, then joins all threads.
  void Shutdown();

 private:
  void Work();
  void JoinFinished();  // with mu_ held

  const size_t max_threads_;
  const std::chrono::milliseconds idle_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> finished_;
  size_t idle_threads_ = 0;
  bool shutdown_ = false;
};

// poll() for `events` on `fd` until `deadline`; true if ready.
bool WaitForSocket(int fd, short events,
                   std::chrono::steady_clock::time_point deadline);

// How a connection moves bytes when it is not the plain socket: a TLS
// session set up by the HTTP file (its library's TLS types stay there).
// The socket is non-blocking then.
class Transport {
 public:
  virtual ~Transport() = default;
  // As recv()/send(): bytes moved (> 0), 0 when the peer closed, or -1 with
  // errno (EAGAIN: wait for the socket and call again).
  virtual ssize_t Recv(int fd, char* ptr, size_t size) = 0;
  virtual ssize_t Send(int fd, const char* ptr, size_t size) = 0;
  // True if bytes already received wait inside (poll() cannot see them).
  virtual bool Pending() const = 0;
};

// One accepted connection, read and written with deadlines. Reads serve the
// bytes already buffered by ReadHead first. `transport` (optional, not
// owned) replaces recv()/send() on the socket.
class EdgeConnection {
 public:
  EdgeConnection(int fd, const EdgeLimits& limits,
                 Transport* transport = nullptr)
      : fd_(fd), limits_(limits), transport_(transport) {}

  // Outcome of waiting for and reading one request head.
  enum class Head {
    kReady,          // a checked head is buffered: hand it to the library
    kIdle,           // closed by the peer, or idle past keep_alive: close
    kTimeout,        // 408
    kTooLarge,       // 431: too many header bytes or lines
    kBadRequest,     // 400: not an HTTP head, or a bad Content-Length
    kLengthRequired, // 411: Transfer-Encoding
    kManyRanges,  // 416: a Range of more than one range (the library
                  // builds every part in memory, overlapping or not)
    kUnsupportedEncoding,  // 415: a Content-Encoding the library would
                           // inflate unbounded (gzip, deflate, br, ...)
    kBodyTooLarge,   // 413: Content-Length over max_body_bytes
    kBodyTimeout,    // 408: the body came slower than body_min_rate (only
                     // from ServeRequests, after the library's read failed)
  };
  // Waits up to keep_alive for a request's first byte, then reads its head
  // under the limits. `stopping` (may be empty) is asked every 100 ms while
  // waiting: true gives kIdle. `why` gets a short reason for a refusal (for
  // the log).
  Head ReadHead(const std::function<bool()>& stopping, std::string* why);

  // Writes the refusal's status line and a JSON error body with
  // "Connection: close". For every Head but kReady and kIdle.
  void Refuse(Head head);
  // Sends "503" with a JSON body without waiting (MSG_DONTWAIT): for a
  // plain connection refused before it is served.
  static void RefuseBusy(int fd);

  // Stream primitives for the HTTP library.
  ssize_t Read(char* ptr, size_t size);         // -1 error or timeout, 0 EOF
  ssize_t Write(const char* ptr, size_t size);  // -1 error or timeout
  bool Readable() const;                        // waits up to io_timeout
  bool Writable() const;                        // waits up to io_timeout
  int fd() const { return fd_; }

  // After the library answered: true if it read exactly the request (head
  // and declared body), so the connection may carry another one. Drops the
  // request's bytes from the buffer either way.
  bool FinishRequest();

  // True once a read of this request's body passed its deadline (rule 6):
  // the library's own answer is then dropped (Write fails) and the guard
  // answers 408.
  bool body_timed_out() const { return body_timed_out_; }
  // Body bytes of this request read so far, and declared.
  uint64_t body_read() const {
    return read_bytes_ > head_len_ ? read_bytes_ - head_len_ : 0;
  }
  uint64_t body_declared() const { return request_bytes_ - head_len_; }

 private:
  // When the body's next byte is due at the latest (rule 6).
  std::chrono::steady_clock::time_point BodyDeadline() const;
  // Waits until the socket is readable, up to io_timeout and the body's
  // deadline; false (and body_timed_out_ set if it was the body deadline)
  // otherwise.
  bool WaitBody() const;
  // Checks a complete head (buffer_[0, head_len)), rewriting it if it needs
  // "Content-Length: 0".
  Head CheckHead(size_t head_len, std::string* why);
  ssize_t RecvSome(char* ptr, size_t size);
  ssize_t SendSome(const char* ptr, size_t size);
  bool WaitReadable(std::chrono::steady_clock::time_point deadline) const;

  const int fd_;
  const EdgeLimits& limits_;
  Transport* const transport_;
  std::string buffer_;    // received, not yet read by the library
  size_t consumed_ = 0;   // bytes of buffer_ the library has read
  uint64_t request_bytes_ = 0;  // head + declared body of this request
  uint64_t read_bytes_ = 0;     // of those, read by the library so far
  uint64_t head_len_ = 0;       // of those, the head's
  std::chrono::steady_clock::time_point head_done_{};  // the head checked
  mutable bool body_timed_out_ = false;
};

// What the servers share: the limits, the per-address count, a log sink.
class EdgeGuard {
 public:
  using Log = std::function<void(std::string_view line)>;
  // One request: the library parses and answers the head buffered in the
  // connection. Returns false to close the connection; sets
  // `connection_closed` if the request asked for that.
  using ServeOne =
      std::function<bool(bool close_connection, bool& connection_closed)>;

  EdgeGuard(EdgeLimits limits, Log log)
      : limits_(limits),
        limiter_(limits.per_address, limits.pool),
        log_(std::move(log)) {}

  const EdgeLimits& limits() const { return limits_; }
  const AddressLimiter& limiter() const { return limiter_; }

  // Serves one accepted connection to the end and closes `fd`: over the
  // per-address count it is closed at once (with a plain-text 503 if
  // `answer_busy`: not on a TLS port); else `serve()` runs (it makes the
  // EdgeConnection, wraps it in the library's stream and calls
  // ServeRequests).
  void Handle(int fd, const std::function<void()>& serve,
              bool answer_busy = true);

  // The request loop: up to max_requests_per_connection heads, each
  // checked, then `serve_one`. Refusals are answered and logged.
  void ServeRequests(EdgeConnection& conn, const ServeOne& serve_one,
                     const std::function<bool()>& stopping);

 private:
  const EdgeLimits limits_;
  AddressLimiter limiter_;
  Log log_;
};

// Escapes every byte below 0x20, 0x7f and backslash as \n, \r, \t, \\ or
// \xHH, so text a client chose can never start a new log line or move the
// terminal's cursor. Other bytes (UTF-8 Thai) are kept.
std::string EscapeForLog(std::string_view text);

}  // namespace kbo::edge

#endif  // KBO_SHARED_EDGE_GUARD_H_
