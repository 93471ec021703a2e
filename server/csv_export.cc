#include "server/csv_export.h"

#include "shared/csv.h"
#include "shared/fs.h"

namespace kbo::server {

Result<EntityTable> ReadEntityTable(Db& db, std::string_view entity_name) {
  const Entity* entity = FindEntity(entity_name);
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
  std::string sql = "SELECT id";
  for (const Column& c : entity->columns) {
    table.header.emplace_back(c.name);
    sql += ", " + std::string(c.name);
  }
  table.header.emplace_back(kDeletedColumn);
  sql += ", deleted FROM " + std::string(entity->name) + " ORDER BY id";
  Statement st(db, sql);
  if (!st.status().ok()) return st.status();
  const int n = static_cast<int>(table.header.size());
  while (st.Step()) {
    std::vector<Value> row;
    row.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) row.push_back(st.ColumnValue(i));
    table.rows.push_back(std::move(row));
  }
  if (!st.status().ok()) return st.status();
  return table;
}

std::string GuardFormula(std::string_view text) {
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' ||
                        text[0] == '@' || text[0] == '\t' || text[0] == '\r')) {
    return "'" + std::string(text);
  }
  return std::string(text);
}

Result<std::vector<std::pair<std::string, size_t>>> ExportCsv(
    Db& db, const std::string& dir) {
  if (Status s = EnsureDir(dir); !s.ok()) return s;
  std::vector<std::pair<std::string, size_t>> written;
  for (const Entity& entity : Catalogue()) {
    Result<EntityTable> table = ReadEntityTable(db, entity.name);
    if (!table.ok()) return table.status();
    std::string out(kUtf8Bom);
    out += FormatCsvRow(table->header);
    for (const std::vector<Value>& row : table->rows) {
      CsvRow fields;
      fields.reserve(row.size());
      for (const Value& v : row) {
        fields.push_back(v.type() == Value::Type::kText ? GuardFormula(v.text())
                                                        : v.ToDisplay());
      }
      out += FormatCsvRow(fields);
    }
    const std::string path = dir + "/" + std::string(entity.name) + ".csv";
    if (Status s = WriteFileAtomically(path, out, 0600); !s.ok()) return s;
    written.emplace_back(path, table->rows.size());
  }
  return written;
}

}  // namespace kbo::server
