// One reading of a device's districts for both sides
// (shared/district_scope.h): the server's tokens and devices, the client's
// device row and the districts a pull page names.

#include "shared/district_scope.h"

#include <string>

#include <catch2/catch.hpp>

namespace kbo {
namespace {

TEST_CASE("DistrictScope: all, or known codes sorted and once", "[district_scope]") {
  Result<DistrictScope> all = DistrictScope::Parse(" all ");
  REQUIRE(all.ok());
  CHECK(all->all);
  CHECK(all->Contains("5011"));
  CHECK(all->ToString() == "all");

  Result<DistrictScope> two = DistrictScope::Parse(" 5011 ,5009,\t5011");
  REQUIRE(two.ok());
  CHECK_FALSE(two->all);
  CHECK(two->ToString() == "5009,5011");
  CHECK(two->Contains("5011"));
  CHECK(two->Contains("5009"));
  CHECK_FALSE(two->Contains("5001"));
  CHECK_FALSE(two->Contains("all"));
  CHECK_FALSE(two->Contains(""));
}

TEST_CASE("DistrictScope: an unknown code or an empty piece is refused, named",
          "[district_scope]") {
  Result<DistrictScope> unknown = DistrictScope::Parse("5011,9999");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().reason() == "bad_district");
  CHECK_THAT(unknown.status().message(), Catch::Contains("'9999'"));
  for (const char* bad : {"", " ", "5011,", ",5011", "5011,,5009", "ALL", "all,5011"}) {
    INFO(bad);
    CHECK_FALSE(DistrictScope::Parse(bad).ok());
  }
  // 'all' with codes is not taken for a code (it said "'all' is not a
  // Chiang Mai district code").
  Result<DistrictScope> mixed = DistrictScope::Parse("all,5011");
  CHECK_THAT(mixed.status().message(), Catch::Contains("'all' stands alone"));
  // A code twice is the one district.
  Result<DistrictScope> twice = DistrictScope::Parse("5011,5011");
  REQUIRE(twice.ok());
  CHECK(twice->districts == std::vector<std::string>{"5011"});
}

TEST_CASE("DistrictScope: a pull page's header is all, or known codes once, no spaces",
          "[district_scope]") {
  CHECK(DistrictScope::IsHeader("all"));
  CHECK(DistrictScope::IsHeader("5011"));
  CHECK(DistrictScope::IsHeader("5009,5011"));
  CHECK(DistrictScope::IsHeader("5011,5009"));  // any order
  // A code from newer reference data than this build's: still a district.
  CHECK(DistrictScope::IsHeader("5011,5099"));
  for (const char* loose : {"5011,5011", " 5011", "5011 ", "5009, 5011", "5009,\t5011",
                            " all", "", "5011,", ",5011", "50-11", "5011;5009",
                            "123456789", "501", "50110", "ALL", "all,5011", "พร้าว"}) {
    INFO(loose);
    CHECK_FALSE(DistrictScope::IsHeader(loose));
  }
  // Longer than any real list: refused before it is read.
  std::string many = "5001";
  while (many.size() <= 4096) many += ",5001";
  CHECK_FALSE(DistrictScope::IsHeader(many));
}

TEST_CASE("DistrictScope: a device's stored list is read as it is, never refused",
          "[district_scope]") {
  CHECK(DistrictScope::ReadStored("all").all);
  CHECK(DistrictScope::ReadStored(" all ").all);
  const DistrictScope newer = DistrictScope::ReadStored("5011, 9999,,5009");
  CHECK_FALSE(newer.all);
  CHECK(newer.ToString() == "5009,5011,9999");  // a code this build does not know stays
  CHECK(newer.Contains("9999"));
  CHECK_FALSE(newer.Contains(""));
  const DistrictScope none = DistrictScope::ReadStored("");
  CHECK_FALSE(none.all);
  CHECK(none.districts.empty());
  CHECK_FALSE(none.Contains("5011"));
}

}  // namespace
}  // namespace kbo
