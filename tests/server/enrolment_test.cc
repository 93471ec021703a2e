#include "server/enrolment.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "shared/fs.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

EnrollRequest RequestFor(const TestDevice& d, const std::string& token) {
  EnrollRequest r;
  r.token = token;
  r.device_id = d.id;
  r.public_key = d.key.public_key();
  return r;
}

TEST_CASE(
    "Enrolment: a token enrols one device with its role and districts, "
    "and the reply pins the server key",
    "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token =
      enrolment.CreateToken("trainer", "5011, 5009", Enrolment::kDefaultTtlMs);
  REQUIRE(token.ok());
  CHECK(token->size() == 64);
  // Only the token's hash is stored.
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token WHERE token_hash = '" +
                *token + "'") == 0);

  TestDevice d;
  EnrollRequest req = RequestFor(d, *token);
  req.clock_ms = kT0 - 90 * 1000;
  auto reply = enrolment.Enroll(req);
  REQUIRE(reply.ok());
  CHECK(reply->device_id == d.id);
  CHECK(reply->role == "trainer");
  CHECK(reply->scope.ToString() == "5009,5011");
  CHECK(reply->server_id == f.store->server_id());
  CHECK(reply->server_public_key == f.store->key().public_key());

  const auto j = nlohmann::json::parse(EnrollReplyJson(*reply));
  CHECK(j["districts"] == nlohmann::json::array({"5009", "5011"}));
  CHECK(j["protocol"] == 1);
  CHECK(j["server_public_key"] == f.store->key().public_key().ToHex());

  const DeviceRecord rec = f.Record(d.id);
  CHECK(rec.role == "trainer");
  CHECK(rec.enrolled_at == "2024-03-10T02:00:00Z");
  CHECK(*rec.clock_offset_ms == -90 * 1000);
  CHECK(rec.scope.Contains("5011"));
  CHECK_FALSE(rec.scope.Contains("5013"));
}

TEST_CASE(
    "Enrolment: a used token is refused for another device, and answers "
    "the same device again",
    "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token =
      enrolment.CreateToken("field_officer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(token.ok());
  TestDevice d, other;
  auto first = enrolment.Enroll(RequestFor(d, *token));
  REQUIRE(first.ok());
  auto again = enrolment.Enroll(RequestFor(d, *token));  // lost answer
  REQUIRE(again.ok());
  CHECK(EnrollReplyJson(*again) == EnrollReplyJson(*first));
  auto used = enrolment.Enroll(RequestFor(other, *token));
  CHECK(used.status().code() == Code::kUnauthenticated);
  CHECK_THAT(used.status().message(), Catch::Contains("already been used"));
  CHECK(f.Count("SELECT COUNT(*) FROM device") == 1);
}

TEST_CASE("Enrolment: the same device enrolled again with a new token takes "
          "its role, districts and label, audited",
          "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto first = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs,
                                     "ครูสมศรี");
  REQUIRE(first.ok());
  TestDevice d;
  REQUIRE(enrolment.Enroll(RequestFor(d, *first)).ok());
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log") == 0);
  auto second = enrolment.CreateToken("trainer", "5011,5009",
                                      Enrolment::kDefaultTtlMs, "ครูสมศรี ฝาง");
  REQUIRE(second.ok());
  REQUIRE(enrolment.Enroll(RequestFor(d, *second)).ok());
  const DeviceRecord rec = f.Record(d.id);
  CHECK(rec.scope.ToString() == "5009,5011");
  CHECK(rec.label == "ครูสมศรี ฝาง");
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'device_reenrol' "
                "AND subject = '" + d.id.ToString() + "' AND detail LIKE "
                "'%districts 5009,5011 (were 5011)%'") == 1);
}

TEST_CASE("Enrolment: an expired or unknown token is refused",
          "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token = enrolment.CreateToken("trainer", "5011", 3600 * 1000);
  REQUIRE(token.ok());
  f.wall.Advance(3600 * 1000);
  TestDevice d;
  auto expired = enrolment.Enroll(RequestFor(d, *token));
  CHECK(expired.status().code() == Code::kUnauthenticated);
  CHECK_THAT(expired.status().message(), Catch::Contains("expired"));
  auto unknown = enrolment.Enroll(RequestFor(d, std::string(64, 'a')));
  CHECK(unknown.status().code() == Code::kUnauthenticated);
  CHECK(f.Count("SELECT COUNT(*) FROM device") == 0);
}

TEST_CASE(
    "Enrolment: a wrong role, an unknown district or a bad lifetime makes "
    "no token",
    "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  CHECK(enrolment.CreateToken("admin", "5011", 1000).status().code() ==
        Code::kInvalidArgument);
  CHECK(enrolment.CreateToken("trainer", "9999", 1000).status().code() ==
        Code::kInvalidArgument);
  CHECK(enrolment.CreateToken("trainer", "", 1000).status().code() ==
        Code::kInvalidArgument);
  CHECK(enrolment.CreateToken("trainer", "5011,", 1000).status().code() ==
        Code::kInvalidArgument);
  CHECK(enrolment.CreateToken("central_office", "all", 0).status().code() ==
        Code::kInvalidArgument);
  CHECK(f.Count("SELECT COUNT(*) FROM enrol_token") == 0);
  CHECK(enrolment.CreateToken("central_office", "all", 1000).ok());

  CHECK(*ParseTtl("24h") == 24LL * 3600 * 1000);
  CHECK(*ParseTtl("90s") == 90 * 1000);
  CHECK(*ParseTtl("7d") == 7LL * 86400 * 1000);
  CHECK_FALSE(ParseTtl("31d").ok());
  CHECK_FALSE(ParseTtl("0h").ok());
  CHECK_FALSE(ParseTtl("h").ok());
  CHECK_FALSE(ParseTtl("12").ok());
  CHECK_FALSE(ParseTtl("-1h").ok());
}

TEST_CASE(
    "Enrolment: a device id enrolled with another key is refused, the same "
    "key may take a new token",
    "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  TestDevice d;
  f.Enroll(d, "5011");
  TestDevice thief;
  thief.id = d.id;
  auto token =
      enrolment.CreateToken("central_office", "all", Enrolment::kDefaultTtlMs);
  REQUIRE(token.ok());
  auto stolen = enrolment.Enroll(RequestFor(thief, *token));
  CHECK(stolen.status().code() == Code::kAlreadyExists);
  CHECK(stolen.status().reason() == "device_exists");
  CHECK(f.Record(d.id).role == "trainer");

  auto moved = enrolment.Enroll(RequestFor(d, *token));
  REQUIRE(moved.ok());
  CHECK(f.Record(d.id).role == "central_office");
  CHECK(f.Record(d.id).scope.all);
}

TEST_CASE("Enrolment: the server's own id is refused, the token kept for the device that "
          "asks with an id of its own",
          "[server][enrol][attack]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token = enrolment.CreateToken("field_officer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(token.ok());
  // Its writes would read as the office's, and its sets collide with them.
  TestDevice office;
  office.id = f.store->server_id();
  auto as_office = enrolment.Enroll(RequestFor(office, *token));
  REQUIRE_FALSE(as_office.ok());
  CHECK(as_office.status().code() == Code::kAlreadyExists);
  CHECK(as_office.status().reason() == "device_exists");
  auto listed = LoadDevice(f.store->db(), f.store->server_id());
  REQUIRE(listed.ok());
  CHECK_FALSE(listed->has_value());
  TestDevice honest;
  CHECK(enrolment.Enroll(RequestFor(honest, *token)).ok());
}

TEST_CASE("Enrolment: a revocation outlives a server.db restored from an older "
          "backup", "[server][enrol][restore]") {
  ServerFixture f;
  TestDevice lost, kept;
  f.Enroll(lost, "5011");
  f.Enroll(kept, "5011");
  f.wall.Advance(1000);
  REQUIRE(Enrolment(*f.store).Revoke(lost.id.ToString()).ok());
  const std::string revoked_at = f.Record(lost.id).revoked_at;
  REQUIRE_FALSE(revoked_at.empty());
  Result<std::string> noted =
      ReadFileBounded(f.store->paths().revocations, size_t{1} << 20);
  REQUIRE(noted.ok());
  CHECK(*noted == lost.id.ToString() + " " + revoked_at + "\n");
  // The database as the backup had it: the device active.
  REQUIRE(f.store->db()
              .Exec("UPDATE device SET revoked_at = NULL WHERE device_id = '" +
                    lost.id.ToString() + "'")
              .ok());
  const std::string data = f.tmp.File("data");
  f.store.reset();
  auto reopened = ServerStore::Open(data, &f.wall, kbo::testing::TestDbUrlFor(data));
  REQUIRE(reopened.ok());
  f.store = std::move(reopened).value();
  CHECK(f.Record(lost.id).revoked_at == revoked_at);
  CHECK_FALSE(f.Record(kept.id).revoked());
  // A revocation the file lacks (made before it existed) is written at the
  // next start, so a later restore keeps it too.
  REQUIRE(std::remove(f.store->paths().revocations.c_str()) == 0);
  f.store.reset();
  auto again = ServerStore::Open(data, &f.wall, kbo::testing::TestDbUrlFor(data));
  REQUIRE(again.ok());
  f.store = std::move(again).value();
  Result<std::string> backfilled =
      ReadFileBounded(f.store->paths().revocations, size_t{1} << 20);
  REQUIRE(backfilled.ok());
  CHECK(*backfilled == lost.id.ToString() + " " + revoked_at + "\n");
}

TEST_CASE("Enrolment: a token's use outlives a server.db restored from a backup older "
          "than it: it enrols no other device",
          "[server][enrol][restore]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  auto token = enrolment.CreateToken("field_officer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(token.ok());
  TestDevice first, thief;
  REQUIRE(enrolment.Enroll(RequestFor(first, *token)).ok());
  // The database as a backup taken before the use had it: the token unused,
  // the device unknown (a token printed, or sent without TLS, was seen).
  REQUIRE(f.store->db().Exec("UPDATE enrol_token SET used_at = NULL, used_by = NULL").ok());
  REQUIRE(f.store->db()
              .Exec("DELETE FROM device WHERE device_id = '" + first.id.ToString() + "'")
              .ok());
  auto listed = enrolment.ListTokens();
  REQUIRE(listed.ok());
  CHECK(listed->empty());
  auto stolen = enrolment.Enroll(RequestFor(thief, *token));
  CHECK(stolen.status().code() == Code::kUnauthenticated);
  CHECK_THAT(stolen.status().message(), Catch::Contains("already been used"));
  CHECK(f.Count("SELECT COUNT(*) FROM device WHERE device_id = '" + thief.id.ToString() +
                "'") == 0);
  // A token not used before the backup enrols as ever; the file names each
  // use once.
  auto other = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(other.ok());
  REQUIRE(enrolment.Enroll(RequestFor(thief, *other)).ok());
  REQUIRE(enrolment.Enroll(RequestFor(thief, *other)).ok());  // the answer lost
  Result<std::string> noted = ReadFileBounded(f.store->paths().used_tokens, size_t{1} << 20);
  REQUIRE(noted.ok());
  CHECK(std::count(noted->begin(), noted->end(), '\n') == 2);
  CHECK_THAT(*noted, Catch::Contains(first.id.ToString()) &&
                         Catch::Contains(thief.id.ToString()));
  // The use is written before the commit: a commit that then failed leaves
  // it noted for a device the database does not hold. That device, with its
  // key, asks again and is enrolled; its id with another key is not.
  auto third = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(third.ok());
  TestDevice asked, posing;
  posing.id = asked.id;
  const std::string hash = HexEncode(Sha256(*third));
  REQUIRE(f.store->NoteTokenUse(hash, asked.id.ToString(), asked.key.public_key().ToHex(),
                                "2024-03-10T02:00:00Z")
              .ok());
  auto imposter = enrolment.Enroll(RequestFor(posing, *third));
  CHECK(imposter.status().code() == Code::kUnauthenticated);
  auto again = enrolment.Enroll(RequestFor(asked, *third));
  INFO(again.status().ToString());
  CHECK(again.ok());

  // A file edited by hand or cut by a crash: lines that name nothing are
  // passed over, a line cut after the device still marks its token used,
  // and other tokens enrol as ever.
  auto fourth = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  auto fifth = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE((fourth.ok() && fifth.ok()));
  {
    std::ofstream out(f.store->paths().used_tokens, std::ios::app | std::ios::binary);
    out << "\n\r\n   \n" << std::string(200, '\xff') << "\n"
        << HexEncode(Sha256(*fourth)) << " " << Uuid::Random().ToString();  // cut short
  }
  TestDevice late, fresh;
  CHECK(enrolment.Enroll(RequestFor(late, *fourth)).status().code() == Code::kUnauthenticated);
  CHECK(enrolment.Enroll(RequestFor(fresh, *fifth)).ok());
  // An unreadable file (a folder in its place) refuses, with nothing stored.
  auto sixth = enrolment.CreateToken("trainer", "5011", Enrolment::kDefaultTtlMs);
  REQUIRE(sixth.ok());
  REQUIRE(std::remove(f.store->paths().used_tokens.c_str()) == 0);
  std::filesystem::create_directory(f.store->paths().used_tokens);
  TestDevice blocked;
  auto refused = enrolment.Enroll(RequestFor(blocked, *sixth));
  CHECK_FALSE(refused.ok());
  CHECK(f.Count("SELECT COUNT(*) FROM device WHERE device_id = '" + blocked.id.ToString() +
                "'") == 0);
}

TEST_CASE("Enrolment: a damaged, hand-edited or oversized revoked-devices file",
          "[server][enrol][restore]") {
  ServerFixture f;
  TestDevice a, b, c, d;
  for (TestDevice* t : {&a, &b, &c, &d}) f.Enroll(*t, "5011");
  f.wall.Advance(1000);
  REQUIRE(Enrolment(*f.store).Revoke(a.id.ToString()).ok());
  const std::string revoked_at = f.Record(a.id).revoked_at;
  const std::string path = f.store->paths().revocations;
  const std::string data = f.tmp.File("data");
  const auto reopen = [&]() -> Status {
    f.store.reset();
    auto store = ServerStore::Open(data, &f.wall, kbo::testing::TestDbUrlFor(data));
    if (!store.ok()) return store.status();
    f.store = std::move(store).value();
    return Status();
  };
  const auto restore_active = [&](const TestDevice& t) {
    REQUIRE(f.store->db()
                .Exec("UPDATE device SET revoked_at = NULL WHERE device_id = '" +
                      t.id.ToString() + "'")
                .ok());
  };
  const auto file = [&] {
    Result<std::string> text = ReadFileBounded(path, size_t{1} << 20);
    REQUIRE(text.ok());
    return *text;
  };
  restore_active(a);
  // a's line among garbage, b's id in capitals with a Windows line end
  // (edited by hand), c's with a time that does not parse, and a last line
  // cut by a crash.
  std::string b_upper = b.id.ToString();
  for (char& ch : b_upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const std::string text = std::string("\x00\xff\xfe garbage\n", 12) + "not-a-uuid " +
                           revoked_at + "\n" + c.id.ToString() + " yesterday\n\n" +
                           a.id.ToString() + " " + revoked_at + "\n" + b_upper + " " +
                           revoked_at + "\r\n" + d.id.ToString().substr(0, 9);
  REQUIRE(WriteFileAtomically(path, text, 0600).ok());
  REQUIRE(reopen().ok());
  CHECK(f.Record(a.id).revoked_at == revoked_at);
  CHECK(f.Record(b.id).revoked_at == revoked_at);
  CHECK(f.Record(c.id).revoked());  // from now: never let in again
  CHECK_FALSE(f.Record(d.id).revoked());  // its line is cut short
  // The next revocation goes on a line of its own after the cut one, and
  // outlives the next restore.
  REQUIRE(Enrolment(*f.store).Revoke(d.id.ToString()).ok());
  const std::string d_revoked_at = f.Record(d.id).revoked_at;
  CHECK_THAT(file(), Catch::Contains("\n" + d.id.ToString() + " " + d_revoked_at + "\n"));
  restore_active(d);
  REQUIRE(reopen().ok());
  CHECK(f.Record(d.id).revoked_at == d_revoked_at);
  // A blank revoked_at (edited by hand) reads as active: revoked again too
  // (the guard looked for NULL only, and let it in).
  REQUIRE(f.store->db()
              .Exec("UPDATE device SET revoked_at = '' WHERE device_id = '" +
                    d.id.ToString() + "'")
              .ok());
  REQUIRE(reopen().ok());
  CHECK(f.Record(d.id).revoked_at == d_revoked_at);

  // Larger than any this server writes (64 MiB): the server does not start,
  // saying why, rather than let a revoked device in.
  f.store.reset();
  std::filesystem::resize_file(path, (std::uintmax_t{64} << 20) + 1);
  Status big = reopen();
  CHECK(big.code() == Code::kResourceExhausted);
  CHECK_THAT(big.message(), Catch::Contains(path) &&
                                Catch::Contains("revoked devices"));
  // A folder where the file should be: the same.
  REQUIRE(std::remove(path.c_str()) == 0);
  std::filesystem::create_directory(path);
  Status folder = reopen();
  CHECK_FALSE(folder.ok());
  CHECK_THAT(folder.message(), Catch::Contains("revoked devices"));
  std::filesystem::remove(path);
  REQUIRE(reopen().ok());
  // The file is written again from the database, every revocation in it.
  for (const TestDevice* t : {&a, &b, &c, &d}) {
    CHECK(f.Record(t->id).revoked());
    CHECK_THAT(file(), Catch::Contains(t->id.ToString() + " " + f.Record(t->id).revoked_at));
  }
}

TEST_CASE("Enrolment: revoke, list, and the request JSON", "[server][enrol]") {
  ServerFixture f;
  Enrolment enrolment(*f.store);
  TestDevice a, b;
  f.Enroll(a, "5011");
  f.wall.Advance(1000);
  f.Enroll(b, "all", "central_office");
  REQUIRE(enrolment.Revoke(a.id.ToString()).ok());
  f.wall.Advance(1000);
  REQUIRE(enrolment.Revoke(a.id.ToString()).ok());  // keeps the first time
  CHECK(enrolment.Revoke(Uuid::Random().ToString()).code() == Code::kNotFound);
  CHECK(enrolment.Revoke("nope").code() == Code::kInvalidArgument);
  auto list = enrolment.ListDevices();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].id == a.id);
  CHECK((*list)[0].revoked_at == "2024-03-10T02:00:01Z");
  CHECK_FALSE((*list)[1].revoked());

  const std::string good = "{\"token\":\"" + std::string(64, 'a') +
                           "\",\"device_id\":\"" + a.id.ToString() +
                           "\",\"public_key\":\"" + a.key.public_key().ToHex() +
                           "\",\"clock_ms\":" + std::to_string(kT0) + "}";
  auto parsed = wire::ParseEnrollRequest(good);
  REQUIRE(parsed.ok());
  CHECK(parsed->device_id == a.id);
  CHECK(*parsed->clock_ms == kT0);
  CHECK_FALSE(wire::ParseEnrollRequest("{").ok());
  CHECK_FALSE(wire::ParseEnrollRequest("[]").ok());
  CHECK_FALSE(wire::ParseEnrollRequest("{\"token\":1}").ok());
  CHECK_FALSE(wire::ParseEnrollRequest(
                  "{\"token\":\"ab\",\"device_id\":\"x\",\"public_key\":\"y\"}")
                  .ok());
}

}  // namespace
}  // namespace kbo::server::testing
