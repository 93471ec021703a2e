// The phone app's SQLite VFS over OPFS (client/app/opfs_vfs.c), compiled to
// WebAssembly and run under Node over in-memory sync access handles with
// OPFS's semantics (tests/wasm/fake_opfs.js), with its limits made small
// (a 64 KiB gathering buffer, 256 KiB images) so the workloads cross them:
//   - a random workload (inserts, updates, deletes, rollbacks, transactions
//     larger than the page cache) gives, after every transaction and after
//     a new worker reopens the files, exactly what SQLite's own VFS gives;
//   - writes are gathered: a large transaction makes few handle calls, and
//     a commit has reached the handles when it returns;
//   - a full storage (the browser's quota) refuses the transaction, which
//     leaves the last commit whole;
//   - a crash at any point (a killed tab: every write so far; a power cut:
//     what was flushed) leaves a database that passes integrity_check and
//     holds one of the committed states, never a half-written one.
#include <emscripten.h>
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "client/app/opfs_vfs.h"

namespace {

// clang-format off
EM_JS(int, fake_calls, (), { return Module.fakeOpfs.calls; });
EM_JS(void, fake_recording, (int on), { Module.fakeOpfs.recording = !!on; });
EM_JS(int, fake_count, (int flushed), {
  return (flushed ? Module.fakeOpfs.flushed : Module.fakeOpfs.written).length;
});
EM_JS(void, fake_restore, (int flushed, int index), {
  Module.fakeOpfs.restore((flushed ? Module.fakeOpfs.flushed : Module.fakeOpfs.written)[index]);
});
// Records the files as written now (what a tab killed now leaves); its index.
EM_JS(int, fake_take, (), {
  Module.fakeOpfs.written.push(Module.fakeOpfs.state('written'));
  return Module.fakeOpfs.written.length - 1;
});
// Files may not grow past `bytes` (0: no limit).
EM_JS(void, fake_quota, (double bytes), {
  Module.fakeOpfs.quota = bytes > 0 ? bytes : Infinity;
});
EM_JS(void, fake_empty, (), {
  Module.fakeOpfs.restore([new Uint8Array(0), new Uint8Array(0)]);
  Module.fakeOpfs.written = [];
  Module.fakeOpfs.flushed = [];
});
// clang-format on

constexpr const char* kOpfsDb = "/opfs/field.db";

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error ? error : ""));
  sqlite3_free(error);
  REQUIRE(rc == SQLITE_OK);
}

sqlite3* Open(const std::string& path) {
  REQUIRE(kbo_opfs_vfs_register() == SQLITE_OK);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          nullptr) == SQLITE_OK);
  // A page cache of 8 pages: transactions spill into the database before
  // they commit, and rollbacks read the journal back.
  Exec(db, "PRAGMA cache_size = 8");
  return db;
}

// Every row, in order, folded into one 64-bit FNV-1a; "none" with no table.
std::string Digest(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT id, k, v FROM t ORDER BY id", -1, &st,
                         nullptr) != SQLITE_OK) {
    return "none";
  }
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, int n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (int i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    const unsigned char end = 0xff;
    h = (h ^ end) * 1099511628211ull;
  };
  int rows = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const sqlite3_int64 id = sqlite3_column_int64(st, 0);
    mix(&id, sizeof id);
    mix(sqlite3_column_text(st, 1), sqlite3_column_bytes(st, 1));
    mix(sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2));
    ++rows;
  }
  sqlite3_finalize(st);
  REQUIRE(rc == SQLITE_DONE);
  return std::to_string(rows) + ":" + std::to_string(h);
}

sqlite3_int64 PageCount(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const sqlite3_int64 pages = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return pages;
}

std::string IntegrityCheck(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) ==
          SQLITE_OK);
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

// One random transaction, the same on every database in `dbs`: inserts of
// blobs up to `max_blob` bytes, updates, deletes; committed, or (one in
// five) rolled back.
class Workload {
 public:
  explicit Workload(uint32_t seed) : rng_(seed) {}

  void Transaction(const std::vector<sqlite3*>& dbs, int max_ops, int max_blob) {
    for (sqlite3* db : dbs) Exec(db, "BEGIN");
    const int ops = 1 + Uniform(max_ops);
    for (int i = 0; i < ops; ++i) {
      const int kind = Uniform(10);
      std::string blob(static_cast<size_t>(Uniform(max_blob)), '\0');
      for (char& c : blob) c = static_cast<char>(rng_());
      const int64_t id = 1 + Uniform(next_id_);
      for (sqlite3* db : dbs) {
        sqlite3_stmt* st = nullptr;
        const char* sql = kind < 6 ? "INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)"
                          : kind < 9 ? "UPDATE t SET v = ?3 WHERE id = ?1"
                                     : "DELETE FROM t WHERE id = ?1";
        REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
        sqlite3_bind_int64(st, 1, kind < 6 ? next_id_ : id);
        const std::string key = "ผู้เข้าอบรม " + std::to_string(kind < 6 ? next_id_ : id);
        if (kind < 6) sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
        if (kind < 9) sqlite3_bind_blob(st, 3, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
        REQUIRE(sqlite3_step(st) == SQLITE_DONE);
        sqlite3_finalize(st);
      }
      if (kind < 6) ++next_id_;
    }
    const bool rollback = Uniform(5) == 0;
    for (sqlite3* db : dbs) Exec(db, rollback ? "ROLLBACK" : "COMMIT");
  }

 private:
  int Uniform(int64_t n) {
    return static_cast<int>(std::uniform_int_distribution<int64_t>(0, n - 1)(rng_));
  }
  std::mt19937 rng_;
  int64_t next_id_ = 1;
};

constexpr const char* kCreate =
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)";

TEST_CASE("OPFS VFS: a random workload reads back as with SQLite's own VFS, "
          "also from a new worker",
          "[opfs]") {
  fake_empty();
  kbo_opfs_forget();
  char ref_path[] = "/tmp/kbo-opfs-ref-XXXXXX";
  const int fd = mkstemp(ref_path);
  REQUIRE(fd >= 0);
  close(fd);
  sqlite3* ref = Open(ref_path);
  sqlite3* db = Open(kOpfsDb);
  Exec(ref, kCreate);
  Exec(db, kCreate);
  Workload w(20261203);
  for (int i = 0; i < 60; ++i) {
    // Up to 40 blobs of 12 KiB: some transactions outgrow the cache, the
    // gathering buffer and (by the end) the image limit.
    w.Transaction({ref, db}, 40, 12000);
    INFO("after transaction " << i);
    REQUIRE(Digest(db) == Digest(ref));
  }
  const std::string want = Digest(ref);
  REQUIRE(sqlite3_close(db) == SQLITE_OK);
  // A new worker: sizes and images read afresh from the handles.
  kbo_opfs_forget();
  db = Open(kOpfsDb);
  CHECK(IntegrityCheck(db) == "ok");
  CHECK(Digest(db) == want);
  const sqlite3_int64 pages = PageCount(db);
  CHECK(pages * 4096 > 256 * 1024);  // past the image limit
  sqlite3_close(db);
  sqlite3_close(ref);
  unlink(ref_path);
}

TEST_CASE("OPFS VFS: a gap left by a write or a truncation reads as zero, "
          "also where the file held bytes before",
          "[opfs]") {
  fake_empty();
  kbo_opfs_forget();
  REQUIRE(kbo_opfs_vfs_register() == SQLITE_OK);
  sqlite3_vfs* vfs = sqlite3_vfs_find("kbo-opfs");
  REQUIRE(vfs != nullptr);
  std::vector<char> room(static_cast<size_t>(vfs->szOsFile));
  auto* file = reinterpret_cast<sqlite3_file*>(room.data());
  int flags = 0;
  REQUIRE(vfs->xOpen(vfs, kOpfsDb, file,
                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                         SQLITE_OPEN_MAIN_DB,
                     &flags) == SQLITE_OK);
  const sqlite3_io_methods* io = file->pMethods;
  const auto read = [&](sqlite3_int64 at, int n) {
    std::string out(static_cast<size_t>(n), '?');
    const int rc = io->xRead(file, out.data(), n, at);
    CHECK((rc == SQLITE_OK || rc == SQLITE_IOERR_SHORT_READ));
    return out;
  };
  const std::string ones(4096, '\x11');
  const std::string twos(4096, '\x22');
  REQUIRE(io->xWrite(file, ones.data(), 4096, 0) == SQLITE_OK);
  REQUIRE(io->xWrite(file, ones.data(), 4096, 4096) == SQLITE_OK);
  (void)read(0, 8192);  // the file's image is now in memory
  // Shrunk, then written past its end: the gap is zero, not the old bytes.
  REQUIRE(io->xTruncate(file, 1024) == SQLITE_OK);
  REQUIRE(io->xWrite(file, twos.data(), 4096, 12288) == SQLITE_OK);
  CHECK(read(0, 1024) == std::string(1024, '\x11'));
  CHECK(read(1024, 11264) == std::string(11264, '\0'));
  CHECK(read(12288, 4096) == twos);
  // Shrunk and grown again by a truncation: zero too.
  REQUIRE(io->xTruncate(file, 2048) == SQLITE_OK);
  REQUIRE(io->xTruncate(file, 65536 * 3) == SQLITE_OK);
  CHECK(read(1024, 1024) == std::string(1024, '\0'));
  CHECK(read(2048, 65536 * 3 - 2048) == std::string(65536 * 3 - 2048, '\0'));
  // Past the end: a short read, zero-filled.
  CHECK(read(65536 * 3 - 10, 20) == std::string(20, '\0'));
  // The handles hold the same, as a new worker reads them.
  REQUIRE(io->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK);
  REQUIRE(io->xClose(file) == SQLITE_OK);
  kbo_opfs_forget();
  REQUIRE(vfs->xOpen(vfs, kOpfsDb, file, SQLITE_OPEN_READWRITE, &flags) ==
          SQLITE_OK);
  io = file->pMethods;
  CHECK(read(0, 1024) == std::string(1024, '\x11'));
  CHECK(read(1024, 65536 * 3 - 1024) == std::string(65536 * 3 - 1024, '\0'));
  REQUIRE(io->xClose(file) == SQLITE_OK);
  kbo_opfs_forget();
  fake_empty();
}

TEST_CASE("OPFS VFS: writes are gathered into few handle calls", "[opfs]") {
  fake_empty();
  kbo_opfs_forget();
  sqlite3* db = Open(kOpfsDb);
  Exec(db, "PRAGMA cache_size = -4096");  // no spill: one commit writes all
  Exec(db, kCreate);
  const int before = fake_calls();
  Exec(db, "BEGIN");
  // 2 MiB in 512 rows: 512+ pages of 4 KiB.
  Exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
           "WHERE i < 512) INSERT INTO t (id, k, v) SELECT i, 'k' || i, "
           "zeroblob(4000) FROM n");
  Exec(db, "COMMIT");
  const int calls = fake_calls() - before;
  // One call per page would be 500+; gathered in 64 KiB (in this test), 40.
  CHECK(calls < 80);
  CHECK(calls > 0);
  sqlite3_close(db);
}

TEST_CASE("OPFS VFS: a commit is in the browser's hands when it returns",
          "[opfs]") {
  // With synchronous = OFF SQLite never syncs: the end of the transaction
  // must still write what was gathered (the app answers the action then).
  for (const char* mode : {"FULL", "OFF"}) {
    INFO("synchronous = " << mode);
    fake_empty();
    kbo_opfs_forget();
    sqlite3* db = Open(kOpfsDb);
    Exec(db, std::string("PRAGMA synchronous = ") + mode);
    Exec(db, kCreate);
    Workload w(11);
    std::vector<std::pair<int, std::string>> taken;
    for (int i = 0; i < 10; ++i) {
      w.Transaction({db}, 8, 3000);
      taken.emplace_back(fake_take(), Digest(db));
    }
    sqlite3_close(db);
    for (const auto& [index, digest] : taken) {
      fake_restore(0, index);
      kbo_opfs_forget();
      db = Open(kOpfsDb);
      CHECK(Digest(db) == digest);
      sqlite3_close(db);
    }
  }
  fake_empty();
  kbo_opfs_forget();
}

TEST_CASE("OPFS VFS: a full storage refuses the transaction and keeps the "
          "last commit",
          "[opfs]") {
  fake_empty();
  kbo_opfs_forget();
  sqlite3* db = Open(kOpfsDb);
  Exec(db, kCreate);
  Workload w(3);
  for (int i = 0; i < 5; ++i) w.Transaction({db}, 8, 3000);
  const std::string before = Digest(db);
  const sqlite3_int64 pages = PageCount(db);
  // Room for 16 more pages; the transaction needs 250 (1 MiB, spilling
  // through a cache of 8 pages).
  fake_quota(static_cast<double>((pages + 16) * 4096));
  const char* kBig =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
      "i < 250) INSERT INTO t (k, v) SELECT 'big ' || i, zeroblob(4000) FROM n";
  Exec(db, "BEGIN");
  int rc = sqlite3_exec(db, kBig, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  CHECK((rc & 0xff) == SQLITE_FULL);
  (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  CHECK(Digest(db) == before);
  sqlite3_close(db);
  // A new worker finds the last commit, whole.
  kbo_opfs_forget();
  db = Open(kOpfsDb);
  CHECK(IntegrityCheck(db) == "ok");
  CHECK(Digest(db) == before);
  // With room again, the same transaction commits.
  fake_quota(0);
  Exec(db, "BEGIN");
  Exec(db, kBig);
  Exec(db, "COMMIT");
  CHECK(Digest(db) != before);
  CHECK(IntegrityCheck(db) == "ok");
  sqlite3_close(db);
  fake_empty();
  kbo_opfs_forget();
}

TEST_CASE("OPFS VFS: a journal that cannot be written refuses the commit, and "
          "the refused rows are gone at once, not only after a reopen",
          "[opfs]") {
  // A phone whose storage is full: the journal gathers the transaction's
  // old pages, then cannot write them. (Found in Chromium: the app said
  // "not saved", yet showed and synced the rows until it was reopened.)
  for (const double room : {1.0, 4096.0}) {  // none; room for its header only
    CAPTURE(room);
    fake_empty();
    kbo_opfs_forget();
    sqlite3* db = Open(kOpfsDb);
    Exec(db, kCreate);
    Workload w(11);
    for (int i = 0; i < 6; ++i) w.Transaction({db}, 12, 3000);
    Exec(db, "INSERT INTO t (id, k, v) VALUES (100000, 'far', x'00')");
    const std::string before = Digest(db);
    // The journal (0 bytes between transactions) may not grow past `room`;
    // the database may be rewritten in place.
    fake_quota(room);
    Exec(db, "BEGIN");
    Exec(db, "UPDATE t SET v = zeroblob(10) WHERE id IN (1, 100000)");
    const int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    CHECK((rc & 0xff) == SQLITE_FULL);
    (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    // This connection, at once: the rows as they were.
    CHECK(Digest(db) == before);
    // With room again, it goes on: the refused change is not there, and a
    // new one commits whole.
    fake_quota(0);
    CHECK(Digest(db) == before);
    Exec(db, "UPDATE t SET k = 'ไกล' WHERE id = 100000");
    const std::string after = Digest(db);
    CHECK(after != before);
    CHECK(IntegrityCheck(db) == "ok");
    sqlite3_close(db);
    // A new worker finds the same.
    kbo_opfs_forget();
    db = Open(kOpfsDb);
    CHECK(IntegrityCheck(db) == "ok");
    CHECK(Digest(db) == after);
    sqlite3_close(db);
  }
  fake_empty();
  kbo_opfs_forget();
}

// Opens each recorded state as a new worker would and checks it.
void CheckCrashStates(bool flushed, const std::set<std::string>& committed,
                      int* checked) {
  const int n = fake_count(flushed ? 1 : 0);
  REQUIRE(n > 0);
  for (int i = 0; i < n; ++i) {
    fake_restore(flushed ? 1 : 0, i);
    kbo_opfs_forget();
    sqlite3* db = Open(kOpfsDb);
    INFO((flushed ? "power cut" : "killed tab") << " after call " << i << " of " << n);
    // Opening rolls back a hot journal; what is left is whole.
    const std::string digest = Digest(db);
    CHECK(IntegrityCheck(db) == "ok");
    CHECK(committed.count(digest) == 1);
    sqlite3_close(db);
    ++*checked;
  }
}

TEST_CASE("OPFS VFS: a crash at any point leaves a committed state", "[opfs]") {
  fake_empty();
  kbo_opfs_forget();
  std::set<std::string> committed = {"none"};
  sqlite3* db = Open(kOpfsDb);
  fake_recording(1);
  Exec(db, kCreate);
  committed.insert(Digest(db));
  Workload w(7);
  for (int i = 0; i < 25; ++i) {
    // Small enough to keep every recorded state, large enough to spill
    // (8 pages of cache) and to cross the gathering buffer.
    w.Transaction({db}, 12, 9000);
    committed.insert(Digest(db));
  }
  fake_recording(0);
  sqlite3_close(db);
  int checked = 0;
  CheckCrashStates(false, committed, &checked);
  CheckCrashStates(true, committed, &checked);
  CHECK(checked > 50);
  fake_empty();
  kbo_opfs_forget();
}

}  // namespace
