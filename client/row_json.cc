#include "client/row_json.h"

namespace kbo::client {

RowJsonValue ValueJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return nullptr;
    case Value::Type::kInteger:
      return v.integer();
    case Value::Type::kReal:
      return v.real();
    case Value::Type::kText:
    case Value::Type::kBlob:
      return v.text();
  }
  return nullptr;
}

RowJsonValue RowJson(const Entity& entity, const StoredRow& row) {
  RowJsonValue obj = RowJsonValue::object();
  obj["id"] = row.id.ToString();
  for (const Column& c : entity.columns) {
    auto it = row.values.find(c.name);
    obj[std::string(c.name)] =
        it == row.values.end() ? RowJsonValue(nullptr) : ValueJson(it->second);
  }
  obj["deleted"] = row.deleted;
  return obj;
}

}  // namespace kbo::client
