#include "server/pull_service.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/schema.h"
#include "server/conflicts.h"
#include "server/log.h"
#include "server/storage/devices.h"
#include "server/storage/rows.h"
#include "server/storage/server_state.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/migrate.h"
#include "shared/wire.h"

namespace kbo::server {
namespace {

int ClampLimit(int limit) {
  if (limit <= 0) return protocol::kDefaultPullLimit;
  return std::min(limit, protocol::kMaxPullLimit);
}

using storage::IndexedRow;

// The RowChanges of one row that a device with cursor `after` lacks, and a
// rough size of their encoding (for the page size bound).
Status RowChangesAfter(Db& db, const IndexedRow& row, uint64_t after,
                       std::vector<RowChange>* out, size_t* approx_bytes) {
  const Entity* entity = FindEntity(row.entity);
  Result<Uuid> id = Uuid::Parse(row.row_id);
  if (entity == nullptr || !id.ok()) {
    return Status::Corruption("row_seq names an unknown row " + row.entity +
                              " " + row.row_id);
  }
  Result<std::optional<ReplicaRow>> stored = storage::Rows(db).Read(*entity, *id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return Status::Corruption("row_seq names a missing row " + row.entity +
                              " " + row.row_id);
  }
  const ReplicaRow& current = **stored;
  // Values by column name: the catalogue's columns, then deleted.
  auto value_of = [entity, &current](std::string_view column) -> const Value* {
    for (size_t i = 0; i < entity->columns.size(); ++i) {
      if (entity->columns[i].name == column) return &current.values[i];
    }
    if (column == kDeletedColumn) return &current.values.back();
    return nullptr;
  };

  std::map<Hlc, RowChange> by_hlc;
  for (const auto& [column, version] : current.versions) {
    if (version.seq <= after) continue;
    const Value* v = value_of(column);
    if (v == nullptr) continue;  // not a column this catalogue knows
    RowChange& rc = by_hlc[version.hlc];
    if (rc.cells.empty()) {
      rc.entity = std::string(entity->name);
      rc.row_id = *id;
      rc.hlc = version.hlc;
      *approx_bytes += rc.entity.size() + 64;
    }
    rc.cells.push_back({column, *v, version.seq});
    *approx_bytes += column.size() + v->text().size() + 24;
  }
  for (auto& [hlc, rc] : by_hlc) out->push_back(std::move(rc));
  return Status();
}

// The marker of a row that left one of `device`'s districts: its
// district_code cell alone (value, hlc, base), so the device learns where it
// went and nothing of its life there; nothing when it is back in the
// device's districts (its own entry sends it) or has no district.
Status DepartureMarker(Db& db, const IndexedRow& row, const DeviceRecord& device,
                       std::vector<RowChange>* out, size_t* approx_bytes) {
  const Entity* entity = FindEntity(row.entity);
  Result<Uuid> id = Uuid::Parse(row.row_id);
  if (entity == nullptr || !id.ok()) {
    return Status::Corruption("row_left names an unknown row " + row.entity + " " +
                              row.row_id);
  }
  Result<std::optional<ReplicaRow>> stored = storage::Rows(db).Read(*entity, *id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return Status::Corruption("row_left names a missing row " + row.entity + " " +
                              row.row_id);
  }
  const ReplicaRow& current = **stored;
  for (size_t i = 0; i < entity->columns.size(); ++i) {
    if (entity->columns[i].name != kDistrictColumn) continue;
    const Value& district = current.values[i];
    auto version = current.versions.find(kDistrictColumn);
    if (district.type() != Value::Type::kText || version == current.versions.end() ||
        device.scope.Contains(district.text())) {
      return Status();
    }
    RowChange rc;
    rc.entity = std::string(entity->name);
    rc.row_id = *id;
    rc.hlc = version->second.hlc;
    rc.cells.push_back({std::string(kDistrictColumn), district, version->second.seq});
    *approx_bytes += rc.entity.size() + 64 + kDistrictColumn.size() + 24;
    out->push_back(std::move(rc));
    return Status();
  }
  return Status();
}

// A device's cursor past what this database ever let it hold
// (DeviceRecord::served_seq): the server was restored from a backup taken
// before the device pulled past it, with its sequence-high-water file, so
// its sequences did not jump, and the rows and conflict records it numbers
// again from the backup's sequence would sit behind the device's cursor. It
// goes back to served_seq: every row and record up to there it holds, the
// same as the restored database's (they were in the backup).
Status CheckCursor(const DeviceRecord& device, uint64_t after, std::string_view what) {
  if (!device.served_seq.has_value() || after <= *device.served_seq) return Status();
  LogLine("device " + device.id.ToString() + " " + std::string(what) + " after " +
          std::to_string(after) + ", past the " + std::to_string(*device.served_seq) +
          " this database let it hold (restored from a backup?): sent back to " +
          std::to_string(*device.served_seq));
  return Status::SequenceGap(
             "this server holds less than this device received from it before "
             "(restored from a backup?); pull again from " +
             std::to_string(*device.served_seq))
      .WithReason("pull_restart")
      .With(field::kExpected, *device.served_seq);
}

// Before a page whose cursor is `cursor` goes (inside its transaction
// `txn`, committed here if written): the device's served_seq rises to the
// database's last sequence, which is past any cursor this or another page
// built now can carry. Once a pull: the pages after it carry cursors below
// it unless other devices pushed meanwhile. Never past the last sequence:
// a cursor the device gave and nobody checked (an older client's conflict
// list) must not raise it beyond what the database holds.
Status NoteServed(Db& db, const DeviceRecord& device, uint64_t cursor, Transaction* txn) {
  if (device.served_seq.has_value() && cursor <= *device.served_seq) return Status();
  Result<int64_t> next = storage::ServerState(db).NextSeq();
  if (!next.ok()) return next.status();
  const uint64_t last = *next > 0 ? static_cast<uint64_t>(*next) - 1 : 0;
  if (device.served_seq.has_value() && last <= *device.served_seq) return Status();
  if (Status s = storage::Devices(db).NoteServed(device.id.ToString(), last);
      !s.ok()) {
    return s;
  }
  return txn->Commit();
}

}  // namespace

Status WholeRowChanges(Db& db, std::string_view entity, std::string_view row_id,
                       std::vector<RowChange>* out, size_t* approx_bytes) {
  const Entity* e = FindEntity(entity);
  Result<Uuid> id = Uuid::Parse(row_id);
  if (e == nullptr || !id.ok()) return Status();  // not a row anyone holds
  Result<std::optional<ReplicaRow>> stored = storage::Rows(db).Read(*e, *id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return Status();
  IndexedRow row{std::string(e->name), id->ToString(), 0, 0};
  size_t ignored = 0;
  return RowChangesAfter(db, row, 0, out,
                         approx_bytes != nullptr ? approx_bytes : &ignored);
}

Result<PullPage> PullService::Pull(const DeviceRecord& device, uint64_t after,
                                   int limit, std::optional<uint64_t> since,
                                   bool departures) {
  if (since.has_value() && *since > after) {
    return Status::InvalidArgument("since (" + std::to_string(*since) +
                                   ") must not be past after (" +
                                   std::to_string(after) + ")")
        .WithReason("invalid_since");
  }
  if (device.grant_seq != 0) {
    // Granted districts since its last pull from the start: a pull that
    // goes on from a cursor is sent back to 0; one from 0 settles it (its
    // later pages go on from their cursors as usual).
    if (after > 0) {
      return Status::SequenceGap(
                 "this device was granted more districts; pull again "
                 "from 0 to receive their rows whole")
          .WithReason("pull_restart");
    }
    if (Status s = storage::Devices(store_.db())
                       .ClearGrant(device.id.ToString(), device.grant_seq);
        !s.ok()) {
      return s;
    }
  }
  if (Status s = CheckCursor(device, after, "pulls"); !s.ok()) return s;
  const size_t max_changes = static_cast<size_t>(ClampLimit(limit));
  Db& db = store_.db();
  Transaction txn(db);  // one snapshot for the whole page
  if (!txn.status().ok()) return txn.status();

  // Every row yields at least one RowChange, so limit + 1 rows are enough to
  // fill the page and know whether more remain.
  storage::PullIndex index(db);
  Result<std::vector<IndexedRow>> indexed = index.After(
      after, max_changes + 1, device.scope.all, device.scope.districts);
  if (!indexed.ok()) return indexed.status();
  // And the rows that left the device's districts since (a device of every
  // district sees where they went in their own entries), in one sequence
  // order with the rest.
  std::vector<IndexedRow> candidates = std::move(*indexed);
  if (departures && !device.scope.all) {
    Result<std::vector<IndexedRow>> left =
        index.LeftAfter(after, max_changes + 1, device.scope.districts);
    if (!left.ok()) return left.status();
    if (!left->empty()) {
      std::vector<IndexedRow> both;
      both.reserve(candidates.size() + left->size());
      std::merge(std::make_move_iterator(candidates.begin()),
                 std::make_move_iterator(candidates.end()),
                 std::make_move_iterator(left->begin()),
                 std::make_move_iterator(left->end()), std::back_inserter(both),
                 [](const IndexedRow& a, const IndexedRow& b) {
                   return a.max_seq < b.max_seq;
                 });
      if (both.size() > max_changes + 1) both.resize(max_changes + 1);
      candidates = std::move(both);
    }
  }

  PullPage page;
  page.after = after;
  page.since = since;
  page.next_cursor = after;
  ChangeSet cs;
  cs.schema_version = static_cast<uint16_t>(LatestSchemaVersion(
      schema::kReplicaMigrations, schema::kReplicaMigrations_count));
  size_t bytes = 0;
  size_t consumed = 0;
  for (const IndexedRow& row : candidates) {
    std::vector<RowChange> changes;
    size_t row_bytes = 0;
    // The cells the device may lack: those after the start of its pull
    // (`since`), not after this page's cursor -- a row written before
    // `after` and written again since sits past the earlier pages, which
    // never sent its older cells. A row that moved district after the start
    // goes whole: a device of its new district may never have had its older
    // cells (issue 9, D8); so does every row for a device that does not say
    // where its pull began.
    const uint64_t floor = since.value_or(0);
    const uint64_t row_after = row.moved_seq > floor ? 0 : floor;
    if (row.left) {
      // It left one of the device's districts: a marker of where it went,
      // nothing more -- unless it is back in the device's districts, where
      // its own entry sends it.
      if (Status s = DepartureMarker(db, row, device, &changes, &row_bytes); !s.ok()) {
        return s;
      }
    } else if (Status s = RowChangesAfter(db, row, row_after, &changes, &row_bytes);
               !s.ok()) {
      return s;
    }
    if (page.rows > 0 && (cs.rows.size() + changes.size() > max_changes ||
                          bytes + row_bytes > kMaxPageBytes)) {
      break;
    }
    for (RowChange& rc : changes) cs.rows.push_back(std::move(rc));
    bytes += row_bytes;
    if (!changes.empty()) ++page.rows;
    page.next_cursor = row.max_seq;
    ++consumed;
  }
  page.more =
      consumed < candidates.size() || candidates.size() == max_changes + 1;
  page.row_changes = cs.rows.size();
  if (!page.more) {
    Result<int64_t> next = storage::ServerState(db).NextSeq();
    if (!next.ok()) return next.status();
    page.seq_epoch = static_cast<uint64_t>(*next) >> protocol::kSeqEpochShift;
  }
  if (Status s = NoteServed(db, device, page.next_cursor, &txn); !s.ok()) return s;
  page.body = wire::EncodePullPage(cs.schema_version, std::move(cs.rows));
  page.departures = departures;
  page.districts = device.scope.ToString();
  const Signature sig = store_.key().Sign(
      kPullPageDomain,
      protocol::PullPageMessage(
          device.id.ToString(), after, page.next_cursor, page.more, page.body, since,
          departures ? std::optional<std::string_view>(page.districts) : std::nullopt));
  page.signature_hex = SignatureToHex(sig);
  return page;
}

Result<ConflictsPage> PullService::ConflictsAfter(const DeviceRecord& device,
                                                  uint64_t after, int limit,
                                                  bool takes_restart) {
  // A client that does not say it goes back (an older kbo) would stop its
  // sync on the answer every time: it gets the records after its cursor, as
  // before.
  if (takes_restart) {
    if (Status s = CheckCursor(device, after, "asks for conflicts"); !s.ok()) return s;
  }
  const size_t max = static_cast<size_t>(ClampLimit(limit));
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<std::vector<ConflictRecord>> feed =
      ConflictFeed(db, after, device.scope, max + 1);
  if (!feed.ok()) return feed.status();
  ConflictsPage page;
  page.after = after;
  page.next = after;
  page.more = feed->size() > max;
  if (page.more) feed->resize(max);
  wire::ConflictsPage wire_page;
  for (const ConflictRecord& c : *feed) {
    wire_page.conflicts.push_back(ToWire(c));
    page.next = std::max(page.next, c.feed_seq);
  }
  page.count = feed->size();
  if (Status s = NoteServed(db, device, page.next, &txn); !s.ok()) return s;
  wire_page.next = page.next;
  wire_page.more = page.more;
  page.body = wire::EncodeConflictsPage(wire_page);
  const Signature sig = store_.key().Sign(
      kPullPageDomain,
      protocol::ConflictsMessage(device.id.ToString(), after, page.body));
  page.signature_hex = SignatureToHex(sig);
  return page;
}

}  // namespace kbo::server
