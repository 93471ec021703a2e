#include "shared/value.h"

#include <cstdio>
#include <cmath>
#include <cstring>

namespace kbo {

Value Value::Integer(int64_t v) {
  Value x;
  x.type_ = Type::kInteger;
  x.integer_ = v;
  return x;
}

Value Value::Real(double v) {
  Value x;
  x.type_ = Type::kReal;
  x.real_ = v;
  return x;
}

Value Value::Text(std::string v) {
  Value x;
  x.type_ = Type::kText;
  x.text_ = std::move(v);
  return x;
}

Value Value::Blob(std::string sha256_hex) {
  Value x;
  x.type_ = Type::kBlob;
  x.text_ = std::move(sha256_hex);
  return x;
}

std::string Value::ToDisplay() const {
  switch (type_) {
    case Type::kNull: return "";
    case Type::kInteger: return std::to_string(integer_);
    case Type::kReal: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", real_);
      // Prefer the shortest form that reads back to the same double.
      for (int precision = 1; precision <= 17; ++precision) {
        char tmp[40];
        std::snprintf(tmp, sizeof tmp, "%.*g", precision, real_);
        if (std::strtod(tmp, nullptr) != real_) continue;
        // A whole number of a person's size reads as one: 200, not 2e+02
        // (%g switches to an exponent once it passes the digits asked).
        if (std::strchr(tmp, 'e') != nullptr && std::fabs(real_) >= 1 &&
            std::fabs(real_) < 1e15) {
          std::snprintf(tmp, sizeof tmp, "%.0f", real_);
        }
        return tmp;
      }
      return buf;
    }
    case Type::kText:
    case Type::kBlob: return text_;
  }
  return "";
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Value::Type::kNull: return true;
    case Value::Type::kInteger: return a.integer_ == b.integer_;
    case Value::Type::kReal:
      return std::memcmp(&a.real_, &b.real_, sizeof a.real_) == 0;
    case Value::Type::kText:
    case Value::Type::kBlob: return a.text_ == b.text_;
  }
  return false;
}

const char* TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kNull: return "null";
    case Value::Type::kInteger: return "integer";
    case Value::Type::kReal: return "real";
    case Value::Type::kText: return "text";
    case Value::Type::kBlob: return "blob";
  }
  return "?";
}

}  // namespace kbo
