// Bundle import (server/bundle_import.h) on damaged files. The fuzz target
// tools/fuzzers/bundle.cc runs the same reader under an allocation cap;
// these are its findings as unit tests.

#include "server/bundle_import.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "shared/protocol.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

std::string WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string LyingRecord(uint8_t kind, uint32_t len) {
  std::string b(protocol::kBundleMagic);
  b.push_back(static_cast<char>(kind));
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(len >> (8 * i)));
  return b;
}

TEST_CASE(
    "ImportBundle: a record longer than what the file holds is framing "
    "damage, read without allocating the claimed length",
    "[server][bundle]") {
  ServerFixture f;
  // tests/corpus/bundle/lying_photo_64mib: 16 bytes that claim a 64 MiB
  // photo. Before the fix the reader allocated (and zeroed) the 64 MiB
  // first, then gave this same answer; the allocation itself is checked by
  // the fuzz target under -malloc_limit_mb (tools/fuzz bundle), this test
  // checks the answer.
  const uint32_t photo = 64 + (uint32_t{64} << 20);
  const uint32_t push = uint32_t{16} << 20;
  for (const std::string& bytes :
       {LyingRecord(2, photo), LyingRecord(1, push) + "KBOC"}) {
    const std::string path = WriteFile(f.tmp.File("lying.kbobundle"), bytes);
    auto summary = ImportBundle(*f.store, path);
    REQUIRE(summary.ok());
    CHECK_FALSE(summary->framing.ok());
    CHECK(summary->framing.message().find("cut short") != std::string::npos);
    CHECK(summary->change_sets_applied + summary->change_sets_refused +
              summary->blobs_stored + summary->blobs_refused ==
          0);
  }
}

TEST_CASE(
    "ImportBundle: a photo record whose name is not hex is refused without "
    "echoing its bytes (a terminal's escape codes)",
    "[server][bundle]") {
  ServerFixture f;
  std::string name = "\x1b[31mX" + std::string(64 - 6, 'a');
  REQUIRE(name.size() == 64);
  const std::string body = name + "JPEG bytes";
  std::string b(protocol::kBundleMagic);
  b.push_back(static_cast<char>(2));
  const uint32_t len = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(len >> (8 * i)));
  b += body;
  auto summary = ImportBundle(*f.store, WriteFile(f.tmp.File("escape.kbobundle"), b));
  REQUIRE(summary.ok());
  CHECK(summary->framing.ok());
  CHECK(summary->blobs_refused == 1);
  CHECK(summary->blobs_stored == 0);
  REQUIRE(summary->refusals.size() == 1);
  CHECK(summary->refusals[0].find('\x1b') == std::string::npos);
  CHECK(summary->refusals[0].find("not a SHA-256 in hex") != std::string::npos);
}

}  // namespace
}  // namespace kbo::server::testing
