// SQLite's spelling of the fragments of sql_flavor.h.

#include "server/storage/sql_flavor.h"

namespace kbo::server::storage {
namespace {

std::string P(int param) { return "?" + std::to_string(param); }

class Sqlite final : public SqlFlavor {
 public:
  // json_each is built in since SQLite 3.38.
  std::string InJsonArrayOrNull(std::string_view col, int param) const override {
    return "(" + P(param) + " IS NULL OR " + std::string(col) +
           " IN (SELECT value FROM json_each(" + P(param) + ")))";
  }
  std::string InJsonArray(std::string_view col, int param) const override {
    return std::string(col) + " IN (SELECT value FROM json_each(" + P(param) + "))";
  }
  bool StatementsAreRoundTrips() const override { return false; }
  std::string BangkokFiscalYear(std::string_view iso_time) const override {
    const std::string t(iso_time);
    return "(CAST(strftime('%Y', " + t + ", '+7 hours') AS INTEGER) + 543 +"
           " (CAST(strftime('%m', " + t + ", '+7 hours') AS INTEGER) >= 10))";
  }
  std::string DayValue(std::string_view date_text) const override {
    return "julianday(substr(" + std::string(date_text) + ", 1, 10))";
  }
  std::string DaysFrom(std::string_view day_value, int param) const override {
    return "CAST(julianday(" + P(param) + ") - " + std::string(day_value) +
           " AS INTEGER)";
  }
  std::string_view CaseInsensitiveLike() const override { return " LIKE"; }
  std::string ArrivalOrder(std::string_view alias) const override {
    return std::string(alias) + ".rowid";
  }
};

}  // namespace

const SqlFlavor& SqliteFlavor() {
  static const Sqlite flavor;
  return flavor;
}

}  // namespace kbo::server::storage
