// PostgreSQL's spelling of the fragments of sql_flavor.h.

#include "server/storage/sql_flavor.h"

namespace kbo::server::storage {
namespace {

std::string P(int param) { return "?" + std::to_string(param); }

class Pg final : public SqlFlavor {
 public:
  std::string InJsonArrayOrNull(std::string_view col, int param) const override {
    const std::string array = "CAST(" + P(param) + " AS jsonb)";
    return "(" + array + " IS NULL OR " + std::string(col) +
           " IN (SELECT jsonb_array_elements_text(" + array + ")))";
  }
  std::string InJsonArray(std::string_view col, int param) const override {
    return std::string(col) + " = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(" +
           P(param) + " AS jsonb))))";
  }
  bool StatementsAreRoundTrips() const override { return true; }
  // kbo_time() (schema/server-pg/0002_sqlite_functions.sql) reads the
  // stored ISO 8601 text.
  std::string BangkokFiscalYear(std::string_view iso_time) const override {
    const std::string t(iso_time);
    return "(CAST(EXTRACT(YEAR FROM kbo_time(" + t + ") + INTERVAL '7 hours')"
           " AS BIGINT) + 543 + CAST(EXTRACT(MONTH FROM kbo_time(" + t + ") +"
           " INTERVAL '7 hours') >= 10 AS INTEGER))";
  }
  std::string DayValue(std::string_view date_text) const override {
    return "CAST(kbo_time(substr(" + std::string(date_text) +
           ", 1, 10)) AS DATE)";
  }
  std::string DaysFrom(std::string_view day_value, int param) const override {
    return "(CAST(CAST(" + P(param) + " AS TEXT) AS DATE) - " +
           std::string(day_value) + ")";
  }
  std::string_view CaseInsensitiveLike() const override { return " ILIKE"; }
  std::string ArrivalOrder(std::string_view alias) const override {
    return std::string(alias) + ".id";
  }
};

}  // namespace

const SqlFlavor& PgFlavor() {
  static const Pg flavor;
  return flavor;
}

}  // namespace kbo::server::storage
