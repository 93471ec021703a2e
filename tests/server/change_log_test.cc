// The change set log keeps each accepted set compressed (schema/server/
// 0008_change_log_zstd.sql) and gives it back verbatim; sets logged before
// that, as they came, still read.
#include "server/storage/change_log.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/push_service.h"
#include "server/row_history.h"
#include "shared/change_set_codec.h"
#include "shared/compression.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

// The signed set inside a push body.
std::string SetOf(const std::string& body, Signature* signature) {
  std::string_view bytes;
  REQUIRE(protocol::DecodePushBody(body, signature, &bytes).ok());
  return std::string(bytes);
}

std::vector<RowChange> Producers(TestDevice& d, size_t n) {
  std::vector<RowChange> rows;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(Producer(Uuid::Random(), d.HlcAt(kT0), kPhrao,
                            "กลุ่มทอผ้าบ้านป่าตุ้ม " + std::to_string(i)));
  }
  return rows;
}

TEST_CASE("Change set log: an accepted set is kept compressed and given back "
          "byte for byte, its hash and signature holding",
          "[server][push][change_log]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const std::string body = trainer.SealNext(Producers(trainer, 300));
  Signature signature{};
  const std::string set = SetOf(body, &signature);
  auto r = push.Push(record, body);
  REQUIRE(r.ok());

  const std::string device = trainer.id.ToString();
  CHECK(f.Count("SELECT bytes_zstd FROM change_set_log WHERE device_id = '" + device +
                "'") == 1);
  const int64_t stored =
      f.Count("SELECT length(bytes) FROM change_set_log WHERE device_id = '" + device + "'");
  INFO("set " << set.size() << " bytes, stored " << stored);
  CHECK(stored < static_cast<int64_t>(set.size()) / 4);

  Result<std::string> logged = storage::ChangeLog(f.store->db()).SetBytes(device, 1);
  REQUIRE(logged.ok());
  CHECK(*logged == set);
  {
    Statement st(f.store->db(), "SELECT hash FROM change_set_log WHERE device_id = ?1");
    st.Bind(1, device);
    REQUIRE(st.Step());
    const Sha256Digest hash = HashChangeSetBytes(*logged);
    CHECK(st.ColumnBlob(0) ==
          std::string(reinterpret_cast<const char*>(hash.data()), hash.size()));
  }
  CHECK(Verify(trainer.key.public_key(), kChangeSetDomain, *logged, signature));

  // The same set again is answered from the log, as before.
  auto again = push.Push(record, body);
  REQUIRE(again.ok());
  CHECK(again->repeated);
  CHECK(again->response_json == r->response_json);

  CHECK(storage::ChangeLog(f.store->db()).SetBytes(device, 2).status().code() ==
        Code::kNotFound);
}

TEST_CASE("Change set log: a row's history reads sets logged as they came "
          "(before compression) and compressed ones, and names a damaged "
          "one",
          "[server][change_log][history]") {
  ServerFixture f;
  TestDevice trainer;
  const DeviceRecord record = f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid group = Uuid::Random();
  const std::string device = trainer.id.ToString();

  // Set 1 creates the group; the log is put back as a server before
  // migration 0008 kept it: the set itself, bytes_zstd = 0.
  Signature sig1{};
  const std::string body1 =
      trainer.SealNext({Producer(group, trainer.HlcAt(kT0), kPhrao, "กลุ่มเก่า")});
  const std::string set1 = SetOf(body1, &sig1);
  REQUIRE(push.Push(record, body1).ok());
  {
    Statement st(f.store->db(),
                 "UPDATE change_set_log SET bytes = ?1, bytes_zstd = 0 "
                 "WHERE device_id = ?2 AND seq = 1");
    st.BindBlob(1, set1).Bind(2, device);
    REQUIRE(st.Run().ok());
  }
  // Set 2 renames it (kept compressed); set 3 is another group's.
  REQUIRE(push.Push(record, trainer.SealNext({Row("producer", group,
                                                  trainer.HlcAt(kT0 + 60000),
                                                  {{"name", T("กลุ่มใหม่"), 0}})}))
              .ok());
  REQUIRE(push.Push(record, trainer.SealNext(Producers(trainer, 5))).ok());
  CHECK(f.Count("SELECT COUNT(*) FROM change_set_log WHERE bytes_zstd = 1") == 2);

  Result<std::string> old_set = storage::ChangeLog(f.store->db()).SetBytes(device, 1);
  REQUIRE(old_set.ok());
  CHECK(*old_set == set1);

  auto history = LoadRowHistory(*f.store, "producer", group.ToString(), Lang::kTh);
  INFO(history.status().ToString());
  REQUIRE(history.ok());
  CHECK(history->change_sets == 2);  // sets 1 and 2, not set 3
  REQUIRE(history->entries.size() == 2);
  CHECK(history->entries[0].created);
  bool renamed = false;
  for (const HistoryCell& c : history->entries[1].cells) {
    if (c.column == "name") renamed = c.new_value == "กลุ่มใหม่";
  }
  CHECK(renamed);

  // A compressed set whose bytes were damaged on disk: the history says
  // which set, and reads nothing.
  {
    Statement st(f.store->db(),
                 "UPDATE change_set_log SET bytes = ?1 WHERE device_id = ?2 AND seq = 2");
    st.BindBlob(1, std::string("\x28\xb5\x2f\xfd\x00\x01", 6)).Bind(2, device);
    REQUIRE(st.Run().ok());
  }
  auto damaged = LoadRowHistory(*f.store, "producer", group.ToString(), Lang::kEn);
  CHECK(damaged.status().code() == Code::kCorruption);
  CHECK_THAT(damaged.status().message(), Catch::Contains("change set 2 of device " + device));
  CHECK(storage::ChangeLog(f.store->db()).SetBytes(device, 2).status().code() ==
        Code::kCorruption);
}

}  // namespace
}  // namespace kbo::server::testing
