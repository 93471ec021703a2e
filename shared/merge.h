#ifndef KBO_SHARED_MERGE_H_
#define KBO_SHARED_MERGE_H_

#include <cstdint>

#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/value.h"

namespace kbo {

// The merge rule of DESIGN §4, as pure functions: no I/O, no clock, no
// globals. Both the client and the server call these through the applier.

// A cell's value and the timestamp of the write that set it.
struct CellVersion {
  Hlc hlc;
  Value value;
};

// True iff `incoming` replaces `current` under the column's policy.
//   kLastWriterWins: incoming.hlc > current.hlc (device id breaks ties).
//   kForward: the later enumeration value wins; equal ranks fall back to hlc.
//     Values outside the enumeration rank below every known value.
// Both are strict total orders on (value, hlc) pairs, so the winner of any set
// of writes is the same whatever the order or duplication.
bool Wins(const Column& column, const CellVersion& incoming,
          const CellVersion& current);
// The same for the system columns (deleted): last writer wins.
bool WinsLww(const CellVersion& incoming, const CellVersion& current);

// The server's conflict predicate (DESIGN §4). An incoming write conflicts
// with a cell's current value iff it comes from another device, carries a
// different value, and its `base` is older than the current value's server
// sequence: its writer never saw the current value.
struct IncomingWrite {
  Uuid device;
  Value value;
  uint64_t base = 0;
};
struct CurrentCell {
  Uuid device;      // device of the write that set the current value
  Value value;
  uint64_t seq = 0; // server sequence of that write
};
bool IsConflict(const IncomingWrite& incoming, const CurrentCell& current);

}  // namespace kbo

#endif  // KBO_SHARED_MERGE_H_
