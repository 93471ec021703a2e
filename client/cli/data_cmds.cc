// Commands over rows that exist: edit, delete, list, show; and import, status.
//
// Output forms (docs/cli.md):
//   list         a tab-separated table: a header row "id<TAB>column..." and
//                one line per live row, values as typed (null is empty).
//                Tabs and line breaks inside a value are shown as spaces so
//                that every row stays one line; --json gives exact values.
//   list --json  [{"id": ..., <every column>: ..., "deleted": false}, ...]
//                integers and reals as JSON numbers, null as null, text as
//                UTF-8 strings; columns in catalogue order.
//   show         "column: value" lines (id first, deleted last as yes/no).
//   show --json  one object as in list --json.

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/clock_repair.h"
#include "client/row_json.h"
#include "client/cli/command.h"
#include "client/csv_import.h"
#include "shared/protocol.h"
#include "shared/fs.h"
#include "shared/rows_under.h"

namespace kbo::client::cli {
namespace {

using Json = nlohmann::ordered_json;


// Writes `json` and a newline. Text in the store is validated UTF-8, so the
// strict handler cannot fire; if it ever did, it is a bug, reported as one.
Status PrintJson(Context& ctx, const Json& json) {
  try {
    ctx.out << json.dump(-1, ' ', false, Json::error_handler_t::strict) << '\n';
  } catch (const Json::exception& e) {
    return Status::Internal(std::string("cannot write JSON: ") + e.what());
  }
  return Status();
}

// One table cell: the value as typed, on one line.
std::string Cell(const Value& v) {
  std::string s = v.ToDisplay();
  for (char& c : s) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

std::string KnownColumns(const Entity& entity) {
  std::string out;
  for (const Column& c : entity.columns) {
    if (!out.empty()) out += ", ";
    out.append(c.name);
  }
  return out;
}

// The column a person named in --set / --where, or kInvalidArgument.
Result<const Column*> ColumnArg(const Entity& entity, std::string_view name) {
  const Column* c = ResolveColumnName(entity, name);
  if (c == nullptr) {
    return Status::InvalidArgument(std::string(entity.name) +
                                   " has no column '" + std::string(name) +
                                   "' (columns: " + KnownColumns(entity) + ")");
  }
  return c;
}

// "COLUMN=VALUE" -> (COLUMN, VALUE); a usage error without '='.
Status SplitAssignment(Context& ctx, std::string_view flag,
                       const std::string& text, std::string* column,
                       std::string* value) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return UsageError(ctx, "--" + std::string(flag) +
                               " needs COLUMN=VALUE (got '" + text + "')");
  }
  *column = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return Status();
}

// ---- edit / delete
// -----------------------------------------------------------

Status RunEdit(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"set", true, true, true}},
                           {"ENTITY", "ID"}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<const Entity*> entity = EntityArg(parsed.positional[0]);
  if (!entity.ok()) return entity.status();
  Result<Uuid> id =
      IdArg(parsed.positional[1], std::string((*entity)->name) + " id");
  if (!id.ok()) return id.status();
  RowValues changes;
  for (const std::string& set : parsed.GetAll("set")) {
    std::string name, text;
    if (Status s = SplitAssignment(ctx, "set", set, &name, &text); !s.ok())
      return s;
    if (name == kIdColumn || name == kDeletedColumn) {
      return Status::InvalidArgument(name +
                                     " is set by the system (use kbo delete to "
                                     "delete a row)");
    }
    Result<const Column*> column = ColumnArg(**entity, name);
    if (!column.ok()) return column.status();
    Result<Value> value =
        ClientStore::ParseText((*entity)->name, (*column)->name, text);
    if (!value.ok()) return value.status();
    if (!changes.emplace(std::string((*column)->name), std::move(*value))
             .second) {
      return UsageError(
          ctx, "--set " + std::string((*column)->name) + " is given twice");
    }
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  EntityCounts moved;
  if (Status s = (*store)->Edit((*entity)->name, *id, changes, &moved); !s.ok())
    return s;
  // Moved to another district, with the rows whose district follows it.
  if (!moved.empty()) {
    ctx.err << "kbo: moved with it to district "
            << changes.at(std::string(kDistrictColumn)).ToDisplay() << ": "
            << CountedRows(moved) << '\n';
  }
  // A workshop's year or start changed: its slips said, as when recorded.
  if ((*entity)->name == "workshop" &&
      (changes.count("fiscal_year") > 0 || changes.count("start_date") > 0)) {
    WarnWorkshopSlips(ctx, **store, *id);
  }
  return Status();
}

Status RunDelete(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  const std::vector<FlagSpec> flags = {
      {"cascade", false, /*takes_value=*/false}};
  if (Status s = ParseArgs(ctx, args, flags, {"ENTITY", "ID"}, &parsed);
      !s.ok())
    return s;
  Result<const Entity*> entity = EntityArg(parsed.positional[0]);
  if (!entity.ok()) return entity.status();
  Result<Uuid> id =
      IdArg(parsed.positional[1], std::string((*entity)->name) + " id");
  if (!id.ok()) return id.status();
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  const bool cascade = parsed.Has("cascade");
  Result<ClientStore::Deleted> deleted = (*store)->Delete(
      (*entity)->name, *id,
      cascade ? ClientStore::Children::kCascade
              : ClientStore::Children::kRefuse);
  if (!deleted.ok()) {
    // The way out, in this program's words.
    return WithCascadeHint(deleted.status(), "kbo delete " + std::string((*entity)->name) +
                                                 " " + id->ToString() + " --cascade");
  }
  if (deleted->total() > 1) {
    ctx.err << "kbo: deleted " << deleted->Summary() << '\n';
  }
  return Status();
}

// ---- list / show
// ---------------------------------------------------------------

Status RunList(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(
          ctx, args, {{"json", false, false}, {"where", false, true, true}},
          {"ENTITY"}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<const Entity*> entity = EntityArg(parsed.positional[0]);
  if (!entity.ok()) return entity.status();
  std::vector<Filter> filters;
  for (const std::string& where : parsed.GetAll("where")) {
    std::string name, text;
    if (Status s = SplitAssignment(ctx, "where", where, &name, &text);
        !s.ok()) {
      return s;
    }
    if (name == kIdColumn) {
      filters.push_back(Filter{name, text});
      continue;
    }
    Result<const Column*> column = ColumnArg(**entity, name);
    if (!column.ok()) return column.status();
    filters.push_back(Filter{std::string((*column)->name), text});
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<std::vector<StoredRow>> rows =
      (*store)->List((*entity)->name, filters);
  if (!rows.ok()) return rows.status();

  if (parsed.Has("json")) {
    Json array = Json::array();
    for (const StoredRow& row : *rows) array.push_back(RowJson(**entity, row));
    return PrintJson(ctx, array);
  }
  std::string table = "id";
  for (const Column& c : (*entity)->columns) {
    table += '\t';
    table.append(c.name);
  }
  table += '\n';
  for (const StoredRow& row : *rows) {
    table += row.id.ToString();
    for (const Column& c : (*entity)->columns) {
      table += '\t';
      auto it = row.values.find(c.name);
      if (it != row.values.end()) table += Cell(it->second);
    }
    table += '\n';
  }
  ctx.out << table;
  return Status();
}

Status RunShow(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"json", false, false}},
                           {"ENTITY", "ID"}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<const Entity*> entity = EntityArg(parsed.positional[0]);
  if (!entity.ok()) return entity.status();
  Result<Uuid> id =
      IdArg(parsed.positional[1], std::string((*entity)->name) + " id");
  if (!id.ok()) return id.status();
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<StoredRow> row = (*store)->Show((*entity)->name, *id);
  if (!row.ok()) return row.status();
  if (parsed.Has("json")) return PrintJson(ctx, RowJson(**entity, *row));
  std::string text = "id: " + row->id.ToString() + "\n";
  for (const Column& c : (*entity)->columns) {
    auto it = row->values.find(c.name);
    text.append(c.name);
    text += ": ";
    if (it != row->values.end()) text += Cell(it->second);
    text += '\n';
  }
  text += row->deleted ? "deleted: yes\n" : "deleted: no\n";
  ctx.out << text;
  return Status();
}

// ---- import
// ----------------------------------------------------------------------

Status RunImport(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {}, {"ENTITY", "FILE.csv"}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<const Entity*> entity = EntityArg(parsed.positional[0]);
  if (!entity.ok()) return entity.status();
  const std::string& path = parsed.positional[1];
  if (IsDirectory(path)) {
    return Status::InvalidArgument(path + " is a folder; name the CSV file in it "
                                          "(kbo import " +
                                   std::string((*entity)->name) + " FILE.csv)");
  }
  Result<std::string> text = ReadFileBounded(path, kMaxImportBytes);
  if (!text.ok()) {
    switch (text.status().code()) {
      case Code::kNotFound:
        return Status::NotFound("no file " + path);
      case Code::kResourceExhausted:
        return Status::InvalidArgument(path + " is larger than " +
                                       std::to_string(kMaxImportBytes >> 20) +
                                       " MiB; split it into smaller files");
      default:
        return Status::FromCode(text.status().code(),
                                path + ": " + text.status().message());
    }
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  ImportSkipped skipped;
  Result<std::vector<Uuid>> ids =
      ImportCsv(**store, (*entity)->name, *text, &skipped);
  if (!ids.ok()) {
    return Status::FromCode(
        ids.status().code(),
        path + ": " + ids.status().message() + " (nothing was imported)");
  }
  std::string out;
  for (const Uuid& id : *ids) out += id.ToString() + "\n";
  ctx.out << out;
  ctx.err << "imported " << ids->size() << ' '
          << Plural((*entity)->name, ids->size());
  // Written over what this device held: said, so that a sheet imported
  // again over a colleague's correction does not pass unseen.
  if (skipped.changed > 0) {
    ctx.err << " (" << skipped.changed << " of them changed "
            << (skipped.changed == 1 ? "a row" : "rows") << " recorded before)";
  }
  // "skipped 3 already on this device, 1 marked deleted"
  std::string why;
  const auto add = [&why](size_t n, const char* what) {
    if (n == 0) return;
    why += (why.empty() ? ", skipped " : ", ") + std::to_string(n) + " " + what;
  };
  add(skipped.unchanged, "already recorded so");
  add(skipped.already_held, "already on this device");
  add(skipped.already_enrolled, "already enrolled");
  add(skipped.already_registered, "already registered");
  add(skipped.deleted, "marked deleted");
  add(skipped.repeated, "repeated in the file");
  ctx.err << why << '\n';
  if (skipped.zero_restored > 0) {
    ctx.err << "kbo: " << skipped.zero_restored
            << (skipped.zero_restored == 1 ? " phone number was" : " phone numbers were")
            << " given back the leading 0 a spreadsheet drops (812345678 -> 0812345678)\n";
  }
  if (skipped.near_duplicates > 0) {
    ctx.err << "kbo: " << skipped.near_duplicates
            << (skipped.near_duplicates == 1 ? " enrolment looks" : " enrolments look")
            << " like a participant enrolled already for the same producer and workshop; "
               "taken as the file has them (the office's \"Needs attention\" lists "
               "such pairs to merge)\n";
  }
  return Status();
}

// ---- status
// ------------------------------------------------------------------------

Status RunStatus(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"json", false, false}}, {}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<StoreStatus> st = (*store)->GetStatus();
  if (!st.ok()) return st.status();
  Result<int64_t> under = (*store)->UnderDeletedCount();
  if (!under.ok()) return under.status();
  st->under_deleted = *under;
  if (parsed.Has("json")) {
    Json obj = StatusJson(*st);
    return PrintJson(ctx, obj);
  }
  auto or_dash = [](const std::string& s) {
    return s.empty() ? std::string("-") : s;
  };
  ctx.out << "device id:          " << st->device_id.ToString() << '\n'
          << "home:               " << (*store)->paths().dir << '\n'
          << "enrolled:           "
          << (!st->enrolled ? "no"
              : st->revoked
                  ? "yes, but the server revoked this device (see last "
                    "error): it cannot sync; its records are kept here"
                  : "yes")
          << '\n'
          << "server:             " << or_dash(st->server) << '\n'
          << "role:               " << or_dash(st->role) << '\n'
          << "districts:          " << or_dash(st->districts) << '\n'
          << "pending changes:    " << st->pending_changes << '\n'
          << "photos to upload:   " << st->pending_blobs
          << (st->refused_blobs > 0
                  ? " (and " + std::to_string(st->refused_blobs) +
                        " the server refused as larger than it takes: kept "
                        "on this device, not sent)"
                  : std::string())
          << '\n'
          << "originals to send:  " << st->originals_to_send
          << (st->originals_held_back > 0
                  ? " (" + std::to_string(st->originals_held_back) +
                        " could not go; `kbo photo upload-originals --photo ID` "
                        "tries one again and says why)"
                  : std::string())
          << '\n'
          << "confirmed changes:  " << st->confirmed_changes << '\n'
          << "last sync:          "
          << (st->last_sync.empty() ? "never" : st->last_sync) << '\n'
          << "last error:         " << or_dash(st->last_error) << '\n';
  // A clock that ran ahead (client/clock_repair.h): what it stamps now is
  // dated more than the server's bound after this device's wall clock.
  if (const int64_t stamps = (*store)->clock().State().wall_ms,
      now = (*store)->wall().NowMillis();
      stamps - now > protocol::kMaxRowAheadMs) {
    ctx.out << "clock:              ahead: changes are dated up to "
            << ClockText(stamps) << ", this device's clock says "
            << ClockText(now)
            << " (this device's date was wrong, or it pulled records another "
               "device's clock dated ahead; if the date was wrong, kbo sync "
               "re-dates unsent changes)\n";
  }
  if (st->future_visits > 0) {
    ctx.out << "visits ahead:       " << st->future_visits
            << (st->future_visits == 1 ? " visit is" : " visits are")
            << " dated after now (a clock that was ahead?): kbo list visit, "
               "then kbo edit visit ID --set visited_at=...\n";
  }
  if (*under > 0) {
    ctx.out << "under deleted rows: " << *under
            << (*under == 1 ? " row is" : " rows are")
            << " recorded under a row that was deleted (here or on another "
               "device): the reports leave "
            << (*under == 1 ? "it" : "them")
            << " out until the office restores that row or deletes "
            << (*under == 1 ? "it" : "them")
            << " (its Needs attention page lists them)\n";
  }
  // Conflicts are the office's to decide; a person here should know of them
  // (a sync cut short may have brought them without saying so).
  ctx.out << "open conflicts:     " << st->open_conflicts
          << (st->open_conflicts > 0
                  ? "  (kbo conflicts lists them; the office decides each)"
                  : "")
          << '\n';
  ctx.out
          << "refused by server:  " << st->refused_rows
          << (st->refused_rows > 0 ? "  (kbo refused list)" : "") << '\n';
  if (st->waiting_rows > 0) {
    ctx.out << "waiting on server:  " << st->waiting_rows
            << "  (for a row it does not hold yet; applied when it arrives)\n";
  }
  for (size_t i = 0; i < st->refused.size() && i < 5; ++i) {
    const RefusedEntry& r = st->refused[i];
    ctx.out << "  " << r.entity << ' ' << r.row_id << " [" << r.reason
            << "]: " << r.message << '\n';
  }
  return Status();
}

// ---- conflicts
// ------------------------------------------------------------------------

// The conflicts this device holds (the server's conflict feed): open ones,
// or all with --all; newest first. Deciding them is the office's
// (kbo-server conflicts resolve, the console); here a person sees what is
// waiting, and the value not shown.
// Who or what a row is about, for a person reading a conflict's line:
// "นางสมศรี ใจดี, day 3" for a mark, a product's name for its progress, a
// producer's for a visit; "" when this device does not hold it.
std::string AboutRow(ClientStore& store, const std::string& entity,
                     const std::string& id_text) {
  const auto row = [&store](std::string_view e, const std::string& id) {
    std::optional<StoredRow> out;
    if (Result<Uuid> u = Uuid::Parse(id); u.ok()) {
      if (Result<StoredRow> r = store.Show(e, *u); r.ok()) out = std::move(*r);
    }
    return out;
  };
  const auto text = [](const StoredRow& r, const char* column) {
    auto it = r.values.find(column);
    return it == r.values.end() || it->second.is_null() ? std::string()
                                                        : it->second.ToDisplay();
  };
  const auto named = [&](std::string_view e, const std::string& id) {
    std::optional<StoredRow> r = row(e, id);
    if (!r) return std::string();
    for (const char* c : {"name", "title", "participant_name"}) {
      if (std::string t = text(*r, c); !t.empty()) return t;
    }
    return std::string();
  };
  std::optional<StoredRow> r = row(entity, id_text);
  if (!r) return "";
  std::string about;
  if (entity == "attendance") {
    about = named("enrolment", text(*r, "enrolment_id"));
    const std::string day = text(*r, "day");
    if (!day.empty()) about += (about.empty() ? "" : ", ") + std::string("day ") + day;
  } else if (entity == "progress" || entity == "contest_score") {
    about = named("product", text(*r, "product_id"));
    if (entity == "contest_score") {
      const std::string judge = text(*r, "judge");
      if (!judge.empty()) about += (about.empty() ? "" : ", ") + std::string("judge ") + judge;
    }
  } else if (entity == "visit") {
    about = named("producer", text(*r, "producer_id"));
  } else if (entity == "photo") {
    about = text(*r, "caption");
  } else {
    about = named(entity, id_text);
  }
  for (char& ch : about) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  return about;
}

Status RunConflicts(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"json", false, false}, {"all", false, false}},
                           {}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<std::vector<ConflictEntry>> list =
      (*store)->Conflicts(!parsed.Has("all"), static_cast<size_t>(INT64_MAX));
  if (!list.ok()) return list.status();
  Json rows = Json::array();
  for (const ConflictEntry& c : *list) rows.push_back(ConflictEntryJson(c));
  if (parsed.Has("json")) return PrintJson(ctx, rows);
  const std::string self = (*store)->device_id().ToString();
  // One conflict a line: a value's line breaks read as spaces. A delete
  // crossing an edit is said in words, not as 1 and 0.
  std::string column;
  const auto text = [&column](const Json& v) {
    if (!v.is_string()) return std::string("(empty)");
    std::string value = v.get<std::string>();
    if (column == "deleted") {
      return value != "0" ? std::string("deleted")
                          : std::string("not deleted (edited, still in use)");
    }
    for (char& ch : value) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    return "'" + value + "'";
  };
  const auto device = [&self](const Json& v) {
    if (!v.is_string()) return std::string("device ?");
    if (v.get<std::string>() == self) return std::string("this device");
    return "device " + v.get<std::string>().substr(0, 8);
  };
  for (const Json& r : rows) {
    column = r["column_name"].get<std::string>();
    const bool incoming_shown = r["winner"] == "incoming";
    const Json& shown = incoming_shown ? r["incoming_value"] : r["current_value"];
    const Json& other = incoming_shown ? r["current_value"] : r["incoming_value"];
    const Json& shown_by = incoming_shown ? r["incoming_device"] : r["current_device"];
    const Json& other_by = incoming_shown ? r["current_device"] : r["incoming_device"];
    // Whom or what it is about, so a trainer can tell the office which
    // one: the row's name (a mark: the participant and day).
    const std::string about =
        AboutRow(**store, r["entity"].get<std::string>(), r["row_id"].get<std::string>());
    ctx.out << r["entity"].get<std::string>() << ' ' << r["row_id"].get<std::string>();
    if (!about.empty()) ctx.out << " (" << about << ")";
    ctx.out << ' ' << r["column_name"].get<std::string>() << ": ";
    // A decided conflict shows what the office decided: the value the merge
    // happened to show then is history, and saying "shows" of it would
    // contradict what the row now holds.
    if (r["resolved_at"].is_string()) {
      ctx.out << "decided " << text(r["resolved_value"]) << " at "
              << r["resolved_at"].get<std::string>() << " (the values were "
              << text(shown) << " from " << device(shown_by) << " and "
              << text(other) << " from " << device(other_by) << ")";
      if (r["resolution_reason"].is_string()) {
        // One conflict a line: a reason's line breaks read as spaces.
        std::string reason = r["resolution_reason"].get<std::string>();
        for (char& ch : reason) {
          if (ch == '\n' || ch == '\r') ch = ' ';
        }
        ctx.out << "; the office's reason: " << reason;
      }
    } else {
      // What the row holds here now: a write after the conflict (another
      // conflict's decision, a later edit) may show neither value.
      Json now = shown;
      if (Result<Uuid> id = Uuid::Parse(r["row_id"].get<std::string>()); id.ok()) {
        Result<StoredRow> row = (*store)->Show(r["entity"].get<std::string>(), *id);
        if (row.ok()) {
          auto v = row->values.find(column);
          if (v != row->values.end()) {
            now = v->second.is_null() ? Json() : Json(v->second.ToDisplay());
          }
        }
      }
      if (now == shown || now == other) {
        const bool swapped = now != shown;
        ctx.out << "shows " << text(swapped ? other : shown) << " ("
                << device(swapped ? other_by : shown_by) << "), the other value "
                << text(swapped ? shown : other) << " ("
                << device(swapped ? shown_by : other_by) << ")";
      } else {
        ctx.out << "shows " << text(now) << " (written since), the values in "
                << "conflict " << text(shown) << " (" << device(shown_by)
                << ") and " << text(other) << " (" << device(other_by) << ")";
      }
      ctx.out << "; since "
              << (r["detected_at"].is_string() ? r["detected_at"].get<std::string>()
                                               : std::string("?"));
    }
    ctx.out << '\n';
  }
  if (rows.empty()) {
    ctx.err << (parsed.Has("all") ? "kbo: no conflicts\n"
                                  : "kbo: no open conflicts\n");
  } else if (!parsed.Has("all")) {
    ctx.err << "kbo: " << rows.size() << (rows.size() == 1 ? " conflict" : " conflicts")
            << " waiting for the office; both values are kept until it "
               "decides\n";
  }
  return Status();
}

// ---- refused
// ------------------------------------------------------------------------

Status RunRefusedList(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"json", false, false}}, {}, &parsed);
      !s.ok()) {
    return s;
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<std::vector<RefusedEntry>> list = (*store)->Refused();
  if (!list.ok()) return list.status();
  if (parsed.Has("json")) {
    Json arr = Json::array();
    for (const RefusedEntry& r : *list) arr.push_back(RefusedJson(r));
    return PrintJson(ctx, arr);
  }
  for (const RefusedEntry& r : *list) {
    ctx.out << r.entity << '\t' << r.row_id << '\t' << r.reason << '\t'
            << r.refused_at << '\t' << r.message << '\t' << r.cells
            << (r.restored ? "\t(put back to the server's values)" : "")
            << (r.unaccepted ? "\t(the server never accepted this row)" : "")
            << (r.not_held ? "\t(no longer on this device)" : "")
            << '\n';
  }
  if (list->empty()) {
    ctx.err << "kbo: the server has refused nothing\n";
    return Status();
  }
  // What to do with each kind (docs/cli.md "Rows the server refused").
  // Rows are counted once however often they were refused (a row refused
  // in two sets is one row to see to); undone edits and deletes one by one.
  size_t restored = 0, unaccepted = 0, gone = 0, to_fix = 0, waiting = 0;
  std::map<std::pair<std::string, std::string>, std::vector<const RefusedEntry*>> by_row;
  for (const RefusedEntry& r : *list) by_row[{r.entity, r.row_id}].push_back(&r);
  int64_t by_role = 0;
  for (const auto& [key, entries] : by_row) {
    const RefusedEntry& first = *entries.front();
    if (std::all_of(entries.begin(), entries.end(), [](const RefusedEntry* r) {
          return r->reason == protocol::kWaitsForRowReason;
        })) {
      ++waiting;
    } else if (first.not_held) {
      ++gone;
    } else if (first.unaccepted && first.reason == "role") {
      ++by_role;
    } else if (first.unaccepted) {
      ++unaccepted;
    } else {
      bool all_restored = true;
      for (const RefusedEntry* r : entries) {
        restored += r->restored ? 1 : 0;
        all_restored = all_restored && r->restored;
      }
      to_fix += all_restored ? 0 : 1;
    }
  }
  if (gone > 0) {
    ctx.err << "kbo: " << gone << (gone == 1 ? " refused row is" : " refused rows are")
            << " no longer on this device (moved to a district outside its "
               "own): nothing to fix here, the office keeps what was sent; "
               "`kbo refused dismiss ROW_ID` forgets the refusal once read\n";
  }
  if (waiting > 0) {
    ctx.err << "kbo: " << waiting << (waiting == 1 ? " row waits" : " rows wait")
            << " on the server for a row it does not hold yet (restored from a "
               "backup? its writer sends it again): nothing to do here; the server "
               "applies what this device sent when that row arrives\n";
  }
  if (restored > 0) {
    ctx.err << "kbo: " << restored
            << (restored == 1 ? " refused edit or delete was" : " refused edits or deletes were")
            << " undone here (the row shows the server's values again): "
               "nothing is left to fix; `kbo refused dismiss ROW_ID` forgets "
               "the refusal once read\n";
  }
  if (by_role > 0) {
    ctx.err << "kbo: " << by_role
            << (by_role == 1 ? " row was" : " rows were")
            << " refused for this device's role (docs/roles.md): no edit "
               "makes it acceptable from this device; the office, or a "
               "device whose role may, records it, and `kbo refused dismiss "
               "ROW_ID --yes` deletes it here\n";
  }
  if (unaccepted > 0) {
    ctx.err << "kbo: " << unaccepted
            << (unaccepted == 1 ? " row the server never accepted: fix it"
                                : " rows the server never accepted: fix them")
            << " (`kbo edit`, then sync), or `kbo refused dismiss ROW_ID "
               "--yes` deletes it here too\n";
  }
  if (to_fix > 0) {
    ctx.err << "kbo: " << to_fix << (to_fix == 1 ? " row" : " rows")
            << " to fix (`kbo edit`) or delete (`kbo delete`); either settles "
               "the refusal at the next sync\n";
  }
  return Status();
}

Status RunRefusedDismiss(Context& ctx, const std::vector<std::string>& args) {
  // ROW_ID or --all, not both.
  const bool all =
      std::find(args.begin(), args.end(), std::string("--all")) != args.end();
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"all", false, false}, {"yes", false, false}},
                           all ? std::vector<std::string_view>{}
                               : std::vector<std::string_view>{"ROW_ID"},
                           &parsed);
      !s.ok()) {
    return s;
  }
  std::optional<Uuid> row;
  if (!all) {
    Result<Uuid> id = IdArg(parsed.positional[0], "row id");
    if (!id.ok()) return id.status();
    row = *id;
  }
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // A row the server never accepted goes with its refusal: its values are
  // shown, and --yes is needed (docs/decisions.md).
  Result<std::vector<RefusedEntry>> entries = (*store)->RefusedToDismiss(row);
  if (!entries.ok()) return entries.status();
  size_t unaccepted = 0;
  for (const RefusedEntry& r : *entries) {
    if (!r.unaccepted) continue;
    ++unaccepted;
    ctx.out << r.entity << '\t' << r.row_id << '\t' << r.cells << '\n';
  }
  if (unaccepted > 0 && !parsed.Has("yes")) {
    return Status::InvalidArgument(
        "the server never accepted the row" +
        std::string(unaccepted == 1 ? "" : "s") +
        " above (values printed): dismissing deletes " +
        (unaccepted == 1 ? "it" : "them") +
        " here too. Run again with --yes to do so, or fix the row (kbo edit) "
        "and sync; nothing was changed");
  }
  Result<int64_t> n = (*store)->DismissRefused(row);
  if (!n.ok()) return n.status();
  if (!all && *n == 0) {
    return Status::NotFound("no refusal of row " + row->ToString());
  }
  ctx.err << "kbo: dismissed " << *n << (*n == 1 ? " refusal" : " refusals")
          << '\n';
  return Status();
}

}  // namespace

std::vector<Command> DataCommands() {
  std::vector<Command> c;
  c.push_back(
      {"edit", "", "edit ENTITY ID --set COLUMN=VALUE [--set ...]",
       "change columns of a row (an empty VALUE clears an optional column)",
       RunEdit});
  c.push_back({"delete", "", "delete ENTITY ID [--cascade]",
               "delete a row (a tombstone that syncs like any edit); refused "
               "while rows are recorded under it, unless --cascade deletes "
               "them with it",
               RunDelete});
  c.push_back({"list", "", "list ENTITY [--json] [--where COLUMN=VALUE ...]",
               "list the rows of an entity (tab-separated, or JSON)", RunList});
  c.push_back({"show", "", "show ENTITY ID [--json]",
               "show one row, deleted or not", RunShow});
  c.push_back({"import", "", "import ENTITY FILE.csv",
               "record every row of a UTF-8 CSV file, all or nothing; prints "
               "the new ids",
               RunImport});
  c.push_back({"status", "", "status [--json]",
               "device id, enrolment, pending changes and photos, last sync, "
               "rows the server refused",
               RunStatus});
  c.push_back({"conflicts", "", "conflicts [--all] [--json]",
               "conflicts this device holds that the office has not decided "
               "(--all: decided ones too), newest first, with both values",
               RunConflicts});
  c.push_back({"refused", "list", "refused list [--json]",
               "rows the server refused, with its reasons (fix with edit, or "
               "delete, then dismiss)",
               RunRefusedList});
  c.push_back({"refused", "dismiss", "refused dismiss ROW_ID | --all [--yes]",
               "forget the server's refusals of a row you have dealt with; a "
               "row the server never accepted is deleted here too (--yes)",
               RunRefusedDismiss});
  return c;
}

}  // namespace kbo::client::cli
