#include "server/server_write.h"

#include <cstring>
#include <map>

#include "schema/schema.h"
#include "server/storage/change_log.h"
#include "server/storage/rows.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/signing.h"
#include "shared/sqlite/migrate.h"

namespace kbo::server {

Result<ServerWrite> WriteAsServer(
    ServerStore& store, std::string_view entity_name, const Uuid& row_id,
    const std::vector<std::pair<std::string, Value>>& cells) {
  Db& db = store.db();
  const Entity* entity = FindEntity(entity_name);
  if (entity == nullptr) {
    return Status::InvalidArgument("no entity '" + std::string(entity_name) +
                                   "'");
  }
  if (cells.empty()) return Status::InvalidArgument("nothing to change");
  for (const auto& [column, value] : cells) {
    KBO_RETURN_IF_ERROR(ValidateCell(*entity, column, value));
  }
  storage::Rows rows(db);
  KBO_ASSIGN_OR_RETURN(auto row, rows.Read(*entity, row_id));
  if (!row) {
    return Status::NotFound("no " + std::string(entity_name) + " with id " +
                            row_id.ToString());
  }
  const auto& versions = row->versions;

  KBO_ASSIGN_OR_RETURN(Hlc last, store.LoadClock());
  HybridClock clock(&store.wall(), store.server_id(), last);
  RowChange change;
  change.entity = std::string(entity_name);
  change.row_id = row_id;
  for (const auto& [column, value] : cells) {
    uint64_t base = 0;
    if (auto it = versions.find(column); it != versions.end()) {
      KBO_RETURN_IF_ERROR(clock.Observe(it->second.hlc));
      base = it->second.seq;
    }
    change.cells.push_back({column, value, base});
  }
  change.hlc = clock.Now();
  KBO_RETURN_IF_ERROR(store.SaveClock(clock.State()));

  ChangeSet cs;
  cs.device = store.server_id();
  cs.schema_version = static_cast<uint16_t>(LatestSchemaVersion(
      schema::kReplicaMigrations, schema::kReplicaMigrations_count));
  cs.seq = 1;
  {
    KBO_ASSIGN_OR_RETURN(std::optional<storage::LatestSet> latest,
                         storage::ChangeLog(db).Latest(store.server_id().ToString()));
    if (latest.has_value()) {
      cs.seq = latest->seq + 1;
      if (latest->hash.size() != cs.prev_hash.size()) {
        return Status::Corruption(
            "the server's last change set hash is damaged");
      }
      std::memcpy(cs.prev_hash.data(), latest->hash.data(), latest->hash.size());
    }
  }
  cs.rows.push_back(change);
  const std::string bytes = EncodeChangeSet(cs);
  const Signature signature = store.key().Sign(kChangeSetDomain, bytes);

  ServerWrite out;
  out.hlc = change.hlc;
  KBO_ASSIGN_OR_RETURN(out.applied, ApplyAtServer(store, cs, nullptr));
  KBO_ASSIGN_OR_RETURN(auto after, rows.CellVersions(entity_name, row_id));
  for (const auto& [column, value] : cells) {
    (void)value;
    auto it = after.find(column);
    if (it == after.end() || it->second.hlc != change.hlc) {
      out.lost.push_back(column);
    }
  }

  const Sha256Digest hash = HashChangeSetBytes(bytes);
  protocol::Receipt r;
  r.device_id = cs.device.ToString();
  r.seq = cs.seq;
  r.hash = HexEncode(hash);
  r.first_server_seq = out.applied.first_seq;
  r.last_server_seq = out.applied.last_seq;
  r.rows = out.applied.rows;
  r.conflicts = out.applied.conflicts;
  r.received_at = store.NowIso();
  KBO_RETURN_IF_ERROR(AppendToLog(db, r, hash, bytes, signature,
                                  SignedReceiptJson(store.key(), r)));
  return out;
}

}  // namespace kbo::server
