#include "client/photo_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "shared/encoding.h"
#include "shared/error_body.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/signing.h"
#include "shared/wire.h"

namespace kbo::client {
namespace {

// The largest original this device downloads: the server's own blob cap.
constexpr size_t kMaxOriginalBytes = size_t{64} << 20;

std::string ThumbsDir(const std::string& blobs_dir) {
  return blobs_dir + "/thumbs";
}

std::string NonePath(const std::string& blobs_dir, std::string_view sha256) {
  return ThumbsDir(blobs_dir) + "/" + std::string(sha256) + ".none";
}

// A signed GET of `path` (with its query) to `base_url`.
Result<HttpResponse> SignedGet(ClientStore& store, HttpTransport& transport,
                               const std::string& base_url,
                               const std::string& path, size_t max_bytes) {
  HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.max_response_bytes = max_bytes;
  req.headers = SignRequest(store.key(), store.device_id(), req.method,
                            req.path, "", store.wall().NowMillis(), NewNonce());
  return transport.Send(base_url, req);
}

// The "error" (reason or code name) and message of a refusal
// (shared/error_body.h); nothing from a body that does not parse.
void ErrorOf(const HttpResponse& r, std::string* error, std::string* message) {
  Status said;
  if (!ParseErrorBody(r.body, r.status, &said).ok()) return;
  *error = std::string(said.ReasonOrCodeName());
  *message = said.message();
}

Status StatusOf(const HttpResponse& r, const std::string& base_url,
                std::string_view what) {
  std::string error, message;
  ErrorOf(r, &error, &message);
  const std::string http = "HTTP " + std::to_string(r.status);
  std::string text = base_url + " refused " + std::string(what) + ": " +
                     (message.empty() ? http : message) + " (" +
                     (error.empty() ? http : error) + ")";
  if (r.status >= 500 || r.status < 400) {
    return Status::Unavailable(base_url + " could not answer " +
                               std::string(what) + " (" + http + ")");
  }
  if (r.status == 404) return Status::NotFound(std::move(text));
  if (r.status == 401) return Status::Unauthenticated(std::move(text));
  if (r.status == 403) return Status::PermissionDenied(std::move(text));
  if (r.status == 413) return Status::ResourceExhausted(std::move(text));
  if (r.status == 409) return Status::FailedPrecondition(std::move(text));
  return Status::InvalidArgument(std::move(text));
}

bool IsJpeg(std::string_view b) {
  return b.size() > 4 && b.substr(0, 3) == "\xFF\xD8\xFF";
}

// The enrolled server's URL; kFailedPrecondition if not enrolled.
Result<std::string> EnrolledUrl(ClientStore& store) {
  Statement st(store.db(),
               "SELECT server_url FROM device WHERE singleton = 1");
  std::string url;
  if (st.Step() && !st.IsNull(0)) url = st.ColumnText(0);
  if (!st.status().ok()) return st.status();
  if (url.empty()) {
    return Status::FailedPrecondition(
        "this device is not enrolled; ask the central office for a token, "
        "then run: kbo enroll --server URL --token TOKEN");
  }
  return url;
}

// Appends `bytes` to `path` and fsyncs it, so the resume point (its size)
// never claims bytes that are not on disk.
Status Append(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                        0600);
  if (fd < 0) {
    return Status::IOError("open '" + path + "': " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return Status::IOError("write '" + path + "': " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync '" + path + "'");
  return Status();
}

}  // namespace

std::string ThumbnailPath(const std::string& blobs_dir,
                          std::string_view sha256) {
  if (!IsBlobName(sha256)) return "";
  return ThumbsDir(blobs_dir) + "/" + std::string(sha256) + ".jpg";
}

Result<std::string> ReadThumbnail(const std::string& blobs_dir,
                                  std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by 64 lowercase hex digits (its SHA-256)");
  }
  return ReadFileBounded(ThumbnailPath(blobs_dir, sha256),
                         protocol::kMaxThumbBytes);
}

ThumbnailFetch FetchThumbnails(ClientStore& store, HttpTransport& transport,
                               const std::string& base_url, size_t max) {
  ThumbnailFetch out;
  const std::string blobs_dir = store.paths().blobs;
  BlobStore blobs(blobs_dir);
  // Every picture this device lacks, newest first; the file checks are a
  // stat each (a province's 5,000 photos: milliseconds).
  std::vector<std::string> wanted;
  {
    Statement st(store.db(),
                 "SELECT sha256, MAX(COALESCE(taken_at, '')) AS t FROM photo "
                 "WHERE deleted = 0 AND sha256 IS NOT NULL GROUP BY sha256 "
                 "ORDER BY t DESC, sha256");
    while (st.Step()) {
      const std::string sha = st.ColumnText(0);
      if (!IsBlobName(sha) || blobs.Has(sha) ||
          FileExists(ThumbnailPath(blobs_dir, sha)) ||
          FileExists(NonePath(blobs_dir, sha))) {
        continue;
      }
      wanted.push_back(sha);
    }
    if (!st.status().ok()) {
      out.stopped = st.status();
      return out;
    }
  }
  if (wanted.empty()) return out;
  if (Status s = EnsureDir(ThumbsDir(blobs_dir)); !s.ok()) {
    out.stopped = s;
    out.left = wanted.size();
    return out;
  }
  const size_t bound = std::min(wanted.size(), max);
  // Keeps one thumbnail; false (with out.stopped) if it could not be written.
  const auto keep = [&](const std::string& sha, const std::string& jpeg) {
    if (!IsJpeg(jpeg)) return true;  // not kept, not asked again this sync
    if (Status s = WriteFileAtomically(ThumbnailPath(blobs_dir, sha), jpeg, 0600);
        !s.ok()) {
      out.stopped = s;
      return false;
    }
    ++out.fetched;
    return true;
  };
  const auto never = [&](const std::string& sha, const std::string& why) {
    // The server will never have one: remember, do not ask again.
    (void)WriteFileAtomically(NonePath(blobs_dir, sha), why, 0600);
    ++out.none;
  };
  size_t i = 0;
  // Several in one round trip (POST /v1/thumbs): a rural link's RTT is
  // paid once per answer, not per photo. A server from before it answers
  // 404 and the photos are asked for one by one below.
  bool batches = true;
  while (batches && i < bound) {
    const size_t n = std::min(protocol::kThumbsPerRequest, bound - i);
    const std::vector<std::string> asked(wanted.begin() + static_cast<std::ptrdiff_t>(i),
                                         wanted.begin() + static_cast<std::ptrdiff_t>(i + n));
    HttpRequest req;
    req.method = "POST";
    req.path = std::string(protocol::kThumbsPath);
    req.body = wire::EncodeThumbsRequest(asked);
    req.content_type = "application/json";
    req.max_response_bytes =
        protocol::kThumbsPerRequest * (protocol::kMaxThumbBytes + 5) + 64;
    req.headers = SignRequest(store.key(), store.device_id(), req.method, req.path,
                              req.body, store.wall().NowMillis(), NewNonce());
    Result<HttpResponse> r = transport.Send(base_url, req);
    if (!r.ok()) {
      out.stopped = r.status();  // the network: next sync
      out.left = wanted.size() - i;
      return out;
    }
    if (r->status == 404 || r->status == 405) {
      std::string error, message;
      ErrorOf(*r, &error, &message);
      if (r->status == 405 || message == "no such endpoint" || error.empty()) {
        batches = false;  // an older server
        break;
      }
    }
    if (r->status != 200) {
      out.stopped = StatusOf(*r, base_url, "thumbnails");
      out.left = wanted.size() - i;
      return out;
    }
    Result<std::vector<wire::ThumbAnswer>> answers = wire::ParseThumbs(r->body, n);
    if (!answers.ok()) {
      out.stopped = Status::Corruption(base_url + " answered thumbnails wrongly: " +
                                       answers.status().message());
      out.left = wanted.size() - i;
      return out;
    }
    // In order; the first "later" (the answer was full) is where the next
    // request starts.
    size_t done = 0;
    for (; done < n; ++done) {
      const std::string& sha = asked[done];
      const wire::ThumbAnswer& a = (*answers)[done];
      if (a.state == wire::ThumbState::kLater) break;
      switch (a.state) {
        case wire::ThumbState::kThumb:
          if (!keep(sha, a.jpeg)) {
            out.left = wanted.size() - (i + done);
            return out;
          }
          break;
        case wire::ThumbState::kNone:
          never(sha, "no_thumbnail");
          break;
        case wire::ThumbState::kNotUploaded:
          ++out.waiting;
          break;
        case wire::ThumbState::kNotHere:
        case wire::ThumbState::kLater:
          break;  // not in scope any more
      }
    }
    if (done == 0) {
      // Nothing answered (the server's disk): the next sync asks again.
      out.stopped = Status::Unavailable(base_url + " could not give thumbnails now");
      out.left = wanted.size() - i;
      return out;
    }
    i += done;
  }
  for (; i < bound; ++i) {
    const std::string& sha = wanted[i];
    Result<HttpResponse> r =
        SignedGet(store, transport, base_url,
                  std::string(protocol::kThumbPathPrefix) + sha,
                  protocol::kMaxThumbBytes);
    if (!r.ok()) {
      if (r.status().code() == Code::kResourceExhausted) continue;  // not kept
      out.stopped = r.status();  // the network: next sync
      break;
    }
    if (r->status == 200) {
      if (!keep(sha, r->body)) break;
      continue;
    }
    std::string error, message;
    ErrorOf(*r, &error, &message);
    if (error == "no_thumbnail" || error == "too_large") {
      never(sha, error);
      continue;
    }
    if (error == "not_uploaded") {
      ++out.waiting;
      continue;
    }
    if (r->status == 404 && message == "no such endpoint") {
      // A server from before thumbnails: nothing to fetch there.
      out.stopped = Status::NotFound(base_url + " has no thumbnails to give");
      break;
    }
    if (r->status == 404) continue;  // not in scope any more
    out.stopped = StatusOf(*r, base_url, "a thumbnail");
    break;
  }
  out.left = wanted.size() - std::min(wanted.size(), i);
  return out;
}

Result<StoredBlob> FetchOriginal(ClientStore& store, HttpTransport& transport,
                                 std::string_view sha256,
                                 const std::string& server_url) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by 64 lowercase hex digits (its SHA-256), got '" +
        std::string(sha256) + "'");
  }
  const std::string sha(sha256);
  const std::string blobs_dir = store.paths().blobs;
  BlobStore blobs(blobs_dir);
  std::string base_url = server_url;
  if (base_url.empty()) {
    Result<std::string> url = EnrolledUrl(store);
    if (!url.ok()) return url.status();
    base_url = *url;
  }
  {
    Statement st(store.db(),
                 "SELECT COALESCE(MAX(bytes), 0), COALESCE(MAX(mime), '') "
                 "FROM photo WHERE sha256 = ?1 AND deleted = 0 HAVING "
                 "COUNT(*) > 0");
    st.Bind(1, std::string_view(sha));
    const bool named = st.Step();
    if (!st.status().ok()) return st.status();
    if (!named) {
      return Status::NotFound("no photo on this device is " + sha +
                              " (kbo list photo shows their sha256)");
    }
  }
  if (blobs.Has(sha)) {
    Result<std::string> held = blobs.Read(sha, kMaxOriginalBytes);
    if (held.ok()) return blobs.AddPhotoBytes(*held, sha, kMaxOriginalBytes);
  }
  const std::string partial_dir = blobs_dir + "/partial";
  if (Status s = EnsureDir(partial_dir); !s.ok()) return s;
  const std::string partial = partial_dir + "/" + sha;
  struct stat st {};
  uint64_t offset = ::stat(partial.c_str(), &st) == 0
                        ? static_cast<uint64_t>(st.st_size)
                        : 0;
  uint64_t total = 0;
  // A piece cut by the network is asked for again from what arrived, as a
  // sync's requests are (0.5 s, 1 s, 2 s between); a piece that comes
  // starts the count again.
  constexpr int64_t kBackoffMs[] = {500, 1000, 2000};
  size_t lost = 0;
  for (;;) {
    Result<HttpResponse> r = SignedGet(
        store, transport, base_url,
        std::string(protocol::kOriginalPathPrefix) + sha +
            "?offset=" + std::to_string(offset),
        protocol::kBlobChunkBytes + 1024);
    if (!r.ok() && r.status().code() == Code::kUnavailable && lost < std::size(kBackoffMs)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kBackoffMs[lost++]));
      continue;
    }
    if (!r.ok()) {
      return Status::FromCode(r.status().code(),
                              "cannot fetch the photo from " + base_url +
                                  ": " + r.status().message() +
                                  " — what arrived is kept; try again");
    }
    if (r->status != 200) {
      std::string error, message;
      ErrorOf(*r, &error, &message);
      if (r->status == 400 && offset > 0) {
        // Our partial copy is longer than the photo: start again.
        ::unlink(partial.c_str());
      }
      return StatusOf(*r, base_url, "the photo " + sha.substr(0, 12));
    }
    const std::string* total_text = r->Header(protocol::kBlobTotalHeader);
    const std::optional<uint64_t> total_number =
        total_text == nullptr || total_text->size() > 12
            ? std::nullopt
            : ParseUint64(*total_text);
    if (!total_number) {
      return Status::Corruption("the server's answer has no photo size");
    }
    total = *total_number;
    if (total > kMaxOriginalBytes) {
      return Status::ResourceExhausted("the photo is larger than 64 MiB");
    }
    if (r->body.size() > protocol::kBlobChunkBytes ||
        offset + r->body.size() > total ||
        (r->body.empty() && offset < total)) {
      ::unlink(partial.c_str());
      return Status::Corruption("the server sent a chunk that does not fit; "
                                "the download starts again next time");
    }
    if (Status s = Append(partial, r->body); !s.ok()) return s;
    offset += r->body.size();
    lost = 0;
    if (offset >= total) break;
  }
  Result<std::string> bytes = ReadFileBounded(partial, kMaxOriginalBytes);
  if (!bytes.ok()) return bytes.status();
  if (HexEncode(Sha256(*bytes)) != sha) {
    ::unlink(partial.c_str());
    return Status::Corruption("the photo downloaded does not hash to " + sha +
                              "; it was discarded");
  }
  Result<StoredBlob> stored = blobs.AddPhotoBytes(*bytes, sha, kMaxOriginalBytes);
  if (!stored.ok()) return stored.status();
  ::unlink(partial.c_str());
  return stored;
}

}  // namespace kbo::client
