// The protocol's JSON messages (shared/wire.h) pinned by fixed vectors: each
// encoder writes exactly the bytes below (the bytes kbo-server has always
// sent: an older kbo reads them), each parser accepts them, and each vector
// is the example docs/protocol.md prints (compared without whitespace), so
// the page, the server and the client cannot drift apart. Then what the
// parsers refuse: missing fields and wrong types named, bounds, the aliases
// no server ever sent.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "shared/change_set_codec.h"
#include "shared/encoding.h"
#include "shared/protocol.h"
#include "shared/wire.h"

namespace kbo {
namespace {

constexpr const char* kDevice = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
constexpr const char* kServer = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
constexpr const char* kKey =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr const char* kSha =
    "545669552eaa890afd9cffed77d8a5daa78c94966a831d210250d52624cdcd8f";

const std::string kSig(128, 'a');
const std::string kRowsSig(128, 'b');

const std::string kEnrollRequest =
    std::string("{\"clock_ms\":1710036000000,\"device_id\":\"") + kDevice +
    "\",\"public_key\":\"" + kKey +
    "\",\"token\":"
    "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}";

const std::string kEnrollReply =
    std::string("{\"device_id\":\"") + kDevice +
    "\",\"districts\":[\"5011\",\"5009\"],\"protocol\":1,\"role\":\"trainer\","
    "\"server_id\":\"" + kServer + "\",\"server_public_key\":\"" + kKey + "\"}";

const std::string kRefusedMessage =
    "แถว 5 (producer): บทบาท trainer ลบผู้ผลิตไม่ได้";

const std::string kReceipt =
    std::string("{\"receipt\":{\"conflicts\":0,\"device_id\":\"") + kDevice +
    "\",\"first_server_seq\":1201,\"hash\":\"" + kSha +
    "\",\"last_server_seq\":1300,\"received_at\":\"2024-03-10T02:15:00Z\","
    "\"refused\":[{\"entity\":\"producer\",\"index\":4,\"message\":\"" +
    kRefusedMessage +
    "\",\"reason\":\"role\",\"row_id\":"
    "\"7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f\"}],\"rows\":99,\"seq\":7,"
    "\"server_rows\":\"00ff\"},\"rows_signature\":\"" + kRowsSig +
    "\",\"signature\":\"" + kSig + "\"}";

const std::string kConflict =
    "{\"column_name\":\"phone\",\"current_device\":"
    "\"9b2d6c1e-3f4a-4b5c-8d6e-7f8091a2b3c4\",\"current_hlc\":"
    "\"018e2a7b8c0a.00000000.9b2d6c1e-3f4a-4b5c-8d6e-7f8091a2b3c4\","
    "\"current_seq\":2,\"current_time\":\"2024-03-10T02:00:10Z\","
    "\"current_type\":\"text\",\"current_value\":\"0811111111\","
    "\"detected_at\":\"2024-03-10T02:05:00Z\",\"district_code\":\"5011\","
    "\"entity\":\"producer\",\"feed_seq\":4,\"id\":"
    "\"c4d5e6f7-0819-4a2b-8c3d-4e5f60718293\",\"incoming_base\":0,"
    "\"incoming_device\":\"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\","
    "\"incoming_hlc\":"
    "\"018e2a7b8c14.00000000.6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b\","
    "\"incoming_seq\":3,\"incoming_time\":\"2024-03-10T02:00:20Z\","
    "\"incoming_type\":\"text\",\"incoming_value\":\"0822222222\","
    "\"resolution_reason\":null,\"resolution_seq\":null,\"resolved\":false,"
    "\"resolved_at\":null,\"resolved_by\":null,\"resolved_value\":null,"
    "\"row_id\":\"7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f\","
    "\"winner\":\"incoming\"}";

const std::string kConflictsPage =
    "{\"conflicts\":[" + kConflict + "],\"next\":4,\"more\":false}";

const std::string kBlobState =
    std::string("{\"complete\":false,\"received\":1048576,\"sha256\":\"") +
    kSha + "\",\"total\":3145728}";

const std::string kMissing = std::string("{\"missing\":[\"") + kSha + "\"]}";

Signature SigOf(char c) {
  Result<Signature> s = SignatureFromHex(std::string(128, c));
  REQUIRE(s.ok());
  return *s;
}

Uuid U(const char* text) {
  Result<Uuid> u = Uuid::Parse(text);
  REQUIRE(u.ok());
  return *u;
}

PublicKey Key() {
  Result<PublicKey> k = PublicKey::FromHex(kKey);
  REQUIRE(k.ok());
  return *k;
}

wire::ConflictRecord Conflict() {
  wire::ConflictRecord c;
  c.id = "c4d5e6f7-0819-4a2b-8c3d-4e5f60718293";
  c.entity = "producer";
  c.row_id = "7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f";
  c.column_name = "phone";
  c.district_code = "5011";
  c.current_value = "0811111111";
  c.current_type = "text";
  c.current_device = "9b2d6c1e-3f4a-4b5c-8d6e-7f8091a2b3c4";
  c.current_hlc = "018e2a7b8c0a.00000000.9b2d6c1e-3f4a-4b5c-8d6e-7f8091a2b3c4";
  c.current_time = "2024-03-10T02:00:10Z";
  c.current_seq = 2;
  c.incoming_value = "0822222222";
  c.incoming_type = "text";
  c.incoming_device = kDevice;
  c.incoming_hlc = "018e2a7b8c14.00000000.6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
  c.incoming_time = "2024-03-10T02:00:20Z";
  c.incoming_base = 0;
  c.incoming_seq = 3;
  c.winner = "incoming";
  c.detected_at = "2024-03-10T02:05:00Z";
  c.feed_seq = 4;
  return c;
}

// The text without whitespace (also inside strings: both sides alike).
std::string Squeezed(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\t') out += c;
  }
  return out;
}

const std::string& ProtocolDoc() {
  static const std::string doc = [] {
    std::ifstream in(std::string(KBO_SOURCE_DIR) + "/docs/protocol.md");
    std::ostringstream s;
    s << in.rdbuf();
    return Squeezed(s.str());
  }();
  return doc;
}

// The vector is docs/protocol.md's example (the 128-hex signatures are
// written "<128 hex>" there, the Thai message as it is).
void CheckDocumented(std::string vector) {
  for (const std::string* sig : {&kSig, &kRowsSig}) {
    for (size_t at = vector.find(*sig); at != std::string::npos;
         at = vector.find(*sig)) {
      vector.replace(at, sig->size(), "<128hex>");
    }
  }
  INFO(vector);
  CHECK(ProtocolDoc().find(Squeezed(vector)) != std::string::npos);
}

TEST_CASE("Wire: the enrolment request and answer, byte for byte", "[wire]") {
  wire::EnrollRequest req;
  req.token = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  req.device_id = U(kDevice);
  req.public_key = Key();
  req.clock_ms = 1710036000000;
  Result<std::string> text = wire::EncodeEnrollRequest(req);
  REQUIRE(text.ok());
  CHECK(*text == kEnrollRequest);
  CheckDocumented(kEnrollRequest);
  Result<wire::EnrollRequest> back = wire::ParseEnrollRequest(kEnrollRequest);
  REQUIRE(back.ok());
  CHECK(back->token == req.token);
  CHECK(back->device_id == req.device_id);
  CHECK(back->public_key.ToHex() == kKey);
  CHECK(back->clock_ms == 1710036000000);

  wire::EnrollReply reply;
  reply.device_id = U(kDevice);
  reply.role = "trainer";
  reply.districts = {"5011", "5009"};
  reply.server_id = U(kServer);
  reply.server_public_key = Key();
  CHECK(wire::EncodeEnrollReply(reply) == kEnrollReply);
  CheckDocumented(kEnrollReply);
  Result<wire::EnrollReply> parsed = wire::ParseEnrollReply(kEnrollReply);
  REQUIRE(parsed.ok());
  CHECK(parsed->device_id == reply.device_id);
  CHECK(parsed->districts == reply.districts);
  CHECK(parsed->server_id == reply.server_id);
  CHECK(parsed->protocol == protocol::kVersion);
}

TEST_CASE("Wire: the enrolment request refuses what is not one, naming the field",
          "[wire]") {
  const auto refused = [](const std::string& text, const char* field) {
    Result<wire::EnrollRequest> r = wire::ParseEnrollRequest(text);
    INFO(text);
    REQUIRE_FALSE(r.ok());
    // A 400 invalid_argument, as the server has always answered.
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(field));
  };
  refused("{", "not JSON");
  refused("[]", "not a JSON object");
  refused("{\"token\":1}", "\"token\"");
  std::string no_key = kEnrollRequest;
  no_key.replace(no_key.find("public_key"), 10, "public_kez");
  refused(no_key, "\"public_key\"");
  std::string short_token = kEnrollRequest;
  short_token.replace(short_token.find("00112233"), 2, "");
  refused(short_token, "\"token\"");
  std::string nil = kEnrollRequest;
  nil.replace(nil.find(kDevice), 36, "00000000-0000-0000-0000-000000000000");
  refused(nil, "\"device_id\"");
  std::string clock = kEnrollRequest;
  clock.replace(clock.find("1710036000000"), 13, "\"soon\"");
  refused(clock, "\"clock_ms\"");
  // A token that is not UTF-8 is not sent.
  wire::EnrollRequest bad;
  bad.token = "\xff\xfe";
  bad.device_id = U(kDevice);
  bad.public_key = Key();
  CHECK(wire::EncodeEnrollRequest(bad).status().code() == Code::kInvalidArgument);
}

TEST_CASE("Wire: an enrolment naming the identity it leaves carries that one's "
          "signature, and a malformed one is refused",
          "[wire]") {
  KeyPair old_key = KeyPair::Generate();
  KeyPair new_key = KeyPair::Generate();
  wire::EnrollRequest req;
  req.token = std::string(64, 'a');
  req.device_id = U(kDevice);
  req.public_key = new_key.public_key();
  const Uuid old_id = Uuid::Random();
  req.predecessor = wire::EnrollPredecessor{
      old_id, old_key.Sign(wire::kSuccessorDomain,
                           wire::SuccessorMessage(old_id, req.device_id, req.public_key))};
  Result<std::string> text = wire::EncodeEnrollRequest(req);
  REQUIRE(text.ok());
  Result<wire::EnrollRequest> back = wire::ParseEnrollRequest(*text);
  REQUIRE(back.ok());
  REQUIRE(back->predecessor.has_value());
  CHECK(back->predecessor->device_id == old_id);
  CHECK(Verify(old_key.public_key(), wire::kSuccessorDomain,
               wire::SuccessorMessage(old_id, back->device_id, back->public_key),
               back->predecessor->signature));
  // Not the new key's, nor over another device.
  CHECK_FALSE(Verify(new_key.public_key(), wire::kSuccessorDomain,
                     wire::SuccessorMessage(old_id, back->device_id, back->public_key),
                     back->predecessor->signature));
  // Without one: none.
  CHECK_FALSE(wire::ParseEnrollRequest(kEnrollRequest)->predecessor.has_value());
  for (const char* bad : {R"("predecessor":7)", R"("predecessor":{"device_id":"x","signature":"00"})",
                          R"("predecessor":{"device_id":"00000000-0000-0000-0000-000000000000","signature":"00"})"}) {
    std::string t = kEnrollRequest;
    t.insert(1, std::string(bad) + ",");
    Result<wire::EnrollRequest> r = wire::ParseEnrollRequest(t);
    INFO(t);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("\"predecessor\""));
  }
}

TEST_CASE("Wire: the enrolment answer refuses forms no server sends", "[wire]") {
  const auto refused = [](std::string text, const char* field) {
    Result<wire::EnrollReply> r = wire::ParseEnrollReply(text);
    INFO(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK_THAT(r.status().message(), Catch::Contains(field));
  };
  const auto with = [](const std::string& from, const std::string& to) {
    std::string s = kEnrollReply;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  // districts as one string (kbo once read it; no server sent it).
  refused(with("[\"5011\",\"5009\"]", "\"5011,5009\""), "\"districts\"");
  refused(with("[\"5011\",\"5009\"]", "[]"), "\"districts\"");
  refused(with("[\"5011\",\"5009\"]", "[5011]"), "\"districts\"");
  refused(with("\"role\":\"trainer\"", "\"role\":\"\""), "\"role\"");
  refused(with("\"server_id\"", "\"server\""), "\"server_id\"");
  refused(with(kKey, "zz"), "\"server_public_key\"");
  refused(with("\"protocol\":1", "\"protocol\":\"1\""), "\"protocol\"");
  std::string many = "[";
  for (size_t i = 0; i <= wire::kMaxDistricts; ++i) many += "\"5011\",";
  many.back() = ']';
  refused(with("[\"5011\",\"5009\"]", many), "more than 1000");
}

TEST_CASE("Wire: the push receipt, byte for byte, with its refused rows and the server's rows",
          "[wire]") {
  protocol::Receipt r;
  r.device_id = kDevice;
  r.seq = 7;
  r.hash = kSha;
  r.first_server_seq = 1201;
  r.last_server_seq = 1300;
  r.rows = 99;
  r.conflicts = 0;
  r.received_at = "2024-03-10T02:15:00Z";
  r.refused.push_back({4, "producer", "7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f",
                       "role", kRefusedMessage});
  r.server_rows = std::string("\x00\xff", 2);
  wire::ReceiptAnswer a;
  a.receipt = r;
  a.signature = SigOf('a');
  a.rows_signature = SigOf('b');
  CHECK(wire::EncodeReceiptAnswer(a) == kReceipt);
  CheckDocumented(kReceipt);

  Result<wire::ReceiptAnswer> back = wire::ParseReceiptAnswer(kReceipt);
  REQUIRE(back.ok());
  CHECK(protocol::ReceiptMessage(back->receipt) == protocol::ReceiptMessage(r));
  CHECK(protocol::ReceiptRowsMessage(back->receipt) ==
        protocol::ReceiptRowsMessage(r));
  CHECK(back->signature == a.signature);
  REQUIRE(back->rows_signature);
  CHECK(*back->rows_signature == *a.rows_signature);
  REQUIRE(back->receipt.refused.size() == 1);
  CHECK(back->receipt.refused[0].message == kRefusedMessage);  // Thai intact

  SECTION("without refusals or rows: neither key is written") {
    wire::ReceiptAnswer plain = a;
    plain.receipt.refused.clear();
    plain.receipt.server_rows.clear();
    plain.rows_signature.reset();
    const std::string text = wire::EncodeReceiptAnswer(plain);
    CHECK(text.find("refused") == std::string::npos);
    CHECK(text.find("server_rows") == std::string::npos);
    CHECK(text.find("rows_signature") == std::string::npos);
    Result<wire::ReceiptAnswer> p = wire::ParseReceiptAnswer(text);
    REQUIRE(p.ok());
    CHECK(p->receipt.refused.empty());
    CHECK_FALSE(p->rows_signature);
  }
  SECTION("SignReceipt signs both messages with the server key") {
    const KeyPair key = KeyPair::Generate();
    wire::ReceiptAnswer signed_answer = wire::SignReceipt(key, r);
    CHECK(Verify(key.public_key(), kReceiptDomain, protocol::ReceiptMessage(r),
                 signed_answer.signature));
    REQUIRE(signed_answer.rows_signature);
    CHECK(Verify(key.public_key(), kReceiptDomain,
                 protocol::ReceiptRowsMessage(r), *signed_answer.rows_signature));
    protocol::Receipt no_rows = r;
    no_rows.server_rows.clear();
    CHECK_FALSE(wire::SignReceipt(key, no_rows).rows_signature);
  }
}

TEST_CASE("Wire: a receipt that is not one is refused, naming the field",
          "[wire]") {
  const auto refused = [](const std::string& text, const std::string& field) {
    Result<wire::ReceiptAnswer> r = wire::ParseReceiptAnswer(text);
    INFO(text.substr(0, 300));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK_THAT(r.status().message(), Catch::Contains(field));
  };
  const auto with = [](const std::string& from, const std::string& to) {
    std::string s = kReceipt;
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  refused("<html>", "not JSON");
  refused("[1]", "not a JSON object");
  refused(with("\"seq\":7", "\"seq\":\"7\""), "\"seq\"");
  refused(with("\"seq\":7", "\"seq\":-7"), "\"seq\"");
  refused(with("\"seq\":7", "\"seq\":7.5"), "\"seq\"");
  refused(with("\"rows\":99,", ""), "\"rows\"");
  refused(with("\"index\":4", "\"index\":\"4\""), "refused row 0's \"index\"");
  refused(with("\"reason\":\"role\"", "\"reason\":null"), "\"reason\"");
  refused(with("\"server_rows\":\"00ff\"", "\"server_rows\":\"0g\""),
          "\"server_rows\"");
  refused(with(",\"rows_signature\":\"" + kRowsSig + "\"", ""),
          "\"rows_signature\"");
  refused(with("\"signature\":\"" + kSig, "\"signature\":\"" + kSig + "aa"),
          "\"signature\"");
  refused(with("\"device_id\":\"" + std::string(kDevice),
               "\"device_id\":\"" + std::string(300, 'x')),
          "longer than");
  refused(with("\"message\":\"" + kRefusedMessage,
               "\"message\":\"" + std::string(wire::kMaxMessageText + 1, 'm')),
          "longer than");
  // The receipt's fields at the top (kbo once read that; no server sent it).
  refused(std::string("{\"device_id\":\"") + kDevice +
              "\",\"seq\":7,\"signature\":\"" + kSig + "\"}",
          "\"receipt\"");
  // Refused rows beyond the cap.
  std::string many;
  for (size_t i = 0; i < wire::kMaxRefusedRows; ++i) many += "{},";
  refused(with("\"refused\":[", "\"refused\":[" + many), "more than");
  // Deep nesting and bytes that are not UTF-8 never throw.
  refused(std::string(100000, '['), "not JSON");
  refused("{\"receipt\":\"\xff\xfe\"}", "not JSON");
}

TEST_CASE("Wire: the pull page body is the server's rows, nobody's change set",
          "[wire]") {
  RowChange row;
  row.entity = "producer";
  row.row_id = U("7d0e8f21-5a6b-4c7d-9e8f-0a1b2c3d4e5f");
  row.hlc.wall_ms = 1710036000000;
  row.hlc.device = U(kDevice);
  row.cells.push_back({"name", Value::Text("นางสาวมะลิ ใจดี"), 3});
  const std::string page = wire::EncodePullPage(1, {row});
  Result<ChangeSet> back = wire::DecodePullPage(page, DecodeLimits());
  REQUIRE(back.ok());
  CHECK(back->device.IsNil());
  CHECK(back->seq == 0);
  REQUIRE(back->rows.size() == 1);
  CHECK(back->rows[0].cells[0].value == Value::Text("นางสาวมะลิ ใจดี"));
  ChangeSet device_set;
  device_set.schema_version = 1;
  device_set.device = U(kDevice);
  device_set.seq = 0;
  CHECK(wire::DecodePullPage(EncodeChangeSet(device_set), DecodeLimits())
            .status()
            .code() == Code::kCorruption);
  device_set.device = Uuid();
  device_set.seq = 3;
  CHECK(wire::DecodePullPage(EncodeChangeSet(device_set), DecodeLimits())
            .status()
            .code() == Code::kCorruption);
  CHECK_FALSE(wire::DecodePullPage("not a change set", DecodeLimits()).ok());
}

TEST_CASE("Wire: the conflict record and its feed page, byte for byte", "[wire]") {
  CHECK(wire::EncodeConflict(Conflict()) == kConflict);
  wire::ConflictsPage page;
  page.conflicts.push_back(Conflict());
  page.next = 4;
  CHECK(wire::EncodeConflictsPage(page) == kConflictsPage);
  CheckDocumented(kConflict);

  Result<wire::ConflictsPage> back = wire::ParseConflictsPage(kConflictsPage);
  REQUIRE(back.ok());
  CHECK(back->next == 4);
  CHECK_FALSE(back->more);
  REQUIRE(back->conflicts.size() == 1);
  CHECK(wire::EncodeConflict(back->conflicts[0]) == kConflict);

  SECTION("resolved: who, why and the value, Thai intact") {
    wire::ConflictRecord c = Conflict();
    c.resolved = true;
    c.resolved_at = "2024-03-11T03:00:00Z";
    c.resolved_value = "0833333333";
    c.resolution_seq = 9;
    c.resolved_by = "user:somchai";
    c.resolution_reason = "โทรถามเจ้าของแล้ว";
    c.current_value.reset();  // a null value
    c.current_type = "null";
    Result<wire::ConflictRecord> again =
        wire::ParseConflict(wire::EncodeConflict(c));
    REQUIRE(again.ok());
    CHECK(again->resolution_reason == c.resolution_reason);
    CHECK(again->resolution_seq == 9);
    CHECK_FALSE(again->current_value.has_value());
    CHECK(wire::EncodeConflict(*again) == wire::EncodeConflict(c));
  }
  SECTION("an older server's record, without resolved_by and resolution_reason") {
    std::string old = kConflict;
    old.replace(old.find("\"resolution_reason\":null,"), 25, "");
    old.replace(old.find("\"resolved_by\":null,"), 19, "");
    Result<wire::ConflictRecord> r = wire::ParseConflict(old);
    REQUIRE(r.ok());
    CHECK_FALSE(r->resolved_by.has_value());
  }
  SECTION("text that is not UTF-8 is replaced, never thrown") {
    wire::ConflictRecord c = Conflict();
    c.current_value = std::string("\xff", 1);
    CHECK_THAT(wire::EncodeConflict(c), Catch::Contains("\xef\xbf\xbd"));
  }
}

TEST_CASE("Wire: a conflict page that is not one is refused, naming the field",
          "[wire]") {
  const auto refused = [](const std::string& text, const std::string& field) {
    Result<wire::ConflictsPage> r = wire::ParseConflictsPage(text);
    INFO(text.substr(0, 300));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    CHECK_THAT(r.status().message(), Catch::Contains(field));
  };
  const auto with = [](const std::string& from, const std::string& to) {
    std::string s = kConflictsPage;
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
    return s;
  };
  // The names kbo once also read, which no server ever sent.
  refused("[" + kConflict + "]", "not a JSON object");
  refused(with("\"column_name\"", "\"column\""), "record 0's \"column_name\"");
  refused(with("\"feed_seq\"", "\"server_seq\""), "\"feed_seq\"");
  refused(with("\"next\"", "\"next_cursor\""), "\"next\"");
  refused(with("\"more\":false", "\"more\":0"), "\"more\"");
  refused(with("\"current_value\":\"0811111111\"", "\"current_value\":811111111"),
          "\"current_value\"");
  refused(with("\"resolution_seq\":null", "\"resolution_seq\":\"9\""),
          "\"resolution_seq\"");
  refused(with("\"current_seq\":2", "\"current_seq\":null"), "\"current_seq\"");
  refused(with("\"current_value\":\"0811111111\"",
               "\"current_value\":\"" + std::string(wire::kMaxValueText + 1, 'v') +
                   "\""),
          "longer than");
  std::string many = "[";
  for (size_t i = 0; i <= wire::kMaxConflictsPerPage; ++i) many += "{},";
  many.back() = ']';
  refused("{\"conflicts\":" + many + ",\"next\":1,\"more\":false}", "more than");
}

TEST_CASE("Wire: blob state and the missing list, byte for byte", "[wire]") {
  wire::BlobState s;
  s.sha256 = kSha;
  s.received = 1048576;
  s.total = 3145728;
  CHECK(wire::EncodeBlobState(s) == kBlobState);
  CheckDocumented(kBlobState);
  Result<wire::BlobState> back = wire::ParseBlobState(kBlobState);
  REQUIRE(back.ok());
  CHECK(back->received == 1048576);
  CHECK(back->total == 3145728);
  CHECK_FALSE(back->complete);
  CHECK(wire::ParseBlobState("{\"complete\":true,\"received\":5,\"sha256\":\"x\"}")
            .status()
            .message()
            .find("\"total\"") != std::string::npos);
  CHECK(wire::ParseBlobState(
            "{\"complete\":1,\"received\":5,\"sha256\":\"x\",\"total\":5}")
            .status()
            .message()
            .find("\"complete\"") != std::string::npos);
  CHECK(wire::ParseBlobState(
            "{\"complete\":false,\"received\":6,\"sha256\":\"x\",\"total\":5}")
            .status()
            .code() == Code::kCorruption);

  CHECK(wire::EncodeMissingBlobs({kSha}) == kMissing);
  CheckDocumented(kMissing);
  Result<std::vector<std::string>> missing = wire::ParseMissingBlobs(kMissing);
  REQUIRE(missing.ok());
  CHECK(*missing == std::vector<std::string>{kSha});
  CHECK(wire::ParseMissingBlobs("{\"missing\":[\"../../etc/passwd\"]}")
            .status()
            .code() == Code::kCorruption);
  CHECK(wire::ParseMissingBlobs(std::string("{\"missing\":[\"") +
                                std::string(64, 'A') + "\"]}")
            .status()
            .code() == Code::kCorruption);
  CHECK(wire::ParseMissingBlobs("{\"missing\":\"x\"}").status().message().find(
            "\"missing\"") != std::string::npos);
}

const std::string kOriginalSha =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const std::string kOriginalNotice =
    std::string("{\"bytes\":3145728,\"mime\":\"image/jpeg\",\"photo_id\":"
                "\"1b4e28ba-2fa1-41d2-883f-0016d3cca427\",\"sha256\":\"") +
    kOriginalSha + "\",\"upload_sha256\":\"" + kSha + "\"}";
const std::string kRequested =
    "{\"requested\":[\"1b4e28ba-2fa1-41d2-883f-0016d3cca427\"]}";
const std::string kDeclined =
    "{\"declined\":\"no_original\",\"photo_id\":\"1b4e28ba-2fa1-41d2-883f-0016d3cca427\"}";

TEST_CASE("Wire: an original's notice and the list of originals asked for, byte for byte",
          "[wire][originals]") {
  wire::OriginalNotice n;
  n.photo_id = U("1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  n.upload_sha256 = kSha;
  n.sha256 = kOriginalSha;
  n.bytes = 3145728;
  n.mime = "image/jpeg";
  CHECK(wire::EncodeOriginalNotice(n) == kOriginalNotice);
  CheckDocumented(kOriginalNotice);
  Result<wire::OriginalNotice> back = wire::ParseOriginalNotice(kOriginalNotice);
  REQUIRE(back.ok());
  CHECK(back->photo_id == n.photo_id);
  CHECK(back->upload_sha256 == kSha);
  CHECK(back->sha256 == kOriginalSha);
  CHECK(back->bytes == 3145728);
  CHECK(back->mime == "image/jpeg");
  const auto refused = [](const std::string& from, const std::string& to,
                          const char* field) {
    std::string text = kOriginalNotice;
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    Result<wire::OriginalNotice> r = wire::ParseOriginalNotice(text);
    INFO(text);
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find(std::string("\"") + field + "\"") !=
          std::string::npos);
  };
  refused("3145728", "0", "bytes");
  refused("3145728", "2147483649", "bytes");
  refused("3145728", "-1", "bytes");
  refused("\"image/jpeg\"", "\"image/gif\"", "mime");
  refused("1b4e28ba-2fa1-41d2-883f-0016d3cca427", "00000000-0000-0000-0000-000000000000",
          "photo_id");
  refused(kOriginalSha, std::string(64, 'A'), "sha256");
  refused(kSha, std::string(kSha).substr(0, 63), "upload_sha256");
  CHECK(wire::ParseOriginalNotice("[]").status().code() == Code::kInvalidArgument);

  wire::OriginalNotice no;
  no.photo_id = n.photo_id;
  no.declined = "no_original";
  CHECK(wire::EncodeOriginalNotice(no) == kDeclined);
  CheckDocumented(kDeclined);
  Result<wire::OriginalNotice> declined = wire::ParseOriginalNotice(kDeclined);
  REQUIRE(declined.ok());
  CHECK(declined->declined == "no_original");
  CHECK(wire::ParseOriginalNotice(
            "{\"declined\":\"bored\",\"photo_id\":\"1b4e28ba-2fa1-41d2-883f-0016d3cca427\"}")
            .status()
            .message()
            .find("\"declined\"") != std::string::npos);
  // A decline names no file.
  std::string both = kOriginalNotice;
  both.insert(1, "\"declined\":\"missing\",");
  CHECK(wire::ParseOriginalNotice(both).status().code() == Code::kInvalidArgument);

  CHECK(wire::EncodeOriginalRequests({n.photo_id}) == kRequested);
  CheckDocumented(kRequested);
  Result<std::vector<Uuid>> asked = wire::ParseOriginalRequests(kRequested);
  REQUIRE(asked.ok());
  CHECK(*asked == std::vector<Uuid>{n.photo_id});
  CHECK(wire::ParseOriginalRequests("{\"requested\":[\"../x\"]}").status().code() ==
        Code::kCorruption);
  CHECK(wire::ParseOriginalRequests(std::string("{\"requested\":[\"") + kSha + "\"]}")
            .status()
            .code() == Code::kCorruption);
  CHECK(wire::ParseOriginalRequests("{\"missing\":[]}").status().message().find(
            "\"requested\"") != std::string::npos);
}

TEST_CASE("Wire: several thumbnails in one request and answer, byte for byte",
          "[wire][thumbs]") {
  const std::string request = std::string("{\"sha256\":[\"") + kSha + "\",\"" +
                              kOriginalSha + "\"]}";
  CHECK(wire::EncodeThumbsRequest({kSha, kOriginalSha}) == request);
  CheckDocumented(request);
  Result<std::vector<std::string>> asked = wire::ParseThumbsRequest(request);
  REQUIRE(asked.ok());
  CHECK(*asked == std::vector<std::string>{kSha, kOriginalSha});
  const auto refused = [](const std::string& text) {
    INFO(text);
    Result<std::vector<std::string>> r = wire::ParseThumbsRequest(text);
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("\"sha256\"") != std::string::npos);
  };
  refused("{}");
  refused("{\"sha256\":[]}");
  refused("{\"sha256\":\"" + std::string(kSha) + "\"}");
  refused("{\"sha256\":[\"" + std::string(64, 'A') + "\"]}");
  refused("{\"sha256\":[\"../../etc/passwd\"]}");
  refused("{\"sha256\":[7]}");
  refused(std::string("{\"sha256\":[\"") + kSha + "\",\"" + kSha + "\"]}");  // twice
  std::vector<std::string> many;
  for (size_t i = 0; i <= protocol::kThumbsPerRequest; ++i) {
    many.push_back(std::string(62, '0') + "0123456789abcdef"[i / 16] +
                   "0123456789abcdef"[i % 16]);
  }
  refused(wire::EncodeThumbsRequest(many));
  many.pop_back();
  CHECK(wire::ParseThumbsRequest(wire::EncodeThumbsRequest(many)).ok());
  CHECK(wire::ParseThumbsRequest("not json").status().code() == Code::kInvalidArgument);

  // The answer: a 4-byte JPEG, then "none".
  wire::ThumbAnswer thumb;
  thumb.state = wire::ThumbState::kThumb;
  thumb.jpeg = std::string("\xFF\xD8\xFF\xD9", 4);
  wire::ThumbAnswer none;
  none.state = wire::ThumbState::kNone;
  const std::string answer = wire::EncodeThumbs({thumb, none});
  CHECK(HexEncode(answer) == "4b424f5448554d42310004000000ffd8ffd901");
  CHECK(ProtocolDoc().find(HexEncode(answer)) != std::string::npos);
  Result<std::vector<wire::ThumbAnswer>> back = wire::ParseThumbs(answer, 2);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].state == wire::ThumbState::kThumb);
  CHECK((*back)[0].jpeg == thumb.jpeg);
  CHECK((*back)[1].state == wire::ThumbState::kNone);
  CHECK((*back)[1].jpeg.empty());
  // Hostile answers: refused whole, never read past their end.
  const auto corrupt = [](const std::string& bytes, size_t count) {
    INFO(HexEncode(bytes));
    CHECK(wire::ParseThumbs(bytes, count).status().code() == Code::kCorruption);
  };
  corrupt(answer, 3);                           // fewer entries than asked
  corrupt(answer, 1);                           // bytes left over
  corrupt(answer.substr(0, answer.size() - 2), 2);  // cut inside the JPEG
  corrupt("KBOTHUMB2" + answer.substr(9), 2);   // another magic
  corrupt(std::string("KBOTHUMB1\x05", 10), 1);  // an unknown state
  corrupt(std::string("KBOTHUMB1\x00\x01\x00\x08\x00", 14), 1);  // 512 KiB + 1
  corrupt(std::string("KBOTHUMB1\x00\xff\xff\xff\xff", 14), 1);  // 4 GiB
  corrupt("", 0);
  CHECK(wire::ParseThumbs("KBOTHUMB1", 0).ok());
}

}  // namespace
}  // namespace kbo
