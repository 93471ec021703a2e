#include "shared/district_scope.h"

#include <algorithm>
#include <utility>
#include <vector>

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

namespace {

// Calls `piece(code)` for each comma-separated piece of `text` (trimmed),
// stopping at the first false it returns.
template <typename Piece>
bool EachPiece(std::string_view text, Piece piece) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    if (!piece(Trim(text.substr(pos, comma - pos)))) return false;
    pos = comma + 1;
  }
  return true;
}

void SortUnique(std::vector<std::string>* ds) {
  std::sort(ds->begin(), ds->end());
  ds->erase(std::unique(ds->begin(), ds->end()), ds->end());
}

}  // namespace

Result<DistrictScope> DistrictScope::Parse(std::string_view text) {
  DistrictScope scope;
  const std::string_view trimmed = Trim(text);
  if (trimmed == "all") {
    scope.all = true;
    return scope;
  }
  Status bad;
  EachPiece(trimmed, [&](std::string_view code) {
    if (code.empty()) {
      bad = Status::InvalidArgument(
                "districts must be 'all' or district codes separated by commas, "
                "e.g. 5011,5009")
                .WithReason("bad_districts");
      return false;
    }
    if (code == "all") {
      bad = Status::InvalidArgument(
                "'all' stands alone: give 'all' (every district) or district "
                "codes separated by commas, not both")
                .WithReason("bad_districts");
      return false;
    }
    if (FindDistrict(code) == nullptr) {
      bad = Status::InvalidArgument("'" + std::string(code) +
                                    "' is not a Chiang Mai district code "
                                    "(e.g. 5011 is Phrao)")
                .WithReason("bad_district")
                .With("code", std::string(code));
      return false;
    }
    scope.districts.emplace_back(code);
    return true;
  });
  if (!bad.ok()) return bad;
  SortUnique(&scope.districts);
  return scope;
}

Status DistrictScope::CheckFilter(std::string_view code) const {
  if (code.empty()) return Status();
  if (FindDistrict(code) == nullptr) {
    return Status::InvalidArgument("'" + std::string(code) +
                                   "' is not a Chiang Mai district code "
                                   "(e.g. 5011 is Phrao)")
        .WithReason("bad_district")
        .With("code", std::string(code))
        .With(field::kProblem, "err.bad_district")
        .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                  {"code", std::string(code)}});
  }
  if (!Contains(code)) {
    const std::string yours = ToString();
    // The districts by their names in each language, for the words.
    const auto names = [this](bool thai) {
      std::string out;
      for (const std::string& d : districts) {
        const District* known = FindDistrict(d);
        if (!out.empty()) out += ", ";
        out += known == nullptr ? d : std::string(thai ? known->name_th : known->name_en);
      }
      return out;
    };
    const District* asked = FindDistrict(code);
    return Status::PermissionDenied("district " + std::string(code) +
                                    " is not one of yours (" + yours + ")")
        .WithReason("district_not_yours")
        .With("code", std::string(code))
        .With(field::kProblem, "err.district_not_yours")
        .With(field::kParams, std::vector<std::pair<std::string, std::string>>{
                                  {"code", std::string(code)},
                                  {"yours", yours},
                                  {"name_th", std::string(asked->name_th)},
                                  {"name_en", std::string(asked->name_en)},
                                  {"yours_th", names(true)},
                                  {"yours_en", names(false)}});
  }
  return Status();
}

DistrictScope DistrictScope::ReadStored(std::string_view text) {
  DistrictScope scope;
  if (Trim(text) == "all") {
    scope.all = true;
    return scope;
  }
  EachPiece(text, [&](std::string_view code) {
    if (!code.empty()) scope.districts.emplace_back(code);
    return true;
  });
  SortUnique(&scope.districts);
  return scope;
}

bool DistrictScope::IsHeader(std::string_view text) {
  if (text == "all") return true;
  if (text.empty() || text.size() > 4096 ||
      text.find_first_of(" \t") != std::string_view::npos) {
    return false;
  }
  std::vector<std::string_view> seen;
  return EachPiece(text, [&](std::string_view code) {
    // The form of a code, not whether this build knows it: a server with
    // newer reference data may name a district this build has not heard
    // of, and the device enrolled for it still syncs.
    if (code.size() != 4) return false;
    for (char c : code) {
      if (c < '0' || c > '9') return false;
    }
    if (std::find(seen.begin(), seen.end(), code) != seen.end()) return false;
    seen.push_back(code);
    return true;
  });
}

}  // namespace kbo
