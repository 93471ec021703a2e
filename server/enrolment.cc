#include "server/enrolment.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

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

// A token row of ListTokens/CancelToken: columns 0-5 are token_hash, role,
// districts, label, created_at, expires_at.
Result<TokenInfo> TokenFromRow(Statement& st) {
  TokenInfo t;
  t.id = st.ColumnText(0).substr(0, kTokenIdHexDigits);
  t.role = st.ColumnText(1);
  Result<Scope> scope = Scope::Parse(st.ColumnText(2));
  if (!scope.ok()) {
    return Status::Corruption("enrolment token " + t.id +
                              ": its districts are damaged");
  }
  t.scope = std::move(scope).value();
  t.label = st.ColumnText(3);
  t.created_at = st.ColumnText(4);
  t.expires_at = st.ColumnText(5);
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

bool Scope::Contains(std::string_view district_code) const {
  if (all) return true;
  return std::binary_search(districts.begin(), districts.end(), district_code);
}

std::string Scope::ToString() const {
  if (all) return "all";
  std::string out;
  for (const std::string& d : districts) {
    if (!out.empty()) out += ',';
    out += d;
  }
  return out;
}

Result<Scope> Scope::Parse(std::string_view text) {
  Scope scope;
  const std::string_view trimmed = Trim(text);
  if (trimmed == "all") {
    scope.all = true;
    return scope;
  }
  size_t pos = 0;
  while (pos <= trimmed.size()) {
    size_t comma = trimmed.find(',', pos);
    if (comma == std::string_view::npos) comma = trimmed.size();
    const std::string_view code = Trim(trimmed.substr(pos, comma - pos));
    if (code.empty()) {
      return Status::InvalidArgument(
          "districts must be 'all' or district codes separated by commas, "
          "e.g. 5011,5009");
    }
    if (FindDistrict(code) == nullptr) {
      return Status::InvalidArgument("'" + std::string(code) +
                                     "' is not a Chiang Mai district code "
                                     "(e.g. 5011 is Phrao)");
    }
    scope.districts.emplace_back(code);
    pos = comma + 1;
  }
  std::sort(scope.districts.begin(), scope.districts.end());
  scope.districts.erase(
      std::unique(scope.districts.begin(), scope.districts.end()),
      scope.districts.end());
  return scope;
}

bool DeviceRecord::clock_off() const {
  return clock_offset_ms.has_value() &&
         std::llabs(*clock_offset_ms) > protocol::kClockFlagMs;
}

Result<std::optional<DeviceRecord>> LoadDevice(Db& db, const Uuid& id) {
  Statement& st = db.Cached(
      "SELECT public_key, role, districts, enrolled_at, revoked_at, last_seq, "
      "last_hash, last_seen_at, clock_offset_ms, grant_seq, label FROM device "
      "WHERE device_id = ?1");
  st.Bind(1, std::string_view(id.ToString()));
  if (!st.Step()) {
    if (!st.status().ok()) return st.status();
    return std::optional<DeviceRecord>();
  }
  DeviceRecord d;
  d.id = id;
  const auto damaged = [&](const char* what) {
    return Status::Corruption("device " + id.ToString() + ": " + what +
                              " is damaged");
  };
  Result<PublicKey> key = PublicKey::FromHex(st.ColumnText(0));
  if (!key.ok()) return damaged("public key");
  d.public_key = *key;
  d.role = st.ColumnText(1);
  Result<Scope> scope = Scope::Parse(st.ColumnText(2));
  if (!scope.ok()) return damaged("districts");
  d.scope = std::move(scope).value();
  d.enrolled_at = st.ColumnText(3);
  if (!st.IsNull(4)) d.revoked_at = st.ColumnText(4);
  d.last_seq = static_cast<uint64_t>(st.ColumnInt(5));
  if (!st.IsNull(6)) {
    const std::string hash = st.ColumnBlob(6);
    if (hash.size() != d.last_hash.size()) return damaged("last hash");
    std::memcpy(d.last_hash.data(), hash.data(), hash.size());
  }
  if (!st.IsNull(7)) d.last_seen_at = st.ColumnText(7);
  if (!st.IsNull(8)) d.clock_offset_ms = st.ColumnInt(8);
  d.grant_seq = static_cast<uint64_t>(st.ColumnInt(9));
  d.label = st.ColumnText(10);
  if (Status s = st.Reset(); !s.ok()) return s;
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

Result<std::string> Enrolment::CreateToken(std::string_view role,
                                           std::string_view districts,
                                           int64_t ttl_ms,
                                           std::string_view label) {
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
  Result<std::string> clean_label = CleanLabel(label);
  if (!clean_label.ok()) return clean_label.status();
  const std::string token = RandomTokenHex();
  const int64_t now = store_.NowMillis();
  Statement& st = store_.db().Cached(
      "INSERT INTO enrol_token (token_hash, role, districts, created_at, "
      "expires_at, label) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  st.Bind(1, std::string_view(TokenHash(token)))
      .Bind(2, role)
      .Bind(3, std::string_view(scope->ToString()))
      .Bind(4, std::string_view(FormatIsoUtc(now)))
      .Bind(5, std::string_view(FormatIsoUtc(now + ttl_ms)))
      .Bind(6, std::string_view(*clean_label));
  if (Status s = st.Run(); !s.ok()) return s;
  return token;
}

Result<EnrollReply> Enrolment::Enroll(const EnrollRequest& request) {
  Db& db = store_.db();
  Transaction txn(db);
  if (!txn.status().ok()) return txn.status();

  std::string role, districts, expires_at, used_by, label, cancelled_at;
  bool used = false;
  {
    Statement& st = db.Cached(
        "SELECT role, districts, expires_at, used_at, used_by, label, "
        "cancelled_at FROM enrol_token WHERE token_hash = ?1");
    st.Bind(1, std::string_view(TokenHash(request.token)));
    if (!st.Step()) {
      if (!st.status().ok()) return st.status();
      return Status::Unauthenticated(
          "this enrolment token is not known to the server; ask the central "
          "office for a new one");
    }
    role = st.ColumnText(0);
    districts = st.ColumnText(1);
    expires_at = st.ColumnText(2);
    used = !st.IsNull(3);
    if (!st.IsNull(4)) used_by = st.ColumnText(4);
    label = st.ColumnText(5);
    if (!st.IsNull(6)) cancelled_at = st.ColumnText(6);
    if (Status s = st.Reset(); !s.ok()) return s;
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

  if (used) {
    // The same device asking again after a lost answer gets the same answer.
    if (used_by == device_text && device &&
        device->public_key == request.public_key && !device->revoked()) {
      return ReplyFor(store_, device->id, device->role, device->scope);
    }
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
    Statement& st = db.Cached(
        "UPDATE device SET role = ?2, districts = ?3, label = CASE WHEN ?4 = "
        "'' THEN label ELSE ?4 END WHERE device_id = ?1");
    st.Bind(1, std::string_view(device_text))
        .Bind(2, std::string_view(role))
        .Bind(3, std::string_view(districts))
        .Bind(4, std::string_view(label));
    if (Status s = st.Run(); !s.ok()) return s;
  } else {
    {
      Statement& st =
          db.Cached("SELECT device_id FROM device WHERE public_key = ?1");
      st.Bind(1, std::string_view(request.public_key.ToHex()));
      const bool taken = st.Step();
      if (!st.status().ok()) return st.status();
      if (Status s = st.Reset(); !s.ok()) return s;
      if (taken) {
        return Status::AlreadyExists(
                   "this public key is already enrolled for another device")
            .WithReason("device_exists");
      }
    }
    Statement& st = db.Cached(
        "INSERT INTO device (device_id, public_key, role, districts, "
        "enrolled_at, label) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    st.Bind(1, std::string_view(device_text))
        .Bind(2, std::string_view(request.public_key.ToHex()))
        .Bind(3, std::string_view(role))
        .Bind(4, std::string_view(districts))
        .Bind(5, std::string_view(FormatIsoUtc(now)))
        .Bind(6, std::string_view(label));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  if (request.clock_ms) {
    Statement& st = db.Cached(
        "UPDATE device SET clock_offset_ms = ?2, last_seen_at = ?3 WHERE "
        "device_id = ?1");
    st.Bind(1, std::string_view(device_text))
        .Bind(2, *request.clock_ms - now)
        .Bind(3, std::string_view(FormatIsoUtc(now)));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  {
    Statement& st = db.Cached(
        "UPDATE enrol_token SET used_at = ?2, used_by = ?3 WHERE token_hash = "
        "?1");
    st.Bind(1, std::string_view(TokenHash(request.token)))
        .Bind(2, std::string_view(FormatIsoUtc(now)))
        .Bind(3, std::string_view(device_text));
    if (Status s = st.Run(); !s.ok()) return s;
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return ReplyFor(store_, request.device_id, role,
                  std::move(token_scope).value());
}

Result<std::vector<DeviceRecord>> Enrolment::ListDevices() {
  std::vector<Uuid> ids;
  {
    Statement st(
        store_.db(),
        "SELECT device_id FROM device ORDER BY enrolled_at, device_id");
    if (!st.status().ok()) return st.status();
    while (st.Step()) {
      Result<Uuid> id = Uuid::Parse(st.ColumnText(0));
      if (!id.ok())
        return Status::Corruption("a device id in server.db is damaged");
      ids.push_back(*id);
    }
    if (!st.status().ok()) return st.status();
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
  Statement& st = store_.db().Cached(
      "UPDATE device SET revoked_at = COALESCE(revoked_at, ?2) WHERE device_id "
      "= ?1");
  st.Bind(1, std::string_view(id->ToString()))
      .Bind(2, std::string_view(store_.NowIso()));
  if (Status s = st.Run(); !s.ok()) return s;
  if (store_.db().Changes() == 0) {
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
  Statement& st =
      store_.db().Cached("UPDATE device SET label = ?2 WHERE device_id = ?1");
  st.Bind(1, std::string_view(id->ToString()))
      .Bind(2, std::string_view(*clean));
  if (Status s = st.Run(); !s.ok()) return s;
  if (store_.db().Changes() == 0) {
    return Status::NotFound("no device " + id->ToString() + " is enrolled");
  }
  return Status();
}

Result<std::vector<TokenInfo>> Enrolment::ListTokens() {
  Statement& st = store_.db().Cached(
      "SELECT token_hash, role, districts, label, created_at, expires_at FROM "
      "enrol_token WHERE used_at IS NULL AND cancelled_at IS NULL AND "
      "expires_at > ?1 ORDER BY created_at DESC, token_hash");
  st.Bind(1, std::string_view(store_.NowIso()));
  std::vector<TokenInfo> out;
  while (st.Step()) {
    Result<TokenInfo> t = TokenFromRow(st);
    if (!t.ok()) {
      (void)st.Reset();
      return t.status();
    }
    out.push_back(std::move(t).value());
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
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
  {
    // token_hash is the primary key: a range on it finds the prefix by index.
    Statement& st = db.Cached(
        "SELECT token_hash, role, districts, label, created_at, expires_at, "
        "used_at, used_by FROM enrol_token WHERE token_hash >= ?1 AND "
        "token_hash < ?1 || 'g' ORDER BY token_hash LIMIT 2");
    st.Bind(1, std::string_view(prefix));
    int found = 0;
    while (st.Step()) {
      if (++found > 1) break;
      Result<TokenInfo> t = TokenFromRow(st);
      if (!t.ok()) {
        (void)st.Reset();
        return t.status();
      }
      info = std::move(t).value();
      hash = st.ColumnText(0);
      if (!st.IsNull(6)) used_at = st.ColumnText(6);
      if (!st.IsNull(7)) used_by = st.ColumnText(7);
    }
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
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
  Statement& st = db.Cached(
      "UPDATE enrol_token SET cancelled_at = COALESCE(cancelled_at, ?2) WHERE "
      "token_hash = ?1");
  st.Bind(1, std::string_view(hash)).Bind(2, std::string_view(store_.NowIso()));
  if (Status s = st.Run(); !s.ok()) return s;
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
  Statement& st = db.Cached(
      "UPDATE device SET districts = ?2, grant_seq = ?3 WHERE device_id = ?1");
  st.Bind(1, std::string_view(id->ToString()))
      .Bind(2, std::string_view(scope.ToString()))
      .Bind(3, static_cast<int64_t>(*seq));
  if (Status s = st.Run(); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  store_.NoteCommittedSequences();
  if (changed != nullptr) *changed = true;
  return scope;
}

}  // namespace kbo::server
