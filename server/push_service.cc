#include "server/push_service.h"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "schema/schema.h"
#include "server/log.h"
#include "server/pull_service.h"
#include "server/server_apply.h"
#include "server/storage/change_log.h"
#include "server/storage/devices.h"
#include "server/storage/rows.h"
#include "server/storage/server_state.h"
#include "server/storage/users.h"
#include "shared/change_set_codec.h"
#include "shared/entities.h"
#include "shared/hlc.h"
#include "shared/labels.h"
#include "shared/sqlite/migrate.h"
#include "shared/wire.h"

namespace kbo::server {

namespace {
// What a pushed row's allowance past the newest bundle stamp keeps clear of
// the day every device's pull and the server's own writes take: a row at
// the very edge would be refused by them as more than a day ahead.
constexpr int64_t kBundleAheadMarginMs = 10 * 60 * 1000;
}  // namespace

// The rows the server holds of a receipt's refused row changes, in the
// device's districts, whole (Receipt::server_rows); "" if none.
Result<std::string> HeldRows(Db& db, const DeviceRecord& device,
                             const std::vector<protocol::RefusedRow>& refused) {
  ChangeSet held;
  held.schema_version = static_cast<uint16_t>(LatestSchemaVersion(
      schema::kReplicaMigrations, schema::kReplicaMigrations_count));
  std::set<std::pair<std::string, std::string>> seen;
  size_t bytes = 0;
  for (const protocol::RefusedRow& r : refused) {
    // A waiting change is not undone on the device: applied here later.
    if (r.reason == protocol::kWaitsForRowReason) continue;
    if (!seen.emplace(r.entity, r.row_id).second) continue;
    const Entity* e = FindEntity(r.entity);
    if (e == nullptr) continue;
    Result<std::optional<std::string>> held_in =
        storage::Rows(db).District(*e, r.row_id);
    if (!held_in.ok()) return held_in.status();
    // The server holds no such row: nothing to put back.
    if (!held_in->has_value()) continue;
    const std::string& district = **held_in;
    if (!device.scope.Contains(district)) continue;  // not the device's to see
    std::vector<RowChange> changes;
    size_t row_bytes = 0;
    if (Status s = WholeRowChanges(db, r.entity, r.row_id, &changes, &row_bytes);
        !s.ok()) {
      return s;
    }
    if (bytes + row_bytes > protocol::kMaxReceiptServerRowsBytes / 2) break;
    bytes += row_bytes;
    for (RowChange& rc : changes) held.rows.push_back(std::move(rc));
  }
  if (held.rows.empty()) return std::string();
  std::string encoded =
      wire::EncodePullPage(held.schema_version, std::move(held.rows));
  if (encoded.size() > protocol::kMaxReceiptServerRowsBytes) return std::string();
  return encoded;
}

Result<PushResult> ParsePushResponse(std::string_view json_text,
                                     Signature* signature) {
  Result<wire::ReceiptAnswer> answer = wire::ParseReceiptAnswer(json_text);
  if (!answer.ok()) return answer.status();
  PushResult out;
  out.receipt = std::move(answer->receipt);
  if (signature != nullptr) *signature = answer->signature;
  out.response_json = std::string(json_text);
  return out;
}

Result<PushResult> PushService::Push(const DeviceRecord& device,
                                     std::string_view body) {
  return Ingest(&device.id, body);
}

Result<PushResult> PushService::PushFromBundle(std::string_view body,
                                               const Uuid* accept_revoked) {
  return Ingest(nullptr, body, accept_revoked);
}

Result<PushResult> PushService::Ingest(const Uuid* authenticated,
                                       std::string_view body,
                                       const Uuid* accept_revoked) {
  if (body.size() > protocol::kMaxPushBytes) {
    return Status::ResourceExhausted(
        "a push may carry at most " +
        std::to_string(protocol::kMaxPushBytes >> 20) +
        " MiB; send smaller change sets");
  }
  Signature signature{};
  std::string_view cs_bytes;
  if (Status s = protocol::DecodePushBody(body, &signature, &cs_bytes);
      !s.ok()) {
    return s;
  }
  DecodeLimits limits;
  limits.max_bytes = protocol::kMaxPushBytes;
  Result<ChangeSet> decoded = DecodeChangeSet(cs_bytes, limits);
  if (!decoded.ok()) {
    return Status::Corruption("the change set does not decode: " +
                              decoded.status().message())
        .WithReason("bad_change_set");
  }
  const ChangeSet& cs = *decoded;
  const std::string device_text = cs.device.ToString();
  if (authenticated != nullptr && cs.device != *authenticated) {
    return Status::PermissionDenied("the change set is device " + device_text +
                                    "'s, but the request was signed by " +
                                    authenticated->ToString())
        .WithReason("wrong_device");
  }
  static const int kSchema = LatestSchemaVersion(
      schema::kReplicaMigrations, schema::kReplicaMigrations_count);
  if (cs.schema_version > kSchema) {
    return Status::InvalidArgument("the change set uses schema " +
                                   std::to_string(cs.schema_version) +
                                   " but this server knows schema " +
                                   std::to_string(kSchema) +
                                   "; update kbo-server")
        .WithReason("unsupported_schema");
  }
  if (cs.seq == 0) {
    return Status::InvalidArgument("change set sequence numbers start at 1");
  }

  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<std::optional<DeviceRecord>> loaded = LoadDevice(db, cs.device);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->has_value()) {
    return Status::Unauthenticated("device " + device_text +
                                   " is not enrolled on this server");
  }
  const DeviceRecord& device = **loaded;
  const bool from_revoked = device.revoked() && accept_revoked != nullptr &&
                            *accept_revoked == cs.device;
  const bool over_network = authenticated != nullptr;
  const bool refuse_revoked = device.revoked() && !from_revoked;
  const auto revoked = [&] {
    return Status::PermissionDenied("device " + device_text +
                                    " was revoked on " + device.revoked_at)
        .WithReason("revoked");
  };
  if (refuse_revoked && over_network) return revoked();
  if (!Verify(device.public_key, kChangeSetDomain, cs_bytes, signature)) {
    return Status::Unauthenticated(
               "the change set signature does not verify with device " +
               device_text + "'s key; nothing was stored")
        .WithReason("bad_signature");
  }
  const Sha256Digest hash = HashChangeSetBytes(cs_bytes);
  const std::string_view hash_bytes(reinterpret_cast<const char*>(hash.data()),
                                    hash.size());
  // The log's record of the set of this number the server took (one it
  // already holds: seq <= last_seq); nullopt for a new number. A number
  // taken but not in the log is the server's own fault.
  std::optional<storage::LoggedReceipt> logged;
  if (cs.seq <= device.last_seq) {
    Result<std::optional<storage::LoggedReceipt>> read =
        storage::ChangeLog(db).Receipt(device_text, cs.seq);
    if (!read.ok()) return read.status();
    if (!read->has_value()) {
      return Status::Internal("change set " + std::to_string(cs.seq) +
                              " of device " + device_text +
                              " is accepted but missing from the log");
    }
    logged = std::move(*read);
  }
  // This very set again (a push answered but not heard, a bundle imported
  // again): its receipt as the server gave it.
  const auto repeated = [&]() -> Result<PushResult> {
    Result<PushResult> again = ParsePushResponse(logged->receipt, nullptr);
    if (!again.ok()) return Status::Corruption("a stored receipt is damaged");
    again->repeated = true;
    again->from_revoked = from_revoked;
    return again;
  };
  if (refuse_revoked) {
    // A revoked device's bundle imported again after the office took it
    // (with --accept-revoked, or before the revocation): already held, said
    // so, not a refusal. Anything new from it is refused.
    if (logged.has_value() && logged->hash == hash_bytes) return repeated();
    return revoked();
  }
  // A revoked device's set the office vouched for (from_revoked): each row
  // recorded after the revocation is refused on its own (after_revocation,
  // ApplyAtServer), the ones recorded before are taken.
  const int64_t now = store_.NowMillis();
  // How far past the server's clock a row may be stamped. Over the network
  // an hour past the newer of that clock and the newest stamp a bundle
  // brought past the hour (server_state.bundle_ahead_ms, below): every
  // device that pulled such a row stamps its own after it, as the merge
  // rule requires, and would otherwise be refused — and, re-dated, refused
  // again — until the server's clock caught up (a phone set to UTC froze
  // its district's pushes for 7 hours). Only a bundle raises it (not the
  // office's writes, which a device could otherwise walk ahead an hour at a
  // time), and never past the day every device and the server's own writes
  // take (HybridClock::kDefaultMaxSkewMs), less a margin. Read only for a
  // row past the hour.
  std::optional<int64_t> bundle_ahead;
  const auto max_ahead = [&]() -> Result<int64_t> {
    if (!over_network) return HybridClock::kDefaultMaxSkewMs;
    if (!bundle_ahead) {
      KBO_ASSIGN_OR_RETURN(const int64_t ms, storage::ServerState(db).BundleAheadMs());
      bundle_ahead = std::min(ms, now + HybridClock::kDefaultMaxSkewMs -
                                      protocol::kMaxRowAheadMs - kBundleAheadMarginMs);
    }
    return std::max<int64_t>(0, *bundle_ahead - now) + protocol::kMaxRowAheadMs;
  };
  for (size_t i = 0; i < cs.rows.size(); ++i) {
    const RowChange& row = cs.rows[i];
    if (row.hlc.device != cs.device) {
      return Status::PermissionDenied(
                 "row " + std::to_string(i + 1) + " (" + row.entity + " " +
                 row.row_id.ToString() + ") is stamped by device " +
                 row.hlc.device.ToString() + ", not by " + device_text)
          .WithReason("forged_hlc");
    }
    if (row.hlc.wall_ms > now && row.hlc.wall_ms - now > protocol::kMaxRowAheadMs) {
      KBO_ASSIGN_OR_RETURN(const int64_t max_ahead_ms, max_ahead());
      if (row.hlc.wall_ms - now <= max_ahead_ms) continue;
      const bool past_bundle = over_network && max_ahead_ms > protocol::kMaxRowAheadMs;
      return Status::InvalidArgument(
                 "row " + std::to_string(i + 1) + " was recorded at " +
                 FormatIsoUtc(row.hlc.wall_ms) + " by the device's clock, more than " +
                 (over_network ? "an hour" : "24 hours") + " ahead of the server (" +
                 FormatIsoUtc(now) + ")" +
                 (past_bundle ? " and of the newest record a bundle brought (" +
                                    FormatIsoUtc(now + max_ahead_ms -
                                                 protocol::kMaxRowAheadMs) +
                                    ")"
                              : std::string()) +
                 "; set the device's date and time correctly. Nothing "
                 "was stored")
          .WithReason("clock_ahead")
          .With(field::kServerMs, now);
    }
  }

  const std::string hash_hex = HexEncode(hash);
  if (logged.has_value()) {
    if (logged->hash == hash_bytes) return repeated();
    const std::string& logged_hash = logged->hash;
    LogLine("FORKED DEVICE " + device_text + ": change set " +
            std::to_string(cs.seq) + " arrived with hash " + hash_hex +
            " but the server accepted another set " +
            "with that number (hash " + HexEncode(logged_hash) +
            "); refused. The device may have been restored from a backup or "
            "cloned.");
    return Status::SequenceGap(
               "the server already holds a different change set " +
               std::to_string(cs.seq) +
               " from this device; it was refused "
               "and logged. Has this device been restored from a backup or "
               "copied? Ask the central office.")
        .WithReason("sequence_conflict");
  }
  if (cs.seq > device.last_seq + 1) {
    return Status::SequenceGap("change set " + std::to_string(cs.seq) +
                               " arrived but the server expects " +
                               std::to_string(device.last_seq + 1) +
                               "; send the earlier ones first")
        .WithReason("sequence_gap")
        .With(field::kExpected, device.last_seq + 1);
  }
  if (cs.prev_hash != device.last_hash) {
    return Status::SequenceGap(
               "change set " + std::to_string(cs.seq) +
               " does not follow the last one the server accepted from this "
               "device (previous hash differs); refused")
        .WithReason("prev_hash_mismatch");
  }

  Result<AppliedSet> applied =
      ApplyAtServer(store_, cs, &device, /*texts_decoded=*/true);
  if (!applied.ok()) return applied.status();
  if (!over_network) {
    // A bundle's rows taken stamped past the hour (a phone's clock was
    // ahead): the devices that pull them may push theirs stamped after
    // them (max_ahead, above). Refused rows bring nothing here.
    std::vector<bool> refused(cs.rows.size(), false);
    for (const protocol::RefusedRow& r : applied->refused) {
      if (r.index < refused.size()) refused[r.index] = true;
    }
    int64_t newest = 0;
    for (size_t i = 0; i < cs.rows.size(); ++i) {
      if (!refused[i]) newest = std::max(newest, cs.rows[i].hlc.wall_ms);
    }
    if (newest - now > protocol::kMaxRowAheadMs) {
      KBO_RETURN_IF_ERROR(storage::ServerState(db).RaiseBundleAheadMs(newest));
    }
  }

  PushResult result;
  result.from_revoked = from_revoked;
  protocol::Receipt& r = result.receipt;
  r.device_id = device_text;
  r.seq = cs.seq;
  r.hash = hash_hex;
  r.first_server_seq = applied->first_seq;
  r.last_server_seq = applied->last_seq;
  r.rows = applied->rows;
  r.conflicts = applied->conflicts;
  r.received_at = FormatIsoUtc(now);
  r.refused = std::move(applied->refused);
  if (Status s = SettleRefusals(db, device_text, cs.seq, cs, r.refused,
                                r.received_at);
      !s.ok()) {
    return s;
  }
  if (!r.refused.empty()) {
    Result<int64_t> counted = storage::RefusedRows(db).CountOpen(device_text);
    if (!counted.ok()) return counted.status();
    const int64_t open = *counted;
    // (Those the same set made good settle with it.)
    int64_t left_open = 0;
    for (bool good : protocol::RefusalsMadeGoodInSet(cs, r.refused)) left_open += good ? 0 : 1;
    if (open + left_open > max_open_refused_) {
      return Status::ResourceExhausted(
                 "change set " + std::to_string(cs.seq) + " would leave " +
                 std::to_string(open + left_open) +
                 " refused rows of this device unsettled, more than the " +
                 std::to_string(max_open_refused_) +
                 " the server keeps; nothing was stored. Fix or delete the "
                 "refused rows (kbo refused list), or ask the central office")
          .WithReason("too_many_refused");
    }
  }
  if (Status s = RecordRefusals(db, device_text, cs.seq, cs, r.refused,
                                r.received_at, &applied->waits);
      !s.ok()) {
    return s;
  }
  if (Result<std::string> held = HeldRows(db, device, r.refused); !held.ok()) {
    return held.status();
  } else {
    r.server_rows = std::move(*held);
  }
  if (!r.server_rows.empty()) {
    // The device holds these rows' numbers from now on, as from a pull:
    // a base it writes over them is one it was handed (ApplyAtServer takes
    // a base past served_seq for one of a history the server lost).
    // (The database's last number, as a pull's: past every row read.)
    Result<int64_t> next = storage::ServerState(db).NextSeq();
    if (!next.ok()) return next.status();
    const uint64_t last = *next > 0 ? static_cast<uint64_t>(*next) - 1 : 0;
    if (Status s = storage::Devices(db).NoteServed(device_text, last); !s.ok()) {
      return s;
    }
  }
  result.response_json = SignedReceiptJson(store_.key(), r);
  if (Status s =
          AppendToLog(db, r, hash, cs_bytes, signature, result.response_json);
      !s.ok()) {
    return s;
  }
  // Row changes kept waiting for a row this set brought (a restored server
  // meeting the row again) are applied with it.
  if (Status s = ApplyWaiting(store_, cs, r.refused, applied->skipped, r.received_at);
      !s.ok()) {
    return s;
  }
  if (Status s = storage::Devices(db).RecordAccepted(
          device_text, cs.seq,
          std::string_view(reinterpret_cast<const char*>(hash.data()),
                           hash.size()));
      !s.ok()) {
    return s;
  }
  if (from_revoked) {
    // Audited with the set, in its transaction: no set of a revoked device
    // is ever stored without the line that says the office took it.
    storage::AuditEntry entry;
    entry.at = r.received_at;
    entry.actor = "cli";
    entry.action = "bundle_accept_revoked";
    entry.subject = device_text;
    entry.detail = "change set " + std::to_string(cs.seq) + " (" +
                   std::to_string(cs.rows.size()) +
                   " rows) of the revoked device, vouched for by the office";
    if (Status s = storage::AuditLog(db).Append(entry); !s.ok()) return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  store_.NoteCommittedSequences();
  return result;
}

}  // namespace kbo::server
