#include "shared/value_json.h"

namespace kbo {

nlohmann::ordered_json ValueJson(const Value& v) {
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

}  // namespace kbo
