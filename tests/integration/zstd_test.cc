// Compressed sync bodies (issue 12 item 1, docs/protocol.md §1 "Compressed bodies") against a
// real kbo-server: a device of the previous protocol (no encoding headers at
// all) still pushes and pulls; a device asking for zstd gets pages whose
// signature is over the plain bytes; a zstd push body is held to the cap
// after decompression (a bomb is refused with 413, a damaged frame with
// 400, nothing stored); and a new kbo syncs with a server that does not take
// zstd (serve --no-zstd), also when its server stops taking it.

#include <chrono>
#include <string>
#include <vector>

#include "client/sync_client.h"
#include "shared/change_set_codec.h"
#include "shared/compression.h"
#include "shared/entities.h"
#include "shared/protocol.h"
#include "shared/signing.h"
#include "shared/wire.h"
#include "tests/integration/field.h"
#include "tests/support/zstd_frames.h"

namespace kbo::testing {
namespace {

// A device of this test, speaking the protocol by hand (as attack_test.cc).
struct Device {
  Uuid id;
  std::unique_ptr<KeyPair> key;
  uint64_t seq = 0;
  Sha256Digest prev{};
  uint32_t counter = 0;
  std::string last_bytes;  // the last sealed change set, canonical bytes

  // The next change set of `rows` producers in district 5011, signed: the
  // push body.
  std::string SealProducers(int rows) {
    ChangeSet cs;
    cs.device = id;
    cs.schema_version = 1;
    cs.seq = seq + 1;
    cs.prev_hash = prev;
    for (int i = 0; i < rows; ++i) {
      RowChange r;
      r.entity = "producer";
      r.row_id = Uuid::Random();
      r.hlc.wall_ms = NowMs();
      r.hlc.counter = counter++;
      r.hlc.device = id;
      r.cells = {{"kind", Value::Text("group"), 0},
                 {"name", Value::Text("กลุ่มพร้าว " + std::to_string(counter)), 0},
                 {"district_code", Value::Text("5011"), 0}};
      cs.rows.push_back(std::move(r));
    }
    last_bytes = EncodeChangeSet(cs);
    seq = cs.seq;
    prev = HashChangeSetBytes(last_bytes);
    return protocol::EncodePushBody(key->Sign(kChangeSetDomain, last_bytes),
                                    last_bytes);
  }
};

Device Load(Field& f, const std::string& home) {
  Device d;
  d.id = Uuid::Parse(f.KboJson(home, {"status"})["device_id"].get<std::string>())
             .value();
  auto key = KeyPair::LoadFromFile(home + "/device.key");
  REQUIRE(key.ok());
  d.key = std::make_unique<KeyPair>(std::move(key).value());
  return d;
}

PublicKey ServerKey(const std::string& home) {
  auto db = Db::Open(home + "/field.db");
  REQUIRE(db.ok());
  Statement st(**db, "SELECT server_public_key FROM device WHERE singleton = 1");
  REQUIRE(st.Step());
  auto key = PublicKey::FromHex(st.ColumnText(0));
  REQUIRE(key.ok());
  return *key;
}

HttpReply Signed(Field& f, const Device& d, const std::string& method,
                 const std::string& target, const std::string& body,
                 std::map<std::string, std::string> extra = {}) {
  return SignedCall(f.server().port(), *d.key, d.id, method, target, body, std::move(extra));
}

// The server's producer rows.
int64_t Producers(Field& f) { return f.ServerCount("SELECT count(*) FROM producer"); }

int64_t DeviceZstd(const std::string& home) {
  return Field::Count(home + "/field.db",
                      "SELECT server_zstd FROM sync_state WHERE singleton = 1");
}

const std::string kPull = std::string(protocol::kPullPath) + "?after=0";
const std::string kPush(protocol::kPushPath);

}  // namespace

TEST_CASE("Zstd: a device of the previous protocol, with no encoding headers "
          "at all, pushes and pulls with this server unchanged",
          "[zstd][integration]") {
  Field f;
  const std::string home = f.Enrolled("office", "central_office", "all");
  Device old = Load(f, home);
  const PublicKey server_key = ServerKey(home);

  HttpReply push = Signed(f, old, "POST", kPush, old.SealProducers(40));
  INFO(push.body);
  REQUIRE(push.status == 200);
  // Said for a new device; a device of the previous protocol ignores it.
  CHECK(push.Header("accept-encoding") == "zstd");
  CHECK(Producers(f) == 40);

  HttpReply pull = Signed(f, old, "GET", kPull, "");
  REQUIRE(pull.status == 200);
  CHECK(pull.Header("content-encoding").empty());
  client::HttpResponse page;
  page.status = pull.status;
  page.headers = pull.headers;
  page.body = pull.body;
  uint64_t next = 0;
  bool more = true;
  REQUIRE(client::VerifyPullPage(server_key, old.id, 0, page, &next, &more).ok());
  Result<ChangeSet> rows = wire::DecodePullPage(pull.body, DecodeLimits{});
  REQUIRE(rows.ok());
  CHECK(rows->rows.size() == 40);  // one row change per producer
  CHECK_FALSE(more);

  // A new device on the same server gets them too, compressed.
  const std::string fresh = f.Enrolled("fresh", "trainer", "5011");
  CHECK(DeviceZstd(fresh) == 1);
  f.SyncOk(fresh);
  CHECK(Field::Count(fresh + "/field.db", "SELECT count(*) FROM producer") == 40);
}

TEST_CASE("Zstd: a page asked for with Accept-Encoding: zstd comes compressed, "
          "its signature over the plain bytes, and a zstd push is stored as its "
          "canonical change set",
          "[zstd][integration]") {
  Field f;
  const std::string home = f.Enrolled("office", "central_office", "all");
  Device d = Load(f, home);
  const PublicKey server_key = ServerKey(home);

  // A zstd push: the request signature over the bytes sent, the change
  // set's inside over the canonical bytes.
  const std::string plain = d.SealProducers(200);
  const std::string packed = compression::ZstdCompress(plain);
  CHECK(packed.size() < plain.size() / 2);
  HttpReply push =
      Signed(f, d, "POST", kPush, packed,
             {{protocol::kContentEncodingHeader, "zstd"}});
  INFO(push.body);
  REQUIRE(push.status == 200);
  json receipt = json::parse(push.body, nullptr, false);
  REQUIRE(receipt.is_object());
  CHECK(receipt["receipt"]["hash"] == HexEncode(d.prev));
  CHECK(receipt["receipt"]["rows"] == 200);
  CHECK(Producers(f) == 200);

  HttpReply plain_page = Signed(f, d, "GET", kPull, "");
  HttpReply zstd_page = Signed(f, d, "GET", kPull, "",
                               {{protocol::kAcceptEncodingHeader, "gzip, zstd"}});
  REQUIRE(zstd_page.status == 200);
  CHECK(zstd_page.Header("content-encoding") == "zstd");
  CHECK(zstd_page.body.size() < plain_page.body.size() / 2);
  Result<std::string> body =
      compression::ZstdDecompress(zstd_page.body, protocol::kMaxPushBytes);
  REQUIRE(body.ok());
  CHECK(*body == plain_page.body);
  client::HttpResponse page;
  page.status = 200;
  page.headers = zstd_page.headers;
  page.body = *body;
  uint64_t next = 0;
  bool more = true;
  CHECK(client::VerifyPullPage(server_key, d.id, 0, page, &next, &more).ok());
  // Compressed bytes under the plain page's signature do not verify.
  page.body = zstd_page.body;
  CHECK_FALSE(client::VerifyPullPage(server_key, d.id, 0, page, &next, &more).ok());
  // zstd;q=0 is a refusal of zstd.
  HttpReply refused = Signed(f, d, "GET", kPull, "",
                             {{protocol::kAcceptEncodingHeader, "zstd;q=0"}});
  CHECK(refused.Header("content-encoding").empty());
}

TEST_CASE("Zstd: a push body is held to the cap after decompression: a bomb "
          "gets 413, a damaged frame 400, gzip 415, and nothing is stored",
          "[zstd][integration][attack]") {
  Field f;
  const std::string home = f.Enrolled("office", "central_office", "all");
  Device d = Load(f, home);
  const std::map<std::string, std::string> zstd = {
      {protocol::kContentEncodingHeader, "zstd"}};
  const auto seconds_of = [](auto&& call) {
    const auto t = std::chrono::steady_clock::now();
    HttpReply r = call();
    return std::make_pair(
        r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
               .count());
  };

  // Exactly the cap decompressed: past the size check, refused only as a
  // change set (zeros are not one).
  HttpReply at_cap = Signed(f, d, "POST", kPush, kbo::testing::StreamedZeros(protocol::kMaxPushBytes), zstd);
  INFO(at_cap.body);
  CHECK(at_cap.status == 400);
  CHECK(ErrorOf(at_cap) == "bad_change_set");
  // One byte over: 413.
  HttpReply over =
      Signed(f, d, "POST", kPush, kbo::testing::StreamedZeros(protocol::kMaxPushBytes + 1), zstd);
  INFO(over.body);
  CHECK(over.status == 413);
  CHECK(ErrorOf(over) == "too_large");
  CHECK_THAT(over.body, Catch::Contains("decompresses to more than"));

  // A bomb: 4 GiB of zeros in ~130 KB. Refused at the cap, at once.
  const std::string bomb = kbo::testing::StreamedZeros(size_t{4} << 30);
  CHECK(bomb.size() < 200000);
  auto [bombed, bomb_s] = seconds_of([&] { return Signed(f, d, "POST", kPush, bomb, zstd); });
  INFO(bombed.body);
  CHECK(bombed.status == 413);
  CHECK(bomb_s < 2.0);
  // Unsigned, it is not even decompressed: 401.
  HttpReply unsigned_bomb = HttpCall(f.server().port(), "POST", kPush, bomb, zstd);
  CHECK(unsigned_bomb.status == 401);

  // Damaged frames: 400 bad_encoding.
  std::string frame = compression::ZstdCompress(d.SealProducers(5));
  d.seq -= 1;  // never accepted
  for (const std::string& bad :
       {frame.substr(0, frame.size() / 2), std::string("not a zstd frame"),
        frame + "trailing", std::string()}) {
    HttpReply r = Signed(f, d, "POST", kPush, bad, zstd);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(ErrorOf(r) == "bad_encoding");
  }
  // Codings the HTTP library would inflate itself, unbounded: refused at the
  // edge before the body is read.
  for (const char* coding : {"gzip", "deflate", "br", "zstd, gzip"}) {
    HttpReply r = Signed(f, d, "POST", kPush, bomb,
                         {{protocol::kContentEncodingHeader, coding}});
    INFO(coding << ": " << r.body);
    CHECK(r.status == 415);
  }
  CHECK(Producers(f) == 0);
  CHECK(f.ServerCount("SELECT count(*) FROM change_set_log") == 0);

  // The honest push still goes through, compressed.
  d.prev = Sha256Digest{};
  d.seq = 0;
  HttpReply ok = Signed(f, d, "POST", kPush,
                        compression::ZstdCompress(d.SealProducers(3)), zstd);
  INFO(ok.body);
  CHECK(ok.status == 200);
  CHECK(Producers(f) == 3);
}

TEST_CASE("Zstd: kbo syncs with a server that does not take zstd, and falls "
          "back when its server stops taking it",
          "[zstd][integration]") {
  Field f({"--no-zstd"});
  const std::string office = f.Enrolled("office", "central_office", "all");
  const std::string trainer = f.Enrolled("trainer", "trainer", "5011");
  CHECK(DeviceZstd(office) == 0);
  const auto add_producer = [&](const std::string& name) {
    f.Add(office, {"producer", "add", "--kind", "group", "--name", name,
                   "--district", "5011"});
  };
  add_producer("กลุ่มหนึ่ง");
  f.SyncOk(office);
  f.SyncOk(trainer);
  CHECK(DeviceZstd(office) == 0);
  CHECK(Field::Count(trainer + "/field.db", "SELECT count(*) FROM producer") == 1);
  // Nothing compressed went either way: the server never said zstd.
  CHECK_THAT(f.server().log(), !Catch::Contains(" 415 "));

  // The same data, a server that takes zstd: learned from the pull.
  f.server().Stop();
  f.server().set_extra_args({});
  REQUIRE(f.server().Start());
  add_producer("กลุ่มสอง");
  f.SyncOk(office);
  CHECK(DeviceZstd(office) == 1);
  add_producer("กลุ่มสาม");
  f.SyncOk(office);  // pushed compressed

  // Back to a server that does not take it: the compressed push gets 415,
  // and the same change set goes again plain, in the same sync.
  f.server().Stop();
  f.server().set_extra_args({"--no-zstd"});
  REQUIRE(f.server().Start());
  add_producer("กลุ่มสี่");
  f.SyncOk(office);
  CHECK(DeviceZstd(office) == 0);
  CHECK_THAT(f.server().log(), Catch::Contains("POST /v1/push 415"));
  f.SyncOk(trainer);
  CHECK(Field::Count(trainer + "/field.db", "SELECT count(*) FROM producer") == 4);
}

}  // namespace kbo::testing
