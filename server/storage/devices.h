#ifndef KBO_SERVER_STORAGE_DEVICES_H_
#define KBO_SERVER_STORAGE_DEVICES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// One row of table device as stored (server/enrolment.cc parses it into a
// DeviceRecord).
struct DeviceRow {
  std::string public_key_hex;
  std::string role;
  std::string districts;  // "all" or "5009,5011"
  std::string enrolled_at;
  std::string revoked_at;  // "" unless revoked
  uint64_t last_seq = 0;
  std::optional<std::string> last_hash;  // raw bytes; nullopt before the first
  std::string last_seen_at;              // "" if never
  std::optional<int64_t> clock_offset_ms;
  uint64_t grant_seq = 0;
  std::string label;
  // 0 for a device enrolled since it is kept; nullopt: unknown (enrolled
  // before), never checked until its next pull records it.
  std::optional<uint64_t> served_seq;
  // The identity it moved to (schema/server/0018_device_successor.sql);
  // "" if none.
  std::string successor_id;
};

// How a device is named to people.
struct DeviceLabelRow {
  std::string label;  // "" if none
  std::string role;
};

// A new device for Insert.
struct NewDevice {
  std::string device_id;
  std::string public_key_hex;
  std::string role;
  std::string districts;
  std::string enrolled_at;
  std::string label;
};

// The device registry (table device). Callers hold the transaction.
class Devices {
 public:
  explicit Devices(Db& db) : db_(db) {}

  // nullopt if no device has that id.
  Result<std::optional<DeviceRow>> Find(std::string_view device_id);
  // The label and role of each of `device_ids` the registry holds.
  Result<std::map<std::string, DeviceLabelRow>> Labels(
      const std::set<std::string>& device_ids);
  // Labels more than one device has (two trainers both "ครูสมศรี").
  Result<std::set<std::string>> SharedLabels();
  // Every device id, by enrolment time.
  Result<std::vector<std::string>> IdsByEnrolment();
  // Whether some device holds this public key.
  Result<bool> PublicKeyTaken(std::string_view public_key_hex);
  Status Insert(const NewDevice& d);
  // Records `successor_id` as the identity `device_id` moved to, unless it
  // has one already (the first stays); false if it had.
  Result<bool> SetSuccessor(std::string_view device_id, std::string_view successor_id);
  static constexpr int kMaxSuccessors = 8;
  // Whether `device_id` is `ancestor_id` or one of the identities it moved
  // to (successor after successor, at most kMaxSuccessors).
  Result<bool> IsOrSucceeds(std::string_view device_id, std::string_view ancestor_id);
  // A device enrolling again with a new token: its role and districts, and
  // its label unless `label` is empty.
  Status ReEnrol(std::string_view device_id, std::string_view role,
                 std::string_view districts, std::string_view label);
  // An authenticated request: clock offset and last seen time.
  Status NoteSeen(std::string_view device_id, int64_t clock_offset_ms,
                  std::string_view now_iso);
  // revoked_at = now unless already revoked; false if there is no such
  // device.
  Result<bool> Revoke(std::string_view device_id, std::string_view now_iso);
  // revoked_at = `at` if the device is enrolled and not revoked; whether it
  // was (a revocation the database had lost: ServerStore::Open).
  Result<bool> RevokeIfActive(std::string_view device_id, std::string_view at);
  // Every revoked device: its id and revoked_at.
  Result<std::vector<std::pair<std::string, std::string>>> Revoked();
  // false if there is no such device.
  Result<bool> SetLabel(std::string_view device_id, std::string_view label);
  // New districts, with the sequence of the grant (grant_seq).
  Status SetDistricts(std::string_view device_id, std::string_view districts,
                      uint64_t grant_seq);
  // After accepting change set `seq` (raw hash `hash`) from the device.
  Status RecordAccepted(std::string_view device_id, uint64_t seq,
                        std::string_view hash);
  // A pull page whose next cursor is `cursor` is being sent to the device:
  // served_seq rises to it (never falls).
  Status NoteServed(std::string_view device_id, uint64_t cursor);
  // The device pulled from 0 after a grant: grant_seq = 0.
  // Only the grant `grant_seq` read with the device: a grant made since
  // (while this pull from 0 was built with the districts before it) stays,
  // and the device's next pull is sent back to 0 again.
  Status ClearGrant(std::string_view device_id, uint64_t grant_seq);

 private:
  Db& db_;
};

// One row of table enrol_token. Fields a query does not read stay empty.
struct TokenRow {
  std::string token_hash;  // 64 hex digits
  std::string role;
  std::string districts;
  std::string label;
  std::string created_at;
  std::string expires_at;
  std::optional<std::string> used_at;  // nullopt while unused
  std::string used_by;                 // "" while unused
  std::string cancelled_at;            // "" unless cancelled
};

// Enrolment tokens (table enrol_token); only their SHA-256 is stored.
class EnrolTokens {
 public:
  explicit EnrolTokens(Db& db) : db_(db) {}

  // Stores token_hash, role, districts, created_at, expires_at, label.
  Status Insert(const TokenRow& t);
  // role, districts, expires_at, used_at, used_by, label, cancelled_at of
  // the token; nullopt if unknown.
  Result<std::optional<TokenRow>> Find(std::string_view token_hash);
  Status MarkUsed(std::string_view token_hash, std::string_view used_at,
                  std::string_view used_by);
  // Tokens neither used nor cancelled that expire after `now_iso`, newest
  // first (no used/cancelled fields).
  Result<std::vector<TokenRow>> ListUsable(std::string_view now_iso);
  // At most two tokens whose hash starts with `prefix` (lower-case hex), by
  // hash, with used_at and used_by.
  Result<std::vector<TokenRow>> WithPrefix(std::string_view prefix);
  // cancelled_at = now unless already cancelled.
  Status Cancel(std::string_view token_hash, std::string_view now_iso);

 private:
  Db& db_;
};

// Request nonces seen (table nonce), against replays.
class Nonces {
 public:
  explicit Nonces(Db& db) : db_(db) {}

  // Records the nonce; false if the device already used it.
  Result<bool> Insert(std::string_view device_id, std::string_view nonce,
                      int64_t seen_at_ms);
  // Forgets nonces seen before `before_ms`.
  Status PruneBefore(int64_t before_ms);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_DEVICES_H_
