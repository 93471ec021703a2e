#include "server/export_tables.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/report_queries.h"
#include "server/storage/entity_reads.h"
#include "shared/civil_time.h"
#include "shared/entities.h"
#include "shared/name_match.h"

namespace kbo::server {

Result<EntityTable> ReadEntityTable(Db& db, std::string_view entity_name) {
  // "producers" as well as "producer" (kbo-server list, as kbo list).
  const Entity* entity = FindEntityByWord(entity_name);
  if (entity == nullptr) {
    std::string known;
    for (const Entity& e : Catalogue()) {
      known += known.empty() ? "" : ", ";
      known += e.name;
    }
    return Status::InvalidArgument(
        "unknown entity '" + std::string(entity_name) + "'; one of: " + known);
  }
  EntityTable table;
  table.entity = entity;
  table.header.emplace_back(kIdColumn);
  for (const Column& c : entity->columns) table.header.emplace_back(c.name);
  table.header.emplace_back(kDeletedColumn);
  KBO_ASSIGN_OR_RETURN(table.rows, storage::EntityReads(db).AllRows(*entity));
  return table;
}

namespace {

// One entity's rows with what the filter decided about each.
struct Loaded {
  EntityTable table;
  std::map<std::string_view, size_t> col;  // column name → index in a row
  std::unordered_map<std::string, size_t> by_id;
  std::vector<bool> included;
  // Not deleted, and no row it is recorded under deleted (RecordsUnder, a
  // photo's subject), up the chain: what the reports count (their queries
  // join the parents). Set by Load, whatever the filter.
  std::vector<bool> live;

  const Value& At(size_t row, std::string_view column) const {
    static const Value kNull;
    auto it = col.find(column);
    return it == col.end() ? kNull : table.rows[row][it->second];
  }
  std::string TextAt(size_t row, std::string_view column) const {
    const Value& v = At(row, column);
    return v.type() == Value::Type::kText ? v.text() : v.ToDisplay();
  }
  bool Deleted(size_t row) const {
    const Value& v = At(row, kDeletedColumn);
    return v.type() == Value::Type::kInteger && v.integer() != 0;
  }
  const size_t* Find(std::string_view id) const {
    auto it = by_id.find(std::string(id));
    return it == by_id.end() ? nullptr : &it->second;
  }
};

using Tables = std::map<std::string_view, Loaded, std::less<>>;

// The fiscal year (BE) of an ISO 8601 UTC time, in Bangkok time.
std::optional<int64_t> FiscalYearOfTime(std::string_view iso_utc) {
  std::optional<int64_t> ms = ParseIsoUtcMillis(iso_utc);
  if (!ms) return std::nullopt;
  int64_t seconds = *ms / 1000 + kBangkokOffsetSeconds;
  int64_t days = seconds / 86400;
  if (seconds % 86400 < 0) --days;
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  return FiscalYearOf(y, m);
}

// True if the row `id` of `parent` is in the export; a row the server does
// not hold counts only when no fiscal year is asked for (its year is
// unknown then); no parent (null) counts as in.
bool Follows(const Loaded& parent, const Value& id, const ExportFilter& f) {
  if (id.type() != Value::Type::kText || id.text().empty()) return true;
  const size_t* at = parent.Find(id.text());
  if (at == nullptr) return !f.fiscal_year.has_value();
  return parent.included[*at];
}

// Decides which rows of every entity are in the export (catalogue order:
// parents before the rows that follow them).
void Decide(Tables& tables, const ExportFilter& f, bool keep_deleted) {
  for (const Entity& e : Catalogue()) {
    Loaded& t = tables.at(e.name);
    t.included.assign(t.table.rows.size(), false);
    for (size_t r = 0; r < t.table.rows.size(); ++r) {
      if (!keep_deleted && !t.live[r]) continue;
      const std::string district = t.TextAt(r, kDistrictColumn);
      if (!f.scope.all && !f.scope.Contains(district)) continue;
      if (!f.district.empty() && district != f.district) continue;
      bool in = true;
      if (e.name == "workshop") {
        const Value& fy = t.At(r, "fiscal_year");
        in = !f.fiscal_year || (fy.type() == Value::Type::kInteger &&
                                fy.integer() == *f.fiscal_year);
      } else if (e.name == "enrolment") {
        in = Follows(tables.at("workshop"), t.At(r, "workshop_id"), f);
      } else if (e.name == "attendance") {
        in = Follows(tables.at("workshop"), t.At(r, "workshop_id"), f) &&
             Follows(tables.at("enrolment"), t.At(r, "enrolment_id"), f);
      } else if (e.name == "visit") {
        if (f.fiscal_year) {
          std::optional<int64_t> fy =
              FiscalYearOfTime(t.TextAt(r, "visited_at"));
          in = fy && *fy == *f.fiscal_year;
        }
      } else if (e.name == "progress") {
        const Value& workshop = t.At(r, "workshop_id");
        in = workshop.is_null()
                 ? Follows(tables.at("product"), t.At(r, "product_id"), f)
                 : Follows(tables.at("workshop"), workshop, f);
      } else if (e.name == "contest_score") {
        in = Follows(tables.at("product"), t.At(r, "product_id"), f);
      } else if (e.name == "photo") {
        auto subject = tables.find(t.TextAt(r, "subject_type"));
        in = subject == tables.end() ||
             Follows(subject->second, t.At(r, "subject_id"), f);
      }
      t.included[r] = in;
    }
  }
}

// Whether row `id` of `parent` is live; a row the server does not hold
// takes nothing with it (as a report's join of it finds nothing to hide).
bool ParentLive(const Loaded& parent, const Value& id) {
  if (id.type() != Value::Type::kText || id.text().empty()) return true;
  const size_t* at = parent.Find(id.text());
  return at == nullptr || parent.live[*at];
}

// Sets every table's `live` (catalogue order: parents first). A row under a
// deleted parent (recorded offline while another device deleted the
// parent, or under a producer merged away) is not deleted itself, and
// comes back if the parent does; until then it is left out, as the
// reports leave it out.
void MarkLive(Tables& tables) {
  for (const Entity& e : Catalogue()) {
    Loaded& t = tables.at(e.name);
    t.live.assign(t.table.rows.size(), false);
    for (size_t r = 0; r < t.table.rows.size(); ++r) {
      bool live = !t.Deleted(r);
      for (const Column& c : e.columns) {
        if (!live) break;
        if (c.type != ColumnType::kRef || !RecordsUnder(c, c.ref_entity)) continue;
        auto parent = tables.find(c.ref_entity);
        if (parent != tables.end() && &parent->second != &t) {
          live = ParentLive(parent->second, t.At(r, c.name));
        }
      }
      if (live && e.name == "photo") {
        auto subject = tables.find(t.TextAt(r, "subject_type"));
        if (subject != tables.end() && &subject->second != &t) {
          live = ParentLive(subject->second, t.At(r, "subject_id"));
        }
      }
      t.live[r] = live;
    }
  }
}

Result<Tables> Load(Db& db) {
  Tables tables;
  for (const Entity& e : Catalogue()) {
    Result<EntityTable> table = ReadEntityTable(db, e.name);
    if (!table.ok()) return table.status();
    Loaded& placed = tables[e.name];
    placed.table = std::move(table).value();
    // `col` keys view the table's own header strings, which stay put.
    for (size_t i = 0; i < placed.table.header.size(); ++i) {
      placed.col.emplace(placed.table.header[i], i);
    }
    for (size_t r = 0; r < placed.table.rows.size(); ++r) {
      const Value& id = placed.table.rows[r][0];
      if (id.type() == Value::Type::kText) placed.by_id.emplace(id.text(), r);
    }
  }
  MarkLive(tables);
  return tables;
}

// The column of an entity that names its rows for people.
std::string_view NameColumn(std::string_view entity) {
  if (entity == "producer" || entity == "product") return "name";
  if (entity == "workshop") return "title";
  if (entity == "enrolment") return "participant_name";
  return "";
}

// The name of row `id` of `entity` (deleted rows keep their names: a live
// row may still point at one); the id itself when unknown.
std::string NameOf(const Tables& tables, std::string_view entity,
                   const std::string& id, Lang lang) {
  auto t = tables.find(entity);
  if (t == tables.end()) return id;
  const size_t* at = t->second.Find(id);
  if (at == nullptr) return id;
  const std::string_view column = NameColumn(entity);
  if (!column.empty()) {
    const std::string name = t->second.TextAt(*at, column);
    return name.empty() ? id : name;
  }
  if (entity == "visit") {
    return NameOf(tables, "producer", t->second.TextAt(*at, "producer_id"),
                  lang) +
           " " + FormatIsoBangkok(lang, t->second.TextAt(*at, "visited_at"));
  }
  return id;
}

// Sort key of a people's sheet row: parents' names first, then the row's
// own name or time, so a person finds things where they expect them.
std::vector<std::string> SortKey(const Tables& tables, const Loaded& t,
                                 std::string_view entity, size_t r) {
  auto workshop_key = [&](const std::string& id) {
    auto w = tables.find(std::string_view("workshop"));
    const size_t* at = w->second.Find(id);
    if (at == nullptr) return std::string("~") + id;
    return w->second.TextAt(*at, "start_date") + "\x01" +
           w->second.TextAt(*at, "title") + "\x01" + id;
  };
  auto padded = [](const Value& v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%010lld",
                  static_cast<long long>(
                      v.type() == Value::Type::kInteger ? v.integer() : 0));
    return std::string(buf);
  };
  const Lang lang = Lang::kEn;  // names only; the language does not matter
  if (entity == "producer") {
    return {t.TextAt(r, kDistrictColumn), t.TextAt(r, "name")};
  }
  if (entity == "product") {
    return {NameOf(tables, "producer", t.TextAt(r, "producer_id"), lang),
            t.TextAt(r, "name")};
  }
  if (entity == "workshop") {
    return {padded(t.At(r, "fiscal_year")), t.TextAt(r, "start_date"),
            t.TextAt(r, "title")};
  }
  if (entity == "enrolment") {
    return {workshop_key(t.TextAt(r, "workshop_id")),
            t.TextAt(r, "participant_name")};
  }
  if (entity == "attendance") {
    return {workshop_key(t.TextAt(r, "workshop_id")),
            NameOf(tables, "enrolment", t.TextAt(r, "enrolment_id"), lang),
            t.TextAt(r, "enrolment_id"), padded(t.At(r, "day"))};
  }
  if (entity == "visit") return {t.TextAt(r, "visited_at")};
  if (entity == "progress") {
    return {NameOf(tables, "product", t.TextAt(r, "product_id"), lang)};
  }
  if (entity == "contest_score") {
    return {t.TextAt(r, "contest"),
            NameOf(tables, "product", t.TextAt(r, "product_id"), lang),
            t.TextAt(r, "judge")};
  }
  if (entity == "photo") {
    return {t.TextAt(r, "subject_type"), t.TextAt(r, "taken_at")};
  }
  return {};
}

ExportCell NumberCell(const Value& v) {
  if (v.type() == Value::Type::kInteger) {
    return ExportCell::Number(static_cast<double>(v.integer()), v.ToDisplay());
  }
  if (v.type() == Value::Type::kReal) {
    return ExportCell::Number(v.real(), v.ToDisplay());
  }
  return v.is_null() ? ExportCell::Empty() : ExportCell::Text(v.ToDisplay());
}

ExportCell RawCell(const Value& v, std::string_view column) {
  if (v.is_null()) return ExportCell::Empty();
  if (v.type() == Value::Type::kText) {
    return column == "phone" ? ExportCell::Phone(v.text())
                             : ExportCell::Text(v.text());
  }
  return NumberCell(v);
}

// The contest scores of `t` (included rows) that do not count, each with
// the id of the score that counts in its place ("" for a score in no
// ranking: no contest or no product): a judge's second score of
// one product under another spelling of the contest or the judge, as the
// contest report leaves it out (ScoreCountsBefore, report_queries.h).
std::map<size_t, std::string> ScoresNotCounted(const Loaded& t) {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, size_t> counted;
  // A score with no contest or no product is in no ranking (the report
  // leaves it out): "" below, an empty cell.
  const auto ranked = [&t](size_t r) {
    return !LooseNameKey(t.TextAt(r, "contest")).empty() &&
           !t.TextAt(r, "product_id").empty();
  };
  for (size_t r = 0; r < t.table.rows.size(); ++r) {
    if (!t.included[r] || !ranked(r)) continue;
    const Key key{LooseNameKey(t.TextAt(r, "contest")), t.TextAt(r, "product_id"),
                  LooseNameKey(t.TextAt(r, "judge"))};
    auto [it, first] = counted.emplace(key, r);
    if (first) continue;
    const size_t o = it->second;
    if (ScoreCountsBefore(t.TextAt(r, "contest"), t.TextAt(r, "judge"),
                          t.TextAt(r, kIdColumn), t.TextAt(o, "contest"),
                          t.TextAt(o, "judge"), t.TextAt(o, kIdColumn))) {
      it->second = r;
    }
  }
  std::map<size_t, std::string> out;
  for (size_t r = 0; r < t.table.rows.size(); ++r) {
    if (!t.included[r]) continue;
    if (!ranked(r)) {
      out[r] = std::string();
      continue;
    }
    const Key key{LooseNameKey(t.TextAt(r, "contest")), t.TextAt(r, "product_id"),
                  LooseNameKey(t.TextAt(r, "judge"))};
    const size_t c = counted.at(key);
    if (c != r) out[r] = t.TextAt(c, kIdColumn);
  }
  return out;
}

}  // namespace

Result<ExportFilter> ParseExportFilter(std::string_view fiscal_year,
                                       std::string_view district,
                                       std::string_view lang) {
  ExportFilter f;
  if (!fiscal_year.empty()) {
    Result<int64_t> year = ParseFiscalYear(fiscal_year);
    if (!year.ok()) return year.status();
    f.fiscal_year = *year;
  }
  if (!district.empty()) {
    if (FindDistrict(district) == nullptr) {
      return Status::InvalidArgument("unknown district code '" +
                                     std::string(district) +
                                     "' (a DOPA code, e.g. 5011 for Phrao)")
          .WithReason("bad_district")
          .With("code", std::string(district));
    }
    f.district = std::string(district);
  }
  if (!lang.empty()) {
    std::optional<Lang> l = ParseLang(lang);
    if (!l) {
      return Status::InvalidArgument("language must be th or en, got '" +
                                     std::string(lang) + "'");
    }
    f.lang = *l;
  }
  return f;
}

Result<std::vector<ExportSheet>> BuildEntitySheets(Db& db,
                                                   const ExportFilter& filter) {
  Result<Tables> loaded = Load(db);
  if (!loaded.ok()) return loaded.status();
  Tables& tables = *loaded;
  Decide(tables, filter, /*keep_deleted=*/false);
  const Lang lang = filter.lang;

  std::vector<ExportSheet> sheets;
  for (const Entity& e : Catalogue()) {
    const Loaded& t = tables.at(e.name);
    ExportSheet sheet;
    sheet.key = std::string(e.name);
    sheet.title = EntityLabel(lang, e.name);
    for (const Column& c : e.columns) {
      sheet.header.push_back(ColumnLabel(lang, e.name, c.name));
    }
    sheet.header.push_back(ColumnLabel(lang, e.name, kIdColumn));
    // A judge's second score of a product under another spelling: said on
    // the sheet, as the contest report says it, so a sum over the sheet is
    // not taken for the ranking.
    const bool scores = e.name == "contest_score";
    std::map<size_t, std::string> not_counted;
    if (scores) {
      sheet.header.push_back(ColumnLabel(lang, e.name, kCountedColumn));
      not_counted = ScoresNotCounted(t);
    }

    std::vector<std::pair<std::vector<std::string>, size_t>> order;
    for (size_t r = 0; r < t.table.rows.size(); ++r) {
      if (t.included[r]) order.emplace_back(SortKey(tables, t, e.name, r), r);
    }
    std::stable_sort(
        order.begin(), order.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });

    for (const auto& [key, r] : order) {
      std::vector<ExportCell> row;
      row.reserve(sheet.header.size());
      for (const Column& c : e.columns) {
        const Value& v = t.At(r, c.name);
        if (v.is_null() ||
            (v.type() == Value::Type::kText && v.text().empty())) {
          row.push_back(ExportCell::Empty());
        } else if (c.type == ColumnType::kRef && !c.ref_entity.empty()) {
          row.push_back(ExportCell::Text(
              NameOf(tables, c.ref_entity, v.ToDisplay(), lang)));
        } else if (e.name == "photo" && c.name == "subject_id") {
          row.push_back(ExportCell::Text(NameOf(
              tables, t.TextAt(r, "subject_type"), v.ToDisplay(), lang)));
        } else if (c.type == ColumnType::kInteger ||
                   c.type == ColumnType::kReal) {
          row.push_back(NumberCell(v));
        } else if (c.name == "phone") {
          row.push_back(ExportCell::Phone(v.ToDisplay()));
        } else {
          row.push_back(ExportCell::Text(ValueLabel(lang, e.name, c.name, v)));
        }
      }
      row.push_back(ExportCell::Text(t.TextAt(r, kIdColumn)));
      if (scores) {
        auto left = not_counted.find(r);
        if (left != not_counted.end() && left->second.empty()) {
          row.push_back(ExportCell::Empty());
          sheet.rows.push_back(std::move(row));
          continue;
        }
        row.push_back(ExportCell::Text(
            left == not_counted.end()
                ? std::string(lang == Lang::kTh ? "นับ" : "yes")
                : (lang == Lang::kTh
                       ? "ไม่นับ: กรรมการคนเดียวกันให้คะแนนผลิตภัณฑ์นี้แล้ว (ที่นับ: " +
                             left->second + ")"
                       : "no: the same judge's score of this product counts (" +
                             left->second + ")")));
      }
      sheet.rows.push_back(std::move(row));
    }
    sheets.push_back(std::move(sheet));
  }
  return sheets;
}

Result<std::vector<std::string>> ExportedWorkshopIds(
    Db& db, const ExportFilter& filter) {
  Result<Tables> loaded = Load(db);
  if (!loaded.ok()) return loaded.status();
  Tables& tables = *loaded;
  Decide(tables, filter, /*keep_deleted=*/false);
  const Loaded& t = tables.at("workshop");
  std::vector<std::pair<std::vector<std::string>, size_t>> order;
  for (size_t r = 0; r < t.table.rows.size(); ++r) {
    if (t.included[r]) order.emplace_back(SortKey(tables, t, "workshop", r), r);
  }
  std::stable_sort(
      order.begin(), order.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> ids;
  for (const auto& [key, r] : order) ids.push_back(t.TextAt(r, kIdColumn));
  return ids;
}

Result<std::vector<ExportSheet>> BuildPeopleSheets(Db& db,
                                                   const ExportFilter& filter) {
  Result<std::vector<ExportSheet>> sheets = BuildEntitySheets(db, filter);
  if (!sheets.ok()) return sheets.status();
  Result<std::vector<ExportSheet>> reports = BuildReportSheets(db, filter);
  if (!reports.ok()) return reports.status();
  for (ExportSheet& sheet : *reports) sheets->push_back(std::move(sheet));
  return sheets;
}

Result<std::vector<ExportSheet>> BuildRawEntitySheets(
    Db& db, const ExportFilter& filter) {
  Result<Tables> loaded = Load(db);
  if (!loaded.ok()) return loaded.status();
  Tables& tables = *loaded;
  Decide(tables, filter, /*keep_deleted=*/true);
  std::vector<ExportSheet> sheets;
  for (const Entity& e : Catalogue()) {
    const Loaded& t = tables.at(e.name);
    ExportSheet sheet;
    sheet.key = std::string(e.name);
    sheet.title = std::string(e.name);
    sheet.header = t.table.header;
    for (size_t r = 0; r < t.table.rows.size(); ++r) {
      if (!t.included[r]) continue;
      std::vector<ExportCell> row;
      row.reserve(sheet.header.size());
      for (size_t i = 0; i < sheet.header.size(); ++i) {
        row.push_back(RawCell(t.table.rows[r][i], sheet.header[i]));
      }
      sheet.rows.push_back(std::move(row));
    }
    sheets.push_back(std::move(sheet));
  }
  return sheets;
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : 4;
    if (i + len > text.size()) len = text.size() - i;
    uint32_t cp = b;
    if (len == 3) {
      cp = ((b & 0x0Fu) << 12) |
           ((static_cast<unsigned char>(text[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(text[i + 2]) & 0x3Fu);
    }
    // Thai marks above or below a consonant take no width of their own.
    const bool mark = cp == 0x0E31 || (cp >= 0x0E34 && cp <= 0x0E3A) ||
                      (cp >= 0x0E47 && cp <= 0x0E4E);
    if (!mark) ++width;
    i += len;
  }
  return width;
}

}  // namespace kbo::server
