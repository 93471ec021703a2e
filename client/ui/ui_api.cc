#include "client/row_json.h"
#include "client/ui/ui_api.h"

// Request bodies:
//   create  := JSON object { COLUMN: text | number | null, ... }
//              (COLUMN as `kbo` names it: "otop_stars" or "stars"); text is
//              converted by ClientStore::ParseText exactly as a CLI flag is.
//              Empty text and null leave the column unset.
//            | multipart/form-data: the same columns as text fields, plus
//              optional file parts named "photo" and a "photo_caption".
//   edit    := JSON object { COLUMN: text | number | null }; null or "" clears.
//   marks   := { "marks": [ create, ... ] }   (POST /api/attendance)
// Replies are JSON; rows are {"id", every column in catalogue order,
// "deleted"} as `kbo list --json` prints them.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/blob_store.h"
#include "client/photo_fetch.h"
#include "client/photo_record.h"
#include "client/csv_import.h"
#include "client/image_info.h"
#include "shared/civil_time.h"
#include "shared/district_scope.h"
#include "shared/edge_guard.h"
#include "shared/entities.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/roles.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"
#include "shared/version.h"

namespace kbo::client::ui {
namespace {

using Json = nlohmann::ordered_json;

// Blobs served back to the browser: photos taken with `kbo photo add
// --max-mib` may exceed the upload cap; anything beyond this is not a photo
// a phone should download as a thumbnail.
constexpr size_t kMaxServedBlobBytes = size_t{64} << 20;
// Conflicts listed at most (newest first): a device's scope never comes near.
constexpr size_t kMaxConflictsListed = 1000;

// ---- JSON helpers
// ------------------------------------------------------------


ApiReply JsonReply(int status, const Json& body) {
  ApiReply reply;
  reply.http_status = status;
  // Store text is validated UTF-8; `replace` keeps a reply from ever
  // throwing on bytes that are not.
  reply.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

std::string ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kText:
      return "text";
    case ColumnType::kInteger:
      return "integer";
    case ColumnType::kReal:
      return "real";
    case ColumnType::kEnum:
      return "enum";
    case ColumnType::kRef:
      return "ref";
    case ColumnType::kDistrict:
      return "district";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kDateTime:
      return "datetime";
    case ColumnType::kSha256:
      return "sha256";
  }
  return "text";
}

// ---- Errors
// --------------------------------------------------------------------

// A refused request as the one error body (shared/error_body.h). Which
// column is wrong comes with the Status (field::kField, and field::kFields:
// column -> what is wrong with it), from the store or the form, never from
// its message. A Status naming one column gets it as the one entry of
// "fields" too, which the page reads.
ApiReply ErrorReply(const Status& s) {
  const int http = HttpStatusOfError(s);
  ApiReply reply;
  reply.http_status = http;
  // (Only this device's own IOError: a server's refusal may name any
  // reason, and must not make the phone say its storage is full.)
  if (s.code() == Code::kIOError && s.reason() == "storage_full") {
    // The device's storage (a phone's browser quota) is used up: said as
    // such, not as a fault to look up in a terminal.
    reply.http_status = 507;
    reply.body = EncodeErrorBody(
        Status::ResourceExhausted(
            "this device's storage is full: nothing was saved by this action "
            "(what was saved before is kept). Make room on the device, then "
            "try again")
            .WithReason("storage_full"));
    return reply;
  }
  if (http >= 500 && s.code() != Code::kUnavailable) {
    // Details go to the terminal (CONVENTIONS §2), not into a page.
    std::cerr << "kbo ui: " << edge::EscapeForLog(s.ToString()) << std::endl;
    reply.body = EncodeErrorBody(Status::Internal(
        "something went wrong on this device (details are in the terminal "
        "running kbo ui): nothing was saved by this action"));
    return reply;
  }
  const std::string* column = s.TextField(field::kField);
  if (column != nullptr && s.TextsField(field::kFields) == nullptr) {
    Status one = s;
    one.With(field::kFields, std::vector<std::pair<std::string, std::string>>{
                                 {*column, s.message()}});
    reply.body = EncodeErrorBody(one);
  } else {
    reply.body = EncodeErrorBody(s);
  }
  return reply;
}

ApiReply FieldError(std::string field, std::string message) {
  return ErrorReply(Status::InvalidArgument(std::move(message))
                        .With(field::kField, std::move(field)));
}

// Text with each CR LF made LF (a lone CR is left as it is).
std::string CrLfAsLf(const std::string& text) {
  if (text.find("\r\n") == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out.push_back(text[i]);
  }
  return out;
}

// A value as a page shows it in a form: "" for none, text as it is, a
// number or a flag as JSON writes it (and JavaScript's String()).
std::string AsShown(const Json& v) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// What a screen saw, checked before its write (`seen`: column -> the value
// the screen was drawn with; `current`: the row as stored now, RowJson, or
// null for none). A value changed since (a sync brought a colleague's, or
// another screen on this device saved one) refuses the write, 409
// changed_since, each such column with what it holds now: the write was
// made against a value the person did not see, and would replace it with no
// conflict (on one device, a later write is simply the newer).
std::optional<Status> ChangedSince(const Entity& entity, const Json& seen,
                                   const Json& current) {
  std::vector<std::pair<std::string, std::string>> changed;
  std::string names;
  for (const auto& [column, was] : seen.items()) {
    const Json now = current.is_object() && current.contains(column) ? current[column]
                                                                      : Json();
    // A list: any of them (a kept tap made after others it superseded:
    // what each of those saw or made, the person saw).
    if (was.is_array() ? std::any_of(was.begin(), was.end(),
                                     [&](const Json& w) { return AsShown(now) == AsShown(w); })
                       : AsShown(now) == AsShown(was)) {
      continue;
    }
    const std::string shown = AsShown(now);
    changed.emplace_back(column, shown.empty() ? "changed since this screen was opened: "
                                                 "now empty"
                                               : "changed since this screen was opened: "
                                                 "now " + shown);
    names += (names.empty() ? "" : ", ") + column;
  }
  if (changed.empty()) return std::nullopt;
  return Status::FailedPrecondition(
             std::string(entity.name) + " " + names +
             " changed since this screen was opened (a sync, or another screen): "
             "nothing was saved. Look at what it holds now, then save again")
      .WithReason("changed_since")
      .With(field::kFields, changed);
}

// An InvalidArgument listing `problems` ("a; b"), each with its column in
// field::kFields (a column's problems joined by "; "), the first column in
// field::kField.
Status FieldsRefusal(
    const std::vector<std::pair<std::string, std::string>>& problems) {
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& entry : problems) {
    const std::string& column = entry.first;
    const std::string& problem = entry.second;
    message += message.empty() ? "" : "; ";
    message += problem;
    auto same = std::find_if(fields.begin(), fields.end(),
                             [&](const auto& f) { return f.first == column; });
    if (same != fields.end()) {
      same->second += "; " + problem;
    } else {
      fields.emplace_back(column, problem);
    }
  }
  Status s = Status::InvalidArgument(std::move(message));
  if (!fields.empty()) {
    s.With(field::kField, fields.front().first);
    s.With(field::kFields, std::move(fields));
  }
  return s;
}

// ---- Request parsing
// -------------------------------------------------------------

bool IsJsonContentType(std::string_view content_type) {
  return content_type.rfind("application/json", 0) == 0;
}

// The request body as a JSON object; a reply to send instead if it is not.
std::optional<ApiReply> ParseJsonObject(const ApiRequest& req, Json* out) {
  if (req.body.size() > kMaxJsonBodyBytes) {
    return ErrorReply(Status::ResourceExhausted(
        "the request is larger than 64 KiB; a form never is"));
  }
  *out = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    return ErrorReply(
        Status::InvalidArgument("the request body is not valid JSON"));
  }
  if (!out->is_object()) {
    return ErrorReply(
        Status::InvalidArgument("the request body must be a JSON object"));
  }
  return std::nullopt;
}

// The text a person typed, from a JSON value; nullopt if the value is not
// text, a number or null.
std::optional<std::string> JsonText(const Json& v) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  // Unsigned first: is_number_integer() is true of an unsigned number too,
  // and get<int64_t>() of 18446744073709551596 is -20 (taken as a latitude).
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return v.dump();
  return std::nullopt;
}

const Entity* EntityOfSegment(std::string_view segment) {
  std::string name(segment);
  std::replace(name.begin(), name.end(), '-', '_');
  return FindEntity(name);
}

// Converts a form's values (column -> typed text) into a row. For a new row
// empty text leaves the column unset; for an edit it clears it. Every
// problem is reported at once, each with its column.
std::optional<Status> FormToRow(
    const Entity& entity, const std::vector<std::pair<std::string, Json>>& form,
    bool for_edit, RowValues* row) {
  std::vector<std::pair<std::string, std::string>> problems;  // column, what
  // The store's name for a problem (field::kProblem, with its params), kept
  // when it is the form's only one: the page says it in the person's
  // language (err.fiscal_year_ce), not in the message's English.
  std::optional<Status> named;
  auto refuse = [&](const std::string& field, const std::string& message,
                    const Status* why = nullptr) {
    problems.emplace_back(field, message);
    named.reset();
    if (problems.size() == 1 && why != nullptr &&
        why->TextField(field::kProblem) != nullptr) {
      named = *why;
    }
  };
  for (const auto& [key, json] : form) {
    if (key == kIdColumn || key == kDeletedColumn) {
      refuse(key, "id and deleted are set by the system");
      continue;
    }
    const Column* column = ResolveColumnName(entity, key);
    if (column == nullptr) {
      refuse(key, std::string(entity.name) + " has no column '" + key + "'");
      continue;
    }
    const std::string name(column->name);
    std::optional<std::string> text = JsonText(json);
    if (!text) {
      refuse(name, name + " must be text or a number");
      continue;
    }
    Result<Value> value = ClientStore::ParseText(entity.name, name, *text);
    if (!value.ok()) {
      refuse(name, value.status().message(), &value.status());
      continue;
    }
    if (row->count(name) != 0) {
      refuse(name, name + " is given twice");
      continue;
    }
    if (value->is_null()) {
      if (for_edit) (*row)[name] = Value::Null();
      continue;
    }
    (*row)[name] = std::move(*value);
  }
  if (problems.empty()) return std::nullopt;
  // The store would also refuse required columns sent empty; list them with
  // the other problems (in the store's words), so the person sees them all.
  if (!for_edit) {
    for (const auto& [key, json] : form) {
      const Column* column = ResolveColumnName(entity, key);
      if (column == nullptr || !column->required) continue;
      const std::string name(column->name);
      std::optional<std::string> text = JsonText(json);
      if (!text || row->count(name) != 0) continue;
      Result<Value> value = ClientStore::ParseText(entity.name, name, *text);
      if (!value.ok() || !value->is_null()) continue;
      refuse(name, name + " is required for a " + std::string(entity.name));
    }
  }
  Status refusal = FieldsRefusal(problems);
  if (named.has_value()) {
    refusal.With(field::kProblem, std::string(*named->TextField(field::kProblem)));
    for (const StatusField& f : named->fields()) {
      if (f.name == field::kParams) refusal.With(f);
    }
  }
  return refusal;
}

std::vector<std::pair<std::string, Json>> ObjectEntries(const Json& obj) {
  std::vector<std::pair<std::string, Json>> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    out.emplace_back(it.key(), it.value());
  }
  return out;
}

// "visit:ID" or a subject_type and a subject_id: the photographed row.
struct Subject {
  const Entity* entity = nullptr;
  Uuid id;
};

Result<Subject> ParseSubject(std::string_view type_text,
                             std::string_view id_text) {
  const Entity* entity = EntityOfSegment(type_text);
  Result<Value> type = ClientStore::ParseText(
      "photo", "subject_type", entity != nullptr ? entity->name : type_text);
  if (!type.ok()) return type.status();
  if (type->is_null() || entity == nullptr) {
    return Status::InvalidArgument("subject_type is required for a photo");
  }
  Result<Value> id = ClientStore::ParseText("photo", "subject_id", id_text);
  if (!id.ok()) return id.status();
  if (id->is_null()) {
    return Status::InvalidArgument("subject_id is required for a photo");
  }
  Result<Uuid> uuid = Uuid::Parse(id->text());
  if (!uuid.ok()) return uuid.status();
  return Subject{entity, *uuid};
}

// ---- Conflicts as people read them
// ----------------------------------------------------
// A conflict names its row by entity and UUID; a trainer knows it as
// "คุณสมใจ, day 3 of อบรม KBO พร้าว". These look the row up (deleted ones
// too: a conflict may outlive its row) and say what it is, in the store's
// own words; the page puts them in the person's language.

class RowNames {
 public:
  explicit RowNames(ClientStore& store) : store_(store) {}

  // The row, or nullptr if this device does not hold it (or `id` is not a
  // UUID). Looked up once per request.
  const StoredRow* Row(std::string_view entity, const std::string& id) {
    const std::string key = std::string(entity) + "/" + id;
    auto it = rows_.find(key);
    if (it != rows_.end()) return it->second ? &*it->second : nullptr;
    std::optional<StoredRow> row;
    Result<Uuid> uuid = Uuid::Parse(id);
    if (uuid.ok()) {
      Result<StoredRow> shown = store_.Show(entity, *uuid);
      if (shown.ok()) row = std::move(*shown);
    }
    auto [pos, added] = rows_.emplace(key, std::move(row));
    (void)added;
    return pos->second ? &*pos->second : nullptr;
  }

  // The name a person knows the row by; empty if not held.
  std::string Name(std::string_view entity, const std::string& id) {
    const StoredRow* row = Row(entity, id);
    if (row == nullptr) return "";
    if (entity == "producer" || entity == "product") return Text(*row, "name");
    if (entity == "workshop") return Text(*row, "title");
    if (entity == "enrolment") return Text(*row, "participant_name");
    if (entity == "attendance") {
      return Name("enrolment", Text(*row, "enrolment_id"));
    }
    if (entity == "visit") return Name("producer", Text(*row, "producer_id"));
    if (entity == "progress" || entity == "contest_score") {
      return Name("product", Text(*row, "product_id"));
    }
    if (entity == "photo") {
      const std::string caption = Text(*row, "caption");
      if (!caption.empty()) return caption;
      return Name(Text(*row, "subject_type"), Text(*row, "subject_id"));
    }
    return "";
  }

  // {"name", "context", "day", "date", "at"}: who or what the row is, what
  // it belongs to (the workshop of a participant, the producer of a
  // product, the contest and judge of a score), the course day of an
  // attendance mark and its date (the workshop's start + day - 1), a
  // workshop's start date, a visit's time. Nulls where there is none.
  Json Subject(std::string_view entity, const std::string& id) {
    Json out = {{"name", nullptr},
                {"context", nullptr},
                {"day", nullptr},
                {"date", nullptr},
                {"at", nullptr}};
    const StoredRow* row = Row(entity, id);
    if (row == nullptr) return out;
    const std::string name = Name(entity, id);
    if (!name.empty()) out["name"] = name;
    std::string context;
    if (entity == "product") {
      context = Name("producer", Text(*row, "producer_id"));
    } else if (entity == "enrolment") {
      context = Name("workshop", Text(*row, "workshop_id"));
    } else if (entity == "attendance") {
      const std::string ws = Text(*row, "workshop_id");
      context = Name("workshop", ws);
      auto day = row->values.find("day");
      if (day != row->values.end() && day->second.type() == Value::Type::kInteger) {
        out["day"] = day->second.integer();
        const StoredRow* w = Row("workshop", ws);
        if (w != nullptr) {
          const std::string date =
              CourseDate(Text(*w, "start_date"), day->second.integer());
          if (!date.empty()) out["date"] = date;
        }
      }
    } else if (entity == "workshop") {
      const std::string start = Text(*row, "start_date");
      if (!start.empty()) out["date"] = start;
    } else if (entity == "visit") {
      const std::string at = Text(*row, "visited_at");
      if (!at.empty()) out["at"] = at;
    } else if (entity == "progress") {
      context = Name("workshop", Text(*row, "workshop_id"));
    } else if (entity == "contest_score") {
      context = Text(*row, "contest") + " · " + Text(*row, "judge");
    }
    if (!context.empty()) out["context"] = context;
    return out;
  }

  // "YYYY-MM-DD" of course day `day` (1 = the start), or "" if `start` is
  // not a date.
  static std::string CourseDate(const std::string& start, int64_t day) {
    int y = 0, m = 0, d = 0;
    if (start.size() != 10 ||
        std::sscanf(start.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31 || day < 1 || day > 366) {
      return "";
    }
    int64_t year = 0;
    int month = 0, mday = 0;
    CivilFromDays(DaysFromCivil(y, m, d) + day - 1, &year, &month, &mday);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(year),
                  month, mday);
    return buf;
  }

 private:
  static std::string Text(const StoredRow& row, const char* column) {
    auto it = row.values.find(column);
    if (it == row.values.end() || it->second.type() != Value::Type::kText) {
      return "";
    }
    return it->second.text();
  }

  ClientStore& store_;
  std::map<std::string, std::optional<StoredRow>> rows_;
};

// A conflict row of GET /api/conflicts with what the page needs to show it
// without codes or UUIDs: "subject" (RowNames::Subject) and, where the
// column refers to another row, "current_name", "incoming_name" and
// "resolved_name" (that row's name; null if not held).
void AddConflictNames(RowNames& names, Json* row) {
  const auto text = [row](const char* key) {
    const Json& v = (*row)[key];
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  const std::string entity = text("entity");
  (*row)["subject"] = names.Subject(entity, text("row_id"));
  const Entity* e = FindEntity(entity);
  const Column* c = e != nullptr ? e->FindColumn(text("column_name")) : nullptr;
  if (c == nullptr || c->type != ColumnType::kRef) return;
  for (const char* side : {"current", "incoming", "resolved", "now"}) {
    const std::string id = text((std::string(side) + "_value").c_str());
    std::string ref = std::string(c->ref_entity);
    if (ref.empty()) {
      // photo.subject_id: the entity is the photo's subject_type.
      const StoredRow* photo = names.Row(entity, text("row_id"));
      auto type = photo != nullptr ? photo->values.find("subject_type")
                                   : RowValues::const_iterator();
      if (photo != nullptr && type != photo->values.end()) {
        ref = type->second.text();
      }
    }
    const std::string name = id.empty() || ref.empty() ? "" : names.Name(ref, id);
    (*row)[std::string(side) + "_name"] = name.empty() ? Json(nullptr) : Json(name);
  }
}

// For an open conflict, what the row holds in the column now, "now_value"
// (null: empty), and which value that is, "now_side": "current",
// "incoming", or "since" when it is neither (written after the conflict: a
// later edit, another conflict's decision), as `kbo conflicts` says it. The
// page shows that, not the side the merge chose when the conflict arose.
void AddConflictNow(RowNames& names, Json* row) {
  if ((*row)["resolved_at"].is_string()) return;
  const auto text = [row](const char* key) {
    const Json& v = (*row)[key];
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  const StoredRow* stored = names.Row(text("entity"), text("row_id"));
  if (stored == nullptr) return;
  auto v = stored->values.find(text("column_name"));
  if (v == stored->values.end()) return;
  const Json now = v->second.is_null() ? Json(nullptr) : Json(v->second.ToDisplay());
  (*row)["now_value"] = now;
  const bool incoming_won = text("winner") == "incoming";
  const char* shown = incoming_won ? "incoming" : "current";
  const char* other = incoming_won ? "current" : "incoming";
  (*row)["now_side"] = now == (*row)[std::string(shown) + "_value"]   ? shown
                       : now == (*row)[std::string(other) + "_value"] ? other
                                                                      : "since";
}

// What a progress entry did to its product's stage (StageFollow):
// {"product_id", "before", "after", "moved"}; null if it did nothing.
Json StageFollowJson(const StageFollow& follow) {
  if (!follow.applies) return nullptr;
  return {{"product_id", follow.product_id.ToString()},
          {"entry_stage", follow.entry_stage},
          {"before", follow.before.empty() ? Json(nullptr) : Json(follow.before)},
          {"after", follow.after.empty() ? Json(nullptr) : Json(follow.after)},
          {"moved", follow.moved}};
}

// ---- The handler
// --------------------------------------------------------------

// What POST /api/sync asks for: {"records_only": true}, or a full sync
// (no body, {}, or anything else: the sync as ever).
SyncRequest SyncRequestOf(const ApiRequest& req) {
  SyncRequest r;
  if (req.body.empty() || req.body.size() > 1024) return r;
  const nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto it = j.find("records_only");
    r.records_only = it != j.end() && it->is_boolean() && it->get<bool>();
  }
  return r;
}

// Runs a sync (UiApi::RunSync); empty when the UI has none.
using RunSyncFn = std::function<Status(SyncSummary* summary, const SyncRequest& request)>;

class Handler {
 public:
  Handler(ClientStore& store, const RunSyncFn& sync, const PhotoHooks& photos)
      : store_(store), sync_(sync), photos_(photos) {}
  void set_enrol(const EnrolHook* enrol) { enrol_ = enrol; }

  ApiReply Handle(const ApiRequest& req) {
    std::vector<std::string_view> seg;
    std::string_view path = req.path;
    while (!path.empty()) {
      if (path.front() == '/') {
        path.remove_prefix(1);
        continue;
      }
      const size_t slash = path.find('/');
      seg.push_back(path.substr(0, slash));
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash);
    }
    if (seg.empty() || seg[0] != "api") return NotFound(req);
    seg.erase(seg.begin());
    const std::string& m = req.method;
    if (seg.size() == 1) {
      if (seg[0] == "status" && m == "GET") return GetStatus();
      if (seg[0] == "reference" && m == "GET") return Reference();
      if (seg[0] == "conflicts" && m == "GET") return Conflicts();
      if (seg[0] == "sync" && m == "POST") return Sync(req);
      if (seg[0] == "enrol" && m == "POST") return Enrol(req);
      if (seg[0] == "photo" && m == "POST") return AddPhoto(req);
    }
    if (seg.size() == 3 && seg[0] == "workshop" && seg[2] == "rollcall" &&
        m == "GET") {
      return RollCall(seg[1], req);
    }
    if (seg.empty() || seg.size() > 2) return NotFound(req);
    const Entity* entity = EntityOfSegment(seg[0]);
    if (entity == nullptr) return NotFound(req);
    if (seg.size() == 1) {
      if (m == "GET") return List(*entity, req);
      if (m == "POST") return Create(*entity, req);
      return MethodNotAllowed(req);
    }
    Result<Uuid> id = Uuid::Parse(seg[1]);
    if (!id.ok()) {
      return ErrorReply(
          Status::InvalidArgument("'" + std::string(seg[1]) + "' is not a " +
                                  std::string(entity->name) + " id"));
    }
    if (m == "GET") return Show(*entity, *id);
    if (m == "PATCH") return Edit(*entity, *id, req);
    if (m == "DELETE") return Delete(*entity, *id, req);
    return MethodNotAllowed(req);
  }

 private:
  static ApiReply NotFound(const ApiRequest& req) {
    return ErrorReply(
        Status::NotFound("no such API: " + req.method + " " + req.path));
  }
  static ApiReply MethodNotAllowed(const ApiRequest& req) {
    ApiReply reply;
    reply.http_status = 405;
    reply.body =
        EncodeErrorBody("method_not_allowed",
                        req.method + " is not allowed on " + req.path, 405);
    return reply;
  }

  // ---- status, reference, conflicts, sync ----------------------------------

  Result<Json> StatusJson() {
    Result<StoreStatus> st = store_.GetStatus();
    if (!st.ok()) return st.status();
    Json obj = client::StatusJson(*st);  // open_conflicts too
    obj["sync_available"] = static_cast<bool>(sync_);
    obj["enrol_available"] = enrol_ != nullptr && *enrol_;
    obj["version"] = kVersion;
    return obj;
  }

  ApiReply GetStatus() {
    Result<Json> st = StatusJson();
    if (!st.ok()) return ErrorReply(st.status());
    return JsonReply(200, *st);
  }

  // The catalogue's values, in its order, named from `table`
  // (shared/labels.h); all of `table` when `column` is null.
  static Json NamedJson(const Column* column, kbo::NamedList table) {
    Json out = Json::array();
    std::vector<std::string_view> values;
    if (column != nullptr) {
      values = column->enum_values;
    } else {
      for (const Named& n : table) values.push_back(n.value);
    }
    for (std::string_view v : values) {
      Json item = {{"value", v}, {"name_th", v}, {"name_en", v}};
      if (const Named* n = table.Find(v)) {
        item["name_th"] = n->name_th;
        item["name_en"] = n->name_en;
      }
      out.push_back(std::move(item));
    }
    return out;
  }

  static Json NamedJson(std::string_view entity, std::string_view column,
                        kbo::NamedList table) {
    const Entity* e = FindEntity(entity);
    const Column* c = e != nullptr ? e->FindColumn(column) : nullptr;
    return NamedJson(c, table);
  }

  ApiReply Reference() {
    Json ref = Json::object();
    Json districts = Json::array();
    for (const District& d : Districts()) {
      districts.push_back(
          {{"code", d.code}, {"name_th", d.name_th}, {"name_en", d.name_en}});
    }
    ref["districts"] = std::move(districts);
    // The districts this device may record in (its enrolment), for the
    // pickers: null before enrolment or for a device of every district.
    Result<StoreStatus> st = store_.GetStatus();
    if (!st.ok()) return ErrorReply(st.status());
    Json mine = nullptr;
    const DistrictScope scope = DistrictScope::ReadStored(st->districts);
    if (st->enrolled && !scope.all && !st->districts.empty()) {
      mine = Json::array();
      for (const std::string& d : scope.districts) mine.push_back(d);
    }
    ref["device_districts"] = std::move(mine);
    // What this device's role may write (docs/roles.md, the table the
    // store enforces): the screens offer only that. null before enrolment,
    // when nothing is refused here.
    Json may = nullptr;
    if (st->enrolled) {
      may = Json::object();
      for (const Entity& e : Catalogue()) {
        Json actions = Json::object();
        for (RowAction a :
             {RowAction::kCreate, RowAction::kEdit, RowAction::kDelete}) {
          actions[std::string(RowActionName(a))] =
              RoleMayWrite(st->role, e.name, a);
        }
        may[std::string(e.name)] = std::move(actions);
      }
    }
    ref["may"] = std::move(may);
    ref["role"] = st->enrolled ? Json(st->role) : Json(nullptr);
    Json phrao = Json::array();
    for (const Named& t : PhraoTambon()) {
      phrao.push_back({{"name_th", t.name_th}, {"name_en", t.name_en}});
    }
    ref["tambon"] = {{"5011", std::move(phrao)}};
    ref["categories"] = NamedJson("producer", "category", Categories());
    ref["stages"] = NamedJson("product", "stage", Stages());
    ref["statuses"] = NamedJson("attendance", "status", Statuses());
    ref["kinds"] = NamedJson("producer", "kind", Kinds());
    Json criteria = NamedJson(nullptr, Criteria());
    const Entity* score = FindEntity("contest_score");
    for (Json& c : criteria) {
      const Column* col = score != nullptr
                              ? score->FindColumn(c["value"].get<std::string>())
                              : nullptr;
      c["max"] = col != nullptr ? col->max : 20;
    }
    ref["criteria"] = std::move(criteria);
    Json entities = Json::object();
    for (const Entity& e : Catalogue()) {
      Json cols = Json::array();
      for (const Column& c : e.columns) {
        Json col = {{"name", c.name},
                    {"type", ColumnTypeName(c.type)},
                    {"required", c.required}};
        if (c.has_range) {
          col["min"] = c.min;
          col["max"] = c.max;
        }
        if (!c.enum_values.empty()) col["values"] = c.enum_values;
        if (!c.ref_entity.empty()) col["ref"] = c.ref_entity;
        cols.push_back(std::move(col));
      }
      entities[std::string(e.name)] = std::move(cols);
    }
    ref["entities"] = std::move(entities);
    return JsonReply(200, ref);
  }

  ApiReply Conflicts() {
    // Open ones first (they are what the screen is for), newest first.
    Result<std::vector<ConflictEntry>> list =
        store_.Conflicts(/*open_only=*/false, kMaxConflictsListed);
    if (!list.ok()) return ErrorReply(list.status());
    Json rows = Json::array();
    // Whose each value is: this device's, or another's (the screen says
    // "yours" rather than a device id).
    const std::string me = store_.device_id().ToString();
    for (const ConflictEntry& c : *list) {
      Json row = ConflictEntryJson(c);
      row["current_mine"] = c.current_device == me;
      row["incoming_mine"] = c.incoming_device == me;
      rows.push_back(std::move(row));
    }
    RowNames names(store_);
    for (Json& row : rows) {
      AddConflictNow(names, &row);
      AddConflictNames(names, &row);
    }
    return JsonReply(200, rows);
  }

  // POST /api/enrol: this device, with the province's server, as `kbo
  // enroll` does; an enrolled device only when asked ("again": true), and
  // with changes still waiting for another server only with "force".
  ApiReply Enrol(const ApiRequest& req) {
    if (enrol_ == nullptr || !*enrol_) {
      return ErrorReply(Status::Unavailable("enrolment not available"));
    }
    if (!IsJsonContentType(req.content_type)) {
      return ErrorReply(
          Status::InvalidArgument("send the enrolment as application/json"));
    }
    Json obj;
    if (auto bad = ParseJsonObject(req, &obj)) return *bad;
    std::vector<std::pair<std::string, std::string>> problems;
    std::string server, token;
    const auto text_of = [&](const char* key, std::string* out) {
      auto it = obj.find(key);
      if (it == obj.end() || it->is_null()) return;
      if (!it->is_string()) {
        problems.emplace_back(key, std::string(key) + " must be text");
        return;
      }
      *out = it->get<std::string>();
      // Pasted or typed on a phone: spaces around it are not part of it.
      const size_t a = out->find_first_not_of(" \t\r\n");
      const size_t b = out->find_last_not_of(" \t\r\n");
      *out = a == std::string::npos ? std::string() : out->substr(a, b - a + 1);
    };
    text_of("server", &server);
    text_of("token", &token);
    // Enrolling a device that is enrolled already (the server was replaced,
    // or the office gave a token for other districts) is asked for by name;
    // `force` as `kbo enroll --force`.
    bool again = false;
    bool force = false;
    const auto flag_of = [&](const char* key, bool* out) {
      auto it = obj.find(key);
      if (it == obj.end() || it->is_null()) return;
      if (!it->is_boolean()) {
        problems.emplace_back(key, std::string(key) + " must be true or false");
        return;
      }
      *out = it->get<bool>();
    };
    flag_of("again", &again);
    flag_of("force", &force);
    std::string url;
    if (server.empty()) {
      problems.emplace_back("server", "server is required to enrol");
    } else if (Result<std::string> normal = NormalizeServerUrl(server);
               !normal.ok()) {
      problems.emplace_back("server", "server: " + normal.status().message());
    } else {
      url = *normal;
    }
    if (token.empty()) problems.emplace_back("token", "token is required to enrol");
    if (!problems.empty()) return ErrorReply(FieldsRefusal(problems));
    Result<StoreStatus> st = store_.GetStatus();
    if (!st.ok()) return ErrorReply(st.status());
    if (st->enrolled && !again) {
      return ErrorReply(
          Status::FailedPrecondition(
              "this device is already enrolled with " + st->server + " as " +
              st->role + "; to enrol it again, ask for it (\"again\": true)")
              .WithReason("already_enrolled"));
    }
    Result<EnrollResult> r = (*enrol_)(url, token, force);
    if (!r.ok()) {
      Status s = r.status();
      // The server's 401 or 403 for a token is not this page's PIN.
      if (s.reason() != "enrol_refused" &&
          (HttpStatusOfError(s) == 401 || HttpStatusOfError(s) == 403)) {
        s = Status::InvalidArgument(s.message()).WithReason("enrol_refused");
      }
      return ErrorReply(s);
    }
    return JsonReply(200, {{"device_id", r->device_id.ToString()},
                           {"server", r->server_url},
                           {"role", r->role},
                           {"districts", r->districts}});
  }

  ApiReply Sync(const ApiRequest& req) {
    if (!sync_) {
      return ErrorReply(Status::Unavailable("sync not available"));
    }
    SyncSummary summary;
    const Status s = sync_(&summary, SyncRequestOf(req));
    return SyncReply(s, summary);
  }


 public:
  // The answer to POST /api/sync once the sync `s` ended with `summary`.
  ApiReply SyncReply(const Status& s, const SyncSummary& summary) {
    // The numbers, for the screen to say in the person's language; the
    // English line as `kbo sync` prints it. A sync that failed part-way
    // says what it did before (its change sets are confirmed: a retry has
    // less to send).
    Json counts = {{"pushed_sets", summary.pushed_sets},
                   {"pushed_rows", summary.pushed_rows},
                   {"pulled_rows", summary.pulled_rows},
                   {"rows_left", summary.rows_left_districts},
                   {"new_conflicts", summary.new_conflicts},
                   {"photos_sent", summary.blobs_uploaded},
                   {"photo_bytes", summary.blob_bytes},
                   {"previews", summary.thumbnails_fetched},
                   {"photos_held_back", summary.blobs_held_back},
                   {"photos_refused", summary.blobs_refused},
                   {"originals_sent", summary.originals_uploaded},
                   {"original_bytes", summary.original_bytes},
                   {"originals_held_back", summary.originals_held_back},
                   {"refused_rows", summary.refused_rows},
                   {"waiting_rows", summary.waiting_rows},
                   {"needless_deletes", summary.needless_deletes},
                   {"redated_rows", summary.redated_rows},
                   {"future_times", summary.future_values.size()},
                   {"resent_sets", summary.resent_sets},
                   {"server_rewound", summary.server_rewound},
                   {"clock_off_ms", summary.clock_off_ms}};
    if (!s.ok()) {
      ApiReply failed = ErrorReply(s);
      // The server's 401 (it does not know this device, or its signature)
      // is not this page's PIN: the page would ask for its PIN again and
      // never say why the sync failed.
      if (failed.http_status == 401) failed.http_status = 403;
      const bool did_something = summary.pushed_sets > 0 || summary.pulled_rows > 0 ||
                                 summary.new_conflicts > 0 || summary.blobs_uploaded > 0 ||
                                 summary.originals_uploaded > 0;
      if (did_something) {
        Json body = Json::parse(failed.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_object()) {
          body["counts"] = std::move(counts);
          failed.body = body.dump();
        }
      }
      return failed;
    }
    Json body = {{"ok", true},
                 {"summary", DescribeSummary(summary)},
                 {"counts", counts}};
    Result<Json> st = StatusJson();
    if (st.ok()) body["status"] = *st;
    return JsonReply(200, body);
  }

 private:
  // ---- rows ---------------------------------------------------------------

  ApiReply List(const Entity& entity, const ApiRequest& req) {
    std::vector<Filter> filters;
    for (const auto& [key, text] : req.query) {
      if (key == kIdColumn) {
        filters.push_back(Filter{key, text});
        continue;
      }
      const Column* column = ResolveColumnName(entity, key);
      if (column == nullptr) {
        return FieldError(
            key, std::string(entity.name) + " has no column '" + key + "'");
      }
      filters.push_back(Filter{std::string(column->name), text});
    }
    Result<std::vector<StoredRow>> rows = store_.List(entity.name, filters);
    if (!rows.ok()) return ErrorReply(rows.status());
    Json out = Json::array();
    for (const StoredRow& row : *rows) out.push_back(RowJson(entity, row));
    return JsonReply(200, out);
  }

  ApiReply Show(const Entity& entity, const Uuid& id) {
    Result<StoredRow> row = store_.Show(entity.name, id);
    if (!row.ok()) return ErrorReply(row.status());
    return JsonReply(200, RowJson(entity, *row));
  }

  // The form of a create request: a JSON object, or multipart text fields
  // (then `photos` gets the file parts and `caption` the photo caption).
  std::optional<ApiReply> ReadForm(
      const ApiRequest& req, std::vector<std::pair<std::string, Json>>* form,
      std::vector<const FormPart*>* photos, std::string* caption) {
    if (!req.form.empty() ||
        req.content_type.rfind("multipart/form-data", 0) == 0) {
      for (const FormPart& part : req.form) {
        if (part.name == "photo") {
          // An empty file input still sends a part: no photo chosen (no
          // file name). A file of 0 bytes (a camera capture that failed)
          // is refused, not dropped: the person thinks it is attached.
          if (part.content.empty() && !part.filename.empty()) {
            return FieldError("photo", part.filename +
                                           " is empty (0 bytes): take or choose the photo "
                                           "again. Nothing was recorded.");
          }
          if (!part.content.empty()) photos->push_back(&part);
        } else if (part.name == "photo_caption") {
          *caption = part.content;
        } else if (part.content.size() > kMaxJsonBodyBytes) {
          return FieldError(part.name, part.name + " is larger than 64 KiB");
        } else {
          // A browser sends a text box's line breaks as CR LF in a form
          // (HTML's form encoding); typed, the box holds LF, as kbo does.
          // Stored as typed: else a later edit of another field sends the
          // box again (LF) as a change, a conflict with a colleague's real
          // edit that hides it (a walk-through).
          form->emplace_back(part.name, Json(CrLfAsLf(part.content)));
        }
      }
      return std::nullopt;
    }
    if (!IsJsonContentType(req.content_type)) {
      return ErrorReply(Status::InvalidArgument(
          "send the form as application/json or multipart/form-data"));
    }
    Json obj;
    if (auto bad = ParseJsonObject(req, &obj)) return bad;
    *form = ObjectEntries(obj);
    return std::nullopt;
  }

  // A mark or score recorded again from a screen keeps what the form does
  // not name (a colleague's note, synced since the screen was drawn, is not
  // wiped by a tap on the status); a column named empty is cleared. As
  // `kbo attendance mark` without --note.
  static ClientStore::RecordAgain KeepUnnamed(
      const Entity& entity, const std::vector<std::pair<std::string, Json>>& form,
      const RowValues& row) {
    ClientStore::RecordAgain again;
    if (entity.natural_key.empty()) return again;
    again.keep_unnamed = true;
    for (const auto& entry : form) {
      const Column* column = ResolveColumnName(entity, entry.first);
      if (column == nullptr) continue;
      const std::string name(column->name);
      if (row.count(name) == 0) again.cleared.insert(name);
    }
    return again;
  }

  ApiReply Create(const Entity& entity, const ApiRequest& req) {
    if (entity.name == "photo") return AddPhoto(req);
    std::vector<std::pair<std::string, Json>> form;
    std::vector<const FormPart*> photo_parts;
    std::string caption;
    if (auto bad = ReadForm(req, &form, &photo_parts, &caption)) return *bad;

    // A roll-call sheet: many marks, one transaction; "only_unmarked": true
    // (the rest present) leaves every mark recorded meanwhile as it is.
    if (entity.name == "attendance" && !form.empty() && form[0].first == "marks" &&
        (form.size() == 1 ||
         (form.size() == 2 && form[1].first == "only_unmarked"))) {
      bool only_unmarked = false;
      if (form.size() == 2) {
        if (!form[1].second.is_boolean()) {
          return FieldError("only_unmarked", "only_unmarked must be true or false");
        }
        only_unmarked = form[1].second.get<bool>();
      }
      return RecordMarks(entity, form[0].second, only_unmarked);
    }

    // A roll-call tap names the mark it saw ("seen_status", "seen_note":
    // "" for none): one changed since (a sync, another tablet on this
    // `kbo ui`, a tap kept on the phone and made later) is not written over.
    Json seen = Json::object();
    for (auto it = form.begin(); it != form.end();) {
      if (it->first == "seen_status" || it->first == "seen_note") {
        const Json& v = it->second;
        const bool texts =
            v.is_string() || v.is_null() ||
            (v.is_array() && v.size() <= 16 &&
             std::all_of(v.begin(), v.end(),
                         [](const Json& x) { return x.is_string() || x.is_null(); }));
        if (!texts) {
          return FieldError(it->first, it->first + " must be text, or a list of texts");
        }
        seen[it->first.substr(5)] = it->second;
        it = form.erase(it);
      } else {
        ++it;
      }
    }
    RowValues row;
    if (auto refused = FormToRow(entity, form, /*for_edit=*/false, &row)) {
      return ErrorReply(*refused);
    }
    if (!seen.empty() && !entity.natural_key.empty()) {
      Result<Uuid> key = DerivedRowId(entity, row);
      if (key.ok()) {
        Result<StoredRow> held = store_.Show(entity.name, *key);
        Json current;  // none (or deleted): every column empty
        if (held.ok() && !held->deleted) {
          current = Json(RowJson(entity, *held));
        } else if (!held.ok() && held.status().code() != Code::kNotFound) {
          return ErrorReply(held.status());
        }
        if (std::optional<Status> moved = ChangedSince(entity, seen, current)) {
          return ErrorReply(*moved);
        }
      }
    }
    const ClientStore::RecordAgain again = KeepUnnamed(entity, form, row);
    // A visit is recorded where and when it happens (as `kbo visit add`).
    if (entity.name == "visit" && row.count("visited_at") == 0) {
      row["visited_at"] = Value::Text(store_.NowIso());
    }
    // Photos and their caption are checked, and the photos stored
    // (content-addressed, harmless if the row is then refused), before the
    // row is written, so a refused photo leaves nothing recorded.
    if (!photo_parts.empty() && !caption.empty()) {
      Result<Value> v = ClientStore::ParseText("photo", "caption", caption);
      if (!v.ok()) return FieldError("photo_caption", v.status().message());
    }
    std::vector<StoredPhoto> stored;
    for (const FormPart* part : photo_parts) {
      Result<StoredPhoto> blob = StorePhotoUpload(
          part->content, part->filename.empty() ? "the photo" : part->filename,
          part->taken_head);
      if (!blob.ok()) {
        if (blob.status().code() == Code::kInvalidArgument) {
          return FieldError("photo", blob.status().message());
        }
        return ErrorReply(blob.status());
      }
      stored.push_back(std::move(*blob));
    }
    Result<Uuid> id = store_.Record(entity.name, std::move(row), again);
    if (!id.ok()) return ErrorReply(id.status());
    Json body = {{"id", id->ToString()}};
    if (entity.name == "progress") {
      body["product_stage"] = StageFollowJson(store_.stage_follow());
    }
    Json photo_ids = Json::array();
    for (const StoredPhoto& blob : stored) {
      Result<Uuid> photo = RecordPhotoRow(entity, *id, blob, caption);
      if (!photo.ok()) {
        // The row is saved (201: a page that read this as "not saved" would
        // save it again on the next tap); its photo is not. Said in the
        // answer (photo_error, photo_problem), for the page to tell.
        std::cerr << "kbo ui: photo of " << entity.name << " " << id->ToString()
                  << ": " << edge::EscapeForLog(photo.status().ToString())
                  << std::endl;
        body["photo_error"] = photo.status().message();
        body["photo_problem"] = std::string(photo.status().ReasonOrCodeName());
        break;
      }
      photo_ids.push_back(photo->ToString());
    }
    if (!photo_ids.empty()) body["photos"] = std::move(photo_ids);
    return JsonReply(201, body);
  }

  ApiReply RecordMarks(const Entity& entity, const Json& marks, bool only_unmarked) {
    if (!marks.is_array()) {
      return FieldError("marks", "marks must be a list of attendance marks");
    }
    std::vector<RowValues> rows;
    std::vector<ClientStore::RecordAgain> again;
    for (size_t i = 0; i < marks.size(); ++i) {
      if (!marks[i].is_object()) {
        return FieldError("marks", "each mark must be a JSON object");
      }
      RowValues row;
      const auto entries = ObjectEntries(marks[i]);
      if (auto refused = FormToRow(entity, entries, false, &row)) {
        return ErrorReply(std::move(*refused).With(field::kIndex, i));
      }
      again.push_back(KeepUnnamed(entity, entries, row));
      again.back().only_if_absent = only_unmarked;
      rows.push_back(std::move(row));
    }
    std::vector<ClientStore::Recorded> recorded;
    Result<std::vector<Uuid>> ids =
        store_.RecordAll(entity.name, std::move(rows), {}, again, &recorded);
    if (!ids.ok()) return ErrorReply(ids.status());  // with its field::kIndex
    Json out = Json::array();
    for (const Uuid& id : *ids) out.push_back(id.ToString());
    const auto kept = std::count(recorded.begin(), recorded.end(),
                                 ClientStore::Recorded::kKept);
    return JsonReply(201, {{"ids", out}, {"kept", kept}});
  }

  // The photo as uploaded to the UI is kept as the original; its upload
  // copy (client/photo_copy.h, the default size and quality) is what the
  // photo row names and what syncs.
  Result<StoredPhoto> StorePhotoUpload(std::string_view bytes,
                                       std::string_view name,
                                       std::string_view taken_head = {}) {
    return photos_.store(store_.paths().blobs, bytes, name, taken_head);
  }

  Result<Uuid> RecordPhotoRow(const Entity& subject_entity,
                              const Uuid& subject_id, const StoredPhoto& photo,
                              const std::string& caption) {
    RowValues row;
    row["subject_type"] = Value::Text(std::string(subject_entity.name));
    row["subject_id"] = Value::Text(subject_id.ToString());
    SetPhotoCells(photo, &row);
    if (!caption.empty()) {
      Result<Value> v = ClientStore::ParseText("photo", "caption", caption);
      if (!v.ok()) return v.status();
      if (!v->is_null()) row["caption"] = std::move(*v);
    }
    // The photo row, its outbox entry, its upload queue entry (blob_upload)
    // and the note of its original (photo_original) commit together.
    const std::optional<ClientStore::PhotoOriginal> original =
        OriginalRecord(photo);
    return store_.RecordPhoto(std::move(row), original ? &*original : nullptr);
  }

  ApiReply AddPhoto(const ApiRequest& req) {
    std::string subject, subject_type, subject_id, caption, filename;
    const std::string* bytes = nullptr;
    std::string_view taken_head;
    auto query = [&req](const char* key) {
      auto it = req.query.find(key);
      return it == req.query.end() ? std::string() : it->second;
    };
    if (!req.form.empty()) {
      for (const FormPart& part : req.form) {
        if (part.name == "file" || part.name == "photo") {
          bytes = &part.content;
          filename = part.filename;
          taken_head = part.taken_head;
        } else if (part.name == "subject") {
          subject = part.content;
        } else if (part.name == "subject_type") {
          subject_type = part.content;
        } else if (part.name == "subject_id") {
          subject_id = part.content;
        } else if (part.name == "caption") {
          caption = part.content;
        }
      }
    } else {
      bytes = &req.body;
      subject = query("subject");
      subject_type = query("subject_type");
      subject_id = query("subject_id");
      caption = query("caption");
      filename = query("filename");
    }
    if (!subject.empty()) {
      const size_t colon = subject.find(':');
      if (colon == std::string::npos) {
        return FieldError("subject",
                          "subject must be ENTITY:ID, e.g. visit:1b4e28ba-"
                          "2fa1-41d2-883f-0016d3cca427 (got '" +
                              subject + "')");
      }
      subject_type = subject.substr(0, colon);
      subject_id = subject.substr(colon + 1);
    }
    Result<Subject> target = ParseSubject(subject_type, subject_id);
    if (!target.ok()) {
      return ErrorReply(target.status());
    }
    if (caption.size() > kMaxJsonBodyBytes) {
      return FieldError("caption", "caption is larger than 64 KiB");
    }
    if (bytes == nullptr || bytes->empty()) {
      return FieldError("file", "choose a photo to add");
    }
    // Refuse a photo of nothing before storing anything.
    Result<StoredRow> row = store_.Show(target->entity->name, target->id);
    if (!row.ok()) {
      Status s = row.status();
      return ErrorReply(std::move(s).With(field::kField, "subject_id"));
    }
    if (row->deleted) {
      const std::string msg = "no " + std::string(target->entity->name) +
                              " with id " + target->id.ToString() +
                              " (it was deleted)";
      return ErrorReply(
          Status::NotFound(msg).With(field::kField, "subject_id"));
    }
    Result<StoredPhoto> blob = StorePhotoUpload(
        *bytes, filename.empty() ? "the photo" : filename, taken_head);
    if (!blob.ok()) {
      if (blob.status().code() == Code::kInvalidArgument) {
        return FieldError("file", blob.status().message());
      }
      return ErrorReply(blob.status());
    }
    Result<Uuid> id =
        RecordPhotoRow(*target->entity, target->id, *blob, caption);
    if (!id.ok()) return ErrorReply(id.status());
    return JsonReply(201, {{"id", id->ToString()},
                           {"sha256", blob->upload.sha256},
                           {"mime", blob->upload.info.mime},
                           {"width", blob->upload.info.width},
                           {"height", blob->upload.info.height}});
  }

  ApiReply Edit(const Entity& entity, const Uuid& id, const ApiRequest& req) {
    if (!IsJsonContentType(req.content_type)) {
      return ErrorReply(
          Status::InvalidArgument("send the changes as application/json"));
    }
    Json obj;
    if (auto bad = ParseJsonObject(req, &obj)) return *bad;
    // "_seen": {column: the value the form was drawn with}, for the columns
    // it changes: one changed since is not written over unseen.
    Json seen;
    if (auto it = obj.find("_seen"); it != obj.end()) {
      seen = *it;
      obj.erase(it);
      if (!seen.is_object()) {
        return FieldError("_seen", "_seen must be an object of column: value");
      }
    }
    RowValues changes;
    if (auto refused = FormToRow(entity, ObjectEntries(obj), true, &changes)) {
      return ErrorReply(*refused);
    }
    if (!seen.empty()) {
      Result<StoredRow> now = store_.Show(entity.name, id);
      if (!now.ok()) return ErrorReply(now.status());
      if (std::optional<Status> moved =
              ChangedSince(entity, seen, Json(RowJson(entity, *now)))) {
        return ErrorReply(*moved);
      }
    }
    if (Status s = store_.Edit(entity.name, id, changes); !s.ok()) {
      return ErrorReply(s);
    }
    return Show(entity, id);
  }

  // ?cascade=1 deletes the rows recorded under it too; without it, those
  // rows refuse the delete (400 "has_children", "children": {entity: n}).
  ApiReply Delete(const Entity& entity, const Uuid& id, const ApiRequest& req) {
    auto it = req.query.find("cascade");
    const bool cascade = it != req.query.end() && it->second == "1";
    Result<ClientStore::Deleted> deleted = store_.Delete(
        entity.name, id,
        cascade ? ClientStore::Children::kCascade : ClientStore::Children::kRefuse);
    if (!deleted.ok()) return ErrorReply(deleted.status());
    Json by_entity = Json::object();
    for (const auto& [name, n] : deleted->by_entity) by_entity[name] = n;
    return JsonReply(200, {{"id", id.ToString()},
                           {"deleted", true},
                           {"rows", deleted->total()},
                           {"by_entity", std::move(by_entity)}});
  }

  // ---- roll-call ------------------------------------------------------------

  ApiReply RollCall(std::string_view id_text, const ApiRequest& req) {
    Result<Uuid> id = Uuid::Parse(id_text);
    if (!id.ok()) {
      return ErrorReply(Status::InvalidArgument("'" + std::string(id_text) +
                                                "' is not a workshop id"));
    }
    const Entity* workshop = FindEntity("workshop");
    Result<StoredRow> ws = store_.Show("workshop", *id);
    if (!ws.ok()) return ErrorReply(ws.status());
    if (ws->deleted) {
      return ErrorReply(Status::NotFound("no workshop with id " +
                                         id->ToString() + " (it was deleted)"));
    }
    const Value& days_value = ws->values["days"];
    const int64_t days = days_value.is_null() ? 5 : days_value.integer();
    int64_t day = 1;
    if (auto it = req.query.find("day"); it != req.query.end()) {
      Result<Value> v = ClientStore::ParseText("attendance", "day", it->second);
      if (!v.ok()) return FieldError("day", v.status().message());
      if (!v->is_null()) day = v->integer();
    }
    if (day < 1 || day > days) {
      return FieldError("day", "day " + std::to_string(day) +
                                   " is outside the workshop's days (1 to " +
                                   std::to_string(days) + ")");
    }
    const std::string ws_id = id->ToString();
    Result<std::vector<StoredRow>> enrolments =
        store_.List("enrolment", {Filter{"workshop_id", ws_id}});
    if (!enrolments.ok()) return ErrorReply(enrolments.status());
    // Every mark of the workshop: the day's are drawn, and any on days
    // past its last (it was shortened on another device after they were
    // made) are counted, so the screen can say they are kept, not gone.
    Result<std::vector<StoredRow>> all_marks =
        store_.List("attendance", {Filter{"workshop_id", ws_id}});
    if (!all_marks.ok()) return ErrorReply(all_marks.status());
    std::vector<StoredRow*> marks;
    int64_t beyond = 0, beyond_from = 0, beyond_to = 0;
    for (StoredRow& mark : *all_marks) {
      const Value& d = mark.values["day"];
      if (d.type() != Value::Type::kInteger) continue;
      if (d.integer() == day) marks.push_back(&mark);
      if (d.integer() > days) {
        beyond_from = beyond == 0 ? d.integer() : std::min(beyond_from, d.integer());
        beyond_to = std::max(beyond_to, d.integer());
        ++beyond;
      }
    }
    Result<std::vector<StoredRow>> producers = store_.List("producer");
    if (!producers.ok()) return ErrorReply(producers.status());
    std::map<std::string, std::string> producer_names;
    for (StoredRow& p : *producers) {
      producer_names[p.id.ToString()] = p.values["name"].text();
    }
    std::map<std::string, StoredRow*> by_enrolment;
    for (StoredRow* mark : marks) {
      by_enrolment[mark->values["enrolment_id"].text()] = mark;
    }
    // Marks two people set differently, not yet decided by the office: the
    // roll-call flags them (the value shown may change when it decides).
    Result<std::vector<ConflictEntry>> open =
        store_.Conflicts(/*open_only=*/true, kMaxConflictsListed);
    if (!open.ok()) return ErrorReply(open.status());
    std::set<std::string> disputed;
    for (const ConflictEntry& c : *open) {
      if (c.entity == "attendance") disputed.insert(c.row_id);
    }
    Json rows = Json::array();
    Json counts = Json::object();
    for (const Named& s : Statuses()) counts[std::string(s.value)] = 0;
    counts["unmarked"] = 0;
    std::set<std::string> looked_up, deleted_producers;
    for (StoredRow& e : *enrolments) {
      const std::string eid = e.id.ToString();
      const std::string pid = e.values["producer_id"].text();
      // A producer deleted (on another device, synced here) while this
      // participant was enrolled under it: named, and said to be deleted.
      // Looked up once per producer.
      if (!producer_names.count(pid) && looked_up.insert(pid).second) {
        Result<Uuid> producer_id = Uuid::Parse(pid);
        Result<StoredRow> gone = producer_id.ok()
                                     ? store_.Show("producer", *producer_id)
                                     : Result<StoredRow>(producer_id.status());
        if (gone.ok() && gone->deleted) {
          producer_names[pid] = gone->values["name"].text();
          deleted_producers.insert(pid);
        }
      }
      const bool producer_deleted = deleted_producers.count(pid) > 0;
      Json row = {{"enrolment_id", eid},
                  {"participant_name", e.values["participant_name"].text()},
                  {"producer_id", pid},
                  {"producer_name", producer_names.count(pid)
                                        ? Json(producer_names[pid])
                                        : Json(nullptr)},
                  {"producer_deleted", producer_deleted},
                  {"attendance_id", nullptr},
                  {"status", nullptr},
                  {"note", nullptr},
                  {"disputed", false}};
      auto mark = by_enrolment.find(eid);
      if (mark != by_enrolment.end()) {
        row["attendance_id"] = mark->second->id.ToString();
        row["disputed"] = disputed.count(row["attendance_id"].get<std::string>()) > 0;
        row["status"] = ValueJson(mark->second->values["status"]);
        row["note"] = ValueJson(mark->second->values["note"]);
        const std::string status = mark->second->values["status"].text();
        counts[status] = counts.value(status, 0) + 1;
      } else {
        counts["unmarked"] = counts["unmarked"].get<int64_t>() + 1;
      }
      rows.push_back(std::move(row));
    }
    Json body = {{"workshop", RowJson(*workshop, *ws)},
                 {"day", day},
                 {"days", days},
                 {"rows", std::move(rows)},
                 {"counts", std::move(counts)},
                 {"beyond_days", beyond == 0 ? Json(nullptr)
                                             : Json{{"marks", beyond},
                                                    {"from", beyond_from},
                                                    {"to", beyond_to}}}};
    return JsonReply(200, body);
  }

  ClientStore& store_;
  const RunSyncFn& sync_;
  const PhotoHooks& photos_;
  const EnrolHook* enrol_ = nullptr;
};

}  // namespace

UiApi::UiApi(ClientStore& store, SyncHook sync, PhotoHooks photos)
    : store_(store), sync_(std::move(sync)), photos_(std::move(photos)) {}

Status UiApi::RunSync(SyncSummary* summary, const SyncRequest& request) {
  {
    std::lock_guard<std::mutex> lock(board_.mu);
    // A second tap while a sync runs (without the store lock, it is not
    // held back): refused as the sync lock would, leaving the board to the
    // sync that runs.
    if (board_.running) {
      return Status::Unavailable(
                 "another sync of this device is running; it goes on, and this "
                 "one was not started")
          .WithReason("sync_running");
    }
    board_.running = true;
    board_.started = std::chrono::steady_clock::now();
    board_.reported = false;
    board_.busy_until = {};
  }
  const Status s = sync_(summary, [this](const SyncProgressReport& report) {
    std::lock_guard<std::mutex> lock(board_.mu);
    if (report.busy_wait_ms > 0) {
      // Waiting for a busy server: where the sync was stays as it was.
      board_.busy_until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(report.busy_wait_ms);
      return;
    }
    board_.busy_until = {};
    if (!board_.reported || report.phase != board_.last.phase) {
      board_.phase_start = std::chrono::steady_clock::now();
      board_.phase_bytes = report.wire_bytes;
    }
    board_.last = report;
    board_.reported = true;
  }, request);
  std::lock_guard<std::mutex> lock(board_.mu);
  board_.running = false;
  return s;
}

ApiReply UiApi::Progress() {
  std::lock_guard<std::mutex> lock(board_.mu);
  Json body = {{"running", board_.running}};
  const auto now = std::chrono::steady_clock::now();
  body["busy_s"] = board_.running && now < board_.busy_until
                       ? Json(std::ceil(std::chrono::duration<double>(board_.busy_until - now).count()))
                       : Json(nullptr);
  // How long the running sync has run: a screen that opens during it says
  // so from its start, not from its own opening.
  body["elapsed_s"] = board_.running
                          ? Json(std::floor(std::chrono::duration<double>(now - board_.started).count()))
                          : Json(nullptr);
  if (!board_.reported) {
    body["phase"] = nullptr;
    return JsonReply(200, body);
  }
  const SyncProgressReport& r = board_.last;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - board_.phase_start)
          .count();
  const SyncProgressEstimate e = EstimateSyncProgress(r, seconds);
  const uint64_t phase_bytes = r.wire_bytes - board_.phase_bytes;
  body["phase"] = SyncPhaseName(r.phase);
  body["done"] = e.done;
  body["total"] = e.total;
  body["unit"] = e.in_bytes ? "bytes" : "records";
  body["fraction"] = e.fraction >= 0 ? Json(e.fraction) : Json(nullptr);
  body["per_s"] = e.per_s;
  body["seconds_left"] = e.seconds_left >= 0 ? Json(e.seconds_left) : Json(nullptr);
  body["wire_bytes"] = phase_bytes;
  body["text"] = FormatSyncProgress(r, phase_bytes, seconds);
  return JsonReply(200, body);
}

ApiReply UiApi::Handle(const ApiRequest& request) {
  try {
    // Answered while a sync holds the store (below): it reads only the board.
    if (request.method == "GET" && request.path == "/api/sync/progress") return Progress();
    if (sync_own_store_ && sync_ && request.method == "POST" && request.path == "/api/sync") {
      // The hook syncs through its own connection (a stalled link holds it
      // for minutes): the screens go on recording meanwhile, and only the
      // answer, read from this store, waits for the lock.
      SyncSummary summary;
      const Status s = RunSync(&summary, SyncRequestOf(request));
      std::lock_guard<std::mutex> lock(mu_);
      RunSyncFn none;
      Handler handler(store_, none, photos_);
      ApiReply reply = handler.SyncReply(s, summary);
      store_.db().ResetCached();
      return reply;
    }
    std::lock_guard<std::mutex> lock(mu_);
    RunSyncFn run;
    if (sync_) {
      run = [this](SyncSummary* summary, const SyncRequest& asked) {
        return RunSync(summary, asked);
      };
    }
    Handler handler(store_, run, photos_);
    handler.set_enrol(&enrol_);
    ApiReply reply = handler.Handle(request);
    // A cached statement left stepped (a one-row lookup) would hold this
    // connection's read snapshot until the next write: the UI would then
    // miss rows that `kbo import` or `kbo sync` write meanwhile. Each
    // request ends with none held.
    store_.db().ResetCached();
    return reply;
  } catch (const std::exception& e) {
    return ErrorReply(Status::Internal(std::string("exception: ") + e.what()));
  } catch (...) {
    return ErrorReply(Status::Internal("unknown exception"));
  }
}

ApiReply UiApi::Blob(std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return ErrorReply(Status::InvalidArgument(
        "a photo is named by 64 lowercase hex digits (its SHA-256)"));
  }
  try {
    // Blob files are written atomically and never changed, so reading
    // needs no lock (and thumbnails load while a form is being saved).
    BlobStore blobs(store_.paths().blobs);
    Result<std::string> bytes = blobs.Read(sha256, kMaxServedBlobBytes);
    if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
      // Another device's photo: its thumbnail, fetched by kbo sync
      // (client/photo_fetch.h); `kbo photo fetch` gets the original.
      Result<std::string> thumb = ReadThumbnail(store_.paths().blobs, sha256);
      if (thumb.ok()) {
        ApiReply reply;
        reply.content_type = "image/jpeg";
        reply.body = std::move(*thumb);
        return reply;
      }
    }
    if (!bytes.ok()) return ErrorReply(bytes.status());
    ApiReply reply;
    Result<ImageInfo> info = ReadImageInfo(*bytes);
    reply.content_type = info.ok() ? info->mime : "application/octet-stream";
    reply.body = std::move(*bytes);
    return reply;
  } catch (const std::exception& e) {
    return ErrorReply(Status::Internal(std::string("exception: ") + e.what()));
  }
}

ApiReply UiApi::Thumb(std::string_view sha256) {
  try {
    // Thumbnails are written atomically under a content-addressed name, so
    // this needs no store lock either (shared/image.h serialises decodes).
    Result<std::string> thumb = photos_.thumbnail(store_.paths().blobs, sha256);
    if (!thumb.ok()) {
      if (thumb.status().code() == Code::kFailedPrecondition) {
        ApiReply reply = ErrorReply(Status::InvalidArgument(
            "the stored photo does not decode as a picture"));
        reply.http_status = 415;
        return reply;
      }
      return ErrorReply(thumb.status());
    }
    ApiReply reply;
    reply.content_type = "image/jpeg";
    reply.body = std::move(*thumb);
    return reply;
  } catch (const std::exception& e) {
    return ErrorReply(Status::Internal(std::string("exception: ") + e.what()));
  }
}

SyncHook SyncHookFor(ClientStore& store) {
  return [&store](SyncSummary* summary, const SyncProgress& progress,
                  const SyncRequest& request) -> Status {
    return RunSyncForUi(store, summary, progress, request.records_only);
  };
}

SyncHook OwnStoreSyncHookFor(const std::string& home_dir, WallClock* wall) {
  return [home_dir, wall](SyncSummary* summary, const SyncProgress& progress,
                          const SyncRequest& request) -> Status {
    Result<std::unique_ptr<ClientStore>> own = ClientStore::Open(home_dir, wall);
    if (!own.ok()) return own.status();
    return RunSyncForUi(**own, summary, progress, request.records_only);
  };
}

EnrolHook EnrolHookFor(ClientStore& store) {
  return [&store](const std::string& server_url, const std::string& token,
                  bool force) -> Result<EnrollResult> {
    SyncClient client(store);
    Result<EnrollResult> r = client.Enroll(server_url, token, force);
    if (r.ok() || !client.refused_by_server()) return r;
    return Status::InvalidArgument(r.status().message())
        .WithReason("enrol_refused");
  };
}

}  // namespace kbo::client::ui
