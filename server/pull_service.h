#ifndef KBO_SERVER_PULL_SERVICE_H_
#define KBO_SERVER_PULL_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/change_set.h"
#include "shared/result.h"

namespace kbo::server {

// The row `row_id` of `entity` as the server holds it, whole, as a pull sends
// a row that moved into a device's districts: one RowChange per hlc, each
// cell's base its server sequence. Nothing appended if the server holds no
// such row. `approx_bytes` (if given) grows by a rough size of the encoding.
// Inside the caller's transaction (a push receipt's server_rows).
Status WholeRowChanges(Db& db, std::string_view entity, std::string_view row_id,
                       std::vector<RowChange>* out, size_t* approx_bytes);

// One pull page (GET /v1/pull?after=N&limit=M), signed by the server.
struct PullPage {
  // EncodeChangeSet(ChangeSet{device = nil, seq = 0, prev_hash = 0, rows}):
  // for every row in the device's districts whose newest write has a
  // server sequence > after, in that sequence's order, the row's cells
  // written after `since` (all of them without one, or when the row moved
  // district after it), grouped into one RowChange per hlc (ascending),
  // each cell's `base` = the server sequence of the cell's current value;
  // and, when asked for departures, in the same sequence order, a marker
  // for every row that left one of the device's districts (moved to one
  // outside them) with a write > after and is not back in them: one
  // RowChange of its district_code cell alone (its new district, hlc and
  // base). Nothing else of the row: its later life is another district's.
  std::string body;
  uint64_t after = 0;
  std::optional<uint64_t> since;  // as asked; signed with the page
  uint64_t next_cursor = 0;  // sequence of the last entry read; `after` if none
  bool more = false;         // rows remain after next_cursor
  std::string
      signature_hex;       // server Sign(kPullPageDomain, PullPageMessage(...))
  size_t rows = 0;         // entity rows in the page
  // On the last page (more == false): next_seq >> kSeqEpochShift, the
  // number of restores the sequences have jumped over (protocol.h).
  uint64_t seq_epoch = 0;
  size_t row_changes = 0;  // RowChanges in the page (what `limit` counts)
  // Asked for departures: the page marks them, and its signature covers
  // `districts` (the device's, as kDeviceDistrictsHeader sends them).
  bool departures = false;
  std::string districts;
};

// GET /v1/conflicts?after=N: wire::EncodeConflictsPage's body, signed like
// a pull page over protocol::ConflictsMessage.
struct ConflictsPage {
  std::string body;
  uint64_t after = 0;
  uint64_t next = 0;  // max feed_seq in the page; `after` if none
  bool more = false;
  std::string signature_hex;
  size_t count = 0;
};

// Serves pull pages and the conflict feed, scoped to a device's districts.
// Not thread-safe (see ServerStore).
class PullService {
 public:
  // A page also stops before its encoded size passes this (the client's
  // decoder refuses more than 8 MiB by default): at least one row is always
  // sent, and one row is at most ~14 cells of 64 KiB.
  static constexpr size_t kMaxPageBytes = size_t{4} << 20;

  explicit PullService(ServerStore& store) : store_(store) {}
  PullService(const PullService&) = delete;
  PullService& operator=(const PullService&) = delete;

  // `limit` counts RowChanges: <= 0 means protocol::kDefaultPullLimit, and
  // it is capped at protocol::kMaxPullLimit. A row's RowChanges are never
  // split across pages. Reads one consistent snapshot.
  // A device granted districts that has not pulled from 0 since is told to
  // start again: a pull with after > 0 gets kSequenceGap, reason
  // "pull_restart" (409); its pull from 0 clears that.
  // A device whose `after` is past DeviceRecord::served_seq (the server was
  // restored from a backup with its sequence-high-water file) gets the same,
  // with field "expected" served_seq: the pull goes on from there. A page
  // whose next cursor is past served_seq raises it to the database's last
  // sequence before it is returned.
  // `since` (<= after, else kInvalidArgument): the cursor at which the
  // device's pull began (the end of its last complete pull): it holds every
  // cell written up to it, not every cell up to `after` -- a row written
  // before `after` but moved past an earlier page's end by a later write
  // was never sent. Without it every row goes whole (an older client).
  // `departures` (a client that asks `left=1`): the page also marks the rows
  // that left the device's districts (PullPage::body).
  Result<PullPage> Pull(const DeviceRecord& device, uint64_t after, int limit,
                        std::optional<uint64_t> since = std::nullopt,
                        bool departures = false);

  // Conflicts in the device's districts with feed_seq > after, at most
  // `limit` (same defaults and cap as Pull). `takes_restart` (a client that
  // asks `restart=1`): an `after` past served_seq is answered like a pull's,
  // 409 pull_restart with "expected"; an older client is not checked (it
  // would stop its sync on the answer every time).
  Result<ConflictsPage> ConflictsAfter(const DeviceRecord& device,
                                       uint64_t after, int limit,
                                       bool takes_restart = false);

 private:
  ServerStore& store_;
};

}  // namespace kbo::server

#endif  // KBO_SERVER_PULL_SERVICE_H_
