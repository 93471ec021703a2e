#ifndef KBO_SERVER_ROW_HISTORY_H_
#define KBO_SERVER_ROW_HISTORY_H_

// A row's history (issue 10, "History and audit"), read back from the
// append-only change_set_log: every accepted change set that wrote the row,
// decoded with the change-set codec, its row changes applied in server
// sequence with the merge rule so each shows old -> new, plus the conflicts
// found on the row and their resolutions. Read-only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/conflict_view.h"
#include "server/server_store.h"
#include "shared/labels.h"
#include "shared/result.h"

namespace kbo::server {

// One column of one change.
struct HistoryCell {
  std::string column;
  std::string column_label;
  std::string old_value;  // label in the language; "" for empty
  std::string new_value;  // label
  std::string old_text;   // display texts (codes)
  std::string new_text;
  // False when the history was capped before this cell's earlier writes:
  // the old value is not known here.
  bool old_known = true;
  // False when the write did not take: it lost to a value already held (an
  // older hlc, or a `forward` column that never moves back).
  bool applied = true;
};

struct HistoryEntry {
  enum class Kind {
    kChange,      // a row change of a device, or of the office (server)
    kConflict,    // a conflict found on the row
    kResolution,  // the office's resolution of one (also the change it wrote)
  };
  Kind kind = Kind::kChange;
  uint64_t server_seq = 0;  // the write's server sequence (kConflict: the
                            // incoming write's)
  std::string when;         // Bangkok time (BE in Thai) of the write's hlc,
                            // or of detection / resolution
  std::string when_iso;     // ISO 8601 UTC
  std::string received_at;  // ISO 8601 UTC: when the server accepted it
  WriterInfo writer;        // kResolution: the office user
  bool created = false;     // the row's first write (not when capped)
  // kChange / kResolution: the columns the write changed (cells written with
  // the value already held are left out).
  std::vector<HistoryCell> cells;
  // kConflict / kResolution:
  std::string conflict_id;
  std::string column_label;   // the conflict's column
  std::string current_value;  // kConflict: the two values (labels)
  std::string incoming_value;
  std::string resolved_value;  // kResolution
  // kResolution, and an office edit (kChange by the server, its author
  // taken from the audit log): the reason as the person gave it.
  std::string reason;
};

struct RowHistory {
  std::vector<HistoryEntry> entries;  // oldest first
  // True when the row has more change sets than the cap: only the latest
  // `max_change_sets` are shown (and old values before them are unknown).
  bool truncated = false;
  size_t change_sets = 0;  // change sets read
};

struct HistoryLimits {
  // Change sets read for one row, the latest kept. Default: 500 (a row
  // edited daily for a year is well within; a page stays fast).
  size_t max_change_sets = 500;
  // Bytes of change sets decoded for one row. Default: 32 MiB.
  size_t max_bytes = size_t{32} << 20;
};

// The history of `entity` row `row_id`.
//   kInvalidArgument: unknown entity or a row id that is not a uuid;
//   kNotFound: the server holds no such row;
//   kCorruption: a logged change set that does not decode (never expected:
//     each was verified when it was accepted).
Result<RowHistory> LoadRowHistory(ServerStore& store, std::string_view entity,
                                  std::string_view row_id, Lang lang,
                                  const HistoryLimits& limits = {});

// Fills `view`'s current.with and incoming.with: the other cells each side's
// write carried (its note beside a mark's status), read from the row's
// history -- the cells that write changed, not the conflict's column, the
// row's names (natural key, references, district) or `deleted`. A side
// whose write the history no longer reaches (capped, or a resolution's
// value) is left empty. Errors as LoadRowHistory's; kNotFound when the
// server no longer holds the row.
Status AddWrittenWith(ServerStore& store, ConflictView* view, Lang lang);

// The history as JSON: {"entity", "row_id", "truncated", "change_sets",
// "entries": [{"kind": "change"|"conflict"|"resolution", "server_seq",
// "when", "when_iso", "received_at", "who", "role", "role_code", "office",
// "device_id", "created", "cells": [{"column", "column_label", "old",
// "new", "old_text", "new_text", "old_known", "applied"}], "conflict_id",
// "column_label", "current_value", "incoming_value", "resolved_value",
// "reason"}]}.
std::string RowHistoryJson(std::string_view entity, std::string_view row_id,
                           const RowHistory& history);

// The history as text for a terminal, one block per entry.
std::string RowHistoryText(const RowHistory& history, Lang lang);

}  // namespace kbo::server

#endif  // KBO_SERVER_ROW_HISTORY_H_
