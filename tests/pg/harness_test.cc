// The PostgreSQL test harness itself (tools/pg-test-cluster, the `pg` CTest
// fixture, tests/support/pg_url.h): the cluster is there, is PostgreSQL 15
// or newer in UTF-8, and the values the project stores come back unchanged
// through libpq, in text and in binary results.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/pg/pg_conn.h"

namespace kbo::testing {
namespace {

// Big-endian 8 bytes (a binary int8 result) to int64.
int64_t FromNetwork64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<int64_t>(v);
}

std::string AllBytes() {
  std::string b("\0a\0\0b\0", 6);
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<char>(i));
  b.push_back('\0');
  return b;
}

struct Row {
  int64_t id;
  bool name_null;
  std::string name;
  bool data_null;
  std::string data;
  int64_t n;
};

// INSERT through PQexecParams: text and integers as text parameters, the
// bytea as a binary one (its zero bytes need the length, not a C string).
PgResult Insert(PgConn& c, const Row& r) {
  const std::string id = std::to_string(r.id);
  const std::string n = std::to_string(r.n);
  const char* values[4] = {id.c_str(), r.name_null ? nullptr : r.name.c_str(),
                           r.data_null ? nullptr : r.data.data(), n.c_str()};
  const int lengths[4] = {0, 0, static_cast<int>(r.data.size()), 0};
  const int formats[4] = {0, 0, 1, 0};
  return PgResult(PQexecParams(c.get(),
                               "INSERT INTO t (id, name, data, n) "
                               "VALUES ($1::bigint, $2::text, $3::bytea, $4::bigint)",
                               4, nullptr, values, lengths, formats, 0));
}

TEST_CASE("pg harness: the test cluster is PostgreSQL 15 or newer, UTF-8, C collation",
          "[pg]") {
  PgConn c;
  CHECK(PQserverVersion(c.get()) >= 150000);
  CHECK(c.Value("SHOW server_encoding") == "UTF8");
  CHECK(c.Value("SHOW client_encoding") == "UTF8");
  CHECK(c.Value("SELECT datcollate FROM pg_database WHERE datname = current_database()") ==
        "C");
  // Byte order, as SQLite compares text: 'Z' < 'a' < Thai.
  CHECK(c.Value("SELECT string_agg(s, ',' ORDER BY s) FROM "
                "(VALUES ('a'), ('Z'), ('พร้าว'), ('B')) v(s)") == "B,Z,a,พร้าว");
}

TEST_CASE("pg harness: Thai text, bytea with zero bytes and int64 extremes round-trip",
          "[pg]") {
  PgConn c;
  PgTestSchema schema(c);
  c.Must("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, data BYTEA, n BIGINT)");
  const std::vector<Row> rows = {
      {1, false, "อำเภอพร้าว", false, AllBytes(), std::numeric_limits<int64_t>::min()},
      {2, false, "กลุ่มแม่บ้าน “บ้านสันทราย” ๒๕๖๗ — ผ้าฝ้าย 🧵", false,
       std::string("\0", 1), std::numeric_limits<int64_t>::max()},
      {3, false, "", false, "", 0},
      {4, true, "", true, "", -1},
  };
  for (const Row& r : rows) {
    PgResult ins = Insert(c, r);
    INFO(c.error());
    REQUIRE(PgOk(ins));
  }

  // What the server holds: characters, not bytes, and the extremes exact.
  CHECK(c.Value("SELECT length(name) FROM t WHERE id = 1") == "10");
  CHECK(c.Value("SELECT octet_length(name) FROM t WHERE id = 1") == "30");
  CHECK(c.Value("SELECT octet_length(data) FROM t WHERE id = 1") ==
        std::to_string(AllBytes().size()));
  CHECK(c.Value("SELECT get_byte(data, 0) FROM t WHERE id = 1") == "0");
  CHECK(c.Value("SELECT count(*) FROM t WHERE n = -9223372036854775808") == "1");
  CHECK(c.Value("SELECT count(*) FROM t WHERE n = 9223372036854775807") == "1");
  // An empty string and an empty bytea stay empty, not NULL.
  CHECK(c.Value("SELECT count(*) FROM t WHERE name = '' AND data = ''::bytea") == "1");
  CHECK(c.Value("SELECT count(*) FROM t WHERE name IS NULL AND data IS NULL") == "1");

  for (int format : {0, 1}) {
    CAPTURE(format);
    PgResult r(PQexecParams(c.get(), "SELECT id, name, data, n FROM t ORDER BY id", 0,
                            nullptr, nullptr, nullptr, nullptr, format));
    INFO(c.error());
    REQUIRE(PgOk(r));
    REQUIRE(PQntuples(r.get()) == static_cast<int>(rows.size()));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const Row& want = rows[static_cast<size_t>(i)];
      CAPTURE(want.id);
      REQUIRE(bool(PQgetisnull(r.get(), i, 1)) == want.name_null);
      REQUIRE(bool(PQgetisnull(r.get(), i, 2)) == want.data_null);
      REQUIRE_FALSE(PQgetisnull(r.get(), i, 3));
      std::string name, data;
      int64_t id = 0, n = 0;
      if (format == 1) {
        REQUIRE(PQgetlength(r.get(), i, 0) == 8);
        REQUIRE(PQgetlength(r.get(), i, 3) == 8);
        id = FromNetwork64(PQgetvalue(r.get(), i, 0));
        n = FromNetwork64(PQgetvalue(r.get(), i, 3));
        name.assign(PQgetvalue(r.get(), i, 1),
                    static_cast<size_t>(PQgetlength(r.get(), i, 1)));
        data.assign(PQgetvalue(r.get(), i, 2),
                    static_cast<size_t>(PQgetlength(r.get(), i, 2)));
      } else {
        id = std::stoll(PQgetvalue(r.get(), i, 0));
        n = std::stoll(PQgetvalue(r.get(), i, 3));
        CHECK(std::string(PQgetvalue(r.get(), i, 3)) == std::to_string(want.n));
        name = PQgetvalue(r.get(), i, 1);
        size_t len = 0;
        unsigned char* raw = PQunescapeBytea(
            reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), i, 2)), &len);
        REQUIRE(raw != nullptr);
        data.assign(reinterpret_cast<const char*>(raw), len);
        PQfreemem(raw);
      }
      CHECK(id == want.id);
      CHECK(n == want.n);
      if (!want.name_null) CHECK(name == want.name);
      if (!want.data_null) CHECK(data == want.data);
    }
  }
}

TEST_CASE("pg harness: what PostgreSQL refuses that SQLite would store", "[pg]") {
  PgConn c;
  PgTestSchema schema(c);
  c.Must("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, data BYTEA, n BIGINT)");
  SECTION("text that is not UTF-8") {
    Row r{1, false, "\xE0\xB8", false, "", 0};  // a cut-off Thai character
    CHECK(PgSqlState(Insert(c, r)) == "22021");  // character_not_in_repertoire
  }
  SECTION("a zero byte in text") {
    const char* values[1] = {"a\0b"};
    const int lengths[1] = {3};
    const int formats[1] = {1};
    PgResult r(PQexecParams(c.get(), "INSERT INTO t (id, name) VALUES (1, $1::text)", 1,
                            nullptr, values, lengths, formats, 0));
    CHECK(PgSqlState(r) == "22021");
  }
  SECTION("an integer past int64") {
    const char* values[1] = {"9223372036854775808"};
    PgResult r(PQexecParams(c.get(), "INSERT INTO t (id, n) VALUES (1, $1::bigint)", 1,
                            nullptr, values, nullptr, nullptr, 0));
    CHECK(PgSqlState(r) == "22003");  // numeric_value_out_of_range
  }
  CHECK(c.Value("SELECT count(*) FROM t") == "0");
}

TEST_CASE("pg harness: each test's schema is its own and is dropped after it", "[pg]") {
  PgConn c;
  std::string first_name;
  {
    PgTestSchema first(c);
    first_name = first.name();
    c.Must("CREATE TABLE t (v TEXT)");
    c.Must("INSERT INTO t VALUES ('first')");
    PgConn other;
    PgTestSchema second(other);
    CHECK(second.name() != first.name());
    // The other connection sees no t in its own schema...
    CHECK(PgSqlState(other.Exec("SELECT v FROM t")) == "42P01");  // undefined_table
    other.Must("CREATE TABLE t (v TEXT)");
    CHECK(other.Value("SELECT count(*) FROM t") == "0");
    CHECK(c.Value("SELECT v FROM t") == "first");
  }
  // ...and both schemas are gone with their tables.
  CHECK(c.Value("SELECT count(*) FROM pg_namespace WHERE nspname = '" + first_name + "'") ==
        "0");
  CHECK(c.Value("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'kbo\\_t\\_" +
                std::to_string(getpid()) + "\\_%'") == "0");
}

}  // namespace
}  // namespace kbo::testing
