#include "shared/entities.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schema/schema.h"
#include "shared/derived_row_id.h"
#include "shared/encoding.h"
#include "shared/replica/apply.h"
#include "shared/roles.h"
#include "shared/status.h"
#include "shared/uuid.h"
#include "shared/value.h"

namespace kbo {
namespace {

// Fixed ids: tests must not depend on randomness.
constexpr std::string_view kProducerId = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr std::string_view kProductId = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr std::string_view kWorkshopId = "16fd2706-8baf-433b-82eb-8c7fada847da";
constexpr std::string_view kEnrolmentId =
    "886313e1-3b8a-5372-9b90-0c9aee199e5d";
constexpr std::string_view kSha =
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const Entity& E(std::string_view name) {
  const Entity* e = FindEntity(name);
  REQUIRE(e != nullptr);
  return *e;
}

const Column& C(std::string_view entity, std::string_view column) {
  const Column* c = E(entity).FindColumn(column);
  REQUIRE(c != nullptr);
  return *c;
}

Value T(std::string_view s) { return Value::Text(std::string(s)); }
Value I(int64_t v) { return Value::Integer(v); }
Value R(double v) { return Value::Real(v); }

Status Cell(std::string_view entity, std::string_view column, const Value& v) {
  return ValidateCell(E(entity), column, v);
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A complete, valid row of every entity (all columns, optional ones too).
RowValues ValidRow(std::string_view entity) {
  if (entity == "producer") {
    return {{"kind", T("group")},
            {"name", T("กลุ่มทอผ้าบ้านป่าตุ้ม")},
            {"district_code", T("5011")},
            {"tambon", T("ป่าตุ้ม")},
            {"village", T("บ้านป่าตุ้ม")},
            {"contact", T("นางสมศรี")},
            {"phone", T("081-234-5678")},
            {"category", T("textile")},
            {"otop_stars", I(4)},
            {"members", I(25)},
            {"cluster_brand", T("ผ้าฝ้ายพร้าว")}};
  }
  if (entity == "product") {
    return {{"producer_id", T(kProducerId)},
            {"name", T("ผ้าซิ่นตีนจก")},
            {"district_code", T("5011")},
            {"category", T("textile")},
            {"description", T("ผ้าทอมือ")},
            {"identity_story", T("ลายดั้งเดิมของพร้าว")},
            {"stage", T("prototype")}};
  }
  if (entity == "workshop") {
    return {{"title", T("KBO CM 2557")},     {"fiscal_year", I(2557)},
            {"venue", T("ศาลาหมู่บ้าน")},       {"district_code", T("5011")},
            {"start_date", T("2014-03-10")}, {"days", I(5)},
            {"target_participants", I(300)}};
  }
  if (entity == "enrolment") {
    return {{"workshop_id", T(kWorkshopId)},
            {"producer_id", T(kProducerId)},
            {"participant_name", T("นายสมชาย ใจดี")},
            {"district_code", T("5011")}};
  }
  if (entity == "attendance") {
    return {{"workshop_id", T(kWorkshopId)},
            {"enrolment_id", T(kEnrolmentId)},
            {"day", I(3)},
            {"status", T("present")},
            {"note", T("มาสาย 10 นาที")},
            {"district_code", T("5011")}};
  }
  if (entity == "visit") {
    return {{"producer_id", T(kProducerId)},
            {"visited_at", T("2024-02-29T09:30:00Z")},
            {"lat", R(19.3628)},
            {"lon", R(99.2017)},
            {"accuracy_m", R(12.5)},
            {"purpose", T("ติดตามผล")},
            {"notes", T("กลุ่มต้องการบรรจุภัณฑ์ใหม่")},
            {"follow_up", T("ส่งแบบบรรจุภัณฑ์")},
            {"next_visit", T("2024-03-15")},
            {"district_code", T("5011")}};
  }
  if (entity == "progress") {
    return {{"product_id", T(kProductId)}, {"workshop_id", T(kWorkshopId)},
            {"stage", T("design")},        {"percent", I(40)},
            {"notes", T("ร่างแบบเสร็จ")},    {"district_code", T("5011")}};
  }
  if (entity == "photo") {
    return {{"subject_type", T("product")},
            {"subject_id", T(kProductId)},
            {"sha256", T(kSha)},
            {"bytes", I(123456)},
            {"mime", T("image/jpeg")},
            {"width", I(1600)},
            {"height", I(1200)},
            {"taken_at", T("2024-02-29T10:00:00Z")},
            {"lat", R(19.3628)},
            {"lon", R(99.2017)},
            {"caption", T("ต้นแบบ")},
            {"district_code", T("5011")}};
  }
  if (entity == "contest_score") {
    return {
        {"product_id", T(kProductId)}, {"contest", T("KBO CM CONTEST 2557")},
        {"judge", T("อาจารย์ใจดี")},     {"identity", I(18)},
        {"uniqueness", I(17)},         {"quality", I(19)},
        {"packaging", I(15)},          {"marketability", I(16)},
        {"comment", T("โดดเด่น")},      {"district_code", T("5011")}};
  }
  FAIL("no sample row for " << entity);
  return {};
}

// Column names of each CREATE TABLE in the shared entity migration, in order.
std::vector<std::string> SqlColumns(std::string_view sql,
                                    std::string_view table) {
  const std::string head = "CREATE TABLE " + std::string(table) + " (";
  size_t pos = sql.find(head);
  REQUIRE(pos != std::string_view::npos);
  pos += head.size();
  const size_t end = sql.find(");", pos);
  REQUIRE(end != std::string_view::npos);
  std::vector<std::string> columns;
  std::string_view body = sql.substr(pos, end - pos);
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body =
        nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    const size_t space = line.find(' ');
    if (line.empty() || space == std::string_view::npos) continue;
    columns.emplace_back(line.substr(0, space));
  }
  return columns;
}

// ---- Catalogue --------------------------------------------------------------

TEST_CASE("Entities: the catalogue holds the nine entities of DESIGN §3",
          "[entities]") {
  const std::set<std::string_view> expected = {
      "producer", "product",  "workshop", "enrolment",    "attendance",
      "visit",    "progress", "photo",    "contest_score"};
  std::set<std::string_view> names;
  for (const Entity& e : Catalogue()) names.insert(e.name);
  CHECK(Catalogue().size() == 9);
  CHECK(names == expected);
  CHECK(Catalogue().front().name == "producer");
  CHECK(FindEntity("producers") == nullptr);
  CHECK(FindEntity("") == nullptr);
  CHECK(FindEntity("producer") == &Catalogue().front());
}

TEST_CASE("Entities: columns are the schema's, minus id, deleted and versions, in order",
          "[entities]") {
  REQUIRE(schema::kReplicaMigrations_count >= 1);
  const std::string_view sql = schema::kReplicaMigrations[0].bytes;
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    std::vector<std::string> want = SqlColumns(sql, e.name);
    REQUIRE(want.size() >= 3);
    CHECK(want.front() == "id");
    CHECK(want.back() == kVersionsColumn);
    want.pop_back();
    CHECK(want.back() == "deleted");
    want.erase(want.begin());
    want.pop_back();
    std::vector<std::string> got;
    for (const Column& c : e.columns) got.emplace_back(c.name);
    CHECK(got == want);
  }
}

TEST_CASE("Entities: every entity has a required district_code, no id column",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    const Column* d = e.FindColumn(kDistrictColumn);
    REQUIRE(d != nullptr);
    CHECK(d->type == ColumnType::kDistrict);
    CHECK(d->required);
    CHECK(e.FindColumn(kIdColumn) == nullptr);
    CHECK(e.FindColumn(kDeletedColumn) == nullptr);
    CHECK(e.FindColumn("nope") == nullptr);
  }
}

TEST_CASE("Entities: refs name earlier entities (dependency order)",
          "[entities]") {
  std::set<std::string_view> seen;
  for (const Entity& e : Catalogue()) {
    for (const Column& c : e.columns) {
      if (c.type != ColumnType::kRef || c.ref_entity.empty()) continue;
      CAPTURE(e.name, c.name);
      CHECK(seen.count(c.ref_entity) == 1);
    }
    seen.insert(e.name);
  }
  // photo.subject_id may name any entity, so photo comes after all of them.
  CHECK(Catalogue().back().name == "photo");
  CHECK(C("photo", "subject_id").ref_entity.empty());
  for (std::string_view subject : C("photo", "subject_type").enum_values) {
    CHECK(FindEntity(subject) != nullptr);
  }
}

TEST_CASE("Entities: only attendance and contest_score have natural keys",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    if (e.name == "attendance") {
      CHECK(e.natural_key == std::vector<std::string_view>{
                                 "workshop_id", "enrolment_id", "day"});
    } else if (e.name == "contest_score") {
      CHECK(e.natural_key ==
            std::vector<std::string_view>{"product_id", "contest", "judge"});
    } else {
      CHECK(e.natural_key.empty());
    }
    for (std::string_view key : e.natural_key) {
      REQUIRE(e.FindColumn(key) != nullptr);
      CHECK(e.FindColumn(key)->required);
    }
  }
}

TEST_CASE("Entities: column types and refs as DESIGN §3 says", "[entities]") {
  CHECK(C("producer", "otop_stars").type == ColumnType::kInteger);
  CHECK(C("visit", "lat").type == ColumnType::kReal);
  CHECK(C("visit", "visited_at").type == ColumnType::kDateTime);
  CHECK(C("visit", "next_visit").type == ColumnType::kDate);
  CHECK(C("workshop", "start_date").type == ColumnType::kDate);
  CHECK(C("photo", "taken_at").type == ColumnType::kDateTime);
  CHECK(C("photo", "sha256").type == ColumnType::kSha256);
  CHECK(C("product", "producer_id").ref_entity == "producer");
  CHECK(C("enrolment", "workshop_id").ref_entity == "workshop");
  CHECK(C("enrolment", "producer_id").ref_entity == "producer");
  CHECK(C("attendance", "enrolment_id").ref_entity == "enrolment");
  CHECK(C("visit", "producer_id").ref_entity == "producer");
  CHECK(C("progress", "product_id").ref_entity == "product");
  CHECK(C("progress", "workshop_id").ref_entity == "workshop");
  CHECK_FALSE(C("progress", "workshop_id").required);
  CHECK(C("contest_score", "product_id").ref_entity == "product");
}

// ---- Whole rows -------------------------------------------------------------

TEST_CASE("Entities: a complete sample row of each entity is valid",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    const Status s = ValidateNewRow(e, ValidRow(e.name));
    CHECK(s.message() == "");
    CHECK(s.ok());
  }
}

TEST_CASE("Entities: each required column is required, each optional not",
          "[entities]") {
  const std::map<std::string_view, std::set<std::string_view>> required = {
      {"producer", {"kind", "name", "district_code"}},
      {"product", {"producer_id", "name", "district_code"}},
      {"workshop", {"title", "fiscal_year", "district_code", "start_date"}},
      {"enrolment",
       {"workshop_id", "producer_id", "participant_name", "district_code"}},
      {"attendance",
       {"workshop_id", "enrolment_id", "day", "status", "district_code"}},
      {"visit", {"producer_id", "visited_at", "district_code"}},
      {"progress", {"product_id", "stage", "district_code"}},
      {"photo",
       {"subject_type", "subject_id", "sha256", "mime", "district_code"}},
      {"contest_score",
       {"product_id", "contest", "judge", "identity", "uniqueness", "quality",
        "packaging", "marketability", "district_code"}},
  };
  for (const Entity& e : Catalogue()) {
    const std::set<std::string_view>& want = required.at(e.name);
    for (const Column& c : e.columns) {
      CAPTURE(e.name, c.name);
      CHECK(c.required == (want.count(c.name) == 1));

      RowValues absent = ValidRow(e.name);
      absent.erase(std::string(c.name));
      RowValues null = ValidRow(e.name);
      null[std::string(c.name)] = Value::Null();
      // A position goes as a pair (its own test, below): optional together.
      for (const char* pair : {"lat", "lon"}) {
        if ((c.name == "lat" || c.name == "lon") && c.name != pair) {
          absent.erase(pair);
          null.erase(pair);
        }
      }
      const Status s_absent = ValidateNewRow(e, absent);
      const Status s_null = ValidateNewRow(e, null);
      if (c.required) {
        CHECK(s_absent.code() == Code::kInvalidArgument);
        CHECK(Contains(s_absent.message(), c.name));
        CHECK(Contains(s_absent.message(), "required"));
        CHECK(s_null.code() == Code::kInvalidArgument);
      } else {
        CHECK(s_absent.ok());
        CHECK(s_null.ok());
      }
    }
  }
}

TEST_CASE("Entities: a row missing its parent is told the parent, not the "
          "district it would inherit",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    const std::string_view parent = DistrictParentColumn(e.name);
    if (parent.empty()) continue;
    CAPTURE(e.name, parent);
    RowValues row = ValidRow(e.name);
    row.erase(std::string(parent));
    row.erase(std::string(kDistrictColumn));
    const Status s = ValidateNewRow(e, row);
    REQUIRE(s.code() == Code::kInvalidArgument);
    CHECK(s.message() == std::string(parent) + " is required for " + WithArticle(e.name));
    CHECK(*s.TextField(field::kField) == parent);
    CHECK(*s.TextField(field::kProblem) == "err.required");
    // With the parent given, a missing district is still said.
    RowValues no_district = ValidRow(e.name);
    no_district.erase(std::string(kDistrictColumn));
    CHECK(Contains(ValidateNewRow(e, no_district).message(),
                   "district_code is required"));
  }
  // Producers and workshops have no parent: their district is theirs.
  RowValues producer = ValidRow("producer");
  producer.erase(std::string(kDistrictColumn));
  CHECK(Contains(ValidateNewRow(*FindEntity("producer"), producer).message(),
                 "district_code is required"));
}

TEST_CASE("Entities: blank text counts as missing for a required column",
          "[entities]") {
  const Entity& producer = E("producer");
  for (std::string_view blank :
       {"", " ", "   \t\r\n", "\xC2\xA0", "\xE2\x80\x8B", "\xE3\x80\x80 ",
        // Marks with no letter to sit on showed no name at all (on the roll
        // call, in the reports): tone marks, a vowel above, an accent.
        "\xE0\xB9\x88\xE0\xB9\x88\xE0\xB9\x88", "\xE0\xB8\xB1\xE0\xB8\xB4\xE0\xB9\x88\xE0\xB9\x89",
        " \xCC\x81 "}) {
    CAPTURE(blank);
    RowValues row = ValidRow("producer");
    row["name"] = T(blank);
    const Status s = ValidateNewRow(producer, row);
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "name is required"));
    const Status edit = ValidateEdit(producer, *producer.FindColumn("name"), T(blank));
    CHECK(Contains(edit.message(), "name is required"));
  }
  // A letter with its marks is a name.
  for (std::string_view name : {"\xE0\xB8\x81\xE0\xB9\x88", "e\xCC\x81", "นางสมศรี"}) {
    RowValues row = ValidRow("producer");
    row["name"] = T(name);
    CHECK(ValidateNewRow(producer, row).ok());
  }
  // Optional text may be blank.
  RowValues row = ValidRow("producer");
  row["village"] = T(" ");
  CHECK(ValidateNewRow(producer, row).ok());
}

TEST_CASE("Entities: a position is both lat and lon, or neither",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    CHECK(e.has_position == (e.name == "visit" || e.name == "photo"));
  }
  for (const char* entity : {"visit", "photo"}) {
    CAPTURE(entity);
    const Entity& e = E(entity);
    RowValues row = ValidRow(entity);
    row.erase("lat");
    row.erase("lon");
    CHECK(ValidateNewRow(e, row).ok());
    row["lat"] = Value::Real(19.36);
    Status s = ValidateNewRow(e, row);
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "needs both lat and lon (lon is missing)"));
    CHECK(*s.TextField(field::kField) == "lon");
    row["lon"] = Value::Real(99.2);
    CHECK(ValidateNewRow(e, row).ok());
    row.erase("lat");
    CHECK(Contains(ValidateNewRow(e, row).message(), "(lat is missing)"));
  }
}

TEST_CASE("Entities: a new row with an unknown column, id, or deleted=1 fails",
          "[entities]") {
  const Entity& producer = E("producer");
  RowValues row = ValidRow("producer");
  row["stars"] = I(3);
  Status s = ValidateNewRow(producer, row);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "'stars'"));

  row = ValidRow("producer");
  row["id"] = T(kProducerId);
  CHECK(ValidateNewRow(producer, row).code() == Code::kInvalidArgument);

  row = ValidRow("producer");
  row["deleted"] = I(1);
  CHECK(ValidateNewRow(producer, row).code() == Code::kInvalidArgument);
  row["deleted"] = I(0);
  CHECK(ValidateNewRow(producer, row).ok());
}

TEST_CASE("Entities: a row's problems are all reported, naming each column",
          "[entities]") {
  RowValues row = ValidRow("producer");
  row["otop_stars"] = I(7);
  row["kind"] = T("cooperative");
  row.erase("name");
  const Status s = ValidateNewRow(E("producer"), row);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "otop_stars must be from 0 to 5 (got 7)"));
  CHECK(
      Contains(s.message(),
               "kind must be one of group, entrepreneur (got 'cooperative')"));
  CHECK(Contains(s.message(), "name is required"));
}

// ---- Enumerations -----------------------------------------------------------

TEST_CASE("Entities: every enumeration accepts its values and only them",
          "[entities]") {
  const std::vector<std::string_view> categories = {
      "food", "beverage", "textile", "household_decor_souvenir",
      "herbal_nonfood"};
  const std::vector<std::string_view> stages = {"idea", "design", "prototype",
                                                "packaging", "market_ready"};
  struct Case {
    std::string_view entity;
    std::string_view column;
    std::vector<std::string_view> values;
  };
  const std::vector<Case> cases = {
      {"producer", "kind", {"group", "entrepreneur"}},
      {"producer", "category", categories},
      {"product", "category", categories},
      {"product", "stage", stages},
      {"attendance", "status", {"present", "late", "absent", "excused"}},
      {"progress", "stage", stages},
      {"photo",
       "subject_type",
       {"producer", "product", "workshop", "enrolment", "attendance", "visit",
        "progress", "contest_score"}},
      {"photo", "mime", {"image/jpeg", "image/png"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.entity, c.column);
    const Column& column = C(c.entity, c.column);
    CHECK(column.type == ColumnType::kEnum);
    CHECK(column.enum_values == c.values);
    for (std::string_view v : c.values) {
      CHECK(Cell(c.entity, c.column, T(v)).ok());
    }
    for (std::string_view bad :
         {"here", "", " present", "Present", "photo", "image/gif"}) {
      CAPTURE(bad);
      const Status s = Cell(c.entity, c.column, T(bad));
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(Contains(s.message(), c.column));
      CHECK(Contains(s.message(), c.values.front()));
    }
    CHECK_FALSE(Cell(c.entity, c.column, I(0)).ok());
  }
  CHECK(Cell("attendance", "status", T("here")).message() ==
        "status must be one of present, late, absent, excused (got 'here')");
}

TEST_CASE("Entities: product stage moves forward, progress stage is history",
          "[entities]") {
  const Column& product_stage = C("product", "stage");
  CHECK(product_stage.policy == MergePolicy::kForward);
  CHECK(C("progress", "stage").policy == MergePolicy::kLastWriterWins);
  CHECK(C("producer", "name").policy == MergePolicy::kLastWriterWins);
  CHECK(EnumRank(product_stage, T("idea")) == 0);
  CHECK(EnumRank(product_stage, T("design")) == 1);
  CHECK(EnumRank(product_stage, T("prototype")) == 2);
  CHECK(EnumRank(product_stage, T("packaging")) == 3);
  CHECK(EnumRank(product_stage, T("market_ready")) == 4);
  CHECK(EnumRank(product_stage, T("launched")) == -1);
  CHECK(EnumRank(product_stage, Value::Null()) == -1);
  CHECK(EnumRank(product_stage, I(1)) == -1);
  CHECK(EnumRank(C("producer", "name"), T("idea")) == -1);
}

// ---- Ranges -----------------------------------------------------------------

TEST_CASE("Entities: integer ranges hold at both ends and refuse one beyond",
          "[entities]") {
  struct Case {
    std::string_view entity;
    std::string_view column;
    int64_t min;
    int64_t max;
  };
  const std::vector<Case> cases = {
      {"producer", "otop_stars", 0, 5},
      {"producer", "members", 0, 100000},
      {"workshop", "fiscal_year", 2500, 2700},
      {"workshop", "days", 1, 30},
      {"workshop", "target_participants", 0, 100000},
      {"attendance", "day", 1, 30},
      {"progress", "percent", 0, 100},
      {"photo", "bytes", 1, int64_t{1} << 31},
      {"photo", "width", 1, 100000},
      {"photo", "height", 1, 100000},
      {"contest_score", "identity", 0, 20},
      {"contest_score", "uniqueness", 0, 20},
      {"contest_score", "quality", 0, 20},
      {"contest_score", "packaging", 0, 20},
      {"contest_score", "marketability", 0, 20},
  };
  for (const Case& c : cases) {
    CAPTURE(c.entity, c.column);
    CHECK(C(c.entity, c.column).type == ColumnType::kInteger);
    CHECK(Cell(c.entity, c.column, I(c.min)).ok());
    CHECK(Cell(c.entity, c.column, I(c.max)).ok());
    CHECK(Cell(c.entity, c.column, I((c.min + c.max) / 2)).ok());
    for (int64_t bad :
         {c.min - 1, c.max + 1, std::numeric_limits<int64_t>::min(),
          std::numeric_limits<int64_t>::max()}) {
      CAPTURE(bad);
      const Status s = Cell(c.entity, c.column, I(bad));
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(Contains(s.message(), std::string(c.column) + " must be from " +
                                      std::to_string(c.min) + " to " +
                                      std::to_string(c.max)));
    }
    // Integer columns take integers only.
    CHECK_FALSE(Cell(c.entity, c.column, R(static_cast<double>(c.min))).ok());
    CHECK_FALSE(Cell(c.entity, c.column, T(std::to_string(c.min))).ok());
    // Null is a row rule, not a cell one.
    CHECK(Cell(c.entity, c.column, Value::Null()).ok());
  }
  CHECK(Cell("producer", "otop_stars", I(7)).message() ==
        "otop_stars must be from 0 to 5 (got 7)");
}

TEST_CASE("Entities: real ranges (lat, lon, accuracy) and finiteness",
          "[entities]") {
  struct Case {
    std::string_view entity;
    std::string_view column;
    double min;
    double max;
  };
  const std::vector<Case> cases = {
      {"visit", "lat", -90, 90},          {"visit", "lon", -180, 180},
      {"visit", "accuracy_m", 0, 100000}, {"photo", "lat", -90, 90},
      {"photo", "lon", -180, 180},
  };
  for (const Case& c : cases) {
    CAPTURE(c.entity, c.column);
    CHECK(C(c.entity, c.column).type == ColumnType::kReal);
    CHECK(Cell(c.entity, c.column, R(c.min)).ok());
    CHECK(Cell(c.entity, c.column, R(c.max)).ok());
    // An integer is a fine real.
    CHECK(Cell(c.entity, c.column, I(static_cast<int64_t>(c.max))).ok());
    for (double bad : {c.min - 1, c.max + 1, c.min - 1e-9, c.max + 1e-9}) {
      CAPTURE(bad);
      const Status s = Cell(c.entity, c.column, R(bad));
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(Contains(s.message(), c.column));
    }
    CHECK_FALSE(
        Cell(c.entity, c.column, I(static_cast<int64_t>(c.max) + 1)).ok());
    CHECK_FALSE(
        Cell(c.entity, c.column, R(std::numeric_limits<double>::quiet_NaN()))
            .ok());
    CHECK_FALSE(
        Cell(c.entity, c.column, R(std::numeric_limits<double>::infinity()))
            .ok());
    CHECK_FALSE(Cell(c.entity, c.column, T("18.8")).ok());
  }
  CHECK(Cell("visit", "lat", R(90.5)).message() ==
        "lat must be from -90 to 90 (got 90.5)");
}

// ---- Districts
// ----------------------------------------------------------------

TEST_CASE("Entities: the 25 districts of Chiang Mai, and no 5025",
          "[entities]") {
  CHECK(Districts().size() == 25);
  const District* phrao = FindDistrict("5011");
  REQUIRE(phrao != nullptr);
  CHECK(phrao->name_th == "พร้าว");
  CHECK(phrao->name_en == "Phrao");
  REQUIRE(FindDistrict("5001") != nullptr);
  CHECK(FindDistrict("5001")->name_en == "Mueang Chiang Mai");
  REQUIRE(FindDistrict("5026") != nullptr);
  CHECK(FindDistrict("5026")->name_en == "Galyani Vadhana");
  CHECK(FindDistrict("5025") == nullptr);
  CHECK(FindDistrict("code") == nullptr);  // the CSV header is not a district
  std::set<std::string_view> codes;
  for (const District& d : Districts()) codes.insert(d.code);
  CHECK(codes.size() == 25);
}

TEST_CASE("Entities: district_code must be a Chiang Mai district",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    CHECK(ValidateCell(e, kDistrictColumn, T("5011")).ok());
    CHECK(ValidateCell(e, kDistrictColumn, T("5001")).ok());
    CHECK(ValidateCell(e, kDistrictColumn, T("5024")).ok());
    CHECK(ValidateCell(e, kDistrictColumn, T("5026")).ok());
    for (std::string_view bad :
         {"5025", "5027", "5000", "5099", "1001", "", "5011 ", "พร้าว"}) {
      CAPTURE(bad);
      const Status s = ValidateCell(e, kDistrictColumn, T(bad));
      CHECK(s.code() == Code::kInvalidArgument);
      CHECK(Contains(s.message(), "district_code"));
    }
    CHECK_FALSE(ValidateCell(e, kDistrictColumn, I(5011)).ok());
  }
  CHECK(Cell("producer", "district_code", T("5099")).message() ==
        "district_code '5099' is not a Chiang Mai district (e.g. 5011 Phrao)");
}

// ---- Dates and times
// ------------------------------------------------------------

TEST_CASE("Entities: dates are YYYY-MM-DD days that exist", "[entities]") {
  for (std::string_view ok :
       {"2024-02-29", "2000-02-29", "2023-02-28", "2024-12-31", "2024-01-01",
        "1900-01-01", "2399-12-31"}) {
    CAPTURE(ok);
    CHECK(Cell("workshop", "start_date", T(ok)).ok());
    CHECK(Cell("visit", "next_visit", T(ok)).ok());
  }
  for (std::string_view bad :
       {"2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-13-01",
        "2024-00-10", "2024-01-00", "2024-01-32", "2024-1-01", "2024/01/01",
        "01-02-2024", "2024-01-01T00:00:00Z", " 2024-01-01", "", "tomorrow",
        "1899-12-31", "๒๐๒๔-๐๑-๐๑"}) {
    CAPTURE(bad);
    const Status s = Cell("workshop", "start_date", T(bad));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "start_date"));
  }
  CHECK_FALSE(Cell("workshop", "start_date", I(20240229)).ok());
}

TEST_CASE("Entities: a Buddhist Era year in a date is refused, with a hint",
          "[entities]") {
  const Status s = Cell("workshop", "start_date", T("2567-03-01"));
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "start_date"));
  CHECK(Contains(s.message(), "Buddhist Era"));
  CHECK(Contains(s.message(), "2024"));
}

TEST_CASE("Entities: datetimes are exactly YYYY-MM-DDTHH:MM:SSZ",
          "[entities]") {
  for (std::string_view ok : {"2024-02-29T09:30:00Z", "2024-12-31T23:59:59Z",
                              "2024-01-01T00:00:00Z"}) {
    CAPTURE(ok);
    CHECK(Cell("visit", "visited_at", T(ok)).ok());
    CHECK(Cell("photo", "taken_at", T(ok)).ok());
  }
  for (std::string_view bad :
       {"2024-02-29T09:30:00", "2024-02-29 09:30:00Z", "2024-02-29t09:30:00z",
        "2024-02-29T09:30:00.000Z", "2024-02-29T09:30:00+07:00",
        "2024-02-29T24:00:00Z", "2024-02-29T23:60:00Z", "2024-02-29T23:59:60Z",
        "2023-02-29T09:30:00Z", "2024-02-29T9:30:00Z", "2024-02-29", ""}) {
    CAPTURE(bad);
    const Status s = Cell("visit", "visited_at", T(bad));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "visited_at"));
  }
}

// ---- Refs and digests
// ----------------------------------------------------------

TEST_CASE("Entities: refs are canonical lowercase uuids", "[entities]") {
  CHECK(Cell("product", "producer_id", T(kProducerId)).ok());
  CHECK(Cell("photo", "subject_id", T(kEnrolmentId)).ok());
  std::string upper(kProducerId);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  for (const std::string& bad :
       {upper, std::string("not-an-id"), std::string(""),
        std::string(kProducerId) + " ",
        std::string("0f8fad5bd9cb469fa16570867728950e"),
        std::string("{0f8fad5b-d9cb-469f-a165-70867728950e}"),
        std::string("00000000-0000-0000-0000-000000000000"),
        std::string("0f8fad5b-d9cb-469f-a165-70867728950g")}) {
    CAPTURE(bad);
    const Status s = Cell("product", "producer_id", T(bad));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "producer_id"));
  }
  CHECK_FALSE(Cell("product", "producer_id", I(1)).ok());
}

TEST_CASE("Entities: sha256 is 64 lowercase hex, as text or blob",
          "[entities]") {
  CHECK(Cell("photo", "sha256", T(kSha)).ok());
  CHECK(Cell("photo", "sha256", Value::Blob(std::string(kSha))).ok());
  std::string upper(kSha);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  for (const std::string& bad :
       {upper, std::string(kSha).substr(1), std::string(kSha) + "0",
        std::string(64, 'g'), std::string("")}) {
    CAPTURE(bad);
    const Status s = Cell("photo", "sha256", T(bad));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "sha256"));
  }
  CHECK_FALSE(Cell("photo", "sha256", I(1)).ok());
}

// ---- Text
// -------------------------------------------------------------------------

TEST_CASE("Entities: text must be valid UTF-8 without control characters",
          "[entities]") {
  CHECK(Cell("producer", "name", T("กลุ่มทอผ้าบ้านป่าตุ้ม")).ok());
  CHECK(Cell("visit", "notes", T("บรรทัดแรก\nบรรทัดสอง\tแท็บ\r\n")).ok());
  for (const std::string& bad :
       {std::string("\xff"), std::string("\xc0\xaf"),  // overlong '/'
        std::string("\xed\xa0\x80"),                   // surrogate
        std::string("\xe0\xb8"),                       // truncated Thai
        std::string("ab\0c", 4),
        std::string("a\x1f"
                    "b"),
        std::string("\x1b[31m")}) {
    CAPTURE(bad);
    const Status s = Cell("producer", "name", T(bad));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "name"));
  }
  CHECK_FALSE(Cell("producer", "name", I(1)).ok());
  CHECK_FALSE(Cell("producer", "name", Value::Blob(std::string(kSha))).ok());
}

TEST_CASE("Entities: a character that turns a name around, or no character in any text, "
          "is not written (typed or pushed), and a row that holds one still validates",
          "[entities][attack]") {
  const auto written = [](const char* entity, const char* column, const char* text) {
    return CheckWrittenText(C(entity, column), T(text));
  };
  for (const char* bad : {"Phrao weavers\xE2\x80\xAEgnp.exe",  // U+202E
                          "\xE2\x80\xAA" "a",                   // U+202A
                          "a\xE2\x81\xA6" "b",                  // U+2066
                          "a\xE2\x81\xA9",                      // U+2069
                          "Bad\xEF\xBF\xBFXML",                  // U+FFFF
                          "\xEF\xBF\xBE"}) {                     // U+FFFE
    CAPTURE(bad);
    const Status s = written("producer", "name", bad);
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "name contains a control character (U+"));
    // Stored before the rule (a raw push, an older server): still a valid
    // row, so it pulls to every device and exports.
    CHECK(Cell("producer", "name", T(bad)).ok());
  }
  CHECK(Contains(written("producer", "name", "x\xE2\x80\xAEy").message(),
                 "U+202E, which turns the text around"));
  // Notes keep what was typed, bidi controls too; never a noncharacter,
  // typed or pushed.
  CHECK(written("visit", "notes", "a\xE2\x80\xAE" "b").ok());
  CHECK(Contains(written("visit", "notes", "Bad\xEF\xBF\xBFXML").message(),
                 "notes contains a control character (U+FFFF, which is no character)"));
  const Result<Value> typed = ParseCellText(E("visit"), C("visit", "notes"), "Bad\xEF\xBF\xBFXML");
  CHECK(typed.status().code() == Code::kInvalidArgument);
  // Neighbours that are text: a zero-width space (Thai word breaks), a
  // left-to-right mark, the replacement character, Thai itself.
  for (const char* good : {"นาง\xE2\x80\x8B" "สมศรี", "a\xE2\x80\x8E" "b", "a\xEF\xBF\xBD" "b",
                           "กลุ่มทอผ้าบ้านป่าตุ้ม", "\xE2\x80\xA9x"}) {
    CAPTURE(good);
    CHECK(written("producer", "name", good).ok());
  }
}

TEST_CASE("Entities: text caps, short for names and long for notes",
          "[entities]") {
  CHECK(Cell("producer", "name", T(std::string(4000, 'a'))).ok());
  const Status s = Cell("producer", "name", T(std::string(4001, 'a')));
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Contains(s.message(), "name is too long"));
  CHECK(Cell("visit", "notes", T(std::string(65536, 'a'))).ok());
  CHECK_FALSE(Cell("visit", "notes", T(std::string(65537, 'a'))).ok());
  for (std::string_view long_text : {"description", "identity_story"}) {
    CHECK(Cell("product", long_text, T(std::string(65536, 'a'))).ok());
  }
  CHECK(Cell("contest_score", "comment", T(std::string(65536, 'a'))).ok());
}

TEST_CASE("Entities: Thai text round-trips unchanged", "[entities]") {
  const Entity& producer = E("producer");
  for (std::string_view thai : {"กลุ่มทอผ้าบ้านป่าตุ้ม", "พร้าว", "ผ้าฝ้าย ทอมือ",
                                "นางสาว"
                                "\xE2\x80\x8B"
                                "สมศรี"}) {  // with a zero-width space
    CAPTURE(thai);
    Result<Value> v = ParseCellText(producer, C("producer", "name"), thai);
    REQUIRE(v.ok());
    CHECK(v->type() == Value::Type::kText);
    CHECK(v->text() == thai);
    RowValues row = ValidRow("producer");
    row["name"] = *v;
    CHECK(ValidateNewRow(producer, row).ok());
    CHECK(row.at("name").text() == thai);
  }
}

// ---- System column
// ---------------------------------------------------------------

TEST_CASE("Entities: deleted is 0 or 1, unknown columns are refused",
          "[entities]") {
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    CHECK(ValidateCell(e, "deleted", I(0)).ok());
    CHECK(ValidateCell(e, "deleted", I(1)).ok());
    CHECK_FALSE(ValidateCell(e, "deleted", I(2)).ok());
    CHECK_FALSE(ValidateCell(e, "deleted", I(-1)).ok());
    CHECK_FALSE(ValidateCell(e, "deleted", T("0")).ok());
    CHECK_FALSE(ValidateCell(e, "deleted", Value::Null()).ok());
    const Status s = ValidateCell(e, "colour", T("red"));
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(Contains(s.message(), "colour"));
  }
}

// ---- Person-typed text
// -----------------------------------------------------------

TEST_CASE("Entities: ParseCellText reads whole numbers strictly",
          "[entities]") {
  const Entity& producer = E("producer");
  const Column& members = C("producer", "members");
  auto parse = [&](std::string_view text) {
    return ParseCellText(producer, members, text);
  };
  CHECK(*parse("25") == I(25));
  CHECK(*parse(" 25 ") == I(25));
  CHECK(*parse("+25") == I(25));
  CHECK(*parse("0") == I(0));
  CHECK(*parse("๒๕") == I(25));  // Thai digits
  CHECK(parse("")->is_null());
  CHECK(parse("   ")->is_null());
  for (std::string_view bad :
       {"ten", "25x", "2 5", "25.0", "2.5", "1e3", "0x10", "-", "+", "--1",
        "99999999999999999999", "-99999999999999999999", "25\n1"}) {
    CAPTURE(bad);
    Result<Value> r = parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(Contains(r.status().message(), "members"));
  }
  CHECK(parse("ten").status().message() ==
        "members must be a whole number (got 'ten')");
  // Parsed, then validated.
  CHECK(parse("100001").status().message() ==
        "members must be from 0 to 100000 (got 100001)");
  CHECK_FALSE(parse("-1").ok());
}

TEST_CASE("Entities: ParseCellText reads real numbers strictly", "[entities]") {
  const Entity& visit = E("visit");
  const Column& lat = C("visit", "lat");
  auto parse = [&](std::string_view text) {
    return ParseCellText(visit, lat, text);
  };
  CHECK(*parse("18.7883") == R(18.7883));
  CHECK(*parse("-90") == R(-90));
  CHECK(*parse("90") == R(90));
  CHECK(*parse(".5") == R(0.5));
  CHECK(*parse("1e1") == R(10));
  CHECK(*parse(" 19.36 ") == R(19.36));
  CHECK(parse("")->is_null());
  for (std::string_view bad :
       {"north", "18.7abc", "18,7", "nan", "inf", "-inf", "0x1p3", "1e", ".",
        "1e999", "90.0001", "-90.5", "18..7"}) {
    CAPTURE(bad);
    Result<Value> r = parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(Contains(r.status().message(), "lat"));
  }
}

TEST_CASE("Entities: ParseCellText normalises codes but keeps text as typed",
          "[entities]") {
  // Enumerations: a case-only difference is accepted and canonicalised.
  Result<Value> status =
      ParseCellText(E("attendance"), C("attendance", "status"), " Present ");
  REQUIRE(status.ok());
  CHECK(*status == T("present"));
  Result<Value> bad =
      ParseCellText(E("attendance"), C("attendance", "status"), "here");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "status must be one of present, late, absent, excused (got 'here')");

  // Districts by code, English name or Thai name.
  // Also as people write them (these were refused).
  for (std::string_view typed : {"5011", " 5011", "Phrao", "phrao", "พร้าว",
                                 "อำเภอพร้าว", "อำเภอ พร้าว", "อ.พร้าว", "อ. พร้าว",
                                 "Phrao District", "phrao district", "Amphoe Phrao"}) {
    CAPTURE(typed);
    Result<Value> d =
        ParseCellText(E("producer"), C("producer", "district_code"), typed);
    REQUIRE(d.ok());
    CHECK(*d == T("5011"));
  }
  CHECK_FALSE(
      ParseCellText(E("producer"), C("producer", "district_code"), "5025")
          .ok());
  for (std::string_view typed : {"อำเภอ", "อ.", "District", "อำเภอฝางพร้าว", "อ.อ.พร้าว"}) {
    CAPTURE(typed);
    CHECK_FALSE(
        ParseCellText(E("producer"), C("producer", "district_code"), typed).ok());
  }

  // Ids and digests: pasted uppercase is the same id.
  std::string upper(kProducerId);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  Result<Value> ref =
      ParseCellText(E("product"), C("product", "producer_id"), upper);
  REQUIRE(ref.ok());
  CHECK(*ref == T(kProducerId));

  // Dates are checked.
  CHECK(*ParseCellText(E("workshop"), C("workshop", "start_date"),
                       "2024-02-29") == T("2024-02-29"));
  CHECK_FALSE(
      ParseCellText(E("workshop"), C("workshop", "start_date"), "2023-02-29")
          .ok());
  CHECK(*ParseCellText(E("visit"), C("visit", "visited_at"),
                       "2024-02-29T09:30:00Z") == T("2024-02-29T09:30:00Z"));
  CHECK_FALSE(
      ParseCellText(E("visit"), C("visit", "visited_at"), "2024-02-29 09:30")
          .ok());

  // Free text: byte for byte, even surrounding spaces; empty is null.
  CHECK(*ParseCellText(E("visit"), C("visit", "notes"), "  ok  ") ==
        T("  ok  "));
  CHECK(ParseCellText(E("visit"), C("visit", "notes"), "")->is_null());
  CHECK_FALSE(
      ParseCellText(E("producer"), C("producer", "name"), "\xff\xfe").ok());

  // A short text (a name) without the spaces nobody means: around it, and
  // runs inside it (tab and U+00A0 from pasted text too); all spaces is
  // nothing. Line breaks and Thai are kept.
  CHECK(*ParseCellText(E("producer"), C("producer", "name"),
                       "  กลุ่มแม่บ้าน   บ้านสันป่าสัก\t ") ==
        T("กลุ่มแม่บ้าน บ้านสันป่าสัก"));
  CHECK(*ParseCellText(E("producer"), C("producer", "name"),
                       "\xC2\xA0กลุ่ม\xC2\xA0ทอผ้า") == T("กลุ่ม ทอผ้า"));
  CHECK(ParseCellText(E("producer"), C("producer", "village"), "   ")->is_null());
  CHECK(*ParseCellText(E("contest_score"), C("contest_score", "judge"), "อ.สุดา ") ==
        T("อ.สุดา"));
  // A spreadsheet cell's last line break, U+3000; inside, a line break stays.
  CHECK(*ParseCellText(E("producer"), C("producer", "name"), "กลุ่มทอผ้า\r\n") ==
        T("กลุ่มทอผ้า"));
  CHECK(*ParseCellText(E("producer"), C("producer", "name"), " \n\xE3\x80\x80กลุ่ม\xE3\x80\x80ทอผ้า \n ") ==
        T("กลุ่ม ทอผ้า"));
  CHECK(*ParseCellText(E("producer"), C("producer", "village"), "บ้าน\nป่าตุ้ม") ==
        T("บ้าน\nป่าตุ้ม"));

  // Characters that show nothing and mean nothing in Thai go: a byte order
  // mark, a word joiner, direction marks and overrides (a name that would
  // show as another); the spaces they stood beside are tidied as if they
  // were not there. The zero-width space Thai uses between words stays (the
  // round-trip test below), so does a zero-width joiner (emoji); a note
  // keeps all.
  CHECK(*ParseCellText(E("contest_score"), C("contest_score", "judge"),
                       "อ.\u202Eสุดา\u202C") == T("อ.สุดา"));
  CHECK(*ParseCellText(E("producer"), C("producer", "name"),
                       "\uFEFF กลุ่ม\u200E \u202Eทอผ้า\u202C \u2066") ==
        T("กลุ่ม ทอผ้า"));
  CHECK(*ParseCellText(E("producer"), C("producer", "name"),
                       "\u2060\u061C\u200F\u2069x") == T("x"));
  CHECK(*ParseCellText(E("contest_score"), C("contest_score", "judge"),
                       "อ.สุ\u00ADดา\u2062") == T("อ.สุดา"));
  CHECK(ParseCellText(E("producer"), C("producer", "village"), "\uFEFF \u200E")->is_null());
  CHECK(*ParseCellText(E("producer"), C("producer", "name"), "ผ้า\u200Dทอ") ==
        T("ผ้า\u200Dทอ"));
  // At either end they join nothing: gone (a name kept its trailing
  // zero-width space, and one of nothing else was saved as a blank name).
  CHECK(*ParseCellText(E("producer"), C("producer", "name"), "นางมาลี ทองดี\u200B") ==
        T("นางมาลี ทองดี"));
  CHECK(*ParseCellText(E("producer"), C("producer", "name"), "\u200C \u200Bกลุ่ม\u200Bทอผ้า\u200D") ==
        T("กลุ่ม\u200Bทอผ้า"));
  CHECK(ParseCellText(E("producer"), C("producer", "name"), "\u200B\u200B\u200C")->is_null());
  CHECK(*ParseCellText(E("visit"), C("visit", "notes"), "a\u202Eb") == T("a\u202Eb"));

  // Districts in Thai digits.
  CHECK(*ParseCellText(E("producer"), C("producer", "district_code"), "๕๐๑๑") ==
        T("5011"));

  // A phone written as a Thai number is kept as its digits; anything else
  // as typed (without the spaces around it).
  for (std::string_view typed : {"081-234-5678", " 081 234 5678 ", "๐๘๑๒๓๔๕๖๗๘",
                                 "+66 81 234 5678", "(081) 234.5678"}) {
    CAPTURE(typed);
    CHECK(*ParseCellText(E("producer"), C("producer", "phone"), typed) ==
          T("0812345678"));
  }
  CHECK(*ParseCellText(E("producer"), C("producer", "phone"), "053-123-456") ==
        T("053123456"));
  // One number only: two numbers, lines 6 and 7 of one exchange, a +66
  // with its trunk 0 in brackets, too few or too many digits, a foreign
  // number, and anything with letters stay as typed.
  for (std::string_view kept :
       {"0812345678 ext 2", "abc", "12", "+1 555 0100", "081-234-5678 089-876-5432",
        "053-123456-7", "+66 (0)81 234 5678", "0812345", "1234567890"}) {
    CAPTURE(kept);
    CHECK(*ParseCellText(E("producer"), C("producer", "phone"), kept) ==
          T(std::string(kept)));
  }
}

// ---- Defaults
// ---------------------------------------------------------------------

TEST_CASE("Entities: defaults fill absent columns only", "[entities]") {
  RowValues workshop = ValidRow("workshop");
  workshop.erase("days");
  ApplyDefaults(E("workshop"), &workshop);
  CHECK(workshop.at("days") == I(5));

  workshop["days"] = I(3);
  ApplyDefaults(E("workshop"), &workshop);
  CHECK(workshop.at("days") == I(3));

  workshop["days"] = Value::Null();
  ApplyDefaults(E("workshop"), &workshop);
  CHECK(workshop.at("days") == I(5));

  RowValues product = ValidRow("product");
  product.erase("stage");
  ApplyDefaults(E("product"), &product);
  CHECK(product.at("stage") == T("idea"));
  CHECK(ValidateNewRow(E("product"), product).ok());

  product["stage"] = T("packaging");
  ApplyDefaults(E("product"), &product);
  CHECK(product.at("stage") == T("packaging"));

  RowValues producer = ValidRow("producer");
  producer.erase("otop_stars");
  const RowValues before = producer;
  ApplyDefaults(E("producer"), &producer);
  CHECK(producer == before);
}

// ---- Derived ids
// --------------------------------------------------------------------

TEST_CASE("Entities: the same attendance key always derives the same id",
          "[entities]") {
  const Entity& attendance = E("attendance");
  // Built in different insertion orders, with different non-key values.
  RowValues a;
  a["workshop_id"] = T(kWorkshopId);
  a["enrolment_id"] = T(kEnrolmentId);
  a["day"] = I(3);
  a["status"] = T("present");
  RowValues b;
  b["status"] = T("late");
  b["note"] = T("รถติด");
  b["day"] = I(3);
  b["enrolment_id"] = T(kEnrolmentId);
  b["workshop_id"] = T(kWorkshopId);
  b["district_code"] = T("5011");

  Result<Uuid> ida = DerivedRowId(attendance, a);
  Result<Uuid> idb = DerivedRowId(attendance, b);
  REQUIRE(ida.ok());
  REQUIRE(idb.ok());
  CHECK(*ida == *idb);
  CHECK((ida->bytes[6] >> 4) == 8);  // RFC 9562 version 8 (name-based)

  // The documented layout: entity 0x1f key... over a fixed namespace.
  const Uuid ns = Uuid::Derived(Uuid{}, "kbo-field/derived-ids/v1");
  CHECK(*ida == Uuid::Derived(ns, "attendance\x1f" + std::string(kWorkshopId) +
                                      "\x1f" + std::string(kEnrolmentId) +
                                      "\x1f"
                                      "3"));
  // Pinned (computed independently with Python's hashlib): a derived id that
  // changes between releases would split one attendance row into two.
  CHECK(ns.ToString() == "eb40c608-8a4c-8290-9453-e988c5e62cb4");
  CHECK(ida->ToString() == "691218a9-c5f9-8163-b0b4-26d566d51a8a");

  RowValues day4 = a;
  day4["day"] = I(4);
  Result<Uuid> id4 = DerivedRowId(attendance, day4);
  REQUIRE(id4.ok());
  CHECK(*id4 != *ida);

  RowValues other_enrolment = a;
  other_enrolment["enrolment_id"] = T(kProducerId);
  CHECK(*DerivedRowId(attendance, other_enrolment) != *ida);
}

TEST_CASE("Entities: a derived id's name is the same bytes however long it is",
          "[entities]") {
  // DerivedRowId builds short names on the stack and long ones in a string:
  // both give Uuid::Derived of the documented name.
  const Entity& score = E("contest_score");
  const Uuid ns = Uuid::Derived(Uuid{}, "kbo-field/derived-ids/v1");
  for (size_t n : {size_t{1}, size_t{150}, size_t{185}, size_t{186}, size_t{187},
                   size_t{240}, size_t{1000}}) {
    RowValues row = ValidRow("contest_score");
    const std::string judge(n, 'j');
    row["judge"] = T(judge.c_str());
    std::string name = "contest_score";
    for (std::string_view key : score.natural_key) {
      name += '\x1f';
      name += row[std::string(key)].ToDisplay();
    }
    Result<Uuid> id = DerivedRowId(score, row);
    REQUIRE(id.ok());
    CHECK(*id == Uuid::Derived(ns, name));
    row["judge"] = T((judge + "\x1f").c_str());
    CHECK(DerivedRowId(score, row).status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("Entities: contest scores derive ids from product, contest, judge",
          "[entities]") {
  const Entity& score = E("contest_score");
  RowValues row = ValidRow("contest_score");
  Result<Uuid> id = DerivedRowId(score, row);
  REQUIRE(id.ok());

  RowValues rescored = row;
  rescored["quality"] = I(20);
  rescored["comment"] = T("แก้คะแนน");
  CHECK(*DerivedRowId(score, rescored) == *id);

  RowValues other_judge = row;
  other_judge["judge"] = T("อาจารย์สมชาย");
  CHECK(*DerivedRowId(score, other_judge) != *id);

  // The separator cannot be smuggled in to make two keys collide.
  RowValues smuggled = row;
  smuggled["contest"] =
      T("a\x1f"
        "b");
  CHECK(DerivedRowId(score, smuggled).status().code() ==
        Code::kInvalidArgument);
}

// DerivedRowId over values by column index (the server's check of a pushed
// row, without a map per row) gives what it gives over the same values by
// name: ids, refusals and their messages.
TEST_CASE("Entities: derived ids by column index are those by name",
          "[entities]") {
  auto by_column = [](const Entity& e, const RowValues& row) {
    std::vector<const Value*> out(e.columns.size() + 1, nullptr);
    for (size_t i = 0; i < e.columns.size(); ++i) {
      auto it = row.find(e.columns[i].name);
      if (it != row.end()) out[i] = &it->second;
    }
    if (auto it = row.find(kDeletedColumn); it != row.end()) out.back() = &it->second;
    return out;
  };
  auto same = [&](const Entity& e, const RowValues& row) {
    const Result<Uuid> by_name = DerivedRowId(e, row);
    const Result<Uuid> by_index = DerivedRowId(e, by_column(e, row));
    REQUIRE(by_name.ok() == by_index.ok());
    if (by_name.ok()) {
      CHECK(*by_name == *by_index);
    } else {
      CHECK(by_name.status().code() == by_index.status().code());
      CHECK(by_name.status().message() == by_index.status().message());
    }
  };
  for (const Entity& e : Catalogue()) {
    CAPTURE(e.name);
    RowValues row = ValidRow(e.name);
    same(e, row);
    row[std::string(kDeletedColumn)] = I(1);
    same(e, row);
    for (std::string_view key : e.natural_key) {
      CAPTURE(key);
      RowValues changed = ValidRow(e.name);
      changed.erase(std::string(key));
      same(e, changed);
      for (const Value& v : {Value::Null(), T(""), T("a\x1f" "b"), I(3), I(-12),
                             Value::Real(2.5), T(std::string(300, 'k').c_str()),
                             T("ผู้เข้าร่วม")}) {
        changed[std::string(key)] = v;
        same(e, changed);
      }
    }
  }
}

TEST_CASE("Entities: derived ids need the whole key and a natural key",
          "[entities]") {
  const Entity& attendance = E("attendance");
  for (std::string_view key : attendance.natural_key) {
    CAPTURE(key);
    RowValues row = ValidRow("attendance");
    row.erase(std::string(key));
    Result<Uuid> r = DerivedRowId(attendance, row);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(Contains(r.status().message(), key));
    row[std::string(key)] = Value::Null();
    CHECK(DerivedRowId(attendance, row).status().code() ==
          Code::kInvalidArgument);
  }
  for (const Entity& e : Catalogue()) {
    if (!e.natural_key.empty()) continue;
    CAPTURE(e.name);
    CHECK(DerivedRowId(e, ValidRow(e.name)).status().code() ==
          Code::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace kbo

namespace kbo {
namespace {

// The fast paths of cell validation (uuid digits through a table, control
// bytes eight at a time, UTF-8 not checked again for decoded values) give
// the answers of the plain rules, over random inputs. Fixed seed.
TEST_CASE("Validation fast paths agree with the plain rules on random values",
          "[entities][property]") {
  const Entity* attendance = FindEntity("attendance");
  REQUIRE(attendance != nullptr);
  const Column* note = attendance->FindColumn("note");
  const Column* status = attendance->FindColumn("status");
  const Column* ref = attendance->FindColumn("workshop_id");
  REQUIRE(note != nullptr);
  REQUIRE(status != nullptr);
  REQUIRE(ref != nullptr);
  std::mt19937 rng(20261204u);
  auto below = [&rng](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };

  // Texts: ASCII, Thai, tabs and line breaks, other control bytes, and bytes
  // that are not UTF-8, in runs long and short.
  const std::vector<std::string> pieces = {
      "a", "Present; on time", "มาสาย", "\t", "\n", "\r", std::string(1, '\0'),
      "\x01", "\x1f", " ", "\x7f", "\xc3\xa9", "\xe0\xb8", "\xff", "\x80",
      "0123456789abcdef"};
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const size_t n = below(12);
    for (size_t i = 0; i < n; ++i) text += pieces[below(pieces.size())];
    CAPTURE(text);
    const bool utf8 = IsValidUtf8(text);
    size_t control = text.size();
    for (size_t i = 0; i < text.size(); ++i) {
      const auto b = static_cast<uint8_t>(text[i]);
      if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
        control = i;
        break;
      }
    }
    const Status plain = ValidateCell(*attendance, *note, Value::Text(text));
    CHECK(plain.ok() == (utf8 && control == text.size()));
    if (utf8 && control != text.size()) {
      CHECK(plain.message().find("(code " +
                                 std::to_string(static_cast<uint8_t>(text[control])) +
                                 ")") != std::string::npos);
    }
    if (utf8) {
      const Status decoded = ValidateDecodedCell(*attendance, *note, Value::Text(text));
      CHECK(decoded.ok() == plain.ok());
      CHECK(decoded.message() == plain.message());
      const Status as_status = ValidateDecodedCell(*attendance, *status, Value::Text(text));
      CHECK(as_status.message() ==
            ValidateCell(*attendance, *status, Value::Text(text)).message());
    }
  }

  // References: a canonical uuid with one to three bytes changed.
  const std::string alphabet = "0123456789abcdefABCDEFg-_ z";
  for (int round = 0; round < 5000; ++round) {
    std::string text = Uuid::Random().ToString();
    if (round % 7 == 0) text = "00000000-0000-0000-0000-000000000000";
    const size_t changes = below(4);
    for (size_t i = 0; i < changes; ++i) text[below(text.size())] = alphabet[below(alphabet.size())];
    if (round % 11 == 0) text.pop_back();
    if (round % 13 == 0) text += "0";
    CAPTURE(text);
    const Result<Uuid> parsed = Uuid::Parse(text);
    const bool expected = parsed.ok() && parsed->ToString() == text && !parsed->IsNil();
    CHECK(ValidateCell(*attendance, *ref, Value::Text(text)).ok() == expected);
    CHECK(ValidateDecodedCell(*attendance, *ref, Value::Text(text)).ok() == expected);
  }
}

}  // namespace
}  // namespace kbo

namespace kbo {
namespace {

TEST_CASE("Entities: a bad reference names what it should be, with its article",
          "[entities]") {
  const Status enrolment = Cell("attendance", "enrolment_id", T("not-an-id"));
  CHECK(enrolment.code() == Code::kInvalidArgument);
  CHECK(Contains(enrolment.message(), "must be the id of an enrolment"));
  const Status workshop = Cell("attendance", "workshop_id", T("not-an-id"));
  CHECK(Contains(workshop.message(), "must be the id of a workshop"));
}

}  // namespace
}  // namespace kbo
