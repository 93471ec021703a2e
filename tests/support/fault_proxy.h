#ifndef KBO_TESTS_SUPPORT_FAULT_PROXY_H_
#define KBO_TESTS_SUPPORT_FAULT_PROXY_H_

// A TCP proxy for fault tests (issue #9): a thread accepts on a loopback port
// and forwards each connection to 127.0.0.1:<upstream>, doing to it what a
// bad rural link does, byte-exactly and reproducibly:
//
//   FaultProxy proxy(server.port());
//   proxy.SetRandomFaults(seed);          // cut, reset, stall, delay
//   RunKbo({..., "sync", "--server", proxy.url()});
//
// Random faults: connection number i (in accept order) gets its fault from
// an RNG seeded with (seed, i), so a run whose connections arrive in the same
// order (devices syncing one after another) replays from its seed. A fault
// fires at a byte offset of one direction (client->server "up", or
// server->client "down"); a connection that carries fewer bytes is left
// alone. Kinds:
//   cut    close both sockets after exactly that many bytes (FIN);
//   reset  the same with an RST (SO_LINGER 0) on both sockets;
//   stall  forward nothing for 50..1500 ms at that offset, then carry on;
//   delay  hold every forwarded read for 1..20 ms.
// Stalls stay far below kbo's 30 s read timeout: they slow a sync, they do
// not time it out.
//
// A request rule (CutRequest) instead cuts the first request whose method,
// path prefix and query match, after N bytes of its body; N equal to its
// Content-Length forwards the whole request, waits until the server begins
// its answer (so the server has done the work) and cuts before the client
// sees a byte of it. One-shot: later requests pass. `how` (CutHow flags):
// kSpareShorter lets a request whose body is no longer than N pass
// untouched (a link that drops whatever takes too long); kHalfClose, instead
// of closing both sockets, ends only the request's way to the server after
// its N bytes (a FIN) and still carries the server's answer back (a
// middlebox half-closing a connection).
//
// The upstream port may change (SetUpstreamPort) while the proxy runs, so a
// server restarted on a new port keeps one address for the devices; a
// connection made while nothing listens upstream is closed at once.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kbo::testing {

struct FaultProxyStats {
  uint64_t connections = 0;
  uint64_t requests = 0;        // request heads seen (client->server)
  uint64_t bytes_up = 0;        // forwarded client->server
  uint64_t bytes_down = 0;      // forwarded server->client
  uint64_t body_bytes_up = 0;   // request body bytes received from clients
  uint64_t cuts = 0;            // faults that fired, by kind
  uint64_t resets = 0;
  uint64_t stalls = 0;
  uint64_t delayed = 0;         // connections delayed
  uint64_t upstream_refused = 0;  // nothing listening upstream
  uint64_t rule_fired = 0;      // CutRequest rules that fired
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1:0 (see port()); forwards to 127.0.0.1:upstream_port.
  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  bool running() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetUpstreamPort(int port) { upstream_port_ = port; }
  // Random faults for connections accepted from now on (numbered from 0
  // again). 0 turns them off.
  void SetRandomFaults(uint64_t seed);
  // Arms a rule (see above) for the next `times` matching requests (one by
  // default; more outlast a client's retries within one sync).
  // `query_contains` "" matches any query.
  void CutRequest(const std::string& method, const std::string& path_prefix,
                  const std::string& query_contains, uint64_t body_bytes,
                  int times = 1, unsigned how = 0);
  enum CutHow : unsigned { kSpareShorter = 1, kHalfClose = 2 };
  bool rule_armed() const;

  FaultProxyStats stats() const;
  // One line per fault that fired ("conn 12: cut up at 4711"), oldest first.
  std::vector<std::string> events() const;

 private:
  struct Rule {
    std::string method, path_prefix, query_contains;
    uint64_t body_bytes = 0;
    bool armed = false;
    int times_left = 0;
    unsigned how = 0;
  };
  struct Conn;

  void AcceptLoop();
  void Serve(int client_fd, uint64_t number, uint64_t seed);
  void Event(const std::string& line);
  // Takes the rule if `method target` matches it.
  bool TakeRule(const std::string& method, const std::string& target, uint64_t length,
                uint64_t* body_bytes, bool* half_close);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> upstream_port_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;

  mutable std::mutex mu_;
  uint64_t seed_ = 0;
  uint64_t next_number_ = 0;
  Rule rule_;
  FaultProxyStats stats_;
  std::vector<std::string> events_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;
};

// A 64-bit seed from the environment variable `name` if set (decimal), else
// from the clock; printed either way ("NAME=..." on stderr) so a failing run
// can be replayed.
uint64_t SeedFromEnv(const char* name);
// A positive count from the environment variable `name`, else `fallback`.
int CountFromEnv(const char* name, int fallback);

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_FAULT_PROXY_H_
