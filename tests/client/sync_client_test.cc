// The client half of sync without a server process: the protocol pieces
// (request signatures, receipts, pull pages), the bundle file, and SyncClient
// against an in-process fake server (an HttpTransport that plays the server
// with its own key). End-to-end tests against a real kbo-server live in
// tests/integration/.

#include "client/sync_client.h"
#include "client/sync_internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/blob_store.h"
#include "client/bundle.h"
#include "client/outbox.h"
#include "shared/change_set_codec.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/wire.h"
#include "shared/replica/apply.h"
#include "tests/support/run_cli.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using Json = nlohmann::json;
using testing::PhraoFixture;
using testing::TempDir;

constexpr int64_t kNowMs = 1710000000000;  // 2024-03-09T16:00:00Z
constexpr const char* kUrl = "http://fake.kbo.test:8787";

std::string JsonBody(const Json& j) { return j.dump(); }

HttpResponse Answer(int status, std::string body,
                    std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) {
    std::string lower = k;
    for (char& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[lower] = v;
  }
  return r;
}

HttpResponse ErrorAnswer(int status, const std::string& error,
                         const std::string& message,
                         Json extra = Json::object()) {
  extra["error"] = error;
  extra["message"] = message;
  return Answer(status, JsonBody(extra));
}

// The receipt the real server sends (shared/wire.h).
std::string ReceiptJson(const KeyPair& server, const protocol::Receipt& r) {
  return wire::EncodeReceiptAnswer(wire::SignReceipt(server, r));
}

// The enrolment answer the real server sends (shared/wire.h).
std::string EnrollAnswer(const Uuid& device, const KeyPair& server,
                         std::vector<std::string> districts,
                         std::string role = "trainer") {
  wire::EnrollReply r;
  r.device_id = device;
  r.role = std::move(role);
  r.districts = std::move(districts);
  r.server_id = Uuid::Random();
  r.server_public_key = server.public_key();
  return wire::EncodeEnrollReply(r);
}

std::string BlobStateJson(const std::string& sha256, uint64_t received,
                          uint64_t total) {
  wire::BlobState b;
  b.sha256 = sha256;
  b.received = received;
  b.total = total;
  b.complete = received == total;
  return wire::EncodeBlobState(b);
}

// An empty conflicts page after `after`, signed by `server`.
HttpResponse NoConflictsAnswer(const KeyPair& server, const Uuid& device,
                               uint64_t after) {
  wire::ConflictsPage page;
  page.next = after;
  const std::string body = wire::EncodeConflictsPage(page);
  const Signature sig = server.Sign(
      kPullPageDomain, protocol::ConflictsMessage(device.ToString(), after, body));
  return Answer(200, body, {{protocol::kSignatureHeader, SignatureToHex(sig)}});
}

HttpResponse PageAnswer(const KeyPair& server, const Uuid& device,
                        uint64_t after, uint64_t next, bool more,
                        const std::string& body) {
  const Signature sig = server.Sign(
      kPullPageDomain,
      protocol::PullPageMessage(device.ToString(), after, next, more, body));
  return Answer(200, body,
                {{protocol::kNextCursorHeader, std::to_string(next)},
                 {protocol::kMoreHeader, more ? "1" : "0"},
                 {protocol::kSignatureHeader, SignatureToHex(sig)}});
}

// The same page from a server that answers ?since=S (docs/protocol.md §6).
HttpResponse PageAnswerSince(const KeyPair& server, const Uuid& device,
                             uint64_t after, uint64_t since, uint64_t next,
                             bool more, const std::string& body) {
  const Signature sig = server.Sign(
      kPullPageDomain,
      protocol::PullPageMessage(device.ToString(), after, next, more, body, since));
  return Answer(200, body,
                {{protocol::kNextCursorHeader, std::to_string(next)},
                 {protocol::kMoreHeader, more ? "1" : "0"},
                 {protocol::kPullSinceHeader, std::to_string(since)},
                 {protocol::kSignatureHeader, SignatureToHex(sig)}});
}

std::string HeaderOf(const HttpRequest& req, const std::string& name) {
  for (const auto& [k, v] : req.headers) {
    if (k == name) return v;
  }
  return "";
}

uint64_t QueryNumber(const std::string& path, const std::string& name) {
  const size_t at = path.find(name + "=");
  REQUIRE(at != std::string::npos);
  return std::stoull(path.substr(at + name.size() + 1));
}

// An in-process server: checks every request's signature like the real
// one (nonce never reused), then hands it to `handler`. `network_failures`
// makes the next tries fail as a cut connection would.
class FakeServer : public HttpTransport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  explicit FakeServer(const PublicKey& device_key) : device_key_(device_key) {}

  Result<HttpResponse> Send(const std::string& base_url,
                            const HttpRequest& req) override {
    urls.push_back(base_url);
    requests.push_back(req);
    if (network_failures > 0) {
      --network_failures;
      return Status::Unavailable("Connection");
    }
    if (req.path != protocol::kEnrollPath) {
      const std::string nonce = HeaderOf(req, protocol::kNonceHeader);
      const std::string time = HeaderOf(req, protocol::kTimeHeader);
      Result<Signature> sig =
          SignatureFromHex(HeaderOf(req, protocol::kSignatureHeader));
      if (nonce.size() != 32 || time.empty() || !sig.ok() ||
          !Verify(device_key_, kRequestDomain,
                  protocol::CanonicalRequest(req.method, req.path,
                                             std::stoll(time), nonce, req.body),
                  *sig)) {
        return ErrorAnswer(401, "unauthenticated", "bad request signature");
      }
      if (!nonces_.insert(nonce).second) {
        return ErrorAnswer(401, "replay", "nonce seen before");
      }
    }
    if (!handler) return ErrorAnswer(404, "not_found", "no handler");
    HttpResponse answer = handler(req);
    if (lost_answers > 0) {
      --lost_answers;
      return Status::Unavailable(
          "Read");  // the server acted; the answer is lost
    }
    return answer;
  }

  Handler handler;
  int network_failures = 0;
  int lost_answers = 0;
  std::vector<HttpRequest> requests;
  std::vector<std::string> urls;

 private:
  PublicKey device_key_;
  std::set<std::string> nonces_;
};

// A device home with a manual clock, enrolled with the fake server.
struct Device {
  TempDir dir;
  ManualWallClock wall{kNowMs};
  std::unique_ptr<ClientStore> store;
  KeyPair server = KeyPair::Generate();
  std::unique_ptr<FakeServer> fake;
  std::vector<int64_t> sleeps;

  Device() {
    auto opened = ClientStore::Open(dir.path(), &wall);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    fake = std::make_unique<FakeServer>(store->key().public_key());
  }

  SyncOptions Options() {
    SyncOptions o;
    o.transport = fake.get();
    o.sleep_ms = [this](int64_t ms) { sleeps.push_back(ms); };
    return o;
  }

  void Enroll() {
    fake->handler = [this](const HttpRequest& req) {
      REQUIRE(req.path == protocol::kEnrollPath);
      Json body = Json::parse(req.body);
      CHECK(body["token"] == "tok-1");
      CHECK(body["device_id"] == store->device_id().ToString());
      CHECK(body["public_key"] == store->key().public_key().ToHex());
      CHECK(body["clock_ms"] == kNowMs);
      return Answer(200, EnrollAnswer(store->device_id(), server, {"5011"}));
    };
    SyncClient client(*store, Options());
    auto r = client.Enroll(kUrl, "tok-1");
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    fake->handler = nullptr;
  }

  // The push side of the fake server: checks each change set's signature
  // and chain, numbers rows, answers with a receipt signed by `signer`.
  void ServePushes(const KeyPair* signer = nullptr) {
    if (signer == nullptr) signer = &server;
    fake->handler = [this, signer](const HttpRequest& req) {
      REQUIRE(req.path == protocol::kPushPath);
      Signature sig;
      std::string_view bytes;
      REQUIRE(protocol::DecodePushBody(req.body, &sig, &bytes).ok());
      REQUIRE(Verify(store->key().public_key(), kChangeSetDomain, bytes, sig));
      auto cs = DecodeChangeSet(bytes);
      REQUIRE(cs.ok());
      if (cs->seq != last_seq + 1 && cs->seq > last_seq) {
        return ErrorAnswer(409, "sequence_gap", "gap",
                           {{"expected", last_seq + 1}});
      }
      if (cs->seq == last_seq + 1) last_seq = cs->seq;
      pushed.push_back(cs->seq);
      protocol::Receipt r;
      r.device_id = cs->device.ToString();
      r.seq = cs->seq;
      r.hash = HexEncode(HashChangeSetBytes(bytes));
      r.first_server_seq = next_server_seq;
      r.last_server_seq = next_server_seq + cs->rows.size() - 1;
      next_server_seq += cs->rows.size();
      r.rows = cs->rows.size();
      r.received_at = "2024-03-09T16:00:00Z";
      return Answer(200, ReceiptJson(*signer, r));
    };
  }

  int64_t Count(const std::string& sql) {
    Statement st(store->db(), sql);
    REQUIRE(st.Step());
    return st.ColumnInt(0);
  }

  uint64_t last_seq = 0;
  uint64_t next_server_seq = 1;
  std::vector<uint64_t> pushed;
};

// A row change as another device made it, with server sequence `seq` in
// every cell's base (a pull page's form).
RowChange ForeignProducer(const Uuid& other, int64_t wall_ms, uint64_t seq,
                          const char* name) {
  RowChange row;
  row.entity = "producer";
  row.row_id = Uuid::Random();
  row.hlc = Hlc{wall_ms, 0, other};
  row.cells = {{"kind", Value::Text("entrepreneur"), seq},
               {"name", Value::Text(name), seq},
               {"district_code", Value::Text("5011"), seq}};
  return row;
}

std::string PageBytes(std::vector<RowChange> rows) {
  ChangeSet page;
  page.rows = std::move(rows);
  return EncodeChangeSet(page);
}

// ---- Protocol pieces
// ----------------------------------------------------------

TEST_CASE("Sync: a signed request verifies with the device key and no other",
          "[sync]") {
  const KeyPair device = KeyPair::Generate();
  const Uuid id = Uuid::Random();
  const std::string nonce = NewNonce();
  CHECK(nonce.size() == 32);
  CHECK(nonce.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(NewNonce() != nonce);

  auto headers = SignRequest(device, id, "GET", "/v1/pull?after=0&limit=2000",
                             "", kNowMs, nonce);
  std::map<std::string, std::string> h(headers.begin(), headers.end());
  CHECK(h[protocol::kDeviceHeader] == id.ToString());
  CHECK(h[protocol::kTimeHeader] == std::to_string(kNowMs));
  CHECK(h[protocol::kNonceHeader] == nonce);
  auto sig = SignatureFromHex(h[protocol::kSignatureHeader]);
  REQUIRE(sig.ok());
  const std::string canonical = protocol::CanonicalRequest(
      "GET", "/v1/pull?after=0&limit=2000", kNowMs, nonce, "");
  CHECK(Verify(device.public_key(), kRequestDomain, canonical, *sig));
  // Another key, another domain, another path or another time: no.
  CHECK_FALSE(Verify(KeyPair::Generate().public_key(), kRequestDomain,
                     canonical, *sig));
  CHECK_FALSE(Verify(device.public_key(), kReceiptDomain, canonical, *sig));
  CHECK_FALSE(
      Verify(device.public_key(), kRequestDomain,
             protocol::CanonicalRequest("GET", "/v1/pull?after=1&limit=2000",
                                        kNowMs, nonce, ""),
             *sig));
  CHECK_FALSE(
      Verify(device.public_key(), kRequestDomain,
             protocol::CanonicalRequest("GET", "/v1/pull?after=0&limit=2000",
                                        kNowMs + 1, nonce, ""),
             *sig));
}

TEST_CASE("Sync: a receipt verifies only with the pinned key, for the set sent",
          "[sync]") {
  const KeyPair server = KeyPair::Generate();
  const Uuid device = Uuid::Random();
  const Sha256Digest hash = Sha256("change set bytes");
  protocol::Receipt r;
  r.device_id = device.ToString();
  r.seq = 3;
  r.hash = HexEncode(hash);
  r.first_server_seq = 10;
  r.last_server_seq = 14;
  r.rows = 5;
  r.conflicts = 1;
  r.received_at = "2024-03-09T16:00:00Z";

  protocol::Receipt out;
  REQUIRE(VerifyReceipt(server.public_key(), device, 3, hash,
                        ReceiptJson(server, r), &out)
              .ok());
  CHECK(out.rows == 5);
  CHECK(out.first_server_seq == 10);

  SECTION("signed by another key") {
    const KeyPair other = KeyPair::Generate();
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash,
                        ReceiptJson(other, r), &out)
              .code() == Code::kUnauthenticated);
  }
  SECTION("one flipped bit in the signature") {
    Json j = Json::parse(ReceiptJson(server, r));
    std::string sig = j["signature"];
    sig[5] = sig[5] == '0' ? '1' : '0';
    j["signature"] = sig;
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, j.dump(), &out)
              .code() == Code::kUnauthenticated);
  }
  SECTION("a field changed after signing") {
    Json j = Json::parse(ReceiptJson(server, r));
    j["receipt"]["rows"] = 6;
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, j.dump(), &out)
              .code() == Code::kUnauthenticated);
  }
  SECTION("a valid receipt for another change set") {
    CHECK(VerifyReceipt(server.public_key(), device, 4, hash,
                        ReceiptJson(server, r), &out)
              .code() == Code::kUnauthenticated);
    CHECK(VerifyReceipt(server.public_key(), device, 3, Sha256("other"),
                        ReceiptJson(server, r), &out)
              .code() == Code::kUnauthenticated);
    CHECK(VerifyReceipt(server.public_key(), Uuid::Random(), 3, hash,
                        ReceiptJson(server, r), &out)
              .code() == Code::kUnauthenticated);
  }
  SECTION("the server's rows of refused changes, under their own signature") {
    protocol::Receipt with = r;
    with.server_rows = "encoded rows";
    Json j = Json::parse(ReceiptJson(server, with));
    REQUIRE(j["receipt"]["server_rows"] == HexEncode(with.server_rows));
    REQUIRE(j["rows_signature"] ==
            SignatureToHex(server.Sign(kReceiptDomain,
                                       protocol::ReceiptRowsMessage(with))));
    REQUIRE(VerifyReceipt(server.public_key(), device, 3, hash, j.dump(), &out).ok());
    CHECK(out.server_rows == "encoded rows");
    // The receipt's own signature is unchanged by them (older clients).
    Json plain = j;
    plain["receipt"].erase("server_rows");
    plain.erase("rows_signature");
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, plain.dump(), &out).ok());
    CHECK(out.server_rows.empty());
    // Rows changed, or without their signature, or signed by another key:
    // the receipt is not acknowledged.
    Json changed = j;
    changed["receipt"]["server_rows"] = HexEncode(std::string("encoded rowz"));
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, changed.dump(), &out)
              .code() == Code::kUnauthenticated);
    Json unsigned_rows = j;
    unsigned_rows.erase("rows_signature");
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, unsigned_rows.dump(), &out)
              .code() == Code::kUnauthenticated);
    const KeyPair other = KeyPair::Generate();
    Json forged = j;
    forged["rows_signature"] = SignatureToHex(
        other.Sign(kReceiptDomain, protocol::ReceiptRowsMessage(with)));
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, forged.dump(), &out)
              .code() == Code::kUnauthenticated);
    // The receipt's signature cannot stand for the rows'.
    Json swapped = j;
    swapped["rows_signature"] = j["signature"];
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, swapped.dump(), &out)
              .code() == Code::kUnauthenticated);
  }
  SECTION("not a receipt") {
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash, "<html>", &out)
              .code() == Code::kUnauthenticated);
    CHECK(VerifyReceipt(server.public_key(), device, 3, hash,
                        "{\"seq\": \"x\"}", &out)
              .code() == Code::kUnauthenticated);
  }
}

TEST_CASE("Sync: a pull page is verified before it is decoded", "[sync]") {
  const KeyPair server = KeyPair::Generate();
  const Uuid device = Uuid::Random();
  const std::string body =
      PageBytes({ForeignProducer(Uuid::Random(), kNowMs, 7, "นายสมชาย ทองดี")});
  HttpResponse page = PageAnswer(server, device, 5, 7, true, body);
  uint64_t next = 0;
  bool more = false;
  REQUIRE(
      VerifyPullPage(server.public_key(), device, 5, page, &next, &more).ok());
  CHECK(next == 7);
  CHECK(more);

  SECTION("a tampered body") {
    page.body[page.body.size() / 2] ^= 0x01;
    CHECK(VerifyPullPage(server.public_key(), device, 5, page, &next, &more)
              .code() == Code::kUnauthenticated);
  }
  SECTION("a tampered header") {
    page.headers["x-kbo-more"] = "0";
    CHECK(VerifyPullPage(server.public_key(), device, 5, page, &next, &more)
              .code() == Code::kUnauthenticated);
  }
  SECTION("another device's page, or another cursor") {
    CHECK(VerifyPullPage(server.public_key(), Uuid::Random(), 5, page, &next,
                         &more)
              .code() == Code::kUnauthenticated);
    CHECK(VerifyPullPage(server.public_key(), device, 4, page, &next, &more)
              .code() == Code::kUnauthenticated);
  }
  SECTION("signed by another key") {
    const KeyPair other = KeyPair::Generate();
    CHECK(VerifyPullPage(server.public_key(), device, 5,
                         PageAnswer(other, device, 5, 7, true, body), &next,
                         &more)
              .code() == Code::kUnauthenticated);
  }
  SECTION("a cursor that does not move while there is more") {
    CHECK_FALSE(VerifyPullPage(server.public_key(), device, 5,
                               PageAnswer(server, device, 5, 5, true, body),
                               &next, &more)
                    .ok());
  }
  SECTION("a page that marks departures signs the districts it names") {
    const Signature sig = server.Sign(
        kPullPageDomain, protocol::PullPageMessage(device.ToString(), 5, 7, true, body,
                                                   std::nullopt,
                                                   std::string_view("5011")));
    HttpResponse marked = Answer(200, body,
                                 {{protocol::kNextCursorHeader, "7"},
                                  {protocol::kMoreHeader, "1"},
                                  {protocol::kDeviceDistrictsHeader, "5011"},
                                  {protocol::kDeparturesHeader, "1"},
                                  {protocol::kSignatureHeader, SignatureToHex(sig)}});
    bool departures = false;
    CHECK(VerifyPullPage(server.public_key(), device, 5, marked, &next, &more,
                         std::nullopt, &departures)
              .ok());
    CHECK(departures);
    // Districts changed on the way would turn the device's own rows into
    // departures: refused, as is a page that marks without naming them.
    HttpResponse changed = marked;
    changed.headers["x-kbo-device-districts"] = "5009";
    CHECK(VerifyPullPage(server.public_key(), device, 5, changed, &next, &more,
                         std::nullopt, &departures)
              .code() == Code::kUnauthenticated);
    HttpResponse unnamed = marked;
    unnamed.headers.erase("x-kbo-device-districts");
    CHECK(VerifyPullPage(server.public_key(), device, 5, unnamed, &next, &more,
                         std::nullopt, &departures)
              .code() == Code::kUnauthenticated);
    // Without the mark, the page (signed without districts) marks nothing.
    CHECK(VerifyPullPage(server.public_key(), device, 5, page, &next, &more,
                         std::nullopt, &departures)
              .ok());
    CHECK_FALSE(departures);
  }
  SECTION("where the pull began (since): as asked, and signed") {
    const HttpResponse since3 = PageAnswerSince(server, device, 5, 3, 7, true, body);
    CHECK(VerifyPullPage(server.public_key(), device, 5, since3, &next, &more, 3)
              .ok());
    // A page for another since than asked, or answering one not asked for.
    for (std::optional<uint64_t> asked :
         {std::optional<uint64_t>(4), std::optional<uint64_t>(0),
          std::optional<uint64_t>()}) {
      const Status s =
          VerifyPullPage(server.public_key(), device, 5, since3, &next, &more, asked);
      CHECK(s.code() == Code::kUnauthenticated);
      CHECK_THAT(s.message(), Catch::Contains("it was not asked for"));
    }
    // The header rewritten to what was asked: the signature is over the
    // since the page was built for.
    HttpResponse rewritten = since3;
    rewritten.headers["x-kbo-pull-since"] = "4";
    CHECK(VerifyPullPage(server.public_key(), device, 5, rewritten, &next, &more, 4)
              .code() == Code::kUnauthenticated);
    // Not a number.
    for (const char* bad : {"", "-3", "3x", "0x3", "99999999999999999999999"}) {
      CAPTURE(bad);
      rewritten.headers["x-kbo-pull-since"] = bad;
      CHECK(VerifyPullPage(server.public_key(), device, 5, rewritten, &next, &more, 3)
                .code() == Code::kUnauthenticated);
    }
    // An old page (no header) signed without since does not verify as a
    // page with one.
    HttpResponse stripped = since3;
    stripped.headers.erase("x-kbo-pull-since");
    CHECK(VerifyPullPage(server.public_key(), device, 5, stripped, &next, &more, 3)
              .code() == Code::kUnauthenticated);
  }
}

TEST_CASE("Sync: server URLs are normalized, paths and other schemes refused",
          "[sync]") {
  CHECK(*NormalizeServerUrl("HTTP://Example.ORG:8787/") ==
        "http://example.org:8787");
  CHECK(*NormalizeServerUrl("https://kbo.example.go.th") ==
        "https://kbo.example.go.th");
  CHECK(*NormalizeServerUrl("http://[::1]:8787") == "http://[::1]:8787");
  // Pasted with spaces or a line break around it.
  CHECK(*NormalizeServerUrl(" http://127.0.0.1:18901 \n") == "http://127.0.0.1:18901");
  CHECK(*NormalizeServerUrl("\r\nhttp://127.0.0.1:18901") == "http://127.0.0.1:18901");
  // Something else after the port is named as such, not as a port number
  // out of range.
  auto inside = NormalizeServerUrl("http://127.0.0.1:18 901");
  CHECK_THAT(inside.status().message(),
             Catch::Contains("the port must be a number from 1 to 65535, with nothing else"));
  for (const char* bad :
       {"example.org", "ftp://example.org", "http://", "http://h:0",
        "http://h:99999", "http://h/kbo", "http://u@h", "http://h:"}) {
    CAPTURE(bad);
    CHECK(NormalizeServerUrl(bad).status().code() == Code::kInvalidArgument);
  }
}

// ---- Bundle
// -------------------------------------------------------------------------

TEST_CASE(
    "Bundle: export writes the unconfirmed change sets and photos as "
    "records that decode and verify",
    "[sync][bundle]") {
  TempDir dir;
  auto opened = ClientStore::Open(dir.File("home"));
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PhraoFixture f(store);
  Outbox outbox(store);
  REQUIRE(outbox.SealAll(2).ok());  // 3 rows: sets 1 (2 rows) and 2 (1 row)
  REQUIRE(outbox.Acknowledge(1, "{}").ok());
  REQUIRE(store.Record("attendance", f.Mark(1, "present")).ok());  // pending

  // A photo waiting for upload.
  std::string jpeg = "\xFF\xD8\xFF\xC0";
  jpeg += std::string(
      "\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01",
      17);
  jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10) +
          std::string(5000, 'p') + "\xFF\xD9";
  BlobStore blobs(store.paths().blobs);
  auto blob = blobs.AddPhotoBytes(jpeg, "p.jpg");
  REQUIRE(blob.ok());
  {
    Statement st(
        store.db(),
        "INSERT INTO blob_upload (sha256, bytes, mime) VALUES (?1, ?2, ?3)");
    st.Bind(1, std::string_view(blob->sha256))
        .Bind(2, static_cast<int64_t>(jpeg.size()))
        .Bind(3, std::string_view("image/jpeg"));
    REQUIRE(st.Run().ok());
  }

  const std::string path = dir.File("kbo-bundle.bin");
  auto summary = ExportBundle(store, path, /*include_photos=*/true);
  REQUIRE(summary.ok());
  CHECK(summary->change_sets == 2);  // #2 and the freshly sealed #3
  CHECK(summary->first_seq == 2);
  CHECK(summary->last_seq == 3);
  CHECK(summary->rows == 2);
  CHECK(summary->photos == 1);
  CHECK(summary->photo_bytes == jpeg.size());

  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto bytes = ReadFileBounded(path, 1 << 20);
  REQUIRE(bytes.ok());
  CHECK(bytes->size() == summary->file_bytes);
  auto records = ParseBundle(*bytes);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 3);
  uint64_t seq = 2;
  for (size_t i = 0; i < 2; ++i) {
    const BundleRecord& rec = (*records)[i];
    CHECK(rec.kind == kBundleChangeSet);
    Signature sig;
    std::string_view cs_bytes;
    REQUIRE(protocol::DecodePushBody(rec.bytes, &sig, &cs_bytes).ok());
    CHECK(Verify(store.key().public_key(), kChangeSetDomain, cs_bytes, sig));
    auto cs = DecodeChangeSet(cs_bytes);
    REQUIRE(cs.ok());
    CHECK(cs->device == store.device_id());
    CHECK(cs->seq == seq++);
  }
  const BundleRecord& photo = (*records)[2];
  CHECK(photo.kind == kBundlePhoto);
  CHECK(photo.bytes.substr(0, 64) == blob->sha256);
  CHECK(photo.bytes.substr(64) == jpeg);
  CHECK(HexEncode(Sha256(photo.bytes.substr(64))) == blob->sha256);

  // Nothing was marked confirmed by the export.
  auto unacked = outbox.Unacked();
  REQUIRE(unacked.ok());
  CHECK(unacked->size() == 2);

  SECTION("a damaged bundle is refused, not misread") {
    CHECK(ParseBundle("KBOBUNDLE2\n").status().code() == Code::kCorruption);
    CHECK(ParseBundle(bytes->substr(0, bytes->size() - 1)).status().code() ==
          Code::kCorruption);
  }
}

// ---- SyncClient against a fake server
// -----------------------------------------------

TEST_CASE("SyncClient: enrolment pins the server key, role and districts",
          "[sync]") {
  Device d;
  d.Enroll();
  auto st = d.store->GetStatus();
  REQUIRE(st.ok());
  CHECK(st->enrolled);
  CHECK(st->server == kUrl);
  CHECK(st->role == "trainer");
  CHECK(st->districts == "5011");
  Statement key(d.store->db(), "SELECT server_public_key FROM device");
  REQUIRE(key.Step());
  CHECK(key.ColumnText(0) == d.server.public_key().ToHex());
  CHECK(d.fake->urls.back() == kUrl);
  // Enrolment is the one unsigned request.
  CHECK(HeaderOf(d.fake->requests.back(), protocol::kSignatureHeader).empty());

  SECTION("another server is refused while changes wait for this one") {
    PhraoFixture f(*d.store);
    d.fake->handler = [](const HttpRequest&) {
      FAIL("no request may be sent");
      return HttpResponse{};
    };
    SyncClient client(*d.store, d.Options());
    auto r = client.Enroll("http://other.kbo.test", "tok-2");
    CHECK(r.status().code() == Code::kFailedPrecondition);
    CHECK(r.status().reason() == "pending_elsewhere");  // the phone asks
    CHECK_FALSE(client.refused_by_server());
    auto after = d.store->GetStatus();
    CHECK(after->server == kUrl);  // nothing written
  }
  SECTION("--force moves to another server; nothing pending is dropped") {
    PhraoFixture f(*d.store);
    REQUIRE(
        d.store->db()
            .Exec(
                "UPDATE sync_state SET pull_cursor = 40, conflict_cursor = 9;"
                "INSERT INTO blob_upload (sha256, bytes, mime, uploaded_bytes,"
                " done_at) VALUES ('" +
                std::string(64, 'a') +
                "', 10, 'image/jpeg', 10, '2024-03-09T16:00:00Z');"
                "INSERT INTO conflict (id, entity, row_id, column_name,"
                " server_seq) VALUES ('c', 'producer', 'r', 'name', 9)")
            .ok());
    const KeyPair other_server = KeyPair::Generate();
    d.fake->handler = [&](const HttpRequest&) {
      return Answer(200, EnrollAnswer(d.store->device_id(), other_server,
                                      {"5011", "5009"}, "field_officer"));
    };
    SyncClient client(*d.store, d.Options());
    auto r = client.Enroll("http://other.kbo.test/", "tok-2", /*force=*/true);
    REQUIRE(r.ok());
    CHECK(r->server_changed);
    CHECK(r->server_url == "http://other.kbo.test");
    CHECK(r->districts == "5011,5009");
    auto after = d.store->GetStatus();
    CHECK(after->server == "http://other.kbo.test");
    CHECK(after->role == "field_officer");
    CHECK(after->pending_changes == 3);
    CHECK(after->pending_blobs == 1);  // to be uploaded to the new server
    CHECK(d.Count("SELECT pull_cursor + conflict_cursor FROM sync_state") == 0);
    CHECK(d.Count("SELECT count(*) FROM conflict") == 0);
  }
  SECTION("a refused token is the server's refusal, with its message") {
    d.fake->handler = [](const HttpRequest&) {
      return ErrorAnswer(401, "unauthenticated", "the token was already used");
    };
    SyncClient client(*d.store, d.Options());
    auto r = client.Enroll(kUrl, "tok-2");
    CHECK(r.status().code() == Code::kUnauthenticated);
    CHECK(r.status().message().find("the token was already used") !=
          std::string::npos);
    CHECK(client.refused_by_server());
    CHECK(d.sleeps.empty());  // a 4xx is never retried
  }
  SECTION("an answer that is not the server's enrolment answer saves nothing") {
    const KeyPair other_server = KeyPair::Generate();
    Json answer = Json::parse(
        EnrollAnswer(d.store->device_id(), other_server, {"5009"}, "field_officer"));
    // What kbo once also read, which no server sent: districts as one
    // string; and an answer without its server_id.
    Json one_string = answer;
    one_string["districts"] = "5009";
    Json no_server_id = answer;
    no_server_id.erase("server_id");
    for (const auto& [bad, field] :
         {std::pair<Json, std::string>{one_string, "\"districts\""},
          {no_server_id, "\"server_id\""}}) {
      const std::string body = bad.dump();
      d.fake->handler = [&body](const HttpRequest&) { return Answer(200, body); };
      SyncClient client(*d.store, d.Options());
      auto r = client.Enroll("http://other.kbo.test", "tok-2", /*force=*/true);
      CHECK(r.status().code() == Code::kCorruption);
      CHECK_THAT(r.status().message(), Catch::Contains(field) &&
                                           Catch::Contains("nothing was saved"));
      auto after = d.store->GetStatus();
      CHECK(after->server == kUrl);
      CHECK(after->role == "trainer");
      CHECK(after->districts == "5011");
    }
  }
}

TEST_CASE(
    "SyncClient: push sends sets sealed before, then seals the rest one set "
    "at a time while sending, in order",
    "[sync]") {
  Device d;
  d.Enroll();
  PhraoFixture f(*d.store);
  for (int day = 1; day <= 5; ++day) {
    REQUIRE(d.store->Record("attendance", f.Mark(day, "present")).ok());
  }
  Outbox outbox(*d.store);
  REQUIRE(outbox.SealAll(3).ok());  // 8 rows: sets 1-3 of 3, 3, 2
  // One import of 2,500 producers, not yet sealed: sets 4 (2,000) and 5.
  std::vector<RowValues> producers;
  for (int i = 0; i < 2500; ++i) {
    producers.push_back({{"kind", Value::Text("entrepreneur")},
                         {"name", Value::Text("ผู้ผลิต " + std::to_string(i))},
                         {"district_code", Value::Text("5011")}});
  }
  REQUIRE(d.store->RecordAll("producer", std::move(producers)).ok());
  REQUIRE(*outbox.PendingRows() == 2500);

  d.ServePushes();
  SyncOptions options = d.Options();
  std::vector<std::pair<uint64_t, uint64_t>> shown;
  std::vector<SyncProgressReport> reports;
  options.progress = [&](const SyncProgressReport& r) {
    if (r.phase != SyncPhase::kPush) return;
    shown.emplace_back(r.done, r.total);
    reports.push_back(r);
  };
  SyncClient client(*d.store, options);
  SyncSummary summary;
  REQUIRE(client.Push(&summary).ok());
  CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3, 4, 5});
  CHECK(summary.pushed_sets == 5);
  CHECK(summary.pushed_rows == 2508);
  CHECK(*outbox.PendingRows() == 0);
  CHECK(outbox.Unacked()->empty());
  CHECK(d.store->GetStatus()->confirmed_changes == 2508);
  // Progress counts up to every set, against a total known from the start.
  REQUIRE(shown.size() == 6);
  for (size_t i = 0; i < shown.size(); ++i) {
    CHECK(shown[i].first == i);
    CHECK(shown[i].second == 5);
  }
  // And in records: 2,508 to send from the start, counted up set by set
  // (3, 3, 2, 2,000, 500), with the bytes on the wire growing.
  const uint64_t done[] = {0, 3, 6, 8, 2008, 2508};
  for (size_t i = 0; i < reports.size(); ++i) {
    CHECK(reports[i].records_total == 2508);
    CHECK(reports[i].records_done == done[i]);
    if (i > 0) CHECK(reports[i].wire_bytes > reports[i - 1].wire_bytes);
  }
  CHECK(reports.back().records_done == 2508);
  CHECK(reports.back().wire_bytes == summary.bytes_sent + summary.bytes_received);
}

TEST_CASE("SyncClient: a server's first pull answer with since sends the "
          "device back to 0 once, and then a page without it is refused",
          "[sync]") {
  Device d;
  d.Enroll();
  bool new_server = false;
  std::vector<std::pair<uint64_t, uint64_t>> asked;  // (after, since)
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.path.rfind(protocol::kPullPath, 0) == 0) {
      const uint64_t after = QueryNumber(req.path, "after");
      const uint64_t since = QueryNumber(req.path, "since");
      asked.emplace_back(after, since);
      // An empty district: the cursor moves to 7 and stays.
      return new_server ? PageAnswerSince(d.server, d.store->device_id(), after,
                                          since, 7, false, "")
                        : PageAnswer(d.server, d.store->device_id(), after, 7,
                                     false, "");
    }
    if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
      return NoConflictsAnswer(d.server, d.store->device_id(),
                               QueryNumber(req.path, "after"));
    }
    return Answer(404, "");
  };
  SyncClient client(*d.store, d.Options());
  // An older server: pages as before; the pull completes at 7.
  REQUIRE(client.Pull(nullptr).ok());
  CHECK(asked == std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}});
  // The server is upgraded: its first answer sends the device back to 0.
  new_server = true;
  REQUIRE(client.Pull(nullptr).ok());
  CHECK(asked == std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}, {7, 7}, {0, 0}});
  // Then it goes on from where the last pull ended.
  REQUIRE(client.Pull(nullptr).ok());
  CHECK(asked.back() == std::make_pair(uint64_t{7}, uint64_t{7}));
  // A page without the header now is an old page replayed: refused.
  new_server = false;
  Status replayed = client.Pull(nullptr);
  CHECK(replayed.code() == Code::kUnauthenticated);
  CHECK_THAT(replayed.message(), Catch::Contains("X-KBO-Pull-Since"));
}

TEST_CASE("SyncClient: one sync of a home at a time: a second is told "
          "another is running and sends nothing",
          "[sync]") {
  Device d;
  d.Enroll();
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.path.rfind(protocol::kPullPath, 0) == 0) {
      return PageAnswerSince(d.server, d.store->device_id(),
                             QueryNumber(req.path, "after"),
                             QueryNumber(req.path, "since"), 7, false, "");
    }
    if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
      return NoConflictsAnswer(d.server, d.store->device_id(),
                               QueryNumber(req.path, "after"));
    }
    return Answer(404, "");
  };
  const size_t before = d.fake->requests.size();
  // Another process (kbo ui, a second kbo sync) holds the home's lock.
  const std::string lock_path = d.dir.path() + "/sync.lock";
  const int other = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
  REQUIRE(other >= 0);
  REQUIRE(::flock(other, LOCK_EX) == 0);
  SyncClient client(*d.store, d.Options());
  auto busy = client.Sync();
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.status().code() == Code::kUnavailable);
  CHECK(busy.status().reason() == "sync_running");
  CHECK_THAT(busy.status().message(), Catch::Contains("another sync of this device"));
  CHECK(d.fake->requests.size() == before);
  ::close(other);  // that sync ended
  auto next = client.Sync();
  INFO(next.status().ToString());
  CHECK(next.ok());
  CHECK(d.fake->requests.size() > before);
}

TEST_CASE("FormatSyncProgress: records, bytes, rate and time left", "[sync]") {
  SyncProgressReport r;
  r.phase = SyncPhase::kPush;
  r.done = 2;
  r.total = 5;
  r.records_done = 4000;
  r.records_total = 10000;
  // Under a second: no rate yet, nor a time left.
  CHECK(FormatSyncProgress(r, 145000, 0.5) == "push: 4,000 of 10,000 records, 142 KiB sent");
  // 4,000 in 2 s: 2,000/s, 6,000 left: 3 s.
  CHECK(FormatSyncProgress(r, 145000, 2.0) ==
        "push: 4,000 of 10,000 records, 142 KiB sent, 2,000 records/s, about 3 s left");
  r.records_done = 10000;
  CHECK(FormatSyncProgress(r, 2 << 20, 5.0) ==
        "push: 10,000 of 10,000 records, 2.0 MiB sent, 2,000 records/s");
  // Pull: no total known.
  SyncProgressReport p;
  p.phase = SyncPhase::kPull;
  p.records_done = 1234567;
  CHECK(FormatSyncProgress(p, 900, 10.0) ==
        "pull: 1,234,567 records, 900 B received, 123,457 records/s");
  // One is one record (it said "1 records").
  p.records_done = 1;
  CHECK(FormatSyncProgress(p, 300, 0.5) == "pull: 1 record, 300 B received");
  // Photos, by bytes: 1 MiB of 9 MiB in 40 s over EDGE is about 5 min more.
  SyncProgressReport ph;
  ph.phase = SyncPhase::kPhotos;
  ph.done = 1 << 20;
  ph.total = 9 << 20;
  CHECK(FormatSyncProgress(ph, 1 << 20, 40.0) ==
        "photos: 1.0 MiB of 9.0 MiB, 26 KiB/s, about 5 min left");
  ph.done = 0;
  CHECK(FormatSyncProgress(ph, 0, 40.0) == "photos: 0 B of 9.0 MiB");
}

TEST_CASE(
    "SyncClient: push acknowledges each change set only after its "
    "receipt verifies",
    "[sync]") {
  Device d;
  d.Enroll();
  PhraoFixture f(*d.store);
  for (int day = 1; day <= 5; ++day) {
    REQUIRE(d.store->Record("attendance", f.Mark(day, "present")).ok());
  }
  Outbox outbox(*d.store);
  REQUIRE(outbox.SealAll(3).ok());  // 8 rows: sets of 3, 3, 2

  SECTION("a good server: all confirmed") {
    d.ServePushes();
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Push(&summary).ok());
    CHECK(summary.pushed_sets == 3);
    CHECK(summary.pushed_rows == 8);
    CHECK(summary.bytes_sent > 0);
    CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3});
    CHECK(outbox.Unacked()->empty());
    auto st = d.store->GetStatus();
    CHECK(st->pending_changes == 0);
    CHECK(st->confirmed_changes == 8);
    // Every request carried a fresh nonce (the fake refuses a reused one).
    CHECK(d.fake->requests.size() == 4);  // enroll + 3 pushes
  }
  SECTION("the server lost confirmed sets (restored): sync sends them again") {
    d.ServePushes();
    const FakeServer::Handler pushes = d.fake->handler;
    // Pull pages and the conflict feed, empty, with the server's count of
    // this device's change sets.
    d.fake->handler = [&d, pushes](const HttpRequest& req) {
      if (req.path.rfind(protocol::kPullPath, 0) == 0) {
        const uint64_t after = QueryNumber(req.path, "after");
        HttpResponse page =
            PageAnswer(d.server, d.store->device_id(), after, after, false, "");
        page.headers["x-kbo-device-last-seq"] = std::to_string(d.last_seq);
        return page;
      }
      if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
        return NoConflictsAnswer(d.server, d.store->device_id(),
                                 QueryNumber(req.path, "after"));
      }
      return pushes(req);
    };
    SyncClient client(*d.store, d.Options());
    auto first = client.Sync();
    INFO(first.status().ToString());
    REQUIRE(first.ok());
    CHECK(first->resent_sets == 0);
    CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3});

    d.last_seq = 1;  // restored from a backup taken after set 1
    auto second = client.Sync();
    INFO(second.status().ToString());
    REQUIRE(second.ok());
    CHECK(second->resent_sets == 2);
    CHECK(second->pushed_sets == 2);
    CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3, 2, 3});
    CHECK(DescribeSummary(*second).find("again") != std::string::npos);
    CHECK(d.store->GetStatus()->confirmed_changes == 8);  // nothing unconfirmed

    auto third = client.Sync();  // the server holds them all again
    REQUIRE(third.ok());
    CHECK(third->resent_sets == 0);
    CHECK(d.pushed.size() == 5);
  }
  SECTION("the server lost confirmed sets and a new one is waiting: the push "
          "sends them again and says so") {
    d.ServePushes();
    SyncClient client(*d.store, d.Options());
    SyncSummary first;
    REQUIRE(client.Push(&first).ok());
    CHECK(first.resent_sets == 0);
    REQUIRE(d.store->Record("attendance", f.Mark(1, "late")).ok());
    d.last_seq = 1;  // restored from a backup taken after set 1
    SyncSummary second;
    REQUIRE(client.Push(&second).ok());
    CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3, 2, 3, 4});
    CHECK(second.resent_sets == 2);
    CHECK(DescribeSummary(second).find("again that the server had lost") != std::string::npos);
  }
  SECTION("cut after the push: what went is said, and a retry sends nothing "
          "again") {
    d.ServePushes();
    const FakeServer::Handler pushes = d.fake->handler;
    bool cut = true;
    d.fake->handler = [&](const HttpRequest& req) {
      if (req.path.rfind(protocol::kPushPath, 0) == 0) return pushes(req);
      if (cut) {
        // The signal drops once the change sets are in.
        d.fake->network_failures = 1000;
        return ErrorAnswer(503, "unavailable", "gone");
      }
      if (req.path.rfind(protocol::kPullPath, 0) == 0) {
        const uint64_t after = QueryNumber(req.path, "after");
        return PageAnswer(d.server, d.store->device_id(), after, after, false, "");
      }
      if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
        return NoConflictsAnswer(d.server, d.store->device_id(),
                                 QueryNumber(req.path, "after"));
      }
      FAIL("unexpected request " << req.path);
      return ErrorAnswer(500, "internal", "unexpected");
    };
    SyncClient client(*d.store, d.Options());
    auto first = client.Sync();
    REQUIRE_FALSE(first.ok());
    CHECK(client.last_summary().pushed_sets == 3);
    CHECK(client.last_summary().pushed_rows == 8);
    CHECK(d.store->GetStatus()->pending_changes == 0);
    cut = false;
    d.fake->network_failures = 0;
    auto second = client.Sync();
    INFO(second.status().ToString());
    REQUIRE(second.ok());
    CHECK(second->pushed_sets == 0);
    CHECK(client.last_summary().pushed_sets == 0);
    CHECK(d.pushed == std::vector<uint64_t>{1, 2, 3});
  }
  SECTION("a receipt signed by another key: nothing acknowledged") {
    const KeyPair impostor = KeyPair::Generate();
    d.ServePushes(&impostor);
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    Status s = client.Push(&summary);
    CHECK(s.code() == Code::kUnauthenticated);
    CHECK(summary.pushed_sets == 0);
    CHECK(outbox.Unacked()->size() == 3);
    CHECK(d.store->GetStatus()->confirmed_changes == 0);
  }
  SECTION("sequence_gap backwards: the server lost sets, they are sent again") {
    d.ServePushes();
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Push(&summary).ok());
    REQUIRE(d.store->Record("attendance", f.Mark(1, "late")).ok());
    d.last_seq = 1;  // the server restored a backup holding only set 1
    d.pushed.clear();
    REQUIRE(client.Push(&summary).ok());
    CHECK(d.pushed ==
          std::vector<uint64_t>{2, 3, 4});  // 4 refused, then 2.. again
    CHECK(outbox.Unacked()->empty());
  }
  SECTION("sequence_gap forwards: the server holds the earlier sets") {
    d.last_seq = 2;  // e.g. imported from a bundle
    d.ServePushes();
    // This fake answers a re-push of an old set with a gap, as a server
    // without stored receipts would.
    auto inner = d.fake->handler;
    d.fake->handler = [inner](const HttpRequest& req) {
      Signature sig;
      std::string_view bytes;
      REQUIRE(protocol::DecodePushBody(req.body, &sig, &bytes).ok());
      if (DecodeChangeSet(bytes)->seq <= 2) {
        return ErrorAnswer(409, "sequence_gap", "gap", {{"expected", 3}});
      }
      return inner(req);
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Push(&summary).ok());
    CHECK(d.pushed == std::vector<uint64_t>{3});
    CHECK(outbox.Unacked()->size() == 2);  // 1 and 2 await their receipts
  }
  SECTION("sequence_conflict: a forked device, nothing changed locally") {
    d.fake->handler = [](const HttpRequest&) {
      return ErrorAnswer(409, "sequence_conflict", "change set 1 differs");
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    Status s = client.Push(&summary);
    CHECK(s.code() == Code::kFailedPrecondition);
    CHECK(s.message().find("central office") != std::string::npos);
    CHECK(client.refused_by_server());
    CHECK(outbox.Unacked()->size() == 3);
  }
  SECTION("network errors are retried with backoff, each try signed anew") {
    d.ServePushes();
    d.fake->network_failures = 2;
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Push(&summary).ok());
    CHECK(d.sleeps == std::vector<int64_t>{500, 1000});
    CHECK(outbox.Unacked()->empty());
    std::set<std::string> nonces;
    for (const HttpRequest& r : d.fake->requests) {
      if (r.path == protocol::kPushPath) {
        CHECK(nonces.insert(HeaderOf(r, protocol::kNonceHeader)).second);
      }
    }
  }
  SECTION("a server error (5xx) is 'unavailable' and not retried") {
    d.fake->handler = [](const HttpRequest&) {
      return ErrorAnswer(503, "unavailable", "shutting down");
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    Status s = client.Push(&summary);
    CHECK(s.code() == Code::kUnavailable);
    CHECK(d.sleeps.empty());
    CHECK_FALSE(client.refused_by_server());
    CHECK(outbox.Unacked()->size() == 3);
  }
  SECTION("a busy server (503 with Retry-After) is asked again when it says") {
    d.ServePushes();
    const FakeServer::Handler serve = d.fake->handler;
    int busy = 2;
    d.fake->handler = [&busy, serve](const HttpRequest& req) {
      if (busy == 0) return serve(req);
      --busy;
      return Answer(503,
                    JsonBody({{"error", "busy"}, {"message", "busy"}, {"retry_after_s", 3}}),
                    {{"Retry-After", "3"}});
    };
    SyncOptions o = d.Options();
    std::vector<int64_t> told;
    o.on_busy = [&told](int64_t ms) { told.push_back(ms); };
    SyncClient client(*d.store, o);
    SyncSummary summary;
    REQUIRE(client.Push(&summary).ok());
    CHECK(outbox.Unacked()->empty());
    REQUIRE(d.sleeps.size() == 2);
    CHECK(told == d.sleeps);
    for (int64_t ms : d.sleeps) {
      CHECK(ms >= 3000);
      CHECK(ms <= 3750);  // up to a quarter more, at random
    }
  }
  SECTION("a server busy past the patience: its answer stands, nothing is lost") {
    d.fake->handler = [](const HttpRequest&) {
      return Answer(503, JsonBody({{"error", "busy"}, {"message", "still busy"}}),
                    {{"Retry-After", "100000"}});  // clamped to 120 s
    };
    SyncOptions o = d.Options();
    o.busy_patience_ms = 5 * 60 * 1000;
    SyncClient client(*d.store, o);
    SyncSummary summary;
    Status s = client.Push(&summary);
    CHECK(s.code() == Code::kUnavailable);
    CHECK(s.message().find("still busy") != std::string::npos);
    REQUIRE(d.sleeps.size() == 2);  // 2 x 120..150 s fit in 5 minutes, a third does not
    for (int64_t ms : d.sleeps) {
      CHECK(ms >= 120000);
      CHECK(ms <= 150000);
    }
    CHECK_FALSE(client.refused_by_server());
    CHECK(outbox.Unacked()->size() == 3);
  }
}

TEST_CASE("RetryAfterMs: only a 503 or 429 with whole seconds, clamped, with jitter",
          "[sync]") {
  auto with = [](int status, const std::string& value) {
    return Answer(status, "", {{"Retry-After", value}});
  };
  CHECK_FALSE(RetryAfterMs(Answer(503, "")).has_value());
  CHECK_FALSE(RetryAfterMs(with(500, "3")).has_value());
  CHECK_FALSE(RetryAfterMs(with(200, "3")).has_value());
  CHECK_FALSE(RetryAfterMs(with(503, "soon")).has_value());
  CHECK_FALSE(RetryAfterMs(with(503, "-1")).has_value());
  CHECK_FALSE(RetryAfterMs(with(503, "Wed, 21 Oct 2026 07:28:00 GMT")).has_value());
  for (int i = 0; i < 50; ++i) {
    const std::optional<int64_t> zero = RetryAfterMs(with(429, "0"));
    REQUIRE(zero.has_value());
    CHECK(*zero >= 1000);
    CHECK(*zero <= 1250);
    const std::optional<int64_t> huge = RetryAfterMs(with(503, "99999999999999999999"));
    CHECK_FALSE(huge.has_value());  // past int64: not a number we act on
    const std::optional<int64_t> big = RetryAfterMs(with(503, "86400"));
    REQUIRE(big.has_value());
    CHECK(*big >= 120000);
    CHECK(*big <= 150000);
  }
}

TEST_CASE(
    "SyncClient: pull applies verified pages with their cursor and "
    "keeps each cell's server sequence",
    "[sync]") {
  Device d;
  d.Enroll();
  const Uuid other = Uuid::Random();
  const RowChange a = ForeignProducer(other, kNowMs - 1000, 7, "นายสมชาย ทองดี");
  const RowChange b = ForeignProducer(other, kNowMs - 500, 8, "นางบัวคำ ใจมา");
  std::vector<std::pair<uint64_t, HttpResponse>> pages;  // after -> answer
  std::vector<wire::ConflictRecord> conflicts;
  auto serve = [&](const HttpRequest& req) {
    if (req.path.rfind(protocol::kPullPath, 0) == 0) {
      CHECK(QueryNumber(req.path, "limit") == protocol::kDefaultPullLimit);
      const uint64_t after = QueryNumber(req.path, "after");
      for (auto& [from, answer] : pages) {
        if (from == after) return answer;
      }
      return PageAnswer(d.server, d.store->device_id(), after, after, false,
                        "");
    }
    if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
      const uint64_t after = QueryNumber(req.path, "after");
      wire::ConflictsPage page;
      page.next = after;
      for (const wire::ConflictRecord& c : conflicts) {
        if (c.feed_seq > after) {
          page.conflicts.push_back(c);
          page.next = std::max(page.next, c.feed_seq);
        }
      }
      const std::string body = wire::EncodeConflictsPage(page);
      const Signature sig = d.server.Sign(
          kPullPageDomain, protocol::ConflictsMessage(
                               d.store->device_id().ToString(), after, body));
      return Answer(200, body,
                    {{protocol::kSignatureHeader, SignatureToHex(sig)}});
    }
    return ErrorAnswer(404, "not_found", req.path);
  };
  d.fake->handler = serve;
  pages.emplace_back(0, PageAnswer(d.server, d.store->device_id(), 0, 7, true,
                                   PageBytes({a})));
  pages.emplace_back(7, PageAnswer(d.server, d.store->device_id(), 7, 8, false,
                                   PageBytes({b})));

  SECTION("two pages, then the conflict feed") {
    wire::ConflictRecord c;
    c.id = "c-1";
    c.entity = "producer";
    c.row_id = a.row_id.ToString();
    c.column_name = "name";
    c.district_code = "5011";
    c.current_value = "นายสมชาย ทองดี";
    c.current_type = "text";
    c.current_device = other.ToString();
    c.current_hlc = a.hlc.ToString();
    c.current_seq = 7;
    c.incoming_value = "นายสมชาย ทองดีมาก";
    c.incoming_type = "text";
    c.incoming_device = Uuid::Random().ToString();
    c.incoming_hlc = a.hlc.ToString();
    c.incoming_base = 0;
    c.incoming_seq = 9;
    c.winner = "current";
    c.detected_at = "2024-03-09T16:00:00Z";
    c.feed_seq = 9;
    conflicts.push_back(c);
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Pull(&summary).ok());
    CHECK(summary.pulled_rows == 2);
    CHECK(summary.pull_pages == 2);
    CHECK(summary.conflicts == 1);
    CHECK(summary.new_conflicts == 1);  // announced: open and new here
    auto row = d.store->Show("producer", a.row_id);
    REQUIRE(row.ok());
    CHECK(row->values["name"] == Value::Text("นายสมชาย ทองดี"));
    auto versions = ReadCellVersions(d.store->db(), "producer", b.row_id);
    REQUIRE(versions.ok());
    CHECK(versions->at("name").seq == 8);  // the base of the next local edit
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 8);
    CHECK(d.Count("SELECT conflict_cursor FROM sync_state") == 9);
    CHECK(d.Count("SELECT count(*) FROM conflict WHERE id = 'c-1' AND "
                  "incoming_seq = 9"
                  " AND resolved_at IS NULL") == 1);
    // The clock moved up to what it saw: the next local write is later.
    CHECK(d.store->clock().State().wall_ms == b.hlc.wall_ms);

    // Again: nothing new; the resolution of the conflict updates its record.
    conflicts[0].resolved = true;
    conflicts[0].resolved_at = "2024-03-10T01:00:00Z";
    conflicts[0].feed_seq = 12;
    SyncSummary again;
    REQUIRE(client.Pull(&again).ok());
    CHECK(again.pulled_rows == 0);
    CHECK(again.conflicts == 1);
    // Its resolution is not news: `kbo sync` says nothing of it.
    CHECK(again.new_conflicts == 0);
    CHECK_THAT(DescribeSummary(again), !Catch::Contains("conflict"));
    CHECK(d.Count(
              "SELECT count(*) FROM conflict WHERE resolved_at IS NOT NULL") ==
          1);
    CHECK(d.Count("SELECT conflict_cursor FROM sync_state") == 12);
  }
  SECTION(
      "this device's own rows coming back unchanged are not counted as "
      "pulled, those it lacks are") {
    RowValues mine{{"kind", Value::Text("group")},
                   {"name", Value::Text("กลุ่มทอผ้าบ้านป่าแป๋")},
                   {"district_code", Value::Text("5011")}};
    auto id = d.store->Record("producer", mine);
    REQUIRE(id.ok());
    auto versions = ReadCellVersions(d.store->db(), "producer", *id);
    REQUIRE(versions.ok());
    // As the server sends a pushed row back: the device's own hlc, each
    // cell with its server sequence.
    RowChange own;
    own.entity = "producer";
    own.row_id = *id;
    own.hlc = versions->at("name").hlc;
    REQUIRE(own.hlc.device == d.store->device_id());
    for (const auto& [column, value] : mine) own.cells.push_back({column, value, 7});
    // The device's own write it no longer holds (its home restored from an
    // older copy): news here.
    RowChange restored = ForeignProducer(d.store->device_id(), kNowMs - 2000, 6,
                                         "นางคำปัน ศรีวงศ์");
    pages[0].second = PageAnswer(d.server, d.store->device_id(), 0, 7, true,
                                 PageBytes({own, restored, a}));
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.Pull(&summary).ok());
    CHECK(summary.pull_pages == 2);
    CHECK(summary.pulled_rows == 3);  // restored, a, b: not `own`
    CHECK_THAT(DescribeSummary(summary), Catch::Contains("pulled 3 changes"));
    // Still applied: the device learned its row's server sequence.
    auto after = ReadCellVersions(d.store->db(), "producer", *id);
    REQUIRE(after.ok());
    CHECK(after->at("name").seq == 7);
    CHECK(after->at("name").hlc == own.hlc);
    CHECK(d.store->Show("producer", restored.row_id).ok());
  }
  SECTION("a full pull (kbo sync --full) reads everything again from 0") {
    SyncClient client(*d.store, d.Options());
    REQUIRE(client.Pull(nullptr).ok());
    REQUIRE(d.Count("SELECT pull_cursor FROM sync_state") == 8);
    const size_t before = d.fake->requests.size();
    SyncOptions options = d.Options();
    options.full_pull = true;
    SyncClient full(*d.store, options);
    auto summary = full.Sync();
    INFO(summary.status().ToString());
    REQUIRE(summary.ok());
    CHECK(summary->pulled_rows == 2);  // both pages again
    bool from_zero = false;
    for (size_t i = before; i < d.fake->requests.size(); ++i) {
      const std::string& path = d.fake->requests[i].path;
      if (path.rfind(protocol::kPullPath, 0) == 0 && QueryNumber(path, "after") == 0) {
        from_zero = true;
      }
    }
    CHECK(from_zero);
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 8);
    CHECK(d.Count("SELECT count(*) FROM producer") == 2);  // merged, not doubled
    auto row = d.store->Show("producer", b.row_id);
    REQUIRE(row.ok());
    CHECK(row->values["name"] == Value::Text("นางบัวคำ ใจมา"));
  }
  SECTION(
      "a tampered second page: the first stays applied, nothing of the "
      "second") {
    pages[1].second.body[pages[1].second.body.size() - 3] ^= 0x20;
    SyncOptions options = d.Options();
    options.pull_group_always = GENERATE(false, true);
    SyncClient client(*d.store, options);
    SyncSummary summary;
    Status s = client.Pull(&summary);
    CHECK(s.code() == Code::kUnauthenticated);
    CHECK(d.store->Show("producer", a.row_id).ok());
    CHECK(d.store->Show("producer", b.row_id).status().code() ==
          Code::kNotFound);
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 7);
  }
  SECTION(
      "a third page that does not apply: the pages before it are kept, "
      "nothing of it, whichever pages shared a commit") {
    const RowChange c = ForeignProducer(other, kNowMs - 400, 9, "นายหนึ่ง ใจดี");
    RowChange bad = ForeignProducer(other, kNowMs - 300, 9, "นายสอง ใจดี");
    bad.cells[0].value = Value::Text("no-such-kind");
    pages[1].second = PageAnswer(d.server, d.store->device_id(), 7, 8, true,
                                 PageBytes({b}));
    // c is applied before bad is refused: the page's savepoint undoes it.
    pages.emplace_back(8, PageAnswer(d.server, d.store->device_id(), 8, 9,
                                     false, PageBytes({c, bad})));
    SyncOptions options = d.Options();
    // The fake answers at once: pages share a commit or not by threads'
    // timing. Both ways end the same; this runs each.
    options.pull_group_always = GENERATE(false, true);
    SyncClient client(*d.store, options);
    SyncSummary summary;
    const Status s = client.Pull(&summary);
    CHECK(s.code() == Code::kCorruption);
    CHECK(s.message().find("does not apply") != std::string::npos);
    CHECK(summary.pulled_rows == 2);
    CHECK(d.store->Show("producer", a.row_id).ok());
    CHECK(d.store->Show("producer", b.row_id).ok());
    CHECK(d.store->Show("producer", c.row_id).status().code() ==
          Code::kNotFound);
    CHECK(d.Count("SELECT count(*) FROM producer") == 2);
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 8);
    // Nothing is left open: another connection writes at once.
    auto second = Db::Open(d.dir.File("field.db"));
    REQUIRE(second.ok());
    (*second)->SetWriteWait(1);
    REQUIRE((*second)->BeginWrite().ok());
    CHECK((*second)->Commit().ok());

    // The server mends the page: the next pull starts at it.
    pages[2].second = PageAnswer(d.server, d.store->device_id(), 8, 9, false,
                                 PageBytes({c}));
    SyncSummary again;
    REQUIRE(client.Pull(&again).ok());
    CHECK(again.pulled_rows == 1);
    CHECK(d.store->Show("producer", c.row_id).ok());
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 9);
  }
  SECTION("a row dated two days ahead: refused, neither data nor clock move") {
    const Hlc before = d.store->clock().State();
    pages[0].second = PageAnswer(
        d.server, d.store->device_id(), 0, 7, true,
        PageBytes(
            {a, ForeignProducer(other, kNowMs + 2 * 86400000LL, 7, "อนาคต")}));
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    Status s = client.Pull(&summary);
    CHECK(s.code() == Code::kFailedPrecondition);
    CHECK(s.message().find("date and time") != std::string::npos);
    CHECK(d.store->Show("producer", a.row_id).status().code() ==
          Code::kNotFound);
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 0);
    CHECK(d.store->clock().State() == before);
  }
  SECTION("a conflict list signed by another key is refused") {
    const KeyPair other_key = KeyPair::Generate();
    d.fake->handler = [&](const HttpRequest& req) {
      if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
        return NoConflictsAnswer(other_key, d.store->device_id(), 0);
      }
      return serve(req);
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    CHECK(client.Pull(&summary).code() == Code::kUnauthenticated);
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 8);  // rows came in
  }
}

TEST_CASE(
    "SyncClient: a pull page naming the device's districts in garbage is "
    "refused whole and a good one records them",
    "[sync]") {
  Device d;
  d.Enroll();  // districts 5011
  const Uuid other = Uuid::Random();
  const RowChange a = ForeignProducer(other, kNowMs - 1000, 7, "นายสมชาย ทองดี");
  const RowChange b = ForeignProducer(other, kNowMs - 500, 8, "นางบัวคำ ใจมา");
  // Page 0 -> 7 (row a, then more), page 7 -> 8 (row b); each may carry
  // its own X-KBO-Device-Districts.
  std::map<uint64_t, std::string> districts;
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.path.rfind(protocol::kPullPath, 0) == 0) {
      const uint64_t after = QueryNumber(req.path, "after");
      HttpResponse page =
          after == 0   ? PageAnswer(d.server, d.store->device_id(), 0, 7, true,
                                    PageBytes({a}))
          : after == 7 ? PageAnswer(d.server, d.store->device_id(), 7, 8,
                                    false, PageBytes({b}))
                       : PageAnswer(d.server, d.store->device_id(), after,
                                    after, false, "");
      if (auto it = districts.find(after); it != districts.end()) {
        page.headers["x-kbo-device-districts"] = it->second;
      }
      return page;
    }
    if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
      return NoConflictsAnswer(d.server, d.store->device_id(),
                               QueryNumber(req.path, "after"));
    }
    return ErrorAnswer(404, "not_found", req.path);
  };
  const auto record_in = [&d](const char* district) {
    return d.store
        ->Record("producer", {{"kind", Value::Text("entrepreneur")},
                              {"name", Value::Text("ผู้ผลิต")},
                              {"district_code", Value::Text(district)}})
        .status();
  };
  const auto stored_districts = [&d] {
    Statement st(d.store->db(), "SELECT districts FROM device");
    REQUIRE(st.Step());
    return st.ColumnText(0);
  };
  REQUIRE(record_in("5009").code() == Code::kInvalidArgument);
  const Hlc clock_before = d.store->clock().State();

  std::string many;
  for (int i = 0; i < 10000; ++i) many += (i == 0 ? "" : ",") + std::string("5011");
  std::string bytes_0_to_31;
  for (char c = 1; c < 0x20; ++c) bytes_0_to_31 += c;
  const std::string bad[] = {
      "",
      "999",
      "5011,99999",
      "all,5001",
      "5001,all",
      "ALL",
      "all ",
      " 5011",
      "5011, 5009",
      "5011 ,5009",
      "5011,",
      ",5011",
      "5011,,5009",
      many,
      std::string("5011\0", 5),
      "5011\r\nX-Evil: 1",
      "\x1b[31m5011",
      "5011" + bytes_0_to_31,
      "\x7f",
      "\xff\xfe",
      "ฝาง",
      "๕๐๑๑",  // Thai digits
      "5011,5011",
      "5009,5011,5009",
  };
  for (const std::string& value : bad) {
    INFO("X-KBO-Device-Districts: [" + value.substr(0, 40) + "] " +
         std::to_string(value.size()) + " bytes");
    districts[0] = value;
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    const Status s = client.Pull(&summary);
    INFO(s.ToString());
    CHECK(s.code() == Code::kCorruption);
    CHECK_THAT(s.message(),
               Catch::Contains(protocol::kDeviceDistrictsHeader) &&
                   Catch::Contains("not 'all' or district codes (four digits)") &&
                   Catch::Contains("nothing of that page was applied"));
    // The message shows at most 60 bytes of it, printable ASCII only.
    CHECK(s.message().size() < 400);
    bool printable = true;
    for (char c : s.message()) printable = printable && c >= 0x20 && c < 0x7f;
    CHECK(printable);
    CHECK_FALSE(client.refused_by_server());
    CHECK(summary.pulled_rows == 0);
    CHECK(stored_districts() == "5011");
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 0);
    CHECK(d.Count("SELECT count(*) FROM producer") == 0);
    CHECK(d.store->clock().State() == clock_before);
    CHECK(record_in("5009").code() == Code::kInvalidArgument);
  }

  SECTION("garbage on the second page: the first, with its districts, stays") {
    districts[0] = "5009,5011";
    districts[7] = "5009,5011,5009";
    SyncClient client(*d.store, d.Options());
    const Status s = client.Pull(nullptr);
    CHECK(s.code() == Code::kCorruption);
    CHECK_THAT(s.message(), Catch::StartsWith("the pull after 7 "));
    CHECK(stored_districts() == "5009,5011");
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 7);
    CHECK(d.store->Show("producer", a.row_id).ok());
    CHECK(d.store->Show("producer", b.row_id).status().code() ==
          Code::kNotFound);
  }
  SECTION("a good value is recorded, and the device records in it") {
    districts[0] = "5009,5011";
    districts[7] = "5009,5011";
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    const Status s = client.Pull(&summary);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(summary.pulled_rows == 2);
    CHECK(stored_districts() == "5009,5011");
    CHECK(d.Count("SELECT pull_cursor FROM sync_state") == 8);
    CHECK(d.store->GetStatus()->districts == "5009,5011");
    CHECK(record_in("5009").ok());
    CHECK(record_in("5001").code() == Code::kInvalidArgument);
    // Then all; a server that says nothing (older) leaves it as it is.
    districts[8] = "all";
    REQUIRE(SyncClient(*d.store, d.Options()).Pull(nullptr).ok());
    CHECK(stored_districts() == "all");
    CHECK(record_in("5001").ok());
    districts.erase(8);
    REQUIRE(SyncClient(*d.store, d.Options()).Pull(nullptr).ok());
    CHECK(stored_districts() == "all");
  }
  SECTION("a district code newer than this build's reference data is still one") {
    districts[0] = "5011,5099";
    districts[7] = "5011,5099";
    SyncClient client(*d.store, d.Options());
    const Status s = client.Pull(nullptr);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(stored_districts() == "5011,5099");
    CHECK(record_in("5011").ok());  // writes go on
  }
}

TEST_CASE("SyncClient: a new sequence epoch on the last pull page asks once "
          "which photos the server lacks, and a garbage epoch is none",
          "[sync]") {
  Device d;
  d.Enroll();
  // A photo this device uploaded earlier (finished: nothing to send).
  REQUIRE(d.store->db()
              .Exec("INSERT INTO blob_upload (sha256, bytes, mime, "
                    "uploaded_bytes, done_at) VALUES ('" +
                    std::string(64, 'a') +
                    "', 10, 'image/jpeg', 10, '2024-03-09T16:00:00Z')")
              .ok());
  std::optional<std::string> said;  // X-KBO-Seq-Epoch, absent when empty
  int asked = 0;
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.path.rfind(protocol::kPullPath, 0) == 0) {
      const uint64_t after = QueryNumber(req.path, "after");
      HttpResponse page =
          PageAnswer(d.server, d.store->device_id(), after, after, false, "");
      if (said) page.headers["x-kbo-seq-epoch"] = *said;
      return page;
    }
    if (req.path.rfind(protocol::kConflictsPath, 0) == 0) {
      return NoConflictsAnswer(d.server, d.store->device_id(),
                               QueryNumber(req.path, "after"));
    }
    if (req.path == protocol::kBlobsMissingPath) {
      ++asked;
      return Answer(200, wire::EncodeMissingBlobs({}));
    }
    FAIL("unexpected request " << req.method << " " << req.path);
    return Answer(500, "");
  };
  SyncClient client(*d.store, d.Options());
  const auto sync = [&client] {
    auto r = client.Sync();
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  };
  sync();  // no header: epoch 0, the one a new device starts from
  CHECK(asked == 0);
  for (const char* garbage :
       {"", "abc", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0",
        "18446744073709551616", "123456789012345678901"}) {
    CAPTURE(garbage);
    said = garbage;
    sync();
    CHECK(asked == 0);
    CHECK(d.Count("SELECT server_seq_epoch FROM sync_state") == 0);
  }
  said = "1";  // restored once: asked, once
  sync();
  CHECK(asked == 1);
  sync();
  CHECK(asked == 1);
  said = "oops";  // garbage after a real epoch is not a new one
  sync();
  CHECK(asked == 1);
  CHECK(d.Count("SELECT server_seq_epoch FROM sync_state") == 1);
  said = "18446744073709551615";  // the largest there is, asked and noted
  sync();
  sync();
  CHECK(asked == 2);
  said.reset();  // an older server again: epoch 0 is new to this device
  sync();
  CHECK(asked == 3);
  // The photo the server did not list stays sent.
  CHECK(d.Count("SELECT count(*) FROM blob_upload WHERE done_at IS NULL") == 0);
}

TEST_CASE("SyncClient: a photo whose file is gone from blobs/ names its row, its caption and "
          "the two ways out, and stays queued, and the other photos go",
          "[sync]") {
  // A file deleted by hand made every later sync end with "blob … is not
  // in the store": no row, nothing to do about it.
  Device d;
  d.Enroll();
  PhraoFixture f(*d.store);
  const std::string gone(64, 'a');
  auto photo = d.store->RecordPhoto({{"subject_type", testing::T("producer")},
                                     {"subject_id", Value::Text(f.producer.ToString())},
                                     {"sha256", Value::Text(gone)},
                                     {"bytes", Value::Integer(1234)},
                                     {"mime", testing::T("image/jpeg")},
                                     {"caption", testing::T("ผ้าทอลายน้ำไหล")},
                                     {"district_code", testing::T("5011")}});
  REQUIRE(photo.ok());
  // Another photo, its file here.
  std::string jpeg = "\xFF\xD8\xFF\xC0";
  jpeg += std::string("\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 17);
  jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  jpeg += std::string(1000, 'x') + "\xFF\xD9";
  auto blob = BlobStore(d.store->paths().blobs).AddPhotoBytes(jpeg, "p.jpg", size_t{8} << 20);
  REQUIRE(blob.ok());
  auto other = d.store->RecordPhoto({{"subject_type", testing::T("producer")},
                                     {"subject_id", Value::Text(f.producer.ToString())},
                                     {"sha256", Value::Text(blob->sha256)},
                                     {"bytes", Value::Integer(static_cast<int64_t>(jpeg.size()))},
                                     {"mime", testing::T("image/jpeg")},
                                     {"district_code", testing::T("5011")}});
  REQUIRE(other.ok());
  std::string sent;
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.method == "GET" && req.path == protocol::kBlobsMissingPath) {
      return Answer(200, wire::EncodeMissingBlobs({gone, blob->sha256}));
    }
    if (req.method == "PUT" &&
        req.path.rfind(std::string(protocol::kBlobPathPrefix) + blob->sha256 + "?", 0) == 0) {
      sent += req.body;
      return Answer(200, BlobStateJson(blob->sha256, sent.size(), jpeg.size()));
    }
    return ErrorAnswer(404, "not_found", req.path);
  };
  SyncClient client(*d.store, d.Options());
  SyncSummary summary;
  const Status s = client.UploadBlobs(&summary);
  CHECK(s.code() == Code::kIOError);
  CHECK(s.reason() == "photo_file_missing");
  CHECK_THAT(s.message(), Catch::Contains(photo->ToString()) &&
                              Catch::Contains("ผ้าทอลายน้ำไหล") &&
                              Catch::Contains("kbo delete photo " + photo->ToString()) &&
                              Catch::Contains("Put the file back") &&
                              Catch::Contains(d.store->paths().blobs));
  CHECK(sent == jpeg);
  CHECK(d.store->GetStatus()->pending_blobs == 1);
}

TEST_CASE("SyncClient: photos the server lists as missing go up without asking their state first",
          "[sync]") {
  Device d;
  d.Enroll();
  // Three small photos waiting: the server lists the first two as missing;
  // the third it holds whole already (another device brought it).
  BlobStore blobs(d.store->paths().blobs);
  std::vector<std::string> shas, bodies;
  for (int i = 0; i < 3; ++i) {
    std::string jpeg = "\xFF\xD8\xFF\xC0";
    jpeg += std::string(
        "\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 17);
    jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
    jpeg += std::string(1000 + static_cast<size_t>(i), 'x') + "\xFF\xD9";
    auto blob = blobs.AddPhotoBytes(jpeg, "p.jpg", size_t{8} << 20);
    REQUIRE(blob.ok());
    Statement st(d.store->db(),
                 "INSERT INTO blob_upload (sha256, bytes, mime) VALUES (?1, ?2, 'image/jpeg')");
    st.Bind(1, std::string_view(blob->sha256)).Bind(2, static_cast<int64_t>(jpeg.size()));
    REQUIRE(st.Run().ok());
    shas.push_back(blob->sha256);
    bodies.push_back(jpeg);
  }
  std::map<std::string, std::string> held = {{shas[2], bodies[2]}};
  std::vector<std::string> asked;  // "GET missing", "GET <sha>", "PUT <sha>"
  SECTION("nothing of them held") {}
  // Another device is sending the same photo: the server holds part of it,
  // and the chunk is answered with what it holds.
  SECTION("part of one held") { held[shas[0]] = bodies[0].substr(0, 100); }
  // A list that is not one, or none (a server from before the list): every
  // photo's state is asked first, as before it, and nothing held is sent.
  std::function<HttpResponse()> missing_answer = [&] {
    return Answer(200, wire::EncodeMissingBlobs({shas[0], shas[1]}));
  };
  bool listed = true;
  SECTION("a garbage list") {
    missing_answer = [] { return Answer(200, std::string("\xFF\x00{\"missing\":[", 14)); };
    listed = false;
  }
  SECTION("a list naming what is not a sha256") {
    missing_answer = [] { return Answer(200, R"({"missing":["../../etc/passwd"]})"); };
    listed = false;
  }
  SECTION("no list: an older server") {
    missing_answer = [] { return ErrorAnswer(404, "not_found", "no such path"); };
    listed = false;
  }
  const bool partial = held.count(shas[0]) != 0;
  d.fake->handler = [&](const HttpRequest& req) {
    if (req.method == "GET" && req.path == protocol::kBlobsMissingPath) {
      asked.push_back("GET missing");
      return missing_answer();
    }
    for (size_t i = 0; i < shas.size(); ++i) {
      const std::string base = std::string(protocol::kBlobPathPrefix) + shas[i];
      const std::string& body = bodies[i];
      std::string& have = held[shas[i]];
      if (req.method == "GET" && req.path == base) {
        asked.push_back("GET " + std::to_string(i));
        return Answer(200, BlobStateJson(shas[i], have.size(), body.size()));
      }
      if (req.method == "PUT" && req.path.rfind(base + "?", 0) == 0) {
        asked.push_back("PUT " + std::to_string(i));
        if (have.size() == body.size()) {
          return Answer(200, BlobStateJson(shas[i], have.size(), body.size()));
        }
        if (QueryNumber(req.path, "offset") != have.size()) {
          return ErrorAnswer(409, "offset_mismatch", "expected " + std::to_string(have.size()),
                             {{"received", have.size()}});
        }
        have += req.body;
        return Answer(200, BlobStateJson(shas[i], have.size(), body.size()));
      }
    }
    return ErrorAnswer(404, "not_found", req.path);
  };
  SyncClient client(*d.store, d.Options());
  SyncSummary summary;
  REQUIRE(client.UploadBlobs(&summary).ok());
  for (size_t i = 0; i < 3; ++i) CHECK(held[shas[i]] == bodies[i]);
  CHECK(d.store->GetStatus()->pending_blobs == 0);
  // One request for the list; the listed photos straight up; the one not
  // listed asked about, and not sent (the server holds it).
  std::vector<std::string> expected = {"GET missing", "PUT 0", "PUT 1", "GET 2"};
  if (partial) expected = {"GET missing", "PUT 0", "PUT 0", "PUT 1", "GET 2"};
  if (!listed) expected = {"GET missing", "GET 0", "PUT 0", "GET 1", "PUT 1", "GET 2"};
  CHECK(asked == expected);
  // What the server took: all it did not hold.
  CHECK(summary.blob_bytes == bodies[0].size() + bodies[1].size() - (partial ? 100 : 0));
  // Two sent, one the server held already: not told as sent.
  CHECK(summary.blobs_uploaded == 2);
  CHECK(summary.blobs_already_held == 1);
  const std::string told = DescribeSummary(summary);
  CHECK_THAT(told, Catch::Contains("uploaded 2 photos"));
  CHECK_THAT(told, Catch::Contains("1 photo already on the server (nothing sent)"));
}

TEST_CASE("SyncClient: a photo upload resumes from what the server holds",
          "[sync]") {
  Device d;
  d.Enroll();
  // A 2.5 MiB photo: three chunks.
  std::string jpeg = "\xFF\xD8\xFF\xC0";
  jpeg += std::string(
      "\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01",
      17);
  jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  jpeg += std::string((size_t{5} << 19) - jpeg.size() - 2, 'x') + "\xFF\xD9";
  BlobStore blobs(d.store->paths().blobs);
  auto blob = blobs.AddPhotoBytes(jpeg, "big.jpg", size_t{8} << 20);
  REQUIRE(blob.ok());
  {
    Statement st(d.store->db(),
                 "INSERT INTO blob_upload (sha256, bytes, mime) VALUES (?1, "
                 "?2, 'image/jpeg')");
    st.Bind(1, std::string_view(blob->sha256))
        .Bind(2, static_cast<int64_t>(jpeg.size()));
    REQUIRE(st.Run().ok());
  }
  std::string held;  // what the fake server holds
  int puts = 0;
  d.fake->handler = [&](const HttpRequest& req) {
    const std::string base =
        std::string(protocol::kBlobPathPrefix) + blob->sha256;
    if (req.method == "GET" && req.path == base) {
      if (held.empty()) return ErrorAnswer(404, "not_found", "no such blob");
      return Answer(200, BlobStateJson(blob->sha256, held.size(), jpeg.size()));
    }
    if (req.method == "PUT" && req.path.rfind(base + "?", 0) == 0) {
      ++puts;
      CHECK(QueryNumber(req.path, "total") == jpeg.size());
      CHECK(HeaderOf(req, protocol::kChunkHashHeader) ==
            HexEncode(Sha256(req.body)));
      CHECK(req.body.size() <= protocol::kBlobChunkBytes);
      const uint64_t offset = QueryNumber(req.path, "offset");
      if (offset != held.size()) {
        return ErrorAnswer(409, "offset_mismatch",
                           "expected " + std::to_string(held.size()),
                           {{"received", held.size()}});
      }
      held += req.body;
      return Answer(200, BlobStateJson(blob->sha256, held.size(), jpeg.size()));
    }
    return ErrorAnswer(404, "not_found", req.path);
  };
  auto uploaded = [&] {
    return d.Count("SELECT uploaded_bytes FROM blob_upload");
  };

  SECTION("in one go") {
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.UploadBlobs(&summary).ok());
    CHECK(held == jpeg);
    // 2.5 MiB: 64 KiB first (the link not measured yet), then 1 MiB
    // chunks (this fake link is fast), then the rest.
    CHECK(puts == 4);
    CHECK(summary.blobs_uploaded == 1);
    CHECK(summary.blob_bytes == jpeg.size());
    CHECK(summary.blob_bytes_before == 0);
    CHECK(DescribeSummary(summary).find("uploaded 1 photo (2.5 MiB)") !=
          std::string::npos);
    CHECK(d.store->GetStatus()->pending_blobs == 0);
  }
  SECTION("cut after the first chunk, then resumed") {
    {
      // The second chunk reaches the server but its answer is lost, and the
      // link stays down for every retry.
      d.fake->handler = [inner = d.fake->handler, &d,
                         &puts](const HttpRequest& req) {
        HttpResponse r = inner(req);
        if (req.method == "PUT" && puts == 2) {
          d.fake->lost_answers = 1;
          d.fake->network_failures = 100;
        }
        return r;
      };
      SyncClient client(*d.store, d.Options());
      SyncSummary summary;
      Status s = client.UploadBlobs(&summary);
      CHECK(s.code() == Code::kUnavailable);
      CHECK(s.message().find("everything is kept") != std::string::npos);
      // Chunk 1 confirmed and saved; chunk 2 reached the server unconfirmed.
      CHECK(uploaded() == static_cast<int64_t>(kFirstUploadChunkBytes));
      CHECK(held.size() == kFirstUploadChunkBytes + protocol::kBlobChunkBytes);
    }
    d.fake->network_failures = 0;
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.UploadBlobs(&summary).ok());
    CHECK(held == jpeg);
    // Resumed from what the server said it holds: nothing of it again.
    CHECK(summary.blob_bytes ==
          jpeg.size() - kFirstUploadChunkBytes - protocol::kBlobChunkBytes);
    // And the summary says the rest was on the server already, not that a 2.5 MiB
    // photo was 1.4 MiB.
    CHECK(summary.blob_bytes_before ==
          kFirstUploadChunkBytes + protocol::kBlobChunkBytes);
    CHECK(DescribeSummary(summary).find(
              "uploaded 1 photo (1.4 MiB sent now; 1.1 MiB were on the server "
              "already)") != std::string::npos);
    CHECK(
        d.Count("SELECT count(*) FROM blob_upload WHERE done_at IS NOT NULL") ==
        1);
  }
  SECTION("a chunk whose answer is lost is asked about, not sent again") {
    int gets = 0;
    std::vector<uint64_t> offsets;
    d.fake->handler = [inner = d.fake->handler, &d, &puts, &gets,
                       &offsets](const HttpRequest& req) {
      if (req.method == "GET") ++gets;
      if (req.method == "PUT") offsets.push_back(QueryNumber(req.path, "offset"));
      HttpResponse r = inner(req);
      if (req.method == "PUT" && puts == 2) d.fake->lost_answers = 1;
      return r;
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    Status s = client.UploadBlobs(&summary);
    INFO(s.ToString());
    REQUIRE(s.ok());
    CHECK(held == jpeg);
    // No chunk sent twice (every offset once, ascending), smaller chunks
    // after the loss than before; one GET asked what arrived (and one
    // before the first chunk).
    CHECK(std::is_sorted(offsets.begin(), offsets.end(),
                         [](uint64_t a, uint64_t b) { return a <= b; }));
    CHECK(std::adjacent_find(offsets.begin(), offsets.end()) == offsets.end());
    REQUIRE(offsets.size() >= 4);
    CHECK(offsets[3] - offsets[2] < offsets[2] - offsets[1]);
    CHECK(gets == 2);
    CHECK(summary.blob_bytes == jpeg.size());
    CHECK(summary.blobs_uploaded == 1);
    // The link is given a moment before it is asked (as any retry is), not
    // asked at once.
    CHECK(d.sleeps == std::vector<int64_t>{500});
  }
  SECTION("offset_mismatch resumes from the server's position") {
    held = jpeg.substr(0, protocol::kBlobChunkBytes);
    // The client believes nothing was sent, and the server's GET lies low:
    // the PUT at 0 is answered with the true position.
    d.fake->handler = [inner = d.fake->handler](const HttpRequest& req) {
      if (req.method == "GET") return ErrorAnswer(404, "not_found", "?");
      return inner(req);
    };
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.UploadBlobs(&summary).ok());
    CHECK(held == jpeg);
    CHECK(summary.blob_bytes == jpeg.size() - protocol::kBlobChunkBytes);
  }
  SECTION("the server already has it: nothing sent") {
    held = jpeg;
    SyncClient client(*d.store, d.Options());
    SyncSummary summary;
    REQUIRE(client.UploadBlobs(&summary).ok());
    CHECK(puts == 0);
    CHECK(d.store->GetStatus()->pending_blobs == 0);
  }
}

TEST_CASE("SyncClient: an unreachable server keeps everything", "[sync]") {
  TempDir dir;
  ManualWallClock wall(kNowMs);
  auto opened = ClientStore::Open(dir.path(), &wall);
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  {
    Statement st(
        store.db(),
        "UPDATE device SET server_url = 'http://127.0.0.1:1', "
        "server_public_key = ?1, role = 'trainer', districts = '5011'");
    st.Bind(1, std::string_view(KeyPair::Generate().public_key().ToHex()));
    REQUIRE(st.Run().ok());
  }
  PhraoFixture f(store);
  SyncOptions options;  // the real HTTP transport
  std::vector<int64_t> sleeps;
  options.sleep_ms = [&](int64_t ms) { sleeps.push_back(ms); };
  options.timeouts.connect_ms = 2000;
  SyncClient client(store, options);
  auto r = client.Sync();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().find("cannot reach http://127.0.0.1:1") !=
        std::string::npos);
  CHECK(r.status().message().find("everything is kept") != std::string::npos);
  CHECK(sleeps == std::vector<int64_t>{500, 1000, 2000});
  CHECK_FALSE(client.refused_by_server());
  // Sealed (so the change sets are fixed) but none acknowledged.
  Outbox outbox(store);
  auto unacked = outbox.Unacked();
  REQUIRE(unacked.ok());
  CHECK(unacked->size() == 1);
  auto st = store.GetStatus();
  CHECK(st->pending_changes == 3);
  CHECK(st->confirmed_changes == 0);
  CHECK(st->last_sync.empty());
  CHECK(st->last_error.find("cannot reach") != std::string::npos);
}

// A device that takes itself to be a Phrao trainer's, enrolled with a
// server at 127.0.0.1:1 whose key is nobody's: for answers that are not
// the server's anyway.
void PretendEnrolled(ClientStore& store) {
  Statement st(store.db(),
               "UPDATE device SET server_url = 'http://127.0.0.1:1', "
               "server_public_key = ?1, role = 'trainer', districts = '5011'");
  st.Bind(1, std::string_view(KeyPair::Generate().public_key().ToHex()));
  REQUIRE(st.Run().ok());
}

TEST_CASE("SyncClient: a sign-in page in the server's place is said as such, "
          "not as a damaged answer, and everything is kept",
          "[sync]") {
  TempDir dir;
  ManualWallClock wall(kNowMs);
  auto opened = ClientStore::Open(dir.path(), &wall);
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PretendEnrolled(store);
  PhraoFixture f(store);
  // A hotspot's portal: every request answered 200 with its page (or a
  // redirect the browser's transport followed to it).
  class Portal : public HttpTransport {
   public:
    explicit Portal(std::string type, std::string location = "")
        : type_(std::move(type)), location_(std::move(location)) {}
    Result<HttpResponse> Send(const std::string&, const HttpRequest&) override {
      ++calls;
      HttpResponse r;
      r.status = location_.empty() ? 200 : 302;
      if (!location_.empty()) r.headers["location"] = location_;
      r.headers["content-type"] = type_;
      r.body = "<html><body>Sign in to FreeWiFi@Phrao</body></html>";
      return r;
    }
    int calls = 0;

   private:
    std::string type_;
    std::string location_;
  };
  {
    // Most hotspots redirect: said as a sign-in page, naming where to.
    Portal portal("text/html", "http://10.0.0.1/login?orig=kbo");
    SyncOptions options;
    options.transport = &portal;
    options.sleep_ms = [](int64_t) {};
    SyncClient client(store, options);
    auto r = client.Sync();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().reason() == "sign_in_page");
    CHECK_THAT(r.status().message(),
               Catch::Contains("it sent the request on to http://10.0.0.1/login?orig=kbo"));
    CHECK(portal.calls == 1);
  }
  for (const char* type : {"text/html; charset=utf-8", "Text/HTML"}) {
    CAPTURE(type);
    Portal portal(type);
    SyncOptions options;
    options.transport = &portal;
    options.sleep_ms = [](int64_t) {};
    SyncClient client(store, options);
    auto r = client.Sync();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK(r.status().reason() == "sign_in_page");
    CHECK_THAT(r.status().message(),
               Catch::Contains("with a web page, not the server: a Wi-Fi or mobile-data "
                               "sign-in page?") &&
                   Catch::Contains("everything is kept"));
    CHECK(portal.calls == 1);  // not asked again and again
    auto st = store.GetStatus();
    CHECK(st->pending_changes == 3);
    CHECK(st->confirmed_changes == 0);
  }
  const auto answer = [](int status, const char* type) {
    HttpResponse r;
    r.status = status;
    if (type != nullptr) r.headers["content-type"] = type;
    return r;
  };
  // The server's own refusals are not pages: a 404 in HTML (a proxy's) is
  // left to the usual handling; nor is its JSON.
  const std::string server = "http://kbo.example.go.th:8787";
  CHECK_FALSE(LooksLikeSignInPage(answer(404, "text/html"), server));
  CHECK_FALSE(LooksLikeSignInPage(answer(200, "application/json"), server));
  CHECK_FALSE(LooksLikeSignInPage(answer(403, "application/json"), server));
  CHECK_FALSE(LooksLikeSignInPage(answer(401, "application/json; charset=utf-8"), server));
  // A login page for a 401 or 403, or a proxy asking for its login (407),
  // is the network's, not the server refusing (it read "out_of_scope").
  CHECK(LooksLikeSignInPage(answer(403, "text/html; charset=utf-8"), server));
  CHECK(LooksLikeSignInPage(answer(401, "TEXT/HTML"), server));
  CHECK(LooksLikeSignInPage(answer(407, nullptr), server));
  // An HTTPS redirect in front of the server is not a portal; 511 is one,
  // and so is a redirect to another host (how most hotspots do it).
  CHECK_FALSE(LooksLikeSignInPage(answer(301, "text/html"), server));
  CHECK(LooksLikeSignInPage(answer(511, nullptr), server));
  const auto redirect = [&](int status, const char* to) {
    HttpResponse r = answer(status, "text/html");
    r.headers["location"] = to;
    return r;
  };
  CHECK(LooksLikeSignInPage(redirect(302, "http://10.0.0.1/login?orig=x"), server));
  CHECK(LooksLikeSignInPage(redirect(307, "https://wifi.example.net/"), server));
  CHECK_FALSE(LooksLikeSignInPage(
      redirect(301, "https://KBO.example.go.th/v1/push"), server));
  CHECK(LooksLikeSignInPage(redirect(302, "http://[fe80::1]:8080/"), server));
  CHECK_FALSE(LooksLikeSignInPage(redirect(302, "/v1/push"), server));
}

TEST_CASE("SyncClient: a web server that is not the KBO server (a 404 or 501 page) is "
          "said as such, to try again at the right address, whichever request met it",
          "[sync]") {
  TempDir dir;
  ManualWallClock wall(kNowMs);
  auto opened = ClientStore::Open(dir.path(), &wall);
  REQUIRE(opened.ok());
  ClientStore& store = **opened;
  PretendEnrolled(store);
  // python3 -m http.server: GET is 404, POST is 501, both in HTML.
  class WebServer : public HttpTransport {
   public:
    Result<HttpResponse> Send(const std::string&, const HttpRequest& req) override {
      ++calls;
      HttpResponse r;
      r.status = req.method == "GET" ? 404 : 501;
      r.headers["content-type"] = "text/html;charset=utf-8";
      r.body = "<html><body><h1>Error response</h1></body></html>";
      return r;
    }
    int calls = 0;
  };
  for (bool pending : {false, true}) {
    CAPTURE(pending);
    if (pending) {
      PhraoFixture f(store);
    }
    WebServer web;
    SyncOptions options;
    options.transport = &web;
    options.sleep_ms = [](int64_t) {};
    SyncClient client(store, options);
    auto r = client.Sync();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUnavailable);
    CHECK_THAT(r.status().message(), Catch::Contains("a web page, not as a KBO server answers") &&
                                         Catch::Contains("everything is kept"));
    CHECK_FALSE(client.refused_by_server());
    auto st = store.GetStatus();
    CHECK(st->confirmed_changes == 0);
  }
}

// ---- The command line
// -------------------------------------------------------------

TEST_CASE("kbo sync / enroll / bundle export: exit codes", "[sync][cli]") {
  TempDir dir;
  const std::string home = dir.File("home");
  auto kbo = [&home](std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home});
    return testing::RunKbo(args, {{"KBO_HOME", "\x01unset"}});
  };

  auto not_enrolled = kbo({"sync"});
  CHECK(not_enrolled.exit_code == 2);
  CHECK(not_enrolled.err.find("kbo enroll --server URL --token TOKEN") !=
        std::string::npos);
  CHECK(not_enrolled.out.empty());

  CHECK(kbo({"enroll", "--server", "ftp://x", "--token", "t"}).exit_code == 2);
  CHECK(kbo({"enroll", "--server", "http://127.0.0.1:1"}).exit_code == 2);

  auto producer = kbo({"producer", "add", "--kind", "group", "--name",
                       "กลุ่มทอผ้าบ้านป่าแป๋", "--district", "5011"});
  REQUIRE(producer.exit_code == 0);

  // Enrolled with a server that is not there.
  {
    auto opened = ClientStore::Open(home);
    REQUIRE(opened.ok());
    Statement st(
        (*opened)->db(),
        "UPDATE device SET server_url = 'http://127.0.0.1:1', "
        "server_public_key = ?1, role = 'trainer', districts = '5011'");
    st.Bind(1, std::string_view(KeyPair::Generate().public_key().ToHex()));
    REQUIRE(st.Run().ok());
  }
  auto down = kbo({"sync"});
  CHECK(down.exit_code == 4);
  CHECK(down.out.empty());
  CHECK(down.err.find("kbo: cannot reach http://127.0.0.1:1") !=
        std::string::npos);
  CHECK(down.err.find("everything is kept") != std::string::npos);
  auto status = kbo({"status", "--json"});
  REQUIRE(status.exit_code == 0);
  Json st = Json::parse(status.out);
  CHECK(st["pending_changes"] == 1);
  CHECK(st["confirmed_changes"] == 0);
  CHECK(st["last_error"].get<std::string>().find("cannot reach") !=
        std::string::npos);

  const std::string bundle = dir.File("to-office.kbo");
  auto exported = kbo({"bundle", "export", bundle});
  CHECK(exported.exit_code == 0);
  CHECK(exported.out.rfind("wrote " + bundle + ": 1 change set (#1, 1 change)",
                           0) == 0);
  CHECK(FileExists(bundle));
  CHECK(kbo({"bundle", "export"}).exit_code == 2);
  // A folder (the USB stick itself): a usage error naming a file in it.
  auto folder = kbo({"bundle", "export", dir.path()});
  CHECK(folder.exit_code == 2);
  CHECK(folder.err.find("is a folder; name the bundle file in it") !=
        std::string::npos);
  // A folder that is not there: not found (exit 3), named, nothing written.
  auto nowhere = kbo({"bundle", "export", dir.File("stick") + "/to-office.kbo"});
  CHECK(nowhere.exit_code == 3);
  CHECK(nowhere.err.find("kbo: no folder " + dir.File("stick") + " to write") !=
        std::string::npos);
  CHECK_FALSE(IsDirectory(dir.File("stick")));
}


TEST_CASE("kbo sync: an answer that does not check out says that nothing of "
          "it was taken and everything is kept",
          "[sync][cli]") {
  TempDir dir;
  const std::string home = dir.File("home");
  auto kbo = [&home](std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home});
    return testing::RunKbo(args, {{"KBO_HOME", "\x01unset"}});
  };
  // Something between the device and the server answering every request
  // 200 with an empty JSON object (a proxy, a bad link's box).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  std::thread answering([listener] {
    for (;;) {
      const int c = ::accept(listener, nullptr, nullptr);
      if (c < 0) return;  // closed: the test is over
      char buf[8192];
      (void)::recv(c, buf, sizeof buf, 0);
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
      (void)::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  });
  REQUIRE(kbo({"init"}).exit_code == 0);
  {
    auto opened = ClientStore::Open(home);
    REQUIRE(opened.ok());
    Statement st((*opened)->db(),
                 "UPDATE device SET server_url = ?1, server_public_key = ?2, "
                 "role = 'trainer', districts = '5011'");
    st.Bind(1, std::string_view(url));
    st.Bind(2, std::string_view(KeyPair::Generate().public_key().ToHex()));
    REQUIRE(st.Run().ok());
  }
  auto r = kbo({"sync"});
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  answering.join();
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != 5);  // not the server refusing
  CHECK(r.err.find("nothing of that answer was taken and everything recorded "
                   "here is kept") != std::string::npos);
}

TEST_CASE("UploadChunkBytes: what the link carries in a third of the read "
          "timeout, at most 10 s, within 64 KiB and 1 MiB",
          "[sync][photos]") {
  // Not measured yet: 64 KiB, about 3 s on EDGE, 22 s on GPRS.
  CHECK(UploadChunkBytes(0, 30000) == size_t{64} << 10);
  // EDGE, 25 kB/s: 10 s of it, in whole 16 KiB.
  CHECK(UploadChunkBytes(25000, 30000) == 245760);
  // A short timeout: a third of it.
  CHECK(UploadChunkBytes(250000, 3000) == 245760);
  CHECK(UploadChunkBytes(250000, 600) == 245760);  // a second at least
  // Slower than the floor, faster than the cap.
  CHECK(UploadChunkBytes(1, 30000) == size_t{64} << 10);
  CHECK(UploadChunkBytes(100000000, 30000) == size_t{1} << 20);
  CHECK(UploadChunkBytes(UINT64_MAX, 30000) == size_t{1} << 20);
}

TEST_CASE("DescribeSummary: a sync cut before its pull says nothing of the "
          "pull, and a small photo in KiB",
          "[sync]") {
  SyncSummary cut;
  cut.pushed_sets = 15;
  cut.pushed_rows = 30000;
  CHECK(DescribeSummary(cut) == "pushed 15 change sets (30000 changes)");
  cut.pull_pages = 1;
  CHECK(DescribeSummary(cut) ==
        "pushed 15 change sets (30000 changes), nothing new to pull");
  SyncSummary photo;
  photo.pull_pages = 1;
  photo.blobs_uploaded = 1;
  photo.blob_bytes = 36 * 1024 + 1;
  CHECK(DescribeSummary(photo) ==
        "nothing to push, nothing new to pull, uploaded 1 photo (37 KiB)");
  // Cut in the middle of a photo: its bytes sent, no photo whole yet (it
  // said "uploaded 0 photos (4.5 MiB)").
  SyncSummary part;
  part.pushed_sets = 1;
  part.pushed_rows = 1;
  part.blob_bytes = 4718592;
  const std::string said = DescribeSummary(part);
  CHECK(said.find("0 photos") == std::string::npos);
  CHECK(said.find("sent 4.5 MiB of a photo not yet whole on the server") != std::string::npos);
}

}  // namespace
}  // namespace kbo::client
