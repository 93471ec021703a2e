#include "client/csv_import.h"

#include <optional>
#include <string>
#include <utility>

#include "client/enrolment_rules.h"
#include "shared/csv.h"

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

std::string KnownColumns(const Entity& entity) {
  std::string out;
  for (const Column& c : entity.columns) {
    if (!out.empty()) out += ", ";
    out.append(c.name);
  }
  return out;
}

std::string LinePrefix(size_t line) {
  return "line " + std::to_string(line) + ": ";
}

}  // namespace

const Column* ResolveColumnName(const Entity& entity, std::string_view name) {
  const std::string normal = NormalizeName(name);
  if (const Column* c = entity.FindColumn(normal)) return c;
  for (const Alias& a : kAliases) {
    if (a.name == normal) return entity.FindColumn(a.column);
  }
  return nullptr;
}

Result<std::vector<Uuid>> ImportCsv(ClientStore& store,
                                    std::string_view entity_name,
                                    std::string_view csv_text,
                                    size_t* skipped) {
  if (skipped) *skipped = 0;
  const Entity* entity = FindEntity(entity_name);
  if (entity == nullptr) {
    return Status::InvalidArgument("unknown entity '" +
                                   std::string(entity_name) + "'");
  }
  Result<std::vector<CsvRecord>> parsed = ParseCsv(csv_text);
  if (!parsed.ok()) return parsed.status();
  const std::vector<CsvRecord>& records = *parsed;
  if (records.empty()) {
    return Status::InvalidArgument(
        "the file is empty; the first line must name the columns, e.g. " +
        KnownColumns(*entity));
  }

  // Header: field index -> column.
  const CsvRecord& header = records.front();
  std::vector<const Column*> columns;
  columns.reserve(header.fields.size());
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string& name = header.fields[i];
    const std::string normal = NormalizeName(name);
    if (normal.empty()) {
      return Status::InvalidArgument(LinePrefix(header.line) + "column " +
                                     std::to_string(i + 1) +
                                     " of the header has no name");
    }
    if (normal == kIdColumn || normal == kDeletedColumn) {
      return Status::InvalidArgument(LinePrefix(header.line) + "column '" +
                                     name +
                                     "' is set by the system and cannot be "
                                     "imported");
    }
    const Column* column = ResolveColumnName(*entity, name);
    if (column == nullptr) {
      return Status::InvalidArgument(LinePrefix(header.line) +
                                     "unknown column '" + name + "' for " +
                                     std::string(entity->name) +
                                     " (known: " + KnownColumns(*entity) + ")");
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
  rows.reserve(records.size() - 1);
  lines.reserve(records.size() - 1);
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    if (IsAllBlank(record.fields)) continue;
    if (record.fields.size() != columns.size()) {
      return Status::InvalidArgument(LinePrefix(record.line) + "expected " +
                                     std::to_string(columns.size()) +
                                     " fields like the header, found " +
                                     std::to_string(record.fields.size()));
    }
    RowValues row;
    for (size_t i = 0; i < columns.size(); ++i) {
      Result<Value> value = ClientStore::ParseText(
          entity->name, columns[i]->name, record.fields[i]);
      if (!value.ok()) {
        return Status::FromCode(
            value.status().code(),
            LinePrefix(record.line) + value.status().message());
      }
      // An empty cell leaves the column unset, so its default applies.
      if (!value->is_null())
        row[std::string(columns[i]->name)] = std::move(*value);
    }
    rows.push_back(std::move(row));
    lines.push_back(record.line);
  }
  // Enrolments already held are skipped, so the same sheet imported twice
  // adds nothing the second time (a participant twice within the sheet is
  // still refused by the store, naming the line).
  if (entity->name == "enrolment") {
    size_t kept = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      Result<std::optional<Uuid>> same = FindSameEnrolment(store.db(), rows[i]);
      if (!same.ok()) return same.status();
      if (same->has_value()) {
        if (skipped) ++*skipped;
        continue;
      }
      if (kept != i) {
        rows[kept] = std::move(rows[i]);
        lines[kept] = lines[i];
      }
      ++kept;
    }
    rows.resize(kept);
    lines.resize(kept);
  }
  if (rows.empty()) return std::vector<Uuid>{};

  Result<std::vector<Uuid>> ids =
      store.RecordAll(entity->name, std::move(rows));
  if (!ids.ok()) {
    const Status& s = ids.status();
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
  return ids;
}

}  // namespace kbo::client
