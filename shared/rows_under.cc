#include "shared/rows_under.h"

#include <charconv>

namespace kbo {

std::vector<ChildLink> LinksUnder(const Entity& parent) {
  std::vector<ChildLink> out;
  for (const Entity& child : Catalogue()) {
    for (const Column& c : child.columns) {
      if (RecordsUnder(c, parent.name)) out.push_back({&child, c.name, false});
    }
    // A photo of a photo is not a thing; every other row may have photos.
    if (child.name == "photo" && parent.name != "photo") {
      out.push_back({&child, "subject_id", true});
    }
  }
  return out;
}

Status HasChildrenStatus(std::string_view label, const EntityCounts& under,
                         std::string_view row_id) {
  std::vector<std::pair<std::string, std::string>> counts;
  counts.reserve(under.size());
  for (const auto& [name, n] : under) counts.emplace_back(name, std::to_string(n));
  return Status::InvalidArgument(
             std::string(label) + " still has " + CountedRows(under) +
             " recorded under it, which would drop out of the reports;"
             " delete those first, or delete them with it; nothing was deleted")
      .WithReason(kHasChildrenReason)
      .With(kChildrenField, std::move(counts))
      .With(field::kRow, std::string(row_id));
}

EntityCounts ChildrenOf(const Status& s) {
  EntityCounts out;
  if (s.reason() != kHasChildrenReason) return out;
  const auto* children = s.TextsField(kChildrenField);
  if (children == nullptr) return out;
  for (const auto& [entity, text] : *children) {
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc() && end == text.data() + text.size() && n > 0) {
      out.emplace_back(entity, n);
    }
  }
  return out;
}

Status WithCascadeHint(const Status& s, std::string_view cascade_command) {
  if (s.reason() != kHasChildrenReason) return s;
  Status with_hint = Status::FromCode(
      s.code(), s.message() + "\n  " + std::string(cascade_command) +
                    " deletes them with it");
  with_hint.WithReason(s.reason());
  for (const StatusField& f : s.fields()) with_hint.With(f);
  return with_hint;
}

}  // namespace kbo
