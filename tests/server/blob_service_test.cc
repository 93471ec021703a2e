#include "server/blob_service.h"

#include <sys/time.h>

#include <catch2/catch.hpp>
#include <limits>

#include "server/push_service.h"
#include "server/storage/blobs.h"
#include "server/storage/server_state.h"
#include "shared/fs.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

// Photo-like bytes of a given size.
std::string PhotoBytes(size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + (i * 31 % 251));
  return s;
}

std::string ShaHex(std::string_view bytes) { return HexEncode(Sha256(bytes)); }

// A Phrao photo row of producer `producer` naming blob `sha`, with its size
// (0: the row gives none).
RowChange ProducerPhoto(const Uuid& id, const Hlc& hlc, const Uuid& producer,
                        const std::string& sha, uint64_t size = 0) {
  std::vector<CellWrite> cells = {{"subject_type", T("producer"), 0},
                                  {"subject_id", T(producer.ToString()), 0},
                                  {"sha256", T(sha), 0},
                                  {"mime", T("image/jpeg"), 0},
                                  {"district_code", T(kPhrao), 0}};
  if (size > 0) cells.push_back({"bytes", I(static_cast<int64_t>(size)), 0});
  return Row("photo", id, hlc, std::move(cells));
}

TEST_CASE(
    "BlobService: an upload cut half-way resumes from what the server "
    "holds",
    "[server][blob]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(protocol::kBlobChunkBytes + 1000);
  const std::string sha = ShaHex(photo);
  const std::string first = photo.substr(0, protocol::kBlobChunkBytes);
  const std::string rest = photo.substr(protocol::kBlobChunkBytes);

  auto s1 = blobs.PutChunk(sha, 0, photo.size(), ShaHex(first), first);
  REQUIRE(s1.ok());
  CHECK(s1->received == first.size());
  CHECK_FALSE(s1->complete);

  // The connection dropped; the phone asks what the server has.
  auto state = blobs.StateOf(sha, "server");
  REQUIRE(state.ok());
  CHECK(state->received == first.size());
  CHECK(state->total == photo.size());
  CHECK(FileExists(blobs.PartialPath(sha, "server")));

  // Sending the first chunk again is refused, naming where to resume.
  auto dup =
      blobs.PutChunk(sha, 0, photo.size(), ShaHex(first), first);
  CHECK(dup.status().code() == Code::kSequenceGap);
  CHECK(dup.status().reason() == "offset_mismatch");
  REQUIRE(dup.status().IntegerField(field::kReceived) != nullptr);
  CHECK(*dup.status().IntegerField(field::kReceived) ==
        static_cast<int64_t>(first.size()));

  auto s2 = blobs.PutChunk(sha, first.size(), photo.size(), ShaHex(rest), rest);
  REQUIRE(s2.ok());
  CHECK(s2->complete);
  CHECK(s2->received == photo.size());
  auto stored = ReadFileBounded(blobs.PathFor(sha), photo.size());
  REQUIRE(stored.ok());
  CHECK(*stored == photo);
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, "server")));
}

TEST_CASE(
    "BlobService: with the disk nearly full photos are refused as 'try again later', "
    "nothing written, so records can still be",
    "[server][blob]") {
  // An enrolled device adding photo rows could fill the server's disk at
  // network speed; then no record, of anyone, could be written.
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(4000);
  const std::string sha = ShaHex(photo);
  blobs.set_min_free_bytes(std::numeric_limits<uint64_t>::max() / 2);  // more than any disk
  auto refused = blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), photo);
  CHECK(refused.status().code() == Code::kUnavailable);
  CHECK(refused.status().reason() == "disk_full");
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, "server")));
  CHECK_FALSE(FileExists(blobs.PathFor(sha)));
  CHECK(blobs.PutWhole(sha, photo).status().reason() == "disk_full");
  CHECK_FALSE(FileExists(blobs.PathFor(sha)));
  // Room again: taken.
  blobs.set_min_free_bytes(1);
  auto taken = blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), photo);
  REQUIRE(taken.ok());
  CHECK(taken->complete);
}

TEST_CASE(
    "BlobService: a chunk whose bytes do not match its hash is refused and "
    "nothing is written",
    "[server][blob][untrusted]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(5000);
  const std::string sha = ShaHex(photo);
  std::string damaged = photo;
  damaged[10] ^= 0x40;
  auto r =
      blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), damaged);
  CHECK(r.status().code() == Code::kInvalidArgument);
  CHECK(r.status().reason() == "bad_chunk");
  CHECK(blobs.StateOf(sha, "server")->received == 0);
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, "server")));
  CHECK(blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), photo)
            ->complete);
}

TEST_CASE(
    "BlobService: a whole that does not hash to its name is discarded with "
    "hash_mismatch",
    "[server][blob][untrusted]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(3000);
  const std::string other = PhotoBytes(3000, 'z');
  const std::string sha = ShaHex(photo);
  auto r = blobs.PutChunk(sha, 0, other.size(), ShaHex(other), other);
  CHECK(r.status().code() == Code::kCorruption);
  CHECK(r.status().reason() == "hash_mismatch");
  CHECK(blobs.StateOf(sha, "server")->received == 0);
  CHECK_FALSE(FileExists(blobs.PathFor(sha)));
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, "server")));
}

TEST_CASE("BlobService: a blob the server holds is not uploaded twice",
          "[server][blob]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(2000);
  const std::string sha = ShaHex(photo);
  REQUIRE(blobs.PutWhole(sha, photo)->complete);
  // Any chunk for it now answers "complete" and writes nothing.
  const std::string part = photo.substr(0, 100);
  auto r = blobs.PutChunk(sha, 0, photo.size(), ShaHex(part), part);
  REQUIRE(r.ok());
  CHECK(r->complete);
  CHECK(r->received == photo.size());
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, "server")));
  CHECK(blobs.PutWhole(sha, photo)->complete);
  auto misnamed = blobs.PutWhole(ShaHex("x"), photo);
  CHECK(misnamed.status().code() == Code::kCorruption);
  CHECK(misnamed.status().reason() == "hash_mismatch");
}

TEST_CASE(
    "BlobService: names must be 64 lowercase hex digits, chunks and totals "
    "are bounded",
    "[server][blob][untrusted]") {
  ServerFixture f;
  BlobService blobs(*f.store, /*max_blob_bytes=*/4 << 20);
  const std::string chunk = "abc";
  for (const std::string& name :
       {std::string("../../server.key"), std::string(64, 'A'),
        std::string(63, 'a'), std::string(64, 'a') + "/",
        std::string("partial/") + std::string(56, 'a')}) {
    CAPTURE(name);
    CHECK(blobs.PutChunk(name, 0, 3, ShaHex(chunk), chunk)
              .status()
              .code() == Code::kInvalidArgument);
    CHECK(blobs.State(name).status().code() == Code::kInvalidArgument);
  }
  const std::string sha(64, 'a');
  const std::string big(protocol::kBlobChunkBytes + 1, 'x');
  CHECK(blobs.PutChunk(sha, 0, 8 << 20, ShaHex(big), big)
            .status()
            .code() == Code::kResourceExhausted);
  CHECK(blobs.PutChunk(sha, 0, 5 << 20, ShaHex(chunk), chunk)
            .status()
            .code() == Code::kResourceExhausted);
  CHECK(blobs.PutChunk(sha, 0, 0, ShaHex(chunk), chunk)
            .status()
            .code() == Code::kInvalidArgument);
  auto past_end = blobs.PutChunk(sha, 0, 2, ShaHex(chunk), chunk);
  CHECK(past_end.status().code() == Code::kInvalidArgument);
  CHECK(past_end.status().reason() == "bad_chunk");
}

TEST_CASE(
    "BlobService: the missing list names photos in scope whose blob the "
    "server lacks",
    "[server][blob]") {
  ServerFixture f;
  TestDevice phrao, fang;
  f.Enroll(phrao, kPhrao);
  f.Enroll(fang, kFang);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string held = PhotoBytes(100, 'h'), lacking = PhotoBytes(100, 'l'),
                    fang_photo = PhotoBytes(100, 'f');
  // A photo hangs on a producer the server holds, in the photo's district.
  const Uuid phrao_producer = Uuid::Random(), fang_producer = Uuid::Random();
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext({Producer(phrao_producer, phrao.HlcAt(kT0), kPhrao)}))
              .ok());
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext({Producer(fang_producer, fang.HlcAt(kT0), kFang)}))
              .ok());
  const auto photo_row = [&](TestDevice& d, const std::string& bytes,
                             const std::string& district) {
    return Row("photo", Uuid::Random(), d.HlcAt(kT0),
               {{"subject_type", T("producer"), 0},
                {"subject_id",
                 T((district == kPhrao ? phrao_producer : fang_producer).ToString()),
                 0},
                {"sha256", T(ShaHex(bytes)), 0},
                {"bytes", I(static_cast<int64_t>(bytes.size())), 0},
                {"mime", T("image/jpeg"), 0},
                {"district_code", T(district), 0}});
  };
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext({photo_row(phrao, held, kPhrao),
                                    photo_row(phrao, lacking, kPhrao)}))
              .ok());
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext({photo_row(fang, fang_photo, kFang)}))
              .ok());
  REQUIRE(blobs.PutWhole(ShaHex(held), held).ok());
  auto missing = blobs.Missing(f.Record(phrao.id));
  REQUIRE(missing.ok());
  CHECK(*missing == std::vector<std::string>{ShaHex(lacking)});
}

TEST_CASE(
    "BlobService: a photo moved with its producer to another district before "
    "its file came is still taken from the device of the district it left",
    "[server][blob][moved]") {
  ServerFixture f;
  TestDevice phrao, fang, office;
  f.Enroll(phrao, kPhrao, "field_officer");
  f.Enroll(fang, kFang, "field_officer");
  f.Enroll(office, "all", "central_office");
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string taken = PhotoBytes(100, 'm'), other = PhotoBytes(100, 'o');
  const Uuid producer = Uuid::Random(), photo = Uuid::Random();
  const Uuid fang_producer = Uuid::Random();
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext(
                        {Producer(producer, phrao.HlcAt(kT0), kPhrao),
                         Row("photo", photo, phrao.HlcAt(kT0),
                             {{"subject_type", T("producer"), 0},
                              {"subject_id", T(producer.ToString()), 0},
                              {"sha256", T(ShaHex(taken)), 0},
                              {"bytes", I(static_cast<int64_t>(taken.size())), 0},
                              {"mime", T("image/jpeg"), 0},
                              {"district_code", T(kPhrao), 0}})}))
              .ok());  // seqs 1-2
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext(
                        {Producer(fang_producer, fang.HlcAt(kT0), kFang),
                         Row("photo", Uuid::Random(), fang.HlcAt(kT0),
                             {{"subject_type", T("producer"), 0},
                              {"subject_id", T(fang_producer.ToString()), 0},
                              {"sha256", T(ShaHex(other)), 0},
                              {"bytes", I(static_cast<int64_t>(other.size())), 0},
                              {"mime", T("image/jpeg"), 0},
                              {"district_code", T(kFang), 0}})}))
              .ok());
  REQUIRE(*blobs.NamedInScope(f.Record(phrao.id), ShaHex(taken)));
  // The office moves the producer, and its photo with it, to Fang.
  REQUIRE(push.Push(f.Record(office.id),
                    office.SealNext({Row("producer", producer, office.HlcAt(kT0 + 10),
                                         {{"district_code", T(kFang), 1}}),
                                     Row("photo", photo, office.HlcAt(kT0 + 10),
                                         {{"district_code", T(kFang), 2}})}))
              .ok());
  CHECK(*blobs.MayUpload(f.Record(phrao.id), ShaHex(taken)));
  CHECK(*blobs.NamedInScope(f.Record(fang.id), ShaHex(taken)));
  // Phrao may send it, not read it (nor its thumbnail) any more.
  CHECK_FALSE(*blobs.NamedInScope(f.Record(phrao.id), ShaHex(taken)));
  // Not a photo that was never in Phrao.
  CHECK_FALSE(*blobs.MayUpload(f.Record(phrao.id), ShaHex(other)));
  auto state = blobs.StateFor(f.Record(phrao.id), ShaHex(taken));
  CHECK(state.ok());
  REQUIRE(blobs.PutChunkFor(f.Record(phrao.id), ShaHex(taken), 0, taken.size(),
                            ShaHex(taken), taken)
              .ok());
}

TEST_CASE(
    "BlobService (D5): a device uploads and asks about only blobs a photo in "
    "its districts names, refusals write nothing",
    "[server][blob][attack][d5]") {
  ServerFixture f;
  TestDevice phrao, fang;
  f.Enroll(phrao, kPhrao);
  f.Enroll(fang, kFang);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string named = PhotoBytes(1000, 'n'), stranger = PhotoBytes(1000, 's');
  const Uuid producer = Uuid::Random();
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext(
                        {Producer(producer, phrao.HlcAt(kT0), kPhrao),
                         ProducerPhoto(Uuid::Random(), phrao.HlcAt(kT0), producer,
                                       ShaHex(named))}))
              .ok());
  auto refused = [&](TestDevice& d, const std::string& bytes) {
    auto r = blobs.PutChunkFor(f.Record(d.id), ShaHex(bytes), 0, bytes.size(),
                               ShaHex(bytes), bytes);
    CHECK(r.status().code() == Code::kPermissionDenied);
    CHECK(r.status().reason() == "blob_not_named");
    CHECK(blobs.StateFor(f.Record(d.id), ShaHex(bytes)).status().code() ==
          Code::kNotFound);
  };
  refused(phrao, stranger);  // nobody names it
  refused(fang, named);      // a Phrao photo, not Fang's
  CHECK(f.Count("SELECT COUNT(*) FROM blob") == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 0);
  CHECK_FALSE(FileExists(blobs.PartialPath(ShaHex(named), fang.id.ToString())));
  CHECK_FALSE(FileExists(blobs.PartialPath(ShaHex(stranger), phrao.id.ToString())));
  // The Phrao device may.
  auto ok = blobs.PutChunkFor(f.Record(phrao.id), ShaHex(named), 0, named.size(),
                              ShaHex(named), named);
  REQUIRE(ok.ok());
  CHECK(ok->complete);
  CHECK(blobs.StateFor(f.Record(phrao.id), ShaHex(named))->complete);
}

TEST_CASE(
    "BlobService: an upload must begin with the size the photo's row gives, and another "
    "device's false total cannot block the photo's own device",
    "[server][blob][attack]") {
  ServerFixture f;
  TestDevice taker, rogue;
  f.Enroll(taker, kPhrao);
  f.Enroll(rogue, kPhrao);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(12420, 'p');
  const Uuid producer = Uuid::Random();
  REQUIRE(push.Push(f.Record(taker.id),
                    taker.SealNext(
                        {Producer(producer, taker.HlcAt(kT0), kPhrao),
                         ProducerPhoto(Uuid::Random(), taker.HlcAt(kT0), producer,
                                       ShaHex(photo), photo.size())}))
              .ok());
  // The rogue read the missing list and begins it with 64 MiB, one byte.
  const std::string one = photo.substr(0, 1);
  auto false_total = blobs.PutChunkFor(f.Record(rogue.id), ShaHex(photo), 0,
                                       uint64_t{64} << 20, ShaHex(one), one);
  REQUIRE_FALSE(false_total.ok());
  CHECK(false_total.status().code() == Code::kInvalidArgument);
  CHECK(false_total.status().reason() == "bad_total");
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 0);
  CHECK_FALSE(FileExists(blobs.PartialPath(ShaHex(photo), rogue.id.ToString())));
  // Nor with a row of its own naming the photo without a size.
  REQUIRE(push.Push(f.Record(rogue.id),
                    rogue.SealNext({ProducerPhoto(Uuid::Random(), rogue.HlcAt(kT0 + 1),
                                                  producer, ShaHex(photo))}))
              .ok());
  CHECK(blobs.PutChunkFor(f.Record(rogue.id), ShaHex(photo), 0, uint64_t{64} << 20,
                          ShaHex(one), one)
            .status()
            .reason() == "bad_total");
  // The photo's own device sends it whole.
  auto sent = blobs.PutChunkFor(f.Record(taker.id), ShaHex(photo), 0, photo.size(),
                                ShaHex(photo), photo);
  INFO(sent.status().message());
  REQUIRE(sent.ok());
  CHECK(sent->complete);
}

// A device's upload of a photo is its own (table blob_upload): a rogue of
// the district that pushes a row of its own naming the photo with a false
// size, and sends that size or other bytes, neither blocks the device that
// took it nor spoils what that device has sent.
TEST_CASE(
    "BlobService: another device's upload of the same photo, with a false size or "
    "other bytes, neither blocks nor spoils the photo's own upload",
    "[server][blob][attack]") {
  ServerFixture f;
  TestDevice taker, rogue;
  f.Enroll(taker, kPhrao);
  f.Enroll(rogue, kPhrao);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(12420, 'q');
  const std::string sha = ShaHex(photo);
  const uint64_t false_size = photo.size() + 5000;
  const Uuid producer = Uuid::Random();
  const auto photo_row = [&](TestDevice& d, uint64_t size, int64_t at) {
    return ProducerPhoto(Uuid::Random(), d.HlcAt(at), producer, sha, size);
  };
  REQUIRE(push.Push(f.Record(taker.id),
                    taker.SealNext({Producer(producer, taker.HlcAt(kT0), kPhrao),
                                    photo_row(taker, photo.size(), kT0)}))
              .ok());
  REQUIRE(push.Push(f.Record(rogue.id),
                    rogue.SealNext({photo_row(rogue, false_size, kT0 + 1)}))
              .ok());
  const auto send = [&](TestDevice& d, uint64_t offset, uint64_t total,
                        const std::string& chunk) {
    return blobs.PutChunkFor(f.Record(d.id), sha, offset, total, ShaHex(chunk), chunk);
  };
  // The rogue begins first, with its false size.
  REQUIRE(send(rogue, 0, false_size, std::string(1, 'x')).ok());
  // The taker sends half: its own upload, from 0.
  const std::string first = photo.substr(0, photo.size() / 2);
  auto half = send(taker, 0, photo.size(), first);
  INFO(half.status().message());
  REQUIRE(half.ok());
  CHECK(half->received == first.size());
  // The rogue sends other bytes of the true size, whole: its own upload
  // fails its hash, and only its own.
  const std::string junk(photo.size(), 'j');
  CHECK(send(rogue, 0, photo.size(), junk).status().reason() == "hash_mismatch");
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, rogue.id.ToString())));
  auto mine = blobs.StateFor(f.Record(taker.id), sha);
  REQUIRE(mine.ok());
  CHECK(mine->received == first.size());
  CHECK(mine->total == photo.size());
  // The rogue begins again; the taker finishes: complete, its bytes.
  REQUIRE(send(rogue, 0, false_size, std::string(7, 'y')).ok());
  auto done = send(taker, first.size(), photo.size(), photo.substr(first.size()));
  REQUIRE(done.ok());
  CHECK(done->complete);
  auto stored = ReadFileBounded(blobs.PathFor(sha), photo.size());
  REQUIRE(stored.ok());
  CHECK(*stored == photo);
  // Every upload of it ended with it: no record, no file.
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 0);
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, rogue.id.ToString())));
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, taker.id.ToString())));
  // The rogue's next chunk hears it is complete, and writes nothing.
  auto late = send(rogue, 7, false_size, std::string(3, 'z'));
  REQUIRE(late.ok());
  CHECK(late->complete);
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, rogue.id.ToString())));
}

// A photo deleted while its upload was unfinished: the upload is
// discarded at the next reaping, not kept for a week against the device's
// cap.
TEST_CASE("BlobService: an unfinished upload of a photo whose rows were all deleted "
          "is reaped",
          "[server][blob]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(5000, 'u');
  const std::string sha = ShaHex(photo);
  const Uuid producer = Uuid::Random(), row = Uuid::Random();
  REQUIRE(push.Push(f.Record(d.id),
                    d.SealNext({Producer(producer, d.HlcAt(kT0), kPhrao),
                                ProducerPhoto(row, d.HlcAt(kT0), producer, sha)}))
              .ok());
  const std::string part = photo.substr(0, 1000);
  REQUIRE(blobs.PutChunkFor(f.Record(d.id), sha, 0, photo.size(), ShaHex(part), part).ok());
  auto kept = blobs.ReapPartials();
  REQUIRE(kept.ok());
  CHECK(*kept == 0);  // named: it goes on
  REQUIRE(push.Push(f.Record(d.id),
                    d.SealNext({Row("photo", row, d.HlcAt(kT0 + 1), {{"deleted", I(1), 0}})}))
              .ok());
  auto reaped = blobs.ReapPartials();
  REQUIRE(reaped.ok());
  CHECK(*reaped == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 0);
  CHECK_FALSE(FileExists(blobs.PartialPath(sha, d.id.ToString())));
}

// A device that began a photo's upload with another size (its row was
// edited since) begins it again from byte 0; only from byte 0.
TEST_CASE("BlobService: an upload begun with another size begins again at byte 0",
          "[server][blob]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(4000, 'r');
  const std::string sha = ShaHex(photo);
  const std::string part = photo.substr(0, 1000);
  REQUIRE(blobs.PutChunk(sha, 0, photo.size() + 10, ShaHex(part), part).ok());
  auto later = blobs.PutChunk(sha, 1000, photo.size(), ShaHex(part), part);
  CHECK(later.status().code() == Code::kInvalidArgument);
  CHECK(blobs.StateOf(sha, "server")->total == photo.size() + 10);
  auto again = blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), photo);
  REQUIRE(again.ok());
  CHECK(again->complete);
}

// Partial files no upload names (uploads from before table blob_upload, a
// crash after an upload ended) are removed when the server starts.
TEST_CASE("BlobService: partial files no upload names are swept at start",
          "[server][blob]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(3000, 's');
  const std::string sha = ShaHex(photo);
  const std::string part = photo.substr(0, 100);
  REQUIRE(blobs.PutChunk(sha, 0, photo.size(), ShaHex(part), part).ok());
  const std::string legacy = f.store->paths().partial + "/" + std::string(64, 'b');
  const std::string orphan = blobs.PartialPath(std::string(64, 'c'), "server");
  const std::string other = f.store->paths().partial + "/notes.txt";
  const std::string fresh = blobs.PartialPath(std::string(64, 'd'), "server");
  // Two hours old, but `fresh`: another server on the folder may be
  // writing it, its record not yet committed.
  const auto age = [](const std::string& path, int64_t seconds) {
    const struct timeval then[2] = {{::time(nullptr) - seconds, 0},
                                    {::time(nullptr) - seconds, 0}};
    REQUIRE(::utimes(path.c_str(), then) == 0);
  };
  for (const std::string& path : {legacy, orphan, other, fresh}) {
    REQUIRE(WriteFileAtomically(path, "left", 0600).ok());
    if (path != fresh) age(path, 7200);
  }
  age(blobs.PartialPath(sha, "server"), 7200);
  auto adopted = blobs.AdoptFiles();
  REQUIRE(adopted.ok());
  CHECK_FALSE(FileExists(legacy));
  CHECK_FALSE(FileExists(orphan));
  CHECK(FileExists(fresh));
  CHECK(FileExists(other));  // not a photo's: not ours to remove
  CHECK(FileExists(blobs.PartialPath(sha, "server")));  // still being sent
  CHECK(blobs.StateOf(sha, "server")->received == part.size());
}

TEST_CASE("BlobService: a photo held as received whose file is gone is forgotten at "
          "start, listed as missing, and the sequences jump so devices send it "
          "again, but most files gone is taken for a folder not mounted",
          "[server][blob]") {
  // blobs/ restored from a copy older than server.db: the database said the
  // photo was held, no device was asked for it, and nothing was logged.
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  BlobService blobs(*f.store);
  std::vector<std::string> shas;
  for (int i = 0; i < 12; ++i) {
    const std::string photo = PhotoBytes(2000 + static_cast<size_t>(i), 'k');
    shas.push_back(ShaHex(photo));
    REQUIRE(blobs.PutChunk(shas.back(), 0, photo.size(), ShaHex(photo), photo)->complete);
  }
  const auto next_seq = [&] { return *storage::ServerState(f.store->db()).NextSeq(); };
  SECTION("one file lost") {
    REQUIRE(::unlink(blobs.PathFor(shas[3]).c_str()) == 0);
    const int64_t before = next_seq();
    REQUIRE(blobs.AdoptFiles().ok());
    CHECK_FALSE(storage::Blobs(f.store->db()).Find(shas[3])->has_value());
    CHECK((*storage::Blobs(f.store->db()).Find(shas[4]))->complete);
    CHECK(next_seq() >= before + static_cast<int64_t>(ServerStore::kRestoreGap));
    // Started again: nothing more to do, no second jump.
    const int64_t after = next_seq();
    REQUIRE(blobs.AdoptFiles().ok());
    CHECK(next_seq() == after);
    // The file comes back (sent again): whole again.
    const std::string photo = PhotoBytes(2003, 'k');
    CHECK(blobs.PutChunk(shas[3], 0, photo.size(), ShaHex(photo), photo)->complete);
  }
  SECTION("eleven of twelve gone: not mounted, nothing changed") {
    for (int i = 0; i < 11; ++i) REQUIRE(::unlink(blobs.PathFor(shas[i]).c_str()) == 0);
    const int64_t before = next_seq();
    REQUIRE(blobs.AdoptFiles().ok());
    // (The records: what a device is told reads the file too.)
    for (const std::string& sha : shas) {
      CHECK((*storage::Blobs(f.store->db()).Find(sha))->complete);
    }
    CHECK(next_seq() == before);
  }
}

// The record says bytes are held that the file does not hold (swept by
// another server's start, a disk's loss): the upload begins again at 0,
// said, rather than going on over a head of zeros its hash finds only at
// the end.
TEST_CASE("BlobService: an upload whose file lost bytes the record counts begins again "
          "at byte 0",
          "[server][blob]") {
  ServerFixture f;
  BlobService blobs(*f.store);
  const std::string photo = PhotoBytes(3000, 't');
  const std::string sha = ShaHex(photo);
  const std::string head = photo.substr(0, 1000), tail = photo.substr(1000);
  REQUIRE(blobs.PutChunk(sha, 0, photo.size(), ShaHex(head), head).ok());
  REQUIRE(::unlink(blobs.PartialPath(sha, "server").c_str()) == 0);
  auto lost = blobs.PutChunk(sha, 1000, photo.size(), ShaHex(tail), tail);
  CHECK(lost.status().code() == Code::kSequenceGap);
  CHECK(lost.status().reason() == "offset_mismatch");
  REQUIRE(lost.status().IntegerField(field::kReceived) != nullptr);
  CHECK(*lost.status().IntegerField(field::kReceived) == 0);
  CHECK(blobs.StateOf(sha, "server")->received == 0);
  auto again = blobs.PutChunk(sha, 0, photo.size(), ShaHex(photo), photo);
  REQUIRE(again.ok());
  CHECK(again->complete);
}

TEST_CASE(
    "BlobService (D5): unfinished uploads are capped per device and reaped "
    "when idle",
    "[server][blob][attack][d5]") {
  ServerFixture f;
  TestDevice phrao, other;
  f.Enroll(phrao, kPhrao);
  f.Enroll(other, kPhrao);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  blobs.set_max_partial_bytes_per_device(3 * protocol::kBlobChunkBytes);
  const Uuid producer = Uuid::Random();
  std::vector<RowChange> rows = {Producer(producer, phrao.HlcAt(kT0), kPhrao)};
  std::vector<std::string> photos;
  for (char seed : {'a', 'b', 'c', 'd'}) {
    photos.push_back(PhotoBytes(2 * protocol::kBlobChunkBytes, seed));
    rows.push_back(Row("photo", Uuid::Random(), phrao.HlcAt(kT0),
                       {{"subject_type", T("producer"), 0},
                        {"subject_id", T(producer.ToString()), 0},
                        {"sha256", T(ShaHex(photos.back())), 0},
                        {"mime", T("image/jpeg"), 0},
                        {"district_code", T(kPhrao), 0}}));
  }
  REQUIRE(push.Push(f.Record(phrao.id), phrao.SealNext(rows)).ok());
  auto first_chunk = [&](TestDevice& d, const std::string& photo) {
    const std::string chunk = photo.substr(0, protocol::kBlobChunkBytes);
    return blobs.PutChunkFor(f.Record(d.id), ShaHex(photo), 0, photo.size(),
                             ShaHex(chunk), chunk);
  };
  for (int i = 0; i < 3; ++i) REQUIRE(first_chunk(phrao, photos[i]).ok());
  auto over = first_chunk(phrao, photos[3]);
  CHECK(over.status().code() == Code::kResourceExhausted);
  CHECK(over.status().reason() == "partial_cap");
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 3);
  // Another device of the district is not held back by this one's cap.
  CHECK(first_chunk(other, photos[3]).ok());

  // A week and a minute later, nothing more arrived: all four are reaped.
  f.wall.Advance(BlobService::kDefaultPartialTtlMs + 60000);
  auto reaped = blobs.ReapPartials();
  REQUIRE(reaped.ok());
  CHECK(*reaped == 4);
  CHECK(f.Count("SELECT COUNT(*) FROM blob_upload") == 0);
  for (const std::string& p : photos) {
    CHECK_FALSE(FileExists(blobs.PartialPath(ShaHex(p), phrao.id.ToString())));
  }
  CHECK_FALSE(FileExists(blobs.PartialPath(ShaHex(photos[3]), other.id.ToString())));
  // The device starts again from 0 and finishes.
  const std::string& p = photos[0];
  uint64_t at = 0;
  while (at < p.size()) {
    const std::string chunk = p.substr(at, protocol::kBlobChunkBytes);
    auto r = blobs.PutChunkFor(f.Record(phrao.id), ShaHex(p), at, p.size(),
                               ShaHex(chunk), chunk);
    REQUIRE(r.ok());
    at = r->received;
  }
  CHECK(blobs.State(ShaHex(p))->complete);
}

}  // namespace
}  // namespace kbo::server::testing
