// The console's data pages: each entity's rows with search and filters,
// names instead of ids, a row's detail with its photos and history, office
// edits as signed changes of the server's own identity, and photo bytes.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "server/console/console.h"
#include "server/data_quality.h"
#include "server/office_delete.h"
#include "server/row_names.h"
#include "server/server_write.h"
#include "server/storage/entity_reads.h"
#include "server/storage/originals.h"
#include "shared/civil_time.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/rows_under.h"
#include "shared/error_body.h"
#include "shared/labels.h"
#include "shared/name_match.h"
#include "shared/uuid.h"
#include "shared/value_json.h"
#include "shared/replica/workshop_cut.h"

namespace kbo::server::console {
namespace {

// A time as the office reads and types it: Bangkok's wall clock (UTC+7 all
// year), "2026-09-01T10:00:00" as a datetime-local box holds it, for a
// stored "2026-09-01T03:00:00Z". The text unchanged if it does not parse.
std::string BangkokBoxValue(const std::string& iso_utc) {
  const std::optional<int64_t> ms = ParseIsoUtcMillis(iso_utc);
  if (!ms.has_value()) return iso_utc;
  std::string local = kbo::FormatIsoUtc(*ms / 1000 + kBangkokOffsetSeconds);
  if (!local.empty() && local.back() == 'Z') local.pop_back();
  return local;
}

// The stored (UTC) text of a time typed or sent as Bangkok's wall clock:
// "YYYY-MM-DDTHH:MM" or with ":SS" (a datetime-local box; a space for the
// T too). A text already ending in Z is UTC and taken as it is; anything
// else is returned unchanged, for the column's own check to refuse.
std::string UtcFromBangkokBox(const std::string& typed) {
  std::string t = typed;
  if (t.size() > 10 && t[10] == ' ') t[10] = 'T';
  if (t.size() == 16) t += ":00";
  const auto digits = [&t](size_t at, size_t n, int* out) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
      t[16] != ':' || !digits(0, 4, &year) || !digits(5, 2, &month) ||
      !digits(8, 2, &day) || !digits(11, 2, &hour) || !digits(14, 2, &minute) ||
      !digits(17, 2, &second) || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return typed;
  }
  return kbo::FormatIsoUtc(DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                      minute * 60 + second - kBangkokOffsetSeconds);
}

using Json = nlohmann::ordered_json;

constexpr int64_t kPageRows = 100;

std::string T(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}
std::string T(Lang lang, std::string th, std::string en) {
  return lang == Lang::kTh ? std::move(th) : std::move(en);
}

std::string JsonText(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}


Reply NotFound(Context& ctx, const std::string& message) {
  if (IsApi(ctx)) {
    return Reply::Json(EncodeErrorBody(Status::NotFound(message)), 404);
  }
  return Reply::Html(Layout(ctx, T(ctx.lang, "ไม่พบ", "Not found"),
                            "<p class=\"flash error\">" + Escape(message) +
                                "</p>"),
                     404);
}

Reply BadInput(Context& ctx, const std::string& message) {
  if (IsApi(ctx)) {
    return Reply::Json(EncodeErrorBody(Status::InvalidArgument(message)), 400);
  }
  return Reply::Html(Layout(ctx, T(ctx.lang, "ข้อมูลไม่ถูกต้อง", "Invalid input"),
                            "<p class=\"flash error\">" + Escape(message) +
                                "</p>"),
                     400);
}

using storage::EntityReads;

// The entity's column that names a row for people.
std::string_view NameColumn(const Entity& e) {
  for (std::string_view c : {"name", "title", "participant_name", "caption",
                             "contest", "purpose"}) {
    if (e.FindColumn(c) != nullptr) return c;
  }
  return "";
}

// A reference shown as the name of the row it names.
std::string RefName(const RowNames& names, const Column& c,
                    const std::string& id) {
  if (id.empty()) return "";
  const Entity* target = FindEntity(c.ref_entity);
  if (target == nullptr) return id;
  const std::string_view col = NameColumn(*target);
  std::string name =
      col.empty() ? std::string() : names.Text(c.ref_entity, id, col);
  return name.empty() ? id.substr(0, 8) : name;
}

struct Filters {
  std::string q, district, fiscal_year, workshop, category, stage;
  bool deleted = false;
  int64_t page = 0;
  std::string page_text;  // as given, to refuse one that is not a page
};

Filters ReadFilters(const Request& req) {
  Filters f;
  f.q = req.Query("q").substr(0, 200);
  f.district = req.Query("district");
  f.fiscal_year = req.Query("fiscal_year");
  f.workshop = req.Query("workshop");
  f.category = req.Query("category");
  f.stage = req.Query("stage");
  f.deleted = req.Query("deleted") == "1";
  f.page_text = req.Query("page");
  if (const std::optional<int64_t> page = ParseInt64(f.page_text, 0, 999999)) {
    f.page = *page;
  }
  return f;
}

Reply DataIndex(Context& ctx) {
  const Lang lang = ctx.lang;
  EntityReads store(ctx.store.db());
  Json counts = Json::object();
  std::string b = "<table><thead><tr><th>" + T(lang, "ข้อมูล", "Data") +
                  "</th><th class=\"num\">" +
                  T(lang, "จำนวน (ไม่รวมที่ลบ)", "Rows (not deleted)") +
                  "</th></tr></thead><tbody>";
  for (const Entity& e : Catalogue()) {
    Result<int64_t> count = store.CountLive(e, ctx.user().scope);
    if (!count.ok()) return Reply::Html("could not count rows", 500);
    const int64_t n = *count;
    counts[std::string(e.name)] = n;
    b += "<tr><td><a href=\"/data/" + std::string(e.name) + "\">" +
         Escape(EntityLabel(lang, e.name)) + "</a></td><td class=\"num\">" +
         std::to_string(n) + "</td></tr>";
  }
  b += "</tbody></table>";
  if (IsApi(ctx)) return Reply::Json(JsonText({{"entities", counts}}));
  return Reply::Html(Layout(ctx, T(lang, "ข้อมูล", "Data"), b));
}

Reply EntityRows(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity_name = ctx.req.matches.at(0);
  const Entity* e = FindEntity(entity_name);
  if (e == nullptr) return NotFound(ctx, (IsApi(ctx) ? std::string("no entity '")
                                                        : T(ctx.lang, "ไม่มีข้อมูลประเภท '", "no entity '")) +
                                               entity_name + "'");
  const Filters f = ReadFilters(ctx.req);
  Db& db = ctx.store.db();

  // The query: live rows in the user's districts, then each filter the
  // entity has a column for (checked here, applied by the store).
  storage::RowPageQuery q;
  q.scope = ctx.user().scope;
  q.deleted = f.deleted;
  if (Status s = ctx.user().scope.CheckFilter(f.district); !s.ok()) {
    return Refusal(ctx, s, T(ctx.lang, "ทำรายการนี้ไม่ได้", "Not possible"));
  }
  // A page that is not one is said so, not read as the first.
  if (!f.page_text.empty() && !ParseInt64(f.page_text, 0, 999999)) {
    return BadInput(ctx, "page must be a whole number from 0 to 999999");
  }
  q.district = f.district;
  q.category = f.category;
  q.stage = f.stage;
  q.workshop = f.workshop;
  if (!f.fiscal_year.empty()) {
    // The one rule of a fiscal year (shared/entities.h), a Western year
    // named as its Buddhist Era year.
    Result<int64_t> year = ParseFiscalYear(f.fiscal_year);
    if (!year.ok()) {
      const int64_t* be = year.status().IntegerField("buddhist_era");
      return BadInput(
          ctx, lang == Lang::kTh
                   ? "ปีงบประมาณเป็นปี พ.ศ. ระหว่าง 2500 ถึง 2700 เช่น 2569" +
                         (be != nullptr ? " (หมายถึงปีงบประมาณ " +
                                              std::to_string(*be) + " หรือไม่)"
                                        : std::string())
                   : year.status().message());
    }
    q.fiscal_year = std::to_string(*year);
  }
  const std::string_view name_col = NameColumn(*e);
  // A search ignores ASCII case on both backends (and Thai has no case).
  q.name_column = std::string(name_col);
  q.name_contains = f.q;
  if (e->name == "visit" && name_col == "purpose") q.name_codes = PurposeCodesNamed(f.q);
  q.limit = kPageRows + 1;
  q.offset = f.page * kPageRows;
  Result<std::vector<std::vector<Value>>> read =
      EntityReads(db).RowPage(*e, q);
  if (!read.ok()) return Reply::Html("could not read rows", 500);
  std::vector<std::vector<Value>> rows = std::move(*read);
  const bool more = rows.size() > static_cast<size_t>(kPageRows);
  if (more) rows.pop_back();

  // Names for the references, one query per referenced entity.
  RowNames names(db);
  for (const auto& row : rows) {
    for (size_t i = 0; i < e->columns.size(); ++i) {
      const Column& c = e->columns[i];
      if (c.type == ColumnType::kRef && !row[i + 1].is_null()) {
        names.Want(c.ref_entity, row[i + 1].text());
      }
    }
  }
  if (!names.Load(1).ok()) return Reply::Html("could not read names", 500);

  const auto shown = [&](size_t i, const Value& v) -> std::string {
    const Column& c = e->columns[i];
    if (c.type == ColumnType::kRef) {
      return RefName(names, c, v.is_null() ? "" : v.text());
    }
    return ValueLabel(lang, entity_name, c.name, v);
  };

  if (IsApi(ctx)) {
    Json arr = Json::array();
    for (const auto& row : rows) {
      Json j = {{"id", row[0].ToDisplay()}};
      for (size_t i = 0; i < e->columns.size(); ++i) {
        const std::string col(e->columns[i].name);
        j[col] = ValueJson(row[i + 1]);
        if (e->columns[i].type == ColumnType::kRef ||
            e->columns[i].type == ColumnType::kEnum ||
            e->columns[i].type == ColumnType::kDistrict) {
          j[col + "_label"] = shown(i, row[i + 1]);
        }
      }
      j["deleted"] = row.back().integer() != 0;
      arr.push_back(std::move(j));
    }
    return Reply::Json(JsonText(
        {{"entity", entity_name}, {"page", f.page}, {"more", more}, {"rows", arr}}));
  }

  // The filter form: what this entity can be filtered by.
  std::string b = "<form class=\"filters\" method=\"get\">";
  if (!name_col.empty()) {
    b += "<label>" + T(lang, "ค้นหา", "Search") + "<input name=\"q\" maxlength=\"200\" value=\"" +
         Escape(f.q) + "\"></label>";
  }
  b += "<label>" + Escape(ColumnLabel(lang, entity_name, "district_code")) +
       "<select name=\"district\"><option value=\"\">" +
       T(lang, "ทุกอำเภอ", "All districts") + "</option>";
  for (const District& d : Districts()) {
    if (!ctx.user().scope.all && !ctx.user().scope.Contains(d.code)) continue;
    b += "<option value=\"" + std::string(d.code) + "\"" +
         (f.district == d.code ? " selected" : "") + ">" +
         Escape(DistrictLabel(lang, d.code)) + "</option>";
  }
  b += "</select></label>";
  if (entity_name == "workshop" || entity_name == "visit" ||
      e->FindColumn("workshop_id") != nullptr) {
    b += "<label>" + Escape(ColumnLabel(lang, "workshop", "fiscal_year")) +
         "<input name=\"fiscal_year\" inputmode=\"numeric\" size=\"5\" value=\"" +
         Escape(f.fiscal_year) + "\"></label>";
  }
  const auto enum_filter = [&](const char* column, NamedList list,
                               const std::string& current) {
    if (e->FindColumn(column) == nullptr) return;
    b += "<label>" + Escape(ColumnLabel(lang, entity_name, column)) +
         "<select name=\"" + column + "\"><option value=\"\">" +
         T(lang, "ทั้งหมด", "All") + "</option>";
    for (const Named& n : list) {
      b += "<option value=\"" + std::string(n.value) + "\"" +
           (current == n.value ? " selected" : "") + ">" +
           Escape(std::string(n.name(lang))) + "</option>";
    }
    b += "</select></label>";
  };
  enum_filter("category", Categories(), f.category);
  enum_filter("stage", Stages(), f.stage);
  if (!f.workshop.empty()) {
    b += "<input type=\"hidden\" name=\"workshop\" value=\"" +
         Escape(f.workshop) + "\">";
  }
  b += "<label><span><input type=\"checkbox\" name=\"deleted\" value=\"1\"" +
       std::string(f.deleted ? " checked" : "") + "> " +
       T(lang, "แสดงรายการที่ลบแล้ว", "Show deleted rows") + "</span></label>";
  b += "<button class=\"primary\" type=\"submit\">" + T(lang, "กรอง", "Filter") +
       "</button></form>";

  b += "<div class=\"scroll\"><table><thead><tr>";
  for (const Column& c : e->columns) {
    b += "<th>" + Escape(ColumnLabel(lang, entity_name, c.name)) + "</th>";
  }
  b += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    const std::string id = row[0].ToDisplay();
    const bool deleted = row.back().integer() != 0;
    b += deleted ? "<tr class=\"muted\">" : "<tr>";
    for (size_t i = 0; i < e->columns.size(); ++i) {
      std::string cell = Escape(shown(i, row[i + 1]));
      if (i == 0 || e->columns[i].name == name_col) {
        if (cell.empty()) cell = Escape(id.substr(0, 8));
        cell = "<a href=\"/data/" + entity_name + "/" + id + "\">" + cell +
               "</a>";
        if (deleted && i == 0) {
          cell += " <span class=\"badge\">" + T(lang, "ลบแล้ว", "deleted") +
                  "</span>";
        }
      }
      b += "<td>" + cell + "</td>";
    }
    b += "</tr>";
  }
  if (rows.empty()) {
    b += "<tr><td colspan=\"" + std::to_string(e->columns.size()) +
         "\" class=\"muted\">" + T(lang, "ไม่มีรายการ", "No rows") +
         "</td></tr>";
  }
  b += "</tbody></table></div>";
  // Pages keep the filters.
  const auto page_link = [&](int64_t page, const std::string& text) {
    std::string url = "/data/" + entity_name + "?";
    for (const auto& [k, v] : ctx.req.query) {
      if (k != "page") url += UrlEncode(k) + "=" + UrlEncode(v) + "&";
    }
    return "<a href=\"" + Escape(url + "page=" + std::to_string(page)) +
           "\">" + text + "</a> ";
  };
  b += "<p class=\"noprint\">";
  if (f.page > 0) b += page_link(f.page - 1, T(lang, "« ก่อนหน้า", "« Previous"));
  if (more) b += page_link(f.page + 1, T(lang, "ถัดไป »", "Next »"));
  b += "</p>";
  return Reply::Html(Layout(ctx, EntityLabel(lang, entity_name), b));
}

// The row, if held and in the user's districts.
Result<std::vector<Value>> ReadRow(Context& ctx, const Entity& e,
                                   const std::string& id) {
  KBO_ASSIGN_OR_RETURN(std::optional<std::vector<Value>> found,
                       EntityReads(ctx.store.db()).FindRow(e, id));
  if (!found.has_value()) {
    return Status::NotFound("no " + std::string(e.name) + " " + id);
  }
  std::vector<Value> row = std::move(*found);
  const Column* district = e.FindColumn("district_code");
  const size_t di = static_cast<size_t>(district - e.columns.data()) + 1;
  const std::string code = row[di].is_null() ? "" : row[di].text();
  if (!ctx.user().scope.all && !ctx.user().scope.Contains(code)) {
    // Outside the user's districts: as if it did not exist.
    return Status::NotFound("no " + std::string(e.name) + " " + id);
  }
  return row;
}

// "ผู้เข้าอบรม 1, การเข้าอบรม 4": rows by entity, in the page's language.
std::string RowsByEntity(Lang lang,
                         const std::vector<std::pair<std::string, int64_t>>& rows) {
  std::string out;
  for (const auto& [entity, n] : rows) {
    out += (out.empty() ? "" : ", ") + EntityLabel(lang, entity) + " " +
           std::to_string(n);
  }
  return out;
}

// The office's delete on the row page: a reason, and while rows are
// recorded under the row, what they are and a box to delete them with it.
std::string DeleteForm(const Context& ctx, const std::string& entity,
                       const std::string& id,
                       const std::vector<std::pair<std::string, int64_t>>& under) {
  const Lang lang = ctx.lang;
  // Open again after a refusal, where the page says why.
  const bool open = !ctx.req.Query("error").empty();
  std::string b = std::string("<details id=\"delete\"") + (open ? " open" : "") +
                  "><summary>" +
                  T(lang, "ลบรายการนี้", "Delete this row") +
                  "</summary><form method=\"post\" action=\"/data/" + entity +
                  "/" + id + "/delete\">" + CsrfField(ctx);
  if (!under.empty()) {
    b += "<p>" + T(lang, "มีรายการบันทึกอยู่ใต้รายการนี้: ",
                   "Rows are recorded under this row: ") +
         Escape(RowsByEntity(lang, under)) +
         T(lang, " (และรายการที่อยู่ใต้รายการเหล่านั้น). ",
           " (and what is recorded under those). ") +
         T(lang, "ลบรายการนี้อย่างเดียวไม่ได้ เพราะรายงานจะไม่นับรายการเหล่านั้น "
                 "ต้องเลือก “ลบรายการเหล่านี้ด้วย” จึงจะลบได้",
           "Deleting it alone would take them out of the reports, so it is "
           "refused unless they are deleted with it.") +
         "</p><p><label><input type=\"checkbox\" name=\"cascade\" "
         "value=\"1\"> " +
         T(lang, "ลบรายการเหล่านี้ด้วย", "Delete them with it") +
         "</label></p>";
  }
  b += "<p><label>" +
       T(lang, "เหตุผลที่ลบ (บันทึกไว้ในประวัติ)", "Why (kept in the audit log)") +
       " <input name=\"reason\" required></label></p><button class=\"primary\" "
       "type=\"submit\">" +
       T(lang, "ลบ", "Delete") + "</button> <span class=\"muted\">" +
       T(lang,
         "ค่าทุกค่ายังเก็บไว้ในประวัติของรายการ อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
         "Every value is kept in the row's history; devices receive the "
         "delete when they next sync.") +
       "</span></form></details>";
  return b;
}

Reply RowDetail(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity_name = ctx.req.matches.at(0);
  const std::string id = ctx.req.matches.at(1);
  const Entity* e = FindEntity(entity_name);
  if (e == nullptr) return NotFound(ctx, (IsApi(ctx) ? std::string("no entity '")
                                                        : T(ctx.lang, "ไม่มีข้อมูลประเภท '", "no entity '")) +
                                               entity_name + "'");
  Result<std::vector<Value>> row = ReadRow(ctx, *e, id);
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) {
      return NotFound(ctx, row.status().message());
    }
    return Reply::Html("could not read the row", 500);
  }
  Db& db = ctx.store.db();
  RowNames names(db);
  for (size_t i = 0; i < e->columns.size(); ++i) {
    if (e->columns[i].type == ColumnType::kRef && !(*row)[i + 1].is_null()) {
      names.Want(e->columns[i].ref_entity, (*row)[i + 1].text());
    }
  }
  if (!names.Load(1).ok()) return Reply::Html("could not read names", 500);

  // Its photos.
  using Photo = storage::RowPhoto;
  Result<std::vector<Photo>> read_photos =
      EntityReads(db).PhotosOf(entity_name, id);
  if (!read_photos.ok()) return Reply::Html("could not read photos", 500);
  const std::vector<Photo>& photos = *read_photos;

  if (IsApi(ctx)) {
    Json j = {{"entity", entity_name}, {"id", id}};
    for (size_t i = 0; i < e->columns.size(); ++i) {
      const Value& v = (*row)[i + 1];
      j[std::string(e->columns[i].name)] = ValueJson(v);
    }
    j["deleted"] = row->back().integer() != 0;
    Json ps = Json::array();
    for (const Photo& p : photos) {
      ps.push_back({{"id", p.id},
                    {"sha256", p.sha256},
                    {"caption", p.caption},
                    {"received", p.complete}});
    }
    j["photos"] = ps;
    return Reply::Json(JsonText(j));
  }

  const bool can_edit =
      ctx.user().role >= WebRole::kOffice && row->back().integer() == 0;
  std::string b;
  const std::string ok = ctx.req.Query("done");
  if (!ok.empty()) b += "<p class=\"flash\" role=\"status\">" + Escape(ok) + "</p>";
  const std::string err = ctx.req.Query("error");
  if (!err.empty()) {
    b += "<p class=\"flash error\" role=\"alert\">" + Escape(err) + "</p>";
  }
  if (row->back().integer() != 0) {
    b += "<p class=\"flash error\">" +
         T(lang, "รายการนี้ถูกลบแล้ว", "This row has been deleted.") + "</p>";
    if (ctx.user().role >= WebRole::kOffice) {
      // The office's restore: of a row rows are recorded under, or of the
      // office's own delete (with what it took); refused, with why, for a
      // device's delete.
      b += "<details id=\"restore\"><summary>" +
           T(lang, "กู้คืนรายการนี้", "Restore this row") +
           "</summary><form method=\"post\" action=\"/data/" + entity_name +
           "/" + id + "/restore\">" + CsrfField(ctx) + "<p><label>" +
           T(lang, "เหตุผลที่กู้คืน (บันทึกไว้ในประวัติ)",
             "Why (kept in the audit log)") +
           " <input name=\"reason\" required></label></p><button "
           "class=\"primary\" type=\"submit\">" +
           T(lang, "กู้คืน", "Restore") + "</button></form></details>";
    }
  }
  if (can_edit) {
    // multipart: a row with long Thai notes posts its fields twice (shown
    // and typed), over the 8 KiB the HTTP library takes URL-encoded.
    b += "<form method=\"post\" enctype=\"multipart/form-data\" action=\"/data/" +
         entity_name + "/" + id + "\">" + CsrfField(ctx);
  }
  b += "<table><tbody>";
  for (size_t i = 0; i < e->columns.size(); ++i) {
    const Column& c = e->columns[i];
    const Value& v = (*row)[i + 1];
    std::string shown;
    if (c.type == ColumnType::kRef && !v.is_null()) {
      shown = "<a href=\"/data/" + std::string(c.ref_entity) + "/" +
              Escape(v.text()) + "\">" +
              Escape(RefName(names, c, v.text())) + "</a>";
    } else {
      shown = Escape(ValueLabel(lang, entity_name, c.name, v));
    }
    // Editable: plain values. References, districts (a row's district
    // follows its parent) and a photo's file facts are not the office's to
    // retype.
    const bool editable =
        can_edit && c.type != ColumnType::kRef &&
        c.type != ColumnType::kDistrict && c.type != ColumnType::kSha256 &&
        !IsFileFact(*e, c.name);
    b += "<tr><th>" + Escape(ColumnLabel(lang, entity_name, c.name)) +
         "</th><td>" + shown;
    if (editable) {
      const std::string name = "set_" + std::string(c.name);
      // The value this page showed: EditRow writes only what the person
      // changed from it, and refuses a change of a value someone else
      // changed since (a device's sync, a colleague's edit).
      // A time is shown and typed in Bangkok time, as the page shows it.
      const bool time = c.type == ColumnType::kDateTime;
      const std::string in_box = time ? BangkokBoxValue(v.ToDisplay()) : v.ToDisplay();
      b += "<input type=\"hidden\" data-shown name=\"was_" + std::string(c.name) +
           "\" value=\"" + Escape(in_box) + "\">";
      if (c.type == ColumnType::kEnum) {
        b += "<br><select name=\"" + name + "\" aria-label=\"" +
             Escape(ColumnLabel(lang, entity_name, c.name)) + "\">";
        if (!c.required) {
          // None chosen is a value too: saving another field keeps it.
          b += std::string("<option value=\"\"") + (v.is_null() ? " selected" : "") +
               ">—</option>";
        }
        for (std::string_view opt : c.enum_values) {
          const bool sel = !v.is_null() && v.text() == opt;
          b += "<option value=\"" + std::string(opt) + "\"" +
               (sel ? " selected" : "") + ">" +
               Escape(ValueLabel(lang, entity_name, c.name,
                                 Value::Text(std::string(opt)))) +
               "</option>";
        }
        b += "</select>";
      } else if (c.type == ColumnType::kText && IsLongTextColumn(c.name)) {
        // Notes keep their line breaks (a one-line box drops them). A line
        // break right after <textarea> is not part of its text, so one
        // more goes in front of a value that starts with one.
        const std::string text = v.ToDisplay();
        b += "<br><textarea name=\"" + name + "\" rows=\"3\" aria-label=\"" +
             Escape(ColumnLabel(lang, entity_name, c.name)) + "\">" +
             (!text.empty() && text[0] == '\n' ? "\n" : "") + Escape(text) +
             "</textarea>";
      } else if (time) {
        b += "<br><input type=\"datetime-local\" step=\"1\" name=\"" + name +
             "\" aria-label=\"" + Escape(ColumnLabel(lang, entity_name, c.name)) +
             "\" value=\"" + Escape(in_box) + "\"> <span class=\"muted\">" +
             T(lang, "เวลาประเทศไทย", "Bangkok time") + "</span>";
      } else {
        // Numbers get a phone's number keys (Thai digits are taken too).
        const char* keys = c.type == ColumnType::kInteger ? " inputmode=\"numeric\""
                           : c.type == ColumnType::kReal  ? " inputmode=\"decimal\""
                                                          : "";
        b += "<br><input name=\"" + name + "\"" + keys + " aria-label=\"" +
             Escape(ColumnLabel(lang, entity_name, c.name)) + "\" value=\"" +
             Escape(v.ToDisplay()) + "\">";
      }
    }
    b += "</td></tr>";
  }
  b += "</tbody></table>";
  if (can_edit) {
    b += "<p><label>" +
         T(lang, "เหตุผลที่แก้ไข (บันทึกไว้ในประวัติ)",
           "Why (kept in the audit log)") +
         "<input name=\"reason\" required></label></p><button class=\"primary\" "
         "type=\"submit\">" +
         T(lang, "บันทึกการแก้ไข", "Save changes") +
         "</button> <span class=\"muted\">" +
         T(lang, "การแก้ไขจะส่งไปยังอุปกรณ์ทุกเครื่องในอำเภอนี้",
           "The change goes to every device of this district.") +
         "</span></form>";
  }
  b += "<p><a href=\"/rows/" + entity_name + "/" + id + "/history\">" +
       T(lang, "ประวัติการแก้ไข", "History") + "</a></p>";
  if (can_edit) {
    Result<std::vector<std::pair<std::string, int64_t>>> under =
        LiveRowsUnder(ctx.store, entity_name, id);
    if (!under.ok()) return Reply::Html("could not read the rows under it", 500);
    b += DeleteForm(ctx, entity_name, id, *under);
  }
  if (!photos.empty()) {
    b += "<h2>" + T(lang, "ภาพถ่าย", "Photos") + "</h2><div class=\"cards\">";
    for (const Photo& p : photos) {
      b += "<figure class=\"card\">";
      if (p.complete) {
        b += "<a href=\"/blob/" + p.sha256 + "\"><img src=\"/thumb/" +
             p.sha256 + "\" alt=\"" + Escape(p.caption) +
             "\" loading=\"lazy\" style=\"width:100%\"></a>";
      } else {
        b += "<p class=\"muted\">" +
             T(lang, "ยังไม่ได้รับไฟล์ภาพ", "Not yet uploaded") + "</p>";
      }
      b += "<figcaption>" + Escape(p.caption) + "<br><span class=\"muted\">" +
           Escape(FormatIsoBangkok(lang, p.taken_at)) +
           "</span></figcaption></figure>";
    }
    b += "</div>";
  }
  std::string title = EntityLabel(lang, entity_name);
  const std::string_view name_col = NameColumn(*e);
  if (!name_col.empty()) {
    const Column* nc = e->FindColumn(name_col);
    const Value& v = (*row)[static_cast<size_t>(nc - e->columns.data()) + 1];
    if (!v.is_null()) title += ": " + v.ToDisplay();
  }
  return Reply::Html(Layout(ctx, title, b));
}

Reply EditRow(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity_name = ctx.req.matches.at(0);
  const std::string id = ctx.req.matches.at(1);
  const Entity* e = FindEntity(entity_name);
  if (e == nullptr) return NotFound(ctx, (IsApi(ctx) ? std::string("no entity '")
                                                        : T(ctx.lang, "ไม่มีข้อมูลประเภท '", "no entity '")) +
                                               entity_name + "'");
  // Read and written in one transaction: what "changed since the page
  // showed it" is compared with is what the write replaces.
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Reply::Html("could not start a write", 500);
  Result<std::vector<Value>> row = ReadRow(ctx, *e, id);
  if (!row.ok()) {
    if (row.status().code() == Code::kNotFound) {
      return NotFound(ctx, row.status().message());
    }
    return Reply::Html("could not read the row", 500);
  }
  const std::string back = "/data/" + entity_name + "/" + id;
  const auto fail = [&](const std::string& message) {
    return Reply::Redirect(back + "?error=" + UrlEncode(message));
  };
  const std::string reason = ctx.req.Form("reason");
  if (reason.empty()) {
    return fail(T(lang, "โปรดระบุเหตุผลที่แก้ไข", "Say why you change it."));
  }
  // Only the cells the person changed: from the value the page showed
  // (was_COLUMN), else (a form without it) from the value now. A cell
  // changed from what the page showed while someone else changed it since
  // refuses the whole edit: saving would overwrite their value unseen.
  std::vector<std::pair<std::string, Value>> cells;
  std::string detail;
  std::string changed_since;
  for (size_t i = 0; i < e->columns.size(); ++i) {
    const Column& c = e->columns[i];
    auto it = ctx.req.form.find("set_" + std::string(c.name));
    if (it == ctx.req.form.end()) continue;
    if (c.type == ColumnType::kRef || c.type == ColumnType::kDistrict ||
        c.type == ColumnType::kSha256 || IsFileFact(*e, c.name)) {
      return fail(T(lang, "แก้ไข " + ColumnLabel(lang, entity_name, c.name) +
                              " ที่นี่ไม่ได้",
                    ColumnLabel(lang, entity_name, c.name) +
                        " cannot be edited here"));
    }
    const Value& now = (*row)[i + 1];
    auto was = ctx.req.form.find("was_" + std::string(c.name));
    // Browsers send a form's line breaks as CRLF; a time comes as Bangkok's
    // wall clock (the box shows it so) and is compared and kept as UTC.
    const bool time = c.type == ColumnType::kDateTime;
    const auto as_stored = [time](const std::string& form_text) {
      return time ? UtcFromBangkokBox(form_text) : CrlfToLf(form_text);
    };
    const std::string sent = as_stored(it->second);
    const std::string stored = CrlfToLf(now.ToDisplay());
    const std::string shown = was != ctx.req.form.end() ? as_stored(was->second) : stored;
    if (sent == shown || sent == stored) continue;
    if (shown != stored) {
      std::string value = ValueLabel(lang, entity_name, c.name, now);
      if (value.size() > 80) {  // the message travels in the redirect's address
        value = std::string(Utf8Prefix(value, 80)) + "…";
      }
      changed_since += (changed_since.empty() ? "" : "; ") +
                       ColumnLabel(lang, entity_name, c.name) + " = '" + value + "'";
      continue;
    }
    Result<Value> v = ParseCellText(*e, c, sent);
    if (!v.ok()) return fail(ProblemText(lang, entity_name, v.status()));
    if (Status s = ValidateEdit(*e, c, *v); !s.ok()) {
      return fail(ProblemText(lang, entity_name, s));
    }
    cells.emplace_back(std::string(c.name), *v);
    detail += std::string(c.name) + ": '" + now.ToDisplay() + "' -> '" +
              v->ToDisplay() + "'; ";
  }
  if (!changed_since.empty()) {
    return fail(T(lang,
                  "ไม่ได้บันทึก: มีผู้แก้ไขข้อมูลนี้หลังจากคุณเปิดหน้านี้ (ค่าปัจจุบัน: " +
                      changed_since + ") โปรดตรวจค่าที่แสดงแล้วแก้ไขอีกครั้ง",
                  "Nothing saved: someone changed this row after you opened "
                  "it (now: " +
                      changed_since +
                      "). Check the values shown and make your change again."));
  }
  if (cells.empty()) {
    return fail(T(lang, "ไม่มีอะไรเปลี่ยน", "Nothing changed."));
  }
  // A workshop made shorter than the days its marks are on would drop them
  // out of its roll call and report: refused as a device refuses it.
  if (entity_name == "workshop") {
    for (const auto& [name, value] : cells) {
      if (name != "days") continue;
      const Column* days = e->FindColumn("days");
      const Value& held = (*row)[static_cast<size_t>(days - e->columns.data()) + 1];
      if (Status s = CheckWorkshopCut(ctx.store.db(), id, held, value); !s.ok()) {
        if (s.code() != Code::kInvalidArgument) {
          return Reply::Html("could not read the roll call", 500);
        }
        return fail(ProblemText(lang, entity_name, s));
      }
    }
  }
  Result<Uuid> row_id = Uuid::Parse(id);
  if (!row_id.ok()) return NotFound(ctx, "no row " + id);
  Result<ServerWrite> w = WriteAsServer(ctx.store, entity_name, *row_id, cells);
  if (!w.ok()) {
    if (w.status().code() == Code::kInvalidArgument) {
      return fail(ProblemText(lang, entity_name, w.status()));
    }
    return Reply::Html("could not write the change", 500);
  }
  if (!w->lost.empty()) {
    std::string cols;
    for (const std::string& c : w->lost) cols += (cols.empty() ? "" : ", ") + c;
    return fail(T(lang, "ค่าใหม่แทนค่าเดิมไม่ได้ (ขั้นการพัฒนาย้อนกลับไม่ได้): ",
                  "The new value cannot replace the current one (a stage "
                  "never moves back): ") +
                cols);
  }
  Status audit = ctx.Audit("edit", entity_name + ":" + id,
                           detail + "reason: " + reason);
  if (!audit.ok() || !tx.Commit().ok()) {
    return Reply::Html("could not write the change", 500);
  }
  ctx.store.NoteCommittedSequences();
  return Reply::Redirect(
      back + "?done=" +
      UrlEncode(T(lang, "บันทึกแล้ว อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
                  "Saved; devices receive it when they next sync.")));
}

// POST /data/ENTITY/ID/delete (form: reason, cascade=1, csrf) and
// /api/data/ENTITY/ID/delete (the same as form fields, or JSON {"reason":
// R, "cascade": true}): the office deletes the row (DeleteAsOffice). The
// API answers 200 {"entity", "id", "name", "deleted", "under": {entity:
// n}} or the error body (400 has_children with "children", 400
// already_deleted, 403, 404); the page goes back to the row with what was
// done or why not.
Reply DeleteRow(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity_name = ctx.req.matches.at(0);
  const std::string id = ctx.req.matches.at(1);
  const std::string back = "/data/" + entity_name + "/" + id;
  // A box ticked ("1", "on"), or JSON true; anything else is no cascade,
  // which is refused while rows are under the row.
  const std::string cascade = PostField(ctx, "cascade");
  const RowsUnder rows_under =
      cascade == "1" || cascade == "on" || cascade == "true" || cascade == "yes"
          ? RowsUnder::kCascade
          : RowsUnder::kRefuse;
  const std::string reason = PostField(ctx, "reason");
  if (!IsApi(ctx) && FoldSpaceAndCase(reason).empty()) {
    return Reply::Redirect(
        back + "?error=" +
        UrlEncode(T(lang, "โปรดระบุเหตุผลที่ลบ", "Say why you delete it.")) +
        "#delete");
  }
  const auto failed = [&] {
    return IsApi(ctx)
               ? Reply::Json(EncodeErrorBody(Status::Internal("could not delete")),
                             500)
               : Reply::Html("could not delete the row", 500);
  };
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return failed();
  Result<OfficeDeleted> d = DeleteAsOffice(
      ctx.store, ctx.user().scope, entity_name, id, reason, rows_under,
      ctx.user().actor(), ctx.req.remote_addr);
  if (!d.ok()) {
    const Status& s = d.status();
    const Code code = s.code();
    if (code != Code::kInvalidArgument && code != Code::kNotFound &&
        code != Code::kPermissionDenied) {
      return failed();
    }
    if (IsApi(ctx)) return Reply::Json(EncodeErrorBody(s), HttpStatusOfError(s));
    if (code == Code::kNotFound) return NotFound(ctx, s.message());
    std::string message = s.message();
    if (s.reason() == kHasChildrenReason) {
      message = T(lang, "ยังไม่ได้ลบ: มีรายการบันทึกอยู่ใต้รายการนี้ (",
                  "Nothing was deleted: rows are recorded under this row (") +
                RowsByEntity(lang, ChildrenOf(s)) +
                T(lang, ") ลบรายการเหล่านั้นก่อน หรือเลือก \"ลบรายการเหล่านี้ด้วย\"",
                  "). Delete those first, or tick \"Delete them with it\".");
    } else if (s.reason() == "already_deleted") {
      message = T(lang, "รายการนี้ถูกลบไปแล้ว", "This row is already deleted.");
    } else if (code == Code::kPermissionDenied) {
      message = T(lang,
                  "ยังไม่ได้ลบ: มีรายการใต้รายการนี้ที่บันทึกในอำเภอที่คุณไม่ได้ดูแล "
                  "ให้ผู้ดูแลทุกอำเภอเป็นผู้ลบ",
                  "Nothing was deleted: rows under this row are recorded in a "
                  "district outside yours; a user of every district can "
                  "delete it.");
    }
    return Reply::Redirect(back + "?error=" + UrlEncode(message) + "#delete");
  }
  if (Status c = tx.Commit(); !c.ok()) return failed();
  ctx.store.NoteCommittedSequences();
  if (IsApi(ctx)) {
    Json under = Json::object();
    for (const auto& [entity, n] : d->under) under[entity] = n;
    return Reply::Json(JsonText({{"entity", d->entity},
                                 {"id", d->id},
                                 {"name", d->name},
                                 {"deleted", d->total()},
                                 {"under", under}}));
  }
  std::string done = T(lang, "ลบแล้ว", "Deleted");
  if (!d->under.empty()) {
    done += T(lang, " พร้อมรายการที่อยู่ใต้: ", ", with the rows under it: ") +
            RowsByEntity(lang, d->under);
  }
  done += T(lang, ". อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
            ". Devices receive it when they next sync.");
  return Reply::Redirect(back + "?done=" + UrlEncode(done));
}

// POST /data/ENTITY/ID/restore (form: reason, csrf): RestoreDeletedRow
// from the row page; back to it with what was done or why not.
Reply RestoreRow(Context& ctx) {
  const Lang lang = ctx.lang;
  const std::string entity_name = ctx.req.matches.at(0);
  const std::string id = ctx.req.matches.at(1);
  const std::string back = "/data/" + entity_name + "/" + id;
  const std::string reason = ctx.req.Form("reason");
  if (FoldSpaceAndCase(reason).empty()) {
    return Reply::Redirect(
        back + "?error=" +
        UrlEncode(T(lang, "โปรดระบุเหตุผลที่กู้คืน", "Say why you restore it.")));
  }
  Transaction tx(ctx.store.db());
  if (!tx.status().ok()) return Reply::Html("could not start a write", 500);
  Result<RestoredRow> r =
      RestoreDeletedRow(ctx.store, ctx.user().scope, entity_name, id, reason,
                        ctx.user().actor(), ctx.req.remote_addr);
  if (!r.ok()) {
    const Status& s = r.status();
    if (s.code() == Code::kNotFound) return NotFound(ctx, s.message());
    if (s.code() != Code::kInvalidArgument &&
        s.code() != Code::kPermissionDenied) {
      return Reply::Html("could not restore the row", 500);
    }
    std::string message = s.message();
    if (s.reason() == "not_deleted_by_office") {
      message = T(lang,
                  "กู้คืนไม่ได้: อุปกรณ์ภาคสนามเป็นผู้ลบรายการนี้ "
                  "และไม่มีรายการใดบันทึกอยู่ใต้รายการนี้",
                  "Not restored: a field device deleted this row, and no row "
                  "is recorded under it.");
    } else if (s.reason() == "rows_out_of_scope") {
      message = T(lang,
                  "ยังไม่ได้กู้คืน: การลบนี้ลบรายการในอำเภอที่คุณไม่ได้ดูแลไปด้วย "
                  "ต้องให้ผู้ใช้ที่ดูแลอำเภอเหล่านั้นเป็นผู้กู้คืน",
                  "Not restored: this delete also took rows in districts outside "
                  "yours; a user with those districts must restore it.");
    }
    return Reply::Redirect(back + "?error=" + UrlEncode(message));
  }
  if (Status s = tx.Commit(); !s.ok()) {
    return Reply::Html("could not restore the row", 500);
  }
  ctx.store.NoteCommittedSequences();
  if (!r->moved_into.empty()) {
    const std::string into = r->moved_into_name.empty() ? r->moved_into : r->moved_into_name;
    // Not what was asked: said as a refusal (red), with what was done
    // instead.
    return Reply::Redirect(
        back + "?error=" +
        UrlEncode(T(lang,
                    "ไม่ได้กู้คืน เพราะรวมเข้ากับ " + into +
                        " แล้ว ย้ายรายการที่บันทึกไว้ใต้รายการนี้หลังการรวม " +
                        std::to_string(r->moved) + " รายการไปที่ " + into + " แล้ว",
                    "Not restored: it was merged into " + into + "; the " +
                        std::to_string(r->moved) +
                        " rows recorded under it since were moved there.")));
  }
  std::string done = T(lang, "กู้คืนแล้ว", "Restored");
  if (r->restored_with > 0) {
    done += T(lang, " พร้อมรายการที่ลบไปด้วยกัน ", ", with the rows deleted with it: ") +
            std::to_string(r->restored_with);
  }
  done += T(lang, ". อุปกรณ์จะได้รับเมื่อซิงก์ครั้งถัดไป",
            ". Devices receive it when they next sync.");
  return Reply::Redirect(back + "?done=" + UrlEncode(done));
}

// GET /blob/SHA: a photo's bytes, if a photo row in the user's districts
// names it (as its upload copy, or as the original its device sent on
// request) and the server holds it whole.
Reply Blob(Context& ctx) {
  const std::string sha = ctx.req.matches.at(0);
  Result<std::optional<std::string>> found =
      EntityReads(ctx.store.db()).PhotoMime(sha, ctx.user().scope);
  if (found.ok() && !found->has_value()) {
    found = storage::Originals(ctx.store.db()).MimeInScope(sha, ctx.user().scope);
  }
  if (!found.ok()) return Reply::Html("could not read the photo", 500);
  if (!found->has_value()) return NotFound(ctx, "no such photo");
  std::string mime = **found;
  if (mime != "image/jpeg" && mime != "image/png" && mime != "image/webp") {
    mime = "application/octet-stream";
  }
  // Read after the store's lock is released (Reply::unlocked): tens of MB
  // from a slow disk hold up nobody's sync.
  Reply r;
  r.content_type = mime;
  r.unlocked = [path = ctx.store.paths().blobs + "/" + sha,
                missing = NotFound(ctx, "the photo has not been uploaded yet")](Reply& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      // (Its headers kept: the language cookie set before.)
      out.status = missing.status;
      out.content_type = missing.content_type;
      out.body = missing.body;
      return;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    out.body = bytes.str();
  };
  return r;
}

}  // namespace

void RegisterData(Router& router) {
  router.Page("GET", "/data", WebRole::kViewer, DataIndex);
  router.Api("GET", "/api/data", WebRole::kViewer, DataIndex);
  router.Page("GET", "/data/([a-z_]{1,32})", WebRole::kViewer, EntityRows);
  router.Api("GET", "/api/data/([a-z_]{1,32})", WebRole::kViewer, EntityRows);
  router.Page("GET", "/data/([a-z_]{1,32})/([0-9a-f-]{36})", WebRole::kViewer,
              RowDetail);
  router.Api("GET", "/api/data/([a-z_]{1,32})/([0-9a-f-]{36})",
             WebRole::kViewer, RowDetail);
  router.Page("POST", "/data/([a-z_]{1,32})/([0-9a-f-]{36})", WebRole::kOffice,
              EditRow);
  router.Page("POST", "/data/([a-z_]{1,32})/([0-9a-f-]{36})/delete",
              WebRole::kOffice, DeleteRow);
  router.Api("POST", "/api/data/([a-z_]{1,32})/([0-9a-f-]{36})/delete",
             WebRole::kOffice, DeleteRow);
  router.Page("POST", "/data/([a-z_]{1,32})/([0-9a-f-]{36})/restore",
              WebRole::kOffice, RestoreRow);
  router.Page("GET", "/blob/([0-9a-f]{64})", WebRole::kViewer, Blob);
}

}  // namespace kbo::server::console
