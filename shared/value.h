#ifndef KBO_SHARED_VALUE_H_
#define KBO_SHARED_VALUE_H_

#include <cstdint>
#include <string>

namespace kbo {

// A typed cell value. A blob value is a reference to content-addressed bytes
// (the lowercase hex SHA-256 of a photo), never the bytes themselves.
class Value {
 public:
  enum class Type : uint8_t { kNull = 0, kInteger = 1, kReal = 2, kText = 3, kBlob = 4 };

  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Integer(int64_t v);
  static Value Real(double v);
  static Value Text(std::string v);
  static Value Blob(std::string sha256_hex);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  int64_t integer() const { return integer_; }
  double real() const { return real_; }
  // Text, or the blob's hex digest.
  const std::string& text() const { return text_; }

  // Human/CSV form: "" for null, decimal for numbers, the text itself.
  std::string ToDisplay() const;

  // Exact equality: same type and same content (reals compared bit for bit,
  // so equality is deterministic on every replica).
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  Type type_ = Type::kNull;
  int64_t integer_ = 0;
  double real_ = 0;
  std::string text_;
};

const char* TypeName(Value::Type type);

}  // namespace kbo

#endif  // KBO_SHARED_VALUE_H_
