#include "shared/wire.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <utility>

#include "shared/bytes.h"

namespace kbo::wire {
namespace {

using json = nlohmann::json;

// Never throws: a discarded value if the text is not JSON. nlohmann's own
// depth is bounded by the input size, which every caller caps.
json ParseText(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr,
                     /*allow_exceptions=*/false);
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsHexDigits(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
          (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// Reads the fields of one JSON object of message `what`; every refusal is a
// Status of `code` naming the message and the field ("the push receipt's
// \"seq\" is not a whole number"). Nothing here throws: each value's type is
// checked before it is read.
class Fields {
 public:
  Fields(const json& obj, std::string what, Code code)
      : obj_(obj), what_(std::move(what)), code_(code) {}

  Status Bad(std::string_view field, std::string_view why) const {
    return Status::FromCode(code_, what_ + "'s \"" + std::string(field) +
                                       "\" " + std::string(why));
  }

  const json* Find(const char* name) const {
    auto it = obj_.find(name);
    return it == obj_.end() ? nullptr : &*it;
  }

  // Each reader: kRequired refuses an absent field, kOptional leaves `out`
  // as it is.
  enum Need { kRequired, kOptional };

  Status Text(const char* name, size_t max, std::string* out,
              Need need = kRequired) const {
    const json* v = Find(name);
    if (v == nullptr) return need == kOptional ? Status() : Bad(name, "is missing");
    if (!v->is_string()) return Bad(name, "is not text");
    const std::string& s = v->get_ref<const std::string&>();
    if (s.size() > max) {
      return Bad(name, "is longer than " + std::to_string(max) + " bytes");
    }
    *out = s;
    return Status();
  }

  Status U64(const char* name, uint64_t* out, Need need = kRequired) const {
    const json* v = Find(name);
    if (v == nullptr) return need == kOptional ? Status() : Bad(name, "is missing");
    // nlohmann reads every non-negative integer as unsigned.
    if (!v->is_number_unsigned()) return Bad(name, "is not a whole number");
    *out = v->get<uint64_t>();
    return Status();
  }

  Status Bool(const char* name, bool* out, Need need = kRequired) const {
    const json* v = Find(name);
    if (v == nullptr) return need == kOptional ? Status() : Bad(name, "is missing");
    if (!v->is_boolean()) return Bad(name, "is not true or false");
    *out = v->get<bool>();
    return Status();
  }

  // Absent or null -> nullopt; else a text of at most `max` bytes.
  Status NullableText(const char* name, size_t max,
                      std::optional<std::string>* out) const {
    return Nullable(name, out, [&](std::string* v) { return Text(name, max, v); });
  }

  Status NullableU64(const char* name, std::optional<uint64_t>* out) const {
    return Nullable(name, out, [&](uint64_t* v) { return U64(name, v); });
  }

  // A JSON array of at most `max` entries.
  Status Array(const char* name, size_t max, const json** out) const {
    const json* v = Find(name);
    if (v == nullptr) return Bad(name, "is missing");
    if (!v->is_array()) return Bad(name, "is not a list");
    if (v->size() > max) {
      return Bad(name, "has more than " + std::to_string(max) + " entries");
    }
    *out = v;
    return Status();
  }

  Status Sig(const char* name, kbo::Signature* out) const {
    std::string hex;
    if (Status s = Text(name, 128, &hex); !s.ok()) return s;
    Result<kbo::Signature> sig = SignatureFromHex(hex);
    if (!sig.ok()) return Bad(name, "is not a signature (128 hex digits)");
    *out = *sig;
    return Status();
  }

 private:
  template <typename T, typename Read>
  Status Nullable(const char* name, std::optional<T>* out, Read read) const {
    const json* v = Find(name);
    if (v == nullptr || v->is_null()) {
      out->reset();
      return Status();
    }
    T value{};
    if (Status s = read(&value); !s.ok()) return s;
    *out = std::move(value);
    return Status();
  }

  const json& obj_;
  std::string what_;
  Code code_;
};

// Keeps the first refusal of a run of field reads: step(f.Text(...)); ...
// then one check.
class FirstError {
 public:
  void operator()(Status s) {
    if (status_.ok()) status_ = std::move(s);
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// The whole text as one JSON object, or a Status of `code`.
Status ParseObject(std::string_view text, const std::string& what, Code code,
                   json* out) {
  *out = ParseText(text);
  if (out->is_discarded()) {
    return Status::FromCode(code, what + " is not JSON");
  }
  if (!out->is_object()) {
    return Status::FromCode(code, what + " is not a JSON object");
  }
  return Status();
}

json NullOr(const std::optional<std::string>& v) {
  return v ? json(*v) : json(nullptr);
}

json ConflictObject(const ConflictRecord& c) {
  return {{"id", c.id},
          {"entity", c.entity},
          {"row_id", c.row_id},
          {"column_name", c.column_name},
          {"district_code", NullOr(c.district_code)},
          {"current_value", NullOr(c.current_value)},
          {"current_type", c.current_type},
          {"current_device", c.current_device},
          {"current_hlc", c.current_hlc},
          {"current_time", c.current_time},
          {"current_seq", c.current_seq},
          {"incoming_value", NullOr(c.incoming_value)},
          {"incoming_type", c.incoming_type},
          {"incoming_device", c.incoming_device},
          {"incoming_hlc", c.incoming_hlc},
          {"incoming_time", c.incoming_time},
          {"incoming_base", c.incoming_base},
          {"incoming_seq", c.incoming_seq},
          {"winner", c.winner},
          {"detected_at", c.detected_at},
          {"resolved", c.resolved},
          {"resolved_at", NullOr(c.resolved_at)},
          {"resolved_value", NullOr(c.resolved_value)},
          {"resolution_seq",
           c.resolution_seq ? json(*c.resolution_seq) : json(nullptr)},
          {"resolved_by", NullOr(c.resolved_by)},
          {"resolution_reason", NullOr(c.resolution_reason)},
          {"feed_seq", c.feed_seq}};
}

Status ConflictFrom(const json& j, const std::string& what,
                    ConflictRecord* out) {
  if (!j.is_object()) {
    return Status::Corruption(what + " is not a JSON object");
  }
  const Fields f(j, what, Code::kCorruption);
  const Fields::Need opt = Fields::kOptional;  // an older server's record
  ConflictRecord c;
  FirstError step;
  step(f.Text("id", kMaxShortText, &c.id));
  step(f.Text("entity", kMaxShortText, &c.entity));
  step(f.Text("row_id", kMaxShortText, &c.row_id));
  step(f.Text("column_name", kMaxShortText, &c.column_name));
  step(f.U64("feed_seq", &c.feed_seq));
  step(f.NullableText("district_code", kMaxShortText, &c.district_code));
  step(f.NullableText("current_value", kMaxValueText, &c.current_value));
  step(f.Text("current_type", kMaxShortText, &c.current_type, opt));
  step(f.Text("current_device", kMaxShortText, &c.current_device, opt));
  step(f.Text("current_hlc", kMaxShortText, &c.current_hlc, opt));
  step(f.Text("current_time", kMaxShortText, &c.current_time, opt));
  step(f.U64("current_seq", &c.current_seq, opt));
  step(f.NullableText("incoming_value", kMaxValueText, &c.incoming_value));
  step(f.Text("incoming_type", kMaxShortText, &c.incoming_type, opt));
  step(f.Text("incoming_device", kMaxShortText, &c.incoming_device, opt));
  step(f.Text("incoming_hlc", kMaxShortText, &c.incoming_hlc, opt));
  step(f.Text("incoming_time", kMaxShortText, &c.incoming_time, opt));
  step(f.U64("incoming_base", &c.incoming_base, opt));
  step(f.U64("incoming_seq", &c.incoming_seq, opt));
  step(f.Text("winner", kMaxShortText, &c.winner, opt));
  step(f.Text("detected_at", kMaxShortText, &c.detected_at, opt));
  step(f.Bool("resolved", &c.resolved, opt));
  step(f.NullableText("resolved_at", kMaxShortText, &c.resolved_at));
  step(f.NullableText("resolved_value", kMaxValueText, &c.resolved_value));
  step(f.NullableU64("resolution_seq", &c.resolution_seq));
  step(f.NullableText("resolved_by", kMaxShortText, &c.resolved_by));
  step(f.NullableText("resolution_reason", kMaxValueText,
                      &c.resolution_reason));
  if (!step.ok()) return step.status();
  *out = std::move(c);
  return Status();
}

}  // namespace

// ---- Enrolment

Result<std::string> EncodeEnrollRequest(const EnrollRequest& r) {
  json j = {{"token", r.token},
            {"device_id", r.device_id.ToString()},
            {"public_key", r.public_key.ToHex()}};
  if (r.clock_ms) j["clock_ms"] = *r.clock_ms;
  if (r.predecessor) {
    j["predecessor"] = {{"device_id", r.predecessor->device_id.ToString()},
                        {"signature", SignatureToHex(r.predecessor->signature)}};
  }
  // A token is typed by a person: refuse text that is not UTF-8 rather than
  // send something else than was typed. dump() throws only for that.
  try {
    return j.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    return Status::InvalidArgument("the token is not valid UTF-8 text");
  }
}

Result<EnrollRequest> ParseEnrollRequest(std::string_view json_text) {
  const std::string what = "the enrolment request";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kInvalidArgument, &j);
      !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kInvalidArgument);
  EnrollRequest r;
  std::string device, key;
  if (Status s = f.Text("token", kMaxShortText, &r.token); !s.ok()) return s;
  if (Status s = f.Text("device_id", kMaxShortText, &device); !s.ok()) return s;
  if (Status s = f.Text("public_key", kMaxShortText, &key); !s.ok()) return s;
  if (r.token.size() != 64 || !IsHexDigits(r.token)) {
    return f.Bad("token",
                 "must be the 64 hex digits printed by `kbo-server token "
                 "create`");
  }
  Result<Uuid> id = Uuid::Parse(device);
  if (!id.ok() || id->IsNil()) return f.Bad("device_id", "must be a uuid");
  r.device_id = *id;
  Result<PublicKey> pk = PublicKey::FromHex(key);
  if (!pk.ok()) return f.Bad("public_key", "must be 64 hex digits (Ed25519)");
  r.public_key = *pk;
  if (const json* c = f.Find("clock_ms"); c != nullptr && !c->is_null()) {
    if (!c->is_number_integer()) {
      return f.Bad("clock_ms", "must be a whole number of milliseconds");
    }
    r.clock_ms = c->get<int64_t>();
  }
  if (const json* p = f.Find("predecessor"); p != nullptr && !p->is_null()) {
    const auto text = [&](const char* name, size_t max) -> const std::string* {
      if (!p->is_object()) return nullptr;
      const auto it = p->find(name);
      if (it == p->end() || !it->is_string()) return nullptr;
      const std::string* s = it->get_ptr<const std::string*>();
      return s->size() <= max ? s : nullptr;
    };
    const std::string* old = text("device_id", kMaxShortText);
    const std::string* sig = text("signature", 128);
    Result<Uuid> old_id = old ? Uuid::Parse(*old) : Result<Uuid>(Status::InvalidArgument(""));
    Result<Signature> signature =
        sig ? SignatureFromHex(*sig) : Result<Signature>(Status::InvalidArgument(""));
    if (!old_id.ok() || old_id->IsNil() || !signature.ok()) {
      return f.Bad("predecessor",
                   "must be {\"device_id\": a uuid, \"signature\": 128 hex digits}");
    }
    r.predecessor = EnrollPredecessor{*old_id, *signature};
  }
  return r;
}

std::string SuccessorMessage(const Uuid& old_device, const Uuid& new_device,
                             const PublicKey& new_key) {
  return old_device.ToString() + "\n" + new_device.ToString() + "\n" + new_key.ToHex();
}

std::string EncodeEnrollReply(const EnrollReply& r) {
  return Dump({{"device_id", r.device_id.ToString()},
               {"role", r.role},
               {"districts", r.districts},
               {"server_id", r.server_id.ToString()},
               {"server_public_key", r.server_public_key.ToHex()},
               {"protocol", r.protocol}});
}

Result<EnrollReply> ParseEnrollReply(std::string_view json_text) {
  const std::string what = "the enrolment answer";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kCorruption);
  EnrollReply r;
  std::string device, server, key;
  const json* districts = nullptr;
  FirstError step;
  step(f.Text("device_id", kMaxShortText, &device));
  step(f.Text("role", kMaxShortText, &r.role));
  step(f.Array("districts", kMaxDistricts, &districts));
  step(f.Text("server_id", kMaxShortText, &server));
  step(f.Text("server_public_key", kMaxShortText, &key));
  if (const json* p = f.Find("protocol"); p == nullptr) {
    step(f.Bad("protocol", "is missing"));
  } else if (!p->is_number_integer()) {
    step(f.Bad("protocol", "is not a whole number"));
  } else {
    r.protocol = p->get<int64_t>();
  }
  if (!step.ok()) return step.status();
  if (r.role.empty()) return f.Bad("role", "is empty");
  Result<Uuid> id = Uuid::Parse(device);
  if (!id.ok()) return f.Bad("device_id", "is not a uuid");
  r.device_id = *id;
  Result<Uuid> sid = Uuid::Parse(server);
  if (!sid.ok()) return f.Bad("server_id", "is not a uuid");
  r.server_id = *sid;
  Result<PublicKey> pk = PublicKey::FromHex(key);
  if (!pk.ok()) return f.Bad("server_public_key", "is not a public key");
  r.server_public_key = *pk;
  if (districts->empty()) return f.Bad("districts", "is empty");
  for (const json& d : *districts) {
    if (!d.is_string() || d.get_ref<const std::string&>().empty() ||
        d.get_ref<const std::string&>().size() > kMaxShortText) {
      return f.Bad("districts", "holds an entry that is not a district code");
    }
    r.districts.push_back(d.get<std::string>());
  }
  return r;
}

// ---- Push receipt

ReceiptAnswer SignReceipt(const KeyPair& server_key, protocol::Receipt receipt) {
  ReceiptAnswer a;
  a.signature =
      server_key.Sign(kReceiptDomain, protocol::ReceiptMessage(receipt));
  if (!receipt.server_rows.empty()) {
    a.rows_signature = server_key.Sign(kReceiptDomain,
                                       protocol::ReceiptRowsMessage(receipt));
  }
  a.receipt = std::move(receipt);
  return a;
}

std::string EncodeReceiptAnswer(const ReceiptAnswer& a) {
  const protocol::Receipt& r = a.receipt;
  json receipt = {{"device_id", r.device_id},
                  {"seq", r.seq},
                  {"hash", r.hash},
                  {"first_server_seq", r.first_server_seq},
                  {"last_server_seq", r.last_server_seq},
                  {"rows", r.rows},
                  {"conflicts", r.conflicts},
                  {"received_at", r.received_at}};
  if (!r.refused.empty()) {
    json list = json::array();
    for (const protocol::RefusedRow& x : r.refused) {
      list.push_back({{"index", x.index},
                      {"entity", x.entity},
                      {"row_id", x.row_id},
                      {"reason", x.reason},
                      {"message", x.message}});
    }
    receipt["refused"] = std::move(list);
  }
  if (!r.server_rows.empty()) receipt["server_rows"] = HexEncode(r.server_rows);
  json body = {{"receipt", std::move(receipt)},
               {"signature", SignatureToHex(a.signature)}};
  if (a.rows_signature) {
    body["rows_signature"] = SignatureToHex(*a.rows_signature);
  }
  return Dump(body);
}

Result<ReceiptAnswer> ParseReceiptAnswer(std::string_view json_text) {
  const std::string what = "the push receipt";
  json top;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &top);
      !s.ok()) {
    return s;
  }
  const Fields outer(top, what, Code::kCorruption);
  ReceiptAnswer a;
  if (Status s = outer.Sig("signature", &a.signature); !s.ok()) return s;
  const json* inner = outer.Find("receipt");
  if (inner == nullptr) return outer.Bad("receipt", "is missing");
  if (!inner->is_object()) return outer.Bad("receipt", "is not an object");
  const Fields f(*inner, what, Code::kCorruption);
  protocol::Receipt& r = a.receipt;
  FirstError step;
  step(f.Text("device_id", kMaxShortText, &r.device_id));
  step(f.U64("seq", &r.seq));
  step(f.Text("hash", kMaxShortText, &r.hash));
  step(f.U64("first_server_seq", &r.first_server_seq));
  step(f.U64("last_server_seq", &r.last_server_seq));
  step(f.U64("rows", &r.rows));
  step(f.U64("conflicts", &r.conflicts));
  step(f.Text("received_at", kMaxShortText, &r.received_at));
  if (!step.ok()) return step.status();
  if (f.Find("refused") != nullptr) {
    // Rows the server kept for the office instead of applying (DESIGN §6).
    const json* list = nullptr;
    if (Status st = f.Array("refused", kMaxRefusedRows, &list); !st.ok()) {
      return st;
    }
    r.refused.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
      const json& x = (*list)[i];
      const std::string at = what + "'s refused row " + std::to_string(i);
      if (!x.is_object()) return Status::Corruption(at + " is not an object");
      const Fields g(x, at, Code::kCorruption);
      protocol::RefusedRow row;
      step(g.U64("index", &row.index));
      step(g.Text("entity", kMaxShortText, &row.entity));
      step(g.Text("row_id", kMaxShortText, &row.row_id));
      step(g.Text("reason", kMaxShortText, &row.reason));
      step(g.Text("message", kMaxMessageText, &row.message));
      if (!step.ok()) return step.status();
      r.refused.push_back(std::move(row));
    }
  }
  if (f.Find("server_rows") != nullptr) {
    // Issue 9: the server's rows of refused edits and deletes, under a
    // second signature (docs/protocol.md §5).
    std::string hex;
    if (Status st = f.Text("server_rows", 2 * protocol::kMaxReceiptServerRowsBytes,
                           &hex);
        !st.ok()) {
      return st;
    }
    Result<std::string> bytes = HexDecode(hex);
    if (!bytes.ok()) return f.Bad("server_rows", "is not hex");
    r.server_rows = std::move(*bytes);
    if (outer.Find("rows_signature") == nullptr) {
      return outer.Bad("rows_signature",
                       "is missing (the receipt carries server_rows)");
    }
  }
  if (outer.Find("rows_signature") != nullptr) {
    kbo::Signature sig{};
    if (Status st = outer.Sig("rows_signature", &sig); !st.ok()) return st;
    a.rows_signature = sig;
  }
  return a;
}

// ---- Pull page body

std::string EncodePullPage(uint16_t schema_version, std::vector<RowChange> rows) {
  ChangeSet cs;  // device nil, seq 0, prev_hash zero
  cs.schema_version = schema_version;
  cs.rows = std::move(rows);
  return EncodeChangeSet(cs);
}

Result<ChangeSet> DecodePullPage(std::string_view bytes,
                                 const DecodeLimits& limits) {
  Result<ChangeSet> cs = DecodeChangeSet(bytes, limits);
  if (!cs.ok()) return cs.status();
  if (!cs->device.IsNil()) {
    return Status::Corruption("the server's rows name device " +
                              cs->device.ToString() + ", not none");
  }
  if (cs->seq != 0) {
    return Status::Corruption("the server's rows carry sequence " +
                              std::to_string(cs->seq) + ", not 0");
  }
  return cs;
}

// ---- Conflicts

std::string EncodeConflict(const ConflictRecord& c) {
  return Dump(ConflictObject(c));
}

Result<ConflictRecord> ParseConflict(std::string_view json_text) {
  const std::string what = "the conflict record";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  ConflictRecord c;
  if (Status s = ConflictFrom(j, what, &c); !s.ok()) return s;
  return c;
}

std::string EncodeConflictsPage(const ConflictsPage& page) {
  // Keys in this order (not nlohmann's sorted one): the bytes the server
  // has always signed.
  std::string body = "{\"conflicts\":[";
  for (size_t i = 0; i < page.conflicts.size(); ++i) {
    if (i > 0) body += ',';
    body += EncodeConflict(page.conflicts[i]);
  }
  body += "],\"next\":" + std::to_string(page.next) +
          ",\"more\":" + (page.more ? "true" : "false") + "}";
  return body;
}

Result<ConflictsPage> ParseConflictsPage(std::string_view json_text) {
  const std::string what = "the conflict list";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kCorruption);
  ConflictsPage page;
  const json* list = nullptr;
  if (Status s = f.Array("conflicts", kMaxConflictsPerPage, &list); !s.ok()) {
    return s;
  }
  if (Status s = f.U64("next", &page.next); !s.ok()) return s;
  if (Status s = f.Bool("more", &page.more); !s.ok()) return s;
  page.conflicts.resize(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    if (Status s = ConflictFrom((*list)[i],
                                what + "'s record " + std::to_string(i),
                                &page.conflicts[i]);
        !s.ok()) {
      return s;
    }
  }
  return page;
}

// ---- Blobs

std::string EncodeBlobState(const BlobState& s) {
  return Dump({{"sha256", s.sha256},
               {"received", s.received},
               {"total", s.total},
               {"complete", s.complete}});
}

Result<BlobState> ParseBlobState(std::string_view json_text) {
  const std::string what = "the blob state";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kCorruption);
  BlobState b;
  FirstError step;
  step(f.Text("sha256", kMaxShortText, &b.sha256));
  step(f.U64("received", &b.received));
  step(f.U64("total", &b.total));
  step(f.Bool("complete", &b.complete));
  if (!step.ok()) return step.status();
  if (b.received > b.total) {
    return f.Bad("received", "is more than \"total\"");
  }
  return b;
}

namespace {

// The list `name` of `f`: at most `max` entries, each a blob's name (64
// lowercase hex digits).
Status BlobNames(const Fields& f, const char* name, size_t max,
                 std::vector<std::string>* out) {
  const json* list = nullptr;
  if (Status s = f.Array(name, max, &list); !s.ok()) return s;
  out->reserve(list->size());
  for (const json& x : *list) {
    if (!x.is_string() || x.get_ref<const std::string&>().size() != 64 ||
        !IsLowerHex(x.get_ref<const std::string&>())) {
      return f.Bad(name, "holds an entry that is not 64 lowercase hex digits");
    }
    out->push_back(x.get<std::string>());
  }
  return Status();
}

}  // namespace

std::string EncodeMissingBlobs(const std::vector<std::string>& sha256s) {
  return Dump({{"missing", sha256s}});
}

Result<std::vector<std::string>> ParseMissingBlobs(std::string_view json_text) {
  const std::string what = "the missing blob list";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  std::vector<std::string> out;
  if (Status s = BlobNames(Fields(j, what, Code::kCorruption), "missing",
                           kMaxMissingBlobs, &out);
      !s.ok()) {
    return s;
  }
  return out;
}

std::string EncodeOriginalNotice(const OriginalNotice& n) {
  if (!n.declined.empty()) {
    return Dump({{"declined", n.declined}, {"photo_id", n.photo_id.ToString()}});
  }
  return Dump({{"bytes", n.bytes},
               {"mime", n.mime},
               {"photo_id", n.photo_id.ToString()},
               {"sha256", n.sha256},
               {"upload_sha256", n.upload_sha256}});
}

Result<OriginalNotice> ParseOriginalNotice(std::string_view json_text) {
  const std::string what = "the original's notice";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kInvalidArgument, &j);
      !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kInvalidArgument);
  OriginalNotice n;
  std::string photo;
  if (Status s = f.Text("photo_id", kMaxShortText, &photo); !s.ok()) return s;
  Result<Uuid> id = Uuid::Parse(photo);
  if (!id.ok() || id->IsNil()) return f.Bad("photo_id", "must be a uuid");
  n.photo_id = *id;
  if (f.Find("declined") != nullptr) {
    if (Status s = f.Text("declined", kMaxShortText, &n.declined); !s.ok()) return s;
    bool known = false;
    for (const char* reason : kDeclineReasons) known = known || n.declined == reason;
    if (!known) return f.Bad("declined", "must be no_original or missing");
    for (const char* other : {"upload_sha256", "sha256", "bytes", "mime"}) {
      if (f.Find(other) != nullptr) return f.Bad(other, "comes with no \"declined\"");
    }
    return n;
  }
  if (Status s = f.Text("upload_sha256", kMaxShortText, &n.upload_sha256); !s.ok()) {
    return s;
  }
  if (Status s = f.Text("sha256", kMaxShortText, &n.sha256); !s.ok()) return s;
  if (Status s = f.U64("bytes", &n.bytes); !s.ok()) return s;
  if (Status s = f.Text("mime", kMaxShortText, &n.mime); !s.ok()) return s;
  for (const auto& [name, sha] : {std::pair<const char*, const std::string*>{
                                      "upload_sha256", &n.upload_sha256},
                                  {"sha256", &n.sha256}}) {
    if (sha->size() != 64 || !IsLowerHex(*sha)) {
      return f.Bad(name, "must be 64 lowercase hex digits");
    }
  }
  if (n.bytes == 0 || n.bytes > kMaxOriginalBytes) {
    return f.Bad("bytes", "must be from 1 to " +
                              std::to_string(kMaxOriginalBytes) + " bytes");
  }
  if (n.mime != "image/jpeg" && n.mime != "image/png") {
    return f.Bad("mime", "must be image/jpeg or image/png");
  }
  return n;
}

std::string EncodeOriginalRequests(const std::vector<Uuid>& photo_ids) {
  std::vector<std::string> ids;
  ids.reserve(photo_ids.size());
  for (const Uuid& id : photo_ids) ids.push_back(id.ToString());
  return Dump({{"requested", ids}});
}

Result<std::vector<Uuid>> ParseOriginalRequests(std::string_view json_text) {
  const std::string what = "the list of originals asked for";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kCorruption, &j); !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kCorruption);
  const json* list = nullptr;
  if (Status s = f.Array("requested", kMaxMissingBlobs, &list); !s.ok()) return s;
  std::vector<Uuid> out;
  out.reserve(list->size());
  for (const json& x : *list) {
    Result<Uuid> id = x.is_string() ? Uuid::Parse(x.get_ref<const std::string&>())
                                    : Result<Uuid>(Status::Corruption(""));
    if (!id.ok() || id->IsNil()) return f.Bad("requested", "holds an entry that is not a uuid");
    out.push_back(*id);
  }
  return out;
}

}  // namespace kbo::wire

namespace kbo::wire {

std::string EncodeThumbsRequest(const std::vector<std::string>& sha256s) {
  return Dump({{"sha256", sha256s}});
}

Result<std::vector<std::string>> ParseThumbsRequest(std::string_view json_text) {
  const std::string what = "the thumbnails request";
  json j;
  if (Status s = ParseObject(json_text, what, Code::kInvalidArgument, &j); !s.ok()) {
    return s;
  }
  const Fields f(j, what, Code::kInvalidArgument);
  std::vector<std::string> out;
  if (Status s = BlobNames(f, "sha256", protocol::kThumbsPerRequest, &out); !s.ok()) {
    return s;
  }
  if (out.empty()) return f.Bad("sha256", "is empty");
  std::vector<std::string> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    return f.Bad("sha256", "names a photo twice");
  }
  return out;
}

namespace {
constexpr std::string_view kThumbsMagic = "KBOTHUMB1";
}  // namespace

std::string EncodeThumbs(const std::vector<ThumbAnswer>& answers) {
  size_t size = kThumbsMagic.size();
  for (const ThumbAnswer& a : answers) size += 5 + a.jpeg.size();
  std::string out;
  out.reserve(size);
  out.append(kThumbsMagic);
  ByteWriter w(&out);
  for (const ThumbAnswer& a : answers) {
    w.U8(static_cast<uint8_t>(a.state));
    if (a.state == ThumbState::kThumb) {
      w.U32(static_cast<uint32_t>(a.jpeg.size()));
      out.append(a.jpeg);
    }
  }
  return out;
}

Result<std::vector<ThumbAnswer>> ParseThumbs(std::string_view bytes, size_t count) {
  ByteReader r(bytes);
  if (!r.Expect(kThumbsMagic, "a thumbnails answer")) return r.status();
  std::vector<ThumbAnswer> out;
  out.reserve(std::min(count, protocol::kThumbsPerRequest));
  for (size_t i = 0; i < count; ++i) {
    uint8_t state = 0;
    if (!r.U8(&state, "a thumbnail's state")) return r.status();
    if (state > static_cast<uint8_t>(ThumbState::kLater)) {
      r.Fail("a thumbnail's state is " + std::to_string(state) + ", not 0 to 4");
      return r.status();
    }
    ThumbAnswer a;
    a.state = static_cast<ThumbState>(state);
    if (a.state == ThumbState::kThumb) {
      size_t len = 0;
      std::string_view jpeg;
      if (!r.Length32(&len, protocol::kMaxThumbBytes, "a thumbnail") ||
          !r.View(len, &jpeg, "a thumbnail")) {
        return r.status();
      }
      a.jpeg.assign(jpeg);
    }
    out.push_back(std::move(a));
  }
  if (!r.empty()) {
    r.Fail(std::to_string(r.remaining()) + " bytes after the last thumbnail");
    return r.status();
  }
  return out;
}

}  // namespace kbo::wire
