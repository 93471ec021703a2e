#include "server/storage/server_state.h"

#include <utility>

namespace kbo::server::storage {
namespace {

// Reads column 0 of the single server_state row as optional text.
Result<std::optional<std::string>> OptionalText(Statement& st) {
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return Status::Corruption("server_state is missing");
  }
  std::optional<std::string> out;
  if (!st.IsNull(0)) out = st.ColumnText(0);
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

}  // namespace

Result<std::optional<std::string>> ServerState::ServerId() {
  Statement& st =
      db_.Cached("SELECT server_id FROM server_state WHERE singleton = 1");
  return OptionalText(st);
}

Status ServerState::SetServerIdIfUnset(const Uuid& id, const Hlc& zero_clock) {
  Statement st(db_,
               "UPDATE server_state SET server_id = ?1, clock_hlc = ?2 "
               "WHERE singleton = 1 AND server_id IS NULL");
  st.Bind(1, std::string_view(id.ToString()))
      .Bind(2, std::string_view(zero_clock.ToString()));
  return st.Run();
}

Result<int64_t> ServerState::NextSeq() {
  Statement& get =
      db_.Cached("SELECT next_seq FROM server_state WHERE singleton = 1");
  if (!get.Step()) {
    if (!get.status().ok()) return get.status();
    return Status::Corruption("server_state is missing");
  }
  const int64_t next = get.ColumnInt(0);
  if (Status s = get.Reset(); !s.ok()) return s;
  return next;
}

Status ServerState::AdvanceNextSeq(uint64_t n) {
  Statement& put = db_.Cached(
      "UPDATE server_state SET next_seq = next_seq + ?1 WHERE singleton = 1");
  put.Bind(1, static_cast<int64_t>(n));
  return put.Run();
}

Status ServerState::SetNextSeq(uint64_t next) {
  Statement put(db_, "UPDATE server_state SET next_seq = ?1 WHERE singleton = 1");
  put.Bind(1, static_cast<int64_t>(next));
  return put.Run();
}

Result<std::optional<std::string>> ServerState::ClockText() {
  Statement& get =
      db_.Cached("SELECT clock_hlc FROM server_state WHERE singleton = 1");
  return OptionalText(get);
}

Result<int64_t> ServerState::BundleAheadMs() {
  Statement& st =
      db_.Cached("SELECT bundle_ahead_ms FROM server_state WHERE singleton = 1");
  if (!st.Step()) {
    KBO_RETURN_IF_ERROR(st.status());
    return Status::Corruption("server_state is missing");
  }
  const int64_t ms = st.ColumnInt(0);
  KBO_RETURN_IF_ERROR(st.Reset());
  return ms;
}

Status ServerState::RaiseBundleAheadMs(int64_t ms) {
  Statement& st = db_.Cached(
      "UPDATE server_state SET bundle_ahead_ms = ?1 WHERE singleton = 1 AND "
      "bundle_ahead_ms < ?1");
  st.Bind(1, ms);
  return st.Run();
}

Status ServerState::SaveClock(const Hlc& state) {
  Statement& put =
      db_.Cached("UPDATE server_state SET clock_hlc = ?1 WHERE singleton = 1");
  put.Bind(1, std::string_view(state.ToString()));
  return put.Run();
}

Status TuneSqliteServerDb(Db& db) {
  // One server, many devices. Every row has a random UUID key, so each row
  // a push inserts dirties its own leaf of the id index once the index has
  // far more leaves than a change set has rows: a 2,000-row set into a server
  // holding 1,000,000 attendance marks writes ~2,000 index pages to the WAL
  // where a fresh server writes a few hundred. Two settings make that
  // cheaper (docs/decisions.md, "Server page cache and checkpoint
  // interval"; it still costs a loaded push about 2x per row):
  //  - a 256 MiB page cache (one connection: 256 MiB per server) holds the
  //    id indexes of a few million rows, so a push reads few of them from
  //    the file (64 MiB, before, is less than a 1,000,000-mark server's
  //    id indexes and the pages a push appends to);
  //  - a checkpoint every ~128 MiB of WAL (32,000 pages) instead of ~32 MiB:
  //    an index page rewritten by a dozen pushes in a row is copied back to
  //    the database once, not once every three sets. The WAL file then
  //    stays up to ~128 MiB (more while a long pull holds a snapshot).
  // Raw SQLite, the attendance table and its indexes, 2,000-row commits:
  // 20,000 inserts into a table of 1,000,000 rows at ~7.6k/s with the old
  // settings and ~30k/s with these (docs/performance.md, "Push as the data
  // grows").
  return db.Exec(kSqliteServerPragmas);
}

}  // namespace kbo::server::storage
