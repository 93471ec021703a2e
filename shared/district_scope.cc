#include "shared/district_scope.h"

#include <algorithm>

#include "shared/entities.h"

namespace kbo {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool DistrictScope::Contains(std::string_view district_code) const {
  if (all) return true;
  return std::binary_search(districts.begin(), districts.end(), district_code);
}

std::string DistrictScope::ToString() const {
  if (all) return "all";
  std::string out;
  for (const std::string& d : districts) {
    if (!out.empty()) out += ',';
    out += d;
  }
  return out;
}

Result<DistrictScope> DistrictScope::Parse(std::string_view text) {
  DistrictScope scope;
  const std::string_view trimmed = Trim(text);
  if (trimmed == "all") {
    scope.all = true;
    return scope;
  }
  size_t pos = 0;
  while (pos <= trimmed.size()) {
    size_t comma = trimmed.find(',', pos);
    if (comma == std::string_view::npos) comma = trimmed.size();
    const std::string_view code = Trim(trimmed.substr(pos, comma - pos));
    if (code.empty()) {
      return Status::InvalidArgument(
                 "districts must be 'all' or district codes separated by commas, "
                 "e.g. 5011,5009")
          .WithReason("bad_districts");
    }
    if (FindDistrict(code) == nullptr) {
      return Status::InvalidArgument("'" + std::string(code) +
                                     "' is not a Chiang Mai district code "
                                     "(e.g. 5011 is Phrao)")
          .WithReason("bad_district")
          .With("code", std::string(code));
    }
    scope.districts.emplace_back(code);
    pos = comma + 1;
  }
  std::sort(scope.districts.begin(), scope.districts.end());
  scope.districts.erase(std::unique(scope.districts.begin(), scope.districts.end()),
                        scope.districts.end());
  return scope;
}

bool DistrictScope::IsCanonical(std::string_view text) {
  if (text.size() > 4096) return false;
  Result<DistrictScope> scope = Parse(text);
  return scope.ok() && scope->ToString() == text;
}

}  // namespace kbo
