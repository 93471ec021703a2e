// Complete photo blobs whose photo rows were all deleted are collected, but
// only after a retention from when the server first saw them unnamed
// (issue 9): a photo the office restores within it still has its file.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "server/blob_service.h"
#include "server/push_service.h"
#include "shared/fs.h"
#include "shared/signing.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(seed + (i * 37 % 241));
  return s;
}

std::string Sha(std::string_view bytes) { return HexEncode(Sha256(bytes)); }

constexpr int64_t kDay = int64_t{24} * 3600 * 1000;

TEST_CASE("BlobService: a blob no live photo names is collected after the "
          "retention, and kept if named again",
          "[server][blob]") {
  ServerFixture f;
  TestDevice phrao;
  f.Enroll(phrao, kPhrao);
  PushService push(*f.store);
  BlobService blobs(*f.store);
  const std::string a = Bytes(5000, 'a'), b = Bytes(7000, 'b'),
                    c = Bytes(3000, 'c');
  const Uuid producer = Uuid::Random();
  const Uuid pa = Uuid::Random(), pb1 = Uuid::Random(), pb2 = Uuid::Random(),
             pc = Uuid::Random();
  std::vector<RowChange> rows = {Producer(producer, phrao.HlcAt(kT0), kPhrao)};
  for (const auto& [id, bytes] : std::vector<std::pair<Uuid, std::string>>{
           {pa, a}, {pb1, b}, {pb2, b}, {pc, c}}) {
    rows.push_back(Row("photo", id, phrao.HlcAt(kT0),
                       {{"subject_type", T("producer"), 0},
                        {"subject_id", T(producer.ToString()), 0},
                        {"sha256", T(Sha(bytes)), 0},
                        {"mime", T("image/jpeg"), 0},
                        {"district_code", T(kPhrao), 0}}));
  }
  REQUIRE(push.Push(f.Record(phrao.id), phrao.SealNext(rows)).ok());
  for (const std::string* bytes : {&a, &b}) {
    auto put = blobs.PutChunkFor(f.Record(phrao.id), Sha(*bytes), 0,
                                 bytes->size(), Sha(*bytes), *bytes);
    REQUIRE(put.ok());
    REQUIRE(put->complete);
  }
  REQUIRE(EnsureDir(f.store->paths().blobs + "/thumbs").ok());
  const std::string thumb_a =
      f.store->paths().blobs + "/thumbs/" + Sha(a) + ".jpg";
  REQUIRE(WriteFileAtomically(thumb_a, "jpeg", 0600).ok());
  const auto set_deleted = [&](const Uuid& id, int deleted) {
    Statement& st =
        f.store->db().Cached("UPDATE photo SET deleted = ?2 WHERE id = ?1");
    st.Bind(1, std::string_view(id.ToString())).Bind(2, int64_t{deleted});
    REQUIRE(st.Run().ok());
  };
  const auto collect = [&] {
    auto r = blobs.CollectUnnamed();
    REQUIRE(r.ok());
    return *r;
  };
  const auto held = [&](const std::string& bytes) {
    return f.Count("SELECT COUNT(*) FROM blob WHERE sha256 = '" + Sha(bytes) +
                   "'") == 1 &&
           FileExists(blobs.PathFor(Sha(bytes)));
  };

  // Named by live rows: nothing is marked or collected, however long.
  f.wall.Advance(100 * kDay);
  CHECK(collect().empty());
  CHECK(f.Count("SELECT COUNT(*) FROM blob WHERE unnamed_since IS NOT NULL") ==
        0);

  // The photo of a is deleted; b loses one of its two rows.
  set_deleted(pa, 1);
  set_deleted(pb1, 1);
  CHECK(collect().empty());
  CHECK(f.Count("SELECT COUNT(*) FROM blob WHERE unnamed_since IS NOT NULL") ==
        1);
  f.wall.Advance(BlobService::kDefaultUnnamedRetentionMs - kDay);
  CHECK(collect().empty());
  CHECK(held(a));

  // Restored by the office within the retention: unmarked, kept.
  set_deleted(pa, 0);
  CHECK(collect().empty());
  CHECK(f.Count("SELECT COUNT(*) FROM blob WHERE unnamed_since IS NOT NULL") ==
        0);
  // Deleted again: the retention starts over from now.
  set_deleted(pa, 1);
  CHECK(collect().empty());
  f.wall.Advance(BlobService::kDefaultUnnamedRetentionMs - kDay);
  CHECK(collect().empty());
  CHECK(held(a));

  // Past the retention: collected where the partial reaper runs, on the
  // next chunk any device sends (here c's).
  f.wall.Advance(2 * kDay);
  auto put = blobs.PutChunkFor(f.Record(phrao.id), Sha(c), 0, c.size(), Sha(c),
                               c);
  REQUIRE(put.ok());
  CHECK_FALSE(held(a));
  CHECK(f.Count("SELECT COUNT(*) FROM blob WHERE sha256 = '" + Sha(a) + "'") ==
        0);
  CHECK_FALSE(FileExists(blobs.PathFor(Sha(a))));
  CHECK_FALSE(FileExists(thumb_a));
  // b (still named by pb2) and c stay.
  CHECK(held(b));
  CHECK(held(c));
  CHECK(collect().empty());

  // A photo restored after the collection asks its device for the file
  // again (it still has it), like any photo not uploaded yet.
  set_deleted(pa, 0);
  auto missing = blobs.Missing(f.Record(phrao.id));
  REQUIRE(missing.ok());
  CHECK(*missing == std::vector<std::string>{Sha(a)});
}

}  // namespace
}  // namespace kbo::server::testing
