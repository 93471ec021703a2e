#include "client/sync_client.h"

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


#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "client/clock_repair.h"
#include "client/photo_fetch.h"
#include "client/sync_internal.h"
#include "client/sync_state.h"
#include "shared/district_scope.h"
#include "shared/error_body.h"
#include "shared/secrets.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

namespace kbo::client {
namespace {

// One sync of a home at a time: `kbo sync` while `kbo ui` syncs (or a
// second terminal) would send the same change sets and photo chunks twice
// over a paid link and count them twice. An advisory lock on
// <home>/sync.lock, held while Sync() runs and dropped by the kernel if the
// process dies. (The phone app's browser build has one page and no flock.)
class SyncLock {
 public:
  ~SyncLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  // kUnavailable if another sync holds it; nothing is changed then.
  Status Take(const std::string& home) {
#ifdef __EMSCRIPTEN__
    (void)home;
    return Status();
#else
    const std::string path = home + "/sync.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Status::Unavailable(
                   "another sync of this device is running (kbo ui, or kbo "
                   "sync in another window); nothing was sent twice and "
                   "everything is kept: try again when it ends")
            .WithReason("sync_running");
      }
      return Status::IOError("cannot lock " + path + ": " + std::strerror(errno));
    }
    return Status();
#endif
  }

 private:
  int fd_ = -1;
};

}  // namespace

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
                                      Headers extra_headers, bool sign,
                                      bool retry) {
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
                       req.body, store_.wall().NowMillis() + request_clock_offset_ms_,
                       NewNonce())) {
        req.headers.push_back(std::move(h));
      }
      if (request_clock_offset_ms_ != 0) {
        // What the office's device list shows is this device's own clock.
        req.headers.emplace_back(protocol::kClockAdjustHeader,
                                 std::to_string(request_clock_offset_ms_));
      }
    }
    Result<HttpResponse> r = transport_->Send(base_url_, req);
    if (r.ok()) {
      if (counters_ != nullptr) {
        counters_->bytes_sent += req.body.size();
        counters_->bytes_received += r->body.size();
      }
      // A web page where the server's answer should be: the network's own
      // sign-in page (a hotspot, a prepaid SIM out of data) answering in the
      // server's place. The server answers the sync's requests in JSON or
      // bytes, never HTML. Said as such, not as a damaged receipt.
      if (LooksLikeSignInPage(*r, base_url_)) {
        // Sent on elsewhere: where, since it may be the server's own new
        // address rather than a hotspot's page.
        const std::string* to = r->status >= 300 && r->status < 400
                                    ? r->Header("location")
                                    : nullptr;
        return Status::Unavailable(
                   "the network answered " + base_url_ +
                   " with a web page, not the server: a Wi-Fi or mobile-data "
                   "sign-in page? Open a web browser, sign in (or top up), then "
                   "try again — everything is kept" +
                   (to != nullptr
                        ? " (it sent the request on to " + to->substr(0, 200) +
                              "; if that is the server's new address, sync with "
                              "--server at it)"
                        : std::string()))
            .WithReason("sign_in_page");
      }
      if (sign && r->status == 401 && !request_clock_adjusted_) {
        // A clock a few minutes off (a phone without automatic time): the
        // request is signed again by the server's clock, once. The server
        // checks the window by its own clock still; nothing else changes.
        Status said;
        const std::optional<int64_t> server_now =
            ParseErrorBody(r->body, r->status, &said).ok() && said.reason() == "clock_skew"
                ? ServerClockOf(r->body, r->Header("date"))
                : std::nullopt;
        const int64_t off =
            server_now ? *server_now - store_.wall().NowMillis() : 0;
        if (server_now && off != 0 && off >= -protocol::kMaxRowAheadMs &&
            off <= protocol::kMaxRowAheadMs) {
          request_clock_adjusted_ = true;
          request_clock_offset_ms_ = off;
          if (options_.on_clock_off) options_.on_clock_off(-off);
          continue;
        }
      }
      if (r->status == 400) {
        // The server received the body short (the connection cut, or
        // half-closed by the network, while it went): a network failure,
        // not a refusal; tried again as one.
        Status said;
        if (ParseErrorBody(r->body, r->status, &said).ok() &&
            said.reason() == protocol::kIncompleteBodyReason) {
          r = Status::Unavailable("the connection broke while sending (the server "
                                  "received part of the request)");
        }
      }
    }
    if (r.ok()) {
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
    if (!retry || attempt >= options_.retry_backoff_ms.size()) {
      return Status::Unavailable("cannot reach " + base_url_ + ": " +
                                 r.status().message() + kRetryLater);
    }
    Sleep(options_.retry_backoff_ms[attempt]);
    ++attempt;
  }
}

namespace {
// "host" of "scheme://host:port/path" in lower case (the port left out:
// an https redirect changes it); "" for a relative reference ("/login":
// the same host).
std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (const size_t at = url.rfind('@'); at != std::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  const size_t colon = url.rfind(':');
  if (colon != std::string_view::npos && url.find(']', colon) == std::string_view::npos) {
    url = url.substr(0, colon);
  }
  return Lower(url);
}
}  // namespace

bool LooksLikeSignInPage(const HttpResponse& response, std::string_view base_url) {
  // 511 Network Authentication Required is a portal saying so.
  if (response.status == 511) return true;
  // A redirect elsewhere is a hotspot sending the device to its page. One
  // to the same host is not: an HTTPS redirect in front of the server
  // (nginx's `return 301`) answers in HTML too, and is said as the HTTP
  // status it is.
  if (response.status >= 300 && response.status < 400) {
    const std::string* location = response.Header("location");
    if (location == nullptr) return false;
    const std::string to = HostOf(*location);
    return !to.empty() && to != HostOf(base_url);
  }
  const std::string* type = response.Header("content-type");
  const bool html = type != nullptr && Lower(*type).rfind("text/html", 0) == 0;
  // A proxy, or a portal, asking for a login before anything passes: 407
  // always; 401 and 403 in HTML (the server's own refusals are JSON, and
  // said as the refusals they are).
  if (response.status == 407) return true;
  if (response.status == 401 || response.status == 403) return html;
  if (response.status < 200 || response.status >= 300) return false;
  return html;
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
  // A refusal in HTML, not the server's JSON: another web server at that
  // address (a mistyped port, the office's web site), or one in front of
  // the server that does not pass the sync on. Nothing was taken: said to
  // try again once the address is right (4), not as a refusal of this
  // device's records (5); the same cause gave 4 or 5 by which request met
  // it.
  if ((response.status >= 400 && response.status < 500) || response.status == 501) {
    Status body;
    const std::string* type = response.Header("content-type");
    if (!ParseErrorBody(response.body, response.status, &body).ok() && type != nullptr &&
        Lower(*type).rfind("text/html", 0) == 0) {
      return Status::Unavailable(
                 base_url_ + " answered " + std::string(what) + " with " + http +
                 " and a web page, not as a KBO server answers: is it the server's "
                 "address (kbo-server serve prints it), or does a web server in front "
                 "of it not pass the sync on? Nothing was taken; everything is kept")
          .WithReason("not_kbo_server");
    }
  }
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
  if (error == "revoked") {
    // What the person holding the phone needs to know: nothing is lost, and
    // how it reaches the office (docs/operations.md "A revoked device's
    // records").
    message += ". Everything recorded on this device is kept here. To bring "
               "what was not sent to the office: kbo bundle export FILE "
               "--photos, and give them the file (they import it with "
               "--accept-revoked " + store_.device_id().ToString() +
               "); or, if the office gives this device a new enrolment token, "
               "kbo enroll with it: what was not sent goes as the new device's";
  }
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
  // Enrolling resets the cursors and upload state a running sync would
  // write back over: not while one runs.
  SyncLock lock;
  if (Status s = lock.Take(store_.paths().dir); !s.ok()) return s;
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
        *url + " instead (nothing is deleted either way)")
        .WithReason("pending_elsewhere");
  }
  base_url_ = *url;
  // A device whose change sets forked from the server's (restored from a
  // backup, copied) enrols as a new device, with a new key: what the server
  // has not confirmed goes as that device's change sets (MoveToNewDevice).
  // The new identity is kept in field.db before the server hears of it, so
  // an enrolment tried again asks with the same one (docs/protocol.md).
  // So does a device the server revoked, given a new token for it by the
  // office (the person kept the phone): the server never lets the revoked
  // identity in again, and what it did not confirm — recorded before the
  // revocation or since — goes as the new device's, kept on the phone
  // throughout (the phone app has no bundle to carry it).
  std::optional<int64_t> forked;
  std::optional<KeyPair> new_key;
  Uuid new_device;
  {
    Statement fs(store_.db(), "SELECT forked_seq FROM sync_state WHERE singleton = 1");
    if (fs.Step() && !fs.IsNull(0)) forked = fs.ColumnInt(0);
    if (!fs.status().ok()) return fs.status();
  }
  bool was_revoked = !forked.has_value() && st->enrolled && st->revoked && st->server == *url;
  bool key_taken = false;
  wire::EnrollRequest req;
  Result<HttpResponse> r = Status::Internal("the enrolment was not sent");
  for (int attempt = 0;; ++attempt) {
    if (was_revoked) forked = 0;
    if (forked.has_value() && !new_key.has_value()) {
      Result<std::optional<NextIdentity>> next = ReadNextIdentity(store_.db());
      if (!next.ok()) return next.status();
      if (next->has_value() && (*next)->device != store_.device_id()) {
        new_device = (*next)->device;
        new_key = std::move((*next)->key);
      }
    }
    if (forked.has_value() && !new_key.has_value()) {
      new_key = KeyPair::Generate();
      new_device = Uuid::Random();
      std::string text = new_key->ToKeyText();
      Statement keep(store_.db(),
                     "UPDATE sync_state SET next_device_id = ?1, next_device_key = ?2");
      keep.Bind(1, std::string_view(new_device.ToString())).Bind(2, std::string_view(text));
      const Status kept = keep.Run();
      std::fill(text.begin(), text.end(), '\0');
      if (!kept.ok()) return kept;
    }
    req = wire::EnrollRequest();
    req.token = token;
    req.device_id = forked.has_value() ? new_device : store_.device_id();
    req.public_key = forked.has_value() ? new_key->public_key() : store_.key().public_key();
    req.clock_ms = store_.wall().NowMillis();
    if (forked.has_value()) {
      // The identity it leaves signs for the new one: the server then asks
      // this device for the originals of the photos that one took.
      req.predecessor = wire::EnrollPredecessor{
          store_.device_id(),
          store_.key().Sign(wire::kSuccessorDomain,
                            wire::SuccessorMessage(store_.device_id(), req.device_id,
                                                   req.public_key))};
    }
    Result<std::string> body = wire::EncodeEnrollRequest(req);
    if (!body.ok()) return body.status();
    r = Call("POST", std::string(protocol::kEnrollPath), std::move(*body),
             "application/json", protocol::kMaxJsonBytes, {}, /*sign=*/false);
    if (!r.ok()) return r.status();
    if (r->status == 200) break;
    // Revoked, and this device had not heard (no sync since): the server
    // refused the identity, not the token, which it has not used. As
    // above, a new device with the office's new token, asked once more.
    Status said;
    const bool told = ParseErrorBody(r->body, r->status, &said).ok();
    if (attempt == 0 && !forked.has_value() && r->status == 403 && told &&
        said.reason() == "revoked") {
      was_revoked = true;
      continue;
    }
    // A device never enrolled whose key the server holds for another
    // device: its field.db was lost or replaced and device.key kept (kbo
    // reuses a key it finds). Nothing was ever signed for the server under
    // this id, so a new id and key are as good: asked once more with them.
    if (attempt == 0 && !forked.has_value() && !st->enrolled && told &&
        said.reason() == "device_exists") {
      key_taken = true;
      forked = 0;
      continue;
    }
    return Refusal(*r, "the enrolment");
  }

  Result<wire::EnrollReply> answer = wire::ParseEnrollReply(r->body);
  if (!answer.ok()) {
    return Status::Corruption(*url + " answered the enrolment wrongly (" +
                              answer.status().message() +
                              "); nothing was saved");
  }
  EnrollResult out;
  out.device_id = req.device_id;
  out.server_url = *url;
  if (answer->device_id != req.device_id) {
    return Status::Corruption(
        *url + " enrolled device " + answer->device_id.ToString() +
        ", not this one (" + req.device_id.ToString() +
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
  std::optional<MoveResult> moved;
  if (forked.has_value()) {
    Result<MoveResult> m = MoveToNewDevice(store_, new_device, *new_key);
    if (!m.ok()) return m.status();
    moved = *m;
    out.forked_from = store_.device_id();
    out.moved_rows = m->moved_rows;
    out.was_revoked = was_revoked;
    out.key_was_taken = key_taken;
  }
  std::optional<DistrictScope> had;
  {
    Statement old(
        db,
        "SELECT server_url, server_public_key, districts FROM device WHERE singleton = 1");
    if (old.Step() && !old.IsNull(0)) {
      out.server_changed = old.ColumnText(0) != out.server_url ||
                           old.ColumnText(1) != out.server_public_key;
      had = DistrictScope::ReadStored(old.IsNull(2) ? std::string() : old.ColumnText(2));
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
                    "UPDATE sync_state SET pull_cursor = 0, pull_since = 0, server_since = 0,"
                    " conflict_cursor = 0,"
                    " last_error = NULL, last_error_reason = NULL,"
                    " server_seq_epoch = 0, server_zstd = ?1 WHERE singleton = 1");
    reset.Bind(1, static_cast<int64_t>(SaysZstd(*r) ? 1 : 0));
    if (Status s = reset.Run(); !s.ok()) return s;
  }
  if (had.has_value() && !out.server_changed) {
    // The same server, fewer districts (an officer moved to another
    // district): what it held of the districts taken away leaves this
    // device, as a row that moves away does (TakeDepartures). The pull
    // from 0 below brings every row of the districts it has now.
    const DistrictScope now = DistrictScope::ReadStored(out.districts);
    if (!now.all) {
      std::set<std::pair<std::string, Uuid>> leaving;
      for (const Entity& e : Catalogue()) {
        Statement rows(db, "SELECT id, district_code FROM " + std::string(e.name));
        while (rows.Step()) {
          if (now.Contains(rows.ColumnText(1))) continue;
          Result<Uuid> id = Uuid::Parse(rows.ColumnText(0));
          if (!id.ok()) continue;
          Result<bool> held = ServerHeldRow(db, e.name, *id);
          if (!held.ok()) return held.status();
          // A row the server never took stays: pushed, it is refused and
          // listed, and its typing is there to be fixed or dismissed.
          if (!*held) continue;
          // So does a photo whose picture has not gone up: its file stays
          // with its row (a bundle carries both), not orphaned in blobs/.
          if (std::string_view(e.name) == "photo") {
            Statement up(db,
                         "SELECT EXISTS (SELECT 1 FROM photo p JOIN blob_upload b ON "
                         "b.sha256 = p.sha256 WHERE p.id = ?1 AND b.done_at IS NULL)");
            up.Bind(1, std::string_view(id->ToString()));
            const bool unsent = up.Step() && up.ColumnInt(0) != 0;
            if (!up.status().ok()) return up.status();
            if (unsent) continue;
          }
          leaving.emplace(std::string(e.name), *id);
        }
        if (!rows.status().ok()) return rows.status();
      }
      if (Status s = RemoveRowsLeaving(db, store_.device_id(), &leaving, &out.rows_left);
          !s.ok()) {
        return s;
      }
    }
  }
  if (out.server_changed) {
    // Another server's conflict records and upload progress mean nothing to
    // this one. Change sets stay: the new server asks for the sequence it
    // expects (409 sequence_gap) and Push() follows it.
    if (Status s = db.Exec(
            "DELETE FROM conflict;"
            "UPDATE blob_upload SET uploaded_bytes = 0, done_at = NULL,"
            " refused_at = NULL, refusal = NULL;"
            "UPDATE original_send SET announced_at = NULL, refused_at = NULL,"
            " refusal = NULL");
        !s.ok()) {
      return s;
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  if (moved.has_value()) {
    // field.db names the new key now (and keeps it until the first push is
    // taken): a stop before this file is written is finished by the next
    // start (ClientStore::Open).
    if (Status s = new_key->SaveToFile(store_.paths().key); !s.ok()) {
      return Status::IOError("enrolled as device " + new_device.ToString() +
                             ", but its key file could not be written (" + s.message() +
                             "); the next kbo command writes it");
    }
    store_.AdoptIdentity(new_device, std::move(*new_key), moved->clock);
  }
  return out;
}

Result<SyncSummary> SyncClient::Sync() {
  refused_ = false;
  last_summary_ = SyncSummary();
  upload_ceiling_ = protocol::kBlobChunkBytes;
  SyncLock lock;
  if (Status s = lock.Take(store_.paths().dir); !s.ok()) return s;
  SyncSummary summary;
  Status s = Push(&summary);
  if (s.ok() && options_.full_pull) {
    s = store_.db().Exec(
        "UPDATE sync_state SET pull_cursor = 0, pull_since = 0, conflict_cursor = 0"
        " WHERE singleton = 1");
  }
  server_device_seq_.reset();
  server_seq_epoch_.reset();
  if (s.ok()) s = Pull(&summary);
  bool rechecked = false;
  // (A records-only sync leaves every photo step below to the next sync:
  // the cursors they clear stay set for it.)
  const bool photos = !options_.records_only;
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
      // Its photos may be lost with them: the ones it lacks go again (in
      // a records-only sync, noted for the next: photos_recheck).
      if (s.ok()) s = photos ? RecheckUploads() : SetCursor(store_.db(), "photos_recheck", 1);
      rechecked = photos;
    }
  }
  if (s.ok() && photos) {
    // The server sent this device back, in this sync or one cut before it
    // got here (restored with its sequence-high-water file: no epoch
    // moves): photos uploaded after the backup may be lost with blobs/.
    // Or its newest photo is gone from the server (a restore after it came,
    // before this device pulled again: protocol.h kLastUploadHeader).
    Result<uint64_t> pending = ReadCursor(store_.db(), "photos_recheck");
    if (!pending.ok()) {
      s = pending.status();
    } else if (*pending != 0 || last_upload_lost_) {
      if (!rechecked) s = RecheckUploads();
      rechecked = true;
      if (s.ok()) s = SetCursor(store_.db(), "photos_recheck", 0);
    }
  }
  if (s.ok() && photos && server_seq_epoch_.has_value()) {
    // The server was restored from a backup since this device last looked
    // (its sequence epoch moved): photos uploaded after that backup may be
    // lost with blobs/ even when no change set was. Asked once per epoch.
    Result<uint64_t> seen = ReadCursor(store_.db(), "server_seq_epoch");
    if (!seen.ok()) {
      s = seen.status();
    } else if (*seen != *server_seq_epoch_) {
      if (!rechecked) s = RecheckUploads();
      if (s.ok()) s = SetCursor(store_.db(), "server_seq_epoch", *server_seq_epoch_);
    }
  }
  if (s.ok() && photos) {
    s = UploadBlobs(&summary);
    // A photo missing or damaged here (kIOError, after the others went)
    // does not hold back the originals asked for.
    if (s.ok() || s.code() == Code::kIOError) {
      Status originals = SendOriginals(&summary);
      if (s.ok()) s = originals;
    }
  }
  if (s.ok() && photos) {
    // Other devices' photos, as thumbnails (client/photo_fetch.h). Never
    // fails the sync: what is not fetched now comes with the next one.
    summary.thumbnails_fetched =
        FetchThumbnails(store_, *transport_, base_url_).fetched;
  }
  counters_ = nullptr;
  // A clock minutes off (synced by the server's): said with the outcome.
  if (request_clock_adjusted_) summary.clock_off_ms = -request_clock_offset_ms_;
  last_summary_ = summary;
  if (!s.ok()) return RecordSyncError(s);

  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  {
    Statement st(db,
                 "UPDATE sync_state SET last_sync_at = ?1, last_error = NULL,"
                 " last_error_reason = NULL WHERE singleton = 1");
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
               // A revoked device stays shown as revoked through a later
               // failure that says nothing of it (no signal, a timeout):
               // only a successful sync or enrolment clears it.
               "UPDATE sync_state SET last_error = ?1, last_error_reason = "
               "COALESCE(?2, CASE WHEN last_error_reason = 'revoked' THEN "
               "'revoked' END) WHERE singleton = 1");
  st.Bind(1, std::string_view(error.message()));
  if (!error.reason().empty()) st.Bind(2, std::string_view(error.reason()));
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


Status RunSyncForUi(ClientStore& store, SyncSummary* summary,
                    const SyncProgress& progress, bool records_only) {
  *summary = SyncSummary();
  SyncOptions options;
  options.records_only = records_only;
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
  // Failed part-way, what was done before is still said.
  *summary = client.last_summary();
  return r.status();
}


}  // namespace kbo::client
