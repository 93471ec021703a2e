#ifndef KBO_TESTS_SERVER_SERVER_FIXTURE_H_
#define KBO_TESTS_SERVER_SERVER_FIXTURE_H_

// A server in a temp directory with a manual clock, and devices that make
// signed change sets, for the server's unit tests.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/storage/devices.h"
#include "server/enrolment.h"
#include "server/log.h"
#include "server/server_store.h"
#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "tests/support/test_db.h"
#include "shared/signing.h"
#include "shared/wall_clock.h"
#include "tests/support/temp_dir.h"

namespace kbo::server::testing {

// 2024-03-10T02:00:00Z: a workshop morning in Phrao.
inline constexpr int64_t kT0 = 1710036000000;
inline constexpr const char* kPhrao = "5011";
inline constexpr const char* kFang = "5009";

inline Value T(const std::string& s) { return Value::Text(s); }
inline Value I(int64_t v) { return Value::Integer(v); }

// A device as the server sees it from outside: its id, key, and the chain
// of change sets it has sealed.
struct TestDevice {
  Uuid id = Uuid::Random();
  KeyPair key = KeyPair::Generate();
  uint64_t seq = 0;
  Sha256Digest prev{};
  uint32_t counter = 0;

  // An hlc of this device at wall time `ms`.
  Hlc HlcAt(int64_t ms) {
    Hlc h;
    h.wall_ms = ms;
    h.counter = counter++;
    h.device = id;
    return h;
  }

  // The next change set of the chain with `rows` (not yet signed).
  ChangeSet Next(std::vector<RowChange> rows) {
    ChangeSet cs;
    cs.device = id;
    cs.schema_version = 1;
    cs.seq = seq + 1;
    cs.prev_hash = prev;
    cs.rows = std::move(rows);
    return cs;
  }

  // Signs `cs` and returns the push body; advances the chain to it.
  std::string Seal(const ChangeSet& cs) {
    const std::string bytes = EncodeChangeSet(cs);
    seq = cs.seq;
    prev = HashChangeSetBytes(bytes);
    return protocol::EncodePushBody(key.Sign(kChangeSetDomain, bytes), bytes);
  }

  std::string SealNext(std::vector<RowChange> rows) {
    return Seal(Next(std::move(rows)));
  }
};

inline RowChange Row(const std::string& entity, const Uuid& id, const Hlc& hlc,
                     std::vector<CellWrite> cells) {
  RowChange r;
  r.entity = entity;
  r.row_id = id;
  r.hlc = hlc;
  r.cells = std::move(cells);
  return r;
}

// A producer group row in `district`.
inline RowChange Producer(const Uuid& id, const Hlc& hlc,
                          const std::string& district,
                          const std::string& name = "กลุ่มทอผ้าบ้านป่าตุ้ม") {
  return Row("producer", id, hlc,
             {{"kind", T("group"), 0},
              {"name", T(name), 0},
              {"district_code", T(district), 0},
              {"category", T("textile"), 0}});
}

// A five-day workshop of fiscal year 2567 from 2024-03-11 in `district`.
inline RowChange Workshop(const Uuid& id, const Hlc& hlc, const std::string& district,
                          const std::string& title = "พัฒนาผลิตภัณฑ์ KBO") {
  return Row("workshop", id, hlc,
             {{"title", T(title), 0},
              {"fiscal_year", I(2567), 0},
              {"district_code", T(district), 0},
              {"start_date", T("2024-03-11"), 0},
              {"days", I(5), 0}});
}

class ServerFixture {
 public:
  ServerFixture() : wall(kT0) {
    SetLogEnabled(false);
    auto opened = ServerStore::Open(tmp.File("data"), &wall,
                                    kbo::testing::TestDbUrlFor(tmp.File("data")));
    REQUIRE(opened.ok());
    store = std::move(opened).value();
  }
  ~ServerFixture() { SetLogEnabled(true); }

  // Enrols `device` with a fresh token for `role` and `districts`.
  DeviceRecord Enroll(TestDevice& device, const std::string& districts,
                      const std::string& role = "trainer") {
    EnrollInto(*store, device, districts, role);
    return Record(device.id);
  }
  static void EnrollInto(ServerStore& store, TestDevice& device,
                         const std::string& districts,
                         const std::string& role = "trainer") {
    Enrolment enrolment(store);
    auto token =
        enrolment.CreateToken(role, districts, Enrolment::kDefaultTtlMs);
    REQUIRE(token.ok());
    EnrollRequest req;
    req.token = *token;
    req.device_id = device.id;
    req.public_key = device.key.public_key();
    auto reply = enrolment.Enroll(req);
    REQUIRE(reply.ok());
  }

  // The device pulled up to `cursor` before (the server records the
  // cursors it hands out: PullService sends a device past them back).
  void PulledTo(const Uuid& id, uint64_t cursor) {
    REQUIRE(server::storage::Devices(store->db()).NoteServed(id.ToString(), cursor).ok());
  }

  // The device pulled everything the server holds now: the bases it then
  // writes are ones the server handed out (ApplyAtServer takes a base past
  // what the device was served for one of a lost history).
  void Pulled(const TestDevice& device) { PulledTo(device.id, NextSeq() - 1); }

  DeviceRecord Record(const Uuid& id) {
    auto d = LoadDevice(store->db(), id);
    REQUIRE(d.ok());
    REQUIRE(d->has_value());
    return **d;
  }

  int64_t Count(const std::string& sql) {
    Statement st(store->db(), sql);
    REQUIRE(st.status().ok());
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  }

  std::string Text(const std::string& sql) {
    Statement st(store->db(), sql);
    REQUIRE(st.status().ok());
    if (!st.Step() || st.IsNull(0)) return "";
    return st.ColumnText(0);
  }

  uint64_t NextSeq() {
    return static_cast<uint64_t>(Count("SELECT next_seq FROM server_state"));
  }

  kbo::testing::TempDir tmp;
  ManualWallClock wall;
  std::unique_ptr<ServerStore> store;
};

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_SERVER_FIXTURE_H_
