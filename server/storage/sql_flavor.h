#ifndef KBO_SERVER_STORAGE_SQL_FLAVOR_H_
#define KBO_SERVER_STORAGE_SQL_FLAVOR_H_

// The few SQL fragments that SQLite and PostgreSQL spell differently
// (issue 11: every dialect-specific statement lives in its backend). Most
// statements are written once in the subset both understand (?N parameters,
// ON CONFLICT ... DO, RETURNING, window functions); a store that needs one
// of these fragments asks Flavor(db) for it, so no service, and no store
// either, tests db.dialect() itself. SQLite's spelling is in
// sqlite_flavor.cc, PostgreSQL's in pg_flavor.cc; Flavor() is the one place
// that chooses between them.

#include <string>
#include <string_view>

#include "shared/sqlite/db.h"

namespace kbo::server::storage {

class SqlFlavor {
 public:
  virtual ~SqlFlavor() = default;

  // "<col> is in the JSON array of texts bound as ?<param>, or ?<param> is
  // NULL" (a report's scope: one statement text for every scope, and no
  // code is ever spliced into SQL). SQLite reads the array with json_each,
  // PostgreSQL with jsonb_array_elements_text.
  virtual std::string InJsonArrayOrNull(std::string_view col,
                                        int param) const = 0;

  // "<col> is in the JSON array of texts bound as ?<param>", in a form the
  // planner answers with lookups in an index on <col> (one query for many
  // ids: SQLite's IN over json_each, PostgreSQL's = ANY of an array).
  virtual std::string InJsonArray(std::string_view col, int param) const = 0;

  // Whether every statement is a round trip to another process
  // (PostgreSQL), not a call into a library in this one (SQLite): reading
  // many rows with one query instead of one each pays only then (measured,
  // docs/performance.md; on SQLite it was slower).
  virtual bool StatementsAreRoundTrips() const = 0;

  // The Buddhist Era fiscal year (from 1 October) of the Bangkok date of
  // `iso_time`, an ISO 8601 UTC text column: an integer.
  virtual std::string BangkokFiscalYear(std::string_view iso_time) const = 0;

  // `date_text` ("YYYY-MM-DD...", first 10 characters used) as a day
  // value that DaysFrom can subtract; NULL when it holds no date.
  virtual std::string DayValue(std::string_view date_text) const = 0;

  // Whole days from `day_value` (a DayValue) to the "YYYY-MM-DD" text
  // bound as ?<param>: an integer.
  virtual std::string DaysFrom(std::string_view day_value,
                               int param) const = 0;

  // The operator that matches a LIKE pattern ignoring ASCII case (SQLite's
  // LIKE does; PostgreSQL's needs ILIKE). Thai has no case.
  virtual std::string_view CaseInsensitiveLike() const = 0;

  // The column of table alias `alias` that orders its rows by arrival:
  // SQLite's rowid; PostgreSQL keeps no arrival order, so there the id
  // (stable pages either way).
  virtual std::string ArrivalOrder(std::string_view alias) const = 0;
};

// The flavor of `db`'s backend (a static instance; never null).
const SqlFlavor& Flavor(const Db& db);

// The two implementations, for Flavor() and for the tests.
const SqlFlavor& SqliteFlavor();
const SqlFlavor& PgFlavor();

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_SQL_FLAVOR_H_
