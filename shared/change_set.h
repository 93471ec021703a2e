#ifndef KBO_SHARED_CHANGE_SET_H_
#define KBO_SHARED_CHANGE_SET_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "shared/hlc.h"
#include "shared/uuid.h"
#include "shared/value.h"

namespace kbo {

// One column of one row as written: DESIGN §4's change is (entity, row id,
// column, value, hlc, base); the entity, row id and hlc are shared by the
// cells of one RowChange.
struct CellWrite {
  std::string column;
  Value value;
  // Server sequence number of this cell's value as the writer last received
  // it from the server; 0 if it never received one (DESIGN §4).
  uint64_t base = 0;

  friend bool operator==(const CellWrite& a, const CellWrite& b) {
    return a.column == b.column && a.value == b.value && a.base == b.base;
  }
};

// The columns of one row written together by one user action. A delete is a
// write of the tombstone column "deleted" = 1: rows are never removed.
struct RowChange {
  std::string entity;  // catalogue name, e.g. "attendance"
  Uuid row_id;
  Hlc hlc;             // hlc.device is the device that wrote it
  std::vector<CellWrite> cells;

  friend bool operator==(const RowChange& a, const RowChange& b) {
    return a.entity == b.entity && a.row_id == b.row_id && a.hlc == b.hlc &&
           a.cells == b.cells;
  }
};

using Sha256Digest = std::array<uint8_t, 32>;

// A device's unit of sync (DESIGN §5): numbered 1, 2, 3 … with no gaps, each
// naming the hash of the one before (a hash chain), signed by the device.
struct ChangeSet {
  static constexpr uint16_t kFormatVersion = 1;

  uint16_t format_version = kFormatVersion;
  uint16_t schema_version = 0;
  Uuid device;
  uint64_t seq = 0;
  Sha256Digest prev_hash{};  // all zero for seq 1
  std::vector<RowChange> rows;

  friend bool operator==(const ChangeSet& a, const ChangeSet& b) {
    return a.format_version == b.format_version &&
           a.schema_version == b.schema_version && a.device == b.device &&
           a.seq == b.seq && a.prev_hash == b.prev_hash && a.rows == b.rows;
  }
};

// Number of cell writes in `cs`.
size_t CellCount(const ChangeSet& cs);

}  // namespace kbo

#endif  // KBO_SHARED_CHANGE_SET_H_
