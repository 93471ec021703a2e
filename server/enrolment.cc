#include "server/enrolment.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "server/log.h"
#include "server/storage/devices.h"
#include "server/storage/users.h"
#include "shared/csv.h"
#include "shared/entities.h"
#include "shared/protocol.h"

namespace kbo::server {
namespace {

constexpr int64_t kMaxTtlMs = 30LL * 24 * 3600 * 1000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 32 bytes from the CSPRNG. shared/ offers randomness only through
// Uuid::Random (libsodium stays behind signing.cc and uuid.cc), so the
// token is SHA-256 over three random v4 uuids: 366 random bits in, 256 out.
std::string RandomTokenHex() {
  std::string seed;
  for (int i = 0; i < 3; ++i) {
    const Uuid u = Uuid::Random();
    seed.append(reinterpret_cast<const char*>(u.bytes.data()), u.bytes.size());
  }
  return HexEncode(Sha256(seed));
}

std::string TokenHash(std::string_view token) {
  return HexEncode(Sha256(Lower(token)));
}

EnrollReply ReplyFor(ServerStore& store, const Uuid& device, std::string role,
                     Scope scope) {
  EnrollReply r;
  r.device_id = device;
  r.role = std::move(role);
  r.scope = std::move(scope);
  r.server_id = store.server_id();
  r.server_public_key = store.key().public_key();
  return r;
}

// A token as ListTokens/CancelToken show it.
Result<TokenInfo> TokenFromRow(const storage::TokenRow& row) {
  TokenInfo t;
  t.id = row.token_hash.substr(0, kTokenIdHexDigits);
  t.role = row.role;
  Result<Scope> scope = Scope::Parse(row.districts);
  if (!scope.ok()) {
    return Status::Corruption("enrolment token " + t.id +
                              ": its districts are damaged");
  }
  t.scope = std::move(scope).value();
  t.label = row.label;
  t.created_at = row.created_at;
  t.expires_at = row.expires_at;
  return t;
}

}  // namespace

Result<std::string> CleanLabel(std::string_view label) {
  const std::string_view trimmed = Trim(label);
  if (!IsValidUtf8(trimmed)) {
    return Status::InvalidArgument("a label must be UTF-8 text");
  }
  for (unsigned char c : trimmed) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(
          "a label is one line of text, without control characters");
    }
  }
  if (trimmed.size() > kMaxLabelBytes) {
    return Status::InvalidArgument(
        "a label is at most " + std::to_string(kMaxLabelBytes) +
        " bytes (about 60 Thai characters); got " +
        std::to_string(trimmed.size()));
  }
  return std::string(trimmed);
}

std::string TokenId(std::string_view token) {
  return TokenHash(token).substr(0, kTokenIdHexDigits);
}

bool IsRole(std::string_view role) {
  return std::find(std::begin(kRoles), std::end(kRoles), role) !=
         std::end(kRoles);
}


bool DeviceRecord::clock_off() const {
  return clock_offset_ms.has_value() &&
         std::llabs(*clock_offset_ms) > protocol::kClockFlagMs;
}

Result<std::optional<DeviceRecord>> LoadDevice(Db& db, const Uuid& id) {
  Result<std::optional<storage::DeviceRow>> found =
      storage::Devices(db).Find(id.ToString());
  if (!found.ok()) return found.status();
  if (!found->has_value()) return std::optional<DeviceRecord>();
  const storage::DeviceRow& row = **found;
  DeviceRecord d;
  d.id = id;
  const auto damaged = [&](const char* what) {
    return Status::Corruption("device " + id.ToString() + ": " + what +
                              " is damaged");
  };
  Result<PublicKey> key = PublicKey::FromHex(row.public_key_hex);
  if (!key.ok()) return damaged("public key");
  d.public_key = *key;
  d.role = row.role;
  Result<Scope> scope = Scope::Parse(row.districts);
  if (!scope.ok()) return damaged("districts");
  d.scope = std::move(scope).value();
  d.enrolled_at = row.enrolled_at;
  d.revoked_at = row.revoked_at;
  d.last_seq = row.last_seq;
  if (row.last_hash.has_value()) {
    const std::string& hash = *row.last_hash;
    if (hash.size() != d.last_hash.size()) return damaged("last hash");
    std::memcpy(d.last_hash.data(), hash.data(), hash.size());
  }
  d.last_seen_at = row.last_seen_at;
  d.clock_offset_ms = row.clock_offset_ms;
  d.grant_seq = row.grant_seq;
  d.served_seq = row.served_seq;
  d.label = row.label;
  return std::optional<DeviceRecord>(std::move(d));
}

std::string EnrollReplyJson(const EnrollReply& reply) {
  wire::EnrollReply w;
  w.device_id = reply.device_id;
  w.role = reply.role;
  if (reply.scope.all) {
    w.districts.push_back("all");
  } else {
    w.districts = reply.scope.districts;
  }
  w.server_id = reply.server_id;
  w.server_public_key = reply.server_public_key;
  return wire::EncodeEnrollReply(w);
}

Result<int64_t> ParseTtl(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument(
        "--ttl must be a number with a unit s, m, h "
        "or d (e.g. 24h, 7d), at most 30d; got '" +
        std::string(text) + "'");
  };
  if (text.size() < 2 || text.size() > 12) return bad();
  const char unit = text.back();
  int64_t scale = 0;
  switch (unit) {
    case 's':
      scale = 1000;
      break;
    case 'm':
      scale = 60LL * 1000;
      break;
    case 'h':
      scale = 3600LL * 1000;
      break;
    case 'd':
      scale = 24LL * 3600 * 1000;
      break;
    default:
      return bad();
  }
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
    if (n > kMaxTtlMs) return bad();
  }
  if (n == 0 || n * scale > kMaxTtlMs) return bad();
  return n * scale;
}

Status Enrolment::CheckTokenRequest(std::string_view role, std::string_view districts,
                                     int64_t ttl_ms, std::string_view label) {
  if (!IsRole(role)) {
    return Status::InvalidArgument(
        "role must be field_officer, trainer or "
        "central_office; got '" +
        std::string(role) + "'");
  }
  Result<Scope> scope = Scope::Parse(districts);
  if (!scope.ok()) return scope.status();
  if (ttl_ms <= 0 || ttl_ms > kMaxTtlMs) {
    return Status::InvalidArgument("a token lives between 1 s and 30 days");
  }
  return CleanLabel(label).status();
}

Result<std::string> Enrolment::CreateToken(std::string_view role,
                                           std::string_view districts,
                                           int64_t ttl_ms,
                                           std::string_view label) {
  if (Status s = CheckTokenRequest(role, districts, ttl_ms, label); !s.ok()) return s;
  Result<Scope> scope = Scope::Parse(districts);
  if (!scope.ok()) return scope.status();
  Result<std::string> clean_label = CleanLabel(label);
  if (!clean_label.ok()) return clean_label.status();
  const std::string token = RandomTokenHex();
  const int64_t now = store_.NowMillis();
  storage::TokenRow row;
  row.token_hash = TokenHash(token);
  row.role = std::string(role);
  row.districts = scope->ToString();
  row.created_at = FormatIsoUtc(now);
  row.expires_at = FormatIsoUtc(now + ttl_ms);
  row.label = *clean_label;
  if (Status s = storage::EnrolTokens(store_.db()).Insert(row); !s.ok()) return s;
  return token;
}

Result<EnrollReply> Enrolment::Enroll(const EnrollRequest& request) {
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();

  std::string role, districts, expires_at, used_by, label, cancelled_at;
  bool used = false;
  storage::EnrolTokens tokens(db);
  storage::Devices devices(db);
  {
    Result<std::optional<storage::TokenRow>> token =
        tokens.Find(TokenHash(request.token));
    if (!token.ok()) return token.status();
    if (!token->has_value()) {
      return Status::Unauthenticated(
          "this enrolment token is not known to the server; ask the central "
          "office for a new one");
    }
    storage::TokenRow& t = **token;
    role = std::move(t.role);
    districts = std::move(t.districts);
    expires_at = std::move(t.expires_at);
    used = t.used_at.has_value();
    used_by = std::move(t.used_by);
    label = std::move(t.label);
    cancelled_at = std::move(t.cancelled_at);
  }
  Result<Scope> token_scope = Scope::Parse(districts);
  if (!token_scope.ok())
    return Status::Corruption("enrolment token scope is damaged");

  Result<std::optional<DeviceRecord>> existing =
      LoadDevice(db, request.device_id);
  if (!existing.ok()) return existing.status();
  const std::optional<DeviceRecord>& device = *existing;
  const std::string device_text = request.device_id.ToString();
  const int64_t now = store_.NowMillis();

  const std::string token_hash = TokenHash(request.token);
  // Its use as DIR/used-tokens records it: the database may have been
  // restored from a backup older than the use, which a token seen (printed,
  // sent unencrypted) must not make good again.
  KBO_ASSIGN_OR_RETURN(std::optional<ServerStore::TokenUse> noted,
                       store_.TokenUseNoted(token_hash));
  if (used) {
    // The same device asking again after a lost answer gets the same answer
    // (and its use is noted now if the first answer could not note it).
    if (used_by == device_text && device &&
        device->public_key == request.public_key && !device->revoked()) {
      if (!noted) {
        KBO_RETURN_IF_ERROR(store_.NoteTokenUse(token_hash, device_text,
                                                request.public_key.ToHex(), store_.NowIso()));
      }
      return ReplyFor(store_, device->id, device->role, device->scope);
    }
    return Status::Unauthenticated(
        "this enrolment token has already been used; each token enrols one "
        "device once, so ask the central office for a new one");
  }
  // Noted for this very device and key: its use was written before a
  // commit that then failed (below); the device asks again.
  if (noted && noted->device_id == device_text &&
      noted->public_key_hex == request.public_key.ToHex()) {
    noted.reset();
  }
  if (noted) {
    LogLine("enrolment refused: a token used by device " + noted->device_id +
            (noted->used_at.empty() ? "" : " on " + noted->used_at) +
            " was asked for again; the database holds it as unused (restored from a "
            "backup older than its use?) and " + store_.paths().used_tokens +
            " records its use");
    return Status::Unauthenticated(
        "this enrolment token has already been used; each token enrols one "
        "device once, so ask the central office for a new one");
  }
  if (!cancelled_at.empty()) {
    return Status::Unauthenticated(
        "this enrolment token was cancelled by the central office on " +
        cancelled_at + "; ask them for a new one");
  }
  if (FormatIsoUtc(now) >= expires_at) {
    return Status::Unauthenticated("this enrolment token expired at " +
                                   expires_at +
                                   "; ask the central office for a new one");
  }

  // The office's own writes go under the server's id (WriteAsServer): a
  // device under it would write as "the office", and its chain of sets
  // would collide with the office's.
  if (request.device_id == store_.server_id()) {
    return Status::AlreadyExists("device " + device_text +
                                 " is this server's own id; a device makes an id of its own")
        .WithReason("device_exists");
  }
  if (device) {
    if (!(device->public_key == request.public_key)) {
      return Status::AlreadyExists("device " + device_text +
                                   " is already enrolled with another key")
          .WithReason("device_exists");
    }
    if (device->revoked()) {
      return Status::PermissionDenied("device " + device_text +
                                      " was revoked on " + device->revoked_at)
          .WithReason("revoked");
    }
    if (Status s = devices.ReEnrol(device_text, role, districts, label); !s.ok()) {
      return s;
    }
    // Its role, districts and label may change: audited as a grant is, in
    // the same transaction.
    storage::AuditEntry entry;
    entry.at = FormatIsoUtc(now);
    entry.actor = "device:" + device_text;
    entry.action = "device_reenrol";
    entry.subject = device_text;
    entry.detail = "token " + TokenId(request.token) + ": role " + role +
                   ", districts " + districts + " (were " +
                   device->scope.ToString() + "), label '" + label +
                   "' (was '" + device->label + "')";
    if (Status s = storage::AuditLog(db).Append(entry); !s.ok()) return s;
  } else {
    Result<bool> taken = devices.PublicKeyTaken(request.public_key.ToHex());
    if (!taken.ok()) return taken.status();
    if (*taken) {
      return Status::AlreadyExists(
                 "this public key is already enrolled for another device")
          .WithReason("device_exists");
    }
    // The identity it leaves (a revoked phone given a new token, one
    // restored from a backup), if this server knows it: proved by that
    // identity's key, it becomes this one's predecessor, whose photos'
    // originals are asked of this device. A signature that does not
    // verify is refused, nothing stored: a device that cannot prove it
    // must not take another's place.
    std::string predecessor;
    std::optional<uint64_t> predecessor_served;
    if (request.predecessor && request.predecessor->device_id != request.device_id) {
      const std::string old_id = request.predecessor->device_id.ToString();
      Result<std::optional<storage::DeviceRow>> old = devices.Find(old_id);
      if (!old.ok()) return old.status();
      if (old->has_value()) {
        Result<PublicKey> old_key = PublicKey::FromHex((*old)->public_key_hex);
        if (!old_key.ok() ||
            !Verify(*old_key, wire::kSuccessorDomain,
                    wire::SuccessorMessage(request.predecessor->device_id,
                                           request.device_id, request.public_key),
                    request.predecessor->signature)) {
          return Status::InvalidArgument(
                     "the enrolment names device " + old_id +
                     " as the one it replaces, but that device's signature does not "
                     "verify; nothing was stored")
              .WithReason("bad_signature");
        }
        predecessor = old_id;
        predecessor_served = (*old)->served_seq;
      }
    }
    storage::NewDevice d;
    d.device_id = device_text;
    d.public_key_hex = request.public_key.ToHex();
    d.role = role;
    d.districts = districts;
    d.enrolled_at = FormatIsoUtc(now);
    d.label = label;
    if (Status s = devices.Insert(d); !s.ok()) return s;
    // What the identity it leaves was served, its home holds: the bases it
    // writes over those rows are ones this server handed out (a base past
    // served_seq is taken for one of a lost history, ApplyAtServer).
    if (predecessor_served.has_value() && *predecessor_served > 0) {
      if (Status s = devices.NoteServed(device_text, *predecessor_served); !s.ok()) return s;
    }
    if (!predecessor.empty()) {
      Result<bool> set = devices.SetSuccessor(predecessor, device_text);
      if (!set.ok()) return set.status();
      storage::AuditEntry entry;
      entry.at = FormatIsoUtc(now);
      entry.actor = "device:" + device_text;
      entry.action = "device_successor";
      entry.subject = predecessor;
      entry.detail = *set ? "device " + device_text + " takes the place of " + predecessor +
                                " (its key's signature): originals of its photos are "
                                "asked of the new one"
                          : "device " + device_text + " names " + predecessor +
                                " as the one it replaces, which has a successor already: "
                                "that one stays";
      if (Status s = storage::AuditLog(db).Append(entry); !s.ok()) return s;
    }
  }
  if (request.clock_ms) {
    if (Status s = devices.NoteSeen(device_text, *request.clock_ms - now,
                                    FormatIsoUtc(now));
        !s.ok()) {
      return s;
    }
  }
  if (Status s = tokens.MarkUsed(token_hash, FormatIsoUtc(now), device_text); !s.ok()) {
    return s;
  }
  // Noted before the commit: a device enrolled is never left without its
  // token's use on disk (a note that cannot be written refuses the
  // enrolment, nothing committed; one whose commit then fails names this
  // device, which may ask again, above).
  KBO_RETURN_IF_ERROR(store_.NoteTokenUse(token_hash, device_text, request.public_key.ToHex(),
                                          FormatIsoUtc(now)));
  if (Status s = txn.Commit(); !s.ok()) return s;
  return ReplyFor(store_, request.device_id, role,
                  std::move(token_scope).value());
}

Result<std::vector<DeviceRecord>> Enrolment::ListDevices() {
  std::vector<Uuid> ids;
  {
    Result<std::vector<std::string>> stored =
        storage::Devices(store_.db()).IdsByEnrolment();
    if (!stored.ok()) return stored.status();
    for (const std::string& text : *stored) {
      Result<Uuid> id = Uuid::Parse(text);
      if (!id.ok())
        return Status::Corruption("a device id in " + store_.db_where() + " is damaged");
      ids.push_back(*id);
    }
  }
  std::vector<DeviceRecord> out;
  for (const Uuid& id : ids) {
    Result<std::optional<DeviceRecord>> d = LoadDevice(store_.db(), id);
    if (!d.ok()) return d.status();
    if (d->has_value()) out.push_back(std::move(**d));
  }
  return out;
}

Status Enrolment::Revoke(std::string_view device_id) {
  Result<Uuid> id = Uuid::Parse(device_id);
  if (!id.ok()) {
    return Status::InvalidArgument("'" + std::string(device_id) +
                                   "' is not a device id");
  }
  Result<std::optional<DeviceRecord>> device = LoadDevice(store_.db(), *id);
  if (!device.ok()) return device.status();
  if (!device->has_value()) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  const std::string at =
      (*device)->revoked() ? (*device)->revoked_at : store_.NowIso();
  // First outside the database, so a restore from an older backup cannot
  // let the device in again (ServerStore::GuardRevocations); a revocation
  // the file holds but the database does not is made at the next start.
  if (Status s = store_.NoteRevocation(id->ToString(), at); !s.ok()) return s;
  Result<bool> found = storage::Devices(store_.db()).Revoke(id->ToString(), at);
  if (!found.ok()) return found.status();
  if (!*found) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  return Status();
}

Status Enrolment::SetLabel(std::string_view device_id,
                           std::string_view label) {
  Result<Uuid> id = Uuid::Parse(device_id);
  if (!id.ok()) {
    return Status::InvalidArgument("'" + std::string(device_id) +
                                   "' is not a device id");
  }
  Result<std::string> clean = CleanLabel(label);
  if (!clean.ok()) return clean.status();
  Result<bool> found =
      storage::Devices(store_.db()).SetLabel(id->ToString(), *clean);
  if (!found.ok()) return found.status();
  if (!*found) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  return Status();
}

Result<std::vector<TokenInfo>> Enrolment::ListTokens() {
  Result<std::vector<storage::TokenRow>> rows =
      storage::EnrolTokens(store_.db()).ListUsable(store_.NowIso());
  if (!rows.ok()) return rows.status();
  // Used, as DIR/used-tokens records, before the database was restored:
  // not listed (the file read once).
  KBO_ASSIGN_OR_RETURN(auto used, store_.TokenUses());
  std::vector<TokenInfo> out;
  for (const storage::TokenRow& row : *rows) {
    if (used.count(row.token_hash) != 0) continue;
    Result<TokenInfo> t = TokenFromRow(row);
    if (!t.ok()) return t.status();
    out.push_back(std::move(t).value());
  }
  return out;
}

Result<TokenInfo> Enrolment::CancelToken(std::string_view id_prefix) {
  const std::string prefix = Lower(Trim(id_prefix));
  if (prefix.size() < 6 || prefix.size() > 64 || !IsHex(prefix)) {
    return Status::InvalidArgument(
        "a token id is 6 to 64 hex digits (the ID column of `token list`); "
        "got '" + std::string(id_prefix.substr(0, 80)) + "'");
  }
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  std::string hash, used_at, used_by;
  TokenInfo info;
  storage::EnrolTokens tokens(db);
  {
    Result<std::vector<storage::TokenRow>> rows = tokens.WithPrefix(prefix);
    if (!rows.ok()) return rows.status();
    const size_t found = rows->size();
    if (found == 1) {
      const storage::TokenRow& row = rows->front();
      Result<TokenInfo> t = TokenFromRow(row);
      if (!t.ok()) return t.status();
      info = std::move(t).value();
      hash = row.token_hash;
      used_at = row.used_at.value_or(std::string());
      used_by = row.used_by;
      info.already_cancelled_at = row.cancelled_at;
    }
    if (found == 0) {
      return Status::NotFound("no enrolment token has the id " + prefix);
    }
    if (found > 1) {
      return Status::InvalidArgument("more than one token's id starts with " +
                                     prefix + "; give more digits");
    }
  }
  if (!used_at.empty()) {
    return Status::FailedPrecondition(
        "token " + info.id + " was already used on " + used_at +
        " by device " + used_by + "; revoke the device instead");
  }
  // Cancelled twice: said, and nothing written (nor audited) again.
  if (!info.already_cancelled_at.empty()) return info;
  if (Status s = tokens.Cancel(hash, store_.NowIso()); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return info;
}

Result<Scope> Enrolment::Grant(std::string_view device_id,
                               std::string_view districts, bool* changed) {
  if (changed != nullptr) *changed = false;
  Result<Uuid> id = Uuid::Parse(device_id);
  if (!id.ok()) {
    return Status::InvalidArgument("'" + std::string(device_id) +
                                   "' is not a device id");
  }
  Result<Scope> added = Scope::Parse(districts);
  if (!added.ok()) return added.status();
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();
  Result<std::optional<DeviceRecord>> device = LoadDevice(db, *id);
  if (!device.ok()) return device.status();
  if (!device->has_value()) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  if ((*device)->revoked()) {
    return Status::FailedPrecondition("device " + id->ToString() +
                                      " was revoked on " +
                                      (*device)->revoked_at);
  }
  Scope scope = (*device)->scope;
  if (added->all) {
    scope = *added;
  } else if (!scope.all) {
    std::string text = scope.ToString();
    for (const std::string& d : added->districts) text += "," + d;
    Result<Scope> merged = Scope::Parse(text);
    if (!merged.ok()) return merged.status();
    scope = std::move(merged).value();
  }
  if (scope.ToString() == (*device)->scope.ToString()) return scope;  // no change
  Result<uint64_t> seq = store_.TakeSeqs(1);
  if (!seq.ok()) return seq.status();
  if (Status s = storage::Devices(db).SetDistricts(id->ToString(),
                                                   scope.ToString(), *seq);
      !s.ok()) {
    return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  store_.NoteCommittedSequences();
  if (changed != nullptr) *changed = true;
  return scope;
}

}  // namespace kbo::server
