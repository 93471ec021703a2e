#include "server/conflict_view.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "server/data_quality.h"
#include "server/row_names.h"
#include "server/storage/conflicts.h"
#include "server/storage/devices.h"
#include "server/storage/server_state.h"
#include "shared/entities.h"
#include "shared/hlc.h"

namespace kbo::server {
namespace {

using nlohmann::json;

std::string Word(Lang lang, const char* th, const char* en) {
  return lang == Lang::kTh ? th : en;
}

// A stored display text back to a value of its column, so it can be shown
// as a label; the text itself if it does not parse.
Value ValueOfText(std::string_view entity_name, std::string_view column,
                  const std::string& text) {
  if (text.empty()) return Value();
  const Entity* entity = FindEntity(entity_name);
  if (column == kDeletedColumn) {
    return Value::Integer(text == "1" ? 1 : 0);
  }
  if (entity != nullptr) {
    if (const Column* col = entity->FindColumn(column)) {
      Result<Value> v = ParseCellText(*entity, *col, text);
      if (v.ok()) return *v;
    }
  }
  return Value::Text(text);
}

std::string DeletedLabel(Lang lang, const Value& v) {
  if (v.is_null()) return "";
  const bool deleted = v.type() == Value::Type::kInteger && v.integer() != 0;
  return deleted ? Word(lang, "ลบแล้ว", "deleted")
                 : Word(lang, "ไม่ลบ", "not deleted");
}

WriteView SideOf(Lang lang, const ConflictRecord& c, const Value& value,
                 const std::string& device, const std::string& hlc_text,
                 uint64_t seq, const std::string& server_id,
                 const std::map<std::string, DeviceLabel>& labels,
                 const std::map<uint64_t, std::string>& resolvers) {
  WriteView w;
  w.value_null = value.is_null();
  w.value_text = value.is_null() ? "" : value.ToDisplay();
  w.value = c.column_name == kDeletedColumn
                ? DeletedLabel(lang, value)
                : ValueLabel(lang, c.entity, c.column_name, value);
  // The incoming side of a conflict on `deleted` that is a device's 0
  // against a delete: its edit (or re-recording) of the row, made before it
  // heard of the delete (shared/replica/apply.cc).
  if (&value == &c.incoming_value && c.column_name == kDeletedColumn &&
      device != server_id && value.type() == Value::Type::kInteger &&
      value.integer() == 0 && c.current_value == Value::Integer(1)) {
    w.value = Word(lang, "แก้ไขรายการนี้โดยไม่รู้ว่าถูกลบ (ยังใช้อยู่)",
                   "edited it, not knowing it was deleted (still in use)");
  }
  // The current side of one that is a delete against an edit the deleter
  // had not seen (shared/replica/apply.cc): the edit.
  if (&value == &c.current_value && c.column_name == kDeletedColumn &&
      value.type() == Value::Type::kInteger && value.integer() == 0 &&
      c.incoming_value == Value::Integer(1)) {
    w.value = Word(lang, "แก้ไขรายการนี้ โดยผู้ลบยังไม่เห็นการแก้ไขนี้ (ยังใช้อยู่)",
                   "edited it; the delete was made without seeing this edit (still in use)");
  }
  auto r = resolvers.find(seq);
  w.writer = DescribeWriter(lang, device, server_id, labels,
                            r == resolvers.end() ? std::string() : r->second);
  w.seq = seq;
  Result<Hlc> h = Hlc::Parse(hlc_text);
  if (h.ok()) {
    w.when = FormatBangkokTime(lang, h->wall_ms);
    w.when_iso = FormatIsoUtc(h->wall_ms);
  }
  return w;
}

json WithJson(const std::vector<WrittenCell>& with) {
  json out = json::array();
  for (const WrittenCell& c : with) {
    out.push_back({{"column", c.column},
                   {"column_label", c.column_label},
                   {"value", c.value},
                   {"value_text", c.value_text},
                   {"applied", c.applied}});
  }
  return out;
}

json WriteJson(const WriteView& w) {
  return {{"value", w.value_null ? json(nullptr) : json(w.value)},
          {"value_text", w.value_null ? json(nullptr) : json(w.value_text)},
          {"who", w.writer.who},
          {"role", w.writer.role},
          {"role_code", w.writer.role_code},
          {"office", w.writer.office},
          {"device_id", w.writer.device_id},
          {"when", w.when},
          {"when_iso", w.when_iso},
          {"seq", w.seq},
          {"with", WithJson(w.with)}};
}

}  // namespace

Result<std::map<std::string, DeviceLabel>> LoadDeviceLabels(
    Db& db, const std::set<std::string>& device_ids) {
  Result<std::map<std::string, storage::DeviceLabelRow>> rows =
      storage::Devices(db).Labels(device_ids);
  if (!rows.ok()) return rows.status();
  std::map<std::string, DeviceLabel> out;
  for (auto& entry : *rows) {
    out[entry.first] = {std::move(entry.second.label),
                        std::move(entry.second.role)};
  }
  // A label more than one device has ("ครูสมศรี" twice): each with the
  // start of its id, everywhere the same, so the office can tell who said
  // what.
  Result<std::set<std::string>> shared = storage::Devices(db).SharedLabels();
  if (!shared.ok()) return shared.status();
  for (auto& [id, device] : out) {
    if (!device.label.empty() && shared->count(device.label) != 0) {
      device.label += " (" + id.substr(0, 8) + ")";
    }
  }
  return out;
}

Result<std::string> LoadServerId(Db& db) {
  Result<std::optional<std::string>> id = storage::ServerState(db).ServerId();
  if (!id.ok()) return id.status();
  return id->value_or(std::string());
}

std::string ActorLabel(Lang lang, std::string_view actor) {
  if (actor == "cli") {
    return Word(lang, "คำสั่งบนเซิร์ฟเวอร์", "the server's command line");
  }
  if (actor.size() > 5 && actor.substr(0, 5) == "user:") {
    return std::string(actor.substr(5));
  }
  return std::string(actor);
}

WriterInfo DescribeWriter(Lang lang, const std::string& device_id,
                          const std::string& server_id,
                          const std::map<std::string, DeviceLabel>& labels,
                          const std::string& office_actor) {
  WriterInfo w;
  w.device_id = device_id;
  if (!server_id.empty() && device_id == server_id) {
    w.office = true;
    w.who = office_actor.empty() ? Word(lang, "สำนักงาน", "the office")
                                 : ActorLabel(lang, office_actor);
    w.role_code = "central_office";
    w.role = RoleLabel(lang, w.role_code);
    return w;
  }
  auto it = labels.find(device_id);
  if (it != labels.end()) {
    w.role_code = it->second.role;
    w.role = RoleLabel(lang, it->second.role);
    if (!it->second.label.empty()) {
      w.who = it->second.label;
      return w;
    }
  }
  w.who = Word(lang, "อุปกรณ์ ", "device ") + device_id.substr(0, 8);
  return w;
}

namespace {

Result<std::vector<ConflictView>> Describe(
    Db& db, const std::vector<ConflictRecord>& conflicts, Lang lang) {
  // 1. Every row, device and server-side write the conflicts name, and the
  // writes made to open conflicts' cells since (shown instead of a side).
  Result<std::vector<std::optional<LaterWrite>>> laters =
      LaterWritesOf(db, conflicts);
  if (!laters.ok()) return laters.status();
  RowNames names(db);
  std::set<std::string> devices;
  std::set<uint64_t> seqs;
  for (const std::optional<LaterWrite>& later : *laters) {
    if (!later.has_value()) continue;
    devices.insert(later->device);
    seqs.insert(later->seq);
  }
  for (const ConflictRecord& c : conflicts) {
    names.Want(c.entity, c.row_id);
    devices.insert(c.current_device);
    devices.insert(c.incoming_device);
    seqs.insert(c.current_seq);
    seqs.insert(c.incoming_seq);
  }
  if (Status s = names.Load(3); !s.ok()) return s;
  Result<std::map<std::string, DeviceLabel>> labels =
      LoadDeviceLabels(db, devices);
  if (!labels.ok()) return labels.status();
  Result<std::string> server_id = LoadServerId(db);
  if (!server_id.ok()) return server_id.status();
  // Server-written values that were resolutions: who made them.
  Result<std::map<uint64_t, std::string>> resolved_by =
      storage::ConflictStore(db).ResolversOf(
          std::vector<uint64_t>(seqs.begin(), seqs.end()));
  if (!resolved_by.ok()) return resolved_by.status();
  const std::map<uint64_t, std::string>& resolvers = *resolved_by;

  // 2. Each view from what was loaded.
  std::vector<ConflictView> out;
  out.reserve(conflicts.size());
  for (size_t i = 0; i < conflicts.size(); ++i) {
    const ConflictRecord& c = conflicts[i];
    const std::optional<LaterWrite>& later = (*laters)[i];
    ConflictView v;
    v.conflict = c;
    v.entity_label = EntityLabel(lang, c.entity);
    v.column_label = c.column_name == kDeletedColumn
                         ? Word(lang, "การลบ", "deleted")
                         : ColumnLabel(lang, c.entity, c.column_name);
    if (!c.district_code.empty())
      v.district = DistrictLabel(lang, c.district_code);
    const RowNames::Context ctx = names.ContextOf(c.entity, c.row_id);
    v.producer_name = ctx.producer_name;
    v.workshop_title = ctx.workshop_title;
    v.participant_name = ctx.participant_name;
    v.product_name = ctx.product_name;
    v.day = ctx.day;
    std::vector<std::string> parts;
    if (c.entity == "producer" || c.entity == "visit") {
      if (!v.producer_name.empty()) parts.push_back(v.producer_name);
    }
    if (!v.product_name.empty()) parts.push_back(v.product_name);
    if (!v.workshop_title.empty()) parts.push_back(v.workshop_title);
    if (!v.participant_name.empty()) parts.push_back(v.participant_name);
    if (c.entity != "producer" && c.entity != "visit" &&
        !v.producer_name.empty() && v.participant_name != v.producer_name) {
      parts.push_back(v.producer_name);
    }
    if (v.day > 0) {
      parts.push_back(Word(lang, "วันที่ ", "day ") + std::to_string(v.day));
    }
    // A score is one judge's card in one contest: two judges' cards for
    // one product read alike without them (a walk-through).
    if (c.entity == "contest_score") {
      const std::string contest = names.Text(c.entity, c.row_id, "contest");
      const std::string judge = names.Text(c.entity, c.row_id, "judge");
      if (!contest.empty()) parts.push_back(contest);
      if (!judge.empty()) parts.push_back(Word(lang, "กรรมการ ", "judge ") + judge);
    }
    if (parts.empty()) {
      parts.push_back(v.entity_label + " " + c.row_id.substr(0, 8));
    }
    for (size_t k = 0; k < parts.size(); ++k) {
      v.subject += (k ? " · " : "") + parts[k];
    }
    v.current = SideOf(lang, c, c.current_value, c.current_device,
                       c.current_hlc, c.current_seq, *server_id, *labels,
                       resolvers);
    v.incoming = SideOf(lang, c, c.incoming_value, c.incoming_device,
                        c.incoming_hlc, c.incoming_seq, *server_id, *labels,
                        resolvers);
    if (later.has_value()) {
      v.later = SideOf(lang, c, later->value, later->device, later->hlc, later->seq,
                       *server_id, *labels, resolvers);
    }
    if (c.column_name == kDeletedColumn && c.entity == "producer" &&
        c.current_value == Value::Integer(1) && !c.resolved()) {
      // Not just deleted: merged into another group (one lookup per such
      // conflict; they are rare).
      Result<std::optional<MergedProducer>> merged =
          MergedInto(db, *server_id, c.row_id);
      if (!merged.ok()) return merged.status();
      if (merged->has_value()) {
        const std::string& keep = (*merged)->keep_name.empty()
                                      ? (*merged)->keep_id
                                      : (*merged)->keep_name;
        v.current.value = Word(lang, "รวมเข้ากับ '", "merged into '") + keep +
                          Word(lang, "' แล้ว (เก็บการลบไว้ แล้วแก้ไขที่กลุ่มนั้น)",
                               "' (keep the delete; make the edit there)");
      }
    }
    if (!c.resolved() && c.column_name != kDeletedColumn) {
      if (const RowValues* row = names.Find(c.entity, c.row_id)) {
        const auto d = row->find(std::string(kDeletedColumn));
        v.row_deleted = d != row->end() && d->second.type() == Value::Type::kInteger &&
                        d->second.integer() != 0;
      }
    }
    v.detected = FormatIsoBangkokValue(lang, c.detected_at);
    if (c.resolved()) {
      const Value resolved =
          ValueOfText(c.entity, c.column_name, c.resolved_value);
      v.resolved_value = c.column_name == kDeletedColumn
                             ? DeletedLabel(lang, resolved)
                             : ValueLabel(lang, c.entity, c.column_name,
                                          resolved);
      v.resolved_at = FormatIsoBangkokValue(lang, c.resolved_at);
      v.resolved_by =
          c.resolved_by.empty() ? "" : ActorLabel(lang, c.resolved_by);
      v.reason = c.resolution_reason;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

Result<std::vector<ConflictView>> DescribeConflicts(
    Db& db, const std::vector<ConflictRecord>& conflicts, Lang lang) {
  return Describe(db, conflicts, lang);
}

Result<ConflictView> DescribeConflict(Db& db, const ConflictRecord& conflict,
                                      Lang lang) {
  Result<std::vector<ConflictView>> all = Describe(db, {conflict}, lang);
  if (!all.ok()) return all.status();
  return std::move(all->front());
}

std::string ConflictViewJson(const ConflictView& v) {
  json j = json::parse(ConflictJson(v.conflict));
  j["entity_label"] = v.entity_label;
  j["column_label"] = v.column_label;
  j["district"] = v.district;
  j["producer_name"] = v.producer_name;
  j["workshop_title"] = v.workshop_title;
  j["participant_name"] = v.participant_name;
  j["product_name"] = v.product_name;
  j["row_deleted"] = v.row_deleted;
  j["day"] = v.day;
  j["subject"] = v.subject;
  j["current"] = WriteJson(v.current);
  j["incoming"] = WriteJson(v.incoming);
  j["later"] = v.later.has_value() ? WriteJson(*v.later) : json(nullptr);
  j["detected"] = v.detected;
  const bool resolved = v.conflict.resolved();
  j["resolved_value_label"] = resolved ? json(v.resolved_value) : json(nullptr);
  j["resolved_at_label"] = resolved ? json(v.resolved_at) : json(nullptr);
  j["resolved_by_label"] = resolved ? json(v.resolved_by) : json(nullptr);
  j["reason"] = resolved ? json(v.reason) : json(nullptr);
  // A reason stored before the console refused bytes that are not UTF-8
  // shows with U+FFFD rather than failing the whole inbox.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace kbo::server
