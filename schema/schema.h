#ifndef KBO_SCHEMA_SCHEMA_H_
#define KBO_SCHEMA_SCHEMA_H_

#include <cstddef>

#include "shared/embedded.h"

// Migrations and reference data embedded at build time (schema/CMakeLists.txt).
namespace kbo::schema {

extern const kbo::EmbeddedFile kClientMigrations[];
extern const size_t kClientMigrations_count;
extern const kbo::EmbeddedFile kServerMigrations[];
extern const size_t kServerMigrations_count;
// kbo-server on PostgreSQL (schema/server-pg): the same tables as
// kServerMigrations (tests/pg/schema_test.cc), numbered on their own; the
// version is in the table schema_version, not PRAGMA user_version.
extern const kbo::EmbeddedFile kServerPgMigrations[];
extern const size_t kServerPgMigrations_count;
// Entity tables only: a bare replica for tests and tools.
extern const kbo::EmbeddedFile kReplicaMigrations[];
extern const size_t kReplicaMigrations_count;
// schema/chiangmai-districts.csv (code,name_th,name_en).
extern const kbo::EmbeddedFile kDistrictsCsv[];
extern const size_t kDistrictsCsv_count;

}  // namespace kbo::schema

#endif  // KBO_SCHEMA_SCHEMA_H_
