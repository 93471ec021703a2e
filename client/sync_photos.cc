#include "client/sync_client.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "client/blob_store.h"
#include "client/photo_record.h"
#include "client/sync_internal.h"
#include "client/sync_state.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

namespace kbo::client {
namespace {

// What a person is told of a photo whose file is gone from blobs/ (deleted
// by hand, a card replaced): which photo rows it is, and the two ways out.
// Their records sync without it; the sync ends non-zero until one is taken.
// "" when no live photo row names it (an original, whose row names its
// upload copy: the caller says it as before).
std::string MissingPhotoMessage(Db& db, const std::string& sha256,
                                const std::string& blobs_dir) {
  Statement st(db,
               "SELECT id, subject_type, subject_id, COALESCE(caption, '') FROM photo "
               "WHERE sha256 = ?1 AND deleted = 0 ORDER BY id LIMIT 4");
  st.Bind(1, std::string_view(sha256));
  std::vector<std::string> rows;
  std::string first;
  while (st.Step()) {
    if (first.empty()) first = st.ColumnText(0);
    std::string one = st.ColumnText(0) + " (of " + st.ColumnText(1) + " " +
                      st.ColumnText(2).substr(0, 8);
    if (!st.ColumnText(3).empty()) one += ", \"" + st.ColumnText(3) + "\"";
    rows.push_back(one + ")");
  }
  if (!st.status().ok() || rows.empty()) return std::string();
  std::string said = rows.size() == 1 ? "the file of photo " : "the file of photos ";
  for (size_t i = 0; i < rows.size() && i < 3; ++i) said += (i ? ", " : "") + rows[i];
  if (rows.size() > 3) said += " and more";
  return said + " is missing from " + blobs_dir + " (" + sha256.substr(0, 12) +
         "…): its record went to the server without it. Put the file back (from a "
         "copy of this folder), or delete the photo (kbo delete photo " + first +
         ") and take it again; the other photos were sent";
}

// What an original's upload (counted by UploadOne as a photo's, in `sent`)
// adds to the sync's counts of originals.
void AddOriginal(const SyncSummary& sent, SyncSummary* summary) {
  if (summary == nullptr) return;
  summary->originals_uploaded += sent.blobs_uploaded;
  summary->original_bytes += sent.blob_bytes;
  summary->originals_already_held += sent.blobs_already_held;
  summary->originals_held_back += sent.blobs_held_back;
  summary->blobs_refused += sent.blobs_refused;
}

}  // namespace

// The place of an upload confirmed whole now (blob_upload.done_seq): after
// every other (the newest is what a pull asks the server about).
constexpr const char* kNextDoneSeq = "(SELECT COALESCE(MAX(done_seq), 0) + 1 FROM blob_upload)";

Status SyncClient::UploadBlobs(SyncSummary* summary) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  struct Pending {
    std::string sha256;
    uint64_t bytes;
    uint64_t uploaded;
    bool original;  // an original asked for, resumed here (SendOriginals)
  };
  std::vector<Pending> pending;
  {
    // An original is one noted as some photo's original, other than its
    // upload copy, that no photo row names: counted as an original, not as
    // a photo, when its upload goes on here after a cut.
    Statement st(store_.db(),
                 "SELECT b.sha256, b.bytes, b.uploaded_bytes, "
                 "EXISTS (SELECT 1 FROM photo_original o WHERE "
                 "o.original_sha256 = b.sha256 AND o.upload_sha256 != b.sha256) "
                 "AND NOT EXISTS (SELECT 1 FROM photo p WHERE p.sha256 = b.sha256) "
                 "FROM blob_upload b WHERE b.done_at IS NULL AND b.refused_at IS NULL "
                 "AND " + std::string(kBlobUploadWanted) + " ORDER BY b.rowid");
    while (st.Step()) {
      pending.push_back({st.ColumnText(0),
                         static_cast<uint64_t>(st.ColumnInt(1)),
                         static_cast<uint64_t>(st.ColumnInt(2)),
                         st.ColumnInt(3) != 0});
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
  // at most 1 MiB (an upload copy is) that the server lists as missing, and
  // of which nothing was confirmed here, goes up at once without a request
  // for its state first -- a round trip less a photo on a slow link. If the
  // server holds some of it (another device sending the same one, or a
  // chunk whose answer was lost) the first chunk is answered offset_mismatch
  // with what it holds, and the upload resumes from there.
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
    SyncSummary original;
    Status s = UploadOne(p.sha256, p.bytes, p.uploaded,
                         nothing_held ? std::optional<uint64_t>(0) : std::nullopt,
                         p.original ? &original : summary, &local);
    if (p.original) AddOriginal(original, summary);
    if (s.ok()) continue;
    // A photo missing or damaged on this device must not hold back the
    // others; it is reported at the end.
    if (!local) return s;
    if (first_local_error.ok()) first_local_error = s;
  }
  return first_local_error;
}

Status SyncClient::RecheckUploads() {
  {
    // No photo ever uploaded from here: nothing to ask about.
    Statement any(store_.db(),
                  "SELECT 1 FROM blob_upload WHERE done_at IS NOT NULL AND "
                  "refused_at IS NULL LIMIT 1");
    const bool uploaded = any.Step();
    if (!any.status().ok()) return any.status();
    if (!uploaded) return Status();
  }
  std::optional<std::vector<std::string>> missing;
  Result<HttpResponse> r =
      Call("GET", std::string(protocol::kBlobsMissingPath), "", "", kMaxMissingBytes);
  if (!r.ok()) return r.status();
  if (r->status == 200) {
    Result<std::vector<std::string>> listed = wire::ParseMissingBlobs(r->body);
    if (listed.ok() && listed->size() < protocol::kMissingBlobsListed) {
      missing = std::move(*listed);
    }
  }
  // The server said it no longer holds this device's newest photo: sent
  // again even if its list leaves it out (a file lost under a record).
  if (missing.has_value() && last_upload_lost_ &&
      std::find(missing->begin(), missing->end(), last_upload_) == missing->end()) {
    missing->push_back(last_upload_);
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  constexpr const char* kAgain =
      "UPDATE blob_upload SET done_at = NULL, uploaded_bytes = 0 WHERE "
      "done_at IS NOT NULL AND refused_at IS NULL";
  if (missing.has_value()) {
    Statement& again = db.Cached(std::string(kAgain) + " AND sha256 = ?1");
    for (const std::string& sha : *missing) {
      again.Bind(1, std::string_view(sha));
      if (Status s = again.Run(); !s.ok()) return s;
      if (Status s = again.Reset(); !s.ok()) return s;
    }
  } else if (Status s = db.Exec(kAgain); !s.ok()) {
    return s;
  }
  return txn.Commit();
}

size_t UploadChunkBytes(uint64_t rate_bytes_per_s, int64_t read_timeout_ms) {
  if (rate_bytes_per_s == 0) return kFirstUploadChunkBytes;
  const uint64_t target_ms = static_cast<uint64_t>(
      std::clamp<int64_t>(read_timeout_ms / 3, 1000, 10000));
  constexpr uint64_t kStep = 16 << 10;
  // rate * target without overflow: rates above 1 GB/s are all "fast".
  const uint64_t rate = std::min<uint64_t>(rate_bytes_per_s, uint64_t{1} << 30);
  const uint64_t bytes = rate * target_ms / 1000 / kStep * kStep;
  return static_cast<size_t>(std::clamp<uint64_t>(bytes, kMinUploadChunkBytes,
                                                  protocol::kBlobChunkBytes));
}

Status SyncClient::UploadOne(const std::string& sha256, uint64_t total,
                             uint64_t uploaded, std::optional<uint64_t> known_held,
                             SyncSummary* summary, bool* local) {
  const std::string what = "photo " + sha256.substr(0, 12);
  const std::string path = std::string(protocol::kBlobPathPrefix) + sha256;
  Db& db = store_.db();
  auto save = [&db, &sha256](uint64_t received, bool done,
                             const std::string& now) {
    Statement st(
        db,
        done ? std::string("UPDATE blob_upload SET uploaded_bytes = ?2, done_at = ?3, done_seq = ") +
                   kNextDoneSeq + " WHERE sha256 = ?1"
             : "UPDATE blob_upload SET uploaded_bytes = ?2 WHERE sha256 = ?1");
    st.Bind(1, std::string_view(sha256))
        .Bind(2, static_cast<int64_t>(received));
    if (done) st.Bind(3, std::string_view(now));
    return st.Run();
  };

  // Larger than a server takes (its cap is the protocol's): no sync would
  // change that. Kept here and set aside (kbo status lists it), not sent
  // again to this server; the other photos go on.
  const auto set_aside = [&](const std::string& why) {
    Statement st(db,
                 "UPDATE blob_upload SET refused_at = ?2, refusal = ?3 "
                 "WHERE sha256 = ?1");
    st.Bind(1, std::string_view(sha256))
        .Bind(2, std::string_view(store_.NowIso()))
        .Bind(3, std::string_view(why));
    if (Status s = st.Run(); !s.ok()) return s;
    if (summary != nullptr) ++summary->blobs_refused;
    // Off the progress bar: it will not be sent.
    photo_total_ -= std::min(total, photo_total_);
    photo_done_ -= std::min(std::min(uploaded, total), photo_done_);
    Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
    return Status();
  };
  if (total > protocol::kMaxBlobBytes) {
    // Known before a byte is read or sent.
    return set_aside(what + " is " + HumanSize(total, /*round_up=*/true) +
                     ", larger than the " +
                     HumanSize(protocol::kMaxBlobBytes, /*round_up=*/false) +
                     " a server takes");
  }

  // How much does the server hold? (404: nothing yet.) Not asked when the
  // server has just said (UploadBlobs: listed as missing; SendOriginals:
  // the notice's answer).
  Result<HttpResponse> r = HttpResponse{};
  if (known_held.has_value()) {
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
  } else if (known_held.has_value()) {
    received = *known_held;
  }
  if (complete) {
    // Deduplicated: another device, or a bundle, brought it already.
    photo_done_ += total - std::min(uploaded, total);
    Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
    if (summary != nullptr) ++summary->blobs_already_held;
    return save(total, true, store_.NowIso());
  }

  Result<std::string> bytes =
      ReadQueuedBlob(store_.paths().blobs, sha256, static_cast<size_t>(total));
  if (!bytes.ok()) {
    *local = true;
    if (bytes.status().code() == Code::kNotFound) {
      if (std::string said = MissingPhotoMessage(db, sha256, store_.paths().blobs);
          !said.empty()) {
        return Status::IOError(said).WithReason("photo_file_missing");
      }
    }
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
  int lost_answers = 0;   // chunks in a row whose answer did not come
  uint64_t sent_now = 0;  // this photo's bytes sent by this sync
  while (received < total && !complete) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(
        std::min(UploadChunkBytes(upload_rate_, options_.timeouts.read_ms), upload_ceiling_),
        total - received));
    const std::string_view chunk =
        std::string_view(*bytes).substr(static_cast<size_t>(received), n);
    const auto sent_at = std::chrono::steady_clock::now();
    Result<HttpResponse> put = Call(
        "PUT",
        path + "?offset=" + std::to_string(received) +
            "&total=" + std::to_string(total),
        std::string(chunk), "application/octet-stream", protocol::kMaxJsonBytes,
        {{protocol::kChunkHashHeader, HexEncode(Sha256(chunk))}}, /*sign=*/true,
        /*retry=*/false);
    if (!put.ok()) {
      // The answer did not come (a timeout, a reset): the chunk may well
      // have arrived. What the server holds is asked (a small answer, tried
      // again as any request) before a byte is sent again, and the upload
      // goes on from there: a chunk that arrived is not sent twice.
      if (put.status().code() != Code::kUnavailable ||
          ++lost_answers > kMaxLostAnswers) {
        return put.status();
      }
      // A link that dropped for a moment is given the moment back, as any
      // request tried again is (0.5 s, 1 s, 2 s).
      const std::vector<int64_t>& backoff = options_.retry_backoff_ms;
      if (!backoff.empty()) {
        Sleep(backoff[std::min(static_cast<size_t>(lost_answers - 1), backoff.size() - 1)]);
      }
      Result<HttpResponse> asked = Call("GET", path, "", "", protocol::kMaxJsonBytes);
      if (!asked.ok()) return asked.status();
      uint64_t held = 0;
      if (asked->status >= 200 && asked->status < 300) {
        Result<wire::BlobState> state = wire::ParseBlobState(asked->body);
        if (!state.ok()) {
          return Status::Corruption(base_url_ + " answered the state of " + what +
                                    " wrongly: " + state.status().message());
        }
        held = std::min(state->received, total);
        complete = state->complete;
      } else if (asked->status != 404) {
        return Refusal(*asked, "the state of " + what);
      }
      if (held >= received + n) {  // this chunk arrived: sent once
        if (summary != nullptr) summary->blob_bytes += n;
        sent_now += n;
      }
      // The link is slower than measured: `n` bytes took longer than the
      // read timeout, so the rate is below n per timeout; half that, for
      // smaller chunks from here. Only answers lost with nothing gained
      // since the last one count towards giving up.
      upload_rate_ = static_cast<uint64_t>(n) * 1000 /
                     static_cast<uint64_t>(std::max<int64_t>(options_.timeouts.read_ms, 1)) / 2;
      upload_ceiling_ = std::max(kMinUploadChunkBytes, n / 2);
      if (held > received) lost_answers = 0;
      photo_done_ = photo_done_ - std::min(received, photo_done_) + held;
      received = held;
      if (Status s = save(received, false, ""); !s.ok()) return s;
      Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
      continue;
    }
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
      sent_now += n;
      lost_answers = 0;  // a chunk got through since the last lost answer
      const int64_t took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - sent_at)
                                  .count();
      // A short last chunk's time is mostly the round trip: not a rate.
      if (n >= kMinUploadChunkBytes) {
        upload_rate_ = static_cast<uint64_t>(n) * 1000 /
                       static_cast<uint64_t>(std::max<int64_t>(took_ms, 1));
      }
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
    if (put->status == 413 && error == "too_large" &&
        total > protocol::kMaxBlobBytes) {
      // The file grew past the cap after it was queued. Any other 413 (a
      // proxy's smaller body limit, say) is a refusal as before: nothing is
      // set aside on a guess.
      return set_aside(said.message());
    }
    if ((put->status == 403 && error == "blob_not_named") ||
        (put->status == 413 && error == "partial_cap") ||
        (put->status == 400 && error == "bad_total")) {
      // The server holds no photo row in this device's districts for it
      // (its row was refused, or deleted), or this device's unfinished
      // uploads there are at their cap, or no row gives it this size (its
      // row not there yet in that form): it stays here, kept and queued,
      // and the other photos go on.
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
  if (summary != nullptr) {
    ++summary->blobs_uploaded;
    // The rest went in an earlier sync, cut short: not sent again.
    summary->blob_bytes_before += total - std::min(sent_now, total);
  }
  return save(total, true, store_.NowIso());
}

Status SyncClient::DeclineOriginal(const Uuid& photo, const char* reason) {
  wire::OriginalNotice notice;
  notice.photo_id = photo;
  notice.declined = reason;
  Result<HttpResponse> r = Call("POST", std::string(protocol::kOriginalsPath),
                                wire::EncodeOriginalNotice(notice),
                                "application/json", protocol::kMaxJsonBytes);
  if (!r.ok()) return r.status();
  // A refusal (the row deleted or changed there since) leaves nothing to
  // decline; the request is the server's to drop.
  return Status();
}

Status SyncClient::SendOriginals(SyncSummary* summary) {
  original_refusals_.clear();
  counters_ = summary;
  Db& db = store_.db();
  const auto hold_back = [&](const std::string& photo_id, const std::string& why) {
    // Not tried again until the person asks again (kbo photo
    // upload-originals).
    if (summary != nullptr) ++summary->originals_held_back;
    original_refusals_.push_back(why);
    Statement& st = db.Cached(
        "UPDATE original_send SET refused_at = ?2, refusal = ?3 WHERE photo_id = ?1");
    st.Bind(1, std::string_view(photo_id))
        .Bind(2, std::string_view(store_.NowIso()))
        .Bind(3, std::string_view(why));
    return st.Run();
  };
  if (originals_requested_) {
    originals_requested_ = false;
    Result<HttpResponse> r = Call("GET", std::string(protocol::kOriginalsPath), "",
                                  "", kMaxRequestedBytes);
    if (!r.ok()) return r.status();
    if (r->status == 200) {
      Result<std::vector<Uuid>> asked = wire::ParseOriginalRequests(r->body);
      if (!asked.ok()) {
        return Status::Corruption(base_url_ +
                                  " listed the originals asked for wrongly: " +
                                  asked.status().message());
      }
      for (const Uuid& photo : *asked) {
        // Asked of this device by the server, which knows who took it (an
        // earlier identity of this phone, too): not checked against this
        // identity.
        Result<std::optional<ClientStore::OwnOriginal>> own =
            store_.OriginalOf(photo, /*taken_here_only=*/false);
        if (!own.ok()) {
          // Deleted here since: the deletion goes with the next push.
          if (own.status().code() == Code::kNotFound) continue;
          return own.status();
        }
        if (!own->has_value()) {
          // None kept here (recorded before kbo kept originals): say so,
          // so that the office is not left waiting.
          if (Status s = DeclineOriginal(photo, "no_original"); !s.ok()) return s;
          continue;
        }
        // The server lacks it whole: announce it again (the same notice
        // changes nothing there) and let the upload go on; but an original
        // the server refused waits for the person.
        Statement& mark = db.Cached(
            "INSERT INTO original_send (photo_id, upload_sha256, requested_at) "
            "VALUES (?1, ?2, ?3) ON CONFLICT (photo_id) DO UPDATE SET "
            "announced_at = NULL, upload_sha256 = excluded.upload_sha256 "
            "WHERE refused_at IS NULL");
        const std::string id = photo.ToString();
        mark.Bind(1, std::string_view(id))
            .Bind(2, std::string_view((*own)->upload_sha256))
            .Bind(3, std::string_view(store_.NowIso()));
        if (Status s = mark.Run(); !s.ok()) return s;
      }
    } else if (r->status != 404) {
      // 404: a server without originals on request (older); nothing asked.
      return Refusal(*r, "the list of originals asked for");
    }
  }

  std::vector<std::string> pending;
  {
    Statement st(db,
                 "SELECT photo_id FROM original_send WHERE announced_at IS NULL "
                 "AND refused_at IS NULL ORDER BY requested_at, photo_id");
    while (st.Step()) pending.push_back(st.ColumnText(0));
    if (!st.status().ok()) return st.status();
  }
  if (pending.empty()) return Status();
  struct Asked {
    Uuid photo;
    ClientStore::OwnOriginal own;
  };
  std::vector<Asked> asked;
  photo_total_ = 0;
  photo_done_ = 0;
  for (const std::string& id : pending) {
    Result<Uuid> photo = Uuid::Parse(id);
    Result<std::optional<ClientStore::OwnOriginal>> own =
        photo.ok() ? store_.OriginalOf(*photo, /*taken_here_only=*/false)
                   : Result<std::optional<ClientStore::OwnOriginal>>(
                         Status::NotFound("not a photo id"));
    if (!own.ok() && own.status().code() != Code::kNotFound) return own.status();
    if (!own.ok() || !own->has_value()) {
      if (Status s = hold_back(id, "photo " + id + " was deleted on this device, "
                                   "or no longer names the picture taken here");
          !s.ok()) {
        return s;
      }
      continue;
    }
    asked.push_back({*photo, **own});
    photo_total_ += static_cast<uint64_t>((*own)->bytes);
  }
  Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
  for (const Asked& a : asked) {
    const std::string id = a.photo.ToString();
    const std::string what = "the original of photo " + id;
    const std::string& sha = a.own.original_sha256;
    const uint64_t bytes = static_cast<uint64_t>(a.own.bytes);
    if (!BlobStore(OriginalsDir(store_.paths().blobs)).Has(sha) &&
        !BlobStore(store_.paths().blobs).Has(sha)) {
      // Gone from this device: it can never be sent. The office hears so.
      if (Status s = DeclineOriginal(a.photo, "missing"); !s.ok()) return s;
      if (Status s = hold_back(id, what + " (" + sha + ") is not on this device");
          !s.ok()) {
        return s;
      }
      continue;
    }
    wire::OriginalNotice notice;
    notice.photo_id = a.photo;
    notice.upload_sha256 = a.own.upload_sha256;
    notice.sha256 = sha;
    notice.bytes = bytes;
    notice.mime = a.own.mime;
    Result<HttpResponse> r =
        Call("POST", std::string(protocol::kOriginalsPath),
             wire::EncodeOriginalNotice(notice), "application/json",
             protocol::kMaxJsonBytes);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      if (r->status == 404 || r->status == 403 || r->status == 409 ||
          r->status == 413) {
        // This one cannot go (the photo deleted or changed there, taken on
        // another device, too large, or a server without originals): it
        // stays here, and the others go on.
        if (Status s = hold_back(id, what + ": " + ServerError(*r).message()); !s.ok()) {
          return s;
        }
        continue;
      }
      return Refusal(*r, what);
    }
    Result<wire::BlobState> state = wire::ParseBlobState(r->body);
    if (!state.ok()) {
      return Status::Corruption(base_url_ + " answered " + what +
                                " wrongly: " + state.status().message());
    }
    {
      // Announced: from now on it is an upload like a photo's, resumed by
      // the next sync's UploadBlobs if this one is cut short.
      Transaction txn(db);
      if (!txn.status().ok()) return txn.status();
      const std::string now = store_.NowIso();
      Statement& note = db.Cached(
          "UPDATE original_send SET announced_at = ?2 WHERE photo_id = ?1");
      note.Bind(1, std::string_view(id)).Bind(2, std::string_view(now));
      if (Status s = note.Run(); !s.ok()) return s;
      Statement& queue = db.Cached(
          "INSERT OR IGNORE INTO blob_upload (sha256, bytes, mime) VALUES "
          "(?1, ?2, ?3)");
      queue.Bind(1, std::string_view(sha))
          .Bind(2, static_cast<int64_t>(bytes))
          .Bind(3, std::string_view(a.own.mime));
      if (Status s = queue.Run(); !s.ok()) return s;
      // What the server says it holds is what the upload goes on from (a
      // server restored from a backup may hold less than was confirmed).
      Statement& held = db.Cached(
          std::string("UPDATE blob_upload SET uploaded_bytes = ?2, done_at = ?3, done_seq = "
                      "CASE WHEN ?3 IS NULL THEN done_seq ELSE ") +
          kNextDoneSeq + " END WHERE sha256 = ?1");
      held.Bind(1, std::string_view(sha))
          .Bind(2, static_cast<int64_t>(state->complete ? bytes : state->received));
      if (state->complete) {
        held.Bind(3, std::string_view(now));
      } else {
        held.BindNull(3);
      }
      if (Status s = held.Run(); !s.ok()) return s;
      if (Status s = txn.Commit(); !s.ok()) return s;
    }
    if (state->complete) {
      // Held whole already (a photo sent as taken: its original is its
      // upload copy).
      photo_done_ += bytes;
      Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
      if (summary != nullptr) ++summary->originals_already_held;
      continue;
    }
    photo_done_ += std::min(state->received, bytes);
    SyncSummary sent;
    bool local = false;
    // Counted as an original, not as a photo (the wire bytes go to
    // `summary` through counters_ as for every call).
    Status s = UploadOne(sha, bytes, state->received, state->received, &sent, &local);
    AddOriginal(sent, summary);
    if (s.ok()) continue;
    if (!local) return s;
    // Read back damaged: it can never be sent as it is.
    if (Status h = hold_back(id, s.message()); !h.ok()) return h;
  }
  return Status();
}

}  // namespace kbo::client
