#include "server/storage/devices.h"

#include <algorithm>
#include <utility>

#include "server/storage/sql_parts.h"

namespace kbo::server::storage {
namespace {

std::string TextOrEmpty(Statement& st, int col) {
  return st.IsNull(col) ? std::string() : st.ColumnText(col);
}

}  // namespace

Result<bool> Devices::SetSuccessor(std::string_view device_id,
                                   std::string_view successor_id) {
  Statement& st = db_.Cached(
      "UPDATE device SET successor_id = ?2 WHERE device_id = ?1 AND successor_id IS NULL");
  st.Bind(1, device_id).Bind(2, successor_id);
  if (Status s = st.Run(); !s.ok()) return s;
  return db_.Changes() > 0;
}

Result<bool> Devices::IsOrSucceeds(std::string_view device_id,
                                   std::string_view ancestor_id) {
  std::string at(ancestor_id);
  for (int step = 0; step <= kMaxSuccessors; ++step) {
    if (at == device_id) return true;
    Result<std::optional<DeviceRow>> row = Find(at);
    if (!row.ok()) return row.status();
    if (!row->has_value() || (*row)->successor_id.empty()) return false;
    at = (*row)->successor_id;
  }
  return false;
}

Result<std::optional<DeviceRow>> Devices::Find(std::string_view device_id) {
  Statement& st = db_.Cached(
      "SELECT public_key, role, districts, enrolled_at, revoked_at, last_seq, "
      "last_hash, last_seen_at, clock_offset_ms, grant_seq, label, served_seq, "
      "successor_id FROM device "
      "WHERE device_id = ?1");
  st.Bind(1, device_id);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<DeviceRow>();
  }
  DeviceRow d;
  d.public_key_hex = st.ColumnText(0);
  d.role = st.ColumnText(1);
  d.districts = st.ColumnText(2);
  d.enrolled_at = st.ColumnText(3);
  d.revoked_at = TextOrEmpty(st, 4);
  d.last_seq = static_cast<uint64_t>(st.ColumnInt(5));
  if (!st.IsNull(6)) d.last_hash = st.ColumnBlob(6);
  d.last_seen_at = TextOrEmpty(st, 7);
  if (!st.IsNull(8)) d.clock_offset_ms = st.ColumnInt(8);
  d.grant_seq = static_cast<uint64_t>(st.ColumnInt(9));
  d.label = st.ColumnText(10);
  if (!st.IsNull(11)) d.served_seq = static_cast<uint64_t>(st.ColumnInt(11));
  d.successor_id = TextOrEmpty(st, 12);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<DeviceRow>(std::move(d));
}

Result<std::map<std::string, DeviceLabelRow>> Devices::Labels(
    const std::set<std::string>& device_ids) {
  std::map<std::string, DeviceLabelRow> out;
  std::vector<const std::string*> all;
  for (const std::string& id : device_ids) all.push_back(&id);
  for (size_t from = 0; from < all.size(); from += kIdsPerQuery) {
    const size_t n = std::min(kIdsPerQuery, all.size() - from);
    Statement st(db_, "SELECT device_id, label, role FROM device WHERE device_id IN (" +
                          Placeholders(n) + ")");
    if (!st.status().ok()) return st.status();
    for (size_t i = 0; i < n; ++i) {
      st.Bind(static_cast<int>(i + 1), std::string_view(*all[from + i]));
    }
    while (st.Step()) {
      out[st.ColumnText(0)] = {TextOrEmpty(st, 1), st.ColumnText(2)};
    }
    if (!st.status().ok()) return st.status();
  }
  return out;
}

Result<std::set<std::string>> Devices::SharedLabels() {
  Statement st(db_,
               "SELECT label FROM device WHERE label IS NOT NULL AND label <> '' "
               "GROUP BY label HAVING COUNT(*) > 1");
  if (!st.status().ok()) return st.status();
  std::set<std::string> out;
  while (st.Step()) out.insert(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<std::vector<std::string>> Devices::IdsByEnrolment() {
  Statement st(db_, "SELECT device_id FROM device ORDER BY enrolled_at, device_id");
  if (!st.status().ok()) return st.status();
  std::vector<std::string> out;
  while (st.Step()) out.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<bool> Devices::PublicKeyTaken(std::string_view public_key_hex) {
  Statement& st = db_.Cached("SELECT device_id FROM device WHERE public_key = ?1");
  st.Bind(1, public_key_hex);
  const bool taken = st.Step();
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return taken;
}

Status Devices::Insert(const NewDevice& d) {
  Statement& st = db_.Cached(
      "INSERT INTO device (device_id, public_key, role, districts, "
      "enrolled_at, label, served_seq) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)");
  st.Bind(1, std::string_view(d.device_id))
      .Bind(2, std::string_view(d.public_key_hex))
      .Bind(3, std::string_view(d.role))
      .Bind(4, std::string_view(d.districts))
      .Bind(5, std::string_view(d.enrolled_at))
      .Bind(6, std::string_view(d.label));
  return st.Run();
}

Status Devices::ReEnrol(std::string_view device_id, std::string_view role,
                        std::string_view districts, std::string_view label) {
  Statement& st = db_.Cached(
      "UPDATE device SET role = ?2, districts = ?3, label = CASE WHEN ?4 = "
      "'' THEN label ELSE ?4 END WHERE device_id = ?1");
  st.Bind(1, device_id).Bind(2, role).Bind(3, districts).Bind(4, label);
  return st.Run();
}

Status Devices::NoteSeen(std::string_view device_id, int64_t clock_offset_ms,
                         std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE device SET clock_offset_ms = ?2, last_seen_at = ?3 WHERE "
      "device_id = ?1");
  st.Bind(1, device_id).Bind(2, clock_offset_ms).Bind(3, now_iso);
  return st.Run();
}

Result<bool> Devices::Revoke(std::string_view device_id, std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE device SET revoked_at = COALESCE(NULLIF(revoked_at, ''), ?2) WHERE "
      "device_id = ?1");
  st.Bind(1, device_id).Bind(2, now_iso);
  if (Status s = st.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Result<bool> Devices::RevokeIfActive(std::string_view device_id, std::string_view at) {
  Statement& st = db_.Cached(
      "UPDATE device SET revoked_at = ?2 WHERE device_id = ?1 AND "
      "(revoked_at IS NULL OR revoked_at = '')");  // '' is active, as Find reads it
  st.Bind(1, device_id).Bind(2, at);
  if (Status s = st.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Result<std::vector<std::pair<std::string, std::string>>> Devices::Revoked() {
  Statement st(db_,
               "SELECT device_id, revoked_at FROM device WHERE revoked_at IS NOT NULL "
               "AND revoked_at != '' "
               "ORDER BY device_id");
  std::vector<std::pair<std::string, std::string>> out;
  while (st.Step()) out.emplace_back(st.ColumnText(0), st.ColumnText(1));
  if (!st.status().ok()) return st.status();
  return out;
}

Result<bool> Devices::SetLabel(std::string_view device_id, std::string_view label) {
  Statement& st = db_.Cached("UPDATE device SET label = ?2 WHERE device_id = ?1");
  st.Bind(1, device_id).Bind(2, label);
  if (Status s = st.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Status Devices::SetDistricts(std::string_view device_id, std::string_view districts,
                             uint64_t grant_seq) {
  Statement& st = db_.Cached(
      "UPDATE device SET districts = ?2, grant_seq = ?3 WHERE device_id = ?1");
  st.Bind(1, device_id).Bind(2, districts).Bind(3, static_cast<int64_t>(grant_seq));
  return st.Run();
}

Status Devices::RecordAccepted(std::string_view device_id, uint64_t seq,
                               std::string_view hash) {
  Statement& st = db_.Cached(
      "UPDATE device SET last_seq = ?2, last_hash = ?3 WHERE device_id = ?1");
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(seq)).BindBlob(3, hash);
  return st.Run();
}

Status Devices::NoteServed(std::string_view device_id, uint64_t cursor) {
  Statement& st = db_.Cached(
      "UPDATE device SET served_seq = ?2 WHERE device_id = ?1 "
      "AND (served_seq IS NULL OR served_seq < ?2)");
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(cursor));
  return st.Run();
}

Status Devices::ClearGrant(std::string_view device_id, uint64_t grant_seq) {
  Statement& st = db_.Cached(
      "UPDATE device SET grant_seq = 0 WHERE device_id = ?1 AND grant_seq = ?2");
  st.Bind(1, device_id).Bind(2, static_cast<int64_t>(grant_seq));
  return st.Run();
}

namespace {

// A token of a listing: token_hash, role, districts, label, created_at,
// expires_at, and with `with_use` used_at, used_by and cancelled_at after
// them.
TokenRow TokenListed(Statement& st, bool with_use) {
  TokenRow t;
  t.token_hash = st.ColumnText(0);
  t.role = st.ColumnText(1);
  t.districts = st.ColumnText(2);
  t.label = st.ColumnText(3);
  t.created_at = st.ColumnText(4);
  t.expires_at = st.ColumnText(5);
  if (with_use) {
    if (!st.IsNull(6)) t.used_at = st.ColumnText(6);
    t.used_by = TextOrEmpty(st, 7);
    t.cancelled_at = TextOrEmpty(st, 8);
  }
  return t;
}

}  // namespace

Status EnrolTokens::Insert(const TokenRow& t) {
  Statement& st = db_.Cached(
      "INSERT INTO enrol_token (token_hash, role, districts, created_at, "
      "expires_at, label) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, std::string_view(t.token_hash))
      .Bind(2, std::string_view(t.role))
      .Bind(3, std::string_view(t.districts))
      .Bind(4, std::string_view(t.created_at))
      .Bind(5, std::string_view(t.expires_at))
      .Bind(6, std::string_view(t.label));
  return st.Run();
}

Result<std::optional<TokenRow>> EnrolTokens::Find(std::string_view token_hash) {
  Statement& st = db_.Cached(
      "SELECT role, districts, expires_at, used_at, used_by, label, "
      "cancelled_at FROM enrol_token WHERE token_hash = ?1");
  st.Bind(1, token_hash);
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<TokenRow>();
  }
  TokenRow t;
  t.token_hash = std::string(token_hash);
  t.role = st.ColumnText(0);
  t.districts = st.ColumnText(1);
  t.expires_at = st.ColumnText(2);
  if (!st.IsNull(3)) t.used_at = st.ColumnText(3);
  t.used_by = TextOrEmpty(st, 4);
  t.label = st.ColumnText(5);
  t.cancelled_at = TextOrEmpty(st, 6);
  if (Status s = st.Reset(); !s.ok()) return s;
  return std::optional<TokenRow>(std::move(t));
}

Status EnrolTokens::MarkUsed(std::string_view token_hash, std::string_view used_at,
                             std::string_view used_by) {
  Statement& st = db_.Cached(
      "UPDATE enrol_token SET used_at = ?2, used_by = ?3 WHERE token_hash = "
      "?1");
  st.Bind(1, token_hash).Bind(2, used_at).Bind(3, used_by);
  return st.Run();
}

Result<std::vector<TokenRow>> EnrolTokens::ListUsable(std::string_view now_iso) {
  Statement& st = db_.Cached(
      "SELECT token_hash, role, districts, label, created_at, expires_at FROM "
      "enrol_token WHERE used_at IS NULL AND cancelled_at IS NULL AND "
      "expires_at > ?1 ORDER BY created_at DESC, token_hash");
  st.Bind(1, now_iso);
  std::vector<TokenRow> out;
  while (st.Step()) out.push_back(TokenListed(st, /*with_use=*/false));
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Result<std::vector<TokenRow>> EnrolTokens::WithPrefix(std::string_view prefix) {
  // token_hash is the primary key: a range on it finds the prefix by index.
  Statement& st = db_.Cached(
      "SELECT token_hash, role, districts, label, created_at, expires_at, "
      "used_at, used_by, cancelled_at FROM enrol_token WHERE token_hash >= ?1 AND "
      "token_hash < ?1 || 'g' ORDER BY token_hash LIMIT 2");
  st.Bind(1, prefix);
  std::vector<TokenRow> out;
  while (st.Step()) out.push_back(TokenListed(st, /*with_use=*/true));
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  return out;
}

Status EnrolTokens::Cancel(std::string_view token_hash, std::string_view now_iso) {
  Statement& st = db_.Cached(
      "UPDATE enrol_token SET cancelled_at = COALESCE(cancelled_at, ?2) WHERE "
      "token_hash = ?1");
  st.Bind(1, token_hash).Bind(2, now_iso);
  return st.Run();
}

Result<bool> Nonces::Insert(std::string_view device_id, std::string_view nonce,
                            int64_t seen_at_ms) {
  Statement& st = db_.Cached(
      "INSERT INTO nonce (device_id, nonce, seen_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (device_id, nonce) DO NOTHING");
  st.Bind(1, device_id).Bind(2, nonce).Bind(3, seen_at_ms);
  if (Status s = st.Run(); !s.ok()) return s;
  return db_.Changes() != 0;
}

Status Nonces::PruneBefore(int64_t before_ms) {
  Statement& st = db_.Cached("DELETE FROM nonce WHERE seen_at_ms < ?1");
  st.Bind(1, before_ms);
  return st.Run();
}

}  // namespace kbo::server::storage
