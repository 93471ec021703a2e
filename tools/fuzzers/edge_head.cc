// libFuzzer target: the network edge's request-head guard
// (shared/edge_guard.h), which reads and checks every request head for
// `kbo-server serve` and `kbo ui` before cpp-httplib parses a byte of it;
// and EscapeForLog, which every log line goes through.
//
// The input is sent down one end of a socketpair (then shut down), and an
// EdgeConnection with small limits reads it from the other: heads are read
// and checked, what passes is read back as the HTTP library would (the head,
// then the declared body) and the request finished, until the connection
// ends or is refused (the refusal is written as the server would).
// Properties: a head that passes holds the terminator within
// max_head_bytes (plus the rewrite's "Content-Length: 0"), no more than
// max_headers header lines, no Transfer-Encoding header, and a
// Content-Length of at most max_body_bytes; an escaped log line has no
// control bytes.

#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "shared/edge_guard.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

using namespace kbo;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Checks one head that passed; returns its declared body length.
uint64_t CheckPassedHead(const std::string& head, const edge::EdgeLimits& limits) {
  FUZZ_CHECK(head.size() <= limits.max_head_bytes + 32);
  size_t lines = 0;
  uint64_t length = 0;
  size_t at = head.find('\n');
  while (at != std::string::npos && at + 1 < head.size()) {
    const size_t next = head.find('\n', at + 1);
    const std::string line =
        head.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    at = next;
    if (line.empty() || line == "\r") continue;
    ++lines;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = Lower(line.substr(0, colon));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    FUZZ_CHECK(name != "transfer-encoding");
    if (name == "content-length") {
      std::string v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.pop_back();
      FUZZ_CHECK(!v.empty() && v.size() <= 18);
      for (char c : v) FUZZ_CHECK(c >= '0' && c <= '9');
      length = std::stoull(v);
      FUZZ_CHECK(length <= limits.max_body_bytes);
    }
  }
  FUZZ_CHECK(lines <= limits.max_headers + 1);
  return length;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = fuzz::Bytes(data, size);
  for (unsigned char c : edge::EscapeForLog(bytes)) FUZZ_CHECK(c >= 0x20 && c != 0x7f);

  int sv[2];
  FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  int buf = 1 << 20;
  (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  for (size_t sent = 0; sent < size;) {
    const ssize_t n = ::send(sv[0], data + sent, size - sent, MSG_NOSIGNAL);
    FUZZ_CHECK(n > 0);
    sent += static_cast<size_t>(n);
  }
  ::shutdown(sv[0], SHUT_WR);

  edge::EdgeLimits limits;
  limits.max_head_bytes = 2048;
  limits.max_headers = 16;
  limits.max_body_bytes = 4096;
  limits.head_deadline = std::chrono::milliseconds(2000);
  limits.keep_alive = std::chrono::milliseconds(50);
  limits.io_timeout = std::chrono::milliseconds(200);
  limits.max_requests_per_connection = 8;
  {
    edge::EdgeConnection conn(sv[1], limits);
    for (size_t i = 0; i < limits.max_requests_per_connection; ++i) {
      std::string why;
      const edge::EdgeConnection::Head head = conn.ReadHead([] { return false; }, &why);
      fuzz::Say("head", std::to_string(static_cast<int>(head)) + " " + why);
      if (head == edge::EdgeConnection::Head::kIdle) break;
      if (head != edge::EdgeConnection::Head::kReady) {
        conn.Refuse(head);
        break;
      }
      // As the HTTP library reads it: the head, then the declared body.
      std::string got;
      char c;
      while (got.size() < limits.max_head_bytes + 64 &&
             got.find("\r\n\r\n") == std::string::npos && conn.Read(&c, 1) == 1) {
        got.push_back(c);
      }
      FUZZ_CHECK(got.find("\r\n\r\n") != std::string::npos);
      uint64_t body = CheckPassedHead(got, limits);
      char chunk[512];
      while (body > 0) {
        const ssize_t n = conn.Read(chunk, std::min<uint64_t>(sizeof chunk, body));
        if (n <= 0) break;
        body -= static_cast<uint64_t>(n);
      }
      if (!conn.FinishRequest()) break;
    }
  }
  ::close(sv[0]);
  ::close(sv[1]);
  return 0;
}
