// Flavor(): the one place that picks a backend's SQL flavor.

#include "server/storage/sql_flavor.h"

namespace kbo::server::storage {

const SqlFlavor& Flavor(const Db& db) {
  switch (db.dialect()) {
    case SqlDialect::kPostgres:
      return PgFlavor();
    case SqlDialect::kSqlite:
      break;
  }
  return SqliteFlavor();
}

}  // namespace kbo::server::storage
