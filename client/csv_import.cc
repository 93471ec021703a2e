#include "client/csv_import.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "client/blob_store.h"
#include "client/enrolment_rules.h"
#include "shared/csv.h"
#include "shared/encoding.h"
#include "shared/labels.h"
#include "shared/name_match.h"
#include "shared/sqlite/db.h"

namespace kbo::client {
namespace {

// The short names `kbo` flags use for catalogue columns (DESIGN §7), so a
// spreadsheet may be headed like the command line. An alias applies only to
// an entity that has the target column.
struct Alias {
  std::string_view name;
  std::string_view column;
};
constexpr Alias kAliases[] = {
    {"district", "district_code"},
    {"stars", "otop_stars"},
    {"start", "start_date"},
    {"target", "target_participants"},
    {"at", "visited_at"},
    {"accuracy", "accuracy_m"},
    {"producer", "producer_id"},
    {"workshop", "workshop_id"},
    {"enrolment", "enrolment_id"},
    {"product", "product_id"},
    {"participant", "participant_name"},
    // A visit's notes as exports headed them before "บันทึกการเยี่ยม" (the
    // same word as the Save button).
    {"บันทึก", "notes"},
};

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
         c == '\f';
}

// "  Cluster-Brand " -> "cluster_brand".
std::string NormalizeName(std::string_view name) {
  while (!name.empty() && IsAsciiSpace(name.front())) name.remove_prefix(1);
  while (!name.empty() && IsAsciiSpace(name.back())) name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ') c = '_';
  }
  return out;
}

bool IsAllBlank(const CsvRow& fields) {
  for (const std::string& f : fields) {
    for (char c : f) {
      if (!IsAsciiSpace(c)) return false;
    }
  }
  return true;
}

// Each column with its Thai label: "kind (ประเภท), name (ชื่อ), ...".
std::string KnownColumns(const Entity& entity) {
  std::string out;
  for (const Column& c : entity.columns) {
    if (!out.empty()) out += ", ";
    out.append(c.name);
    const std::string th = ColumnLabel(Lang::kTh, entity.name, c.name);
    if (th != c.name && th.rfind("col.", 0) != 0) out += " (" + th + ")";
  }
  return out;
}

// A person's words compared loosely: ASCII letters lowercased, runs of
// spaces (ASCII, and the no-break space spreadsheets write) as one space,
// none at either end. Thai has no case; its letters are kept as they are.
std::string LooseText(std::string_view text) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    bool is_space = IsAsciiSpace(c);
    size_t skip = 0;
    if (static_cast<unsigned char>(c) == 0xC2 && i + 1 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      is_space = true;  // U+00A0
      skip = 1;
    }
    if (is_space) {
      space = true;
      i += skip;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

// "ปีงบประมาณ (พ.ศ.)" -> "ปีงบประมาณ": a label's trailing note in
// parentheses, which a spreadsheet's header may leave out.
std::string WithoutNote(const std::string& loose) {
  if (loose.empty() || loose.back() != ')') return loose;
  const size_t open = loose.rfind(" (");
  if (open == std::string::npos || open == 0) return loose;
  return loose.substr(0, open);
}

// The column whose Thai or English label (shared/labels: the column's own
// "col.ENTITY.COLUMN", or the shared "col.COLUMN") `name` is, loosely
// (LooseText, with or without the label's parenthesised note). nullptr if
// none, or if the words name two columns of the entity.
const Column* ColumnByLabel(const Entity& entity, std::string_view name) {
  const std::string wanted = LooseText(name);
  if (wanted.empty()) return nullptr;
  const Column* found = nullptr;
  for (const Column& c : entity.columns) {
    bool match = false;
    for (Lang lang : {Lang::kTh, Lang::kEn}) {
      const std::string own = "col." + std::string(entity.name) + "." +
                              std::string(c.name);
      const std::string shared = "col." + std::string(c.name);
      for (const std::string& key : {own, shared}) {
        if (!HasLabel(lang, key)) continue;
        const std::string label = LooseText(Label(lang, key));
        if (label == wanted || WithoutNote(label) == wanted) match = true;
      }
    }
    if (!match) continue;
    if (found != nullptr && found != &c) return nullptr;  // ambiguous
    found = &c;
  }
  return found;
}

// "food (อาหาร), beverage (เครื่องดื่ม), ...".
std::string ValueChoices(const Column& column) {
  std::string out;
  const std::optional<NamedList> names = EnumNames(column);
  for (std::string_view v : column.enum_values) {
    if (!out.empty()) out += ", ";
    out.append(v);
    const Named* n = names ? names->Find(v) : nullptr;
    if (n != nullptr) out += " (" + std::string(n->name_th) + ")";
  }
  return out;
}

std::string LinePrefix(size_t line) {
  return "line " + std::to_string(line) + ": ";
}

// True if `name` heads the system column `column` ("id" or "deleted") as
// the exports write it: the column's own name (kbo-server export csv --raw)
// or its label in Thai or English (the people's export: "รหัส", "ID",
// "ลบแล้ว", "Deleted"), compared loosely.
bool NamesSystemColumn(const Entity& entity, std::string_view name,
                       std::string_view column) {
  if (NormalizeName(name) == column) return true;
  const std::string wanted = LooseText(name);
  for (Lang lang : {Lang::kTh, Lang::kEn}) {
    if (LooseText(ColumnLabel(lang, entity.name, column)) == wanted) return true;
  }
  return false;
}

// A `deleted` cell as the exports write it ("0"/"1" raw, "ไม่"/"ใช่" or
// "no"/"yes" for people) or a person would ("true", "false"); empty is
// not deleted. nullopt if it is none of these.
std::optional<bool> ParseDeleted(std::string_view text) {
  const std::string t = LooseText(text);
  if (t.empty() || t == "0" || t == "no" || t == "false" || t == "ไม่") {
    return false;
  }
  if (t == "1" || t == "yes" || t == "true" || t == "ใช่") return true;
  return std::nullopt;
}

// The column of an entity that names its rows for people, as the people's
// export writes a reference (server/export_tables.cc, NameOf): "" if none.
std::string_view NameColumnOf(std::string_view entity) {
  if (entity == "producer" || entity == "product") return "name";
  if (entity == "workshop") return "title";
  if (entity == "enrolment") return "participant_name";
  return "";
}

// A reference written as the referenced row's name (the people's export
// writes "กลุ่มทอผ้าบ้านป่าแป๋", not its id): the id of the one live row of
// `ref_entity` (the column's, or a photo's subject_type) with exactly that
// name on this device. Text that is an id already is returned as it is.
// kNotFound if no row has that name, kInvalidArgument if several do (some
// of their ids named); messages without the line (the caller adds it).
Result<std::string> ReferenceByName(Db& db, const Column& column,
                                    std::string_view ref_entity,
                                    const std::string& text) {
  if (text.empty() || Uuid::Parse(text).ok()) return text;
  // Only the entities NameColumnOf knows reach the statement below.
  const std::string_view by = NameColumnOf(ref_entity);
  const std::string what = std::string(ref_entity);
  if (by.empty()) return text;  // the catalogue refuses it, as before
  Statement st(db, "SELECT id FROM " + what + " WHERE deleted = 0 AND " +
                       std::string(by) + " = ?1 ORDER BY id LIMIT 4");
  st.Bind(1, std::string_view(text));
  std::vector<std::string> ids;
  while (st.Step()) ids.push_back(st.ColumnText(0));
  if (!st.status().ok()) return st.status();
  if (ids.empty()) {
    return Status::NotFound(
        std::string(column.name) + " '" + text + "' is neither an id nor the " +
        std::string(by) + " of " + WithArticle(what) +
        " on this device (sync first, or write its id)");
  }
  if (ids.size() > 1) {
    std::string some;
    for (size_t i = 0; i < ids.size() && i < 3; ++i) {
      some += (i ? ", " : "") + ids[i];
    }
    return Status::InvalidArgument(
        std::string(column.name) + " '" + text + "' is the " +
        std::string(by) + " of " + (ids.size() > 3 ? "more than 3" : std::to_string(ids.size())) +
        " " + what + "s on this device (" + some + "); write the id instead");
  }
  return ids.front();
}

// An attendance sheet names the participant: looked up among the live
// enrolments of the row's workshop (the same person enrolled in two
// workshops is two enrolments), exactly first, then as `enrolment add`
// compares names (PersonNameKey: a title and spacing aside). Text that is
// an id is returned as it is. Messages without the line.
Result<std::string> EnrolmentByName(Db& db, const Column& column,
                                    const std::string& workshop_id,
                                    const std::string& text) {
  if (text.empty() || Uuid::Parse(text).ok()) return text;
  Statement st(db,
               "SELECT id, participant_name FROM enrolment WHERE deleted = 0 AND "
               "workshop_id = ?1 ORDER BY id");
  st.Bind(1, std::string_view(workshop_id));
  std::vector<std::string> exact, loose;
  const std::string key = PersonNameKey(text);
  while (st.Step()) {
    const std::string name = st.ColumnText(1);
    if (name == text) exact.push_back(st.ColumnText(0));
    if (!key.empty() && PersonNameKey(name) == key) loose.push_back(st.ColumnText(0));
  }
  if (!st.status().ok()) return st.status();
  const std::vector<std::string>& ids = !exact.empty() ? exact : loose;
  if (ids.empty()) {
    return Status::NotFound(std::string(column.name) + " '" + text +
                            "' is neither an id nor the name of a participant enrolled in "
                            "that workshop on this device (check the name, enrol them, or "
                            "write the enrolment's id)");
  }
  if (ids.size() > 1) {
    std::string some;
    for (size_t i = 0; i < ids.size() && i < 3; ++i) some += (i ? ", " : "") + ids[i];
    return Status::InvalidArgument(std::string(column.name) + " '" + text + "' names " +
                                   std::to_string(ids.size()) +
                                   " enrolments of that workshop on this device (" + some +
                                   "); write the id instead");
  }
  return ids.front();
}

}  // namespace

SpreadsheetPhone PhoneFromSpreadsheetCell(std::string_view typed) {
  SpreadsheetPhone out;
  std::string text(typed);
  // ="0812345678": Excel's way to keep a number as text.
  if (text.size() > 3 && text.compare(0, 2, "=\"") == 0 && text.back() == '"') {
    text = text.substr(2, text.size() - 3);
  }
  text = PhoneFromSpreadsheet(text);
  const auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  // 8.12E+08: shortened to a number in scientific notation.
  const size_t e = text.find_first_of("eE");
  if (e != std::string::npos && e > 0 && e + 1 < text.size()) {
    std::string_view mantissa(text.data(), e), exponent(text.data() + e + 1, text.size() - e - 1);
    if (exponent[0] == '+') exponent.remove_prefix(1);
    const size_t dot = mantissa.find('.');
    const bool number = dot == std::string_view::npos
                            ? digits(mantissa)
                            : digits(mantissa.substr(0, dot)) && digits(mantissa.substr(dot + 1));
    if (number && digits(exponent)) {
      out.digits_lost = true;
      return out;
    }
  }
  // 812345678: a Thai number's leading 0, dropped by a spreadsheet that
  // read it as a number. Only the shapes a national number takes without
  // it: a mobile (0 and 9 digits, 06/08/09) or a landline (0 and 8 digits,
  // 02 to 07), so another country's number, recorded as it is, stays so.
  const bool mobile = text.size() == 9 && (text[0] == '6' || text[0] == '8' || text[0] == '9');
  const bool landline = text.size() == 8 && text[0] >= '2' && text[0] <= '7';
  if ((mobile || landline) && digits(text)) {
    text.insert(0, "0");
    out.zero_restored = true;
  }
  out.text = std::move(text);
  return out;
}

// "attendance grid" or "contest ranking" if `header` is one of those
// report sheets of an export (by a heading only they have, in Thai or
// English); nullptr otherwise.
const char* ReportSheetOf(const std::vector<std::string>& header) {
  for (const std::string& raw : header) {
    const std::string h = NormalizeName(raw);
    for (const char* only : {"จำนวนวันที่มา", "Days attended",
                             "วันที่มีข้อขัดแย้ง (ยังไม่ตัดสิน)",
                             "Disputed days (not decided)"}) {
      if (h == NormalizeName(only)) return "attendance grid";
    }
    for (const char* only : {"คะแนนรวมเฉลี่ย", "Mean total", "จำนวนกรรมการ", "Judges"}) {
      if (h == NormalizeName(only)) return "contest ranking";
    }
  }
  return nullptr;
}

const Column* ResolveColumnName(const Entity& entity, std::string_view name) {
  const std::string normal = NormalizeName(name);
  if (const Column* c = entity.FindColumn(normal)) return c;
  // An alias names a column only where the entity has it: "participant" is
  // an enrolment's participant_name, but an attendance export's English
  // header of its enrolment_id ("Participant"), found by its label.
  for (const Alias& a : kAliases) {
    if (a.name != normal) continue;
    if (const Column* c = entity.FindColumn(a.column)) return c;
  }
  return ColumnByLabel(entity, name);
}

namespace {

// "with status 'absent' there and 'present' here": the columns two rows of
// the same key say differently, in the entity's order (`entity` may be
// null: by name). A cell one of them leaves empty is named only when no
// column differs otherwise (an empty cell keeps what is held: the value
// the other gives is not what the two disagree on).
std::string FirstDifference(const Entity* entity, const RowValues& there,
                            const RowValues& here) {
  const auto shown = [](const RowValues& row, const std::string& column) {
    const auto it = row.find(column);
    return it == row.end() || it->second.is_null() ? std::string("(empty)")
                                                   : "'" + it->second.ToDisplay() + "'";
  };
  std::vector<std::string> columns;
  if (entity != nullptr) {
    for (const Column& c : entity->columns) columns.emplace_back(c.name);
  }
  std::set<std::string> rest;
  for (const auto& [name, value] : there) rest.insert(name);
  for (const auto& [name, value] : here) rest.insert(name);
  for (const std::string& c : columns) rest.erase(c);
  columns.insert(columns.end(), rest.begin(), rest.end());
  std::vector<std::string> both, one_empty;
  for (const std::string& column : columns) {
    const std::string a = shown(there, column);
    const std::string b = shown(here, column);
    if (a == b) continue;
    const std::string said = column + " " + a + " there and " + b + " here";
    (a == "(empty)" || b == "(empty)" ? one_empty : both).push_back(said);
  }
  const std::vector<std::string>& differ = both.empty() ? one_empty : both;
  if (differ.empty()) return "said differently";
  std::string out = "with " + differ[0];
  for (size_t i = 1; i < differ.size(); ++i) out += ", " + differ[i];
  return out;
}

// The first of `here`'s values that `held` has otherwise ("phone
// '0812345678' here, '0899999999' on this device"); "" when `held` has
// every one of them (what the file leaves empty is not compared, nor the
// name, which matched by its key).
std::string DifferenceFromHeld(const RowValues& held, const RowValues& here) {
  for (const auto& [column, value] : here) {
    if (column == "name") continue;
    const auto it = held.find(column);
    const bool same = it != held.end() && it->second == value;
    if (same) continue;
    const std::string there = it == held.end() || it->second.is_null()
                                  ? std::string("(empty)")
                                  : "'" + it->second.ToDisplay() + "'";
    return column + " '" + value.ToDisplay() + "' in the file, " + there +
           " on this device";
  }
  return "";
}

// A producer as a register names it: kind, district and name (spacing and
// ASCII case aside: LooseNameKey). "" without a name.
std::string RegisterKey(const RowValues& row) {
  const auto text = [&row](const char* column) {
    auto it = row.find(column);
    return it != row.end() && it->second.type() == Value::Type::kText
               ? it->second.text()
               : std::string();
  };
  const std::string name = LooseNameKey(text("name"));
  if (name.empty()) return "";
  return text("kind") + "|" + text("district_code") + "|" + name;
}

}  // namespace

Result<std::vector<Uuid>> ImportCsv(ClientStore& store,
                                    std::string_view entity_name,
                                    std::string_view csv_text,
                                    ImportSkipped* skipped) {
  if (skipped) *skipped = ImportSkipped{};
  const Entity* entity = FindEntity(entity_name);
  if (entity == nullptr) {
    return Status::InvalidArgument("unknown entity '" +
                                   std::string(entity_name) + "'");
  }
  Result<std::vector<CsvRecord>> parsed = ParseCsv(csv_text);
  if (!parsed.ok()) return parsed.status();
  std::vector<CsvRecord>& records = *parsed;
  if (records.empty()) {
    return Status::InvalidArgument(
        "the file is empty; the first line must name the columns, e.g. " +
        KnownColumns(*entity));
  }
  // Columns a spreadsheet left at the end with no name and nothing in them
  // (Excel's "kind,name,district," after a cleared column) are not columns.
  {
    size_t width = records.front().fields.size();
    const auto blank_at = [&records](size_t i) {
      for (const CsvRecord& r : records) {
        if (i < r.fields.size() && !LooseText(r.fields[i]).empty()) return false;
      }
      return true;
    };
    while (width > 1 && blank_at(width - 1)) --width;
    for (CsvRecord& r : records) {
      if (r.fields.size() > width) {
        bool blank_tail = true;
        for (size_t i = width; i < r.fields.size(); ++i) {
          blank_tail = blank_tail && LooseText(r.fields[i]).empty();
        }
        if (blank_tail) r.fields.resize(width);
      }
    }
  }

  // Header: field index -> column (nullptr for the id and deleted columns
  // an export writes, kept apart in id_field and deleted_field).
  const CsvRecord& header = records.front();
  std::vector<const Column*> columns;
  columns.reserve(header.fields.size());
  std::optional<size_t> id_field, deleted_field;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i];
    const std::string normal = NormalizeName(name);
    if (normal.empty()) {
      return Status::InvalidArgument(LinePrefix(header.line) + "column " +
                                     std::to_string(i + 1) +
                                     " of the header has no name (name it, "
                                     "or delete the column in the "
                                     "spreadsheet)");
    }
    std::optional<size_t>* system = nullptr;
    if (NamesSystemColumn(*entity, name, kIdColumn)) system = &id_field;
    if (NamesSystemColumn(*entity, name, kDeletedColumn)) system = &deleted_field;
    if (system != nullptr) {
      if (system->has_value()) {
        return Status::InvalidArgument(
            LinePrefix(header.line) + "columns '" + header.fields[**system] +
            "' and '" + name + "' both name " +
            (system == &id_field ? "the id" : "deleted"));
      }
      *system = i;
      columns.push_back(nullptr);
      continue;
    }
    // The office's contest sheet says which scores the ranking counts:
    // worked out from the scores, not recorded, so read past.
    if (entity->name == "contest_score" &&
        NamesSystemColumn(*entity, name, kCountedColumn)) {
      columns.push_back(nullptr);
      continue;
    }
    const Column* column = ResolveColumnName(*entity, name);
    if (column == nullptr) {
      // One of the office's report sheets (attendance_grid.csv,
      // contest_ranking.csv): said as such, with the file to import.
      if (const char* report = ReportSheetOf(header.fields)) {
        return Status::InvalidArgument(
            LinePrefix(header.line) + "this is the office's " + report +
            " (a report worked out from the rows, not rows to record): import "
            "the export's " +
            (std::string_view(report) == "attendance grid" ? "attendance.csv"
                                                           : "contest_score.csv") +
            " instead, or a sheet with one row per record (docs/cli.md, "
            "\"A trainer running a KBO workshop\")");
      }
      return Status::InvalidArgument(
          LinePrefix(header.line) + "unknown column '" + name + "' (column " +
          std::to_string(i + 1) + " of the header) for " +
          std::string(entity->name) + " (known: " + KnownColumns(*entity) +
          ", and id (" + ColumnLabel(Lang::kTh, entity->name, kIdColumn) +
          ") and deleted (" +
          ColumnLabel(Lang::kTh, entity->name, kDeletedColumn) +
          ") as an export writes them; a column may also be headed by its "
          "Thai or English label)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (columns[j] == column) {
        return Status::InvalidArgument(
            LinePrefix(header.line) + "columns '" + header.fields[j] +
            "' and '" + name + "' both name " + std::string(column->name));
      }
    }
    columns.push_back(column);
  }

  // Rows: parse every cell first, so a typing mistake on line 900 is reported
  // before anything is attempted; the store then checks references.
  std::vector<RowValues> rows;
  std::vector<size_t> lines;  // rows[i] came from line lines[i]
  std::vector<std::optional<Uuid>> ids;  // rows[i]'s id from the file, if any
  std::map<Uuid, size_t> id_lines;       // each id of the file: its line
  rows.reserve(records.size() - 1);
  lines.reserve(records.size() - 1);
  ids.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (IsAllBlank(record.fields)) continue;
    if (record.fields.size() != columns.size()) {
      return Status::InvalidArgument(LinePrefix(record.line) + "expected " +
                                     std::to_string(columns.size()) +
                                     " fields like the header, found " +
                                     std::to_string(record.fields.size()));
    }
    auto where = [&](size_t i) {
      return " (column " + std::to_string(i + 1) + ", '" + header.fields[i] +
             "')";
    };
    // The id an export wrote: the row is that row. One this device holds
    // is there already (skipped, never written over); a new one is kept.
    std::optional<Uuid> given;
    if (id_field.has_value()) {
      const std::string text = LooseText(record.fields[*id_field]);
      if (!text.empty()) {
        Result<Uuid> id = Uuid::Parse(text);
        if (!id.ok() || id->IsNil()) {
          return Status::InvalidArgument(
                     LinePrefix(record.line) + "id '" +
                     record.fields[*id_field] + "'" + where(*id_field) +
                     " is not an id as kbo writes them (1b4e28ba-2fa1-41d2-"
                     "883f-0016d3cca427); leave it empty for a new row")
              .With(field::kField, std::string(kIdColumn));
        }
        auto [at, fresh] = id_lines.emplace(*id, record.line);
        if (!fresh) {
          return Status::InvalidArgument(
                     LinePrefix(record.line) + "id " + id->ToString() +
                     " is on line " + std::to_string(at->second) + " too")
              .With(field::kField, std::string(kIdColumn));
        }
        given = *id;
      }
    }
    if (deleted_field.has_value()) {
      const std::optional<bool> deleted =
          ParseDeleted(record.fields[*deleted_field]);
      if (!deleted.has_value()) {
        return Status::InvalidArgument(
                   LinePrefix(record.line) + "deleted '" +
                   record.fields[*deleted_field] + "'" +
                   where(*deleted_field) +
                   " is not one of: 0, 1, yes, no, ใช่, ไม่ (or empty)")
            .With(field::kField, std::string(kDeletedColumn));
      }
      if (*deleted) {  // a tombstone in a raw export: nothing to record
        if (skipped) ++skipped->deleted;
        continue;
      }
    }
    if (given.has_value()) {
      Result<StoredRow> held = store.Show(entity->name, *given);
      if (held.ok()) {
        if (skipped) ++skipped->already_held;
        continue;
      }
      if (held.status().code() != Code::kNotFound) return held.status();
    }
    RowValues row;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == nullptr) continue;  // id, deleted: done above
      const Column& column = *columns[i];
      // What an export did to a cell for a spreadsheet is undone: a
      // formula sign's apostrophe, a phone number's Thai grouping.
      std::string cell = UnguardFormula(record.fields[i]);
      // A line break inside a quoted cell as a Windows spreadsheet writes
      // it (CR LF) is the one line break the device stores (LF).
      if (cell.find('\r') != std::string::npos) cell = CrlfToLf(cell);
      if (column.name == "phone") {
        // And what a spreadsheet did to a phone number: undone where it
        // can be, refused where its digits are gone.
        const SpreadsheetPhone phone = PhoneFromSpreadsheetCell(cell);
        if (phone.digits_lost) {
          return Status::InvalidArgument(
                     LinePrefix(record.line) + "phone '" + record.fields[i] + "'" +
                     where(i) +
                     " is a number a spreadsheet shortened: its digits are "
                     "lost. Type it again in the sheet as text (e.g. "
                     "081-234-5678), then import")
              .With(field::kField, "phone");
        }
        if (phone.zero_restored && skipped) ++skipped->zero_restored;
        cell = phone.text;
      }
      // A reference may be the referenced row's name, as a people's export
      // writes it.
      if (column.type == ColumnType::kRef) {
        // A photo's subject is a row of the entity its subject_type names
        // (by name too in a people's export: "ผลิตภัณฑ์").
        std::string ref_entity(column.ref_entity);
        if (ref_entity.empty()) {
          for (size_t j = 0; j < columns.size(); ++j) {
            if (columns[j] != nullptr && columns[j]->name == "subject_type") {
              ref_entity = ValueFromLabel(entity->name, "subject_type",
                                          UnguardFormula(record.fields[j]));
            }
          }
        }
        // An attendance row's participant, within the row's workshop.
        std::optional<std::string> workshop;
        if (entity->name == "attendance" && column.name == "enrolment_id" &&
            !Uuid::Parse(cell).ok()) {
          for (size_t j = 0; j < columns.size(); ++j) {
            if (columns[j] == nullptr || columns[j]->name != "workshop_id") continue;
            Result<std::string> w = ReferenceByName(store.db(), *columns[j], "workshop",
                                                    UnguardFormula(record.fields[j]));
            if (w.ok()) workshop = *w;
          }
        }
        Result<std::string> ref =
            workshop.has_value()
                ? EnrolmentByName(store.db(), column, *workshop, cell)
                : ReferenceByName(store.db(), column, ref_entity, cell);
        if (!ref.ok()) {
          return Status::FromCode(ref.status().code(),
                                  LinePrefix(record.line) +
                                      ref.status().message() + where(i))
              .With(field::kField, std::string(column.name));
        }
        cell = std::move(ref).value();
      }
      // A date or time as the people's export writes it ("4 มี.ค. 2567",
      // "4 มี.ค. 2567 10:00" in Bangkok time), a visit's purpose or a
      // photo's subject by its name.
      if (column.type != ColumnType::kRef) {
        cell = ValueFromLabel(entity->name, column.name, cell);
      }
      // A category, kind, stage or status may be written by its Thai or
      // English name ("อาหาร", "Food") as well as its code ("food"):
      // ValueFromLabel above, and ParseText.
      Result<Value> value =
          ClientStore::ParseText(entity->name, column.name, cell);
      if (!value.ok()) {
        // Which column of the file, in the header's own words.
        if (column.type == ColumnType::kEnum) {
          return Status::FromCode(
                     value.status().code(),
                     LinePrefix(record.line) + std::string(column.name) +
                         " '" + record.fields[i] + "'" + where(i) +
                         " is not one of: " + ValueChoices(column))
              .With(field::kField, std::string(column.name));
        }
        // A sheet's dates are read in the office's files' form too: said
        // (the column's own check names only the stored form).
        const std::string* problem = value.status().TextField(field::kProblem);
        std::string also;
        if (problem != nullptr && (*problem == "err.date" || *problem == "err.datetime")) {
          also = column.type == ColumnType::kDate
                     ? " (a sheet may also write it as the office's files do, "
                       "e.g. 4 มี.ค. 2567 or 4 Mar 2024)"
                     : " (a sheet may also write it as the office's files do, "
                       "in Bangkok time, e.g. 4 มี.ค. 2567 10:30)";
        }
        Status refused = Status::FromCode(
            value.status().code(),
            LinePrefix(record.line) + value.status().message() + also +
                (NormalizeName(header.fields[i]) == column.name ? ""
                                                                 : where(i)));
        for (const StatusField& f : value.status().fields()) refused.With(f);
        return refused;
      }
      // An empty cell leaves the column unset, so its default applies.
      if (!value->is_null())
        row[std::string(columns[i]->name)] = std::move(*value);
    }
    // A new photo row (no id: not one of the office's) names a picture this
    // device holds: a row for a picture nobody has would reach the server
    // and never be filled (`kbo photo add` records one with its file).
    if (entity->name == "photo" && !given.has_value()) {
      auto sha = row.find("sha256");
      if (sha != row.end() && sha->second.type() == Value::Type::kText &&
          !BlobStore(store.paths().blobs).Has(sha->second.text())) {
        return Status::InvalidArgument(
                   LinePrefix(record.line) + "no photo with sha256 " +
                   sha->second.text() +
                   " is on this device: a new photo is recorded with its "
                   "file (kbo photo add FILE); an import takes photo rows "
                   "with their ids, as the office's export writes them")
            .With(field::kField, std::string("sha256"));
      }
    }
    rows.push_back(std::move(row));
    lines.push_back(record.line);
    ids.push_back(given);
  }
  // Keeps, in order with their lines and ids, the rows `drop(i, kept)` does
  // not drop (`kept`: where row i goes if kept); its first error stops it.
  const auto keep_rows = [&](const auto& drop) -> Status {
    size_t kept = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      Result<bool> dropped = drop(i, kept);
      if (!dropped.ok()) return dropped.status();
      if (*dropped) continue;
      if (kept != i) {
        rows[kept] = std::move(rows[i]);
        lines[kept] = lines[i];
        ids[kept] = ids[i];
      }
      ++kept;
    }
    rows.resize(kept);
    lines.resize(kept);
    ids.resize(kept);
    return Status();
  };
  // One row said twice in the file (rows with a key: the same mark, score
  // or stage): the same values twice are one row; different values are the
  // person's to settle, since writing both would let the later line
  // silently replace the earlier one. (A row whose key is incomplete is
  // left to the store, which names what it lacks.)
  if (!entity->natural_key.empty()) {
    std::map<Uuid, size_t> first_of;  // derived id -> index into rows
    if (Status s = keep_rows([&](size_t i, size_t kept) -> Result<bool> {
          Result<Uuid> key = DerivedRowId(*entity, rows[i]);
          if (!key.ok()) return false;
          auto [at, fresh] = first_of.emplace(*key, kept);
          if (fresh) return false;
          const RowValues& earlier = rows[at->second];
          if (earlier == rows[i]) {
            if (skipped) ++skipped->repeated;
            return true;
          }
          return Status::InvalidArgument(
              LinePrefix(lines[i]) + "this " + std::string(entity->name) +
              " is on line " + std::to_string(lines[at->second]) + " too, " +
              FirstDifference(entity, earlier, rows[i]) + "; keep one of the two lines");
        });
        !s.ok()) {
      return s;
    }
  }
  // A register imported again: a producer this device holds already (the
  // same kind, district and name) is skipped when the file says nothing
  // else of it, and refused, naming the line, when it says something
  // different (writing it would make a second producer; writing over would
  // silently replace what a colleague corrected). The same producer twice
  // within the file likewise. Rows with their ids are told by their ids.
  if (entity->name == "producer") {
    std::map<std::string, Uuid> held;  // RegisterKey -> a live producer
    {
      Statement st(store.db(),
                   "SELECT id, kind, district_code, name FROM producer "
                   "WHERE deleted = 0 ORDER BY id");
      while (st.Step()) {
        RowValues key_cells;
        key_cells["kind"] = Value::Text(st.ColumnText(1));
        key_cells["district_code"] = Value::Text(st.ColumnText(2));
        key_cells["name"] = Value::Text(st.ColumnText(3));
        Result<Uuid> id = Uuid::Parse(st.ColumnText(0));
        const std::string key = RegisterKey(key_cells);
        if (id.ok() && !key.empty()) held.emplace(key, *id);
      }
      if (!st.status().ok()) return st.status();
    }
    std::map<std::string, size_t> in_file;  // RegisterKey -> index into rows
    if (Status s = keep_rows([&](size_t i, size_t kept) -> Result<bool> {
          if (i < ids.size() && ids[i].has_value()) return false;
          const std::string key = RegisterKey(rows[i]);
          if (key.empty()) return false;  // the store names what is missing
          const std::string name = rows[i].at("name").text();
          if (auto at = held.find(key); at != held.end()) {
            Result<StoredRow> row = store.Show("producer", at->second);
            if (!row.ok()) return row.status();
            const std::string differs = DifferenceFromHeld(row->values, rows[i]);
            if (differs.empty()) {
              if (skipped) ++skipped->already_registered;
              return true;
            }
            return Status::InvalidArgument(
                       LinePrefix(lines[i]) + "'" + name +
                       "' is registered on this device already (producer " +
                       at->second.ToString() + "), with " + differs +
                       ". Change it with kbo edit producer " +
                       at->second.ToString() +
                       ", or remove the line (a different producer of the "
                       "same name is added with kbo producer add)")
                .With(field::kField, "name");
          }
          auto [at, fresh] = in_file.emplace(key, kept);
          if (fresh) return false;
          const RowValues& earlier = rows[at->second];
          // The same producer said again (its name spelled with other
          // spacing or case at most): taken once.
          if (DifferenceFromHeld(earlier, rows[i]).empty() &&
              DifferenceFromHeld(rows[i], earlier).empty()) {
            if (skipped) ++skipped->repeated;
            return true;
          }
          return Status::InvalidArgument(
                     LinePrefix(lines[i]) + "'" + name + "' is on line " +
                     std::to_string(lines[at->second]) + " too, " +
                     FirstDifference(entity, earlier, rows[i]) +
                     "; keep one of the two lines")
              .With(field::kField, "name");
        });
        !s.ok()) {
      return s;
    }
  }
  // Enrolments already held are skipped, so the same sheet imported twice
  // adds nothing the second time (a participant twice within the sheet is
  // still refused by the store, naming the line).
  // (A row with its id, from an export, is the server's row: held already
  // is told by its id above, and a near-duplicate of it is the office's to
  // decide, not a reason to leave it out.)
  if (entity->name == "enrolment") {
    std::set<std::string> with_ids;  // workshop|producer|name key of id rows
    std::map<std::string, size_t> in_file;  // the same, rows without ids
    if (Status s = keep_rows([&](size_t i, size_t kept) -> Result<bool> {
          if (i < ids.size() && ids[i].has_value()) {
            const auto text = [&](const char* c) {
              auto it = rows[i].find(c);
              return it != rows[i].end() && it->second.type() == Value::Type::kText
                         ? it->second.text() : std::string();
            };
            const std::string key = text("workshop_id") + "|" + text("producer_id") + "|" +
                                    PersonNameKey(text("participant_name"));
            Result<std::optional<Uuid>> held = FindSameEnrolment(store.db(), rows[i]);
            if (!held.ok()) return held.status();
            if ((held->has_value() || !with_ids.insert(key).second) && skipped) {
              ++skipped->near_duplicates;
            }
            return false;
          }
          Result<std::optional<Uuid>> same = FindSameEnrolment(store.db(), rows[i]);
          if (!same.ok()) return same.status();
          if (same->has_value()) {
            if (skipped) ++skipped->already_enrolled;
            return true;
          }
          // The same participant twice in the file: the same line twice is
          // taken once; two spellings are the person's to settle (the store
          // would name an enrolment of the earlier line, never written).
          const auto text = [&](const char* c) {
            auto it = rows[i].find(c);
            return it != rows[i].end() && it->second.type() == Value::Type::kText
                       ? it->second.text() : std::string();
          };
          const std::string person = PersonNameKey(text("participant_name"));
          if (person.empty()) return false;
          const std::string key =
              text("workshop_id") + "|" + text("producer_id") + "|" + person;
          auto [at, fresh] = in_file.emplace(key, kept);
          if (fresh) return false;
          if (rows[at->second] == rows[i]) {
            if (skipped) ++skipped->repeated;
            return true;
          }
          return Status::InvalidArgument(
                     LinePrefix(lines[i]) + "participant_name '" +
                     text("participant_name") + "' is on line " +
                     std::to_string(lines[at->second]) +
                     " too, as the same participant for the same producer and "
                     "workshop (" + FirstDifference(entity, rows[at->second], rows[i]) +
                     "); keep one of the two lines")
              .With(field::kField, "participant_name");
        });
        !s.ok()) {
      return s;
    }
  }
  if (rows.empty()) return std::vector<Uuid>{};

  // A row whose key is held already (a roll-call sheet imported again)
  // keeps what the file does not say: a column it lacks, a cell left empty
  // (a colleague's note on a mark); and a value the same as held is not
  // written at all.
  const std::vector<ClientStore::RecordAgain> again(rows.size(),
                                                    ClientStore::RecordAgain{true, {}});
  std::vector<ClientStore::Recorded> outcomes;
  Result<std::vector<Uuid>> recorded =
      store.RecordAll(entity->name, std::move(rows), ids, again, &outcomes);
  if (!recorded.ok()) {
    const Status& s = recorded.status();
    const int64_t* failed = s.IntegerField(field::kIndex);
    if (failed != nullptr && *failed >= 0 &&
        static_cast<uint64_t>(*failed) < lines.size()) {
      // The line, for a person; the reason and fields stay as they were.
      Status on_line = Status::FromCode(
          s.code(),
          LinePrefix(lines[static_cast<size_t>(*failed)]) + s.message());
      on_line.WithReason(s.reason());
      for (const StatusField& f : s.fields()) on_line.With(f);
      return on_line;
    }
    return s;
  }
  // Rows held already with the same values are skipped like the others.
  std::vector<Uuid> written;
  written.reserve(recorded->size());
  for (size_t i = 0; i < recorded->size(); ++i) {
    const ClientStore::Recorded r =
        i < outcomes.size() ? outcomes[i] : ClientStore::Recorded::kNew;
    if (r == ClientStore::Recorded::kSame) {
      if (skipped) ++skipped->unchanged;
      continue;
    }
    if (r == ClientStore::Recorded::kChanged && skipped) ++skipped->changed;
    written.push_back((*recorded)[i]);
  }
  return written;
}

}  // namespace kbo::client
