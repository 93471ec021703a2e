// The console's failed sign-in table is pruned as it is written (issue 9):
// rows whose window is over and whose lock has ended go, a bounded number
// per failure, so addresses that failed once long ago do not pile up.
#include <catch2/catch.hpp>
#include <string>

#include "server/console/users.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

int64_t Rows(ServerStore& store, const std::string& where = "1 = 1") {
  Statement& st =
      store.db().Cached("SELECT COUNT(*) FROM sign_in_failure WHERE " + where);
  int64_t n = st.Step() ? st.ColumnInt(0) : -1;
  (void)st.Reset();
  return n;
}

TEST_CASE("console: stale failed sign-in rows are pruned on write, bounded",
          "[console][users]") {
  ServerFixture f;
  console::Users users(*f.store);
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(users
                    .SignIn("nobody" + std::to_string(i), "wrong password",
                            "192.0.2." + std::to_string(i))
                    .ok());
  }
  REQUIRE(Rows(*f.store) == 6);  // a login row and an address row each

  // Still within the window: nothing goes.
  f.wall.Advance(console::kFailureWindowMs - 1000);
  CHECK_FALSE(users.SignIn("other", "wrong password", "198.51.100.1").ok());
  CHECK(Rows(*f.store) == 8);

  // The first six are past their window (and never locked): the next
  // failure prunes them; the two from 1 s before the window's end stay.
  f.wall.Advance(2000);
  CHECK_FALSE(users.SignIn("third", "wrong password", "198.51.100.2").ok());
  CHECK(Rows(*f.store) == 4);
  CHECK(Rows(*f.store, "key LIKE '%192.0.2.%' OR key LIKE 'login:nobody%'") ==
        0);

  // A locked row stays while its lock runs, even past the window.
  for (int i = 0; i < console::kLoginFailures; ++i)
    CHECK_FALSE(users.SignIn("locked", "guess", "203.0.113.5").ok());
  REQUIRE(Rows(*f.store, "key = 'login:locked' AND locked_until_ms > 0") == 1);

  // Many stale rows (an address spray long ago) go kFailurePruneBatch per
  // row written (a failure writes two), never all in one write.
  {
    Statement& ins = f.store->db().Cached(
        "INSERT INTO sign_in_failure(key, failures, window_start_ms) "
        "VALUES (?1, 1, ?2)");
    for (int i = 0; i < 250; ++i) {
      ins.Bind(1, std::string_view("addr:10.0." + std::to_string(i)))
          .Bind(2, f.store->NowMillis() - console::kFailureWindowMs - 1);
      REQUIRE(ins.Run().ok());
      REQUIRE(ins.Reset().ok());
    }
  }
  const int64_t before = Rows(*f.store);
  CHECK_FALSE(users.SignIn("spray", "x", "198.51.100.3").ok());
  CHECK(Rows(*f.store, "key LIKE 'addr:10.0.%'") ==
        250 - 2 * console::kFailurePruneBatch);
  CHECK(Rows(*f.store) == before - 2 * console::kFailurePruneBatch + 2);
  CHECK_FALSE(users.SignIn("spray", "x", "198.51.100.3").ok());
  CHECK(Rows(*f.store, "key LIKE 'addr:10.0.%'") == 0);

  // The lock itself still works after the pruning.
  f.wall.Advance(console::kFailureWindowMs + 1000);
  CHECK_FALSE(users.SignIn("late", "x", "198.51.100.4").ok());
  CHECK(Rows(*f.store, "key = 'login:locked'") == 0);  // its lock ended
}

}  // namespace
}  // namespace kbo::server::testing
