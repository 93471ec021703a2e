#include "client/sync_client.h"

#include <algorithm>
#include <set>

#include "client/blob_store.h"
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


}  // namespace kbo::client
