#include "server/blob_service.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/log.h"
#include "server/storage/blobs.h"
#include "server/storage/devices.h"
#include "server/storage/server_state.h"
#include "server/storage/originals.h"
#include "server/storage/rows.h"
#include "shared/entities.h"
#include "shared/replica/apply.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/signing.h"

namespace kbo::server {
namespace {

// (kbo::Errno's words and its storage_full reason for a full disk.)
Status Errno(const char* op, const std::string& path) {
  return kbo::Errno(op, path, errno);
}

Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync directory", dir);
  return Status();
}

// Truncates `path` to `keep` bytes (discarding anything a crash left beyond
// what the database says is held), writes `chunk` at `keep`, and fsyncs.
Status AppendDurably(const std::string& path, uint64_t keep,
                     std::string_view chunk) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("open", path);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    s = Errno("truncate", path);
  const char* p = chunk.data();
  size_t left = chunk.size();
  off_t at = static_cast<off_t>(keep);
  while (s.ok() && left > 0) {
    const ssize_t n = ::pwrite(fd, p, left, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      s = Errno("write", path);
      break;
    }
    p += n;
    at += n;
    left -= static_cast<size_t>(n);
  }
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", path);
  if (::close(fd) != 0 && s.ok()) s = Errno("close", path);
  return s;
}

std::string LowerHex(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

namespace {

// An uploader's name in a partial file's name: "server", or a device id.
bool IsUploaderName(std::string_view who) {
  if (who == "server") return true;
  if (who.size() != 36) return false;
  for (char c : who) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

}  // namespace

bool IsBlobName(std::string_view sha256) {
  if (sha256.size() != 64) return false;
  for (char c : sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status BlobService::CheckCaps(uint64_t total, size_t chunk_bytes) const {
  if (chunk_bytes > protocol::kBlobChunkBytes) {
    return Status::ResourceExhausted("a chunk may carry at most " +
                                     std::to_string(protocol::kBlobChunkBytes) +
                                     " bytes");
  }
  if (total == 0)
    return Status::InvalidArgument("total must be the blob's size in bytes");
  if (total > max_blob_bytes_) {
    return Status::ResourceExhausted("this server accepts blobs of at most " +
                                     std::to_string(max_blob_bytes_ >> 20) +
                                     " MiB");
  }
  return Status();
}

std::string BlobService::PathFor(std::string_view sha256) const {
  return store_.paths().blobs + "/" + std::string(sha256);
}

Result<BlobState> BlobService::State(std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a blob is named by its SHA-256: 64 lowercase hex digits");
  }
  BlobState state;
  state.sha256 = std::string(sha256);
  Result<std::optional<storage::BlobRow>> row =
      storage::Blobs(store_.db()).Find(sha256);
  if (!row.ok()) return row.status();
  if (row->has_value() && (*row)->complete) {
    state.total = (*row)->total;
    state.complete = true;
  }
  // The file is the truth for completeness: it is only ever put in place
  // after its hash was checked.
  if (state.complete && !FileExists(PathFor(sha256))) {
    state = BlobState{std::string(sha256), 0, 0, false};
  } else if (struct stat st; !state.complete &&
             ::stat(PathFor(sha256).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    // Put in place, its record not yet (a crash between the two).
    state.complete = true;
    state.total = static_cast<uint64_t>(st.st_size);
  }
  if (state.complete) state.received = state.total;
  return state;
}

std::string BlobService::UploaderKey() const {
  return uploader_.empty() ? std::string("server") : uploader_;
}

std::string BlobService::PartialPath(std::string_view sha256,
                                     std::string_view uploader) const {
  return store_.paths().partial + "/" + std::string(sha256) + "." + std::string(uploader);
}

Result<BlobState> BlobService::StateOf(std::string_view sha256,
                                       std::string_view uploader) {
  Result<BlobState> state = State(sha256);
  if (!state.ok() || state->complete) return state;
  Result<std::optional<storage::UploadRow>> mine =
      storage::Blobs(store_.db()).FindUpload(sha256, uploader);
  if (!mine.ok()) return mine.status();
  state->total = mine->has_value() ? (*mine)->total : 0;
  state->received = mine->has_value() ? (*mine)->received : 0;
  return state;
}

Status BlobService::EndUploads(std::string_view sha256,
                               std::vector<std::string>* files) {
  storage::Blobs blobs(store_.db());
  Result<std::vector<std::string>> uploaders = blobs.UploadersOf(sha256);
  if (!uploaders.ok()) return uploaders.status();
  if (Status s = blobs.DeleteUpload(sha256, ""); !s.ok()) return s;
  for (const std::string& who : *uploaders) {
    if (IsUploaderName(who)) files->push_back(PartialPath(sha256, who));
  }
  return Status();
}

namespace {

// The files of uploads that ended, removed once their records' deletion
// committed: a failed commit leaves them with their records. (A crash
// between leaves files no record names: the next start sweeps them.)
void UnlinkEnded(const std::vector<std::string>& files) {
  for (const std::string& f : files) ::unlink(f.c_str());
}

}  // namespace

Result<BlobState> BlobService::PutChunk(std::string_view sha256,
                                        uint64_t offset, uint64_t total,
                                        std::string_view chunk_sha256,
                                        std::string_view chunk) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a blob is named by its SHA-256: 64 lowercase hex digits");
  }
  if (Status s = CheckCaps(total, chunk.size()); !s.ok()) return s;
  Result<BlobState> now = State(sha256);
  if (!now.ok()) return now.status();
  if (now->complete) return now;  // deduplicated: nothing to write
  if (LowerHex(chunk_sha256) != HexEncode(Sha256(chunk))) {
    return Status::InvalidArgument(
               "the chunk's bytes do not match its "
               "X-KBO-Chunk-Sha256; nothing was written")
        .WithReason("bad_chunk");
  }
  KBO_RETURN_IF_ERROR(CheckDiskRoom(chunk.size()));
  return Write(sha256, offset, total, chunk);
}

Status BlobService::CheckDiskRoom(uint64_t bytes) {
  if (min_free_bytes_ == 0) return Status();  // no reserve: the disk's own errors say it
  struct statvfs fs {};
  if (::statvfs(store_.paths().blobs.c_str(), &fs) != 0) return Status();  // the write says
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= bytes && free_bytes - bytes >= min_free_bytes_) return Status();
  const int64_t now = store_.NowMillis();
  if (last_disk_full_log_ms_ < 0 || now - last_disk_full_log_ms_ >= 600000) {
    last_disk_full_log_ms_ = now;
    LogLine("DISK NEARLY FULL: " + std::to_string(free_bytes >> 20) + " MiB free where " +
            store_.paths().blobs + " is, under the " + std::to_string(min_free_bytes_ >> 20) +
            " MiB kept for records: photo uploads are refused (devices keep them and "
            "try again later) until space is freed");
  }
  return Status::Unavailable("the server's disk is nearly full, so it takes no photos just "
                             "now (records still go); the photo is kept on this device and "
                             "sent at a later sync")
      .WithReason("disk_full");
}

namespace {

// A photo received whole takes a server sequence (no row carries it), so
// server.db after it is ahead of a backup taken before it: restoring that
// backup moves the sequence epoch (X-KBO-Seq-Epoch) even when no change set
// was lost, and devices send again the photos the restore lost
// (docs/protocol.md §6).
// Takes the sequence in `txn`, commits it, and tells the store its new
// high-water mark.
Status CommitTakingSequence(ServerStore& store, Transaction& txn) {
  // As every write takes one (TakeSeqs: a database rewound under the
  // server is caught here too, before the high-water note).
  if (Result<uint64_t> seq = store.TakeSeqs(1); !seq.ok()) return seq.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  store.NoteCommittedSequences();
  return Status();
}

}  // namespace

Result<BlobState> BlobService::Write(std::string_view sha256, uint64_t offset,
                                     uint64_t total, std::string_view chunk) {
  Db& db = store_.db();
  storage::Blobs blobs(db);
  const std::string me = UploaderKey();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  // This uploader's own upload: another device's of the same photo is
  // another file (a false size or other bytes there spoil nothing here).
  Result<BlobState> held = StateOf(sha256, me);
  if (!held.ok()) return held.status();
  if (held->complete) return held;
  if (held->total != 0 && held->total != total) {
    if (offset != 0) {
      return Status::InvalidArgument(
          "this device's upload of this blob began with total " +
          std::to_string(held->total) + " bytes, not " + std::to_string(total) +
          "; send it again from byte 0");
    }
    held->received = 0;  // begun again, with another size
  }
  if (offset != held->received) {
    return Status::SequenceGap("the server holds " +
                               std::to_string(held->received) +
                               " bytes of this blob; resume from there")
        .WithReason("offset_mismatch")
        .With(field::kReceived, held->received);
  }
  if (chunk.size() > total - offset) {
    return Status::InvalidArgument("the chunk runs past the blob's total size")
        .WithReason("bad_chunk");
  }
  const std::string partial = PartialPath(sha256, me);
  if (offset > 0) {
    // The record says `offset` bytes are held: the file must hold them
    // (another server's start may have swept it away, a disk lost it).
    // Written on otherwise, the upload's head would be zeros, found only
    // by its hash at the end.
    struct stat st;
    if (::stat(partial.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < offset) {
      if (Status s = blobs.DeleteUpload(sha256, me); !s.ok()) return s;
      if (Status s = txn.Commit(); !s.ok()) return s;
      ::unlink(partial.c_str());
      return Status::SequenceGap(
                 "the server no longer holds the bytes it had of this upload; "
                 "send it again from 0")
          .WithReason("offset_mismatch")
          .With(field::kReceived, uint64_t{0});
    }
  }
  if (Status s = AppendDurably(partial, offset, chunk); !s.ok()) return s;
  BlobState state;
  state.sha256 = std::string(sha256);
  state.total = total;
  state.received = offset + chunk.size();
  const std::string now = store_.NowIso();

  if (state.received < total) {
    if (Status s = blobs.RecordUpload(sha256, me, {total, state.received}, now);
        !s.ok()) {
      return s;
    }
    if (Status s = txn.Commit(); !s.ok()) return s;
    return state;
  }
  Result<std::string> whole = ReadFileBounded(partial, total);
  if (!whole.ok()) return whole.status();
  if (HexEncode(Sha256(*whole)) != sha256) {
    // This uploader's alone: another device's upload of it goes on.
    if (Status s = blobs.DeleteUpload(sha256, me); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
    ::unlink(partial.c_str());
    return Status::Corruption(
               "the uploaded bytes do not hash to " + std::string(sha256) +
               "; the upload was discarded, send it again from 0")
        .WithReason("hash_mismatch");
  }
  const std::string final_path = PathFor(sha256);
  if (::rename(partial.c_str(), final_path.c_str()) != 0)
    return Errno("rename", partial);
  if (Status s = FsyncDir(store_.paths().blobs); !s.ok()) return s;
  state.complete = true;
  storage::BlobProgress progress;
  progress.sha256 = sha256;
  progress.total = total;
  progress.received = state.received;
  progress.now_iso = now;
  progress.complete = true;
  progress.uploader = uploader_;
  if (Status s = blobs.RecordProgress(progress); !s.ok()) return s;
  // Whoever else was sending it need not: their uploads end here.
  std::vector<std::string> ended;
  if (Status s = EndUploads(sha256, &ended); !s.ok()) return s;
  if (Status s = CommitTakingSequence(store_, txn); !s.ok()) return s;
  UnlinkEnded(ended);
  return state;
}

Result<BlobState> BlobService::PutWhole(std::string_view sha256,
                                        std::string_view bytes) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a blob is named by its SHA-256: 64 lowercase hex digits");
  }
  if (bytes.empty())
    return Status::InvalidArgument("an empty blob is not a photo");
  if (bytes.size() > max_blob_bytes_) {
    return Status::ResourceExhausted("this server accepts blobs of at most " +
                                     std::to_string(max_blob_bytes_ >> 20) +
                                     " MiB");
  }
  Result<BlobState> now = State(sha256);
  if (!now.ok()) return now.status();
  if (now->complete) return now;
  KBO_RETURN_IF_ERROR(CheckDiskRoom(bytes.size()));
  if (HexEncode(Sha256(bytes)) != sha256) {
    return Status::Corruption("the blob's bytes do not hash to " +
                              std::string(sha256) + "; nothing was written")
        .WithReason("hash_mismatch");
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  if (Status s = WriteFileAtomically(PathFor(sha256), bytes, 0600); !s.ok())
    return s;
  std::vector<std::string> ended;
  if (Status s = EndUploads(sha256, &ended); !s.ok()) return s;
  const std::string at = store_.NowIso();
  if (Status s = storage::Blobs(db).RecordWhole(sha256, bytes.size(), at);
      !s.ok()) {
    return s;
  }
  if (Status s = CommitTakingSequence(store_, txn); !s.ok()) return s;
  UnlinkEnded(ended);
  return BlobState{std::string(sha256), bytes.size(), bytes.size(), true};
}

Result<bool> BlobService::NamedInScope(const DeviceRecord& device,
                                       std::string_view sha256) {
  return storage::Blobs(store_.db())
      .NamedIn(sha256, device.scope.all, device.scope.districts);
}

Result<bool> BlobService::MayUpload(const DeviceRecord& device,
                                    std::string_view sha256) {
  return storage::Blobs(store_.db())
      .NamedIn(sha256, device.scope.all, device.scope.districts, /*or_left=*/true);
}

Result<BlobState> BlobService::StateFor(const DeviceRecord& device,
                                        std::string_view sha256) {
  if (!IsBlobName(sha256)) return State(sha256);  // its clear refusal
  Result<bool> named = MayUpload(device, sha256);
  if (!named.ok()) return named.status();
  if (!*named) {
    return Status::NotFound("no photo in this device's districts names blob " +
                            std::string(sha256));
  }
  return StateOf(sha256, device.id.ToString());
}

Result<BlobState> BlobService::PutChunkFor(const DeviceRecord& device,
                                           std::string_view sha256,
                                           uint64_t offset, uint64_t total,
                                           std::string_view chunk_sha256,
                                           std::string_view chunk) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a blob is named by its SHA-256: 64 lowercase hex digits");
  }
  // The caps first: they cost nothing to check.
  if (Status s = CheckCaps(total, chunk.size()); !s.ok()) return s;
  const int64_t now = store_.NowMillis();
  if (now - last_reap_ms_ >= 60000) {
    last_reap_ms_ = now;
    if (Result<size_t> reaped = ReapPartials(); !reaped.ok()) {
      return reaped.status();
    }
  }
  if (now - last_collect_ms_ >= 3600 * 1000) {
    last_collect_ms_ = now;
    if (auto collected = CollectUnnamed(); !collected.ok()) {
      return collected.status();
    }
  }
  Result<bool> named = MayUpload(device, sha256);
  if (!named.ok()) return named.status();
  if (!*named) {
    return Status::PermissionDenied(
               "no photo in this device's districts names blob " +
               std::string(sha256) +
               "; send the photo's row first (kbo sync does); nothing "
               "was written")
        .WithReason("blob_not_named");
  }
  // The size its row gives: an upload begun with another total (a device
  // that read /v1/blobs/missing and sent one byte of a 64 MiB "total")
  // blocked the photo's own device until the partial was reaped.
  Result<bool> sized = storage::Blobs(store_.db()).SizeNamed(sha256, total);
  if (!sized.ok()) return sized.status();
  if (!*sized) {
    return Status::InvalidArgument("no photo names blob " + std::string(sha256) +
                                   " with a size of " + std::to_string(total) +
                                   " bytes (its row gives its size); nothing was written")
        .WithReason("bad_total");
  }
  {
    // What this device already holds unfinished, other than this blob.
    Result<uint64_t> partial = storage::Blobs(store_.db())
                                   .PartialBytesOf(device.id.ToString(), sha256);
    if (!partial.ok()) return partial.status();
    const uint64_t held = *partial;
    if (held + offset + chunk.size() > max_partial_bytes_) {
      return Status::ResourceExhausted(
                 "this device already has " + std::to_string(held >> 20) +
                 " MiB of unfinished photo uploads on the server (at most " +
                 std::to_string(max_partial_bytes_ >> 20) +
                 " MiB); finish those first")
          .WithReason("partial_cap");
    }
  }
  uploader_ = device.id.ToString();
  Result<BlobState> r = PutChunk(sha256, offset, total, chunk_sha256, chunk);
  uploader_.clear();
  return r;
}

// More photo files missing than this, and more than half of those held,
// looks like a folder not mounted rather than files lost (AdoptFiles).
constexpr size_t kMaxLostFilesForgotten = 10;

Result<size_t> BlobService::AdoptFiles() {
  // Partial files no unfinished upload names (a crash after an upload
  // ended, or uploads from before blob_upload) are swept away first.
  if (const size_t swept = SweepPartialFiles(); swept > 0) {
    LogLine("removed " + std::to_string(swept) +
            " unfinished photo upload file(s) no upload names from " +
            store_.paths().partial);
  }
  const std::string& dir = store_.paths().blobs;
  std::vector<std::pair<std::string, uint64_t>> files;
  {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return size_t{0};  // no photos yet
    while (const dirent* e = ::readdir(d.get())) {
      const std::string name = e->d_name;
      if (!IsBlobName(name)) continue;
      struct stat st;
      if (::stat((dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      files.emplace_back(name, static_cast<uint64_t>(st.st_size));
    }
  }
  Db& db = store_.db();
  storage::Blobs blobs(db);
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  const std::string now = store_.NowIso();
  size_t adopted = 0;
  std::vector<std::string> damaged;
  std::vector<std::string> ended;
  for (const auto& [sha, bytes] : files) {
    Result<std::optional<storage::BlobRow>> row = blobs.Find(sha);
    if (!row.ok()) return row.status();
    if (row->has_value() && (*row)->complete) continue;
    // Not put there by this server's upload path, perhaps (a copy cut
    // short, a bad restore): taken only if its bytes hash to its name.
    Result<std::string> content = ReadFileBounded(PathFor(sha), max_blob_bytes_);
    if (!content.ok() || HexEncode(Sha256(*content)) != sha) {
      // Moved aside, not deleted (a person may want to look at it), and out
      // of the name that says "held whole" (State).
      if (::rename(PathFor(sha).c_str(), (PathFor(sha) + ".damaged").c_str()) == 0) {
        damaged.push_back(sha);
      }
      continue;
    }
    if (Status s = blobs.RecordWhole(sha, bytes, now); !s.ok()) return s;
    if (Status s = EndUploads(sha, &ended); !s.ok()) return s;
    ++adopted;
  }
  // The other way: photos held as received whose files are gone (blobs/
  // restored from a copy older than server.db, a file deleted by hand).
  // Held as received, no device is asked for them, and the console shows
  // nothing; forgotten here, the devices that took them are told (the
  // sequences jump one epoch, as after a restore: a device that sees it
  // asks which photos the server lacks and sends its own again). Not when
  // most are gone: blobs/ not mounted, say, rather than lost.
  std::set<std::string> present;
  for (const auto& f : files) present.insert(f.first);
  Result<std::vector<std::string>> complete = blobs.Complete();
  if (!complete.ok()) return complete.status();
  std::vector<std::string> lost;
  for (const std::string& sha : *complete) {
    if (!present.count(sha) && !FileExists(PathFor(sha))) lost.push_back(sha);
  }
  const bool looks_unmounted =
      lost.size() > kMaxLostFilesForgotten && lost.size() * 2 > complete->size();
  uint64_t jumped_to = 0;
  if (!lost.empty() && !looks_unmounted) {
    for (const std::string& sha : lost) {
      if (Status s = blobs.Forget(sha); !s.ok()) return s;
    }
    Result<uint64_t> gap = store_.TakeSeqs(ServerStore::kRestoreGap);
    if (!gap.ok()) return gap.status();
    jumped_to = *gap + ServerStore::kRestoreGap;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  if (jumped_to != 0) store_.NoteCommittedSequences();
  UnlinkEnded(ended);
  if (looks_unmounted) {
    LogLine(dir + " lacks " + std::to_string(lost.size()) + " of the " +
            std::to_string(complete->size()) + " photo files " + store_.db_where() +
            " holds as received: is the folder mounted, or the right one? Nothing "
            "was changed; if they are lost, restore them from a backup of " + dir);
  } else if (jumped_to != 0) {
    LogLine(std::to_string(lost.size()) +
            (lost.size() == 1 ? " photo file " : " photo files ") + store_.db_where() +
            " held as received " + (lost.size() == 1 ? "is" : "are") + " missing from " +
            dir + " (e.g. " + lost.front().substr(0, 12) +
            "…; blobs/ restored from an older copy?): recorded as not received, and "
            "sequences jump to " + std::to_string(jumped_to) +
            " so that the devices that took them send them again");
  }
  for (const std::string& sha : damaged) {
    LogLine("photo file " + PathFor(sha) +
            " does not hash to its name (cut short or damaged): moved aside to " +
            PathFor(sha) + ".damaged; the device that took it sends it again");
  }
  if (adopted > 0) {
    LogLine(std::to_string(adopted) +
            (adopted == 1 ? " photo file" : " photo files") + " in " + dir +
            " that " + store_.db_where() +
            " did not hold as received (restored from an older backup?) are recorded "
            "as received");
  }
  return adopted;
}

Result<size_t> BlobService::ReapPartials() {
  const std::string cutoff = FormatIsoUtc(store_.NowMillis() - partial_ttl_ms_);
  Db& db = store_.db();
  storage::Blobs blobs(db);
  Result<std::vector<std::pair<std::string, std::string>>> stale =
      blobs.StalePartials(cutoff);
  if (!stale.ok()) return stale.status();
  size_t reaped = 0;
  for (const auto& [sha, who] : *stale) {
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    Result<bool> gone = blobs.DeleteStaleUpload(sha, who, cutoff);
    if (!gone.ok()) return gone.status();
    if (Status s = txn.Commit(); !s.ok()) return s;
    if (!*gone) continue;  // a chunk came, or its row came back, meanwhile
    ++reaped;
    if (IsBlobName(sha) && IsUploaderName(who)) ::unlink(PartialPath(sha, who).c_str());
  }
  return reaped;
}

size_t BlobService::SweepPartialFiles() {
  storage::Blobs blobs(store_.db());
  std::vector<std::string> stray;
  {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(store_.paths().partial.c_str()),
                                          ::closedir);
    if (!d) return 0;
    while (const dirent* e = ::readdir(d.get())) {
      const std::string name = e->d_name;
      if (name.size() < 64 || !IsBlobName(name.substr(0, 64))) continue;
      // Not one written in the last hour: another server on the same
      // folder may be writing it, its record not yet committed (or a
      // server of the previous version, during a rolling restart).
      struct stat st;
      if (::stat((store_.paths().partial + "/" + name).c_str(), &st) != 0 ||
          st.st_mtime > ::time(nullptr) - 3600) {
        continue;
      }
      const std::string sha = name.substr(0, 64);
      if (name.size() == 64) {  // before blob_upload: one upload per photo
        stray.push_back(name);
        continue;
      }
      if (name[64] != '.') continue;
      Result<std::optional<storage::UploadRow>> row =
          blobs.FindUpload(sha, name.substr(65));
      if (row.ok() && !row->has_value()) stray.push_back(name);
    }
  }
  for (const std::string& name : stray) {
    ::unlink((store_.paths().partial + "/" + name).c_str());
  }
  return stray.size();
}

Result<std::vector<std::string>> BlobService::CollectUnnamed() {
  Db& db = store_.db();
  const std::string now = store_.NowIso();
  const std::string cutoff =
      FormatIsoUtc(store_.NowMillis() - unnamed_retention_ms_);
  storage::Blobs blobs(db);
  {
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    if (Status s = blobs.MarkUnnamed(now); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
  }
  Result<std::vector<std::pair<std::string, int64_t>>> unnamed =
      blobs.UnnamedBefore(cutoff);
  if (!unnamed.ok()) return unnamed.status();
  const std::vector<std::pair<std::string, int64_t>>& due = *unnamed;
  std::vector<std::string> collected;
  int64_t bytes = 0;
  for (const auto& [sha, size] : due) {
    if (!IsBlobName(sha)) continue;
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    // Still unnamed now, in the transaction that deletes it.
    Result<bool> deleted = blobs.DeleteIfUnnamed(sha, cutoff);
    if (!deleted.ok()) return deleted.status();
    if (!*deleted) continue;  // named again meanwhile
    if (Status s = txn.Commit(); !s.ok()) return s;
    // The record is gone first: a crash here leaves a file nothing claims,
    // never a record without its file.
    const std::string path = PathFor(sha);
    ::unlink(path.c_str());
    const std::string thumb = store_.paths().blobs + "/thumbs/" + sha + ".jpg";
    ::unlink(thumb.c_str());
    collected.push_back(sha);
    bytes += size;
  }
  if (!collected.empty()) {
    std::string names;
    for (size_t i = 0; i < collected.size() && i < 20; ++i)
      names += (i ? ", " : "") + collected[i];
    if (collected.size() > 20)
      names += ", and " + std::to_string(collected.size() - 20) + " more";
    LogLine("collected " + std::to_string(collected.size()) +
            " photo blob(s), " + std::to_string(bytes) +
            " bytes, that no live photo has named for " +
            std::to_string(unnamed_retention_ms_ / (24 * 3600 * 1000)) +
            " days: " + names);
  }
  return collected;
}

Result<std::vector<std::string>> BlobService::Missing(
    const DeviceRecord& device, size_t limit) {
  Result<std::vector<std::string>> missing = storage::Blobs(store_.db()).MissingIn(
      device.scope.all, device.scope.districts, limit);
  if (!missing.ok()) return missing.status();
  std::vector<std::string> out;
  for (std::string& sha : *missing) {
    if (IsBlobName(sha)) out.push_back(std::move(sha));
  }
  return out;
}

Result<std::optional<BlobState>> BlobService::AnnounceOriginal(
    const DeviceRecord& device, const wire::OriginalNotice& n) {
  const std::string photo = n.photo_id.ToString();
  if (n.declined.empty() && n.bytes > max_blob_bytes_) {
    return Status::ResourceExhausted(
               "the original of photo " + photo + " is " +
               std::to_string(n.bytes) + " bytes; this server takes photos of "
               "at most " + std::to_string(max_blob_bytes_) + " bytes")
        .WithReason("too_large");
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  const Entity& entity = *FindEntity("photo");
  Result<std::optional<ReplicaRow>> row = ReadReplicaRow(db, entity, n.photo_id);
  if (!row.ok()) return row.status();
  auto cell = [&](std::string_view column) -> const Value& {
    const Column* c = entity.FindColumn(column);
    return (*row)->values[static_cast<size_t>(c - entity.columns.data())];
  };
  bool live = row->has_value() && (*row)->values.size() == entity.columns.size() + 1;
  if (live) {
    const Value& deleted = (*row)->values.back();
    const Value& district = cell("district_code");
    live = !(deleted.type() == Value::Type::kInteger && deleted.integer() != 0) &&
           district.type() == Value::Type::kText;
    if (live && !device.scope.Contains(district.text())) {
      // Or moved out of one of them (with its subject) after it was taken:
      // the original is still only on the device that took it.
      Result<bool> left = device.scope.all
                              ? Result<bool>(false)
                              : storage::PullIndex(db).LeftOneOf(
                                    "photo", photo, device.scope.districts);
      if (!left.ok()) return left.status();
      live = *left;
    }
  }
  if (!live) {
    return Status::NotFound("no photo " + photo +
                            " in this device's districts; nothing was written");
  }
  const auto writer = (*row)->versions.find("sha256");
  // The device that took it, or the identity that device moved to (its
  // successor: a revoked phone given a new token keeps its photos).
  bool taken_here = writer != (*row)->versions.end() &&
                    writer->second.hlc.device == device.id;
  if (!taken_here && writer != (*row)->versions.end()) {
    Result<bool> succeeds = storage::Devices(db).IsOrSucceeds(
        device.id.ToString(), writer->second.hlc.device.ToString());
    if (!succeeds.ok()) return succeeds.status();
    taken_here = *succeeds;
  }
  if (!taken_here) {
    return Status::PermissionDenied(
               "photo " + photo + " was taken on another device; only that "
               "device can send its original; nothing was written")
        .WithReason("not_taken_here");
  }
  storage::Originals originals(db);
  if (!n.declined.empty()) {
    if (Status s = originals.Decline(photo, n.declined, store_.NowIso()); !s.ok()) {
      return s;
    }
    if (Status s = txn.Commit(); !s.ok()) return s;
    return std::optional<BlobState>();
  }
  const Value& named = cell("sha256");
  if (named.type() != Value::Type::kText || named.text() != n.upload_sha256) {
    return Status::FailedPrecondition(
               "photo " + photo + " names another picture now, not " +
               n.upload_sha256.substr(0, 12) + "; nothing was written")
        .WithReason("photo_changed");
  }
  Result<std::optional<storage::OriginalRecord>> known = originals.Find(photo);
  if (!known.ok()) return known.status();
  if (known->has_value() && (*known)->upload_sha256 == n.upload_sha256 &&
      (*known)->sha256 != n.sha256) {
    return Status::AlreadyExists(
               "the original of photo " + photo + " is " +
               (*known)->sha256.substr(0, 12) + ", announced before, not " +
               n.sha256.substr(0, 12) + "; nothing was written")
        .WithReason("original_differs");
  }
  if (!known->has_value() || (*known)->upload_sha256 != n.upload_sha256) {
    // New, or for the copy the row names now (a record of an earlier copy
    // no longer applies).
    storage::OriginalRecord r;
    r.photo_id = photo;
    r.upload_sha256 = n.upload_sha256;
    r.sha256 = n.sha256;
    r.bytes = n.bytes;
    r.mime = n.mime;
    r.device_id = device.id.ToString();
    r.announced_at = store_.NowIso();
    if (Status s = originals.Record(r); !s.ok()) return s;
  }
  Result<BlobState> held = StateOf(n.sha256, device.id.ToString());
  if (!held.ok()) return held.status();
  if (Status s = txn.Commit(); !s.ok()) return s;
  return std::optional<BlobState>(std::move(*held));
}

Result<std::vector<std::string>> BlobService::RequestedOriginals(
    const DeviceRecord& device, size_t limit) {
  return storage::Originals(store_.db())
      .OpenFor(device.id.ToString(), device.scope.all, device.scope.districts,
               limit);
}

}  // namespace kbo::server
