#ifndef KBO_TESTS_SUPPORT_REPLICA_H_
#define KBO_TESTS_SUPPORT_REPLICA_H_

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "schema/schema.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"
#include "shared/sqlite/migrate.h"

namespace kbo::testing {

// A bare replica (the entity tables, with their cell versions) in memory.
inline std::unique_ptr<Db> NewReplica() {
  auto db = Db::Open(":memory:");
  REQUIRE(db.ok());
  Status s = Migrate(**db, schema::kReplicaMigrations,
                     schema::kReplicaMigrations_count);
  REQUIRE(s.ok());
  return std::move(db).value();
}

// Applies `cs` in one transaction; returns the status.
inline Status ApplyInTxn(Db& db, const ChangeSet& cs,
                         const ApplyOptions& options = ApplyOptions{}) {
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  if (Status s = ApplyChangeSet(db, cs, options); !s.ok()) return s;
  return txn.Commit();
}

// The raw cell_versions of producer `id` (shared/replica/apply.cc's
// private encoding), and a way to overwrite it with damaged bytes.
inline std::string VersionsBlob(Db& db, const Uuid& id) {
  Statement st(db, "SELECT cell_versions FROM producer WHERE id = ?1");
  st.Bind(1, std::string_view(id.ToString()));
  REQUIRE(st.Step());
  return st.ColumnBlob(0);
}

inline void SetVersionsBlob(Db& db, const Uuid& id, const std::string& bytes) {
  Statement st(db, "UPDATE producer SET cell_versions = ?2 WHERE id = ?1");
  st.Bind(1, std::string_view(id.ToString())).BindBlob(2, bytes);
  REQUIRE(st.Run().ok());
}

inline std::string Dump(Db& db) {
  auto d = DumpReplicaState(db);
  REQUIRE(d.ok());
  return *d;
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_REPLICA_H_
