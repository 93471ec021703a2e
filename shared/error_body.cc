#include "shared/error_body.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace kbo {
namespace {

using Json = nlohmann::ordered_json;

bool IsBodyKey(std::string_view name) {
  return name == "error" || name == "message" || name == "code";
}

// The kind a field every edge agrees on must have; false for another name.
bool KnownKind(std::string_view name, StatusField::Kind* kind) {
  if (name == field::kField || name == field::kRow || name == field::kProblem) {
    *kind = StatusField::Kind::kText;
  } else if (name == field::kFields || name == field::kParams) {
    *kind = StatusField::Kind::kTexts;
  } else if (name == field::kIndex || name == field::kExpected ||
             name == field::kReceived || name == field::kServerMs ||
             name == field::kRetryAfterS) {
    *kind = StatusField::Kind::kInteger;
  } else {
    return false;
  }
  return true;
}

Status Garbage(const std::string& what) {
  return Status::Corruption("the error answer " + what);
}

// `value` as a field named `name`; false if it is of no field kind.
bool ToField(const std::string& name, const Json& value, StatusField* out,
             Status* refused) {
  out->name = name;
  if (value.is_string()) {
    out->kind = StatusField::Kind::kText;
    out->text = value.get<std::string>();
    return true;
  }
  if (value.is_number_integer()) {
    out->kind = StatusField::Kind::kInteger;
    out->integer = value.get<int64_t>();
    return true;
  }
  if (value.is_number_unsigned()) {  // past INT64_MAX
    out->kind = StatusField::Kind::kInteger;
    out->integer = INT64_MAX;
    return true;
  }
  if (value.is_object()) {
    if (value.size() > kMaxErrorFieldTexts) {
      *refused = Status::ResourceExhausted(
          "the error answer's \"" + name + "\" has more than " +
          std::to_string(kMaxErrorFieldTexts) + " entries");
      return false;
    }
    out->kind = StatusField::Kind::kTexts;
    for (const auto& [k, v] : value.items()) {
      if (!v.is_string()) return false;
      out->texts.emplace_back(k, v.get<std::string>());
    }
    return true;
  }
  return false;
}

}  // namespace

std::string EncodeErrorBody(const Status& s) {
  Json body = Json::object();
  body["error"] = std::string(s.ReasonOrCodeName());
  body["message"] = s.message();
  for (const StatusField& f : s.fields()) {
    if (IsBodyKey(f.name)) continue;
    switch (f.kind) {
      case StatusField::Kind::kText:
        body[f.name] = f.text;
        break;
      case StatusField::Kind::kInteger:
        body[f.name] = f.integer;
        break;
      case StatusField::Kind::kTexts: {
        Json texts = Json::object();
        for (const auto& [k, v] : f.texts) texts[k] = v;
        body[f.name] = std::move(texts);
        break;
      }
    }
  }
  body["code"] = CodeName(s.code());
  // Store text is validated UTF-8; `replace` keeps an answer from ever
  // throwing on bytes that are not.
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string EncodeErrorBody(std::string_view error, std::string message,
                            int http_status) {
  Code code;
  if (CodeFromName(error, &code) && code != Code::kOk) {
    return EncodeErrorBody(Status::FromCode(code, std::move(message)));
  }
  return EncodeErrorBody(
      Status::FromCode(CodeForHttpStatus(http_status), std::move(message))
          .WithReason(std::string(error)));
}

int HttpStatusOfError(const Status& s) {
  if (s.reason() == "hash_mismatch") return 422;
  return HttpStatusFor(s.code());
}

Code CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kFailedPrecondition;
    case 413:
      return Code::kResourceExhausted;
    default:
      if (http_status >= 500) return Code::kUnavailable;
      return Code::kInvalidArgument;
  }
}

Status ParseErrorBody(std::string_view body, int http_status, Status* error) {
  if (body.size() > kMaxErrorBodyBytes) {
    return Status::ResourceExhausted("the error answer is larger than " +
                                     std::to_string(kMaxErrorBodyBytes >> 10) +
                                     " KiB");
  }
  const Json j = Json::parse(body.begin(), body.end(), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Garbage("is not a JSON object");
  }
  std::string error_text, message, code_text;
  for (const char* key : {"error", "message", "code"}) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      return Garbage("has a \"" + std::string(key) + "\" that is not text");
    }
    std::string& out = key[0] == 'e'   ? error_text
                       : key[0] == 'm' ? message
                                       : code_text;
    out = it->get<std::string>();
  }
  Code code = CodeForHttpStatus(http_status);
  if (j.contains("code")) {
    if (!CodeFromName(code_text, &code) || code == Code::kOk) {
      return Garbage(
          "names no code it could mean (\"code\" is not a known "
          "code name)");
    }
  } else if (Code named;
             CodeFromName(error_text, &named) && named != Code::kOk) {
    code = named;
  }
  std::vector<StatusField> fields;
  for (const auto& [key, value] : j.items()) {
    if (IsBodyKey(key)) continue;
    StatusField f;
    Status refused;
    const bool ok = ToField(key, value, &f, &refused);
    if (!refused.ok()) return refused;
    StatusField::Kind want;
    if (KnownKind(key, &want) && (!ok || f.kind != want)) {
      return Garbage("has a \"" + key + "\" of the wrong type");
    }
    if (!ok) continue;  // a newer side's key of another shape
    if (fields.size() == kMaxErrorFields) {
      return Status::ResourceExhausted("the error answer has more than " +
                                       std::to_string(kMaxErrorFields) +
                                       " fields");
    }
    fields.push_back(std::move(f));
  }
  Status out = Status::FromCode(code, std::move(message));
  if (!error_text.empty() && error_text != CodeName(code)) {
    out.WithReason(std::move(error_text));
  }
  for (StatusField& f : fields) out.With(std::move(f));
  *error = std::move(out);
  return Status();
}

}  // namespace kbo
