#include "shared/status.h"

namespace kbo {

namespace {

struct CodeRow {
  Code code;
  const char* name;  // the JSON "error" field
  int http;
  int exit;
};

// Indexed by the enum's value; a test checks every row sits at its code.
constexpr CodeRow kCodes[] = {
    {Code::kOk, "ok", 200, 0},
    {Code::kInvalidArgument, "invalid_argument", 400, 2},
    {Code::kNotFound, "not_found", 404, 3},
    {Code::kAlreadyExists, "already_exists", 409, 1},
    {Code::kCorruption, "bad_change_set", 400, 2},
    {Code::kUnavailable, "unavailable", 503, 4},
    {Code::kUnauthenticated, "unauthenticated", 401, 5},
    {Code::kPermissionDenied, "out_of_scope", 403, 5},
    {Code::kSequenceGap, "sequence_gap", 409, 5},
    {Code::kFailedPrecondition, "failed_precondition", 409, 1},
    {Code::kResourceExhausted, "too_large", 413, 1},
    {Code::kIOError, "io_error", 500, 1},
    {Code::kInternal, "internal", 500, 1},
};
constexpr size_t kCodeCount = sizeof(kCodes) / sizeof(kCodes[0]);
static_assert(static_cast<size_t>(Code::kInternal) + 1 == kCodeCount,
              "every Code has one row in kCodes");

const CodeRow& RowOf(Code code) {
  const auto i = static_cast<size_t>(code);
  // A value outside the enum (a cast from a bad integer) is an internal error.
  return i < kCodeCount ? kCodes[i] : kCodes[kCodeCount - 1];
}

}  // namespace

const char* CodeName(Code code) { return RowOf(code).name; }
int HttpStatusFor(Code code) { return RowOf(code).http; }
int ExitCodeFor(Code code) { return RowOf(code).exit; }

bool CodeFromName(std::string_view name, Code* code) {
  for (const CodeRow& row : kCodes) {
    if (name == row.name) {
      *code = row.code;
      return true;
    }
  }
  return false;
}

namespace {
const std::string& EmptyText() {
  static const std::string* const kEmpty = new std::string();
  return *kEmpty;
}
const std::vector<StatusField>& NoFields() {
  static const auto* const kNone = new std::vector<StatusField>();
  return *kNone;
}
}  // namespace

Status::Status(Code code, std::string msg) : code_(code) {
  if (code_ != Code::kOk) rep_.reset(new Rep{std::move(msg), {}, {}});
}

Status::Status(const Status& other)
    : code_(other.code_),
      rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    code_ = other.code_;
    rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  }
  return *this;
}

const std::string& Status::message() const {
  return rep_ ? rep_->message : EmptyText();
}
const std::string& Status::reason() const {
  return rep_ ? rep_->reason : EmptyText();
}
std::string_view Status::ReasonOrCodeName() const {
  if (rep_ && !rep_->reason.empty()) return rep_->reason;
  return CodeName(code_);
}
const std::vector<StatusField>& Status::fields() const {
  return rep_ ? rep_->fields : NoFields();
}
const StatusField* Status::Field(std::string_view name) const {
  if (!rep_) return nullptr;
  for (const StatusField& f : rep_->fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}
const std::string* Status::TextField(std::string_view name) const {
  const StatusField* f = Field(name);
  return f && f->kind == StatusField::Kind::kText ? &f->text : nullptr;
}
const int64_t* Status::IntegerField(std::string_view name) const {
  const StatusField* f = Field(name);
  return f && f->kind == StatusField::Kind::kInteger ? &f->integer : nullptr;
}
const std::vector<std::pair<std::string, std::string>>* Status::TextsField(
    std::string_view name) const {
  const StatusField* f = Field(name);
  return f && f->kind == StatusField::Kind::kTexts ? &f->texts : nullptr;
}

Status& Status::WithReason(std::string reason) & {
  if (rep_) rep_->reason = std::move(reason);
  return *this;
}
Status Status::WithReason(std::string reason) && {
  WithReason(std::move(reason));
  return std::move(*this);
}

Status& Status::With(StatusField f) & {
  if (!rep_) return *this;
  for (StatusField& old : rep_->fields) {
    if (old.name == f.name) {
      old = std::move(f);
      return *this;
    }
  }
  rep_->fields.push_back(std::move(f));
  return *this;
}
Status Status::With(StatusField f) && {
  With(std::move(f));
  return std::move(*this);
}

Status& Status::With(std::string_view name, std::string text) & {
  if (!rep_) return *this;
  StatusField f;
  f.name = std::string(name);
  f.kind = StatusField::Kind::kText;
  f.text = std::move(text);
  return With(std::move(f));
}
Status Status::With(std::string_view name, std::string text) && {
  With(name, std::move(text));
  return std::move(*this);
}

Status& Status::WithInteger(std::string_view name, int64_t integer) & {
  if (!rep_) return *this;
  StatusField f;
  f.name = std::string(name);
  f.kind = StatusField::Kind::kInteger;
  f.integer = integer;
  return With(std::move(f));
}
Status Status::WithInteger(std::string_view name, int64_t integer) && {
  WithInteger(name, integer);
  return std::move(*this);
}

Status& Status::With(std::string_view name,
                     std::vector<std::pair<std::string, std::string>> texts) & {
  if (!rep_) return *this;
  StatusField f;
  f.name = std::string(name);
  f.kind = StatusField::Kind::kTexts;
  f.texts = std::move(texts);
  return With(std::move(f));
}
Status Status::With(std::string_view name,
                    std::vector<std::pair<std::string, std::string>> texts) && {
  With(name, std::move(texts));
  return std::move(*this);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message();
}

}  // namespace kbo
