#include "client/sync_client.h"

#include <algorithm>
#include <set>

#include "client/blob_store.h"
#include "client/photo_record.h"
#include "client/sync_internal.h"
#include "client/sync_state.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

namespace kbo::client {

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

  Result<std::string> bytes =
      ReadQueuedBlob(store_.paths().blobs, sha256, static_cast<size_t>(total));
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

Status SyncClient::SendOriginals(SyncSummary* summary) {
  original_refusals_.clear();
  counters_ = summary;
  Db& db = store_.db();
  if (originals_requested_) {
    originals_requested_ = false;
    Result<HttpResponse> r = Call("GET", std::string(protocol::kOriginalsPath), "",
                                  "", kMaxMissingBytes);
    if (!r.ok()) return r.status();
    if (r->status == 200) {
      Result<std::vector<std::string>> asked = wire::ParseOriginalRequests(r->body);
      if (!asked.ok()) {
        return Status::Corruption(base_url_ +
                                  " listed the originals asked for wrongly: " +
                                  asked.status().message());
      }
      Transaction txn(db);
      if (!txn.status().ok()) return txn.status();
      const std::string now = store_.NowIso();
      for (const std::string& upload : *asked) {
        // One this device does not hold (recorded elsewhere, or as taken on
        // an older kbo) matches no row: nothing to send.
        Statement& mark = db.Cached(
            "UPDATE photo_original SET requested_at = ?2 WHERE upload_sha256 = "
            "?1 AND requested_at IS NULL");
        mark.Bind(1, std::string_view(upload)).Bind(2, std::string_view(now));
        if (Status s = mark.Run(); !s.ok()) return s;
      }
      if (Status s = txn.Commit(); !s.ok()) return s;
    } else if (r->status != 404) {
      // 404: a server without originals on request (older); nothing asked.
      return Refusal(*r, "the list of originals asked for");
    }
  }

  struct Asked {
    std::string upload, original, mime;
    uint64_t bytes = 0;
  };
  std::vector<Asked> asked;
  {
    Statement st(db,
                 "SELECT upload_sha256, original_sha256, original_bytes, "
                 "original_mime FROM photo_original WHERE requested_at IS NOT "
                 "NULL AND announced_at IS NULL ORDER BY requested_at, rowid");
    while (st.Step()) {
      asked.push_back({st.ColumnText(0), st.ColumnText(1), st.ColumnText(3),
                       static_cast<uint64_t>(st.ColumnInt(2))});
    }
    if (!st.status().ok()) return st.status();
  }
  if (asked.empty()) return Status();
  photo_total_ = 0;
  photo_done_ = 0;
  for (const Asked& a : asked) photo_total_ += a.bytes;
  Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
  Status first_local_error;
  for (const Asked& a : asked) {
    std::string photo_id;
    {
      Statement st(db, "SELECT id FROM photo WHERE sha256 = ?1 AND deleted = 0 "
                       "ORDER BY id LIMIT 1");
      st.Bind(1, std::string_view(a.upload));
      if (st.Step()) photo_id = st.ColumnText(0);
      if (!st.status().ok()) return st.status();
    }
    Result<Uuid> id = Uuid::Parse(photo_id);
    if (!id.ok()) {
      // Deleted here since: its original goes nowhere.
      if (summary != nullptr) ++summary->originals_held_back;
      original_refusals_.push_back("the photo of " + a.upload.substr(0, 12) +
                                   " was deleted on this device");
      continue;
    }
    const std::string what = "the original of photo " + photo_id;
    const BlobStore originals(OriginalsDir(store_.paths().blobs));
    if (!originals.Has(a.original) && !BlobStore(store_.paths().blobs).Has(a.original)) {
      if (first_local_error.ok()) {
        first_local_error =
            Status::IOError(what + " (" + a.original + ") is not on this device");
      }
      continue;
    }
    wire::OriginalNotice notice;
    notice.photo_id = *id;
    notice.upload_sha256 = a.upload;
    notice.sha256 = a.original;
    notice.bytes = a.bytes;
    notice.mime = a.mime;
    Result<HttpResponse> r =
        Call("POST", std::string(protocol::kOriginalsPath),
             wire::EncodeOriginalNotice(notice), "application/json",
             protocol::kMaxJsonBytes);
    if (!r.ok()) return r.status();
    if (r->status != 200) {
      const Status said = ServerError(*r);
      if (r->status == 404 || r->status == 403 || r->status == 409 ||
          r->status == 413) {
        // This one cannot go (the photo deleted or changed there, taken on
        // another device, too large, or a server without originals): it
        // stays here, asked for, and the others go on.
        if (summary != nullptr) ++summary->originals_held_back;
        original_refusals_.push_back(what + ": " + said.message());
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
          "UPDATE photo_original SET announced_at = ?2 WHERE upload_sha256 = ?1");
      note.Bind(1, std::string_view(a.upload)).Bind(2, std::string_view(now));
      if (Status s = note.Run(); !s.ok()) return s;
      Statement& queue = db.Cached(
          "INSERT OR IGNORE INTO blob_upload (sha256, bytes, mime) VALUES "
          "(?1, ?2, ?3)");
      queue.Bind(1, std::string_view(a.original))
          .Bind(2, static_cast<int64_t>(a.bytes))
          .Bind(3, std::string_view(a.mime));
      if (Status s = queue.Run(); !s.ok()) return s;
      if (state->complete) {
        // Held whole already (a photo sent as taken: the original is the
        // upload copy; or another device's identical file).
        Statement& done = db.Cached(
            "UPDATE blob_upload SET uploaded_bytes = bytes, done_at = ?2 "
            "WHERE sha256 = ?1 AND done_at IS NULL");
        done.Bind(1, std::string_view(a.original)).Bind(2, std::string_view(now));
        if (Status s = done.Run(); !s.ok()) return s;
      }
      if (Status s = txn.Commit(); !s.ok()) return s;
    }
    if (state->complete) {
      photo_done_ += a.bytes;
      Progress(SyncPhase::kPhotos, photo_done_, photo_total_);
      if (summary != nullptr) ++summary->originals_uploaded;
      continue;
    }
    SyncSummary sent;
    bool local = false;
    const bool nothing_held = state->received == 0 && !state->complete &&
                              a.bytes <= protocol::kBlobChunkBytes;
    uint64_t uploaded = 0;
    {
      Statement st(db, "SELECT uploaded_bytes FROM blob_upload WHERE sha256 = ?1");
      st.Bind(1, std::string_view(a.original));
      if (st.Step()) uploaded = static_cast<uint64_t>(st.ColumnInt(0));
      if (!st.status().ok()) return st.status();
    }
    // Counted as an original, not as a photo (the wire bytes go to
    // `summary` through counters_ as for every call).
    Status s = UploadOne(a.original, a.bytes, uploaded, nothing_held && uploaded == 0,
                         &sent, &local);
    if (summary != nullptr) {
      summary->originals_uploaded += sent.blobs_uploaded;
      summary->original_bytes += sent.blob_bytes;
      summary->originals_held_back += sent.blobs_held_back;
    }
    if (s.ok()) continue;
    if (!local) return s;
    if (first_local_error.ok()) first_local_error = s;
  }
  return first_local_error;
}

}  // namespace kbo::client
