#ifndef KBO_SERVER_STORAGE_CHANGE_LOG_H_
#define KBO_SERVER_STORAGE_CHANGE_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// One accepted change set for change_set_log. Views: the caller's bytes
// must outlive Append.
struct LogEntry {
  std::string_view device_id;
  uint64_t seq = 0;
  std::string_view hash;       // 32 raw bytes
  std::string_view bytes;      // the verbatim change set (stored compressed)
  std::string_view signature;  // 64 raw bytes
  std::string_view received_at;
  uint64_t first_server_seq = 0;
  std::string_view receipt;    // the answer given (JSON)
};

// A device's newest logged set.
struct LatestSet {
  uint64_t seq = 0;
  std::string hash;  // raw bytes
};

// What a later push of the same (device, seq) is compared with.
struct LoggedReceipt {
  std::string hash;     // raw bytes
  std::string receipt;  // JSON
};

// A logged set as the row history reads it.
struct LoggedSet {
  std::string device_id;
  uint64_t seq = 0;
  std::string bytes;  // the verbatim change set
  uint64_t first_server_seq = 0;
  std::string received_at;
};

// The sets SetsMentioning found, newest first.
struct LoggedSets {
  std::vector<LoggedSet> sets;
  bool truncated = false;  // more sets, or more bytes, than asked for
};

// The append-only log of accepted change sets (table change_set_log).
class ChangeLog {
 public:
  explicit ChangeLog(Db& db) : db_(db) {}

  Status Append(const LogEntry& set);
  // The hash and receipt of device `device_id`'s set `seq`; nullopt if the
  // log has none.
  Result<std::optional<LoggedReceipt>> Receipt(std::string_view device_id,
                                               uint64_t seq);
  // The newest set of `device_id` (seq and hash only); nullopt if none.
  Result<std::optional<LatestSet>> Latest(std::string_view device_id);
  // The sets whose bytes contain `needle` (a row id's 16 raw bytes), the
  // latest first: at most `max_sets`, and no more than `max_bytes` of sets
  // in all (`truncated` says some were left out).
  Result<LoggedSets> SetsMentioning(std::string_view needle, size_t max_sets,
                                    size_t max_bytes);
  // The verbatim bytes of device `device_id`'s set `seq` (decompressed if
  // the log keeps it compressed). kNotFound if the log has none, kCorruption
  // if what it keeps does not decompress.
  Result<std::string> SetBytes(std::string_view device_id, uint64_t seq);

 private:
  Db& db_;
};

// One refused row change kept for the office (table refused_row).
struct RefusedRowRecord {
  std::string device_id;
  uint64_t seq = 0;
  uint64_t row_index = 0;
  std::string entity;
  std::string row_id;
  std::string reason;
  std::string message;
  std::string cells_json;
  std::string refused_at;
  // The row it waits for (reason waits_for_row); empty if none.
  std::string waits_entity;
  std::string waits_row_id;
};

// A refusal waiting for a row: which row change of which set.
struct WaitingRefusal {
  std::string device_id;
  uint64_t seq = 0;
  uint64_t row_index = 0;
  std::string waits_entity;  // the row it waits for
  std::string waits_row_id;
  std::string entity;  // its own row
  std::string row_id;
};

struct OpenRefusal {
  bool open = false;
  bool waiting = false;  // (of those open) one waits for a row
};

// A refused row change with its device's role and settling, for the
// office (`kbo-server refused list`).
struct RefusedRowView {
  RefusedRowRecord row;
  std::optional<std::string> role;  // nullopt if the device is unknown
  std::optional<std::string> settled_at;
  std::optional<int64_t> settled_seq;
};

// Refused row changes and their settling (table refused_row).
class RefusedRows {
 public:
  explicit RefusedRows(Db& db) : db_(db) {}

  Status Insert(const RefusedRowRecord& r);
  // Whether device `device_id` has any refusal not settled yet.
  Result<bool> AnyOpen(std::string_view device_id);
  // How many of device `device_id`'s refusals are not settled yet.
  Result<int64_t> CountOpen(std::string_view device_id);
  // (device_id, seq, row_index) of every refusal of the row, and the
  // server sequence of those applied after waiting (0 for the others).
  Result<std::vector<std::pair<std::tuple<std::string, uint64_t, uint64_t>, uint64_t>>> OfRow(
      std::string_view entity, std::string_view row_id);
  // Every open refusal (settled ones too with `include_settled`), newest
  // first.
  Result<std::vector<RefusedRowView>> List(bool include_settled);
  // Settles the refusal of row change `row_index` of the device's set `seq`
  // by that set itself: a later change of the same set made it good
  // (protocol::RefusalsMadeGoodInSet).
  Status SettleInSet(std::string_view device_id, uint64_t seq, uint64_t row_index,
                     std::string_view now_iso);
  // Whether device `device_id` has an open refusal of (entity, row_id), and
  // whether one of them waits for a row.
  Result<OpenRefusal> OpenOf(std::string_view device_id, std::string_view entity,
                             std::string_view row_id);
  // Whether any open refusal waits for a row.
  Result<bool> AnyWaiting();
  // The open refusals waiting for one of `rows` ((entity, row id)), by
  // device, set and position.
  Result<std::vector<WaitingRefusal>> WaitingFor(
      const std::vector<std::pair<std::string, std::string>>& rows);
  // A waiting refusal applied at last, with server sequence `applied_seq`.
  Status SettleApplied(const WaitingRefusal& w, std::string_view now_iso,
                       uint64_t applied_seq);
  // A waiting refusal tried again and refused again: its reason, message
  // and the row it waits for now ("" for none).
  Status Rerefuse(const WaitingRefusal& w, std::string_view reason,
                  std::string_view message, std::string_view waits_entity,
                  std::string_view waits_row_id);
  // Settles the open refusals of (entity, row_id) from sets before `seq`
  // but those waiting for a row (applied when it arrives, by their hlcs):
  // settled_at = now_iso, settled_seq = seq.
  Status Settle(std::string_view device_id, std::string_view entity,
                std::string_view row_id, uint64_t seq, std::string_view now_iso);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_CHANGE_LOG_H_
