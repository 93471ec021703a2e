#include "shared/error_body.h"

#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

using Texts = std::vector<std::pair<std::string, std::string>>;

Status Parsed(std::string_view body, int http) {
  Status out = Status::Internal("untouched");
  const Status s = ParseErrorBody(body, http, &out);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

// Refused, with *error left as it was.
Code Refused(std::string_view body, int http = 400) {
  Status out = Status::Internal("untouched");
  const Status s = ParseErrorBody(body, http, &out);
  CHECK(out.message() == "untouched");
  CHECK_FALSE(s.ok());
  return s.code();
}

TEST_CASE("error body: fixed vectors of what goes on the wire", "[error_body]") {
  // The keys of 1.0 ("error", "message", the numbers, "field", "fields",
  // "index") keep their names and types; "code" is added at the end.
  CHECK(EncodeErrorBody(Status::SequenceGap(
                            "change set 9 arrived but the server expects 7")
                            .With(field::kExpected, 7)) ==
        R"({"error":"sequence_gap","message":"change set 9 arrived but the )"
        R"(server expects 7","expected":7,"code":"sequence_gap"})");
  CHECK(EncodeErrorBody(Status::InvalidArgument("row 3 was recorded ahead")
                            .WithReason("clock_ahead")
                            .With(field::kServerMs, int64_t{1710000000123})) ==
        R"({"error":"clock_ahead","message":"row 3 was recorded ahead",)"
        R"("server_ms":1710000000123,"code":"invalid_argument"})");
  CHECK(EncodeErrorBody(
            Status::InvalidArgument(
                "otop_stars must be from 0 to 5 (got 7); name is required")
                .With(field::kField, "otop_stars")
                .With(field::kFields,
                      Texts{{"otop_stars", "otop_stars must be from 0 to 5 (got 7)"},
                            {"name", "ชื่อ is required"}})
                .With(field::kIndex, 1)) ==
        R"j({"error":"invalid_argument","message":"otop_stars must be from 0 )j"
        R"j(to 5 (got 7); name is required","field":"otop_stars","fields":)j"
        R"j({"otop_stars":"otop_stars must be from 0 to 5 (got 7)","name":)j"
        R"j("ชื่อ is required"},)j"
        R"j("index":1,"code":"invalid_argument"})j");
  // A field may not stand in for the body's own keys.
  CHECK(EncodeErrorBody(Status::NotFound("x").With("code", "forged").With(
            "error", "forged")) ==
        R"({"error":"not_found","message":"x","code":"not_found"})");
  // Bytes that are not UTF-8 never throw: they are replaced.
  CHECK(EncodeErrorBody(Status::InvalidArgument("bad \xFF byte")).find("bad ") !=
        std::string::npos);
}

TEST_CASE("error body: what one side encodes the other reads back whole",
          "[error_body]") {
  const Status sent =
      Status::SequenceGap("the server holds 4096 bytes; resume from there")
          .WithReason("offset_mismatch")
          .With(field::kReceived, uint64_t{4096})
          .With(field::kRow, "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
          .With(field::kFields, Texts{{"name", "ชื่อซ้ำ"}, {"day", "6"}});
  const Status got = Parsed(EncodeErrorBody(sent), 409);
  CHECK(got.code() == Code::kSequenceGap);
  CHECK(got.reason() == "offset_mismatch");
  CHECK(got.message() == sent.message());
  REQUIRE(got.fields().size() == 3);
  CHECK(*got.IntegerField(field::kReceived) == 4096);
  CHECK(*got.TextField(field::kRow) == "1b4e28ba-2fa1-41d2-883f-0016d3cca427");
  CHECK((*got.TextsField(field::kFields) ==
         Texts{{"name", "ชื่อซ้ำ"}, {"day", "6"}}));
  CHECK(EncodeErrorBody(got) == EncodeErrorBody(sent));

  // Every code, without a reason: the reason stays empty.
  for (Code c : {Code::kInvalidArgument, Code::kNotFound, Code::kAlreadyExists,
                 Code::kCorruption, Code::kUnavailable, Code::kUnauthenticated,
                 Code::kPermissionDenied, Code::kSequenceGap,
                 Code::kFailedPrecondition, Code::kResourceExhausted,
                 Code::kIOError, Code::kInternal}) {
    const Status back =
        Parsed(EncodeErrorBody(Status::FromCode(c, "m")), HttpStatusFor(c));
    CHECK(back.code() == c);
    CHECK(back.reason().empty());
  }
}

TEST_CASE("error body: an older side's body, without \"code\", still reads",
          "[error_body]") {
  // A 1.0 server: "error" a code name...
  Status s = Parsed(R"({"error":"sequence_gap","message":"m","expected":2})", 409);
  CHECK(s.code() == Code::kSequenceGap);
  CHECK(s.reason().empty());
  CHECK(*s.IntegerField(field::kExpected) == 2);
  // ...or a reason: the code then comes from the HTTP status.
  s = Parsed(R"({"error":"revoked","message":"m"})", 403);
  CHECK(s.code() == Code::kPermissionDenied);
  CHECK(s.reason() == "revoked");
  s = Parsed(R"({"error":"offset_mismatch","received":10})", 409);
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK(s.message().empty());
  // kbo ui's form answer of 1.0.
  s = Parsed(R"({"error":"invalid_argument","message":"m","field":"name",)"
             R"("fields":{"name":"m"},"index":0})",
             400);
  CHECK(*s.TextField(field::kField) == "name");
  CHECK(*s.IntegerField(field::kIndex) == 0);
  // A newer side's keys of a shape this one has no use for are skipped.
  s = Parsed(R"({"error":"not_found","message":"m","hint":[1,2],"more":true,)"
             R"("note":"kept"})",
             404);
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.Field("hint") == nullptr);
  CHECK(s.Field("more") == nullptr);
  CHECK(*s.TextField("note") == "kept");
  // Nothing at all but braces: what the HTTP status says.
  CHECK(Parsed("{}", 401).code() == Code::kUnauthenticated);
  CHECK(Parsed("{}", 413).code() == Code::kResourceExhausted);
  CHECK(Parsed("{}", 502).code() == Code::kUnavailable);
}

TEST_CASE("error body: garbage is refused, bounded, and changes nothing",
          "[error_body][untrusted]") {
  CHECK(Refused("") == Code::kCorruption);
  CHECK(Refused("not json") == Code::kCorruption);
  CHECK(Refused("[1,2]") == Code::kCorruption);
  CHECK(Refused("\"error\"") == Code::kCorruption);
  CHECK(Refused(R"({"error":"x")") == Code::kCorruption);
  // Wrong types of the body's own keys and the known fields.
  CHECK(Refused(R"({"error":7})") == Code::kCorruption);
  CHECK(Refused(R"({"message":null})") == Code::kCorruption);
  CHECK(Refused(R"({"code":["not_found"]})") == Code::kCorruption);
  CHECK(Refused(R"({"expected":"7"})") == Code::kCorruption);
  CHECK(Refused(R"({"received":1.5})") == Code::kCorruption);
  CHECK(Refused(R"({"server_ms":true})") == Code::kCorruption);
  CHECK(Refused(R"({"index":{}})") == Code::kCorruption);
  CHECK(Refused(R"({"field":3})") == Code::kCorruption);
  CHECK(Refused(R"({"fields":"name"})") == Code::kCorruption);
  CHECK(Refused(R"({"fields":{"name":3}})") == Code::kCorruption);
  CHECK(Refused(R"({"row":null})") == Code::kCorruption);
  // A "code" that names no code (nor "ok": an error is never OK).
  CHECK(Refused(R"({"code":"teapot"})") == Code::kCorruption);
  CHECK(Refused(R"({"code":"ok","error":"ok"})") == Code::kCorruption);
  // Bounds: the body, the number of fields, the entries of one field.
  CHECK(Refused(std::string(kMaxErrorBodyBytes + 1, ' ')) ==
        Code::kResourceExhausted);
  std::string many = "{";
  for (size_t i = 0; i <= kMaxErrorFields; ++i) {
    many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  }
  many.back() = '}';
  CHECK(Refused(many) == Code::kResourceExhausted);
  std::string wide = R"({"fields":{)";
  for (size_t i = 0; i <= kMaxErrorFieldTexts; ++i) {
    wide += "\"c" + std::to_string(i) + "\":\"x\",";
  }
  wide.back() = '}';
  wide += "}";
  REQUIRE(wide.size() < kMaxErrorBodyBytes);
  CHECK(Refused(wide) == Code::kResourceExhausted);
  // Deep nesting is refused, not recursed into without end.
  CHECK(Refused(std::string(1000, '[') + std::string(1000, ']')) ==
        Code::kCorruption);
}

TEST_CASE("error body: a name refused at an edge keeps its code", "[error_body]") {
  Status s = Parsed(EncodeErrorBody("too_many_attempts", "wait", 429), 429);
  CHECK(s.reason() == "too_many_attempts");
  CHECK(s.code() == Code::kInvalidArgument);  // 429 has no code of its own
  s = Parsed(EncodeErrorBody("not_found", "no such endpoint", 404), 404);
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.reason().empty());
  CHECK(HttpStatusOfError(Status::Corruption("x").WithReason("hash_mismatch")) ==
        422);
  CHECK(HttpStatusOfError(Status::Corruption("x")) == 400);
}

}  // namespace
}  // namespace kbo
