#include "shared/value.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

constexpr char kSha[] =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

TEST_CASE("Value: equal only with the same type and content", "[value]") {
  CHECK(Value() == Value::Null());
  CHECK(Value::Integer(3) == Value::Integer(3));
  CHECK(Value::Integer(3) != Value::Integer(4));
  CHECK(Value::Integer(1) != Value::Real(1.0));  // the type matters
  CHECK(Value::Integer(0) != Value::Null());
  CHECK(Value::Text("") != Value::Null());
  CHECK(Value::Text("1") != Value::Integer(1));
  CHECK(Value::Text(kSha) != Value::Blob(kSha));
  CHECK(Value::Blob(kSha) == Value::Blob(kSha));
  CHECK(Value::Text("มาสาย") == Value::Text("มาสาย"));
  CHECK(Value::Text("มาสาย") != Value::Text("มา"));
}

TEST_CASE("Value: reals compare bit for bit", "[value]") {
  CHECK(Value::Real(0.1) == Value::Real(0.1));
  CHECK(Value::Real(0.1 + 0.2) != Value::Real(0.3));
  // IEEE says 0.0 == -0.0 and NaN != NaN; replicas need a deterministic
  // rule, so equality is on the bits.
  CHECK(Value::Real(0.0) != Value::Real(-0.0));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(Value::Real(nan) == Value::Real(nan));
}

TEST_CASE("Value: accessors return what was stored", "[value]") {
  CHECK(Value().is_null());
  CHECK(Value().type() == Value::Type::kNull);
  CHECK(Value::Integer(-7).integer() == -7);
  CHECK(Value::Integer(-7).type() == Value::Type::kInteger);
  CHECK(Value::Real(2.5).real() == 2.5);
  CHECK(Value::Text("ok").text() == "ok");
  CHECK(Value::Blob(kSha).text() == kSha);
  CHECK(Value::Blob(kSha).type() == Value::Type::kBlob);
  CHECK_FALSE(Value::Text("").is_null());
}

TEST_CASE("Value: ToDisplay is the human and CSV form", "[value]") {
  CHECK(Value::Null().ToDisplay().empty());
  CHECK(Value::Integer(0).ToDisplay() == "0");
  CHECK(Value::Integer(-42).ToDisplay() == "-42");
  CHECK(Value::Integer(std::numeric_limits<int64_t>::min()).ToDisplay() ==
        "-9223372036854775808");
  CHECK(Value::Real(2.5).ToDisplay() == "2.5");
  CHECK(Value::Real(0.1).ToDisplay() == "0.1");  // shortest, not 0.1000…01
  CHECK(Value::Real(18.7883).ToDisplay() == "18.7883");
  CHECK(Value::Real(-98.9853).ToDisplay() == "-98.9853");
  CHECK(Value::Real(3.0).ToDisplay() == "3");
  // Whole numbers as people write them, not 2e+02; still read back exactly.
  CHECK(Value::Real(200.0).ToDisplay() == "200");
  CHECK(Value::Real(-1500.0).ToDisplay() == "-1500");
  CHECK(Value::Real(120000.0).ToDisplay() == "120000");
  CHECK(Value::Real(1e20).ToDisplay() == "1e+20");
  for (double d : {200.0, 10.0, 123456789.0, 99999999999999.0, 1e15, 2.5e-7}) {
    CHECK(std::strtod(Value::Real(d).ToDisplay().c_str(), nullptr) == d);
  }
  CHECK(Value::Text("ขาดเรียนโดยไม่แจ้งล่วงหน้า").ToDisplay() ==
        "ขาดเรียนโดยไม่แจ้งล่วงหน้า");
  CHECK(Value::Blob(kSha).ToDisplay() == kSha);
}

TEST_CASE("Value: ToDisplay of a real reads back to the same double",
          "[value]") {
  for (double d :
       {0.1, 1.0 / 3, 1e-300, 123456789.123456789, -2.2250738585072014e-308,
        std::numeric_limits<double>::max()}) {
    CAPTURE(d);
    CHECK(std::strtod(Value::Real(d).ToDisplay().c_str(), nullptr) == d);
  }
}

TEST_CASE("Value: TypeName names each type", "[value]") {
  CHECK(std::string(TypeName(Value::Type::kNull)) == "null");
  CHECK(std::string(TypeName(Value::Type::kInteger)) == "integer");
  CHECK(std::string(TypeName(Value::Type::kReal)) == "real");
  CHECK(std::string(TypeName(Value::Type::kText)) == "text");
  CHECK(std::string(TypeName(Value::Type::kBlob)) == "blob");
}

}  // namespace
}  // namespace kbo
