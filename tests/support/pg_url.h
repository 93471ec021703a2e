#ifndef KBO_TESTS_SUPPORT_PG_URL_H_
#define KBO_TESTS_SUPPORT_PG_URL_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace kbo::testing {

// The PostgreSQL the tests use (README, "PostgreSQL in the tests"):
// $KBO_TEST_PG_URL, else the first line of the file named by
// $KBO_TEST_PG_URL_FILE, which tools/pg-test-cluster writes and CTest names
// (the `pg` fixture, tests/CMakeLists.txt). Neither set, or the file empty
// or missing: the test FAILS, never skips, so a missing database cannot
// pass for a green run.
inline std::string PgTestUrl() {
  if (const char* url = std::getenv("KBO_TEST_PG_URL"); url && *url) {
    return url;
  }
  const char* file = std::getenv("KBO_TEST_PG_URL_FILE");
  if (!file || !*file) {
    FAIL("no PostgreSQL for this test: set KBO_TEST_PG_URL "
         "(postgresql://USER@HOST:PORT/DB) or KBO_TEST_PG_URL_FILE, or run it "
         "through ctest, whose `pg` fixture starts tools/pg-test-cluster");
  }
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) {
    FAIL("KBO_TEST_PG_URL_FILE=" << file
         << " is missing or empty: did the pg_cluster_start test run and pass?"
            " (tools/pg-test-cluster start DIR writes DIR/url)");
  }
  return url;
}

// A lower-case SQL identifier no other test process uses at the same time
// (`prefix`, the process id, 32 random bits), for a test's own schema or
// database: tests run in parallel (ctest -j) on one cluster.
inline std::string UniquePgName(std::string_view prefix) {
  std::random_device rd;
  char tail[32];
  std::snprintf(tail, sizeof tail, "_%ld_%08x", static_cast<long>(getpid()),
                static_cast<unsigned>(rd()));
  return std::string(prefix) + tail;
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_PG_URL_H_
