#include "client/sync_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <future>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "client/blob_store.h"
#include "client/clock_repair.h"
#include "client/photo_fetch.h"
#include "shared/change_set_codec.h"
#include "shared/compression.h"
#include "shared/entities.h"
#include "shared/error_body.h"
#include "shared/replica/apply.h"
#include "shared/secrets.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

// Wire forms this file speaks (shared/protocol.h; docs/protocol.md is the
// full text). Every JSON answer is read by its one parser in shared/wire.h
// (wire::ParseEnrollReply, ParseReceiptAnswer, ParseConflictsPage,
// ParseBlobState; a pull page by wire::DecodePullPage). Every request but
// enrolment carries X-KBO-Device, -Time, -Nonce and -Signature
// (SignRequest). Answers other than 2xx are {"error": code, "message": text}
// plus, where named, a number:
//
//   POST /v1/enroll  wire::EnrollRequest -> 200 wire::EnrollReply
//   POST /v1/push    signature[64] || change set bytes
//     200 wire::ReceiptAnswer
//     409 {"error": "sequence_gap", "expected": N} | {"error":
//     "sequence_conflict"}
//   GET  /v1/pull?after=N&limit=M
//     200 encoded ChangeSet (device nil, seq 0; each cell's base = its server
//         sequence), X-KBO-Next-Cursor, X-KBO-More, X-KBO-Signature
//   GET  /v1/conflicts?after=N
//     200 wire::ConflictsPage, X-KBO-Signature over ConflictsMessage
//   GET  /v1/blobs/<sha256>
//     200 wire::BlobState   404: nothing held yet
//   PUT  /v1/blobs/<sha256>?offset=R&total=T  chunk bytes, X-KBO-Chunk-Sha256
//     200 wire::BlobState
//     409 {"error": "offset_mismatch", "received": R}
//
// Bounds on what is read from the network (all answers are read through a
// capped receiver, whatever Content-Length says):
//   JSON answers      protocol::kMaxJsonBytes (64 KiB)
//   a pull page       kMaxPageBytes (16 MiB, the push cap: a page is no more
//                     than a change set), then DecodeChangeSet's limits
//   a conflicts list  kMaxConflictsBytes (4 MiB: ~8,000 records)
//   a push receipt    kMaxReceiptBytes (4 MiB: it lists each refused row)

namespace kbo::client {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxPageBytes = protocol::kMaxPushBytes;
constexpr size_t kMaxConflictsBytes = size_t{4} << 20;
// A receipt lists every refused row of its set (a few hundred bytes each):
// a whole set of 2,000 refused rows fits well within 4 MiB.
constexpr size_t kMaxReceiptBytes = size_t{4} << 20;
// A missing-blobs list: at most wire::kMaxMissingBlobs names of 64 hex
// digits, quoted, with commas.
constexpr size_t kMaxMissingBytes = wire::kMaxMissingBlobs * 67 + 64;
// A server that keeps redirecting the push (sequence_gap) or the upload
// (offset_mismatch) is broken; stop rather than loop.
constexpr int kMaxRedirects = 3;
// Conflict list pages per sync: a guard against a server whose feed never
// ends. (Pull pages need none: each must move the cursor, VerifyPullPage.)
constexpr int kMaxConflictPages = 1000;

constexpr const char* kRetryLater = " — everything is kept; try again later";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Strict unsigned decimal (no sign, no spaces, no overflow).
bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

std::string MiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB",
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string Count(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// What a refusal says (shared/error_body.h: code, reason, message,
// fields); a body that does not parse says only its HTTP status.
Status ServerError(const HttpResponse& r) {
  Status said;
  if (!ParseErrorBody(r.body, r.status, &said).ok()) {
    said = Status::FromCode(CodeForHttpStatus(r.status), "");
  }
  return said;
}

// The Code of a refusal: the server's, except that only "sequence_gap" is a
// gap this device fills by sending what it holds; another 409 reason
// (sequence_conflict, prev_hash_mismatch, offset_mismatch, pull_restart) is a
// state it resolves otherwise.
Code CodeForServerError(const Status& said) {
  if (said.code() == Code::kSequenceGap && !said.reason().empty()) {
    return Code::kFailedPrecondition;
  }
  return said.code();
}

// The server's "expected" or "received" (shared/status.h, field::), if a
// number from 0 up.
bool ServerNumber(const Status& said, std::string_view name, uint64_t* out) {
  const int64_t* v = said.IntegerField(name);
  if (v == nullptr || *v < 0) return false;
  *out = static_cast<uint64_t>(*v);
  return true;
}

// True if the answer says the server takes zstd bodies (RFC 7694).
bool SaysZstd(const HttpResponse& answer) {
  const std::string* v = answer.Header(protocol::kAcceptEncodingHeader);
  return v != nullptr && compression::AcceptsZstd(*v);
}

// ---- The real transport
// -------------------------------------------------------

class HttplibTransport final : public HttpTransport {
 public:
  explicit HttplibTransport(const HttpTimeouts& timeouts)
      : timeouts_(timeouts) {}

  Result<HttpResponse> Send(const std::string& base_url,
                            const HttpRequest& request) override {
    // cpp-httplib and std::regex inside it may throw; nothing crosses this.
    try {
      return SendOrThrow(base_url, request);
    } catch (const std::exception& e) {
      client_.reset();
      return Status::Internal(std::string("HTTP client: ") + e.what());
    }
  }

 private:
  // cpp-httplib's error names ("Connection", "Read") for a person.
  static std::string Describe(httplib::Error error) {
    switch (error) {
      case httplib::Error::Connection:
        return "could not connect (no network, a wrong address, or the server "
               "is not running)";
      case httplib::Error::ConnectionTimeout:
        return "no answer to the connection attempt in time";
      case httplib::Error::Read:
        return "the connection broke or stalled while receiving";
      case httplib::Error::Write:
        return "the connection broke or stalled while sending";
      case httplib::Error::SSLConnection:
        return "the TLS (https) connection failed";
      case httplib::Error::SSLServerVerification:
        return "the server's TLS certificate is not trusted";
      case httplib::Error::SSLLoadingCerts:
        return "cannot load the system's TLS certificates";
      default:
        return "HTTP error: " + httplib::to_string(error);
    }
  }

  static void SplitMs(int64_t ms, time_t* sec, time_t* usec) {
    *sec = static_cast<time_t>(ms / 1000);
    *usec = static_cast<time_t>((ms % 1000) * 1000);
  }

  Result<HttpResponse> SendOrThrow(const std::string& base_url,
                                   const HttpRequest& request) {
    if (!client_ || client_url_ != base_url) {
      client_ = std::make_unique<httplib::Client>(base_url);
      if (!client_->is_valid()) {
        client_.reset();
        return Status::InvalidArgument("cannot use the server URL " + base_url);
      }
      time_t sec = 0, usec = 0;
      SplitMs(timeouts_.connect_ms, &sec, &usec);
      client_->set_connection_timeout(sec, usec);
      SplitMs(timeouts_.read_ms, &sec, &usec);
      client_->set_read_timeout(sec, usec);
      SplitMs(timeouts_.write_ms, &sec, &usec);
      client_->set_write_timeout(sec, usec);
      client_->set_keep_alive(true);
      // Without it, the last segment of a request waits for the server's
      // delayed ACK (Nagle): up to 40 ms per request, 28 ms measured.
      client_->set_tcp_nodelay(true);
      client_->set_follow_location(false);
      client_url_ = base_url;
    }
    httplib::Request req;
    req.method = request.method;
    req.path = request.path;
    req.body = request.body;
    for (const auto& [name, value] : request.headers)
      req.headers.emplace(name, value);
    if (!request.content_type.empty()) {
      req.headers.emplace("Content-Type", request.content_type);
    }
    HttpResponse out;
    bool too_large = false;
    const size_t cap = request.max_response_bytes;
    req.content_receiver = [&out, &too_large, cap](const char* data, size_t n,
                                                   uint64_t, uint64_t) {
      if (n > cap - out.body.size()) {
        too_large = true;
        return false;
      }
      out.body.append(data, n);
      return true;
    };
    httplib::Result res = client_->send(req);
    if (too_large) {
      client_.reset();
      return Status::ResourceExhausted("the answer to " + request.method + " " +
                                       request.path + " is larger than " +
                                       std::to_string(cap) + " bytes");
    }
    if (!res) {
      // A failed exchange may leave a half-used keep-alive socket: start over.
      client_.reset();
      return Status::Unavailable(Describe(res.error()));
    }
    out.status = res->status;
    for (const auto& [name, value] : res->headers)
      out.headers[Lower(name)] = value;
    return out;
  }

  HttpTimeouts timeouts_;
  std::unique_ptr<httplib::Client> client_;
  std::string client_url_;
};

// ---- Local state helpers
// --------------------------------------------------------

// The highest change set sequence the server has confirmed (0: none).
Result<uint64_t> LastConfirmedSeq(Db& db) {
  Statement st(db, "SELECT COALESCE(MAX(seq), 0) FROM change_set WHERE acked_at IS NOT NULL");
  uint64_t v = 0;
  if (st.Step()) v = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  return v;
}

Result<uint64_t> ReadCursor(Db& db, const char* column) {
  Statement st(db, std::string("SELECT ") + column +
                       " FROM sync_state WHERE singleton = 1");
  uint64_t v = 0;
  if (st.Step()) v = static_cast<uint64_t>(st.ColumnInt(0));
  if (!st.status().ok()) return st.status();
  return v;
}

Status SetCursor(Db& db, const char* column, uint64_t value) {
  Statement st(db, std::string("UPDATE sync_state SET ") + column +
                       " = ?1 WHERE singleton = 1");
  st.Bind(1, static_cast<int64_t>(value));
  return st.Run();
}

// A conflict record (wire::ParseConflictsPage) -> the local conflict table
// (one upsert). `*is_new` tells whether it is one to announce: open, and not
// held before (a resolution of a held conflict, or one received again after
// a pull from 0, is not news).
Status UpsertConflict(Db& db, const wire::ConflictRecord& c, bool* is_new) {
  {
    Statement& held = db.Cached("SELECT 1 FROM conflict WHERE id = ?1");
    held.Bind(1, std::string_view(c.id));
    const bool known = held.Step();
    if (!held.status().ok()) return held.status();
    if (Status s = held.Reset(); !s.ok()) return s;
    *is_new = !known && !c.resolved_at.has_value();
  }
  Statement& st = db.Cached(
      "INSERT INTO conflict (id, entity, row_id, column_name, district_code,"
      " current_value, current_type, current_device, current_hlc, current_seq,"
      " incoming_value, incoming_type, incoming_device, incoming_hlc,"
      " incoming_base, incoming_seq, winner, detected_at, resolved_at,"
      " resolved_value, resolution_seq, server_seq)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
      " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
      " ON CONFLICT(id) DO UPDATE SET entity = excluded.entity,"
      " row_id = excluded.row_id, column_name = excluded.column_name,"
      " district_code = excluded.district_code,"
      " current_value = excluded.current_value,"
      " current_type = excluded.current_type,"
      " current_device = excluded.current_device,"
      " current_hlc = excluded.current_hlc, current_seq = excluded.current_seq,"
      " incoming_value = excluded.incoming_value,"
      " incoming_type = excluded.incoming_type,"
      " incoming_device = excluded.incoming_device,"
      " incoming_hlc = excluded.incoming_hlc,"
      " incoming_base = excluded.incoming_base,"
      " incoming_seq = excluded.incoming_seq, winner = excluded.winner,"
      " detected_at = excluded.detected_at, resolved_at = excluded.resolved_at,"
      " resolved_value = excluded.resolved_value,"
      " resolution_seq = excluded.resolution_seq,"
      " server_seq = excluded.server_seq");
  if (!st.status().ok()) return st.status();
  // Null (and, for text the record may leave out, empty) as NULL.
  auto bind_text = [&st](int i, const std::string& v) {
    if (v.empty()) {
      st.BindNull(i);
    } else {
      st.Bind(i, std::string_view(v));
    }
  };
  auto bind_opt = [&st](int i, const std::optional<std::string>& v) {
    if (v) {
      st.Bind(i, std::string_view(*v));
    } else {
      st.BindNull(i);
    }
  };
  auto bind_int = [&st](int i, uint64_t v) {
    st.Bind(i, static_cast<int64_t>(v));
  };
  st.Bind(1, std::string_view(c.id))
      .Bind(2, std::string_view(c.entity))
      .Bind(3, std::string_view(c.row_id))
      .Bind(4, std::string_view(c.column_name));
  bind_opt(5, c.district_code);
  bind_opt(6, c.current_value);
  bind_text(7, c.current_type);
  bind_text(8, c.current_device);
  bind_text(9, c.current_hlc);
  bind_int(10, c.current_seq);
  bind_opt(11, c.incoming_value);
  bind_text(12, c.incoming_type);
  bind_text(13, c.incoming_device);
  bind_text(14, c.incoming_hlc);
  bind_int(15, c.incoming_base);
  bind_int(16, c.incoming_seq);
  bind_text(17, c.winner);
  bind_text(18, c.detected_at);
  bind_opt(19, c.resolved_at);
  bind_opt(20, c.resolved_value);
  if (c.resolution_seq) {
    st.Bind(21, static_cast<int64_t>(*c.resolution_seq));
  } else {
    st.BindNull(21);
  }
  st.Bind(22, static_cast<int64_t>(c.feed_seq));
  return st.Run();
}

}  // namespace

// ---- Free functions
// ---------------------------------------------------------------

const char* SyncPhaseName(SyncPhase phase) {
  switch (phase) {
    case SyncPhase::kPush:
      return "push";
    case SyncPhase::kPull:
      return "pull";
    case SyncPhase::kConflicts:
      return "conflicts";
    case SyncPhase::kPhotos:
      return "photos";
  }
  return "sync";
}

namespace {

// 1234567 -> "1,234,567".
std::string Grouped(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Bytes as a person reads them: "900 B", "142 KiB", "3.4 MiB".
std::string ShortBytes(double bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  } else if (bytes < 1024.0 * 1024) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  }
  return buf;
}

// "about 5 s", "about 3 min", "about 2 h 10 min".
std::string TimeLeft(double seconds) {
  const uint64_t s = static_cast<uint64_t>(seconds + 0.5);
  if (s < 60) return "about " + std::to_string(s < 1 ? 1 : s) + " s left";
  const uint64_t min = (s + 30) / 60;
  if (min < 60) return "about " + std::to_string(min) + " min left";
  return "about " + std::to_string(min / 60) + " h " + std::to_string(min % 60) +
         " min left";
}

}  // namespace

SyncProgressEstimate EstimateSyncProgress(const SyncProgressReport& r,
                                          double phase_seconds) {
  SyncProgressEstimate e;
  switch (r.phase) {
    case SyncPhase::kPush:
      e.done = r.records_done;
      e.total = r.records_total;
      break;
    case SyncPhase::kPull:
      e.done = r.records_done;
      break;
    case SyncPhase::kConflicts:
      e.done = r.done;
      break;
    case SyncPhase::kPhotos:
      e.done = r.done;
      e.total = r.total;
      e.in_bytes = true;
      break;
  }
  if (e.total > 0) {
    e.fraction = std::min(1.0, static_cast<double>(e.done) / static_cast<double>(e.total));
  }
  // A rate needs a moment of measuring: not before a second, nor from
  // nothing done.
  if (phase_seconds >= 1.0 && e.done > 0) {
    e.per_s = static_cast<double>(e.done) / phase_seconds;
    if (e.total > e.done) e.seconds_left = static_cast<double>(e.total - e.done) / e.per_s;
  }
  return e;
}

std::string FormatSyncProgress(const SyncProgressReport& r,
                               uint64_t phase_wire_bytes, double phase_seconds) {
  const SyncProgressEstimate e = EstimateSyncProgress(r, phase_seconds);
  std::string text = std::string(SyncPhaseName(r.phase)) + ": ";
  if (e.in_bytes) {
    text += ShortBytes(static_cast<double>(e.done)) + " of " +
            ShortBytes(static_cast<double>(e.total));
  } else {
    text += Grouped(e.done);
    if (e.total > 0) text += " of " + Grouped(e.total);
    text += r.phase == SyncPhase::kConflicts ? " conflict records" : " records";
    if (phase_wire_bytes > 0) {
      text += ", " + ShortBytes(static_cast<double>(phase_wire_bytes)) +
              (r.phase == SyncPhase::kPush ? " sent" : " received");
    }
  }
  if (e.per_s > 0) {
    text += ", " + (e.in_bytes ? ShortBytes(e.per_s) + "/s"
                               : Grouped(static_cast<uint64_t>(e.per_s + 0.5)) + " records/s");
  }
  if (e.seconds_left >= 0) text += ", " + TimeLeft(e.seconds_left);
  return text;
}

const std::string* HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? nullptr : &it->second;
}

std::unique_ptr<HttpTransport> NewHttpTransport(const HttpTimeouts& timeouts) {
  return std::make_unique<HttplibTransport>(timeouts);
}

std::string DescribeSummary(const SyncSummary& s) {
  std::string out;
  if (s.pushed_sets == 0) {
    out = "nothing to push";
  } else {
    out = "pushed " + Count(s.pushed_sets, "change set", "change sets") + " (" +
          Count(s.pushed_rows, "change", "changes") + ")";
  }
  out += s.pulled_rows == 0
             ? ", nothing new to pull"
             : ", pulled " + Count(s.pulled_rows, "change", "changes");
  // Only news: a conflict the device already knew, or one that arrives
  // already resolved, is not announced again.
  if (s.new_conflicts > 0) {
    out += ", " + Count(s.new_conflicts, "new conflict", "new conflicts") +
           " from the server";
  }
  if (s.blobs_uploaded > 0 || s.blob_bytes > 0) {
    out += ", uploaded " + Count(s.blobs_uploaded, "photo", "photos") + " (" +
           MiB(s.blob_bytes) + ")";
  }
  if (s.thumbnails_fetched > 0) {
    out += ", received " +
           Count(s.thumbnails_fetched, "photo preview", "photo previews");
  }
  if (s.blobs_held_back > 0) {
    out += "; " + Count(s.blobs_held_back, "photo", "photos") +
           " kept here: the server holds no photo row for them (refused?)";
  }
  if (s.refused_rows > 0) {
    out += "; the server refused " + Count(s.refused_rows, "change", "changes") +
           " (kept there for the office; `kbo refused` lists them, to fix or "
           "delete)";
  }
  if (s.redated_rows > 0) {
    out = "this device's clock was ahead (its changes were dated up to " +
          ClockText(s.clock_ahead_until_ms) + "); " +
          Count(s.redated_rows, "unsent change", "unsent changes") +
          " re-dated to the right time; " + out;
  }
  if (s.resent_sets > 0) {
    out += "; sent " + Count(s.resent_sets, "change set", "change sets") +
           " again that the server had lost (restored from a backup?)";
  }
  return out;
}

Result<std::string> NormalizeServerUrl(std::string_view url) {
  const std::string given(url);
  auto bad = [&given](const std::string& why) {
    return Status::InvalidArgument("'" + given + "' is not a server URL (" +
                                   why +
                                   "; e.g. https://kbo.example.go.th or "
                                   "http://192.168.1.10:8787)");
  };
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("it needs http:// or https://");
  const std::string scheme = Lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return bad("only http:// and https:// are supported");
  }
  std::string_view rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return bad("a path after the host is not supported");
  }
  if (rest.find('@') != std::string_view::npos)
    return bad("no user name in it");
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port = after.substr(1);
      if (port.empty()) return bad("an empty port");
    }
  } else if (const size_t colon = rest.rfind(':');
             colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return bad("an empty port");
  }
  if (host.empty()) return bad("no host");
  if (host.front() != '[') {
    for (char c : host) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
            c == '.' || c == '_')) {
        return bad("the host has a character that is not allowed");
      }
    }
  }
  uint64_t port_number = 0;
  if (!port.empty() && (!ParseU64(port, &port_number) || port_number == 0 ||
                        port_number > 65535)) {
    return bad("the port must be 1 to 65535");
  }
  std::string out = scheme + "://" + Lower(host);
  if (!port.empty()) out += ":" + std::to_string(port_number);
  return out;
}

std::string NewNonce() {
  // 128 random bits: two v4 uuids (122 random bits each) through SHA-256.
  const Uuid a = Uuid::Random();
  const Uuid b = Uuid::Random();
  std::string seed(reinterpret_cast<const char*>(a.bytes.data()),
                   a.bytes.size());
  seed.append(reinterpret_cast<const char*>(b.bytes.data()), b.bytes.size());
  const Sha256Digest d = Sha256(seed);
  return HexEncode(
      std::string_view(reinterpret_cast<const char*>(d.data()), 16));
}

std::vector<std::pair<std::string, std::string>> SignRequest(
    const KeyPair& key, const Uuid& device, std::string_view method,
    std::string_view path_with_query, std::string_view body, int64_t time_ms,
    std::string_view nonce) {
  const Signature sig = key.Sign(
      kRequestDomain, protocol::CanonicalRequest(method, path_with_query,
                                                 time_ms, nonce, body));
  return {{protocol::kDeviceHeader, device.ToString()},
          {protocol::kTimeHeader, std::to_string(time_ms)},
          {protocol::kNonceHeader, std::string(nonce)},
          {protocol::kSignatureHeader, SignatureToHex(sig)}};
}

// "all", or known district codes separated by commas, each once (what the
// server's X-KBO-Device-Districts says: Scope::ToString). Anything else
// refuses the page (SyncClient::Pull).
static bool IsDistrictList(std::string_view text) {
  if (text == "all") return true;
  if (text.empty() || text.size() > 4096) return false;
  std::vector<std::string_view> seen;
  size_t from = 0;
  while (from <= text.size()) {
    size_t comma = text.find(',', from);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view code = text.substr(from, comma - from);
    if (FindDistrict(code) == nullptr) return false;
    if (std::find(seen.begin(), seen.end(), code) != seen.end()) return false;
    seen.push_back(code);
    from = comma + 1;
  }
  return true;
}

// At most 60 bytes of a header value for a message: printable ASCII kept,
// anything else shown as '?'.
static std::string ShownHeader(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < 60; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > 60) out += "...";
  return out;
}

Status VerifyReceipt(const PublicKey& server_key, const Uuid& device,
                     uint64_t seq, const Sha256Digest& hash,
                     std::string_view json, protocol::Receipt* receipt) {
  const std::string what =
      "the server's receipt for change set " + std::to_string(seq);
  Result<wire::ReceiptAnswer> answer = wire::ParseReceiptAnswer(json);
  if (!answer.ok()) {
    return Status::Unauthenticated(what + " is damaged: " +
                                   answer.status().message());
  }
  protocol::Receipt& r = answer->receipt;
  if (!Verify(server_key, kReceiptDomain, protocol::ReceiptMessage(r),
              answer->signature)) {
    return Status::Unauthenticated(what +
                                   " is not signed by the server key pinned at "
                                   "enrolment");
  }
  // Issue 9: the server's rows of refused edits and deletes, under a second
  // signature over the receipt and them (docs/protocol.md §5); the parser
  // refuses server_rows without a rows_signature.
  if (!r.server_rows.empty() &&
      !Verify(server_key, kReceiptDomain, protocol::ReceiptRowsMessage(r),
              *answer->rows_signature)) {
    return Status::Unauthenticated(what +
                                   "'s server rows are not signed by the "
                                   "server key pinned at enrolment");
  }
  const std::string sent_hash = HexEncode(hash);
  if (r.device_id != device.ToString() || r.seq != seq ||
      Lower(r.hash) != sent_hash) {
    return Status::Unauthenticated(
        what + " names " + r.device_id + " #" + std::to_string(r.seq) + " " +
        r.hash + ", not the change set sent (" + device.ToString() + " #" +
        std::to_string(seq) + " " + sent_hash + ")");
  }
  *receipt = std::move(r);
  return Status();
}

Status VerifyPullPage(const PublicKey& server_key, const Uuid& device,
                      uint64_t after, const HttpResponse& page,
                      uint64_t* next_cursor, bool* more) {
  const std::string what = "the pull page after " + std::to_string(after);
  const std::string* next_text = page.Header(protocol::kNextCursorHeader);
  const std::string* more_text = page.Header(protocol::kMoreHeader);
  const std::string* sig_text = page.Header(protocol::kSignatureHeader);
  uint64_t next = 0;
  if (next_text == nullptr || !ParseU64(*next_text, &next)) {
    return Status::Unauthenticated(what + " has no valid " +
                                   protocol::kNextCursorHeader);
  }
  if (more_text == nullptr || (*more_text != "0" && *more_text != "1")) {
    return Status::Unauthenticated(what + " has no valid " +
                                   protocol::kMoreHeader);
  }
  const bool has_more = *more_text == "1";
  if (sig_text == nullptr) {
    return Status::Unauthenticated(what + " is not signed");
  }
  Result<Signature> sig = SignatureFromHex(*sig_text);
  if (!sig.ok() || !Verify(server_key, kPullPageDomain,
                           protocol::PullPageMessage(device.ToString(), after,
                                                     next, has_more, page.body),
                           *sig)) {
    return Status::Unauthenticated(what +
                                   " is not signed by the server key pinned at "
                                   "enrolment; nothing of it was applied");
  }
  if (next < after || (has_more && next == after)) {
    return Status::Corruption(what + " moves the cursor to " +
                              std::to_string(next) +
                              (has_more ? " and says there is more" : ""));
  }
  *next_cursor = next;
  *more = has_more;
  return Status();
}

Status VerifyConflicts(const PublicKey& server_key, const Uuid& device,
                       uint64_t after, const HttpResponse& answer) {
  const std::string* sig_text = answer.Header(protocol::kSignatureHeader);
  Result<Signature> sig =
      sig_text == nullptr
          ? Result<Signature>(Status::Unauthenticated("unsigned"))
          : SignatureFromHex(*sig_text);
  if (!sig.ok() ||
      !Verify(server_key, kPullPageDomain,
              protocol::ConflictsMessage(device.ToString(), after, answer.body),
              *sig)) {
    return Status::Unauthenticated(
        "the conflict list after " + std::to_string(after) +
        " is not signed by the server key pinned at enrolment");
  }
  return Status();
}

// ---- SyncClient
// ---------------------------------------------------------------------

struct SyncClient::Enrolment {
  std::string server_url;  // where to talk to this time
  std::string enrolled_url;
  PublicKey server_key;
};

SyncClient::SyncClient(ClientStore& store, SyncOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.transport != nullptr) {
    transport_ = options_.transport;
  } else {
    own_transport_ = NewHttpTransport(options_.timeouts);
    transport_ = own_transport_.get();
  }
}

SyncClient::~SyncClient() = default;

void SyncClient::Progress(SyncPhase phase, uint64_t done, uint64_t total,
                          uint64_t records_done, uint64_t records_total) {
  if (!options_.progress) return;
  SyncProgressReport report;
  report.phase = phase;
  report.done = done;
  report.total = total;
  report.records_done = records_done;
  report.records_total = records_total;
  if (counters_ != nullptr) {
    report.wire_bytes = counters_->bytes_sent + counters_->bytes_received;
  }
  options_.progress(report);
}

Result<SyncClient::Enrolment> SyncClient::LoadEnrolment() {
  Enrolment e;
  std::string key_hex;
  {
    Statement st(
        store_.db(),
        "SELECT server_url, server_public_key FROM device WHERE singleton = 1");
    bool enrolled = false;
    if (st.Step() && !st.IsNull(0) && !st.IsNull(1)) {
      enrolled = true;
      e.enrolled_url = st.ColumnText(0);
      key_hex = st.ColumnText(1);
    }
    if (!st.status().ok()) return st.status();
    if (!enrolled) {
      return Status::FailedPrecondition(
          "this device is not enrolled; ask the central office for a token, "
          "then run: kbo enroll --server URL --token TOKEN");
    }
  }
  Result<PublicKey> key = PublicKey::FromHex(key_hex);
  if (!key.ok())
    return Status::Corruption("the pinned server key in field.db is damaged");
  e.server_key = *key;
  {
    Statement st(store_.db(),
                 "SELECT server_zstd FROM sync_state WHERE singleton = 1");
    server_zstd_ = st.Step() && st.ColumnInt(0) != 0;
    if (!st.status().ok()) return st.status();
  }
  e.server_url = e.enrolled_url;
  if (!options_.server_url.empty()) {
    Result<std::string> url = NormalizeServerUrl(options_.server_url);
    if (!url.ok()) return url.status();
    e.server_url = *url;
  }
  base_url_ = e.server_url;
  return e;
}

Result<HttpResponse> SyncClient::Call(std::string_view method, std::string path,
                                      std::string body,
                                      std::string_view content_type,
                                      size_t max_response_bytes,
                                      Headers extra_headers, bool sign) {
  HttpRequest req;
  req.method = std::string(method);
  req.path = std::move(path);
  req.body = std::move(body);
  req.content_type = std::string(content_type);
  req.max_response_bytes = max_response_bytes;
  size_t attempt = 0;     // network failures so far
  int64_t waited_ms = 0;  // asked to wait by a busy server so far
  for (;;) {
    req.headers = extra_headers;
    if (sign) {
      // A fresh time and nonce for every try: the server never accepts a
      // nonce twice, and the first try may have reached it.
      for (auto& h :
           SignRequest(store_.key(), store_.device_id(), req.method, req.path,
                       req.body, store_.wall().NowMillis(), NewNonce())) {
        req.headers.push_back(std::move(h));
      }
    }
    Result<HttpResponse> r = transport_->Send(base_url_, req);
    if (r.ok()) {
      if (counters_ != nullptr) {
        counters_->bytes_sent += req.body.size();
        counters_->bytes_received += r->body.size();
      }
      const std::optional<int64_t> wait = RetryAfterMs(*r);
      if (!wait || waited_ms + *wait > options_.busy_patience_ms) return r;
      // Busy (503) or rate-limited (429) with Retry-After: nothing was
      // stored; come back when asked, within the patience.
      waited_ms += *wait;
      if (options_.on_busy) options_.on_busy(*wait);
      Sleep(*wait);
      continue;
    }
    if (r.status().code() != Code::kUnavailable) {
      return Status::FromCode(r.status().code(),
                              base_url_ + ": " + r.status().message());
    }
    if (attempt >= options_.retry_backoff_ms.size()) {
      return Status::Unavailable("cannot reach " + base_url_ + ": " +
                                 r.status().message() + kRetryLater);
    }
    Sleep(options_.retry_backoff_ms[attempt]);
    ++attempt;
  }
}

void SyncClient::Sleep(int64_t ms) const {
  if (options_.sleep_ms) {
    options_.sleep_ms(ms);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

std::optional<int64_t> RetryAfterMs(const HttpResponse& response) {
  if (response.status != 503 && response.status != 429) return std::nullopt;
  const std::string* header = response.Header("retry-after");
  if (header == nullptr) return std::nullopt;
  // Delta-seconds only (an HTTP date is not something our server sends).
  const std::optional<int64_t> seconds =
      ParseInt64(*header, 0, std::numeric_limits<int64_t>::max());
  if (!seconds) return std::nullopt;
  const int64_t s = std::clamp<int64_t>(*seconds, 1, protocol::kMaxRetryAfterS);
  // Up to a quarter more, so devices told the same number do not all come
  // back in the same millisecond.
  return s * 1000 +
         static_cast<int64_t>(RandomBelow(static_cast<uint32_t>(s * 250 + 1)));
}

Status SyncClient::Refusal(const HttpResponse& response,
                           std::string_view what) {
  const Status said = ServerError(response);
  const std::string error(said.ReasonOrCodeName());
  std::string message = said.message();
  const std::string http = "HTTP " + std::to_string(response.status);
  if (response.status >= 500 || response.status < 100) {
    return Status::Unavailable(
        base_url_ + " could not answer " + std::string(what) + " (" + http +
        (message.empty() ? "" : ": " + message) + ")" + kRetryLater);
  }
  if (response.status < 400) {
    // 1xx/3xx: nothing we asked for (redirects are not followed: the
    // signature covers the path).
    return Status::Unavailable(base_url_ + " answered " + std::string(what) +
                               " with " + http + kRetryLater);
  }
  refused_ = true;
  if (error == "clock_skew" || error == "clock_ahead") {
    // Both clocks, so the person sees which one to set.
    if (std::optional<int64_t> server_now =
            ServerClockOf(response.body, response.Header("date"))) {
      message += " (this device's clock: " +
                 ClockText(store_.wall().NowMillis()) +
                 "; the server's: " + ClockText(*server_now) + ")";
    }
  }
  Status refused =
      Status::FromCode(CodeForServerError(said),
                       base_url_ + " refused " + std::string(what) + ": " +
                           (message.empty() ? http : message) + " (" +
                           (error.empty() ? http : error) + ")");
  refused.WithReason(said.reason());
  for (const StatusField& f : said.fields()) refused.With(f);
  return refused;
}

Result<EnrollResult> SyncClient::Enroll(const std::string& server_url,
                                        const std::string& token, bool force) {
  refused_ = false;
  counters_ = nullptr;
  Result<std::string> url = NormalizeServerUrl(server_url);
  if (!url.ok()) return url.status();
  if (token.empty()) return Status::InvalidArgument("the token is empty");
  Result<StoreStatus> st = store_.GetStatus();
  if (!st.ok()) return st.status();
  if (st->enrolled && st->server != *url && !force &&
      (st->pending_changes > 0 || st->pending_blobs > 0)) {
    return Status::FailedPrecondition(
        "this device is enrolled with " + st->server + " and " +
        Count(static_cast<uint64_t>(st->pending_changes), "change", "changes") +
        " and " +
        Count(static_cast<uint64_t>(st->pending_blobs), "photo", "photos") +
        " have not reached it yet. Run kbo sync first, or kbo enroll again "
        "with --force to send them to " +
        *url + " instead (nothing is deleted either way)");
  }
  base_url_ = *url;
  wire::EnrollRequest req;
  req.token = token;
  req.device_id = store_.device_id();
  req.public_key = store_.key().public_key();
  req.clock_ms = store_.wall().NowMillis();
  Result<std::string> body = wire::EncodeEnrollRequest(req);
  if (!body.ok()) return body.status();
  Result<HttpResponse> r =
      Call("POST", std::string(protocol::kEnrollPath), std::move(*body),
           "application/json", protocol::kMaxJsonBytes, {}, /*sign=*/false);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Refusal(*r, "the enrolment");

  Result<wire::EnrollReply> answer = wire::ParseEnrollReply(r->body);
  if (!answer.ok()) {
    return Status::Corruption(*url + " answered the enrolment wrongly (" +
                              answer.status().message() +
                              "); nothing was saved");
  }
  EnrollResult out;
  out.device_id = store_.device_id();
  out.server_url = *url;
  if (answer->device_id != store_.device_id()) {
    return Status::Corruption(
        *url + " enrolled device " + answer->device_id.ToString() +
        ", not this one (" + store_.device_id().ToString() +
        "); nothing was saved");
  }
  out.role = answer->role;
  out.server_public_key = answer->server_public_key.ToHex();
  for (const std::string& d : answer->districts) {
    if (d == "all") {
      out.districts = "all";
      break;
    }
    out.districts += (out.districts.empty() ? "" : ",") + d;
  }

  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  {
    Statement old(
        db,
        "SELECT server_url, server_public_key FROM device WHERE singleton = 1");
    if (old.Step() && !old.IsNull(0)) {
      out.server_changed = old.ColumnText(0) != out.server_url ||
                           old.ColumnText(1) != out.server_public_key;
    }
    if (!old.status().ok()) return old.status();
  }
  {
    Statement up(
        db,
        "UPDATE device SET server_url = ?1, server_public_key = ?2,"
        " role = ?3, districts = ?4, enrolled_at = ?5 WHERE singleton = 1");
    up.Bind(1, std::string_view(out.server_url))
        .Bind(2, std::string_view(out.server_public_key))
        .Bind(3, std::string_view(out.role))
        .Bind(4, std::string_view(out.districts))
        .Bind(5, std::string_view(store_.NowIso()));
    if (Status s = up.Run(); !s.ok()) return s;
  }
  {
    // A new server may take zstd or not: what its answer said.
    Statement reset(db,
                    "UPDATE sync_state SET pull_cursor = 0, conflict_cursor = 0,"
                    " last_error = NULL, server_zstd = ?1 WHERE singleton = 1");
    reset.Bind(1, static_cast<int64_t>(SaysZstd(*r) ? 1 : 0));
    if (Status s = reset.Run(); !s.ok()) return s;
  }
  if (out.server_changed) {
    // Another server's conflict records and upload progress mean nothing to
    // this one. Change sets stay: the new server asks for the sequence it
    // expects (409 sequence_gap) and Push() follows it.
    if (Status s = db.Exec(
            "DELETE FROM conflict;"
            "UPDATE blob_upload SET uploaded_bytes = 0, done_at = NULL");
        !s.ok()) {
      return s;
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return out;
}

Result<SyncSummary> SyncClient::Sync() {
  refused_ = false;
  SyncSummary summary;
  Status s = Push(&summary);
  if (s.ok() && options_.full_pull) {
    s = store_.db().Exec(
        "UPDATE sync_state SET pull_cursor = 0, conflict_cursor = 0 WHERE singleton = 1");
  }
  server_device_seq_.reset();
  if (s.ok()) s = Pull(&summary);
  if (s.ok() && server_device_seq_.has_value()) {
    // The server says it holds fewer of this device's change sets than it
    // confirmed (restored from a backup): send the rest again. It checks
    // them like any push; nothing here is marked unconfirmed.
    Result<uint64_t> confirmed = LastConfirmedSeq(store_.db());
    if (!confirmed.ok()) {
      s = confirmed.status();
    } else if (*server_device_seq_ < *confirmed) {
      summary.resent_sets = *confirmed - *server_device_seq_;
      s = PushFrom(&summary, *server_device_seq_ + 1);
    }
  }
  if (s.ok()) s = UploadBlobs(&summary);
  if (s.ok()) {
    // Other devices' photos, as thumbnails (client/photo_fetch.h). Never
    // fails the sync: what is not fetched now comes with the next one.
    summary.thumbnails_fetched =
        FetchThumbnails(store_, *transport_, base_url_).fetched;
  }
  counters_ = nullptr;
  if (!s.ok()) return RecordSyncError(s);

  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  {
    Statement st(db,
                 "UPDATE sync_state SET last_sync_at = ?1, last_error = NULL"
                 " WHERE singleton = 1");
    st.Bind(1, std::string_view(store_.NowIso()));
    if (Status e = st.Run(); !e.ok()) return e;
  }
  if (!options_.server_url.empty()) {
    // Every answer of this sync verified with the pinned key: the same server
    // at a new address. Remember it.
    Statement st(db, "UPDATE device SET server_url = ?1 WHERE singleton = 1");
    st.Bind(1, std::string_view(base_url_));
    if (Status e = st.Run(); !e.ok()) return e;
  }
  if (Status e = txn.Commit(); !e.ok()) return e;
  return summary;
}

Status SyncClient::RecordSyncError(const Status& error) {
  Statement st(store_.db(),
               "UPDATE sync_state SET last_error = ?1 WHERE singleton = 1");
  st.Bind(1, std::string_view(error.message()));
  // The sync's own error matters more than failing to note it.
  (void)st.Run();
  return error;
}

Status SyncClient::NoteEncodings(const HttpResponse& answer) {
  return SetServerZstd(SaysZstd(answer));
}

Status SyncClient::SetServerZstd(bool says) {
  if (says == server_zstd_) return Status();
  server_zstd_ = says;
  Statement st(store_.db(),
               "UPDATE sync_state SET server_zstd = ?1 WHERE singleton = 1");
  st.Bind(1, static_cast<int64_t>(says ? 1 : 0));
  return st.Run();
}

Status SyncClient::Push(SyncSummary* summary) { return PushFrom(summary, 0); }

Status SyncClient::PushFrom(SyncSummary* summary, uint64_t resend_from) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  Outbox outbox(store_);
  // Sets sealed earlier and not yet confirmed go first. What is still
  // pending is sealed one set at a time, each while the set before it is on
  // its way: the exchange runs on a second thread (network, request
  // signature: never the database), sealing on this one. Sets are still
  // sent strictly in order, one at a time, and each is sealed (committed
  // here) before it is sent. After a server restore (see Sync) the sets it
  // no longer holds go first instead, from the outbox's copies.
  Result<std::vector<SealedChangeSet>> pending =
      resend_from > 0 ? outbox.SealedFrom(resend_from, /*with_bytes=*/false)
                      : outbox.Unacked(/*with_bytes=*/false);
  if (!pending.ok()) return pending.status();
  std::vector<SealedChangeSet> sets = std::move(pending).value();
  Result<uint64_t> unsealed = outbox.PendingRows();
  if (!unsealed.ok()) return unsealed.status();
  bool more_to_seal = *unsealed > 0;
  // For progress, in row changes: those of the sets sealed before this sync
  // and those still pending (what seal_one seals comes out of the latter).
  uint64_t records_done = 0;
  uint64_t records_total = *unsealed;
  for (const SealedChangeSet& s : sets) records_total += s.rows;
  // Seals the next set onto `sets`; false when nothing is left to seal.
  auto seal_one = [&]() -> Result<bool> {
    if (!more_to_seal) return false;
    Result<std::optional<SealedChangeSet>> next = outbox.SealNext();
    if (!next.ok()) return next.status();
    if (!next->has_value()) {
      more_to_seal = false;
      return false;
    }
    sets.push_back(std::move(**next));
    return true;
  };
  if (sets.empty()) {
    if (Result<bool> sealed = seal_one(); !sealed.ok()) return sealed.status();
  }
  if (sets.empty()) return Status();
  // For progress: the sets there are, and about how many the rest makes.
  const size_t per_set = Outbox::kDefaultMaxRows;
  size_t expected_sets =
      sets.size() + static_cast<size_t>((*unsealed + per_set - 1) / per_set);
  auto total = [&]() {
    expected_sets = std::max(expected_sets, sets.size());
    return expected_sets;
  };

  const Uuid& device = store_.device_id();
  int redirects = 0;
  uint64_t acked = 0;
  size_t i = 0;
  Progress(SyncPhase::kPush, 0, total(), 0, records_total);
  while (i < sets.size()) {
    const uint64_t seq = sets[i].seq;
    const std::string what = "change set " + std::to_string(seq);
    Result<HttpResponse> r = Status::Internal("not sent");
    Status sealed_meanwhile;
    if (sets[i].bytes.empty()) {
      if (Status s = outbox.LoadBytes(&sets[i]); !s.ok()) return s;
    }
    // zstd when the server has said it takes it (docs/protocol.md §1 "Compressed bodies"). The
    // request signature covers the bytes sent; the change set's signature,
    // inside, stays over the canonical bytes.
    bool packed = false;
    {
      std::string body =
          protocol::EncodePushBody(sets[i].signature, sets[i].bytes);
      Headers headers;
      if (server_zstd_) {
        std::string z = compression::ZstdCompress(body);
        if (!z.empty() && z.size() < body.size()) {
          body = std::move(z);
          headers.emplace_back(protocol::kContentEncodingHeader,
                               std::string(compression::kZstd));
          packed = true;
        }
      }
      std::future<Result<HttpResponse>> exchange =
          std::async(std::launch::async, [this, &body, &headers] {
            return Call("POST", std::string(protocol::kPushPath), body,
                        "application/octet-stream", kMaxReceiptBytes, headers);
          });
      if (i + 1 == sets.size()) sealed_meanwhile = seal_one().status();
      r = exchange.get();
    }
    if (!r.ok()) return r.status();
    if (packed && (r->status == 415 ||
                   (r->status == 400 &&
                    ServerError(*r).reason() == "bad_change_set"))) {
      // A server that no longer takes zstd (serve --no-zstd: 415; one from
      // before zstd reads the frame as a change set: bad_change_set). Sent
      // again plain, once: server_zstd_ is now false.
      if (Status s = SetServerZstd(false); !s.ok()) return s;
      continue;
    }
    if (r->status == 200) {
      if (Status s = NoteEncodings(*r); !s.ok()) return s;
      protocol::Receipt receipt;
      if (Status s = VerifyReceipt(e->server_key, device, seq, sets[i].hash,
                                   r->body, &receipt);
          !s.ok()) {
        return Status::Unauthenticated(
            s.message() + "; change set " + std::to_string(seq) +
            " stays unconfirmed and will be sent again");
      }
      if (Status s = outbox.Acknowledge(seq, r->body, receipt.refused,
                                        sets[i].bytes, receipt.server_rows);
          !s.ok()) {
        return s;
      }
      if (summary != nullptr) summary->refused_rows += receipt.refused.size();
      // Confirmed: its bytes are not needed here again (a server that asks
      // for earlier sets gets them from the outbox's copies).
      std::string().swap(sets[i].bytes);
      ++acked;
      if (summary != nullptr) {
        ++summary->pushed_sets;
        summary->pushed_rows += receipt.rows;
      }
      records_done += sets[i].rows;
      records_total = std::max(records_total, records_done);
      ++i;
      Progress(SyncPhase::kPush, i, total(), records_done, records_total);
      // A failed seal (this device's disk) stops the push once the set that
      // was on its way is confirmed.
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      continue;
    }
    // A refusal is reported before a failed seal (which the next sync
    // meets again); the seal's error stops the push where it would go on.
    const Status said = ServerError(*r);
    const std::string error(said.ReasonOrCodeName());
    uint64_t expected = 0;
    if (r->status == 409 && error == "sequence_gap" &&
        ServerNumber(said, field::kExpected, &expected)) {
      if (++redirects > kMaxRedirects || expected == seq || expected == 0) {
        refused_ = true;
        return Status::SequenceGap(base_url_ + " keeps asking for change set " +
                                   std::to_string(expected) + " while " + what +
                                   " is sent; tell the central office");
      }
      if (expected > seq) {
        // The server already holds seq .. expected-1 (e.g. from a bundle);
        // they stay unconfirmed here until it sends their receipts again.
        auto next = std::find_if(
            sets.begin() + static_cast<std::ptrdiff_t>(i), sets.end(),
            [expected](const SealedChangeSet& x) { return x.seq == expected; });
        if (!sealed_meanwhile.ok()) return sealed_meanwhile;
        if (next != sets.end()) {
          i = static_cast<size_t>(next - sets.begin());
          continue;
        }
        if (expected == sets.back().seq + 1) {
          // It holds every set sealed so far: go on with what is pending.
          Result<bool> sealed = seal_one();
          if (!sealed.ok()) return sealed.status();
          if (!*sealed) break;
          i = sets.size() - 1;
          continue;
        }
        refused_ = true;
        return Status::FailedPrecondition(
            base_url_ + " expects change set " + std::to_string(expected) +
            ", but this device has made only " +
            std::to_string(sets.back().seq) +
            ". Another device may be using this device's identity: contact "
            "the central office (nothing here was changed)");
      }
      // The server lost change sets we sent (or this is a new server):
      // send them again from the copies the outbox keeps.
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      Result<std::vector<SealedChangeSet>> again =
          outbox.SealedFrom(expected, /*with_bytes=*/false);
      if (!again.ok()) return again.status();
      if (again->empty() || again->front().seq != expected) {
        refused_ = true;
        return Status::SequenceGap(
            base_url_ + " expects change set " + std::to_string(expected) +
            ", which this device no longer holds; contact the central office");
      }
      sets = std::move(again).value();
      i = 0;
      expected_sets = 0;
      records_done = 0;
      records_total = 0;
      if (more_to_seal) {
        Result<uint64_t> left = outbox.PendingRows();
        if (!left.ok()) return left.status();
        records_total = *left;
      }
      for (const SealedChangeSet& s : sets) records_total += s.rows;
      Progress(SyncPhase::kPush, 0, total(), 0, records_total);
      continue;
    }
    if (r->status == 409 &&
        (error == "sequence_conflict" || error == "prev_hash_mismatch")) {
      refused_ = true;
      const std::string& message = said.message();
      return Status::FailedPrecondition(
          base_url_ + " refused " + what + ": " +
          (message.empty() ? "it already holds a different change set under "
                             "this device's number " +
                                 std::to_string(seq)
                           : message) +
          " (" + error +
          "). This device's records have forked from what the "
          "server holds; nothing here was changed. Contact the central office "
          "before recording more.");
    }
    if (error == "clock_ahead" && resend_from == 0 && !redating_) {
      if (!sealed_meanwhile.ok()) return sealed_meanwhile;
      return RedateAndPushAgain(*r, seq, summary);
    }
    return Refusal(*r, "the push of " + what);
  }
  if (acked > 0) {
    Statement st(store_.db(),
                 "UPDATE sync_state SET last_push_at = ?1 WHERE singleton = 1");
    st.Bind(1, std::string_view(store_.NowIso()));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  return Status();
}

Status SyncClient::RedateAndPushAgain(const HttpResponse& refusal, uint64_t seq,
                                      SyncSummary* summary) {
  const std::string what = "the push of change set " + std::to_string(seq);
  // The server's clock from its answer (server_ms, else the Date header). A
  // server that sends neither still checked this request's signed time
  // against its own clock (protocol::kRequestWindowMs, 5 minutes): the two
  // clocks agreed when it was sent.
  const int64_t device_now = store_.wall().NowMillis();
  const std::optional<int64_t> server_now =
      ServerClockOf(refusal.body, refusal.Header("date"));
  if (server_now && std::llabs(device_now - *server_now) > kClockAgreementMs) {
    refused_ = true;
    return Status::FailedPrecondition(
        base_url_ + " refused " + what +
        ": this device's clock says " + ClockText(device_now) +
        " but the server's says " + ClockText(*server_now) +
        ". Set this device's date, time and time zone (automatic time is "
        "best), then run kbo sync again. Nothing here was changed "
        "(clock_ahead)");
  }
  Result<RedateResult> redated = RedateFutureChanges(store_, seq);
  if (!redated.ok()) return redated.status();
  if (redated->redated_rows == 0) {
    // Nothing here is dated ahead of the clock: not a wrong date after all.
    return Refusal(refusal, what);
  }
  if (summary != nullptr) {
    summary->redated_rows += redated->redated_rows;
    summary->clock_ahead_until_ms =
        std::max(summary->clock_ahead_until_ms, redated->ahead_until_ms);
  }
  redating_ = true;
  Status again = PushFrom(summary, 0);
  redating_ = false;
  return again;
}

namespace {

// One pull page as fetched, verified and decoded (off the applying thread).
struct FetchedPage {
  Result<HttpResponse> response = Status::Unavailable("not fetched");
  Status status;  // verification or decoding, once the answer is a 200
  uint64_t next = 0;
  bool more = false;
  ChangeSet rows;
};

}  // namespace

Status SyncClient::Pull(SyncSummary* summary) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  Db& db = store_.db();
  Result<uint64_t> cursor = ReadCursor(db, "pull_cursor");
  if (!cursor.ok()) return cursor.status();
  uint64_t after = *cursor;
  const int limit = std::clamp(options_.pull_limit, 1, protocol::kMaxPullLimit);
  DecodeLimits limits;
  limits.max_bytes = kMaxPageBytes;
  limits.max_rows = static_cast<uint32_t>(protocol::kMaxPullLimit);
  const PublicKey server_key = e->server_key;
  // Request, signature check and decoding of the page after `from`. Touches
  // only the transport, the device key and the wall clock, never the
  // database: while page k is applied, page k+1 is fetched with this on
  // another thread (the server builds it and the signature is checked in
  // the meantime). It is still applied only after page k is committed, and
  // only if it verified.
  const auto fetch = [this, limit, limits, server_key](uint64_t from) {
    FetchedPage f;
    f.response = Call("GET",
                      std::string(protocol::kPullPath) +
                          "?after=" + std::to_string(from) +
                          "&limit=" + std::to_string(limit),
                      "", "", kMaxPageBytes,
                      {{protocol::kAcceptEncodingHeader,
                        std::string(compression::kZstd)}});
    if (!f.response.ok() || f.response->status != 200) return f;
    // A zstd page (docs/protocol.md §1 "Compressed bodies"): decoded within the page cap, then
    // checked as any page (the signature is over the decoded bytes).
    if (const std::string* coding =
            f.response->Header(protocol::kContentEncodingHeader);
        coding != nullptr && compression::IsZstdCoding(*coding)) {
      Result<std::string> plain = compression::ZstdDecompress(
          f.response->body, kMaxPageBytes, "the pull page");
      if (!plain.ok()) {
        f.status = Status::FromCode(
            plain.status().code(),
            "the pull after " + std::to_string(from) + " from " + base_url_ +
                ": " + plain.status().message() +
                "; nothing of it was applied");
        return f;
      }
      f.response->body = std::move(plain).value();
    }
    // Verified before a byte of it is decoded.
    f.status = VerifyPullPage(server_key, store_.device_id(), from,
                              *f.response, &f.next, &f.more);
    if (!f.status.ok() || f.response->body.empty()) return f;
    Result<ChangeSet> decoded = wire::DecodePullPage(f.response->body, limits);
    if (!decoded.ok()) {
      f.status = Status::Corruption(
          "the pull after " + std::to_string(from) + " from " + base_url_ +
          " does not decode (" + decoded.status().message() +
          "); nothing of it was applied");
      return f;
    }
    f.rows = std::move(decoded).value();
    return f;
  };
  uint64_t pulled = 0;
  Progress(SyncPhase::kPull, 0, 0, 0, 0);
  FetchedPage current = fetch(after);
  // Declared after everything `fetch` uses: a pending fetch is waited for
  // before any of it goes away, whichever way this function returns.
  std::future<FetchedPage> ahead;
  bool restarted = false;
  for (;;) {
    const std::string what = "the pull after " + std::to_string(after);
    if (!current.response.ok()) return current.response.status();
    if (current.response->status == 409 && !restarted && after > 0) {
      // Granted more districts: their rows come whole from the start
      // (docs/protocol.md §6). Pulling again from 0 is always safe.
      if (ServerError(*current.response).reason() == "pull_restart") {
        restarted = true;
        if (Status s = SetCursor(db, "pull_cursor", 0); !s.ok()) return s;
        after = 0;
        current = fetch(0);
        continue;
      }
    }
    if (current.response->status != 200) {
      return Refusal(*current.response, what);
    }
    if (!current.status.ok()) return current.status;
    if (Status s = NoteEncodings(*current.response); !s.ok()) return s;
    const std::string* districts =
        current.response->Header(protocol::kDeviceDistrictsHeader);
    if (districts != nullptr && !IsDistrictList(*districts)) {
      // Not what a server sends (it may be absent: an older server). Refused
      // before anything of the page is used.
      return Status::Corruption(
          what + " from " + base_url_ + " names this device's districts as \"" +
          ShownHeader(*districts) + "\" (" +
          std::to_string(districts->size()) + " bytes of " +
          protocol::kDeviceDistrictsHeader +
          "), which is not 'all' or known district codes, each once; nothing "
          "of that page was applied and this device's districts are "
          "unchanged");
    }
    if (const std::string* seq = current.response->Header(protocol::kDeviceLastSeqHeader)) {
      uint64_t v = 0;
      if (ParseU64(*seq, &v)) server_device_seq_ = v;
    }
    if (const std::string* ds = districts; ds != nullptr) {
      // Granted more districts (docs/protocol.md §6): record in them too.
      Statement st(db, "UPDATE device SET districts = ?1 WHERE singleton = 1 "
                       "AND districts IS NOT ?1");
      st.Bind(1, std::string_view(*ds));
      if (Status s = st.Run(); !s.ok()) return s;
    }
    const uint64_t next = current.next;
    const bool more = current.more;
    ChangeSet& page = current.rows;
    if (more) ahead = std::async(std::launch::async, fetch, next);
    // Every hlc is checked before any is observed: a refused page moves
    // neither the data nor the clock.
    for (const RowChange& row : page.rows) {
      if (Status s = store_.clock().CheckSkew(row.hlc); !s.ok()) {
        return Status::FailedPrecondition(
            "a change from " + base_url_ + " is dated " + row.hlc.ToString() +
            ", more than a day ahead of this device's clock. Set this device's "
            "date and time, then sync again (nothing of that page was "
            "applied)");
      }
    }
    for (const RowChange& row : page.rows) {
      if (Status s = store_.clock().Observe(row.hlc); !s.ok()) return s;
    }
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    ApplyOptions options;
    options.seq_from_base = true;
    if (Status s = ApplyChangeSet(db, page, options); !s.ok()) {
      if (s.code() == Code::kIOError) return s;  // our disk, not their page
      return Status::Corruption(what + " from " + base_url_ +
                                " does not apply (" + s.message() +
                                "); nothing of it was applied");
    }
    if (Status s = SetCursor(db, "pull_cursor", next); !s.ok()) return s;
    if (Status s = store_.SaveClock(); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
    pulled += page.rows.size();
    if (summary != nullptr) {
      summary->pulled_rows += page.rows.size();
      ++summary->pull_pages;
    }
    Progress(SyncPhase::kPull, pulled, 0, pulled, 0);
    after = next;
    if (!more) break;
    current = ahead.get();
  }
  return PullConflicts(*e, summary);
}

Status SyncClient::PullConflicts(const Enrolment& e, SyncSummary* summary) {
  Db& db = store_.db();
  Result<uint64_t> cursor = ReadCursor(db, "conflict_cursor");
  if (!cursor.ok()) return cursor.status();
  uint64_t after = *cursor;
  uint64_t received = 0;
  for (int page = 0; page < kMaxConflictPages; ++page) {
    const std::string what = "the conflict list after " + std::to_string(after);
    Result<HttpResponse> r = Call("GET",
                                  std::string(protocol::kConflictsPath) +
                                      "?after=" + std::to_string(after),
                                  "", "", kMaxConflictsBytes);
    if (!r.ok()) return r.status();
    if (r->status != 200) return Refusal(*r, what);
    if (Status s = VerifyConflicts(e.server_key, store_.device_id(), after, *r);
        !s.ok()) {
      return s;
    }
    Result<wire::ConflictsPage> parsed = wire::ParseConflictsPage(r->body);
    if (!parsed.ok()) {
      return Status::Corruption(what + " from " + base_url_ + ": " +
                                parsed.status().message() +
                                "; nothing of it was kept");
    }
    const bool more = parsed->more;
    uint64_t next = std::max(after, parsed->next);
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    uint64_t fresh = 0;
    for (const wire::ConflictRecord& c : parsed->conflicts) {
      bool is_new = false;
      if (Status s = UpsertConflict(db, c, &is_new); !s.ok()) return s;
      next = std::max(next, c.feed_seq);
      if (is_new) ++fresh;
    }
    if (Status s = SetCursor(db, "conflict_cursor", next); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
    received += parsed->conflicts.size();
    if (summary != nullptr) {
      summary->conflicts += parsed->conflicts.size();
      summary->new_conflicts += fresh;
    }
    Progress(SyncPhase::kConflicts, received, 0);
    if (!more || next == after) break;
    after = next;
  }
  return Status();
}

Status SyncClient::UploadBlobs(SyncSummary* summary) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  struct Pending {
    std::string sha256;
    uint64_t bytes;
    uint64_t uploaded;
  };
  std::vector<Pending> pending;
  {
    Statement st(store_.db(),
                 "SELECT sha256, bytes, uploaded_bytes FROM blob_upload"
                 " WHERE done_at IS NULL ORDER BY rowid");
    while (st.Step()) {
      pending.push_back({st.ColumnText(0),
                         static_cast<uint64_t>(st.ColumnInt(1)),
                         static_cast<uint64_t>(st.ColumnInt(2))});
    }
    if (!st.status().ok()) return st.status();
  }
  if (pending.empty()) return Status();
  photo_total_ = 0;
  photo_done_ = 0;
  for (const Pending& p : pending) {
    photo_total_ += p.bytes;
    photo_done_ += std::min(p.uploaded, p.bytes);
  }
  Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
  // The state of them all in one request (docs/protocol.md §8): a photo of
  // one chunk (an upload copy is) that the server lists as missing, and of
  // which nothing was confirmed here, goes up at once without a request for
  // its state first -- a round trip less a photo on a slow link. The server
  // writes a chunk only whole, so of such a photo it holds nothing (unless
  // another device is sending the same one: then the chunk is answered
  // offset_mismatch with what it holds, and the upload resumes from there).
  // Anything else (not listed: held whole, or not named in this device's
  // districts; a list at the server's cap; larger, or partly sent) is asked
  // about one by one, as before, so that nothing the server holds is sent
  // again.
  std::set<std::string> listed_missing;
  if (pending.size() > 1) {
    Result<HttpResponse> r = Call("GET", std::string(protocol::kBlobsMissingPath), "", "",
                                  kMaxMissingBytes);
    if (!r.ok()) return r.status();
    if (r->status == 200) {
      Result<std::vector<std::string>> listed = wire::ParseMissingBlobs(r->body);
      if (listed.ok() && listed->size() < protocol::kMissingBlobsListed) {
        listed_missing.insert(listed->begin(), listed->end());
      }
    }
  }
  Status first_local_error;
  for (const Pending& p : pending) {
    bool local = false;
    const bool nothing_held = p.uploaded == 0 && p.bytes <= protocol::kBlobChunkBytes &&
                              listed_missing.count(p.sha256) != 0;
    Status s = UploadOne(p.sha256, p.bytes, p.uploaded, nothing_held, summary, &local);
    if (s.ok()) continue;
    // A photo missing or damaged on this device must not hold back the
    // others; it is reported at the end.
    if (!local) return s;
    if (first_local_error.ok()) first_local_error = s;
  }
  return first_local_error;
}

Status SyncClient::UploadOne(const std::string& sha256, uint64_t total,
                             uint64_t uploaded, bool listed_missing,
                             SyncSummary* summary, bool* local) {
  const std::string what = "photo " + sha256.substr(0, 12);
  const std::string path = std::string(protocol::kBlobPathPrefix) + sha256;
  Db& db = store_.db();
  auto save = [&db, &sha256](uint64_t received, bool done,
                             const std::string& now) {
    Statement st(
        db,
        done ? "UPDATE blob_upload SET uploaded_bytes = ?2, done_at = ?3"
               " WHERE sha256 = ?1"
             : "UPDATE blob_upload SET uploaded_bytes = ?2 WHERE sha256 = ?1");
    st.Bind(1, std::string_view(sha256))
        .Bind(2, static_cast<int64_t>(received));
    if (done) st.Bind(3, std::string_view(now));
    return st.Run();
  };

  // How much does the server hold? (404: nothing yet.) Not asked when the
  // server has just listed it as missing (UploadBlobs).
  Result<HttpResponse> r = HttpResponse{};
  if (listed_missing) {
    r->status = 404;
  } else {
    r = Call("GET", path, "", "", protocol::kMaxJsonBytes);
  }
  if (!r.ok()) return r.status();
  uint64_t received = 0;
  bool complete = false;
  if (r->status >= 200 && r->status < 300) {
    Result<wire::BlobState> state = wire::ParseBlobState(r->body);
    if (!state.ok()) {
      return Status::Corruption(base_url_ + " answered the state of " + what +
                                " wrongly: " + state.status().message());
    }
    received = state->received;
    complete = state->complete;
  } else if (r->status != 404) {
    return Refusal(*r, "the state of " + what);
  }
  if (complete) {
    // Deduplicated: another device, or a bundle, brought it already.
    photo_done_ += total - std::min(uploaded, total);
    Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
    if (summary != nullptr) ++summary->blobs_uploaded;
    return save(total, true, store_.NowIso());
  }

  BlobStore blobs(store_.paths().blobs);
  Result<std::string> bytes = blobs.Read(sha256, static_cast<size_t>(total));
  if (!bytes.ok()) {
    *local = true;
    return Status::IOError(what + " (" + sha256 +
                           ") cannot be uploaded: " + bytes.status().message());
  }
  total = bytes->size();
  if (received > total) received = 0;  // nonsense: start over
  // The progress bar counts what the server holds.
  if (received != uploaded) {
    photo_done_ = photo_done_ - std::min(uploaded, photo_done_) + received;
    if (Status s = save(received, false, ""); !s.ok()) return s;
  }
  int mismatches = 0;
  while (received < total && !complete) {
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(protocol::kBlobChunkBytes, total - received));
    const std::string_view chunk =
        std::string_view(*bytes).substr(static_cast<size_t>(received), n);
    Result<HttpResponse> put = Call(
        "PUT",
        path + "?offset=" + std::to_string(received) +
            "&total=" + std::to_string(total),
        std::string(chunk), "application/octet-stream", protocol::kMaxJsonBytes,
        {{protocol::kChunkHashHeader, HexEncode(Sha256(chunk))}});
    if (!put.ok()) return put.status();
    if (put->status >= 200 && put->status < 300) {
      Result<wire::BlobState> state = wire::ParseBlobState(put->body);
      if (!state.ok()) {
        return Status::Corruption(base_url_ + " answered a chunk of " + what +
                                  " wrongly: " + state.status().message());
      }
      const uint64_t now_held = state->received;
      complete = state->complete;
      if (now_held <= received && !complete) {
        refused_ = true;
        return Status::FailedPrecondition(
            base_url_ + " took a chunk of " + what + " at " +
            std::to_string(received) + " but holds no more of it");
      }
      if (summary != nullptr) summary->blob_bytes += n;
      photo_done_ += std::min(now_held, total) - received;
      received = std::min(now_held, total);
      if (Status s = save(received, false, ""); !s.ok()) return s;
      Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
      continue;
    }
    const Status said = ServerError(*put);
    const std::string_view error = said.ReasonOrCodeName();
    uint64_t server_has = 0;
    if (put->status == 409 && error == "offset_mismatch" &&
        ServerNumber(said, field::kReceived, &server_has) &&
        server_has <= total && ++mismatches <= kMaxRedirects) {
      photo_done_ = photo_done_ - std::min(received, photo_done_) + server_has;
      received = server_has;
      if (Status s = save(received, false, ""); !s.ok()) return s;
      continue;
    }
    if ((put->status == 403 && error == "blob_not_named") ||
        (put->status == 413 && error == "partial_cap")) {
      // The server holds no photo row in this device's districts for it
      // (its row was refused, or deleted), or this device's unfinished
      // uploads there are at their cap: it stays here, kept and queued, and
      // the other photos go on.
      if (summary != nullptr) ++summary->blobs_held_back;
      return Status();
    }
    return Refusal(*put, "a chunk of " + what);
  }
  if (!complete) {
    refused_ = true;
    return Status::FailedPrecondition(
        base_url_ + " holds all " + std::to_string(total) + " bytes of " +
        what + " but does not accept it as complete");
  }
  if (summary != nullptr) ++summary->blobs_uploaded;
  return save(total, true, store_.NowIso());
}

Status RunSyncForUi(ClientStore& store, std::string* summary,
                    const SyncProgress& progress) {
  summary->clear();
  SyncOptions options;
  // The last report, repeated with the wait when the server is busy, so
  // that the screen can say so.
  auto last = std::make_shared<SyncProgressReport>();
  if (progress) {
    options.progress = [progress, last](const SyncProgressReport& r) {
      *last = r;
      progress(r);
    };
    options.on_busy = [progress, last](int64_t wait_ms) {
      SyncProgressReport busy = *last;
      busy.busy_wait_ms = std::max<int64_t>(1, wait_ms);
      progress(busy);
    };
  }
  SyncClient client(store, options);
  Result<SyncSummary> r = client.Sync();
  if (!r.ok()) return r.status();
  *summary = DescribeSummary(*r);
  return Status();
}

}  // namespace kbo::client
