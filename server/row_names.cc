#include "server/row_names.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/storage/rows.h"

namespace kbo::server {
namespace {

std::string Key(std::string_view entity, std::string_view id) {
  std::string k(entity);
  k += '/';
  k += id;
  return k;
}

}  // namespace

void RowNames::Want(std::string_view entity, std::string_view id) {
  if (id.empty() || FindEntity(entity) == nullptr) return;
  if (loaded_keys_.count(Key(entity, id)) > 0) return;
  wanted_[std::string(entity)].insert(std::string(id));
}

Status RowNames::Load(int depth) {
  for (int level = 0; level < depth && !wanted_.empty(); ++level) {
    std::map<std::string, std::set<std::string>, std::less<>> batch;
    batch.swap(wanted_);
    for (const auto& [name, ids] : batch) {
      const Entity* entity = FindEntity(name);
      if (entity == nullptr) continue;
      for (const std::string& id : ids) loaded_keys_.insert(Key(name, id));
      if (Status s = LoadEntity(*entity, ids); !s.ok()) return s;
    }
    if (level + 1 == depth) break;
    // The next level: what the rows just loaded reference.
    for (const auto& [name, ids] : batch) {
      const Entity* entity = FindEntity(name);
      auto table = rows_.find(name);
      if (entity == nullptr || table == rows_.end()) continue;
      for (const std::string& id : ids) {
        auto row = table->second.find(id);
        if (row == table->second.end()) continue;
        for (const Column& col : entity->columns) {
          if (col.type != ColumnType::kRef) continue;
          auto v = row->second.find(col.name);
          if (v == row->second.end() || v->second.is_null()) continue;
          Want(col.ref_entity, v->second.ToDisplay());
        }
      }
    }
  }
  return Status();
}

Status RowNames::LoadEntity(const Entity& entity,
                            const std::set<std::string>& ids) {
  Result<std::map<std::string, RowValues, std::less<>>> held =
      storage::Rows(db_).ValuesByIds(entity, ids);
  if (!held.ok()) return held.status();
  auto& table = rows_[std::string(entity.name)];
  for (auto& entry : *held) table[entry.first] = std::move(entry.second);
  return Status();
}

const RowValues* RowNames::Find(std::string_view entity,
                                std::string_view id) const {
  auto table = rows_.find(entity);
  if (table == rows_.end()) return nullptr;
  auto row = table->second.find(id);
  return row == table->second.end() ? nullptr : &row->second;
}

std::string RowNames::Text(std::string_view entity, std::string_view id,
                           std::string_view column) const {
  const RowValues* row = Find(entity, id);
  if (row == nullptr) return "";
  auto v = row->find(column);
  if (v == row->end() || v->second.is_null()) return "";
  return v->second.ToDisplay();
}

RowNames::Context RowNames::ContextOf(std::string_view entity,
                                      std::string_view id) const {
  Context c;
  std::string producer_id, product_id, workshop_id, enrolment_id;
  const auto ref = [&](std::string_view column) {
    return Text(entity, id, column);
  };
  if (entity == "producer") producer_id = std::string(id);
  if (entity == "product") product_id = std::string(id);
  if (entity == "workshop") workshop_id = std::string(id);
  if (entity == "enrolment") enrolment_id = std::string(id);
  if (producer_id.empty()) producer_id = ref("producer_id");
  if (product_id.empty()) product_id = ref("product_id");
  if (workshop_id.empty()) workshop_id = ref("workshop_id");
  if (enrolment_id.empty()) enrolment_id = ref("enrolment_id");
  if (entity == "photo") {
    const std::string type = ref("subject_type");
    const std::string subject = ref("subject_id");
    if (type == "producer" && producer_id.empty()) producer_id = subject;
    if (type == "product" && product_id.empty()) product_id = subject;
    if (type == "workshop" && workshop_id.empty()) workshop_id = subject;
  }
  if (!enrolment_id.empty()) {
    c.participant_name = Text("enrolment", enrolment_id, "participant_name");
    if (producer_id.empty())
      producer_id = Text("enrolment", enrolment_id, "producer_id");
    if (workshop_id.empty())
      workshop_id = Text("enrolment", enrolment_id, "workshop_id");
  }
  if (!product_id.empty()) {
    c.product_name = Text("product", product_id, "name");
    if (producer_id.empty())
      producer_id = Text("product", product_id, "producer_id");
  }
  if (!producer_id.empty()) c.producer_name = Text("producer", producer_id, "name");
  if (!workshop_id.empty()) {
    c.workshop_title = Text("workshop", workshop_id, "title");
  }
  if (entity == "attendance") {
    const RowValues* row = Find(entity, id);
    if (row != nullptr) {
      auto d = row->find("day");
      if (d != row->end() && d->second.type() == Value::Type::kInteger) {
        c.day = d->second.integer();
      }
    }
  }
  return c;
}

}  // namespace kbo::server
