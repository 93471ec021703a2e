#include "server/request_auth.h"

#include <catch2/catch.hpp>

#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

// A request signed by `device` at `time_ms`, as the client builds it.
struct Signed {
  std::string method = "GET";
  std::string target = "/v1/pull?after=0&limit=100";
  std::string device;
  std::string time;
  std::string nonce = "0123456789abcdef0123456789abcdef";
  std::string signature;
  std::string body;

  SignedRequest View() const {
    return {method, target, device, time, nonce, signature, body};
  }
};

Signed Sign(const TestDevice& d, int64_t time_ms, const std::string& nonce,
            const std::string& target = "/v1/pull?after=0&limit=100",
            const std::string& body = "") {
  Signed s;
  s.target = target;
  s.body = body;
  s.method = body.empty() ? "GET" : "POST";
  s.device = d.id.ToString();
  s.time = std::to_string(time_ms);
  s.nonce = nonce;
  s.signature = SignatureToHex(d.key.Sign(
      kRequestDomain,
      protocol::CanonicalRequest(s.method, s.target, time_ms, nonce, body)));
  return s;
}

std::string Nonce(int i) {
  std::string n = "00000000000000000000000000000000" + std::to_string(i);
  return n.substr(n.size() - 32);
}

TEST_CASE(
    "RequestAuth: a correctly signed request names its device and records "
    "its clock offset",
    "[server][auth]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  const Signed s = Sign(d, kT0 + 4000, Nonce(1), "/v1/push", "body bytes");
  auto r = auth.Authenticate(s.View());
  REQUIRE(r.ok());
  CHECK(r->id == d.id);
  CHECK(r->scope.ToString() == kPhrao);
  const DeviceRecord rec = f.Record(d.id);
  REQUIRE(rec.clock_offset_ms.has_value());
  CHECK(*rec.clock_offset_ms == 4000);
  CHECK(rec.last_seen_at == "2024-03-10T02:00:00Z");
  CHECK_FALSE(rec.clock_off());
}

// X-KBO-Clock-Adjust (a device that signs by the server's clock says by how
// much it moved its own): read only for the offset the office sees,
// bounded to an hour; garbage or more is the request's own offset, and
// never decides whether a request is taken.
TEST_CASE("RequestAuth: the clock adjustment a device declares is bounded and "
          "garbage is ignored",
          "[server][auth][untrusted]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  int n = 10;
  const auto seen = [&](const std::string& adjust) {
    Signed s = Sign(d, kT0 + 2000, Nonce(n++));
    SignedRequest v = s.View();
    v.clock_adjust = adjust;
    REQUIRE(auth.Authenticate(v).ok());
    return *f.Record(d.id).clock_offset_ms;
  };
  CHECK(seen("-420000") == 2000 + 420000);  // 7 minutes behind, moved ahead
  CHECK(seen("") == 2000);
  for (const std::string& bad :
       std::vector<std::string>{"abc", "12x", "99999999999999999999", "-", "3600001",
                                "-3600001", std::string(200, '9')}) {
    INFO(bad);
    CHECK(seen(bad) == 2000);
  }
  // A request outside the window is refused whatever it declares.
  Signed late = Sign(d, kT0 + 20 * 60 * 1000, Nonce(n++));
  SignedRequest v = late.View();
  v.clock_adjust = "1200000";
  CHECK(auth.Authenticate(v).status().reason() == "clock_skew");
}

TEST_CASE("RequestAuth: one flipped bit anywhere signed is refused",
          "[server][auth][untrusted]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  int n = 0;
  SECTION("in the signature") {
    for (size_t i = 0; i < 128; i += 9) {
      Signed s = Sign(d, kT0, Nonce(++n));
      s.signature[i] = s.signature[i] == '0' ? '1' : '0';
      CHECK(auth.Authenticate(s.View()).status().code() ==
            Code::kUnauthenticated);
    }
  }
  SECTION("in the body, the path, the query, the time or the method") {
    Signed s = Sign(d, kT0, Nonce(++n), "/v1/push", "abc");
    s.body = "abd";
    CHECK(auth.Authenticate(s.View()).status().code() ==
          Code::kUnauthenticated);
    s = Sign(d, kT0, Nonce(++n));
    s.target = "/v1/pull?after=0&limit=101";
    CHECK(auth.Authenticate(s.View()).status().code() ==
          Code::kUnauthenticated);
    s = Sign(d, kT0, Nonce(++n));
    s.time = std::to_string(kT0 + 1);
    CHECK(auth.Authenticate(s.View()).status().code() ==
          Code::kUnauthenticated);
    s = Sign(d, kT0, Nonce(++n));
    s.method = "PUT";
    CHECK(auth.Authenticate(s.View()).status().code() ==
          Code::kUnauthenticated);
  }
  SECTION("a signature by another key") {
    TestDevice impostor;
    impostor.id = d.id;
    const Signed s = Sign(impostor, kT0, Nonce(++n));
    CHECK(auth.Authenticate(s.View()).status().code() ==
          Code::kUnauthenticated);
  }
  // Refused requests leave no nonce behind.
  CHECK(f.Count("SELECT COUNT(*) FROM nonce") == 0);
}

TEST_CASE("RequestAuth: a replayed request is refused", "[server][auth]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  const Signed s = Sign(d, kT0, Nonce(7), "/v1/push", "x");
  REQUIRE(auth.Authenticate(s.View()).ok());
  f.wall.Advance(1000);
  auto again = auth.Authenticate(s.View());
  CHECK(again.status().code() == Code::kUnauthenticated);
  CHECK(again.status().reason() == "replay");
  // Another device may use the same nonce.
  TestDevice other;
  f.Enroll(other, kPhrao);
  CHECK(auth.Authenticate(Sign(other, kT0, Nonce(7)).View()).ok());
}

TEST_CASE(
    "RequestAuth: a request outside the clock window is refused with a "
    "hint, and the offset is kept for the office",
    "[server][auth]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  const int64_t window = protocol::kRequestWindowMs;
  CHECK(
      auth.Authenticate(Sign(d, kT0 + window, Nonce(1)).View()).ok());
  CHECK(
      auth.Authenticate(Sign(d, kT0 - window, Nonce(2)).View()).ok());
  auto ahead =
      auth.Authenticate(Sign(d, kT0 + window + 1, Nonce(3)).View());
  CHECK(ahead.status().code() == Code::kUnauthenticated);
  CHECK(ahead.status().reason() == "clock_skew");
  REQUIRE(ahead.status().IntegerField(field::kServerMs) != nullptr);
  CHECK(*ahead.status().IntegerField(field::kServerMs) == kT0);  // the server's clock, for the device
  CHECK_THAT(ahead.status().message(), Catch::Contains("date, time"));
  auto behind = auth.Authenticate(
      Sign(d, kT0 - 3 * 3600 * 1000, Nonce(4)).View());
  CHECK(behind.status().code() == Code::kUnauthenticated);
  CHECK_THAT(behind.status().message(), Catch::Contains("3 hours behind"));
  const DeviceRecord rec = f.Record(d.id);
  CHECK(*rec.clock_offset_ms == -3 * 3600 * 1000);
  CHECK(rec.clock_off());
}

TEST_CASE("RequestAuth: revoked and unknown devices are refused",
          "[server][auth]") {
  ServerFixture f;
  TestDevice d, stranger;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  REQUIRE(Enrolment(*f.store).Revoke(d.id.ToString()).ok());
  auto revoked = auth.Authenticate(Sign(d, kT0, Nonce(1)).View());
  CHECK(revoked.status().code() == Code::kPermissionDenied);
  CHECK(revoked.status().reason() == "revoked");
  auto unknown =
      auth.Authenticate(Sign(stranger, kT0, Nonce(1)).View());
  CHECK(unknown.status().code() == Code::kUnauthenticated);
}

TEST_CASE("RequestAuth: an unknown device and a bad signature get one answer",
          "[server][auth][untrusted]") {
  ServerFixture f;
  TestDevice d, stranger;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  auto unknown =
      auth.Authenticate(Sign(stranger, kT0, Nonce(1)).View());
  // Signed by the stranger's key in the enrolled device's name.
  Signed forged = Sign(stranger, kT0, Nonce(2));
  forged.device = d.id.ToString();
  auto bad_signature = auth.Authenticate(forged.View());
  REQUIRE_FALSE(unknown.ok());
  REQUIRE_FALSE(bad_signature.ok());
  CHECK(unknown.status().code() == bad_signature.status().code());
  CHECK(unknown.status().message() == bad_signature.status().message());
  CHECK(unknown.status().reason() == bad_signature.status().reason());
  CHECK(unknown.status().message().find(stranger.id.ToString()) ==
        std::string::npos);
}

TEST_CASE("RequestAuth: missing or malformed headers are refused",
          "[server][auth][untrusted]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  const Signed good = Sign(d, kT0, Nonce(1));
  Signed s = good;
  s.device = "";
  CHECK(auth.Authenticate(s.View()).status().code() ==
        Code::kUnauthenticated);
  s = good;
  s.time = "12x";
  CHECK(auth.Authenticate(s.View()).status().code() ==
        Code::kUnauthenticated);
  s = good;
  s.time = "9999999999999999999";  // 19 digits: above INT64_MAX, no wrap
  CHECK(auth.Authenticate(s.View()).status().code() ==
        Code::kUnauthenticated);
  s = good;
  s.nonce = "short";
  CHECK(auth.Authenticate(s.View()).status().code() ==
        Code::kUnauthenticated);
  s = good;
  s.signature = "zz";
  CHECK(auth.Authenticate(s.View()).status().code() ==
        Code::kUnauthenticated);
  CHECK(auth.Authenticate(good.View()).ok());
}

TEST_CASE("RequestAuth: nonces older than two windows are pruned",
          "[server][auth]") {
  ServerFixture f;
  TestDevice d;
  f.Enroll(d, kPhrao);
  RequestAuth auth(*f.store);
  REQUIRE(auth.Authenticate(Sign(d, kT0, Nonce(1)).View()).ok());
  CHECK(f.Count("SELECT COUNT(*) FROM nonce") == 1);
  f.wall.Advance(2 * protocol::kRequestWindowMs + 60 * 1000);
  REQUIRE(
      auth.Authenticate(Sign(d, f.wall.NowMillis(), Nonce(2)).View())
          .ok());
  CHECK(f.Count("SELECT COUNT(*) FROM nonce") == 1);
}

}  // namespace
}  // namespace kbo::server::testing
