// Golden vectors for the four hand-written binary codecs (change set, outbox
// entry, cell versions, bundle), pinned from their encoders before they were
// moved onto shared/bytes.h. Signatures and hash chains are over change-set
// bytes, and outboxes, replicas and bundles already on disk must still read:
// if one of these vectors changes, a format changed.

#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/bundle.h"
#include "client/outbox_codec.h"
#include "shared/change_set_codec.h"
#include "shared/encoding.h"
#include "shared/protocol.h"
#include "shared/signing.h"
#include "tests/support/replica.h"

namespace kbo {
namespace {

using testing::SetVersionsBlob;
using testing::VersionsBlob;

Uuid U(const char* text) { return Uuid::Parse(text).value(); }

const Uuid kDevice = U("d0d0d0d0-0000-4000-8000-00000000000d");
const Uuid kOther = U("0e0e0e0e-1111-4111-8111-0000000000e0");
const Uuid kRowA = U("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa");
const Uuid kRowB = U("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb");

Hlc H(int64_t wall_ms, uint32_t counter, const Uuid& device = kDevice) {
  Hlc h;
  h.wall_ms = wall_ms;
  h.counter = counter;
  h.device = device;
  return h;
}

// Every value type, Thai text, a uuid reference, the integer and real edges.
std::vector<RowChange> Rows() {
  RowChange visit;
  visit.entity = "visit";
  visit.row_id = kRowA;
  visit.hlc = H(1767225600123, 7, kOther);
  visit.cells = {
      {"lat", Value::Real(18.7884), 7},
      {"lon", Value::Real(-0.0), std::numeric_limits<uint64_t>::max()},
      {"accuracy_m", Value::Null(), 0},
      {"purpose", Value::Integer(std::numeric_limits<int64_t>::min()), 1},
      {"notes", Value::Text("มาสาย ฝนตก"), 300},
      {"producer_id", Value::Text(kRowB.ToString()), 0},
      {"photo", Value::Blob(std::string(64, 'c')), 2},
  };
  RowChange deleted;
  deleted.entity = "producer";
  deleted.row_id = kRowB;
  deleted.hlc = H(1767225600000, 0);
  deleted.cells = {{"deleted", Value::Integer(1), 42},
                   {"note", Value::Integer(-2), 0}};
  RowChange empty;
  empty.entity = "producer";
  empty.row_id = kRowA;
  empty.hlc = H(1767225600001, 1);
  return {visit, deleted, empty};
}

ChangeSet Set() {
  ChangeSet cs;
  cs.schema_version = 3;
  cs.device = kDevice;
  cs.seq = 258;
  for (size_t i = 0; i < cs.prev_hash.size(); ++i) {
    cs.prev_hash[i] = static_cast<uint8_t>(i);
  }
  cs.rows = Rows();
  return cs;
}

// Pinned with the encoders as they were before shared/bytes.h (commit
// aefc1f5), clang-format off so the lines stay as generated.
// clang-format off
const char kChangeSetGolden[] =
    "4b424f430101000300d0d0d0d000004000800000000000000d02010000000000"
    "00000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
    "1f03000000050000007669736974aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa7ba8"
    "da769b010000070000000e0e0e0e1111411181110000000000e0070000000300"
    "00006c617402992a1895d4c932400700000000000000030000006c6f6e020000"
    "000000000080ffffffffffffffff0a00000061636375726163795f6d00000000"
    "000000000007000000707572706f736501000000000000008001000000000000"
    "00050000006e6f746573031c000000e0b8a1e0b8b2e0b8aae0b8b2e0b8a220e0"
    "b89de0b899e0b895e0b8812c010000000000000b00000070726f64756365725f"
    "6964032400000062626262626262622d626262622d346262622d386262622d62"
    "626262626262626262626200000000000000000500000070686f746f04400000"
    "0063636363636363636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363636363636363636363636363"
    "6302000000000000000800000070726f6475636572bbbbbbbbbbbb4bbb8bbbbb"
    "bbbbbbbbbb00a8da769b01000000000000d0d0d0d00000400080000000000000"
    "0d020000000700000064656c657465640101000000000000002a000000000000"
    "00040000006e6f746501feffffffffffffff0000000000000000080000007072"
    "6f6475636572aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa01a8da769b0100000100"
    "0000d0d0d0d000004000800000000000000d00000000";
const char kOutboxGolden[] =
    "4b424f5801d0d0d0d000004000800000000000000d0b057669736974036c6174"
    "036c6f6e0a61636375726163795f6d07707572706f7365056e6f7465730b7072"
    "6f64756365725f69640570686f746f0870726f64756365720764656c65746564"
    "046e6f74650300aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa010e0e0e0e11114111"
    "81110000000000e0f6a1d5edee6607070102992a1895d4c93240070202000000"
    "0000000080ffffffffffffffffff010300000401ffffffffffffffffff010105"
    "031ce0b8a1e0b8b2e0b8aae0b8b2e0b8a220e0b89de0b899e0b895e0b881ac02"
    "0605bbbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb0007044063636363636363636363"
    "6363636363636363636363636363636363636363636363636363636363636363"
    "636363636363636363636363636363636363636363630208bbbbbbbbbbbb4bbb"
    "8bbbbbbbbbbbbbbb0080a0d5edee6600020901022a0a01030008aaaaaaaaaaaa"
    "4aaa8aaaaaaaaaaaaaaa0082a0d5edee660100";
const char kVersionsOneGroupGolden[] =
    "00a8da769b01000003000000d0d0d0d000004000800000000000000d05000000"
    "00000000030d64697374726963745f636f6465046b696e64046e616d65";
const char kVersionsGroupsGolden[] =
    "00a8da769b01000003000000d0d0d0d000004000800000000000000d05000000"
    "00000000020d64697374726963745f636f6465046b696e64a02edc769b010000"
    "000000000e0e0e0e1111411181110000000000e0090000000000000001046e61"
    "6d65";
const char kBundleHeadGolden[] = "4b424f42554e444c45310a0196020000";
const char kBundleGolden[] =  // its SHA-256
    "b868c64b217cbc046cbd4dd5083402f2ceb6d60883af061c2a856ac5d95f5474";
// clang-format on

TEST_CASE("Golden: a change set with every value type keeps its bytes",
          "[golden][codec]") {
  const std::string bytes = EncodeChangeSet(Set());
  CHECK(HexEncode(bytes) == kChangeSetGolden);
  Result<ChangeSet> back = DecodeChangeSet(*HexDecode(kChangeSetGolden));
  REQUIRE(back.ok());
  CHECK(EncodeChangeSet(*back) == bytes);
  CHECK(back->rows[0].cells[4].value.text() == "มาสาย ฝนตก");
}

TEST_CASE("Golden: an outbox entry keeps its bytes and still reads",
          "[golden][outbox]") {
  client::OutboxEntryWriter w(kDevice);
  for (const RowChange& r : Rows()) w.Add(r);
  const std::string bytes = w.Finish();
  CHECK(HexEncode(bytes) == kOutboxGolden);
  auto rows = client::DecodeOutboxEntry(*HexDecode(kOutboxGolden));
  REQUIRE(rows.ok());
  ChangeSet a, b;
  a.rows = Rows();
  b.rows = *rows;
  CHECK(EncodeChangeSet(a) == EncodeChangeSet(b));
}


RowChange Producer(Hlc hlc, std::vector<CellWrite> cells) {
  RowChange r;
  r.entity = "producer";
  r.row_id = kRowA;
  r.hlc = hlc;
  r.cells = std::move(cells);
  return r;
}

TEST_CASE("Golden: a row's cell versions keep their bytes and still read",
          "[golden][apply]") {
  auto db = testing::NewReplica();
  ChangeSet create;
  create.device = kDevice;
  create.rows = {Producer(H(1767225600000, 3),
                          {{"kind", Value::Text("group"), 0},
                           {"name", Value::Text("กลุ่มทอผ้า"), 0},
                           {"district_code", Value::Text("5011"), 0}})};
  ApplyOptions at5;
  at5.seq = 5;
  REQUIRE(testing::ApplyInTxn(*db, create, at5).ok());
  CHECK(HexEncode(VersionsBlob(*db, kRowA)) == kVersionsOneGroupGolden);

  ChangeSet edit;
  edit.device = kOther;
  edit.rows = {Producer(H(1767225700000, 0, kOther),
                        {{"name", Value::Text("ใหม่"), 5}})};
  ApplyOptions at9;
  at9.seq = 9;
  REQUIRE(testing::ApplyInTxn(*db, edit, at9).ok());
  CHECK(HexEncode(VersionsBlob(*db, kRowA)) == kVersionsGroupsGolden);

  // The pinned bytes read back as these versions.
  SetVersionsBlob(*db, kRowA, *HexDecode(kVersionsGroupsGolden));
  auto versions = ReadCellVersions(*db, "producer", kRowA);
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 3);
  CHECK(versions->at("kind").hlc == H(1767225600000, 3));
  CHECK(versions->at("kind").seq == 5);
  CHECK(versions->at("district_code").seq == 5);
  CHECK(versions->at("name").hlc == H(1767225700000, 0, kOther));
  CHECK(versions->at("name").seq == 9);
}

TEST_CASE("Golden: a bundle's framing keeps its bytes and still reads",
          "[golden][bundle]") {
  const std::string push = std::string(64, 's') + EncodeChangeSet(Set());
  const std::string sha(64, 'e');
  const std::string photo = "\xff\xd8\xff photo";
  std::string bundle(protocol::kBundleMagic);
  REQUIRE(client::AppendBundleRecord(&bundle, client::kBundleChangeSet, push).ok());
  REQUIRE(client::AppendBundleRecord(&bundle, client::kBundlePhoto, sha, photo).ok());
  const size_t first = protocol::kBundleMagic.size();
  const size_t second = first + 5 + push.size();
  CHECK(HexEncode(bundle.substr(0, first + 5)) == kBundleHeadGolden);
  CHECK(HexEncode(bundle.substr(second, 5)) == "0249000000");  // 64 + 9 bytes
  CHECK(bundle.size() == second + 5 + 73);
  CHECK(HexEncode(Sha256(bundle)) == kBundleGolden);
  auto records = client::ParseBundle(bundle);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 2);
  CHECK((*records)[0].kind == client::kBundleChangeSet);
  CHECK((*records)[0].bytes == push);
  CHECK((*records)[1].kind == client::kBundlePhoto);
  CHECK((*records)[1].bytes == sha + photo);
}

}  // namespace
}  // namespace kbo
