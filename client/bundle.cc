#include "client/bundle.h"

#include <sys/stat.h>

#include <set>

#include "client/blob_store.h"
#include "client/photo_record.h"
#include "client/outbox.h"
#include "shared/bytes.h"
#include "shared/change_set_codec.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/sqlite/db.h"

namespace kbo::client {
namespace {

// A record's length is a u32: 4 GiB, far above the 2 GiB photo cap.
constexpr uint64_t kMaxRecordBytes = UINT32_MAX;

}  // namespace

Status AppendBundleRecord(std::string* out, uint8_t kind, std::string_view a,
                          std::string_view b) {
  const uint64_t len = a.size() + b.size();
  if (len > kMaxRecordBytes) {
    return Status::ResourceExhausted("a bundle record is larger than 4 GiB");
  }
  ByteWriter w(out);
  w.U8(kind);
  w.U32(static_cast<uint32_t>(len));
  w.Raw(a);
  w.Raw(b);
  return Status();
}

Result<BundleSummary> ExportBundle(ClientStore& store, const std::string& path,
                                   bool include_photos, uint64_t from_seq) {
  // Before sealing: a path that can take no file changes nothing.
  if (Status s = EnsureReplaceableFile(path); !s.ok()) return s;
  Outbox outbox(store);
  if (Result<size_t> sealed = outbox.SealAll(); !sealed.ok())
    return sealed.status();
  Result<std::vector<SealedChangeSet>> sets =
      from_seq > 0 ? outbox.SealedFrom(from_seq) : outbox.Unacked();
  if (!sets.ok()) return sets.status();
  if (from_seq > 0 && (sets->empty() || sets->front().seq != from_seq)) {
    return Status::NotFound(
        "this device holds no change set " + std::to_string(from_seq) +
        (sets->empty() ? std::string(" or later")
                       : "; its sets begin at " + std::to_string(sets->front().seq)) +
        "; nothing was written");
  }

  // Written as it is built, one record in memory at a time (a bundle of
  // every photo a device ever took is larger than a phone's memory); put in
  // place whole at the end, or not at all.
  AtomicFileWriter file;
  const auto write_failed = [&path](const Status& s) {
    if (s.code() == Code::kInvalidArgument) return s;  // not a file to write
    return Status::IOError("cannot write " + path + ": " + s.message() +
                           " (nothing was written)");
  };
  if (Status s = file.Open(path, S_IRUSR | S_IWUSR); !s.ok()) return write_failed(s);
  if (Status s = file.Append(protocol::kBundleMagic); !s.ok()) return write_failed(s);
  // A record: its kind and length, then its two parts as they are (a
  // photo is not copied again).
  const auto put = [&](uint8_t kind, std::string_view a, std::string_view b) -> Status {
    const uint64_t len = a.size() + b.size();
    if (len > kMaxRecordBytes) {
      return Status::ResourceExhausted("a bundle record is larger than 4 GiB");
    }
    std::string head;
    ByteWriter w(&head);
    w.U8(kind);
    w.U32(static_cast<uint32_t>(len));
    for (std::string_view part : {std::string_view(head), a, b}) {
      if (Status s = file.Append(part); !s.ok()) return write_failed(s);
    }
    return Status();
  };

  BundleSummary summary;
  for (const SealedChangeSet& set : *sets) {
    if (Status s = put(kBundleChangeSet,
                       protocol::EncodePushBody(set.signature, set.bytes), {});
        !s.ok()) {
      return s;
    }
    Statement st(store.db(),
                 "SELECT row_count FROM change_set WHERE seq = ?1");
    st.Bind(1, static_cast<int64_t>(set.seq));
    if (st.Step()) summary.rows += static_cast<uint64_t>(st.ColumnInt(0));
    if (!st.status().ok()) return st.status();
    if (summary.change_sets++ == 0) summary.first_seq = set.seq;
    summary.last_seq = set.seq;
  }

  if (include_photos) {
    std::vector<std::pair<std::string, int64_t>> photos;
    {
      Statement st(store.db(),
                   "SELECT sha256, bytes FROM blob_upload b"
                   " WHERE done_at IS NULL AND refused_at IS NULL AND " +
                       std::string(kBlobUploadWanted) + " ORDER BY rowid");
      while (st.Step()) photos.emplace_back(st.ColumnText(0), st.ColumnInt(1));
      if (!st.status().ok()) return st.status();
    }
    if (from_seq > 0) {
      // The photos the written sets name, sent before too: a server that
      // lost the sets lost their photos with them.
      std::set<std::string> named;
      for (const auto& [sha, bytes] : photos) named.insert(sha);
      Statement size(store.db(),
                     "SELECT bytes FROM blob_upload WHERE sha256 = ?1 AND refused_at IS NULL");
      for (const SealedChangeSet& set : *sets) {
        Result<ChangeSet> cs = DecodeChangeSet(set.bytes);
        if (!cs.ok()) return cs.status();
        for (const RowChange& row : cs->rows) {
          if (row.entity != "photo") continue;
          for (const CellWrite& cell : row.cells) {
            if (cell.column != "sha256" || cell.value.type() != Value::Type::kText) continue;
            const std::string& sha = cell.value.text();
            if (named.count(sha) != 0) continue;
            size.Bind(1, std::string_view(sha));
            if (size.Step()) {
              photos.emplace_back(sha, size.ColumnInt(0));
              named.insert(sha);
            }
            if (!size.status().ok()) return size.status();
            if (Status r = size.Reset(); !r.ok()) return r;
          }
        }
      }
    }
    for (const auto& [sha, bytes] : photos) {
      Result<std::string> photo =
          ReadQueuedBlob(store.paths().blobs, sha, static_cast<size_t>(bytes));
      if (!photo.ok()) {
        return Status::IOError("photo " + sha + " cannot go into the bundle: " +
                               photo.status().message() +
                               " (nothing was written)");
      }
      if (Status s = put(kBundlePhoto, sha, *photo); !s.ok()) return s;
      ++summary.photos;
      summary.photo_bytes += photo->size();
    }
  }

  summary.file_bytes = file.size();
  if (Status s = file.Commit(); !s.ok()) return write_failed(s);
  return summary;
}

Result<std::vector<BundleRecord>> ParseBundle(std::string_view bundle) {
  ByteReader in(bundle);
  if (!in.Expect(protocol::kBundleMagic, "a KBO bundle")) return in.status();
  std::vector<BundleRecord> records;
  while (!in.empty()) {
    uint8_t kind = 0;
    std::string_view bytes;
    if (!in.U8(&kind, "record kind")) return in.status();
    if (kind != kBundleChangeSet && kind != kBundlePhoto) {
      return Status::Corruption("unknown record kind " + std::to_string(kind));
    }
    if (!in.Bytes32(&bytes, kMaxRecordBytes, "record")) return in.status();
    records.push_back({kind, std::string(bytes)});
  }
  return records;
}

}  // namespace kbo::client
