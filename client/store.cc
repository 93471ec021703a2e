#include "client/store.h"

#include <array>
#include <ctime>
#include <iterator>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "client/csv_import.h"
#include "client/enrolment_rules.h"
#include "client/outbox.h"
#include "schema/schema.h"
#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "shared/fs.h"
#include "shared/civil_time.h"
#include "shared/labels.h"
#include "shared/replica/apply.h"
#include "shared/replica/workshop_cut.h"
#include "shared/rows_under.h"
#include "shared/sqlite/migrate.h"

namespace kbo::client {
namespace {

const Entity* LookupEntity(std::string_view name, Status* error) {
  const Entity* e = FindEntity(name);
  if (e == nullptr) {
    std::string known;
    for (const Entity& x : Catalogue()) {
      known += known.empty() ? "" : ", ";
      known += x.name;
    }
    *error = Status::InvalidArgument("unknown entity '" + std::string(name) +
                                     "' (one of: " + known + ")");
  }
  return e;
}

std::string SelectColumns(const Entity& e) {
  std::string cols = "id";
  for (const Column& c : e.columns) {
    cols += ", ";
    cols += c.name;
  }
  return cols + ", deleted";
}

StoredRow ReadRow(const Entity& e, Statement& st) {
  StoredRow row;
  row.id = Uuid::Parse(st.ColumnText(0)).value();
  int i = 1;
  for (const Column& c : e.columns) row.values[std::string(c.name)] = st.ColumnValue(i++);
  row.deleted = st.ColumnInt(i) != 0;
  return row;
}

// The canonical text of a uuid in a caller's buffer (no allocation).
std::string_view IdText(const Uuid& u, char (&out)[36]) {
  u.FormatTo(out);
  return std::string_view(out, sizeof out);
}

// Keys of statements cached by Db::CachedBy.
const char kFindKey = 0;
const char kFindParentKey = 0;
const char kOutboxInsertKey = 0;
const char kOutboxCellsInsertKey = 0;

// What a change of a row the server refused (and that no later accepted
// change settled) must carry besides what it changes. `whole`: every cell,
// when the server may hold none of the row (a refused create: no cell here
// carries a server sequence). Otherwise `columns`: the cells that still
// show a refused write of this device (their version is the hlc of a
// refused row change of it), so that they go again with the change rather
// than stand here alone once the refusal settles; never the cells others
// wrote since, which sending again, stamped now, would overwrite (the
// office's rename of a row this device had an edit of refused).
struct RefusedResend {
  bool any = false;
  bool whole = false;
  std::set<std::string> columns;
};
Result<RefusedResend> RefusedCellsToResend(Db& db, std::string_view entity,
                                           const Uuid& id) {
  RefusedResend out;
  std::vector<std::pair<int64_t, int64_t>> refusals;
  {
    Statement& st = db.Cached(
        "SELECT seq, row_index FROM refused_row WHERE entity = ?1 AND row_id = ?2");
    st.Bind(1, entity).Bind(2, std::string_view(id.ToString()));
    while (st.Step()) refusals.emplace_back(st.ColumnInt(0), st.ColumnInt(1));
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
  }
  if (refusals.empty()) return out;
  out.any = true;
  Result<bool> held = ServerHeldRow(db, entity, id);
  if (!held.ok()) return held.status();
  out.whole = !*held;
  if (out.whole) return out;
  Result<std::map<std::string, StoredCellVersion, std::less<>>> versions =
      ReadCellVersions(db, entity, id);
  if (!versions.ok()) return versions.status();
  std::set<Hlc> refused_hlcs;
  for (const auto& [seq, index] : refusals) {
    Result<ChangeSet> sent = LoadSealedSet(db, seq);
    if (!sent.ok() && sent.status().code() != Code::kCorruption) return sent.status();
    if (!sent.ok() || index < 0 || static_cast<size_t>(index) >= sent->rows.size()) {
      continue;  // its bytes are gone (an earlier identity's set)
    }
    const RowChange& rc = sent->rows[static_cast<size_t>(index)];
    if (rc.entity == entity && rc.row_id == id) refused_hlcs.insert(rc.hlc);
  }
  for (const auto& [column, version] : *versions) {
    if (column != kDeletedColumn && refused_hlcs.count(version.hlc) != 0) {
      out.columns.insert(column);
    }
  }
  return out;
}

// Removes from `cells` the values `held` holds already (the same value
// again is no change). True iff nothing is left to write.
bool DropUnchanged(const StoredRow& held, RowValues* cells) {
  for (auto it = cells->begin(); it != cells->end();) {
    const auto now = held.values.find(it->first);
    const bool same = now == held.values.end() ? it->second.is_null()
                                               : now->second == it->second;
    it = same ? cells->erase(it) : std::next(it);
  }
  return cells->empty();
}

// An enrolment is not moved to another workshop while it has marks: they
// are marks of its old workshop (attendance names the workshop too), and
// would drop out of both workshops' roll calls and certificates.
Status CheckNoMarksLeftBehind(Db& db, const Uuid& enrolment) {
  Statement& st = db.Cached(
      "SELECT COUNT(*) FROM attendance WHERE enrolment_id = ?1 AND deleted = 0");
  st.Bind(1, std::string_view(enrolment.ToString()));
  const int64_t marks = st.Step() ? st.ColumnInt(0) : 0;
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  if (marks == 0) return Status();
  return Status::InvalidArgument(
             "the enrolment cannot move to another workshop: " +
             std::to_string(marks) + " attendance mark" +
             (marks == 1 ? " is" : "s are") +
             " recorded for it in its workshop. Enrol the participant in the "
             "other workshop instead. Nothing was changed.")
      .WithReason("enrolment_has_marks")
      .With(field::kField, "workshop_id")
      .With(field::kProblem, "err.enrolment_has_marks")
      .With(field::kParams,
            std::vector<std::pair<std::string, std::string>>{{"marks", std::to_string(marks)}});
}

// A visit's next visit is on its day or after it (by the Bangkok date of
// visited_at): 1900-01-01 or last year is a slip of the keyboard or of the
// date picker. Checked where a person records or edits a visit, not in the
// merge (rows recorded before this rule still sync).
Status CheckNextVisit(const RowValues& row) {
  auto at = row.find("visited_at");
  auto next = row.find("next_visit");
  if (at == row.end() || next == row.end() || at->second.type() != Value::Type::kText ||
      next->second.type() != Value::Type::kText) {
    return Status();
  }
  const std::optional<int64_t> ms = ParseIsoUtcMillis(at->second.text());
  if (!ms.has_value()) return Status();
  // The visit's Bangkok date: the ISO form of its Bangkok wall time.
  const std::string visit_day =
      FormatIsoUtc(*ms / 1000 + kBangkokOffsetSeconds).substr(0, 10);
  const std::string& next_day = next->second.text();
  if (next_day >= visit_day) return Status();
  return Status::InvalidArgument("next_visit " + next_day + " is before the visit itself (" +
                                 visit_day +
                                 "): the next visit comes after it; nothing was recorded")
      .With(field::kField, "next_visit")
      .With(field::kProblem, "err.next_visit_before")
      .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                {"next", next_day}, {"visit", visit_day}});
}

bool IsNaturalKey(const Entity& e, std::string_view column) {
  for (std::string_view k : e.natural_key) {
    if (k == column) return true;
  }
  return false;
}

}  // namespace

Result<bool> ServerHeldRow(Db& db, std::string_view entity, const Uuid& id) {
  Result<std::map<std::string, StoredCellVersion, std::less<>>> versions =
      ReadCellVersions(db, entity, id);
  if (!versions.ok()) return versions.status();
  return std::any_of(versions->begin(), versions->end(),
                     [](const auto& cell) { return cell.second.seq != 0; });
}


namespace {

// The key field.db names (`public_hex`): the key file's; or, when the file
// holds another key or none, the next key kept in field.db by a move to a
// new identity (MoveToNewDevice) that stopped before the file was written
// (in the phone app, before the file was saved), written to the file now.
// Otherwise what the file gave (the caller explains a missing or foreign
// key).
Result<KeyPair> LoadNamedKey(Db& d, const std::string& key_path,
                             const std::string& public_hex) {
  Result<KeyPair> key = KeyPair::LoadFromFile(key_path);
  if (key.ok() && key->public_key().ToHex() == public_hex) return key;
  Result<std::optional<NextIdentity>> next = ReadNextIdentity(d);
  if (!next.ok()) return next.status();
  if (next->has_value() && (*next)->key.public_key().ToHex() == public_hex) {
    if (Status s = (*next)->key.SaveToFile(key_path); !s.ok()) return s;
    return std::move((*next)->key);
  }
  return key;
}

}  // namespace

Result<std::optional<NextIdentity>> ReadNextIdentity(Db& db) {
  Statement st(db, "SELECT next_device_id, next_device_key FROM sync_state "
                   "WHERE singleton = 1");
  std::optional<NextIdentity> out;
  if (st.Step() && !st.IsNull(0) && !st.IsNull(1)) {
    Result<Uuid> id = Uuid::Parse(st.ColumnText(0));
    std::string text = st.ColumnText(1);
    Result<KeyPair> key = KeyPair::FromKeyText(text, "the next device key in field.db");
    std::fill(text.begin(), text.end(), '\0');
    if (id.ok() && key.ok()) out = NextIdentity{*id, std::move(key).value()};
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Status ClientStore::PrepareDeviceKey(const std::string& dir) {
  const HomePaths paths = PathsFor(dir);
  if (Status s = EnsureDir(dir); !s.ok()) return s;
  // Names and phone numbers live in field.db: only the owner may read it,
  // even in a home folder others may list (a memory card's mount point).
  if (Status s = CreateFileIfMissing(paths.db, 0600); !s.ok()) return s;
  Result<KeyPair> key = KeyPair::LoadFromFile(paths.key);
  if (key.ok() || key.status().code() != Code::kNotFound) return key.status();
  auto db = Db::Open(paths.db);
  if (!db.ok()) return db.status();
  bool has_device = false;
  {
    Statement st(**db,
                 "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' "
                 "AND name = 'device')");
    if (st.Step() && st.ColumnInt(0) != 0) {
      Statement row(**db, "SELECT 1 FROM device WHERE singleton = 1");
      has_device = row.Step();
      if (!row.status().ok()) return row.status();
    }
    if (!st.status().ok()) return st.status();
  }
  // A device without its key stays so: Open explains what to restore.
  if (has_device) return Status();
  return KeyPair::Generate().SaveToFile(paths.key);
}

Result<std::unique_ptr<ClientStore>> ClientStore::Open(const std::string& dir,
                                                       WallClock* wall) {
  std::unique_ptr<ClientStore> store(new ClientStore());
  store->paths_ = PathsFor(dir);
  store->wall_ = wall;
  if (Status s = EnsureDir(dir); !s.ok()) return s;
  if (Status s = EnsureDir(store->paths_.blobs); !s.ok()) return s;
  if (Status s = CreateFileIfMissing(store->paths_.db, 0600); !s.ok()) return s;
  auto db = Db::Open(store->paths_.db);
  if (!db.ok()) return db.status();
  store->db_ = std::move(db).value();
  Db& d = *store->db_;
  if (Status s = Migrate(d, schema::kClientMigrations, schema::kClientMigrations_count);
      !s.ok()) {
    return s;
  }
  static const RequiredColumn kLayout[] = {
      {"attendance", "cell_versions"},
      {"outbox_cells", "cells"},
      {"change_set_bytes", "bytes"},
  };
  if (Status s = CheckLayout(d, kLayout, std::size(kLayout), store->paths_.db); !s.ok()) {
    return s;
  }

  Transaction txn(d);
  if (!txn.status().ok()) return txn.status();
  std::optional<std::string> device_text, public_hex;
  {
    Statement st(d, "SELECT device_id, public_key FROM device WHERE singleton = 1");
    if (st.Step()) {
      device_text = st.ColumnText(0);
      public_hex = st.ColumnText(1);
    }
    if (!st.status().ok()) return st.status();
  }
  if (!device_text) {
    // First use. The key file is written first: if we crash before the
    // device row commits, the next start finds the key and reuses it.
    Result<KeyPair> key = KeyPair::LoadFromFile(store->paths_.key);
    if (!key.ok() && key.status().code() != Code::kNotFound) return key.status();
    if (!key.ok()) {
      KeyPair fresh = KeyPair::Generate();
      if (Status s = fresh.SaveToFile(store->paths_.key); !s.ok()) return s;
      key = std::move(fresh);
    }
    store->key_ = std::make_unique<KeyPair>(std::move(key).value());
    store->device_id_ = Uuid::Random();
    Statement ins(d,
                  "INSERT INTO device (singleton, device_id, public_key, created_at) "
                  "VALUES (1, ?1, ?2, ?3)");
    ins.Bind(1, std::string_view(store->device_id_.ToString()))
        .Bind(2, std::string_view(store->key_->public_key().ToHex()))
        .Bind(3, std::string_view(store->NowIso()));
    if (Status s = ins.Run(); !s.ok()) return s;
    Hlc zero;
    zero.device = store->device_id_;
    Statement clock(d, "INSERT INTO clock_state (singleton, hlc) VALUES (1, ?1)");
    clock.Bind(1, std::string_view(zero.ToString()));
    if (Status s = clock.Run(); !s.ok()) return s;
    if (Status s = d.Exec("INSERT INTO sync_state (singleton) VALUES (1)"); !s.ok()) {
      return s;
    }
  } else {
    Result<Uuid> id = Uuid::Parse(*device_text);
    if (!id.ok()) return Status::Corruption("device id in field.db is damaged");
    store->device_id_ = *id;
    Result<KeyPair> key = LoadNamedKey(d, store->paths_.key, *public_hex);
    if (!key.ok()) {
      if (key.status().code() == Code::kNotFound) {
        return Status::FailedPrecondition(
            "the device key " + store->paths_.key +
            " is missing; field.db belongs to device " + *device_text +
            ". Restore the key from a backup; without it this device cannot "
            "sign what it records");
      }
      return key.status();
    }
    if (key->public_key().ToHex() != *public_hex) {
      return Status::FailedPrecondition("the device key " + store->paths_.key +
                                        " belongs to another device");
    }
    store->key_ = std::make_unique<KeyPair>(std::move(key).value());
  }
  Hlc last;
  {
    Statement st(d, "SELECT hlc FROM clock_state WHERE singleton = 1");
    if (!st.Step()) return Status::Corruption("clock state missing from field.db");
    Result<Hlc> h = Hlc::Parse(st.ColumnText(0));
    if (!h.ok()) return Status::Corruption("clock state in field.db is damaged");
    last = *h;
  }
  store->clock_ = std::make_unique<HybridClock>(wall, store->device_id_, last);
  if (Status s = txn.Commit(); !s.ok()) return s;
  return store;
}

ClientStore::~ClientStore() = default;

std::string ClientStore::NowIso() {
  const time_t secs = static_cast<time_t>(wall_->NowMillis() / 1000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

void ClientStore::AdoptIdentity(const Uuid& device, KeyPair key, const Hlc& last) {
  device_id_ = device;
  key_ = std::make_unique<KeyPair>(std::move(key));
  clock_ = std::make_unique<HybridClock>(wall_, device_id_, last);
}

void ClientStore::ResetClock(const Hlc& last) {
  clock_ = std::make_unique<HybridClock>(wall_, device_id_, last);
}

Status ClientStore::SaveClock(bool may_go_back) {
  // Never below what another kbo on this home (kbo ui beside a kbo sync)
  // persisted meanwhile: the text's byte order is the hlc order.
  Statement& st = db_->Cached(
      may_go_back ? "UPDATE clock_state SET hlc = ?1 WHERE singleton = 1"
                  : "UPDATE clock_state SET hlc = max(hlc, ?1) WHERE singleton = 1");
  st.Bind(1, std::string_view(clock_->State().ToString()));
  return st.Run();
}

Status ClientStore::RefreshFromDisk() {
  // Another kbo on this home may have moved this device to a new identity
  // (kbo enroll after a fork, while kbo ui runs): stamping with the old one
  // would be refused by the server for good (forged_hlc).
  std::string id_text, public_hex;
  {
    Statement& st = db_->Cached("SELECT device_id, public_key FROM device WHERE singleton = 1");
    if (st.Step()) {
      id_text = st.ColumnText(0);
      public_hex = st.ColumnText(1);
    }
    const Status read = st.status();
    (void)st.Reset();
    if (!read.ok()) return read;
  }
  if (!id_text.empty() && id_text != device_id_.ToString()) {
    Result<Uuid> id = Uuid::Parse(id_text);
    Result<KeyPair> key = LoadNamedKey(*db_, paths_.key, public_hex);
    if (!id.ok() || !key.ok() || key->public_key().ToHex() != public_hex) {
      return Status::FailedPrecondition(
          "this device was enrolled again as device " + id_text +
          " by another kbo, and its key is not readable here; start this kbo again");
    }
    device_id_ = *id;
    key_ = std::make_unique<KeyPair>(std::move(key).value());
  }
  // Another kbo (a kbo sync from the terminal while kbo ui runs) may have
  // pulled later hlcs since this one read the clock: an edit stamped below a
  // value it was shown would lose to it, silently (DESIGN §4: a write made
  // after seeing another carries a later hlc). Or re-dated the clock back
  // (client/clock_repair.h): the clock is what is persisted, either way.
  // What this store issued beyond it was never committed.
  Statement& st = db_->Cached("SELECT hlc FROM clock_state WHERE singleton = 1");
  std::optional<Hlc> persisted;
  if (st.Step()) {
    Result<Hlc> h = Hlc::Parse(st.ColumnText(0));
    if (h.ok()) persisted = *h;
  }
  (void)st.Reset();
  if (persisted.has_value() &&
      (clock_->State() != *persisted || clock_->device() != device_id_)) {
    ResetClock(*persisted);
  }
  return Status();
}

Result<Value> ClientStore::ParseText(std::string_view entity, std::string_view column,
                                     std::string_view text) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  const Column* c = e->FindColumn(column);
  if (!c) {
    return Status::InvalidArgument(std::string(entity) + " has no column '" +
                                   std::string(column) + "'");
  }
  // A value of an enumeration may be typed as its Thai or English name too
  // ("สาย" or "Late" for late), as the exports and screens show it.
  if (c->type == ColumnType::kEnum) {
    return ParseCellText(*e, *c, EnumCodeOfName(*c, text));
  }
  // DEL and the C1 controls (U+0080..U+009F: U+009B starts a terminal's
  // escape sequence, as ESC does) have no business in typed text either.
  // Refused here, where a person types or pastes a value (the CLI, a CSV
  // file), not in the merge's validation, which rows stored before must
  // still pass.
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<uint8_t>(text[i]);
    const bool c1 = b == 0xC2 && i + 1 < text.size() &&
                    static_cast<uint8_t>(text[i + 1]) >= 0x80 &&
                    static_cast<uint8_t>(text[i + 1]) <= 0x9F;
    if (b == 0x7F || c1) {
      // U+0080..U+009F is C2 80..C2 9F: the code is the second byte.
      const unsigned code = b == 0x7F ? 0x7Fu : static_cast<uint8_t>(text[i + 1]);
      return Status::InvalidArgument(std::string(column) +
                                     " contains a control character (code " +
                                     std::to_string(code) +
                                     "); only tab and line breaks are allowed")
          .With(field::kField, std::string(column));
    }
  }
  // A visit's purpose typed as one of the screens' and exports' names
  // ("ติดตามผล", "Follow-up visit") is stored as its code, as the screens
  // and an imported file store it: one value, however it came. Any other
  // text is kept as typed.
  if (e->name == "visit" && c->name == "purpose") {
    return ParseCellText(*e, *c, ValueFromLabel(e->name, c->name, text));
  }
  return ParseCellText(*e, *c, text);
}

Result<std::optional<StoredRow>> ClientStore::Find(const Entity& e, const Uuid& id) {
  Statement& st = db_->CachedBy(&kFindKey, static_cast<uint64_t>(&e - Catalogue().data()),
                                [&e] {
                                  return "SELECT " + SelectColumns(e) + " FROM " +
                                         std::string(e.name) + " WHERE id = ?1";
                                });
  char text[36];
  st.BindNoCopy(1, IdText(id, text));
  std::optional<StoredRow> row;
  if (st.Step()) row = ReadRow(e, st);
  if (!st.status().ok()) return st.status();
  (void)st.Reset();  // done with it, and with `text` bound
  return row;
}

Result<std::optional<ClientStore::ParentRow>> ClientStore::FindParent(const Entity& e,
                                                                     const Uuid& id) {
  Statement& st = db_->CachedBy(&kFindParentKey, static_cast<uint64_t>(&e - Catalogue().data()),
                                [&e] {
                                  auto col = [&e](std::string_view name) {
                                    return e.FindColumn(name) ? std::string(name)
                                                              : std::string("NULL");
                                  };
                                  return "SELECT deleted, " + col(kDistrictColumn) + ", " +
                                         col("days") + ", " + col("workshop_id") + " FROM " +
                                         std::string(e.name) + " WHERE id = ?1";
                                });
  char text[36];
  st.BindNoCopy(1, IdText(id, text));
  std::optional<ParentRow> row;
  if (st.Step()) {
    row.emplace();
    row->id = id;
    std::memcpy(row->id_text, text, sizeof text);
    row->deleted = st.ColumnInt(0) != 0;
    row->district_code = st.ColumnValue(1);
    row->days = st.ColumnValue(2);
    row->workshop_id = st.ColumnValue(3);
  }
  if (!st.status().ok()) return st.status();
  (void)st.Reset();  // done with it, and with `text` bound
  return row;
}

Status ClientStore::CheckReferences(const Entity& e, const RowValues* changed,
                                    RowValues* row) {
  // Every reference must name a live row. The parents found, by column:
  // rows of the batch's cache, or of `found_rows` (no allocation per row:
  // an entity has at most a few references).
  struct Parent {
    std::string_view column;
    const ParentRow* row;
  };
  constexpr size_t kMaxRefs = 8;
  std::array<Parent, kMaxRefs> parents;
  std::array<std::optional<ParentRow>, kMaxRefs> found_rows;  // none built yet
  size_t nparents = 0, nfound = 0;
  size_t ref_index = 0;  // the column's place among the references
  for (const Column& c : e.columns) {
    if (c.type != ColumnType::kRef) continue;
    // Not photo.subject_id: its entity comes with each row.
    LastParent* last =
        in_batch_ && !c.ref_entity.empty() && ref_index < last_parent_.size()
            ? &last_parent_[ref_index]
            : nullptr;
    ++ref_index;
    // An edit checks only what it changes: a product whose producer was
    // deleted can still have its description corrected.
    if (changed && changed->find(c.name) == changed->end() &&
        !(c.ref_entity.empty() && changed->find("subject_type") != changed->end())) {
      continue;
    }
    auto it = row->find(c.name);
    if (it == row->end() || it->second.is_null()) continue;
    std::string_view target = c.ref_entity;
    if (target.empty()) {  // photo.subject_id: the entity named by subject_type
      auto type = row->find("subject_type");
      if (type == row->end() || type->second.is_null()) {
        return Status::InvalidArgument(
                   "subject_type is required with subject_id")
            .With(field::kField, "subject_type");
      }
      target = type->second.text();
    }
    const std::string& text = it->second.text();
    if (last != nullptr && last->column == &c && *last->text == text) {
      if (nparents == kMaxRefs) return Status::Internal("too many references in one row");
      parents[nparents++] = {c.name, last->row};
      continue;
    }
    const Entity* te = FindEntity(target);
    if (!te) return Status::InvalidArgument("unknown entity '" + std::string(target) + "'");
    if (nparents == kMaxRefs) return Status::Internal("too many references in one row");
    // In a batch, parents are read once: nothing else writes them meanwhile.
    std::unordered_map<std::string, ParentRow>* cache =
        in_batch_ ? &parent_cache_[te] : nullptr;
    if (cache) {
      if (auto hit = cache->find(text); hit != cache->end()) {
        if (last != nullptr) *last = {&c, &hit->first, &hit->second};
        parents[nparents++] = {c.name, &hit->second};
        continue;
      }
    }
    Result<Uuid> ref = Uuid::Parse(text);
    if (!ref.ok()) {
      return Status::InvalidArgument(std::string(c.name) + ": " +
                                     ref.status().message())
          .With(field::kField, std::string(c.name));
    }
    auto found = FindParent(*te, *ref);
    if (!found.ok()) return found.status();
    if (!found->has_value() || (*found)->deleted) {
      return Status::NotFound("no " + std::string(target) + " with id " +
                              ref->ToString() +
                              (found->has_value() ? " (it was deleted)" : ""))
          .With(field::kField, std::string(c.name));
    }
    if (cache) {
      auto added = cache->emplace(text, std::move(**found)).first;
      if (last != nullptr) *last = {&c, &added->first, &added->second};
      parents[nparents++] = {c.name, &added->second};
    } else {
      found_rows[nfound] = std::move(**found);
      parents[nparents++] = {c.name, &*found_rows[nfound++]};
    }
  }
  auto parent_of = [&parents, nparents](std::string_view column) -> const ParentRow* {
    for (size_t i = 0; i < nparents; ++i) {
      if (parents[i].column == column) return parents[i].row;
    }
    return nullptr;
  };
  // Inherit the parent's district when none was given (DESIGN §3: a mark
  // belongs to its workshop's district, a photo to its subject's).
  const std::string_view parent_col = DistrictParentColumn(e.name);
  const ParentRow* district_parent =
      parent_col.empty() ? nullptr : parent_of(parent_col);
  if (district_parent != nullptr) {
    auto district = row->find(kDistrictColumn);
    if (district == row->end() || district->second.is_null()) {
      (*row)[std::string(kDistrictColumn)] = district_parent->district_code;
    } else if (district_parent->district_code.type() == Value::Type::kText &&
               district->second != district_parent->district_code) {
      return Status::InvalidArgument(
          WithArticle(e.name) + " belongs to its " +
          std::string(parent_col.substr(0, parent_col.size() - 3)) +
          "'s district (" + district_parent->district_code.text() +
          "), not " + district->second.ToDisplay());
    }
  }
  // This device may not hang a row on a parent outside its districts: the
  // server would refuse it (DESIGN §6).
  if (permissions_.enrolled) {
    for (size_t i = 0; i < nparents; ++i) {
      const Value& d = parents[i].row->district_code;
      if (d.type() == Value::Type::kText && !permissions_.scope.Contains(d.text())) {
        return Status::InvalidArgument(
                   std::string(parents[i].column) +
                   " names a row in district " + d.text() +
                   ", outside this device's districts (" +
                   permissions_.scope.ToString() +
                   ")")
            .With(field::kField, std::string(parents[i].column));
      }
    }
  }
  if (e.name == "attendance") {
    const ParentRow* ws = parent_of("workshop_id");
    const ParentRow* en = parent_of("enrolment_id");
    auto day = row->find("day");
    if (ws != nullptr && day != row->end() && !day->second.is_null()) {
      const int64_t n = ws->days.type() == Value::Type::kInteger ? ws->days.integer() : 5;
      if (day->second.integer() < 1 || day->second.integer() > n) {
        return Status::InvalidArgument(
                   "day " + std::to_string(day->second.integer()) +
                   " is outside the workshop's days (1 to " +
                   std::to_string(n) + ")")
            .With(field::kField, "day");
      }
    }
    if (ws != nullptr && en != nullptr) {
      const bool same = en->workshop_id.type() == Value::Type::kText &&
                        en->workshop_id.text() ==
                            std::string_view(ws->id_text, sizeof ws->id_text);
      if (!same) {
        return Status::InvalidArgument("enrolment " + en->id.ToString() +
                                       " belongs to another workshop")
            .With(field::kField, "enrolment_id");
      }
    }
  }
  return Status();
}

Status ClientStore::WriteLocal(const Entity& e, const Uuid& id, RowValues* cells,
                               bool validated, bool absent, const Hlc* stamp) {
  if (!action_status_.ok()) return action_status_;
  RowChange change;
  change.entity = std::string(e.name);
  change.row_id = id;
  change.hlc = stamp != nullptr ? *stamp : clock_->Now();
  change.cells.reserve(cells->size());
  // The names move with their nodes: no copy of each column's name (most
  // are longer than WebAssembly's short-string buffer, so each copy was an
  // allocation). The map is empty until the values go back below.
  while (!cells->empty()) {
    auto node = cells->extract(cells->begin());
    change.cells.push_back(CellWrite{std::move(node.key()), std::move(node.mapped()), 0});
  }
  // Applies locally and fills each cell's base from the replica's versions.
  ApplyOptions options;
  options.cells_validated = validated;
  options.row_absent = absent;
  if (Status s = ApplyLocalRowChange(*db_, &change, options); !s.ok()) {
    // Taken as new, but the row exists (the same key recorded again):
    // nothing was written; the cells go back for the caller to retry.
    for (CellWrite& c : change.cells) {
      cells->emplace(std::move(c.column), std::move(c.value));
    }
    return s;
  }
  // Encoded now, while the row is in cache; the entry's names go in front
  // when it is flushed.
  if (!action_entry_) action_entry_ = std::make_unique<OutboxEntryWriter>(device_id_);
  action_entry_->Add(change);
  if (action_entry_->rows() >= kOutboxEntryMaxRows ||
      action_entry_->size() >= kOutboxEntryMaxBytes) {
    return FlushOutbox();
  }
  return Status();
}

Status ClientStore::FlushOutbox() {
  if (!action_entry_ || action_entry_->rows() == 0) return Status();
  const size_t rows = action_entry_->rows();
  const std::string encoded = action_entry_->Finish();
  Statement& st = db_->CachedBy(&kOutboxInsertKey, 0, [] {
    return std::string(
        "INSERT INTO outbox (action_id, row_count, created_at) VALUES (?1, ?2, ?3)");
  });
  if (action_id_ != 0) {
    st.Bind(1, action_id_);
  } else {
    st.BindNull(1);
  }
  st.Bind(2, static_cast<int64_t>(rows))
      .Bind(3, std::string_view(NowIso()));
  if (Status s = st.Run(); !s.ok()) return s;
  const int64_t id = db_->LastInsertRowId();
  if (action_id_ == 0) action_id_ = id;
  Statement& cells = db_->CachedBy(&kOutboxCellsInsertKey, 0, [] {
    return std::string("INSERT INTO outbox_cells (id, cells) VALUES (?1, ?2)");
  });
  cells.Bind(1, id).BindBlobNoCopy(2, encoded);
  return cells.Run();
}

Status ClientStore::FinishAction() {
  if (Status s = FlushOutbox(); !s.ok()) return s;
  return SaveClock();
}

// One user action: starts with nothing pending and, however it ends, leaves
// nothing pending (on an error the transaction rolls back what was written).
class ClientStore::ActionScope {
 public:
  explicit ActionScope(ClientStore* store, bool batch = false) : store_(store) {
    Clear();
    // Inside the action's write transaction: the identity and the clock as
    // persisted now (another kbo on this home may have changed them).
    store_->action_status_ = store_->RefreshFromDisk();
    // Read by the caller after the action: cleared at the start only.
    store_->stage_follow_ = StageFollow();
    store_->in_batch_ = batch;
  }
  ~ActionScope() { Clear(); }
  ActionScope(const ActionScope&) = delete;
  ActionScope& operator=(const ActionScope&) = delete;

 private:
  void Clear() {
    store_->in_batch_ = false;
    store_->action_status_ = Status();
    store_->parent_cache_.clear();
    store_->last_parent_.fill(LastParent());
    if (store_->action_entry_) store_->action_entry_->Clear();
    store_->action_id_ = 0;
  }
  ClientStore* store_;
};

Status ClientStore::LoadPermissions() {
  Statement& st = db_->Cached(
      "SELECT server_url, role, districts FROM device WHERE singleton = 1");
  permissions_ = Permissions();
  std::string districts;
  if (st.Step() && !st.IsNull(0) && !st.IsNull(1)) {
    permissions_.enrolled = true;
    permissions_.role = st.ColumnText(1);
    if (!st.IsNull(2)) districts = st.ColumnText(2);
  }
  if (!st.status().ok()) return st.status();
  if (Status s = st.Reset(); !s.ok()) return s;
  // As enrolment stored the server's list, never refused here (the server
  // checks every write again).
  if (permissions_.enrolled) permissions_.scope = DistrictScope::ReadStored(districts);
  return Status();
}

Status ClientStore::CheckWrite(const Entity& e, RowAction action,
                               const RowValues& row, bool check_district) {
  if (!permissions_.enrolled) return Status();
  if (!RoleMayWrite(permissions_.role, e.name, action)) {
    return Status::InvalidArgument(
        "this device is enrolled as a " + permissions_.role + ", which may not " +
        std::string(RowActionName(action)) + " " + WithArticle(e.name) +
        " (docs/roles.md); nothing was recorded")
        .WithReason("role")
        .With(field::kProblem, "err.role_may_not");
  }
  if (!check_district) return Status();
  auto d = row.find(kDistrictColumn);
  if (d != row.end() && d->second.type() == Value::Type::kText &&
      !permissions_.scope.Contains(d->second.text())) {
    return Status::InvalidArgument(
        "district " + d->second.text() + " is outside this device's districts (" +
        permissions_.scope.ToString() +
        "); the server would refuse it, so nothing was recorded")
        .With(field::kField, std::string(kDistrictColumn));
  }
  return Status();
}

Status ClientStore::CheckHeldInScope(const Entity& e, const Uuid& id,
                                     const RowValues& held, std::string_view doing) {
  if (!permissions_.enrolled) return Status();
  auto d = held.find(kDistrictColumn);
  if (d == held.end() || d->second.type() != Value::Type::kText ||
      permissions_.scope.Contains(d->second.text())) {
    return Status();
  }
  // Received from the server (not this device's own row it never took).
  Result<bool> from_server = ServerHeldRow(*db_, e.name, id);
  if (!from_server.ok()) return from_server.status();
  if (!*from_server) return Status();
  return Status::InvalidArgument(
             "this " + std::string(e.name) + " is in district " +
             d->second.text() + ", outside this device's districts (" +
             permissions_.scope.ToString() +
             "): the server would refuse a change from this device, so "
             "nothing was " + std::string(doing) +
             ". A device of district " + d->second.text() +
             " or the central office can change it")
      .WithReason("row_out_of_scope")
      .With(field::kField, std::string(kDistrictColumn))
      .With(field::kProblem, "err.row_out_of_scope")
      .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                {"district", d->second.text()}});
}

Result<Uuid> ClientStore::RecordInTxn(const Entity& e, RowValues row,
                                      const Uuid* given,
                                      const RecordAgain* again,
                                      Recorded* recorded) {
  if (recorded != nullptr) *recorded = Recorded::kNew;
  if (row.find(kIdColumn) != row.end() || row.find(kDeletedColumn) != row.end()) {
    return Status::InvalidArgument("id and deleted are set by the system");
  }
  if (given != nullptr && given->IsNil()) {
    return Status::InvalidArgument("the nil uuid is not the id of a row")
        .With(field::kField, std::string(kIdColumn));
  }
  ApplyDefaults(e, &row);
  if (Status s = CheckReferences(e, nullptr, &row); !s.ok()) return s;
  if (Status s = ValidateNewRow(e, row); !s.ok()) return s;
  if (Status s = CheckWrite(e, RowAction::kCreate, row, /*check_district=*/true);
      !s.ok()) {
    return s;
  }
  // Not for a row that comes with its id (an import of an export): it is
  // held as recorded.
  if (e.name == "visit" && given == nullptr) {
    if (Status s = CheckNextVisit(row); !s.ok()) return s;
  }
  // One participant once per producer and workshop (enrolment_rules.h).
  // Not for a row that comes with its id (an import of an export): the
  // server holds it as it is (two devices may each have enrolled her
  // offline; the office's duplicate check lists them), and refusing it
  // would refuse the office's whole file.
  if (e.name == "enrolment" && given == nullptr) {
    if (Status s = CheckNotEnrolledTwice(*db_, row); !s.ok()) return s;
  }
  // A contest and judge as recorded before, whatever the case or spacing:
  // the score's id follows from them. Not for a row that comes with its id
  // (an import of an export): its names are as recorded already.
  if (e.name == "contest_score" && given == nullptr) {
    if (Status s = UseRecordedContestNames(*db_, &row); !s.ok()) return s;
  }
  if (e.natural_key.empty()) {
    // A progress entry may move its product ahead (stage_follow()).
    Value product_id, stage;
    if (e.name == "progress") {
      product_id = row["product_id"];
      stage = row["stage"];
    }
    // New: 122 random bits name no existing row. A given id may: then it
    // is refused, never written over.
    const Uuid id = given != nullptr ? *given : Uuid::Random();
    if (Status s = WriteLocal(e, id, &row, /*validated=*/true, /*absent=*/true); !s.ok()) {
      if (given != nullptr && s.code() == Code::kAlreadyExists) {
        return Status::AlreadyExists(WithArticle(e.name) + " with id " + id.ToString() +
                                     " is on this device already");
      }
      return s;
    }
    if (e.name == "progress") {
      if (Status s = FollowProgressStage(product_id, stage); !s.ok()) return s;
    }
    return id;
  }
  Result<Uuid> derived = DerivedRowId(e, row);
  if (!derived.ok()) return derived.status();
  const Uuid id = *derived;
  if (given != nullptr && *given != id) {
    std::string key;
    for (std::string_view k : e.natural_key) key += (key.empty() ? "" : ", ") + std::string(k);
    return Status::InvalidArgument("id " + given->ToString() + " is not the id of this " +
                                   std::string(e.name) + ": it follows from " + key + " (" +
                                   id.ToString() + ")")
        .With(field::kField, std::string(kIdColumn));
  }
  if (given != nullptr) {
    Result<std::optional<StoredRow>> held = Find(e, id);
    if (!held.ok()) return held.status();
    if (held->has_value()) {
      return Status::AlreadyExists(WithArticle(e.name) + " with id " + id.ToString() +
                                   " is on this device already");
    }
  }
  // Most keys are recorded once: write the row as new, which costs no read.
  // If it exists (kAlreadyExists: nothing was written), this is an edit.
  if (Status s = WriteLocal(e, id, &row, /*validated=*/true, /*absent=*/true);
      s.code() != Code::kAlreadyExists) {
    if (!s.ok()) return s;
    return id;
  }
  // Recording the same key again edits the row, and brings back a mark
  // that was deleted: the person recorded it anew.
  auto existing = Find(e, id);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value()) {
    return Status::Corruption(std::string(e.name) + " " + id.ToString() +
                              " has versions but no row in field.db");
  }
  if (again != nullptr && again->only_if_absent && !(*existing)->deleted) {
    if (recorded != nullptr) *recorded = Recorded::kKept;
    return id;
  }
  if ((*existing)->deleted) row[std::string(kDeletedColumn)] = Value::Integer(0);
  // A mark or score recorded again is a whole new statement: columns not
  // given (an old note) are cleared, not silently kept; unless the caller
  // asked to keep them (RecordAgain). A kept column is not written at all:
  // writing its old value again would stamp it now and beat (or conflict
  // with) a colleague's newer note that has not reached this device yet.
  for (const Column& c : e.columns) {
    if (row.find(c.name) != row.end()) continue;
    auto old = (*existing)->values.find(c.name);
    if (old == (*existing)->values.end() || old->second.is_null()) continue;
    // A deleted row recorded anew starts from what is given.
    const bool keep = again != nullptr && again->keep_unnamed &&
                      !(*existing)->deleted &&
                      again->cleared.count(std::string(c.name)) == 0;
    if (keep) continue;
    row[std::string(c.name)] = Value::Null();
  }
  if (!(*existing)->deleted) {
    RowValues differing = row;
    const bool same = DropUnchanged(**existing, &differing);
    if (recorded != nullptr) *recorded = same ? Recorded::kSame : Recorded::kChanged;
    // A row the server refused goes whole with its fix when the server may
    // hold none of it, values as held or not; otherwise with the cells
    // that still show the refused write (RefusedCellsToResend).
    Result<RefusedResend> resend = RefusedCellsToResend(*db_, e.name, id);
    if (!resend.ok()) return resend.status();
    if (!resend->whole) {
      for (const std::string& column : resend->columns) {
        if (differing.count(column) != 0) continue;
        auto named = row.find(column);
        auto held = (*existing)->values.find(column);
        differing[column] = named != row.end() ? named->second
                            : held != (*existing)->values.end() ? held->second
                                                                : Value();
      }
      if (differing.empty()) return id;
      row = std::move(differing);
    }
  }
  // Every cell is valid: ValidateNewRow checked the row, and what was added
  // since (nulls, cells it held already, deleted = 0) is valid for the row.
  if (Status s = WriteLocal(e, id, &row, /*validated=*/true, /*absent=*/false); !s.ok()) {
    return s;
  }
  return id;
}

Result<Uuid> ClientStore::Record(std::string_view entity, RowValues row) {
  return Record(entity, std::move(row), RecordAgain());
}

Result<Uuid> ClientStore::Record(std::string_view entity, RowValues row,
                                 const RecordAgain& again) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  ActionScope action(this);
  if (Status s = LoadPermissions(); !s.ok()) return s;
  Result<Uuid> id = RecordInTxn(*e, std::move(row), nullptr, &again);
  if (!id.ok()) return id;
  if (Status s = FinishAction(); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return id;
}

Result<Uuid> ClientStore::RecordPhoto(RowValues row,
                                      const PhotoOriginal* original) {
  const Entity* e = FindEntity("photo");
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  ActionScope action(this);
  if (Status s = LoadPermissions(); !s.ok()) return s;
  const Value sha = row.count("sha256") ? row["sha256"] : Value();
  const Value bytes = row.count("bytes") ? row["bytes"] : Value();
  const Value mime = row.count("mime") ? row["mime"] : Value();
  // The same picture of the same subject twice (added again by mistake, a
  // double tap) would show twice everywhere: refused, naming the one held.
  if (row.count("subject_id") != 0 && !sha.is_null()) {
    Statement& held = db_->Cached(
        "SELECT id FROM photo WHERE sha256 = ?1 AND subject_id = ?2 AND deleted = 0 "
        "LIMIT 1");
    held.Bind(1, sha).Bind(2, row["subject_id"]);
    std::string already;
    if (held.Step()) already = std::string(held.ColumnText(0));
    if (!held.status().ok()) return held.status();
    if (Status s = held.Reset(); !s.ok()) return s;
    if (!already.empty()) {
      const Value& type = row["subject_type"];
      const std::string subject =
          type.type() == Value::Type::kText ? std::string(type.text()) : "subject";
      return Status::InvalidArgument("this photo is recorded for that " + subject +
                                     " already (photo " + already +
                                     "). Nothing was added.")
          .WithReason("photo_already_recorded")
          .With(field::kProblem, "err.photo_already_recorded");
    }
  }
  Result<Uuid> id = RecordInTxn(*e, std::move(row));
  if (!id.ok()) return id;
  Statement& st = db_->Cached(
      "INSERT OR IGNORE INTO blob_upload (sha256, bytes, mime) VALUES (?1, ?2, ?3)");
  st.Bind(1, sha).Bind(2, bytes).Bind(3, mime);
  if (Status s = st.Run(); !s.ok()) return s;
  if (original != nullptr) {
    // The same upload copy comes from the same original (content
    // addresses), so a second photo row of it has nothing new to say.
    Statement& keep = db_->Cached(
        "INSERT OR IGNORE INTO photo_original (upload_sha256, "
        "original_sha256, original_bytes, original_mime, original_width, "
        "original_height) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    keep.Bind(1, sha)
        .Bind(2, Value::Text(original->sha256))
        .Bind(3, Value::Integer(original->bytes))
        .Bind(4, Value::Text(original->mime))
        .Bind(5, Value::Integer(original->width))
        .Bind(6, Value::Integer(original->height));
    if (Status s = keep.Run(); !s.ok()) return s;
  }
  if (Status s = FinishAction(); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return id;
}

Result<std::optional<ClientStore::OwnOriginal>> ClientStore::OriginalOf(
    const Uuid& photo, bool taken_here_only) {
  const std::string id = photo.ToString();
  std::optional<OwnOriginal> own;
  {
    Statement& st = db_->Cached(
        "SELECT p.sha256, o.original_sha256, o.original_bytes, o.original_mime "
        "FROM photo p LEFT JOIN photo_original o ON o.upload_sha256 = p.sha256 "
        "WHERE p.id = ?1 AND p.deleted = 0");
    st.Bind(1, std::string_view(id));
    const bool found = st.Step();
    if (found && !st.IsNull(1)) {
      own = OwnOriginal{st.ColumnText(0), st.ColumnText(1), st.ColumnInt(2),
                        st.ColumnText(3)};
    }
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
    if (!found) return Status::NotFound("no photo with id " + id);
  }
  if (!own || !taken_here_only) return own;
  // Taken here: this device wrote the row's picture. (A row of another
  // device may name the same copy, pulled from the server.)
  Result<std::map<std::string, StoredCellVersion, std::less<>>> versions =
      ReadCellVersions(*db_, "photo", photo);
  if (!versions.ok()) return versions.status();
  const auto writer = versions->find("sha256");
  if (writer == versions->end() || writer->second.hlc.device != device_id_) {
    return std::optional<OwnOriginal>();
  }
  return own;
}

Result<ClientStore::OriginalsAsked> ClientStore::AskForOriginals(
    const std::vector<Uuid>& photos, bool all) {
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  std::vector<std::pair<Uuid, OwnOriginal>> asked_for;
  for (const Uuid& id : photos) {
    Result<std::optional<OwnOriginal>> own = OriginalOf(id);
    if (!own.ok()) return own.status();
    if (!own->has_value()) {
      return Status::NotFound("photo " + id.ToString() +
                              " has no original on this device (it was taken "
                              "on another device, or recorded before kbo kept "
                              "originals)");
    }
    asked_for.emplace_back(id, **own);
  }
  if (all) {
    std::vector<Uuid> candidates;
    Statement st(*db_,
                 "SELECT p.id FROM photo p JOIN photo_original o ON "
                 "o.upload_sha256 = p.sha256 WHERE p.deleted = 0 AND "
                 "o.original_sha256 != o.upload_sha256 ORDER BY p.rowid");
    while (st.Step()) {
      if (Result<Uuid> id = Uuid::Parse(st.ColumnText(0)); id.ok()) {
        candidates.push_back(*id);
      }
    }
    if (!st.status().ok()) return st.status();
    for (const Uuid& id : candidates) {
      Result<std::optional<OwnOriginal>> own = OriginalOf(id);
      if (!own.ok()) return own.status();
      if (own->has_value()) asked_for.emplace_back(id, **own);
    }
  }
  const std::string now = NowIso();
  OriginalsAsked asked;
  std::set<std::string> seen;
  for (const auto& [id, own] : asked_for) {
    const std::string text = id.ToString();
    if (!seen.insert(text).second) continue;
    // Asked again: an earlier refusal is forgotten; an announcement of the
    // same copy stands (its upload goes on), of another copy does not.
    Statement& mark = db_->Cached(
        "INSERT INTO original_send (photo_id, upload_sha256, requested_at) "
        "VALUES (?1, ?2, ?3) ON CONFLICT (photo_id) DO UPDATE SET "
        "requested_at = excluded.requested_at, refused_at = NULL, refusal = "
        "NULL, announced_at = CASE WHEN upload_sha256 = excluded.upload_sha256 "
        "THEN announced_at END, upload_sha256 = excluded.upload_sha256");
    mark.Bind(1, std::string_view(text))
        .Bind(2, std::string_view(own.upload_sha256))
        .Bind(3, std::string_view(now));
    if (Status s = mark.Run(); !s.ok()) return s;
    Statement& state =
        db_->Cached("SELECT announced_at IS NOT NULL FROM original_send WHERE photo_id = ?1");
    state.Bind(1, std::string_view(text));
    const bool announced = state.Step() && state.ColumnInt(0) != 0;
    if (!state.status().ok()) return state.status();
    if (Status s = state.Reset(); !s.ok()) return s;
    if (announced) {
      ++asked.sent_before;
    } else {
      ++asked.originals;
      asked.bytes += static_cast<uint64_t>(own.bytes);
    }
  }
  if (Status s = txn.Commit(); !s.ok()) return s;
  return asked;
}

Result<std::vector<Uuid>> ClientStore::RecordAll(
    std::string_view entity, std::vector<RowValues> rows,
    const std::vector<std::optional<Uuid>>& given_ids,
    const std::vector<RecordAgain>& again, std::vector<Recorded>* recorded) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  if (!given_ids.empty() && given_ids.size() != rows.size()) {
    return Status::InvalidArgument("RecordAll: " + std::to_string(given_ids.size()) +
                                   " ids for " + std::to_string(rows.size()) + " rows");
  }
  if (!again.empty() && again.size() != rows.size()) {
    return Status::InvalidArgument("RecordAll: " + std::to_string(again.size()) +
                                   " RecordAgain for " + std::to_string(rows.size()) +
                                   " rows");
  }
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  std::vector<Uuid> ids;
  ids.reserve(rows.size());
  if (recorded != nullptr) recorded->assign(rows.size(), Recorded::kNew);
  ActionScope action(this, /*batch=*/true);
  if (Status s = LoadPermissions(); !s.ok()) return s;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Uuid* given =
        given_ids.empty() || !given_ids[i].has_value() ? nullptr : &*given_ids[i];
    Result<Uuid> id =
        RecordInTxn(*e, std::move(rows[i]), given, again.empty() ? nullptr : &again[i],
                    recorded != nullptr ? &(*recorded)[i] : nullptr);
    if (!id.ok()) {
      Status refused = id.status();
      return std::move(refused).With(field::kIndex, i);
    }
    ids.push_back(*id);
  }
  if (Status s = FinishAction(); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return ids;
}

Status ClientStore::Edit(std::string_view entity, const Uuid& id,
                         const RowValues& changes, EntityCounts* moved) {
  if (moved != nullptr) moved->clear();
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  if (changes.empty()) return Status::InvalidArgument("nothing to change");
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  ActionScope action(this);
  if (Status s = LoadPermissions(); !s.ok()) return s;
  auto existing = Find(*e, id);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value() || (*existing)->deleted) {
    return Status::NotFound("no " + std::string(entity) + " with id " + id.ToString() +
                            (existing->has_value() ? " (it was deleted)" : ""));
  }
  if (Status s = CheckHeldInScope(*e, id, (*existing)->values, "changed"); !s.ok()) {
    return s;
  }
  RowValues merged = (*existing)->values;
  for (const auto& [column, value] : changes) {
    const Column* c = e->FindColumn(column);
    if (!c) {
      return Status::InvalidArgument(std::string(entity) + " has no column '" +
                                     column + "'");
    }
    if (IsNaturalKey(*e, column)) {
      return Status::InvalidArgument(
                 column + " names this " + std::string(entity) +
                 " and cannot be edited; record a new one instead")
          .With(field::kField, column);
    }
    if (IsFileFact(*e, column)) {
      return Status::InvalidArgument(
                 column + " describes the photo's file and is set by the system. "
                 "To change the picture, add the new photo (kbo photo add) and "
                 "delete this one")
          .WithReason("file_fact")
          .With(field::kField, column)
          .With(field::kProblem, "err.file_fact");
    }
    if (Status s = ValidateEdit(*e, *c, value); !s.ok()) return s;
    if (c->policy == MergePolicy::kForward) {
      // The merge keeps the furthest value (a product's stage never moves
      // back): an earlier one would change nothing here, and reach the
      // office as a conflict nobody meant.
      auto now = merged.find(column);
      if (now != merged.end() && !now->second.is_null() &&
          EnumRank(*c, value) < EnumRank(*c, now->second)) {
        return Status::InvalidArgument(
                   column + " stays at " + now->second.ToDisplay() + ": it only "
                   "moves ahead, and " +
                   (value.is_null() ? std::string("an empty value")
                                    : value.ToDisplay()) +
                   " comes before it; nothing was changed")
            .WithReason("moves_back")
            .With(field::kField, column)
            .With(field::kProblem, "err.moves_back");
      }
    }
    merged[column] = value;
  }
  if (changes.count("lat") != 0 || changes.count("lon") != 0) {
    if (Status s = CheckPositionPair(*e, merged); !s.ok()) return s;
  }
  if (e->name == "visit" &&
      (changes.count("next_visit") != 0 || changes.count("visited_at") != 0)) {
    if (Status s = CheckNextVisit(merged); !s.ok()) return s;
  }
  if (e->name == "workshop" && changes.count("days") != 0) {
    if (Status s = CheckWorkshopCut(*db_, id.ToString(), (*existing)->values["days"],
                                    merged["days"]);
        !s.ok()) {
      return s;
    }
  }
  RowValues check = merged;
  const std::string district_column(kDistrictColumn);
  const bool moves = changes.count(district_column) != 0 &&
                     !(merged[district_column] == (*existing)->values[district_column]);
  // A row whose district follows its parent is moved with the parent: its
  // parent reference is checked as if changed, which refuses another
  // district than the parent's.
  RowValues checked = changes;
  if (moves) {
    const std::string_view parent = DistrictParentColumn(e->name);
    if (!parent.empty()) {
      const std::string column(parent);
      checked[column] = merged[column];
      if (e->name == "photo") checked["subject_type"] = merged["subject_type"];
    }
  }
  if (Status s = CheckReferences(*e, &checked, &check); !s.ok()) return s;
  if (e->name == "enrolment" &&
      (changes.count("participant_name") || changes.count("producer_id") ||
       changes.count("workshop_id"))) {
    if (Status s = CheckNotEnrolledTwice(*db_, check, &id); !s.ok()) return s;
  }
  if (e->name == "enrolment" && changes.count("workshop_id") != 0 &&
      !(merged["workshop_id"] == (*existing)->values["workshop_id"])) {
    if (Status s = CheckNoMarksLeftBehind(*db_, id); !s.ok()) return s;
  }
  if (Status s = CheckWrite(*e, RowAction::kEdit, check,
                            changes.count(std::string(kDistrictColumn)) != 0);
      !s.ok()) {
    return s;
  }
  // Every change passed ValidateCell above.
  RowValues cells = changes;
  // A row the server refused goes whole with its fix when the server may
  // hold none of it; otherwise with the cells that still show the refused
  // write (RefusedCellsToResend).
  Result<RefusedResend> resend = RefusedCellsToResend(*db_, e->name, id);
  if (!resend.ok()) return resend.status();
  if (resend->whole) {
    // Natural-key columns too: unchanged, they give the same derived id.
    for (const auto& [column, value] : merged) {
      if (!value.is_null()) cells[column] = value;
    }
  } else {
    // A value set to what it is already is no change.
    DropUnchanged(**existing, &cells);
    for (const std::string& column : resend->columns) {
      if (cells.count(column) == 0) cells[column] = merged[column];
    }
    if (cells.empty()) return txn.Commit();
  }
  if (Status s = WriteLocal(*e, id, &cells, /*validated=*/true, /*absent=*/false);
      !s.ok()) {
    return s;
  }
  // Moved to another district: the rows whose district follows it go too
  // (after it, so the server meets the parent's new district first), or a
  // producer's visits would stay where it was, outside its district.
  if (moves) {
    std::vector<RowRef> rows{RowRef{e, id}};
    if (Status s = WalkRowsUnder(&rows,
                                 [this](const RowRef& r, std::vector<RowRef>* found) {
                                   return DistrictChildren(*r.entity, r.id, found);
                                 });
        !s.ok()) {
      return s;
    }
    for (size_t i = 1; i < rows.size(); ++i) {
      const Entity& re = *rows[i].entity;
      RowValues to;
      to[district_column] = merged[district_column];
      // A row the server refused goes whole with its move, as an edit of
      // it would (the server may hold none of it).
      Result<RefusedResend> refused_child = RefusedCellsToResend(*db_, re.name, rows[i].id);
      if (!refused_child.ok()) return refused_child.status();
      if (refused_child->any) {
        Result<std::optional<StoredRow>> held = Find(re, rows[i].id);
        if (!held.ok()) return held.status();
        if (held->has_value()) {
          for (const auto& [column, value] : (*held)->values) {
            if (column == district_column) continue;
            if (refused_child->whole ? !value.is_null()
                                     : refused_child->columns.count(column) != 0) {
              to[column] = value;
            }
          }
        }
      }
      if (Status s = CheckWrite(re, RowAction::kEdit, to, /*check_district=*/true);
          !s.ok()) {
        return Status::FromCode(s.code(),
                                "moving this " + std::string(e->name) +
                                    " moves its rows too, and one of them "
                                    "cannot be: " + s.message());
      }
      if (Status s = WriteLocal(re, rows[i].id, &to, /*validated=*/true,
                                /*absent=*/false);
          !s.ok()) {
        return s;
      }
    }
    if (moved != nullptr) *moved = CountRowsUnder(rows);
  }
  // A progress entry moved to a later stage (or to another product) may
  // move its product ahead (stage_follow()).
  if (e->name == "progress" &&
      (changes.count("stage") != 0 || changes.count("product_id") != 0)) {
    if (Status s = FollowProgressStage(merged["product_id"], merged["stage"]);
        !s.ok()) {
      return s;
    }
  }
  if (Status s = FinishAction(); !s.ok()) return s;
  return txn.Commit();
}

Status ClientStore::FollowProgressStage(const Value& product_id,
                                        const Value& stage) {
  if (product_id.type() != Value::Type::kText ||
      stage.type() != Value::Type::kText) {
    return Status();  // stage is required; nothing to follow without it
  }
  const Entity* product = FindEntity("product");
  const Column* column = product != nullptr ? product->FindColumn("stage") : nullptr;
  if (column == nullptr) return Status::Internal("the catalogue has no product.stage");
  Result<Uuid> id = Uuid::Parse(product_id.text());
  if (!id.ok()) return id.status();
  auto existing = Find(*product, *id);
  if (!existing.ok()) return existing.status();
  // CheckReferences refused an entry of a missing or deleted product.
  if (!existing->has_value() || (*existing)->deleted) return Status();
  const Value& current = (*existing)->values["stage"];
  StageFollow follow;
  follow.applies = true;
  follow.product_id = *id;
  follow.entry_stage = stage.text();
  follow.before = current.type() == Value::Type::kText ? current.text() : "";
  follow.after = follow.before;
  if (EnumRank(*column, stage) > EnumRank(*column, current)) {
    RowValues cells;
    cells["stage"] = stage;
    if (Status s = CheckWrite(*product, RowAction::kEdit, (*existing)->values,
                              /*check_district=*/false);
        !s.ok()) {
      return s;
    }
    if (Status s = WriteLocal(*product, *id, &cells, /*validated=*/true,
                              /*absent=*/false);
        !s.ok()) {
      return s;
    }
    follow.after = stage.text();
    follow.moved = true;
  }
  stage_follow_ = std::move(follow);
  return Status();
}

namespace {

// What a person calls the row in a message: its name or title, quoted.
std::string RowLabel(const Entity& e, const RowValues& values) {
  for (std::string_view column : {"name", "title", "participant_name"}) {
    auto it = values.find(column);
    if (it != values.end() && it->second.type() == Value::Type::kText &&
        !it->second.text().empty()) {
      return std::string(e.name) + " '" + it->second.text() + "'";
    }
  }
  return std::string(e.name);
}

}  // namespace

int64_t ClientStore::Deleted::total() const {
  int64_t n = 0;
  for (const auto& [entity, count] : by_entity) n += count;
  return n;
}

std::string ClientStore::Deleted::Summary() const {
  return CountedRows(by_entity);
}

Status ClientStore::LiveChildren(const Entity& e, const Uuid& id,
                                 std::vector<RowRef>* out) {
  const std::string id_text = id.ToString();
  for (const ChildLink& link : LinksUnder(e)) {
    Statement st(*db_, "SELECT id FROM " + std::string(link.child->name) + " WHERE " +
                           std::string(link.column) + " = ?1 AND deleted = 0" +
                           (link.by_subject ? " AND subject_type = ?2" : "") +
                           " ORDER BY id");
    st.Bind(1, id_text);
    if (link.by_subject) st.Bind(2, e.name);
    while (st.Step()) {
      Result<Uuid> child_id = Uuid::Parse(st.ColumnText(0));
      // Ids are written by this program; one that does not parse hangs on
      // nothing a delete could follow.
      if (child_id.ok()) out->push_back(RowRef{link.child, *child_id});
    }
    if (!st.status().ok()) return st.status();
  }
  return Status();
}

Status ClientStore::DistrictChildren(const Entity& e, const Uuid& id,
                                     std::vector<RowRef>* out) {
  std::vector<RowRef> all;
  if (Status s = LiveChildren(e, id, &all); !s.ok()) return s;
  for (RowRef& r : all) {
    // An enrolment names its producer but belongs to its workshop's
    // district: it stays.
    if (DistrictParentColumn(r.entity->name).empty()) continue;
    bool follows = r.entity->name == "photo";
    for (const ChildLink& link : LinksUnder(e)) {
      if (link.child == r.entity && !link.by_subject &&
          link.column == DistrictParentColumn(r.entity->name)) {
        follows = true;
      }
    }
    if (follows) out->push_back(std::move(r));
  }
  return Status();
}

Result<ClientStore::Deleted> ClientStore::Delete(std::string_view entity, const Uuid& id,
                                                 Children children) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  ActionScope action(this);
  if (Status s = LoadPermissions(); !s.ok()) return s;
  auto existing = Find(*e, id);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value() || (*existing)->deleted) {
    return Status::NotFound("no " + std::string(entity) + " with id " + id.ToString() +
                            (existing->has_value() ? " (already deleted)" : ""));
  }
  if (Status s = CheckHeldInScope(*e, id, (*existing)->values, "deleted"); !s.ok()) {
    return s;
  }
  // Every live row below this one.
  std::vector<RowRef> rows{RowRef{e, id}};
  if (Status s = WalkRowsUnder(&rows,
                               [this](const RowRef& r, std::vector<RowRef>* found) {
                                 return LiveChildren(*r.entity, r.id, found);
                               });
      !s.ok()) {
    return s;
  }
  Deleted deleted;
  deleted.by_entity = CountRowsUnder(rows);
  if (rows.size() > 1 && children == Children::kRefuse) {
    return HasChildrenStatus(RowLabel(*e, (*existing)->values), deleted.by_entity,
                             id.ToString());
  }
  if (Status s = CheckWrite(*e, RowAction::kDelete, (*existing)->values,
                            /*check_district=*/false);
      !s.ok()) {
    return s;
  }
  // The rows below first, the row itself last: a pull never sees a child
  // outlive the parent it names. All of them with one hlc: that is how the
  // server knows which rows this delete took (a photo deleted on its own
  // has another), and brings back exactly those if the office decides the
  // delete against an edit (server/conflicts.cc, BringBackTakenWith).
  const Hlc stamp = clock_->Now();
  for (size_t i = rows.size(); i-- > 0;) {
    const Entity& re = *rows[i].entity;
    if (i > 0) {
      if (Status s = CheckWrite(re, RowAction::kDelete, {}, /*check_district=*/false);
          !s.ok()) {
        return s;
      }
    }
    RowValues tombstone;
    tombstone[std::string(kDeletedColumn)] = Value::Integer(1);
    if (Status s = WriteLocal(re, rows[i].id, &tombstone, /*validated=*/true,
                              /*absent=*/false, &stamp);
        !s.ok()) {
      return s;
    }
  }
  deleted.by_entity.insert(deleted.by_entity.begin(), {std::string(e->name), 1});
  if (Status s = FinishAction(); !s.ok()) return s;
  if (Status s = txn.Commit(); !s.ok()) return s;
  return deleted;
}

Result<std::vector<StoredRow>> ClientStore::List(std::string_view entity,
                                                 const std::vector<Filter>& filters) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  std::string sql = "SELECT " + SelectColumns(*e) + " FROM " + std::string(e->name) +
                    " WHERE deleted = 0";
  std::vector<Value> binds;
  for (const Filter& f : filters) {
    if (f.column == kIdColumn) {
      Result<Uuid> u = Uuid::Parse(f.text);
      if (!u.ok()) return u.status();
      binds.push_back(Value::Text(u->ToString()));
    } else {
      const Column* c = e->FindColumn(f.column);
      if (!c) {
        return Status::InvalidArgument(std::string(entity) + " has no column '" +
                                       f.column + "'");
      }
      // Typed as in --set: a named value by its Thai or English name too.
      Result<Value> v = ParseText(e->name, c->name, f.text);
      if (!v.ok()) return v.status();
      binds.push_back(*v);
      // A visit's purpose by its code or its names: a purpose stored as
      // typed (by an older kbo, or another device's) is found either way.
      if (e->name == "visit" && c->name == "purpose" && v->type() == Value::Type::kText) {
        const std::string key = "purpose." + v->text();
        if (HasLabel(Lang::kTh, key)) {
          sql += " AND " + f.column + " IN (?" + std::to_string(binds.size());
          for (Lang lang : {Lang::kTh, Lang::kEn}) {
            binds.push_back(Value::Text(Label(lang, key)));
            sql += ", ?" + std::to_string(binds.size());
          }
          sql += ")";
          continue;
        }
      }
    }
    sql += " AND " + f.column + (binds.back().is_null() ? " IS ?" : " = ?") +
           std::to_string(binds.size());
  }
  sql += " ORDER BY rowid";
  Statement st(*db_, sql);
  for (size_t i = 0; i < binds.size(); ++i) st.Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<StoredRow> rows;
  while (st.Step()) rows.push_back(ReadRow(*e, st));
  if (!st.status().ok()) return st.status();
  return rows;
}

Result<StoredRow> ClientStore::Show(std::string_view entity, const Uuid& id) {
  Status error;
  const Entity* e = LookupEntity(entity, &error);
  if (!e) return error;
  auto row = Find(*e, id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return Status::NotFound("no " + std::string(entity) + " with id " + id.ToString());
  }
  return std::move(**row);
}

Result<StoreStatus> ClientStore::GetStatus() {
  StoreStatus out;
  out.device_id = device_id_;
  {
    Statement st(*db_, "SELECT server_url, role, districts FROM device WHERE singleton = 1");
    if (st.Step()) {
      out.enrolled = !st.IsNull(0);
      out.server = st.ColumnText(0);
      out.role = st.ColumnText(1);
      out.districts = st.ColumnText(2);
    }
    if (!st.status().ok()) return st.status();
  }
  {
    // Row changes, not outbox entries (one entry holds a whole action):
    // those not yet sealed plus those in unacknowledged sets; confirmed are
    // those in acknowledged sets.
    Statement st(*db_,
                 "SELECT "
                 " (SELECT COALESCE(SUM(row_count - sealed_rows), 0) FROM outbox"
                 "    WHERE change_set_seq IS NULL)"
                 "  + (SELECT COALESCE(SUM(row_count), 0) FROM change_set"
                 "    WHERE acked_at IS NULL),"
                 " (SELECT COALESCE(SUM(row_count), 0) FROM change_set"
                 "    WHERE acked_at IS NOT NULL),"
                 " (SELECT count(*) FROM blob_upload b WHERE b.done_at IS NULL"
                 "    AND b.refused_at IS NULL AND " +
                     std::string(kBlobUploadWanted) + "),"
                 " (SELECT last_sync_at FROM sync_state WHERE singleton = 1),"
                 " (SELECT last_error FROM sync_state WHERE singleton = 1),"
                 " (SELECT last_error_reason FROM sync_state WHERE singleton = 1)");
    if (st.Step()) {
      out.pending_changes = st.ColumnInt(0);
      out.confirmed_changes = st.ColumnInt(1);
      out.pending_blobs = st.ColumnInt(2);
      out.last_sync = st.ColumnText(3);
      out.last_error = st.ColumnText(4);
      out.revoked = st.ColumnText(5) == "revoked";
    }
    if (!st.status().ok()) return st.status();
  }
  {
    Statement st(*db_,
                 "SELECT count(*) FILTER (WHERE refused_at IS NULL), count(*) "
                 "FILTER (WHERE refused_at IS NOT NULL) FROM original_send "
                 "WHERE announced_at IS NULL");
    if (st.Step()) {
      out.originals_to_send = st.ColumnInt(0);
      out.originals_held_back = st.ColumnInt(1);
    }
    if (!st.status().ok()) return st.status();
  }
  {
    Statement st(*db_,
                 "SELECT count(*) FROM blob_upload WHERE done_at IS NULL "
                 "AND refused_at IS NOT NULL");
    if (st.Step()) out.refused_blobs = st.ColumnInt(0);
    if (!st.status().ok()) return st.status();
  }
  {
    // Those kept on the server for a row it lacks apart: not refused.
    Statement st(*db_, "SELECT count(*) FILTER (WHERE reason IS NOT ?1), "
                       "count(*) FILTER (WHERE reason IS ?1) FROM refused_row");
    st.Bind(1, std::string_view(protocol::kWaitsForRowReason));
    if (st.Step()) {
      out.refused_rows = st.ColumnInt(0);
      out.waiting_rows = st.ColumnInt(1);
    }
    if (!st.status().ok()) return st.status();
  }
  {
    Result<int64_t> open = OpenConflictCount();
    if (!open.ok()) return open.status();
    out.open_conflicts = *open;
  }
  {
    // ISO 8601 UTC text compares as time.
    const time_t later = static_cast<time_t>(wall_->NowMillis() / 1000 + 600);
    struct tm tm_utc;
    gmtime_r(&later, &tm_utc);
    char bound[32];
    std::strftime(bound, sizeof bound, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    Statement st(*db_, "SELECT count(*) FROM visit WHERE deleted = 0 AND visited_at > ?1");
    st.Bind(1, std::string_view(bound));
    if (st.Step()) out.future_visits = st.ColumnInt(0);
    if (!st.status().ok()) return st.status();
  }
  if (out.refused_rows > 0) {
    Result<std::vector<RefusedEntry>> list = Refused(100);
    if (!list.ok()) return list.status();
    out.refused = std::move(*list);
  }
  return out;
}

namespace {

// Whether the server never accepted any cell of a live local row: every cell
// version's server sequence is 0 (a refused create).
Result<bool> Unaccepted(Db& db, std::string_view entity, std::string_view row_id) {
  const Entity* e = FindEntity(entity);
  Result<Uuid> id = Uuid::Parse(row_id);
  if (e == nullptr || !id.ok()) return false;
  Result<std::optional<ReplicaRow>> row = ReadReplicaRow(db, *e, *id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return false;
  const ReplicaRow& r = **row;
  if (r.values.back() == Value::Integer(1)) return false;  // deleted already
  for (const auto& [column, v] : r.versions) {
    if (v.seq != 0) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<ConflictEntry>> ClientStore::Conflicts(bool open_only,
                                                          size_t limit) {
  Statement st(*db_,
               std::string("SELECT id, entity, row_id, column_name, district_code, "
                           "current_value, current_device, current_hlc, "
                           "incoming_value, incoming_device, incoming_hlc, "
                           "incoming_base, winner, detected_at, resolved_at, "
                           "resolved_value, server_seq, resolution_reason, resolved_by "
                           "FROM conflict ") +
                   (open_only ? "WHERE resolved_at IS NULL " : "") +
                   "ORDER BY resolved_at IS NOT NULL, server_seq DESC LIMIT ?1");
  st.Bind(1, static_cast<int64_t>(std::min<uint64_t>(limit, INT64_MAX)));
  const auto text = [&st](int i) -> std::optional<std::string> {
    if (st.IsNull(i)) return std::nullopt;
    return st.ColumnText(i);
  };
  std::vector<ConflictEntry> out;
  while (st.Step()) {
    ConflictEntry c;
    c.id = st.ColumnText(0);
    c.entity = st.ColumnText(1);
    c.row_id = st.ColumnText(2);
    c.column_name = st.ColumnText(3);
    c.district_code = text(4);
    c.current_value = text(5);
    c.current_device = text(6);
    c.current_hlc = text(7);
    c.incoming_value = text(8);
    c.incoming_device = text(9);
    c.incoming_hlc = text(10);
    if (!st.IsNull(11)) c.incoming_base = st.ColumnInt(11);
    c.winner = text(12);
    c.detected_at = text(13);
    c.resolved_at = text(14);
    c.resolved_value = text(15);
    c.server_seq = st.ColumnInt(16);
    c.resolution_reason = text(17);
    c.resolved_by = text(18);
    out.push_back(std::move(c));
  }
  if (!st.status().ok()) return st.status();
  return out;
}

Result<int64_t> ClientStore::OpenConflictCount() {
  Statement st(*db_, "SELECT count(*) FROM conflict WHERE resolved_at IS NULL");
  const int64_t n = st.Step() ? st.ColumnInt(0) : 0;
  if (!st.status().ok()) return st.status();
  return n;
}

Result<int64_t> ClientStore::UnderDeletedCount() {
  // Level by level from the deleted rows: each child table is read once per
  // level for the ids of the level above (an IN list SQLite looks up by
  // hash, or through the child's index where it has one), never once per
  // parent row.
  auto json_ids = [](const std::set<std::string>& ids) {
    std::string out = "[";
    for (const std::string& id : ids) {
      if (out.size() > 1) out += ',';
      out += '"';
      for (char c : id) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      out += '"';
    }
    return out + "]";
  };
  std::map<const Entity*, std::set<std::string>> level;
  for (const Entity& parent : Catalogue()) {
    bool has_children = false;
    for (const ChildLink& link : LinksUnder(parent)) has_children |= !link.by_subject;
    if (!has_children) continue;
    Statement st(*db_, "SELECT id FROM " + std::string(parent.name) + " WHERE deleted = 1");
    while (st.Step()) level[&parent].insert(st.ColumnText(0));
    if (!st.status().ok()) return st.status();
  }
  std::set<std::pair<const Entity*, std::string>> counted;
  for (int depth = 0; depth < 4 && !level.empty(); ++depth) {
    std::map<const Entity*, std::set<std::string>> next;
    for (const auto& [parent, ids] : level) {
      if (ids.empty()) continue;
      const std::string list = json_ids(ids);
      for (const ChildLink& link : LinksUnder(*parent)) {
        if (link.by_subject) continue;
        Statement st(*db_, "SELECT id FROM " + std::string(link.child->name) +
                               " WHERE deleted = 0 AND " + std::string(link.column) +
                               " IN (SELECT value FROM json_each(?1))");
        st.Bind(1, std::string_view(list));
        while (st.Step()) {
          std::string id = st.ColumnText(0);
          if (counted.insert({link.child, id}).second) next[link.child].insert(std::move(id));
        }
        if (!st.status().ok()) return st.status();
      }
    }
    level = std::move(next);
  }
  return static_cast<int64_t>(counted.size());
}

Result<std::vector<RefusedEntry>> ClientStore::Refused(size_t limit) {
  return ReadRefused(std::nullopt, limit);
}

Result<std::vector<RefusedEntry>> ClientStore::RefusedToDismiss(
    const std::optional<Uuid>& row_id) {
  return ReadRefused(row_id, static_cast<size_t>(INT64_MAX));
}

Result<std::vector<RefusedEntry>> ClientStore::ReadRefused(
    const std::optional<Uuid>& row_id, size_t limit) {
  Statement st(*db_,
               std::string("SELECT seq, row_index, entity, row_id, reason, message, "
                           "refused_at, cells, restored FROM refused_row ") +
                   (row_id.has_value() ? "WHERE row_id = ?2 " : "") +
                   "ORDER BY seq DESC, row_index LIMIT ?1");
  st.Bind(1, static_cast<int64_t>(std::min<uint64_t>(limit, INT64_MAX)));
  if (row_id.has_value()) st.Bind(2, std::string_view(row_id->ToString()));
  std::vector<RefusedEntry> out;
  while (st.Step()) {
    RefusedEntry r;
    r.seq = st.ColumnInt(0);
    r.index = static_cast<uint64_t>(st.ColumnInt(1));
    r.entity = st.ColumnText(2);
    r.row_id = st.ColumnText(3);
    r.reason = st.ColumnText(4);
    r.message = st.ColumnText(5);
    r.refused_at = st.ColumnText(6);
    r.cells = st.ColumnText(7);
    r.restored = st.ColumnInt(8) != 0;
    out.push_back(std::move(r));
  }
  if (!st.status().ok()) return st.status();
  for (RefusedEntry& r : out) {
    Result<bool> u = Unaccepted(*db_, r.entity, r.row_id);
    if (!u.ok()) return u.status();
    r.unaccepted = *u;
    const Entity* e = FindEntity(r.entity);
    Result<Uuid> id = Uuid::Parse(r.row_id);
    if (e != nullptr && id.ok()) {
      Result<std::optional<ReplicaRow>> held = ReadReplicaRow(*db_, *e, *id);
      if (!held.ok()) return held.status();
      r.not_held = !held->has_value();
    }
  }
  return out;
}

Result<int64_t> ClientStore::DismissRefused(const std::optional<Uuid>& row_id) {
  Transaction txn(*db_);
  if (!txn.status().ok()) return txn.status();
  Result<std::vector<RefusedEntry>> entries = RefusedToDismiss(row_id);
  if (!entries.ok()) return entries.status();
  // A row the server never accepted goes here too: a tombstone, written as
  // any delete but without the role check (the server refused the row, so
  // there is nothing of it to protect there).
  // So do the live rows under it that the server refused and never
  // accepted either (a participant's marks under a refused enrolment):
  // they could never be taken without it. Their refusals go with them.
  std::set<std::pair<std::string, std::string>> gone;
  int64_t n = 0;
  Statement forget(*db_, "DELETE FROM refused_row WHERE entity = ?1 AND row_id = ?2");
  for (const RefusedEntry& r : *entries) {
    if (!r.unaccepted || !gone.emplace(r.entity, r.row_id).second) continue;
    const Entity* e = FindEntity(r.entity);
    Result<Uuid> id = Uuid::Parse(r.row_id);
    if (e == nullptr || !id.ok()) continue;
    std::vector<RowRef> rows{RowRef{e, *id}};
    if (Status s = WalkRowsUnder(&rows,
                                 [this](const RowRef& ref, std::vector<RowRef>* found) {
                                   return LiveChildren(*ref.entity, ref.id, found);
                                 });
        !s.ok()) {
      return s;
    }
    ActionScope action(this);
    // The rows below first, the row itself last (as Delete writes them).
    for (size_t i = rows.size(); i-- > 0;) {
      const std::string child_id = rows[i].id.ToString();
      if (i > 0) {
        // Only a row under it the server refused too: one not yet sent (a
        // mark recorded since) is the person's to keep or delete.
        Result<bool> never = Unaccepted(*db_, rows[i].entity->name, child_id);
        if (!never.ok()) return never.status();
        if (!*never) continue;  // the server holds it: it stays
        Statement& refused = db_->Cached(
            "SELECT EXISTS (SELECT 1 FROM refused_row WHERE entity = ?1 AND row_id = ?2)");
        refused.Bind(1, rows[i].entity->name).Bind(2, std::string_view(child_id));
        bool was_refused = false;
        if (refused.Step()) was_refused = refused.ColumnInt(0) != 0;
        if (!refused.status().ok()) return refused.status();
        if (Status s = refused.Reset(); !s.ok()) return s;
        if (!was_refused) continue;
        gone.emplace(std::string(rows[i].entity->name), child_id);
        forget.Bind(1, rows[i].entity->name).Bind(2, std::string_view(child_id));
        if (Status s = forget.Run(); !s.ok()) return s;
        n += static_cast<int64_t>(db_->Changes());
        if (Status s = forget.Reset(); !s.ok()) return s;
      }
      RowValues tombstone;
      tombstone[std::string(kDeletedColumn)] = Value::Integer(1);
      if (Status s = WriteLocal(*rows[i].entity, rows[i].id, &tombstone,
                                /*validated=*/true, /*absent=*/false);
          !s.ok()) {
        return s;
      }
    }
    if (Status s = FinishAction(); !s.ok()) return s;
  }
  Statement st(*db_, row_id.has_value()
                         ? "DELETE FROM refused_row WHERE row_id = ?1"
                         : "DELETE FROM refused_row");
  if (row_id.has_value()) st.Bind(1, std::string_view(row_id->ToString()));
  if (Status s = st.Run(); !s.ok()) return s;
  n += static_cast<int64_t>(db_->Changes());
  if (Status s = txn.Commit(); !s.ok()) return s;
  return n;
}

}  // namespace kbo::client
