#include "client/ui/ui_server.h"

// HTTP adapter for the UI (CONVENTIONS §12: thin). Routes:
//   GET  /                       index.html
//   GET  /NAME                   an embedded asset (app.js, style.css, ...)
//   POST /api/pin                {"pin": "NNNNNN"} -> session cookie
//   GET  /blob/SHA256            a stored photo (UiApi::Blob)
//   GET  /thumb/SHA256           its thumbnail (UiApi::Thumb)
//   *    /api/...                UiApi::Handle
// Limits and why:
//   - payload: 20 MiB photo + 256 KiB of form fields and multipart framing;
//     JSON routes 64 KiB, checked against Content-Length before the body is
//     read (httplib 0.11.4's own default is unlimited);
//   - io timeout 30 s between reads/writes (a stalled client frees its
//     thread); keep-alive 5 s;
//   - the network edge (shared/edge_guard.h): the request head within 10 s,
//     32 KiB and 64 headers, 16 connections per client address, up to 64
//     threads (an address over its fair share of a busy pool is refused),
//     a body at 2 KiB/s on average after 30 s; the port is ours alone (no
//     SO_REUSEPORT);
//   - wrong PINs are counted per client address, with a growing wait
//     (PinGate below), so one client's guessing never locks out another;
//   - an exception handler, so a throw never leaks e.what() into a header
//     (0.11.4 does that without one).

#include <arpa/inet.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "client/ui/assets.h"
#include "shared/edge_guard.h"
#include "shared/encoding.h"
#include "shared/error_body.h"
#include "shared/uuid.h"

namespace kbo::client::ui {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxPayloadBytes = kMaxPhotoUploadBytes + (size_t{256} << 10);
// Wrong PINs a client address may enter before it has to wait; after
// that each wrong one doubles the wait, from 1 s up to 15 min (about 100
// guesses a day of a million PINs).
constexpr int kFreeWrongPins = 5;
constexpr auto kMaxPinWait = std::chrono::minutes(15);
// Client addresses remembered at most (the oldest waits are dropped first).
constexpr size_t kMaxPinClients = 4096;
constexpr size_t kMaxWorkers = 64;
constexpr const char* kPinHeader = "X-KBO-PIN";
constexpr const char* kSessionCookie = "kbo_session";

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

void SetJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void SetError(httplib::Response& res, int status, const char* error,
              const std::string& message) {
  res.status = status;
  res.set_content(EncodeErrorBody(error, message, status),
                  "application/json; charset=utf-8");
}

std::string MimeOf(std::string_view name) {
  auto ends = [name](std::string_view ext) {
    return name.size() >= ext.size() &&
           name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

const EmbeddedFile* FindAsset(std::string_view name) {
  for (size_t i = 0; i < kUiAssets_count; ++i) {
    if (kUiAssets[i].name == name) return &kUiAssets[i];
  }
  return nullptr;
}

// Equal without an early exit, so timing does not tell how much matched.
bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::string RandomPin() {
  // 64 random bits (libsodium's CSPRNG, through Uuid) reduced mod 10^6: the
  // bias is below 10^-13.
  const Uuid r = Uuid::Random();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | r.bytes[static_cast<size_t>(i)];
  std::string pin = std::to_string(v % 1000000);
  return std::string(6 - pin.size(), '0') + pin;
}

std::string RandomToken() {
  std::string token;
  for (int i = 0; i < 2; ++i) {
    for (char c : Uuid::Random().ToString()) {
      if (c != '-') token += c;
    }
  }
  return token;
}

std::string CookieValue(const httplib::Request& req, std::string_view name) {
  const std::string cookies = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < cookies.size()) {
    size_t end = cookies.find(';', pos);
    if (end == std::string::npos) end = cookies.size();
    std::string_view item(cookies.data() + pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=') {
      return std::string(item.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

// The host part of a Host header ("127.0.0.1:8080" -> "127.0.0.1",
// "[::1]:80" -> "::1").
std::string HostOnly(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    return close == std::string::npos ? host_header
                                      : host_header.substr(1, close - 1);
  }
  const size_t colon = host_header.rfind(':');
  return colon == std::string::npos ? host_header
                                    : host_header.substr(0, colon);
}

bool IsWrite(const std::string& method) {
  return method == "POST" || method == "PATCH" || method == "DELETE" ||
         method == "PUT";
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Routes that take a photo body; every other route takes 64 KiB at most.
bool TakesPhoto(const httplib::Request& req) {
  if (req.method != "POST") return false;
  if (req.path == "/api/photo") return true;
  // POST /api/ENTITY with multipart: a form with a photo.
  const std::string type = req.get_header_value("Content-Type");
  return StartsWith(req.path, "/api/") &&
         req.path.find('/', 5) == std::string::npos &&
         StartsWith(type, "multipart/form-data");
}

// Counts wrong PINs per client address (IPv6 by /64), each with its own
// growing wait. A right PIN from an address that is not waiting clears its
// count. Thread-safe.
class PinGate {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 ok; 401 wrong; 429 this address must wait (`*wait_s`: seconds left,
  // at least 1), the PIN not even compared.
  int Check(const std::string& client, std::string_view attempt,
            std::string_view pin, int64_t* wait_s) {
    const std::string key = Key(client);
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    auto it = clients_.find(key);
    if (it != clients_.end() && now < it->second.wait_until) {
      *wait_s = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::seconds>(
                 it->second.wait_until - now + std::chrono::milliseconds(999))
                 .count());
      return 429;
    }
    if (SecretEquals(attempt, pin)) {
      if (it != clients_.end()) clients_.erase(it);
      return 0;
    }
    if (it == clients_.end()) {
      if (clients_.size() >= kMaxPinClients) Evict(now);
      it = clients_.emplace(key, Entry{}).first;
    }
    Entry& e = it->second;
    ++e.wrong;
    if (e.wrong >= kFreeWrongPins) {
      const int doublings = std::min(e.wrong - kFreeWrongPins, 20);
      auto wait = std::chrono::duration_cast<Clock::duration>(
          std::chrono::seconds(int64_t{1} << doublings));
      wait = std::min<Clock::duration>(wait, kMaxPinWait);
      e.wait_until = now + wait;
    }
    e.last = now;
    return 401;
  }

 private:
  struct Entry {
    int wrong = 0;
    Clock::time_point wait_until{};
    Clock::time_point last{};
  };
  static std::string Key(const std::string& client) {
    if (client.find(':') == std::string::npos) return client;
    // IPv6: the first four groups (a /64), as written.
    size_t pos = 0;
    for (int groups = 0; groups < 4 && pos != std::string::npos; ++groups) {
      pos = client.find(':', pos == 0 ? 0 : pos + 1);
    }
    return pos == std::string::npos ? client : client.substr(0, pos) + "/64";
  }
  // Frees room: first every address no longer waiting, else the oldest.
  void Evict(Clock::time_point now) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      it = now >= it->second.wait_until + kMaxPinWait ? clients_.erase(it)
                                                      : std::next(it);
    }
    if (clients_.size() < kMaxPinClients) return;
    auto oldest = clients_.begin();
    for (auto it = clients_.begin(); it != clients_.end(); ++it) {
      if (it->second.last < oldest->second.last) oldest = it;
    }
    clients_.erase(oldest);
  }
  std::mutex mu_;
  std::map<std::string, Entry> clients_;
};

std::string WaitMessage(int64_t seconds) {
  return "too many wrong PINs from this device; wait " +
         std::to_string(seconds) + (seconds == 1 ? " second" : " seconds") +
         " and try again";
}

// ---- The guarded edge (shared/edge_guard.h); as in server/http_api.cc.

// httplib's view of an EdgeConnection: reads serve the checked head first.
class EdgeStream : public httplib::Stream {
 public:
  explicit EdgeStream(edge::EdgeConnection& conn) : conn_(conn) {}
  using httplib::Stream::write;
  bool is_readable() const override { return conn_.Readable(); }
  bool is_writable() const override { return conn_.Writable(); }
  ssize_t read(char* ptr, size_t size) override { return conn_.Read(ptr, size); }
  ssize_t write(const char* ptr, size_t size) override {
    return conn_.Write(ptr, size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = edge::PeerAddress(conn_.fd(), &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = edge::LocalAddress(conn_.fd(), &port);
  }
  socket_t socket() const override { return conn_.fd(); }

 private:
  edge::EdgeConnection& conn_;
};

class EdgePool : public httplib::TaskQueue {
 public:
  explicit EdgePool(size_t max_threads) : pool_(max_threads) {}
  void enqueue(std::function<void()> fn) override {
    pool_.Enqueue(std::move(fn));
  }
  void shutdown() override { pool_.Shutdown(); }

 private:
  edge::WorkerPool pool_;
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(edge::EdgeGuard& guard) : guard_(guard) {
    new_task_queue = [] { return new EdgePool(kMaxWorkers); };
    // What the guard enforces, so the Keep-Alive header tells the truth.
    set_keep_alive_max_count(guard.limits().max_requests_per_connection);
    set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(
                               guard.limits().keep_alive)
                               .count());
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    guard_.Handle(sock, [this, sock] {
      edge::EdgeConnection conn(sock, guard_.limits());
      EdgeStream stream(conn);
      guard_.ServeRequests(
          conn,
          [&](bool close_connection, bool& connection_closed) {
            return process_request(stream, close_connection, connection_closed,
                                   nullptr);
          },
          [this] { return svr_sock_ == INVALID_SOCKET; });
    });
    return true;
  }

  edge::EdgeGuard& guard_;
};

edge::EdgeLimits UiEdgeLimits(const UiOptions& o) {
  edge::EdgeLimits limits;
  limits.max_head_bytes = 32 * 1024;
  limits.max_headers = 64;
  limits.head_deadline = std::chrono::seconds(10);
  limits.keep_alive = std::chrono::seconds(5);
  limits.io_timeout = std::chrono::seconds(std::max(1, o.io_timeout_seconds));
  limits.max_body_bytes = kMaxPayloadBytes;
  limits.per_address = 16;  // a browser opens six per host
  limits.body_grace = std::chrono::seconds(30);
  limits.body_min_rate = 2048;
  limits.pool = kMaxWorkers;
  return limits;
}

}  // namespace

struct UiServer::Impl {
  Impl(ClientStore& s, const UiOptions& o)
      : store(s),
        options(o),
        api(s, o.sync),
        guard(UiEdgeLimits(o),
              [](std::string_view line) {
                std::cerr << "kbo ui: " << edge::EscapeForLog(line)
                          << std::endl;
              }),
        server(guard) {
    api.set_enrol(o.enrol);
    api.set_sync_uses_own_store(o.sync_own_store);
  }

  ClientStore& store;
  UiOptions options;
  UiApi api;
  edge::EdgeGuard guard;
  GuardedServer server;
  std::string host;
  int port = 0;
  bool loopback = true;
  std::string pin;

  std::mutex auth_mu;
  std::set<std::string> sessions;
  PinGate pin_gate;

  std::atomic<bool> serving{false};
  std::atomic<bool> stop_requested{false};

  // Checks a PIN attempt from `client` (its address). 0 ok, 401 wrong, 429
  // this client must wait `*wait_s` seconds (PinGate).
  int CheckPin(const std::string& client, std::string_view attempt,
               int64_t* wait_s) {
    return pin_gate.Check(client, attempt, pin, wait_s);
  }

  static void TooManyPins(httplib::Response& res, int64_t wait_s) {
    res.set_header("Retry-After", std::to_string(wait_s));
    SetError(res, 429, "too_many_attempts", WaitMessage(wait_s));
  }

  bool HasSession(const httplib::Request& req) {
    const std::string token = CookieValue(req, kSessionCookie);
    if (token.empty()) return false;
    std::lock_guard<std::mutex> lock(auth_mu);
    for (const std::string& s : sessions) {
      if (SecretEquals(s, token)) return true;
    }
    return false;
  }

  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req,
                                            httplib::Response& res) {
    using HR = httplib::Server::HandlerResponse;
    if (loopback) {
      // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends
      // "Host: evil.example". Only loopback names reach the API.
      const std::string host_header = req.get_header_value("Host");
      if (!host_header.empty() && !IsLoopbackHost(HostOnly(host_header))) {
        SetError(res, 403, "out_of_scope",
                 "this server answers only to loopback addresses");
        return HR::Handled;
      }
    }
    if (IsWrite(req.method) && req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      if (origin != "http://" + req.get_header_value("Host")) {
        SetError(res, 403, "out_of_scope",
                 "a write from another site's page is refused");
        return HR::Handled;
      }
    }
    if (req.has_header("Content-Length")) {
      const size_t cap = TakesPhoto(req) ? kMaxPayloadBytes : kMaxJsonBodyBytes;
      const std::string text = req.get_header_value("Content-Length");
      if (!ParseUint64(text, cap)) {
        // The body stays unread: close the connection after the reply.
        res.set_header("Connection", "close");
        SetError(res, 413, "too_large",
                 cap == kMaxJsonBodyBytes
                     ? "the request is larger than 64 KiB"
                     : "the upload is larger than 20 MiB; a photo may be at "
                       "most 20 MiB");
        return HR::Handled;
      }
    }
    const bool guarded =
        (StartsWith(req.path, "/api/") && req.path != "/api/pin") ||
        StartsWith(req.path, "/blob/") || StartsWith(req.path, "/thumb/");
    if (!loopback && guarded) {
      if (req.has_header(kPinHeader)) {
        int64_t wait_s = 0;
        const int verdict =
            CheckPin(req.remote_addr, req.get_header_value(kPinHeader), &wait_s);
        if (verdict == 429) {
          TooManyPins(res, wait_s);
          return HR::Handled;
        }
        if (verdict == 0) return HR::Unhandled;
        SetError(res, 401, "unauthenticated", "wrong PIN");
        return HR::Handled;
      }
      if (!HasSession(req)) {
        SetError(res, 401, "unauthenticated",
                 "enter the PIN shown in the terminal where kbo ui runs");
        return HR::Handled;
      }
    }
    return HR::Unhandled;
  }

  void PostPin(const httplib::Request& req, httplib::Response& res) {
    if (loopback) {
      SetJson(res, 200, Json{{"ok", true}, {"pin_required", false}});
      return;
    }
    std::string attempt;
    Json body = Json::parse(req.body, nullptr, false);
    if (body.is_object() && body.contains("pin") && body["pin"].is_string()) {
      attempt = body["pin"].get<std::string>();
    } else if (req.has_param("pin")) {
      attempt = req.get_param_value("pin");
    }
    int64_t wait_s = 0;
    const int verdict = CheckPin(req.remote_addr, attempt, &wait_s);
    if (verdict == 429) {
      TooManyPins(res, wait_s);
      return;
    }
    if (verdict != 0) {
      res.status = 401;
      res.set_content(
          EncodeErrorBody(
              Status::Unauthenticated("wrong PIN").With(field::kField, "pin")),
          "application/json; charset=utf-8");
      return;
    }
    const std::string token = RandomToken();
    {
      std::lock_guard<std::mutex> lock(auth_mu);
      sessions.insert(token);
    }
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + token +
                                     "; Path=/; HttpOnly; SameSite=Strict");
    SetJson(res, 200, Json{{"ok", true}, {"pin_required", true}});
  }

  static void Reply(const ApiReply& reply, httplib::Response& res) {
    res.status = reply.http_status;
    res.set_content(reply.body, reply.content_type);
  }

  void Api(const httplib::Request& req, httplib::Response& res) {
    ApiRequest in;
    in.method = req.method;
    in.path = req.path;
    for (const auto& [k, v] : req.params) in.query.emplace(k, v);
    in.content_type = req.get_header_value("Content-Type");
    in.body = req.body;
    for (const auto& [name, part] : req.files) {
      in.form.push_back(
          FormPart{part.name, part.filename, part.content_type, part.content});
    }
    Reply(api.Handle(in), res);
    res.set_header("Cache-Control", "no-store");
  }

  void Routes() {
    server.set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          return PreRoute(req, res);
        });
    server.Post("/api/pin",
                [this](const httplib::Request& req, httplib::Response& res) {
                  PostPin(req, res);
                });
    auto api_handler = [this](const httplib::Request& req,
                              httplib::Response& res) { Api(req, res); };
    server.Get("/api/.*", api_handler);
    server.Post("/api/.*", api_handler);
    server.Patch("/api/.*", api_handler);
    server.Delete("/api/.*", api_handler);
    server.Get("/blob/(.*)", [this](const httplib::Request& req,
                                    httplib::Response& res) {
      const std::string sha = req.matches[1];
      Reply(api.Blob(sha), res);
      if (res.status == 200) {
        // Content-addressed: the bytes behind a name never change.
        res.set_header("Cache-Control", "private, max-age=31536000, immutable");
      }
    });
    server.Get("/thumb/(.*)", [this](const httplib::Request& req,
                                     httplib::Response& res) {
      const std::string sha = req.matches[1];
      Reply(api.Thumb(sha), res);
      if (res.status == 200) {
        res.set_header("Cache-Control", "private, max-age=31536000, immutable");
      }
    });
    server.Get("/favicon.ico",
               [](const httplib::Request&, httplib::Response& res) {
                 res.status = 204;
               });
    server.Get("/([A-Za-z0-9_.-]*)",
               [](const httplib::Request& req, httplib::Response& res) {
                 std::string name = req.matches[1];
                 if (name.empty()) name = "index.html";
                 const EmbeddedFile* asset = FindAsset(name);
                 if (asset == nullptr) {
                   SetError(res, 404, "not_found", "no page " + req.path);
                   return;
                 }
                 res.set_content(asset->bytes.data(), asset->bytes.size(),
                                 MimeOf(asset->name));
                 // Small files, served from memory: always revalidate, so a new
                 // kbo binary's page is never mixed with an old script.
                 res.set_header("Cache-Control", "no-cache");
               });
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          switch (res.status) {
            case 404:
              SetError(res, 404, "not_found", "nothing at " + req.path);
              break;
            case 413:
              SetError(res, 413, "too_large",
                       "the request is too large (a photo may be at most "
                       "20 MiB)");
              break;
            case 405:
              SetError(res, 405, "method_not_allowed",
                       req.method + " is not allowed here");
              break;
            default:
              if (res.status >= 500) {
                SetError(res, res.status, "internal",
                         "something went wrong on this device");
              } else {
                SetError(res, res.status, "invalid_argument",
                         "the request could not be read");
              }
          }
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler([](const httplib::Request& req,
                                    httplib::Response& res,
                                    const std::exception_ptr& ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      std::cerr << "kbo ui: "
                << edge::EscapeForLog(req.method + " " + req.path + ": " + what)
                << std::endl;
      SetError(res, 500, "internal",
               "something went wrong on this device (details are in the "
               "terminal running kbo ui)");
    });
    httplib::Headers defaults = {
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Content-Security-Policy", kContentSecurityPolicy},
    };
    server.set_default_headers(defaults);
    server.set_payload_max_length(kMaxPayloadBytes);
    server.set_read_timeout(options.io_timeout_seconds, 0);
    server.set_write_timeout(options.io_timeout_seconds, 0);
    server.set_keep_alive_timeout(5);
  }
};

UiServer::UiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UiServer::~UiServer() { Stop(); }

Result<std::unique_ptr<UiServer>> UiServer::Bind(ClientStore& store,
                                                 const UiOptions& opts) {
  std::string host;
  int port = 0;
  if (Status s = ParseListenAddress(opts.listen, &host, &port); !s.ok()) {
    return s;
  }
  auto impl = std::make_unique<Impl>(store, opts);
  impl->host = host;
  impl->loopback = IsLoopbackHost(host);
  if (!impl->loopback) impl->pin = opts.pin.empty() ? RandomPin() : opts.pin;
  impl->Routes();
  // Not httplib's default (SO_REUSEPORT): a second `kbo ui` on this port
  // must fail to bind, not take half of this one's requests.
  impl->server.set_socket_options(
      [](socket_t sock) { edge::ExclusiveListenOptions(sock); });
  const std::string bind_host = host == "localhost" ? "127.0.0.1" : host;
  if (port == 0) {
    impl->port = impl->server.bind_to_any_port(bind_host);
    if (impl->port <= 0) {
      return Status::FailedPrecondition("cannot listen on " + host +
                                        " (is it an address of this machine?)");
    }
  } else {
    if (!impl->server.bind_to_port(bind_host, port)) {
      // kFailedPrecondition (exit 1), not kUnavailable (exit 4: "server
      // unreachable, try again later").
      return Status::FailedPrecondition(
          "cannot listen on " + opts.listen + ": port " +
          std::to_string(port) +
          " is in use (another kbo ui?), or the address is not this "
          "machine's");
    }
    impl->port = port;
  }
  return std::unique_ptr<UiServer>(new UiServer(std::move(impl)));
}

const std::string& UiServer::host() const { return impl_->host; }
int UiServer::port() const { return impl_->port; }
bool UiServer::pin_required() const { return !impl_->loopback; }
const std::string& UiServer::pin() const { return impl_->pin; }

std::string UiServer::url() const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" +
         std::to_string(impl_->port);
}

Status UiServer::Serve() {
  impl_->serving = true;
  if (impl_->stop_requested) return Status();
  const bool ok = impl_->server.listen_after_bind();
  impl_->serving = false;
  if (!ok && !impl_->stop_requested) {
    return Status::IOError("the UI server's socket failed on " + url());
  }
  return Status();
}

void UiServer::Stop() {
  if (!impl_) return;
  impl_->stop_requested = true;
  // Serve() may be between its check and httplib's start: wait (briefly)
  // until httplib runs, then stop it.
  for (int i = 0; i < 2000; ++i) {
    if (impl_->server.is_running()) {
      impl_->server.stop();
      return;
    }
    if (!impl_->serving) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// This machine's addresses on its networks, for a person to type on another
// device (IPv4; IPv6 too when `v6`): loopback and link-local left out.
static std::vector<std::string> NetworkAddresses(bool v6) {
  std::vector<std::string> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0 ||
        (i->ifa_flags & IFF_RUNNING) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) {
      continue;
    }
    // A container's or a VM's bridge is not the hall's network.
    const std::string_view name = i->ifa_name != nullptr ? i->ifa_name : "";
    if (name.rfind("docker", 0) == 0 || name.rfind("br-", 0) == 0 ||
        name.rfind("veth", 0) == 0 || name.rfind("virbr", 0) == 0) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    const int family = i->ifa_addr->sa_family;
    if (family == AF_INET) {
      const auto* a = reinterpret_cast<const struct sockaddr_in*>(i->ifa_addr);
      if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) != nullptr) out.push_back(text);
    } else if (family == AF_INET6 && v6) {
      const auto* a = reinterpret_cast<const struct sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;  // needs a zone
      if (::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text) != nullptr) {
        out.push_back("[" + std::string(text) + "]");
      }
    }
  }
  ::freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void PrintBanner(const UiServer& server, std::ostream& out) {
  out << "listening on " << server.url() << '\n';
  // Every address of this machine: 0.0.0.0 is not one another tablet can
  // open; the machine's addresses on the hall's network are.
  if (server.host() == "0.0.0.0" || server.host() == "::") {
    const std::vector<std::string> here = NetworkAddresses(server.host() == "::");
    if (here.empty()) {
      out << "other devices: this machine has no network address yet (join the "
             "hall's Wi-Fi or hotspot first)\n";
    }
    for (const std::string& a : here) {
      out << "other devices open: http://" << a << ":" << server.port() << '\n';
    }
  }
  if (server.pin_required()) {
    out << "PIN: " << server.pin()
        << "  (other devices must enter it; share it only with the people "
           "at this workshop)\n";
  }
  out.flush();
}

Status RunUi(ClientStore& store, const UiOptions& opts) {
  Result<std::unique_ptr<UiServer>> server = UiServer::Bind(store, opts);
  if (!server.ok()) return server.status();
  PrintBanner(**server, opts.out != nullptr ? *opts.out : std::cout);
  return (*server)->Serve();
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8, as four decimal octets.
  if (!StartsWith(host, "127.")) return false;
  int parts = 0;
  size_t pos = 0;
  while (pos <= host.size()) {
    size_t end = host.find('.', pos);
    if (end == std::string::npos) end = host.size();
    const std::string part = host.substr(pos, end - pos);
    if (part.size() > 3 || !ParseUint64(part, 255)) {
      return false;
    }
    ++parts;
    pos = end + 1;
  }
  return parts == 4;
}

Status ParseListenAddress(const std::string& text, std::string* host,
                          int* port) {
  auto refuse = [&text]() {
    return Status::InvalidArgument(
        "--listen needs HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 "
        "(got '" +
        text + "')");
  };
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return refuse();
    }
    *host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else if (text.find(':') == std::string::npos) {
    *host = "127.0.0.1";
    port_text = text;
  } else {
    const size_t colon = text.rfind(':');
    *host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host->find(':') != std::string::npos) return refuse();  // bare IPv6
  }
  const std::optional<uint64_t> port_number =
      port_text.size() > 5 ? std::nullopt : ParseUint64(port_text);
  if (host->empty() || !port_number) return refuse();
  for (char c : *host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':';
    if (!ok) return refuse();
  }
  *port = static_cast<int>(*port_number);
  if (*port > 65535) {
    return Status::InvalidArgument(
        "--listen port must be from 0 to 65535 (got " + port_text + ")");
  }
  return Status();
}

}  // namespace kbo::client::ui
