#include "server/http_api.h"

#include <errno.h>
#include <fcntl.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "server/app_files.h"
#include "server/blob_service.h"
#include "server/photo_downloads.h"
#include "server/thumbnails.h"
#include "server/console/console.h"
#include "server/enrolment.h"
#include "server/http_params.h"
#include "server/log.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "server/reports.h"
#include "server/request_auth.h"
#include "shared/compression.h"
#include "shared/edge_guard.h"
#include "shared/encoding.h"
#include "shared/error_body.h"
#include "shared/protocol.h"
#include "shared/wire.h"

// The only file of kbo-server that includes <httplib.h> (tools/check-layering).
// It maps routes to services and Status to HTTP; it decides nothing else.

namespace kbo::server {
namespace {

using nlohmann::json;

constexpr const char* kJson = "application/json; charset=utf-8";
// A slow rural link may pause for a while mid-chunk; an idle socket beyond
// this is dropped so it cannot hold a worker thread.
constexpr time_t kReadTimeoutSec = 30;
constexpr time_t kWriteTimeoutSec = 30;

// The network edge (shared/edge_guard.h, docs/decisions.md "The network
// edge"). A device sends a handful of small headers and one connection at a
// time; a hall or a carrier NAT may put dozens of devices behind one
// address, hence 32 by default (serve --connections-per-address: behind a
// reverse proxy every device shares the proxy's address). 256 threads, and
// once half are taken an address over its fair share is refused, so a new
// address always finds a place; an idle server shrinks back to none. A body
// must arrive at 2 KiB/s on average after 30 s: a 1 MiB photo chunk may
// take 9 minutes, a 16 MiB push 2.3 hours, a drip is cut after ~30 s.
constexpr size_t kMaxWorkers = 256;
edge::EdgeLimits ServerEdgeLimits(const ServeOptions& options) {
  edge::EdgeLimits limits;
  limits.max_head_bytes = 32 * 1024;
  limits.max_headers = 64;
  limits.head_deadline = std::chrono::seconds(10);
  limits.keep_alive = std::chrono::seconds(5);
  limits.io_timeout = std::chrono::seconds(kReadTimeoutSec);
  limits.max_body_bytes = protocol::kMaxPushBytes;
  limits.per_address = options.connections_per_address;
  limits.body_grace = std::chrono::seconds(30);
  limits.body_min_rate = 2048;
  limits.pool = kMaxWorkers;
  return limits;
}
// A console form or API write: a few fields, never a file.
constexpr size_t kMaxConsoleBodyBytes = size_t{1} << 20;

// Enrolment attempts per source address: a token is 256 random bits, so
// this is about log noise and CPU, not guessing; a hall of 40 devices
// enrolling at once stays within it.
constexpr int kEnrolBurst = 60;
constexpr auto kEnrolRefill = std::chrono::seconds(1);

// ---- Status -> HTTP ---------------------------------------------------------

void WriteJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

// The error body (shared/error_body.h) of `s`: its reason, message and
// fields. A 5xx never carries internals: they go to the log.
void WriteError(const httplib::Request& req, httplib::Response& res,
                const Status& s) {
  res.status = HttpStatusOfError(s);
  if (s.reason() == kBusyReason) {
    // Back-pressure, not a fault: the device is told to come back, and
    // when (the Api puts its estimate in the status; 5 s if it did not).
    const int64_t* wait_s = s.IntegerField(field::kRetryAfterS);
    res.set_header("Retry-After", std::to_string(wait_s != nullptr ? *wait_s : 5));
    res.set_content(EncodeErrorBody(s), kJson);
    return;
  }
  if (s.reason() == "disk_full") {
    // The disk is nearly full (BlobService::CheckDiskRoom): said as it is,
    // logged there every 10 minutes, not per chunk. No Retry-After: a
    // device would wait minutes inside its sync for it; it keeps the photo
    // for a later sync instead.
    res.set_content(EncodeErrorBody(s), kJson);
    return;
  }
  if (s.reason() == "storage_full") {
    // The database could not write (a full disk, Db's storage_full): the
    // same answer as disk_full, so the device says what is wrong rather
    // than "could not complete"; logged per request (records are refused,
    // which the office must hear of).
    LogLine("error " + req.method + " " + req.path + ": " + s.ToString() +
            " (the server's disk is full: free space on it)");
    res.status = 503;
    res.set_content(
        EncodeErrorBody(Status::Unavailable(
                            "the server's disk is full, so it took nothing of this "
                            "request; everything stays on this device and is sent at a "
                            "later sync (the office must free space on the server)")
                            .WithReason("disk_full")),
        kJson);
    return;
  }
  if (res.status >= 500) {
    LogLine("error " + req.method + " " + req.path + ": " + s.ToString());
    // Unavailable: its database is down or restarting (said so: not a
    // fault of this request, nor of the server's code).
    res.set_content(
        EncodeErrorBody(s.code() == Code::kUnavailable
                            ? Status::Unavailable(
                                  "the server cannot reach its database just now; it "
                                  "has been logged. Nothing was half-applied; try again "
                                  "in a minute.")
                            : Status::Internal(
                                  "the server could not complete this request; it has "
                                  "been logged. Nothing was half-applied; try again "
                                  "later.")),
        kJson);
    return;
  }
  res.set_content(EncodeErrorBody(s), kJson);
}

// A query number (server/http_params.h): `fallback` when absent; false if
// repeated or not a strict decimal from 0 to INT64_MAX.
bool ParamU64(const httplib::Request& req, const char* name, uint64_t fallback,
              uint64_t* out) {
  const size_t count = req.get_param_value_count(name);
  return QueryU64(count, count > 0 ? req.get_param_value(name) : "", fallback,
                  out);
}

// A token bucket per source address (enrolment attempts). Thread-safe.
class AddressRate {
 public:
  AddressRate(int burst, std::chrono::steady_clock::duration refill)
      : burst_(burst), refill_(refill) {}
  // True and counted if `address` has an attempt left.
  bool Take(const std::string& address) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    if (buckets_.size() > 10000) Prune(now);
    Bucket& b = buckets_.try_emplace(address, Bucket{burst_, now}).first->second;
    const auto earned = (now - b.at) / refill_;
    if (earned > 0) {
      b.tokens = static_cast<int>(
          std::min<int64_t>(burst_, b.tokens + static_cast<int64_t>(earned)));
      b.at += earned * refill_;
    }
    if (b.tokens <= 0) return false;
    --b.tokens;
    return true;
  }

 private:
  struct Bucket {
    int tokens;
    std::chrono::steady_clock::time_point at;
  };
  // Drops full buckets (they hold nothing a fresh one would not).
  void Prune(std::chrono::steady_clock::time_point now) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      if ((now - it->second.at) / refill_ + it->second.tokens >= burst_) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  const int burst_;
  const std::chrono::steady_clock::duration refill_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

// ---- Request log

thread_local std::chrono::steady_clock::time_point t_request_start;

void LogRequest(const httplib::Request& req, const httplib::Response& res) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t_request_start)
                      .count();
  std::string device = req.get_header_value(protocol::kDeviceHeader);
  if (device.size() > 36) device.resize(36);
  LogLine(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
          std::to_string(ms) + "ms" + (device.empty() ? "" : " " + device));
  t_request_start = std::chrono::steady_clock::now();
}

// ---- Back-pressure

// How long the device requests of this process wait for the store, and
// when a refused one should come back. One per Api. Thread-safe.
//
// Each device request takes its turn at the store (the one connection) for
// at most `max_wait`; on PostgreSQL the writer lock shared by every server
// is then waited for at most what is left. Past it the request is refused
// with 503 "busy" and Retry-After: the queue ahead (requests waiting here
// times the recent turn length), so a crowd of devices spreads out instead
// of timing out on their 30 s read timeout while the server still works
// for them.
class TurnQueue {
 public:
  explicit TurnQueue(std::chrono::milliseconds max_wait) : max_wait_(max_wait) {}
  std::chrono::milliseconds max_wait() const { return max_wait_; }
  void Arrive() { ++waiting_; }
  void Leave() { --waiting_; }
  // A turn of `us` microseconds ended (moving average over ~16 turns).
  void Served(int64_t us) {
    const int64_t avg = avg_turn_us_.load(std::memory_order_relaxed);
    avg_turn_us_.store(avg + (us - avg) / 16, std::memory_order_relaxed);
  }
  // Seconds a refused request should wait: the queue ahead, 1 to
  // protocol::kMaxRetryAfterS.
  int64_t RetryAfterSeconds() const {
    const int64_t ahead = waiting_.load(std::memory_order_relaxed) + 1;
    const int64_t us = ahead * avg_turn_us_.load(std::memory_order_relaxed);
    return std::clamp<int64_t>((us + 999'999) / 1'000'000, 1,
                               protocol::kMaxRetryAfterS);
  }
  // The busy refusal, with the Retry-After estimate.
  Status Busy() const {
    const int64_t wait_s = RetryAfterSeconds();
    return Status::Unavailable(
               "the server is busy merging other devices' changes and could "
               "not take this request in time; nothing was stored. Try again "
               "in " +
               std::to_string(wait_s) + " s")
        .WithReason(kBusyReason)
        .With(field::kRetryAfterS, wait_s);
  }
  // `s`, or Busy() if `s` is a busy refusal (the database's own words about
  // its lock are for no device).
  Status Estimated(Status s) const {
    return s.reason() == kBusyReason ? Busy() : s;
  }

 private:
  const std::chrono::milliseconds max_wait_;
  std::atomic<int64_t> waiting_{0};
  std::atomic<int64_t> avg_turn_us_{50'000};
};

// A device request's turn at the store: the store lock, and the database's
// write wait bounded by what is left of the request's (restored before the
// lock is let go: members end in reverse order).
class DeviceTurn {
 public:
  DeviceTurn(std::unique_lock<std::timed_mutex> lock, Db& db,
             std::chrono::milliseconds left, TurnQueue& queue)
      : queue_(queue),
        lock_(std::move(lock)),
        wait_(db, std::max<int64_t>(left.count(), 1)),
        start_(std::chrono::steady_clock::now()) {}
  ~DeviceTurn() {
    queue_.Served(std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start_)
                      .count());
  }
  DeviceTurn(const DeviceTurn&) = delete;
  DeviceTurn& operator=(const DeviceTurn&) = delete;

 private:
  TurnQueue& queue_;
  std::unique_lock<std::timed_mutex> lock_;
  WriteWaitScope wait_;
  std::chrono::steady_clock::time_point start_;
};

// ---- Routes

class Api {
 public:
  Api(ServerStore& store, bool tls, std::chrono::milliseconds max_write_wait,
      bool zstd, std::string app_dir, bool behind_proxy, uint64_t min_free_bytes)
      : store_(store),
        tls_(tls),
        behind_proxy_(behind_proxy),
        zstd_(zstd),
        app_dir_(std::move(app_dir)),
        turns_(max_write_wait),
        console_(store),
        enrolment_(store),
        auth_(store),
        push_(store),
        pull_(store),
        blobs_(store),
        enrol_rate_(kEnrolBurst, kEnrolRefill) {
    blobs_.set_min_free_bytes(min_free_bytes);
  }

  void Install(httplib::Server& svr) {
    svr.set_payload_max_length(protocol::kMaxPushBytes);
    // Answers go out at once, not after the client's delayed ACK (Nagle).
    svr.set_tcp_nodelay(true);
    svr.set_read_timeout(kReadTimeoutSec, 0);
    svr.set_write_timeout(kWriteTimeoutSec, 0);
    svr.set_pre_routing_handler(
        [](const httplib::Request&, httplib::Response&) {
          t_request_start = std::chrono::steady_clock::now();
          return httplib::Server::HandlerResponse::Unhandled;
        });
    // Logged as the answer is about to go out (httplib calls the post-
    // routing handler before it writes the status line; its logger runs
    // after the write): a client holding its answer knows the request's
    // line is in the log, so what a sync did can be read from the log at
    // once (tests compare the log before and after a command).
    svr.set_post_routing_handler(LogRequest);
    // Without this, 0.11.4 puts e.what() in a response header.
    svr.set_exception_handler([](const httplib::Request& req,
                                 httplib::Response& res,
                                 std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      res.headers.clear();
      WriteError(req, res, Status::Internal("exception: " + what));
    });
    // Errors httplib produces itself (no route, body too large, bad request)
    // get a JSON body too; ours already have one.
    svr.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty())
            return httplib::Server::HandlerResponse::Unhandled;
          std::string error = "bad_request";
          std::string message = "the request could not be understood";
          if (res.status == 404) {
            error = "not_found";
            message = "no such endpoint";
          } else if (res.status == 413) {
            error = "too_large";
            // Not always the push limit: httplib also refuses a form body
            // over its own limit (8 KiB) before any route sees it.
            message = "the request body is larger than this server accepts for " +
                      (req.path.size() <= 100 ? req.path : std::string("this path"));
          } else if (res.status == 405) {
            error = "method_not_allowed";
            message = "this endpoint does not take that method";
          } else if (res.status >= 500) {
            error = "internal";
            message = "the server could not complete this request";
          } else if (res.status == 400) {
            // The body ended short of its length: the connection was cut
            // (or half-closed by the network) while it came. Said apart
            // from a malformed request, so the device sends it again.
            const std::optional<uint64_t> length =
                ParseUint64(req.get_header_value("Content-Length"));
            if (length.has_value() && req.body.size() < *length) {
              error = protocol::kIncompleteBodyReason;
              message = "the request's body ended after " + std::to_string(req.body.size()) +
                        " of its " + std::to_string(*length) +
                        " bytes (the connection was cut?); nothing of it was used";
            }
          }
          res.set_content(EncodeErrorBody(error, message, res.status), kJson);
          return httplib::Server::HandlerResponse::Handled;
        }));

    svr.Get(std::string(protocol::kHealthPath), [](const httplib::Request&,
                                                   httplib::Response& res) {
      WriteJson(res, 200, {{"ok", true}, {"protocol", protocol::kVersion}});
    });
    svr.Post(std::string(protocol::kEnrollPath),
             [this](const httplib::Request& req, httplib::Response& res) {
               Enroll(req, res);
             });
    svr.Post(std::string(protocol::kPushPath),
             [this](const httplib::Request& req, httplib::Response& res) {
               Push(req, res);
             });
    svr.Get(std::string(protocol::kPullPath),
            [this](const httplib::Request& req, httplib::Response& res) {
              Pull(req, res);
            });
    svr.Get(std::string(protocol::kConflictsPath),
            [this](const httplib::Request& req, httplib::Response& res) {
              ConflictFeed(req, res);
            });
    // Registered before the blob pattern: the first match wins.
    svr.Get(std::string(protocol::kBlobsMissingPath),
            [this](const httplib::Request& req, httplib::Response& res) {
              MissingBlobs(req, res);
            });
    const std::string blob_pattern =
        std::string(protocol::kBlobPathPrefix) + "([^/]+)";
    svr.Get(blob_pattern,
            [this](const httplib::Request& req, httplib::Response& res) {
              BlobStateOf(req, res);
            });
    svr.Put(blob_pattern,
            [this](const httplib::Request& req, httplib::Response& res) {
              PutBlobChunk(req, res);
            });
    // Originals on request (docs/protocol.md §8).
    svr.Post(std::string(protocol::kOriginalsPath),
             [this](const httplib::Request& req, httplib::Response& res) {
               AnnounceOriginal(req, res);
             });
    svr.Get(std::string(protocol::kOriginalsPath),
            [this](const httplib::Request& req, httplib::Response& res) {
              RequestedOriginals(req, res);
            });
    // Photos coming down to devices (docs/protocol.md §8).
    svr.Get(std::string(protocol::kThumbPathPrefix) + "([^/]+)",
            [this](const httplib::Request& req, httplib::Response& res) {
              PhotoThumb(req, res);
            });
    svr.Get(std::string(protocol::kOriginalPathPrefix) + "([^/]+)",
            [this](const httplib::Request& req, httplib::Response& res) {
              PhotoOriginal(req, res);
            });
    svr.Post(std::string(protocol::kThumbsPath),
             [this](const httplib::Request& req, httplib::Response& res) {
               PhotoThumbs(req, res);
             });
    // The phone app's files (server/app_files.h, docs/phone-app.md "Served
    // by kbo-server"): before the console's catch-all, so /app never
    // reaches the console (Console::Owns says so too). GET and HEAD only;
    // another method under /app/ finds no route (404).
    svr.Get("/app", [](const httplib::Request&, httplib::Response& res) {
      SetAppHeaders(res);
      res.status = 301;
      res.set_header("Location", "/app/");
    });
    svr.Get("/app/(.*)",
            [this](const httplib::Request& req, httplib::Response& res) {
              AppFileAnswer(req, res);
            });
    // Everything else outside /v1/ is the office console (server/console):
    // its own sign-in, roles and CSRF checks. Registered last: the
    // protocol's and the app's routes match first.
    const auto console = [this](const httplib::Request& req,
                                httplib::Response& res) { Console(req, res); };
    svr.Get("/.*", console);
    svr.Post("/.*", console);
  }

 private:
  // Verifies the request signature; on refusal writes the error and returns
  // nullopt. Call with the store lock held.
  std::optional<DeviceRecord> Authenticate(const httplib::Request& req,
                                           httplib::Response& res) {
    const std::string device = req.get_header_value(protocol::kDeviceHeader);
    const std::string time = req.get_header_value(protocol::kTimeHeader);
    const std::string nonce = req.get_header_value(protocol::kNonceHeader);
    const std::string signature =
        req.get_header_value(protocol::kSignatureHeader);
    const std::string clock_adjust = req.get_header_value(protocol::kClockAdjustHeader);
    SignedRequest signed_request{req.method, req.target, device,   time,
                                 nonce,      signature,  req.body, clock_adjust};
    Result<DeviceRecord> d = auth_.Authenticate(signed_request);
    if (!d.ok()) {
      Answer(req, res, d.status());
      return std::nullopt;
    }
    return std::move(d).value();
  }

  void Enroll(const httplib::Request& req, httplib::Response& res) {
    if (!enrol_rate_.Take(ClientAddress(req))) {
      res.set_header("Retry-After", "1");
      res.status = 429;
      return res.set_content(
          EncodeErrorBody("too_many_attempts",
                          "too many enrolment attempts from this address; "
                          "wait a few seconds and try again",
                          429),
          kJson);
    }
    if (req.body.size() > protocol::kMaxJsonBytes) {
      return Answer(
          req, res,
          Status::ResourceExhausted("the enrolment request is too large"));
    }
    Result<EnrollRequest> parsed = wire::ParseEnrollRequest(req.body);
    if (!parsed.ok()) return Answer(req, res, parsed.status());
    std::lock_guard<std::timed_mutex> lock(store_.mutex());
    if (Status s = store_.CheckStillOurs(); !s.ok()) return Answer(req, res, s);
    Result<EnrollReply> reply = enrolment_.Enroll(*parsed);
    if (!reply.ok()) return Answer(req, res, reply.status());
    res.status = 200;
    SayEncodings(res);
    res.set_content(EnrollReplyJson(*reply), kJson);
  }

  void Push(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    // Decoded only after the request's signature (over the bytes as sent)
    // verified: nobody but an enrolled device makes this server inflate.
    std::string inflated;
    std::string_view body = req.body;
    if (!PushBodyOf(req, res, &inflated, &body)) return;
    Result<PushResult> r = push_.Push(*device, body);
    if (!r.ok()) return Answer(req, res, r.status());
    res.status = 200;
    SayEncodings(res);
    res.set_content(r->response_json, kJson);
  }

  // Says this server takes zstd bodies (RFC 7694: Accept-Encoding on an
  // answer names the codings a request may use), on the answers a device
  // learns it from: enrolment, push and pull.
  void SayEncodings(httplib::Response& res) const {
    if (zstd_) {
      res.set_header(protocol::kAcceptEncodingHeader,
                     std::string(compression::kZstd));
    }
  }

  // The push body as the device signed it (signature + change set): the
  // request's body, or its zstd frame decoded within kMaxPushBytes. On
  // refusal writes it (415 unknown coding or zstd turned off, 413 over the
  // cap, 400 a damaged frame) and returns false; nothing is stored.
  bool PushBodyOf(const httplib::Request& req, httplib::Response& res,
                  std::string* inflated, std::string_view* body) {
    const std::string coding =
        req.get_header_value(protocol::kContentEncodingHeader);
    if (compression::IsIdentityCoding(coding)) return true;
    if (!zstd_ || !compression::IsZstdCoding(coding)) {
      res.status = 415;
      res.set_content(
          EncodeErrorBody("unsupported_encoding",
                          zstd_ ? "this server takes push bodies plain or as "
                                  "zstd (Content-Encoding: zstd)"
                                : "this server takes push bodies plain only",
                          415),
          kJson);
      return false;
    }
    Result<std::string> plain = compression::ZstdDecompress(
        req.body, protocol::kMaxPushBytes, "the push body");
    if (!plain.ok()) {
      WriteError(req, res, plain.status());
      return false;
    }
    *inflated = std::move(plain).value();
    *body = *inflated;
    return true;
  }

  void Pull(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    uint64_t after = 0, limit = 0;
    if (!ParamU64(req, "after", 0, &after) ||
        !ParamU64(req, "limit", 0, &limit)) {
      return Answer(
          req, res,
          Status::InvalidArgument("after and limit must be whole numbers"));
    }
    std::optional<uint64_t> since;
    if (req.has_param("since")) {
      uint64_t s = 0;
      if (!ParamU64(req, "since", 0, &s)) {
        return Answer(req, res,
                      Status::InvalidArgument("since must be a whole number"));
      }
      since = s;
    }
    // left=1: a client that takes departure markers (docs/protocol.md §6);
    // 0 or 1, once, like the numbers above.
    uint64_t left = 0;
    if (!ParamU64(req, "left", 0, &left) || left > 1) {
      return Answer(req, res, Status::InvalidArgument("left must be 0 or 1"));
    }
    const bool departures = left == 1;
    Result<PullPage> page = pull_.Pull(
        *device, after, static_cast<int>(std::min<uint64_t>(limit, 1u << 30)),
        since, departures);
    if (!page.ok()) return Answer(req, res, page.status());
    res.status = 200;
    if (since.has_value()) {
      res.set_header(protocol::kPullSinceHeader, std::to_string(*since));
    }
    res.set_header(protocol::kNextCursorHeader,
                   std::to_string(page->next_cursor));
    res.set_header(protocol::kMoreHeader, page->more ? "1" : "0");
    res.set_header(protocol::kDeviceLastSeqHeader, std::to_string(device->last_seq));
    res.set_header(protocol::kDeviceDistrictsHeader, page->districts);
    if (page->departures) res.set_header(protocol::kDeparturesHeader, "1");
    res.set_header(protocol::kSignatureHeader, page->signature_hex);
    if (page->seq_epoch != 0) {
      res.set_header(protocol::kSeqEpochHeader, std::to_string(page->seq_epoch));
    }
    if (!page->more) {
      // The office's requests for this device's originals: said on the
      // last page, so a device hears of them without a request of its own.
      // A hint: a failure to count them leaves it out, never the page.
      Result<std::vector<std::string>> asked = blobs_.RequestedOriginals(*device);
      if (asked.ok() && !asked->empty()) {
        res.set_header(protocol::kOriginalsRequestedHeader,
                       std::to_string(asked->size()));
      }
      // Whether the device's newest photo the server took is still here
      // (protocol.h): only for one its districts' photos name; a hint, so
      // a failure leaves it out.
      if (const std::string last = req.get_header_value(protocol::kLastUploadHeader);
          !last.empty()) {
        Result<BlobState> held = blobs_.StateFor(*device, last);
        if (held.ok()) {
          res.set_header(protocol::kLastUploadHeldHeader, held->complete ? "1" : "0");
        }
      }
    }
    SayEncodings(res);
    // The signature is over the page as built; a zstd page is the same
    // bytes in a frame, decoded by the device before it checks them.
    if (zstd_ && !page->body.empty() &&
        compression::AcceptsZstd(
            req.get_header_value(protocol::kAcceptEncodingHeader))) {
      std::string packed = compression::ZstdCompress(page->body);
      res.set_header("Vary", protocol::kAcceptEncodingHeader);
      if (!packed.empty() && packed.size() < page->body.size()) {
        res.set_header(protocol::kContentEncodingHeader,
                       std::string(compression::kZstd));
        return res.set_content(std::move(packed), "application/octet-stream");
      }
    }
    res.set_content(page->body, "application/octet-stream");
  }

  void ConflictFeed(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    uint64_t after = 0, limit = 0;
    if (!ParamU64(req, "after", 0, &after) ||
        !ParamU64(req, "limit", 0, &limit)) {
      return Answer(
          req, res,
          Status::InvalidArgument("after and limit must be whole numbers"));
    }
    // restart=1: a client that goes back when told (PullService).
    uint64_t restart = 0;
    if (!ParamU64(req, "restart", 0, &restart) || restart > 1) {
      return Answer(req, res, Status::InvalidArgument("restart must be 0 or 1"));
    }
    Result<ConflictsPage> page = pull_.ConflictsAfter(
        *device, after, static_cast<int>(std::min<uint64_t>(limit, 1u << 30)),
        restart == 1);
    if (!page.ok()) return Answer(req, res, page.status());
    res.status = 200;
    res.set_header(protocol::kSignatureHeader, page->signature_hex);
    res.set_content(page->body, kJson);
  }

  void MissingBlobs(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    Result<std::vector<std::string>> missing = blobs_.Missing(*device);
    if (!missing.ok()) return Answer(req, res, missing.status());
    res.status = 200;
    res.set_content(wire::EncodeMissingBlobs(*missing), kJson);
  }

  void AnnounceOriginal(const httplib::Request& req, httplib::Response& res) {
    if (req.body.size() > protocol::kMaxJsonBytes) {
      return Answer(req, res,
                    Status::ResourceExhausted("the original's notice is too large"));
    }
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    Result<wire::OriginalNotice> notice = wire::ParseOriginalNotice(req.body);
    if (!notice.ok()) return Answer(req, res, notice.status());
    Result<std::optional<BlobState>> state = blobs_.AnnounceOriginal(*device, *notice);
    if (!state.ok()) return Answer(req, res, state.status());
    res.status = 200;
    if (!state->has_value()) return res.set_content("{\"declined\":true}", kJson);
    res.set_content(wire::EncodeBlobState(**state), kJson);
  }

  void RequestedOriginals(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    Result<std::vector<std::string>> asked = blobs_.RequestedOriginals(*device);
    if (!asked.ok()) return Answer(req, res, asked.status());
    std::vector<Uuid> ids;
    for (const std::string& id : *asked) {
      if (Result<Uuid> u = Uuid::Parse(id); u.ok()) ids.push_back(*u);
    }
    res.status = 200;
    res.set_content(wire::EncodeOriginalRequests(ids), kJson);
  }

  void BlobStateOf(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    Result<BlobState> state = blobs_.StateFor(*device, req.matches[1].str());
    if (!state.ok()) return Answer(req, res, state.status());
    res.status = 200;
    res.set_content(wire::EncodeBlobState(*state), kJson);
  }

  void PutBlobChunk(const httplib::Request& req, httplib::Response& res) {
    std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
    if (!turn) return;
    std::optional<DeviceRecord> device = Authenticate(req, res);
    if (!device) return;
    uint64_t offset = 0, total = 0;
    if (!req.has_param("offset") || !req.has_param("total") ||
        !ParamU64(req, "offset", 0, &offset) ||
        !ParamU64(req, "total", 0, &total)) {
      return Answer(
          req, res,
          Status::InvalidArgument(
              "a chunk needs ?offset=O&total=T as whole numbers"));
    }
    if (!req.has_header(protocol::kChunkHashHeader)) {
      return Answer(
          req, res,
          Status::InvalidArgument(std::string("a chunk needs the ") +
                                  protocol::kChunkHashHeader + " header")
              .WithReason("bad_chunk"));
    }
    Result<BlobState> state = blobs_.PutChunkFor(
        *device, req.matches[1].str(), offset, total,
        req.get_header_value(protocol::kChunkHashHeader), req.body);
    if (!state.ok()) return Answer(req, res, state.status());
    res.status = 200;
    res.set_content(wire::EncodeBlobState(*state), kJson);
  }

  // GET /v1/thumbs/<sha256>: scope checked under the store lock, the
  // thumbnail made (once; then cached) after releasing it, so a decode never
  // holds up another device's sync (server/thumbnails.h).
  void PhotoThumb(const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.matches[1].str();
    {
      std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
      if (!turn) return;
      std::optional<DeviceRecord> device = Authenticate(req, res);
      if (!device) return;
      Status s = AuthorizePhotoDownload(blobs_, *device, sha);
      if (!s.ok()) return Answer(req, res, s);
    }
    Result<std::string> jpeg = ThumbnailCache(store_.paths().blobs).Get(sha);
    if (!jpeg.ok()) return Answer(req, res, jpeg.status());
    res.status = 200;
    res.set_content(*jpeg, "image/jpeg");
  }

  // POST /v1/thumbs {"sha256":[...]}: several thumbnails in one round trip
  // (docs/protocol.md §8). Every photo's scope is checked under the store
  // lock, as GET /v1/thumbs/<sha256> checks one; the thumbnails are read
  // or made after releasing it, in order, until the answer holds
  // kThumbsAnswerBytes (the first always goes): the rest are "later".
  void PhotoThumbs(const httplib::Request& req, httplib::Response& res) {
    if (req.body.size() > protocol::kMaxJsonBytes) {
      return Answer(req, res,
                    Status::ResourceExhausted("the thumbnails request is too large"));
    }
    std::vector<std::string> asked;
    std::vector<bool> here;
    {
      std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
      if (!turn) return;
      std::optional<DeviceRecord> device = Authenticate(req, res);
      if (!device) return;
      Result<std::vector<std::string>> parsed = wire::ParseThumbsRequest(req.body);
      if (!parsed.ok()) return Answer(req, res, parsed.status());
      asked = std::move(*parsed);
      here.reserve(asked.size());
      for (const std::string& sha : asked) {
        Status s = AuthorizePhotoDownload(blobs_, *device, sha);
        if (!s.ok() && s.code() != Code::kNotFound) return Answer(req, res, s);
        here.push_back(s.ok());
      }
    }
    ThumbnailCache cache(store_.paths().blobs);
    std::vector<wire::ThumbAnswer> answers(asked.size());
    size_t bytes = 0;
    bool full = false;
    for (size_t i = 0; i < asked.size(); ++i) {
      wire::ThumbAnswer& a = answers[i];
      if (!here[i]) {
        a.state = wire::ThumbState::kNotHere;
        continue;
      }
      if (full) continue;  // kLater
      Result<std::string> jpeg = cache.Get(asked[i]);
      if (jpeg.ok() && jpeg->size() > protocol::kMaxThumbBytes) {
        a.state = wire::ThumbState::kNone;  // more than a device accepts
      } else if (jpeg.ok()) {
        if (bytes > 0 && bytes + jpeg->size() > protocol::kThumbsAnswerBytes) {
          full = true;
          continue;
        }
        bytes += jpeg->size();
        a.state = wire::ThumbState::kThumb;
        a.jpeg = std::move(*jpeg);
      } else if (jpeg.status().reason() == "not_uploaded") {
        a.state = wire::ThumbState::kNotUploaded;
      } else if (jpeg.status().reason() == "no_thumbnail" ||
                 jpeg.status().reason() == "too_large") {
        a.state = wire::ThumbState::kNone;
      }
      // Anything else (the server's disk): kLater, asked again next time.
    }
    res.status = 200;
    res.set_content(wire::EncodeThumbs(answers), protocol::kThumbsMime);
  }

  // GET /v1/originals/<sha256>?offset=O: one chunk of the photo.
  void PhotoOriginal(const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.matches[1].str();
    uint64_t offset = 0;
    {
      std::unique_ptr<DeviceTurn> turn = TakeTurn(req, res);
      if (!turn) return;
      std::optional<DeviceRecord> device = Authenticate(req, res);
      if (!device) return;
      if (!ParamU64(req, "offset", 0, &offset)) {
        return Answer(req, res,
                          Status::InvalidArgument(
                              "offset must be a whole number of bytes"));
      }
      Status s = AuthorizePhotoDownload(blobs_, *device, sha);
      if (!s.ok()) return Answer(req, res, s);
    }
    Result<OriginalChunk> chunk =
        ReadOriginalChunk(store_.paths().blobs, sha, offset);
    if (!chunk.ok()) return Answer(req, res, chunk.status());
    res.status = 200;
    res.set_header(protocol::kBlobTotalHeader, std::to_string(chunk->total));
    res.set_content(chunk->bytes, "application/octet-stream");
  }

  // The headers of every /app answer: cross-origin isolated (COOP + COEP;
  // docs/phone-app.md says why), its files for this origin only,
  // never sniffed, and revalidated on each use (the service worker and the
  // browser ask again; an unchanged file costs a 304, no body).
  static void SetAppHeaders(httplib::Response& res) {
    // kbo ui's policy (client/ui/ui_server.cc), and what the app adds: its
    // worker compiles WebAssembly; a photo opened or drawn is a blob: URL;
    // the QR scan shows the camera.
    res.set_header(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
        "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Embedder-Policy", "require-corp");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-cache");
  }

  static bool AcceptsGzip(const std::string& accept) {
    size_t pos = 0;
    while (pos < accept.size()) {
      size_t end = accept.find(',', pos);
      if (end == std::string::npos) end = accept.size();
      std::string item = accept.substr(pos, end - pos);
      pos = end + 1;
      const size_t semi = item.find(';');
      std::string coding = item.substr(0, semi);
      coding.erase(0, coding.find_first_not_of(' '));
      coding.erase(coding.find_last_not_of(' ') + 1);
      if (coding != "gzip") continue;
      // "gzip;q=0" refuses it.
      if (semi != std::string::npos &&
          item.find("q=0", semi) != std::string::npos &&
          item.find_first_of("123456789", item.find("q=0", semi)) ==
              std::string::npos) {
        return false;
      }
      return true;
    }
    return false;
  }

  // `file` gzipped, from a cache of the last few (by entity tag: a new
  // version of the file is compressed once, on its first request). Null if
  // zlib fails.
  std::shared_ptr<const std::string> GzippedApp(const AppFile& file) {
    {
      std::lock_guard<std::mutex> lock(gzip_mu_);
      for (const auto& [etag, packed] : gzip_cache_) {
        if (etag == file.etag) return packed;
      }
    }
    auto packed = std::make_shared<std::string>();
    httplib::detail::gzip_compressor compressor;
    const bool ok = compressor.compress(
        file.bytes.data(), file.bytes.size(), /*last=*/true,
        [&packed](const char* data, size_t n) {
          packed->append(data, n);
          return true;
        });
    if (!ok) return nullptr;
    std::lock_guard<std::mutex> lock(gzip_mu_);
    if (gzip_cache_.size() >= 4) gzip_cache_.erase(gzip_cache_.begin());
    gzip_cache_.emplace_back(file.etag, packed);
    return packed;
  }

  // GET /app/NAME (NAME empty: index.html), read from the app folder now,
  // with a strong ETag; If-None-Match naming it: 304, no body.
  void AppFileAnswer(const httplib::Request& req, httplib::Response& res) {
    SetAppHeaders(res);
    if (app_dir_.empty()) {
      res.status = 404;
      return res.set_content(AppNotInstalledPage(),
                             "text/html; charset=utf-8");
    }
    std::string name = req.matches[1].str();
    if (name.empty()) name = "index.html";
    Result<AppFile> file = ReadAppFile(app_dir_, name);
    if (!file.ok()) {
      const Code code = file.status().code();
      if (code == Code::kResourceExhausted) LogLine(file.status().message());
      if (code == Code::kNotFound || code == Code::kResourceExhausted) {
        res.status = 404;
        return res.set_content(
            EncodeErrorBody("not_found", "no such file in the app", 404),
            kJson);
      }
      return WriteError(req, res, file.status());  // 500, logged
    }
    // httplib compresses text types for a client that accepts it; the
    // WebAssembly (most of the app's bytes) is gzipped here, once per
    // version of the file: 2.7 MB become 0.9 MB on a 3G link.
    res.set_header("Vary", "Accept-Encoding");
    const bool gzip = AppContentType(name) == "application/wasm" &&
                      AcceptsGzip(req.get_header_value("Accept-Encoding"));
    if (gzip) {
      std::shared_ptr<const std::string> packed = GzippedApp(*file);
      if (packed) {
        // Its own entity tag: another representation (RFC 9110 §8.8.3).
        file->etag.insert(file->etag.size() - 1, "-gz");
        res.set_header("ETag", file->etag);
        if (EtagMatches(req.get_header_value("If-None-Match"), file->etag)) {
          res.status = 304;
          res.set_header("Content-Length", std::to_string(packed->size()));
          return;
        }
        res.status = 200;
        res.set_header("Content-Encoding", "gzip");
        res.set_content(*packed, AppContentType(name));
        return;
      }
    }
    res.set_header("ETag", file->etag);
    if (EtagMatches(req.get_header_value("If-None-Match"), file->etag)) {
      res.status = 304;
      // What a 200 would carry (RFC 9110 §8.6), not httplib's "0".
      res.set_header("Content-Length", std::to_string(file->bytes.size()));
      return;
    }
    res.status = 200;
    res.set_content(std::move(file->bytes), AppContentType(name));
  }

  // The console's HTTP-free request from httplib's, and its reply back.
  void Console(const httplib::Request& req, httplib::Response& res) {
    if (!console::Console::Owns(req.path)) {
      return Answer(req, res, Status::NotFound("no such endpoint"));
    }
    if (req.body.size() > kMaxConsoleBodyBytes) {
      return Answer(req, res,
                        Status::ResourceExhausted("the form is too large"));
    }
    console::Request c;
    c.method = req.method;
    c.path = req.path;
    c.content_type = req.get_header_value("Content-Type");
    c.body = req.body;
    c.app_installed = !app_dir_.empty();
    const size_t q = req.target.find('?');
    if (q != std::string::npos) {
      httplib::detail::parse_query_text(req.target.substr(q + 1), c.query);
    }
    if (c.content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      httplib::detail::parse_query_text(req.body, c.form);
    }
    for (const auto& [name, file] : req.files) {
      if (file.filename.empty()) c.form.emplace(name, file.content);
    }
    // Cookie: a=1; b=2 (the first of a repeated name wins).
    const std::string cookies = req.get_header_value("Cookie");
    size_t pos = 0;
    while (pos < cookies.size()) {
      size_t end = cookies.find(';', pos);
      if (end == std::string::npos) end = cookies.size();
      std::string part = cookies.substr(pos, end - pos);
      const size_t first = part.find_first_not_of(' ');
      part = first == std::string::npos ? "" : part.substr(first);
      const size_t eq = part.find('=');
      if (eq != std::string::npos && eq > 0) {
        c.cookies.emplace(part.substr(0, eq), part.substr(eq + 1));
      }
      pos = end + 1;
    }
    c.csrf_header = req.get_header_value("X-CSRF-Token");
    c.remote_addr = req.remote_addr;
    // The console checks the Host text before printing it (enrolment QR).
    c.host = req.get_header_value("Host").substr(0, 300);
    c.local_address =
        (req.local_addr.find(':') != std::string::npos
             ? "[" + req.local_addr + "]"
             : req.local_addr) +
        ":" + std::to_string(req.local_port);
    // Secure cookies when this process speaks TLS, or when nginx on this
    // machine does (tools/deploy/nginx/kbo.conf sets X-Forwarded-Proto),
    // believed as X-Real-IP is: with serve --behind-proxy only.
    c.tls = tls_ || (FromTrustedProxy(req) &&
                     req.get_header_value("X-Forwarded-Proto") == "https");
    c.remote_addr = ClientAddress(req);
    console::Reply r = console_.Handle(c);
    res.status = r.status;
    for (const auto& [k, v] : r.headers) res.headers.emplace(k, v);
    res.set_content(std::move(r.body), r.content_type);
  }

  // The store for a device request, within the write wait (TurnQueue);
  // null, with 503 "busy" written, if it could not be had in time.
  std::unique_ptr<DeviceTurn> TakeTurn(const httplib::Request& req,
                                     httplib::Response& res) {
    const auto deadline = std::chrono::steady_clock::now() + turns_.max_wait();
    std::unique_lock<std::timed_mutex> lock(store_.mutex(), std::defer_lock);
    turns_.Arrive();
    const bool mine = lock.try_lock_until(deadline);
    turns_.Leave();
    if (!mine) {
      WriteError(req, res, turns_.Busy());
      return nullptr;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto turn = std::make_unique<DeviceTurn>(std::move(lock), store_.db(), left, turns_);
    // The database still ours, not restored under us (before the device
    // is authenticated: a revocation the restore lost is made again first).
    if (Status s = store_.CheckStillOurs(); !s.ok()) {
      Answer(req, res, s);
      return nullptr;
    }
    return turn;
  }
  // The address a request is counted as from: its TCP peer, or with
  // serve --behind-proxy and a peer on loopback (the proxy), the address
  // the proxy wrote in X-Real-IP (ServeOptions::behind_proxy).
  // A request from loopback: the proxy's, with serve --behind-proxy.
  static bool FromLoopback(const httplib::Request& req) {
    return req.remote_addr == "127.0.0.1" || req.remote_addr == "::1";
  }
  bool FromTrustedProxy(const httplib::Request& req) const {
    return behind_proxy_ && FromLoopback(req);
  }
  std::string ClientAddress(const httplib::Request& req) {
    if (!FromLoopback(req) || !req.has_header("X-Real-IP")) return req.remote_addr;
    const std::string real_ip = req.get_header_value("X-Real-IP");
    if (!FromTrustedProxy(req)) {
      if (!said_real_ip_ignored_.exchange(true)) {
        LogLine("a request from loopback carries X-Real-IP, which is ignored: if a "
                "reverse proxy on this machine sets it, start serve with --behind-proxy "
                "(until then every console sign-in counts as from " + req.remote_addr +
                ")");
      }
      return req.remote_addr;
    }
    if (real_ip.empty() || real_ip.size() > 45 ||
        real_ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
      return req.remote_addr;
    }
    return real_ip;
  }

  // WriteError, with the Retry-After estimate on a busy refusal.
  void Answer(const httplib::Request& req, httplib::Response& res,
              const Status& s) {
    WriteError(req, res, turns_.Estimated(s));
  }

  ServerStore& store_;
  const bool tls_;
  const bool behind_proxy_;
  std::atomic<bool> said_real_ip_ignored_{false};
  const bool zstd_;
  const std::string app_dir_;
  std::mutex gzip_mu_;
  std::vector<std::pair<std::string, std::shared_ptr<const std::string>>>
      gzip_cache_;
  TurnQueue turns_;
  console::Console console_;
  Enrolment enrolment_;
  RequestAuth auth_;
  PushService push_;
  PullService pull_;
  BlobService blobs_;
  AddressRate enrol_rate_;
};

// ---- The guarded edge (shared/edge_guard.h)

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

// httplib's task queue on an edge::WorkerPool (grows on demand, shrinks when
// idle).
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

// A plain-HTTP server whose connections pass the edge guard before httplib
// parses a byte: httplib then parses a head that is already complete and
// within the caps.
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

// A TLS session on a non-blocking socket, for an EdgeConnection.
class TlsTransport : public edge::Transport {
 public:
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  ssize_t Recv(int, char* ptr, size_t size) override {
    ERR_clear_error();
    const int n = SSL_read(ssl_, ptr, static_cast<int>(std::min<size_t>(
                                          size, 1 << 20)));
    return Result(n);
  }
  ssize_t Send(int, const char* ptr, size_t size) override {
    ERR_clear_error();
    const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(
                                           size, 1 << 20)));
    return Result(n);
  }
  bool Pending() const override { return SSL_pending(ssl_) > 0; }

 private:
  ssize_t Result(int n) {
    if (n > 0) return n;
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        errno = EIO;
        return -1;
    }
  }
  SSL* const ssl_;
};

// HTTPS with the same guard: httplib's SSLServer for the certificate and
// its context, our handshake (within the head deadline, so a stalled
// handshake is a stalled head) and our request loop.
class GuardedSslServer : public httplib::SSLServer {
 public:
  GuardedSslServer(edge::EdgeGuard& guard, const char* cert, const char* key)
      : httplib::SSLServer(cert, key), guard_(guard) {
    new_task_queue = [] { return new EdgePool(kMaxWorkers); };
    set_keep_alive_max_count(guard.limits().max_requests_per_connection);
    set_keep_alive_timeout(std::chrono::duration_cast<std::chrono::seconds>(
                               guard.limits().keep_alive)
                               .count());
  }

 private:
  bool process_and_close_socket(socket_t sock) override {
    guard_.Handle(
        sock,
        [this, sock] {
          SSL* ssl = SSL_new(ssl_context());
          if (ssl == nullptr) return;
          const int flags = ::fcntl(sock, F_GETFL);
          if (flags < 0 || ::fcntl(sock, F_SETFL, flags | O_NONBLOCK) != 0 ||
              SSL_set_fd(ssl, sock) != 1) {
            SSL_free(ssl);
            return;
          }
          SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
          if (Handshake(ssl, sock)) {
            TlsTransport tls(ssl);
            edge::EdgeConnection conn(sock, guard_.limits(), &tls);
            EdgeStream stream(conn);
            guard_.ServeRequests(
                conn,
                [&](bool close_connection, bool& connection_closed) {
                  return process_request(stream, close_connection,
                                         connection_closed, nullptr);
                },
                [this] { return svr_sock_ == INVALID_SOCKET; });
            ERR_clear_error();
            (void)SSL_shutdown(ssl);  // close_notify, not waited for
          }
          SSL_free(ssl);
        },
        /*answer_busy=*/false);
    return true;
  }

  // True once the TLS handshake is done; false if it failed, took longer
  // than the head deadline, or the server stops meanwhile.
  bool Handshake(SSL* ssl, int sock) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + guard_.limits().head_deadline;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl);
      if (r == 1) return true;
      const int e = SSL_get_error(ssl, r);
      const short events = e == SSL_ERROR_WANT_READ    ? POLLIN
                           : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                       : 0;
      if (events == 0) return false;
      bool ready = false;
      while (!ready) {
        if (svr_sock_ == INVALID_SOCKET || Clock::now() >= deadline)
          return false;
        ready = edge::WaitForSocket(
            sock, events,
            std::min(deadline, Clock::now() + std::chrono::milliseconds(100)));
      }
    }
  }

  edge::EdgeGuard& guard_;
};

// ---- Signals

// Self-pipe: the handler only write()s (async-signal-safe); a watcher thread
// turns the byte into svr.stop().
int g_signal_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int) {
  const int saved = errno;
  const char byte = 1;
  if (g_signal_pipe[1] >= 0) {
    ssize_t ignored = ::write(g_signal_pipe[1], &byte, 1);
    (void)ignored;
  }
  errno = saved;
}

}  // namespace

Status ParseListen(std::string_view text, ServeOptions* options) {
  const auto bad = [&] {
    return Status::InvalidArgument(
        "--listen must be HOST:PORT, e.g. 127.0.0.1:8787; got '" +
        std::string(text) + "'");
  };
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return bad();
    }
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return bad();
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad();
    p = p * 10 + (c - '0');
  }
  if (p > 65535) return bad();
  options->host = host;
  options->port = p;
  return Status();
}

Status Serve(ServerStore& store, const ServeOptions& options,
             std::ostream& ready) {
  edge::EdgeGuard guard(ServerEdgeLimits(options),
                        [](std::string_view line) { LogLine(line); });
  std::unique_ptr<httplib::Server> svr;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    if (options.tls_cert.empty() || options.tls_key.empty()) {
      return Status::InvalidArgument("TLS needs both --tls-cert and --tls-key");
    }
    svr = std::make_unique<GuardedSslServer>(guard, options.tls_cert.c_str(),
                                             options.tls_key.c_str());
  } else {
    svr = std::make_unique<GuardedServer>(guard);
  }
  if (!svr->is_valid()) {
    return Status::InvalidArgument("cannot load the TLS certificate '" +
                                   options.tls_cert + "' and key '" +
                                   options.tls_key + "'");
  }
  if (!options.app_dir.empty()) {
    if (Status s = CheckAppDir(options.app_dir); !s.ok()) return s;
  }
  Api api(store, !options.tls_cert.empty(), options.max_write_wait,
          options.zstd, options.app_dir, options.behind_proxy, options.min_free_bytes);
  api.Install(*svr);

  // cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's
  // library), so 200 devices finding a signal at once overflow the kernel's
  // accept queue and get dropped or reset. Keep the listening socket and
  // listen again with the system maximum after binding (Linux updates the
  // backlog of a listening socket).
  int listen_fd = -1;
  svr->set_socket_options([&listen_fd](socket_t sock) {
    // Not httplib's default (SO_REUSEPORT): a second server on this port
    // must fail to bind, not share the requests.
    edge::ExclusiveListenOptions(sock);
    listen_fd = sock;
  });

  int port = options.port;
  if (port == 0) {
    port = svr->bind_to_any_port(options.host);
    if (port <= 0) {
      return Status::FailedPrecondition("cannot listen on " + options.host +
                                        " (any port)");
    }
  } else if (!svr->bind_to_port(options.host, port)) {
    // kFailedPrecondition (exit 1, as kbo ui), not kUnavailable (exit 4:
    // "unreachable, try again later"): a taken port needs a person.
    return Status::FailedPrecondition(
        "cannot listen on " + options.host + ":" + std::to_string(port) +
        ": port " + std::to_string(port) +
        " is in use (another kbo-server?), or the address is not this "
        "machine's");
  }

  if (listen_fd >= 0) (void)::listen(listen_fd, SOMAXCONN);

  if (::pipe(g_signal_pipe) != 0)
    return Status::IOError("cannot create a pipe");
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{}, old_pipe{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old_pipe);

  std::atomic<bool> listen_done{false};
  std::thread watcher([&] {
    pollfd pfd{g_signal_pipe[0], POLLIN, 0};
    while (::poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
    if (listen_done.load()) return;
    LogLine("stopping: finishing requests in flight");
    // stop() before listen_after_bind() has started is a no-op: keep asking.
    while (!listen_done.load()) {
      svr->stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  ready << "listening on " << options.host << ":" << port << std::endl;
  LogLine(std::string("kbo-server listening on ") + options.host + ":" +
          std::to_string(port) + (options.tls_cert.empty() ? "" : " (TLS)") +
          ", data in " + store.paths().dir +
          (options.app_dir.empty() ? ", no phone app"
                                   : ", phone app from " + options.app_dir));
  const bool clean = svr->listen_after_bind();
  listen_done.store(true);
  {
    const char byte = 0;
    ssize_t ignored = ::write(g_signal_pipe[1], &byte, 1);  // wake the watcher
    (void)ignored;
  }
  watcher.join();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  g_signal_pipe[0] = g_signal_pipe[1] = -1;
  (void)clean;  // listen_after_bind() returns false after stop() too
  LogLine("stopped");
  return Status();
}

}  // namespace kbo::server
