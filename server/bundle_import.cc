#include "server/bundle_import.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "server/blob_service.h"
#include "server/push_service.h"
#include "server/storage/blobs.h"
#include "shared/bytes.h"
#include "shared/change_set_codec.h"
#include "shared/protocol.h"

namespace kbo::server {
namespace {

// Bundle, version 1 (shared/protocol.h):
//   bundle := "KBOBUNDLE1\n" record*
//   record := kind:u8 len:u32le bytes[len]
//   kind 1 := push body (64-byte signature || encoded change set)
//   kind 2 := blob: 64 lowercase hex digits (its SHA-256) || its bytes
constexpr uint8_t kPushRecord = 1;
constexpr uint8_t kBlobRecord = 2;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Reads exactly n bytes; false on a short read. A length prefix is checked
// against what the file still holds before anything is allocated, so a
// 15-byte file that claims a 64 MiB record allocates nothing (found by
// tools/fuzz: tests/corpus/bundle/lying_photo_64mib).
bool ReadExactly(std::FILE* f, size_t n, std::string* out) {
  struct stat st;
  const long at = std::ftell(f);
  if (at >= 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
      (at > st.st_size ||
       n > static_cast<uint64_t>(st.st_size) - static_cast<uint64_t>(at))) {
    return false;
  }
  out->resize(n);
  return n == 0 || std::fread(out->data(), 1, n, f) == n;
}

std::string Describe(const Status& s) {
  std::string out = std::string(s.ReasonOrCodeName()) + ": " + s.message();
  // In a file, bytes that do not decode or verify were changed after kbo
  // wrote them (a bad USB stick, a messaging app, a hand): said plainly.
  if (s.reason() == "bad_change_set" || s.reason() == "bad_signature") {
    out += " (this record of the file was damaged or altered after it was "
           "written; export the bundle again on the device)";
  }
  return out;
}

}  // namespace

Result<BundleSummary> ImportBundle(ServerStore& store,
                                   const std::string& path,
                                   const Uuid* accept_revoked) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    if (errno == ENOENT)
      return Status::NotFound("no such file: '" + path + "'");
    return Status::IOError("cannot open '" + path +
                           "': " + std::strerror(errno));
  }
  std::string magic;
  if (!ReadExactly(file.get(), protocol::kBundleMagic.size(), &magic) ||
      magic != protocol::kBundleMagic) {
    return Status::InvalidArgument("'" + path +
                                   "' is not a KBO bundle (it does not "
                                   "start with KBOBUNDLE1)");
  }

  PushService push(store);
  BlobService blobs(store);
  BundleSummary summary;
  std::string bytes;
  for (size_t index = 1;; ++index) {
    const long at = std::ftell(file.get());
    const int kind = std::fgetc(file.get());
    if (kind == EOF) {
      if (std::ferror(file.get())) {
        summary.framing = Status::IOError("read error in '" + path + "'");
      }
      break;
    }
    std::string len_bytes;
    uint32_t len = 0;
    // The record is read from the file as it goes (a bundle may hold
    // gigabytes of photos); its 4-byte length through the one byte reader.
    if (!ReadExactly(file.get(), 4, &len_bytes) ||
        !ByteReader(len_bytes).U32(&len, "record length")) {
      summary.framing =
          Status::Corruption("record " + std::to_string(index) + " at byte " +
                             std::to_string(at) + " is cut short (no length)");
      break;
    }
    const uint64_t cap = kind == kPushRecord ? protocol::kMaxPushBytes
                         : kind == kBlobRecord
                             ? 64 + BlobService::kDefaultMaxBlobBytes
                             : 0;
    if (cap == 0) {
      summary.framing = Status::Corruption(
          "record " + std::to_string(index) + " at byte " + std::to_string(at) +
          " has unknown kind " + std::to_string(kind));
      break;
    }
    if (len > cap) {
      summary.framing = Status::Corruption(
          "record " + std::to_string(index) + " at byte " + std::to_string(at) +
          " claims " + std::to_string(len) + " bytes, over the limit of " +
          std::to_string(cap));
      break;
    }
    if (!ReadExactly(file.get(), len, &bytes)) {
      summary.framing = Status::Corruption(
          "record " + std::to_string(index) + " at byte " + std::to_string(at) +
          " is cut short (the file ends early)");
      break;
    }

    // This server failing (its disk, its database) is no refusal of the
    // record: stop here, to be run again once it is mended.
    auto server_fault = [&](const Status& st) {
      const Code c = st.code();
      if (c != Code::kIOError && c != Code::kInternal && c != Code::kUnavailable) {
        return false;
      }
      summary.stopped = Status::FromCode(c, "record " + std::to_string(index) + ": " +
                                                st.message())
                            .WithReason(st.reason());
      return true;
    };
    if (kind == kPushRecord) {
      Result<PushResult> r = push.PushFromBundle(bytes, accept_revoked);
      if (!r.ok() && server_fault(r.status())) break;
      if (r.ok()) {
        ++(r->repeated ? summary.change_sets_repeated
                       : summary.change_sets_applied);
        if (r->from_revoked && !r->repeated) ++summary.change_sets_from_revoked;
        if (!r->repeated) {
          for (const protocol::RefusedRow& row : r->receipt.refused) {
            summary.row_refusals.push_back(
                "record " + std::to_string(index) + " (change set " +
                std::to_string(r->receipt.seq) + "): " + row.entity + " " +
                row.row_id + ": " + row.reason + ": " + row.message);
          }
        }
        continue;
      }
      ++summary.change_sets_refused;
      std::string what = "record " + std::to_string(index);
      Signature sig{};
      std::string_view cs_bytes;
      if (protocol::DecodePushBody(bytes, &sig, &cs_bytes).ok()) {
        Result<ChangeSet> cs = DecodeChangeSet(cs_bytes);
        if (cs.ok()) {
          what += " (change set " + std::to_string(cs->seq) + " of device " +
                  cs->device.ToString() + ")";
        }
      }
      std::string line = what + ": " + Describe(r.status());
      if (const int64_t* expected = r.status().IntegerField(field::kExpected)) {
        line += " (expected " + std::to_string(*expected) + ")";
        // Sets the server does not hold before it (a database restored
        // from an older backup lost them; a bundle holds only what the
        // device had not seen confirmed): the device still has them.
        if (r.status().reason() == "sequence_gap") {
          line += "; on the device, kbo bundle export FILE --from " +
                  std::to_string(*expected) +
                  " --photos writes every set from there, the confirmed ones too, "
                  "with their photos";
        }
      }
      summary.refusals.push_back(std::move(line));
    } else {
      if (len < 64) {
        ++summary.blobs_refused;
        summary.refusals.push_back("record " + std::to_string(index) +
                                   ": a blob record shorter than its name");
        continue;
      }
      const std::string sha = bytes.substr(0, 64);
      // A name that is not a SHA-256 in hex (a damaged or altered file) is
      // never echoed: its bytes could be a terminal's escape codes.
      if (!IsLowerHex(sha, 64)) {
        ++summary.blobs_refused;
        summary.refusals.push_back("record " + std::to_string(index) +
                                   ": a photo record whose name is not a "
                                   "SHA-256 in hex (the file is damaged or "
                                   "altered); nothing was written");
        continue;
      }
      // A photo is stored only for a photo row the server holds, as over
      // the network (403 blob_not_named): a bundle whose change sets were
      // refused (a revoked device's, a forged one) leaves nothing behind.
      Result<bool> named =
          storage::Blobs(store.db()).NamedIn(sha, /*all_districts=*/true, {});
      if (!named.ok() || !*named) {
        ++summary.blobs_refused;
        summary.refusals.push_back(
            "record " + std::to_string(index) + " (blob " + sha + "): " +
            (named.ok() ? std::string("no photo on this server names it (its "
                                      "change set was refused, or the photo "
                                      "was deleted); nothing was written")
                        : Describe(named.status())));
        continue;
      }
      Result<BlobState> before = blobs.State(sha);
      const bool had = before.ok() && before->complete;
      Result<BlobState> r =
          blobs.PutWhole(sha, std::string_view(bytes).substr(64));
      if (!r.ok() && server_fault(r.status())) break;
      if (r.ok()) {
        ++(had ? summary.blobs_present : summary.blobs_stored);
        continue;
      }
      ++summary.blobs_refused;
      summary.refusals.push_back("record " + std::to_string(index) + " (blob " +
                                 sha + "): " + Describe(r.status()));
    }
  }
  return summary;
}

}  // namespace kbo::server
