#include "shared/edge_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "shared/encoding.h"
#include "shared/error_body.h"

namespace kbo::edge {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const int ms = MillisLeft(deadline);
    if (ms <= 0) return false;
    pollfd pfd{fd, events, 0};
    const int rc = ::poll(&pfd, 1, ms);
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string AddressOf(const sockaddr_storage& ss, int* port) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (port != nullptr) *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    if (port != nullptr) *port = ntohs(in6->sin6_port);
  }
  return text;
}

// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one
// host commonly holds a whole /64).
std::string LimitKey(int fd, const std::string& peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      ss.ss_family != AF_INET6) {
    return peer;
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return peer;
  in6_addr prefix = in6->sin6_addr;
  std::memset(prefix.s6_addr + 8, 0, 8);
  char text[INET6_ADDRSTRLEN] = {0};
  ::inet_ntop(AF_INET6, &prefix, text, sizeof text);
  return std::string(text) + "/64";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct Refusal {
  int status;
  const char* reason;
  const char* error;
  const char* message;
};

Refusal RefusalFor(EdgeConnection::Head head) {
  using H = EdgeConnection::Head;
  switch (head) {
    case H::kTimeout:
      return {408, "Request Timeout", "timeout",
              "the request head did not arrive in time"};
    case H::kBodyTimeout:
      return {408, "Request Timeout", "timeout",
              "the request body arrived too slowly"};
    case H::kTooLarge:
      return {431, "Request Header Fields Too Large", "headers_too_large",
              "the request has too many or too large headers"};
    case H::kLengthRequired:
      return {411, "Length Required", "length_required",
              "send the body with a Content-Length, not chunked"};
    case H::kManyRanges:
      return {416, "Range Not Satisfiable", "many_ranges",
              "ask for one byte range at most"};
    case H::kUnsupportedEncoding:
      return {415, "Unsupported Media Type", "unsupported_encoding",
              "send the body plain or as zstd (Content-Encoding: zstd)"};
    case H::kBodyTooLarge:
      return {413, "Payload Too Large", "too_large",
              "the request body is larger than this server accepts"};
    case H::kBadRequest:
    case H::kReady:
    case H::kIdle:
      break;
  }
  return {400, "Bad Request", "bad_request",
          "the request head could not be understood"};
}

std::string ResponseFor(int status, const char* reason, const char* error,
                        const char* message) {
  const std::string body = EncodeErrorBody(error, message, status);
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json; charset=utf-8\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

bool WaitForSocket(int fd, short events, Clock::time_point deadline) {
  return WaitFor(fd, events, deadline);
}

void ExclusiveListenOptions(int fd) {
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  int no = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &no, sizeof no);
}

std::string PeerAddress(int fd, int* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return AddressOf(ss, port);
}

std::string LocalAddress(int fd, int* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return AddressOf(ss, port);
}

// ---- AddressLimiter

bool AddressLimiter::Acquire(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_address_.find(address);
  const bool known = it != by_address_.end();
  const int active = known ? it->second.active : 0;
  if (active >= per_address_) {
    if (known) ++it->second.refused;
    return false;
  }
  if (pool_ > 0) {
    const size_t reserve = std::max<size_t>(1, pool_ / 16);
    const size_t addresses = by_address_.size() + (known ? 0 : 1);
    const size_t share = std::max<size_t>(1, (pool_ - reserve) / addresses);
    const bool refuse =
        total_ >= pool_ || (total_ >= pool_ - reserve && active > 0) ||
        (total_ >= pool_ / 2 && static_cast<size_t>(active) >= share);
    if (refuse) {
      // An address holding nothing is not kept (the map holds only
      // addresses connected now).
      if (known) ++it->second.refused_fair;
      return false;
    }
  }
  if (!known) it = by_address_.emplace(address, Entry{}).first;
  ++it->second.active;
  ++total_;
  return true;
}

uint64_t AddressLimiter::Release(const std::string& address,
                                 uint64_t* fair_refused) {
  if (fair_refused != nullptr) *fair_refused = 0;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return 0;
  --total_;
  if (--it->second.active > 0) return 0;
  const uint64_t refused = it->second.refused;
  if (fair_refused != nullptr) *fair_refused = it->second.refused_fair;
  by_address_.erase(it);  // the map holds only addresses connected now
  return refused;
}

size_t AddressLimiter::Active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

// ---- WorkerPool

WorkerPool::WorkerPool(size_t max_threads, std::chrono::milliseconds idle)
    : max_threads_(std::max<size_t>(1, max_threads)), idle_(idle) {}

WorkerPool::~WorkerPool() { Shutdown(); }

void WorkerPool::Enqueue(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  JoinFinished();
  jobs_.push_back(std::move(job));
  if (idle_threads_ >= jobs_.size() || threads_.size() >= max_threads_) {
    cv_.notify_one();
    return;
  }
  std::thread t([this] { Work(); });
  const std::thread::id id = t.get_id();
  threads_.emplace(id, std::move(t));
}

void WorkerPool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_threads_;
    const bool woke = cv_.wait_for(lock, idle_, [this] {
      return !jobs_.empty() || shutdown_;
    });
    --idle_threads_;
    if (!woke || (jobs_.empty() && shutdown_)) break;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // its captures are released outside the lock
    lock.lock();
  }
  if (!shutdown_) finished_.push_back(std::this_thread::get_id());
}

void WorkerPool::JoinFinished() {
  for (const std::thread::id& id : finished_) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    it->second.join();  // it has left Work(): returns at once
    threads_.erase(it);
  }
  finished_.clear();
}

void WorkerPool::Shutdown() {
  std::map<std::thread::id, std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_ && threads_.empty()) return;
    shutdown_ = true;
    JoinFinished();
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& [id, t] : threads) t.join();
}

// ---- EdgeConnection

EdgeConnection::Head EdgeConnection::ReadHead(
    const std::function<bool()>& stopping, std::string* why) {
  if (buffer_.empty() && !(transport_ != nullptr && transport_->Pending())) {
    const auto idle_deadline = Clock::now() + limits_.keep_alive;
    for (;;) {
      if (stopping && stopping()) return Head::kIdle;
      const int left = MillisLeft(idle_deadline);
      if (left <= 0) return Head::kIdle;
      pollfd pfd{fd_, POLLIN, 0};
      const int rc = ::poll(&pfd, 1, std::min(left, 100));
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) return Head::kIdle;
    }
  }
  // The deadline runs from the first byte of the request; no byte restarts
  // it.
  const auto deadline = Clock::now() + limits_.head_deadline;
  size_t newlines = 0;
  size_t scanned = 0;
  char chunk[4096];
  for (;;) {
    // A request line starts with its method, capital letters: anything
    // else is refused at its first byte, not after the head's deadline.
    // Chiefly a TLS handshake (0x16) from a client told https:// for this
    // http:// server, which would otherwise wait out the deadline on every
    // retry before hearing the handshake failed.
    if (!buffer_.empty() && (buffer_[0] < 'A' || buffer_[0] > 'Z')) {
      *why = buffer_[0] == '\x16'
                 ? "a TLS handshake (this server is reached with http://)"
                 : "not an HTTP request line";
      return Head::kBadRequest;
    }
    size_t end = buffer_.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
    const size_t limit = end == std::string::npos ? buffer_.size() : end;
    newlines += static_cast<size_t>(
        std::count(buffer_.begin() + static_cast<std::ptrdiff_t>(scanned),
                   buffer_.begin() + static_cast<std::ptrdiff_t>(
                                         std::max(scanned, limit)),
                   '\n'));
    scanned = std::max(scanned, limit);
    // `newlines` before the end counts the request line and all but the
    // last header line.
    if (newlines > limits_.max_headers) {
      *why = "more than " + std::to_string(limits_.max_headers) + " headers";
      return Head::kTooLarge;
    }
    if (end != std::string::npos) {
      if (end + 4 > limits_.max_head_bytes) {
        *why = "a head over " + std::to_string(limits_.max_head_bytes) +
               " bytes";
        return Head::kTooLarge;
      }
      return CheckHead(end + 4, why);
    }
    if (buffer_.size() >= limits_.max_head_bytes) {
      *why = "a head over " + std::to_string(limits_.max_head_bytes) + " bytes";
      return Head::kTooLarge;
    }
    // Waits in slices, so a server that stops does not wait out the head.
    bool ready = false;
    while (!ready && Clock::now() < deadline) {
      if (stopping && stopping()) return Head::kIdle;
      ready = WaitReadable(
          std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
    }
    if (!ready) {
      *why = "the head took longer than " +
             std::to_string(limits_.head_deadline.count()) + " ms";
      return Head::kTimeout;
    }
    // Never more than the cap (+ the 4 terminator bytes) is held.
    const size_t room = limits_.max_head_bytes + 4 - buffer_.size();
    const ssize_t n = RecvSome(chunk, std::min(sizeof chunk, room));
    if (n == 0) return Head::kIdle;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Head::kIdle;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

EdgeConnection::Head EdgeConnection::CheckHead(size_t head_len,
                                               std::string* why) {
  const std::string_view head(buffer_.data(), head_len);
  // Lines end in CRLF and nowhere else: a bare LF or CR (which httplib reads
  // as a line end where this check would not) or a NUL could make the two
  // see different headers, so that a Content-Length this guard never saw
  // reaches the handler (found by the edge_head fuzz target).
  for (size_t i = 0; i < head_len; ++i) {
    const char c = head[i];
    if (c == '\0' || (c == '\n' && (i == 0 || head[i - 1] != '\r')) ||
        (c == '\r' && (i + 1 >= head_len || head[i + 1] != '\n'))) {
      *why = "a line that does not end in CRLF";
      return Head::kBadRequest;
    }
  }
  size_t pos = head.find("\r\n");
  const std::string_view request_line = head.substr(0, pos);
  const size_t space = request_line.find(' ');
  if (space == 0 || space == std::string_view::npos ||
      request_line.find(' ', space + 1) == std::string_view::npos) {
    *why = "not an HTTP request line";
    return Head::kBadRequest;
  }
  const std::string_view method = request_line.substr(0, space);
  for (char c : method) {
    if (c < 'A' || c > 'Z') {
      *why = "not an HTTP method";
      return Head::kBadRequest;
    }
  }
  bool has_length = false;
  bool has_range = false;
  uint64_t length = 0;
  pos += 2;
  while (pos < head_len - 2) {
    const size_t eol = head.find("\r\n", pos);
    const std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      *why = "a folded or empty header line";
      return Head::kBadRequest;
    }
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
      *why = "a header line without a name";
      return Head::kBadRequest;
    }
    const std::string_view name = line.substr(0, colon);
    // A field name is a token (RFC 9110 §5.1): no space before the colon,
    // which a parser that trims it would read as another header than this
    // guard checked ("Content-Length :9..." found by the edge_head target).
    const bool token = std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') ||
             std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    if (!token) {
      *why = "a header name that is not a token";
      return Head::kBadRequest;
    }
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreAsciiCase(name, "Transfer-Encoding")) {
      *why = "Transfer-Encoding";
      return Head::kLengthRequired;
    }
    if (EqualsIgnoreAsciiCase(name, "Content-Encoding") &&
        !EqualsIgnoreAsciiCase(value, "zstd") &&
        !EqualsIgnoreAsciiCase(value, "identity")) {
      *why = "Content-Encoding other than zstd";
      return Head::kUnsupportedEncoding;
    }
    if (EqualsIgnoreAsciiCase(name, "Range") &&
        (value.find(',') != std::string_view::npos || has_range)) {
      *why = "more than one range";
      return Head::kManyRanges;
    }
    if (EqualsIgnoreAsciiCase(name, "Range")) has_range = true;
    if (!EqualsIgnoreAsciiCase(name, "Content-Length")) continue;
    uint64_t v = 0;
    const bool digits =
        !value.empty() && value.size() <= 18 &&
        std::all_of(value.begin(), value.end(),
                    [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      *why = "a Content-Length that is not a number";
      return Head::kBadRequest;
    }
    for (char c : value) v = v * 10 + static_cast<uint64_t>(c - '0');
    if (has_length && v != length) {
      *why = "two different Content-Lengths";
      return Head::kBadRequest;
    }
    has_length = true;
    length = v;
  }
  if (length > limits_.max_body_bytes) {
    *why = "a body of " + std::to_string(length) + " bytes";
    return Head::kBodyTooLarge;
  }
  if (!has_length && (method == "POST" || method == "PUT" ||
                      method == "PATCH" || method == "DELETE")) {
    // httplib 0.11.4 would read such a body until the peer closes.
    static constexpr std::string_view kZero = "Content-Length: 0\r\n";
    buffer_.insert(head_len - 2, kZero);
    head_len += kZero.size();
  }
  request_bytes_ = head_len + length;
  head_len_ = head_len;
  head_done_ = Clock::now();
  body_timed_out_ = false;
  read_bytes_ = 0;
  consumed_ = 0;
  return Head::kReady;
}

void EdgeConnection::Refuse(Head head) {
  const Refusal r = RefusalFor(head);
  const std::string response = ResponseFor(r.status, r.reason, r.error,
                                           r.message);
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  size_t sent = 0;
  while (sent < response.size() && WaitFor(fd_, POLLOUT, deadline)) {
    const ssize_t n = SendSome(response.data() + sent, response.size() - sent);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  // Let the peer read the answer before the close resets the connection:
  // read (and drop) what it still sends, briefly and up to a bound.
  ::shutdown(fd_, SHUT_WR);
  const auto drain_deadline = Clock::now() + std::chrono::milliseconds(250);
  char sink[4096];
  size_t drained = 0;
  while (drained < (256u << 10) && WaitReadable(drain_deadline)) {
    const ssize_t n = RecvSome(sink, sizeof sink);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

void EdgeConnection::RefuseBusy(int fd) {
  std::string response = ResponseFor(
      503, "Service Unavailable", "busy",
      "too many connections from this address at once; try again later");
  response.insert(response.find("\r\n") + 2, "Retry-After: 5\r\n");
  (void)::send(fd, response.data(), response.size(),
               MSG_NOSIGNAL | MSG_DONTWAIT);
  // Drop what the request already sent, without waiting: closing with unread
  // bytes would reset the connection and could lose the answer.
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  for (int i = 0; i < 16; ++i) {
    if (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) break;
  }
}

ssize_t EdgeConnection::Read(char* ptr, size_t size) {
  if (read_bytes_ >= request_bytes_ || size == 0) return 0;
  size = static_cast<size_t>(
      std::min<uint64_t>(size, request_bytes_ - read_bytes_));
  if (consumed_ < buffer_.size()) {
    const size_t n = std::min(size, buffer_.size() - consumed_);
    std::memcpy(ptr, buffer_.data() + consumed_, n);
    consumed_ += n;
    read_bytes_ += n;
    return static_cast<ssize_t>(n);
  }
  for (;;) {
    if (!WaitBody()) return -1;
    const ssize_t n = RecvSome(ptr, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    if (n > 0) read_bytes_ += static_cast<uint64_t>(n);
    return n;
  }
}

ssize_t EdgeConnection::Write(const char* ptr, size_t size) {
  // The library's answer to a body cut at its deadline is dropped: the
  // guard answers 408 instead.
  if (body_timed_out_) return -1;
  const auto deadline = Clock::now() + limits_.io_timeout;
  for (;;) {
    if (!WaitFor(fd_, POLLOUT, deadline)) return -1;
    const ssize_t n = SendSome(ptr, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    return n;
  }
}

bool EdgeConnection::Readable() const {
  if (consumed_ < buffer_.size()) return true;
  return WaitBody();
}

Clock::time_point EdgeConnection::BodyDeadline() const {
  const uint64_t rate = std::max<uint64_t>(1, limits_.body_min_rate);
  // Up to the bytes read so far and the next one, in whole milliseconds
  // (a body of 16 MiB at 1 byte/s is 194 days: no overflow).
  const uint64_t due_ms = (body_read() + 1) * 1000 / rate;
  return head_done_ + limits_.body_grace +
         std::chrono::milliseconds(static_cast<int64_t>(
             std::min<uint64_t>(due_ms, uint64_t{1} << 40)));
}

bool EdgeConnection::WaitBody() const {
  const auto io_deadline = Clock::now() + limits_.io_timeout;
  // Only while the request's body is being read: never for the head (it is
  // buffered whole) nor between requests.
  if (read_bytes_ < head_len_ || read_bytes_ >= request_bytes_) {
    return WaitReadable(io_deadline);
  }
  const auto body_deadline = BodyDeadline();
  for (;;) {
    if (WaitReadable(std::min(io_deadline, body_deadline))) return true;
    // poll() waits whole milliseconds: it may give up just short of the
    // deadline; then wait out the rest.
    const auto now = Clock::now();
    if (now >= body_deadline) {
      body_timed_out_ = true;
      return false;
    }
    if (now >= io_deadline) return false;
  }
}

ssize_t EdgeConnection::RecvSome(char* ptr, size_t size) {
  if (transport_ != nullptr) return transport_->Recv(fd_, ptr, size);
  return ::recv(fd_, ptr, size, 0);
}

ssize_t EdgeConnection::SendSome(const char* ptr, size_t size) {
  if (transport_ != nullptr) return transport_->Send(fd_, ptr, size);
  return ::send(fd_, ptr, size, MSG_NOSIGNAL);
}

bool EdgeConnection::WaitReadable(Clock::time_point deadline) const {
  if (transport_ != nullptr && transport_->Pending()) return true;
  return WaitFor(fd_, POLLIN, deadline);
}

bool EdgeConnection::Writable() const {
  return WaitFor(fd_, POLLOUT, Clock::now() + limits_.io_timeout);
}

bool EdgeConnection::FinishRequest() {
  const bool complete = read_bytes_ == request_bytes_;
  buffer_.erase(0, consumed_);
  consumed_ = 0;
  read_bytes_ = request_bytes_ = head_len_ = 0;
  return complete && !body_timed_out_;
}

// ---- EdgeGuard

void EdgeGuard::Handle(int fd, const std::function<void()>& serve,
                       bool answer_busy) {
  const std::string peer = PeerAddress(fd);
  const std::string key = LimitKey(fd, peer);
  if (!limiter_.Acquire(key)) {
    if (answer_busy) EdgeConnection::RefuseBusy(fd);
  } else {
    serve();
    uint64_t fair_refused = 0;
    const uint64_t refused = limiter_.Release(key, &fair_refused);
    if (refused > 0 && log_) {
      log_("refused " + std::to_string(refused) + " connection(s) from " +
           EscapeForLog(key) + ": over " +
           std::to_string(limits_.per_address) + " at once from one address");
    }
    if (fair_refused > 0 && log_) {
      log_("refused " + std::to_string(fair_refused) + " connection(s) from " +
           EscapeForLog(key) + ": over its fair share of a busy server (" +
           std::to_string(limits_.pool) + " connections at once in all)");
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void EdgeGuard::ServeRequests(EdgeConnection& conn, const ServeOne& serve_one,
                              const std::function<bool()>& stopping) {
  const size_t max = std::max<size_t>(1, limits_.max_requests_per_connection);
  for (size_t i = 0; i < max; ++i) {
    std::string why;
    const EdgeConnection::Head head = conn.ReadHead(stopping, &why);
    if (head == EdgeConnection::Head::kIdle) return;
    if (head != EdgeConnection::Head::kReady) {
      if (log_) {
        log_("refused " + std::to_string(RefusalFor(head).status) + " from " +
             EscapeForLog(PeerAddress(conn.fd())) + ": " + why);
      }
      conn.Refuse(head);
      return;
    }
    bool connection_closed = false;
    const bool ok = serve_one(i + 1 == max, connection_closed);
    if (conn.body_timed_out()) {
      if (log_) {
        log_("refused 408 from " + EscapeForLog(PeerAddress(conn.fd())) +
             ": a body of " + std::to_string(conn.body_declared()) +
             " bytes came slower than " +
             std::to_string(limits_.body_min_rate) + " bytes/s after " +
             std::to_string(limits_.body_grace.count()) + " ms (" +
             std::to_string(conn.body_read()) + " bytes arrived)");
      }
      conn.Refuse(EdgeConnection::Head::kBodyTimeout);
      return;
    }
    if (!conn.FinishRequest() || !ok || connection_closed) return;
  }
}

std::string EscapeForLog(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      char hex[2];
      HexEncodeTo(&c, 1, hex);
      out += "\\x";
      out.append(hex, 2);
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace kbo::edge
