#ifndef KBO_TESTS_SERVER_EXPORT_FIXTURE_H_
#define KBO_TESTS_SERVER_EXPORT_FIXTURE_H_

// A server holding what an export must get right: Thai text, a deleted
// producer, a phone number with a leading 0, a Fang producer outside a
// Phrao filter, a workshop of fiscal year 2567 and one of 2566, five days of
// attendance, a visit and a contest score. Rows are written straight into
// the entity tables (exports read nothing else).

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "server/xlsx_export.h"
#include "tests/server/server_fixture.h"
#include "tests/server/xlsx_reader.h"

namespace kbo::server::testing {

// Ids of the fixture's rows (fixed, so failures are readable).
inline constexpr const char* kProducer = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kFangProducer =
    "22222222-2222-4222-8222-222222222222";
inline constexpr const char* kDeletedProducer =
    "33333333-3333-4333-8333-333333333333";
inline constexpr const char* kProduct = "44444444-4444-4444-8444-444444444444";
inline constexpr const char* kWorkshop = "55555555-5555-4555-8555-555555555555";
inline constexpr const char* kOldWorkshop =
    "66666666-6666-4666-8666-666666666666";
inline constexpr const char* kEnrolment =
    "77777777-7777-4777-8777-777777777777";
inline constexpr const char* kOldEnrolment =
    "88888888-8888-4888-8888-888888888888";
inline constexpr const char* kVisit = "99999999-9999-4999-8999-999999999999";

class ExportFixture : public ServerFixture {
 public:
  ExportFixture() {
    Insert("producer", kProducer,
           {{"kind", T("group")},
            {"name", T("กลุ่มทอผ้าบ้านป่าตุ้ม")},
            {"district_code", T(kPhrao)},
            {"tambon", T("ป่าตุ้ม")},
            {"phone", T("0812345678")},
            {"category", T("textile")},
            {"otop_stars", I(3)}});
    Insert("producer", kFangProducer,
           {{"kind", T("entrepreneur")},
            {"name", T("ร้านกาแฟฝาง")},
            {"district_code", T(kFang)},
            {"phone", T("0899999999")}});
    Insert("producer", kDeletedProducer,
           {{"kind", T("group")},
            {"name", T("กลุ่มที่ลบแล้ว")},
            {"district_code", T(kPhrao)}},
           /*deleted=*/true);
    Insert("product", kProduct,
           {{"producer_id", T(kProducer)},
            {"name", T("ผ้าซิ่นตีนจก")},
            {"district_code", T(kPhrao)},
            {"category", T("textile")},
            {"stage", T("prototype")}});
    Insert("workshop", kWorkshop,
           {{"title", T("อบรม KBO พร้าว")},
            {"fiscal_year", I(2567)},
            {"district_code", T(kPhrao)},
            {"start_date", T("2024-03-10")},
            {"days", I(5)}});
    Insert("workshop", kOldWorkshop,
           {{"title", T("อบรมปีก่อน")},
            {"fiscal_year", I(2566)},
            {"district_code", T(kPhrao)},
            {"start_date", T("2023-03-10")},
            {"days", I(5)}});
    Insert("enrolment", kEnrolment,
           {{"workshop_id", T(kWorkshop)},
            {"producer_id", T(kProducer)},
            {"participant_name", T("นางสมศรี ใจดี")},
            {"district_code", T(kPhrao)}});
    Insert("enrolment", kOldEnrolment,
           {{"workshop_id", T(kOldWorkshop)},
            {"producer_id", T(kProducer)},
            {"participant_name", T("นายปีก่อน มาแล้ว")},
            {"district_code", T(kPhrao)}});
    const char* statuses[] = {"absent", "present", "late", "excused",
                              "present"};
    for (int day = 1; day <= 5; ++day) {
      Insert("attendance", "a000000" + std::to_string(day),
             {{"workshop_id", T(kWorkshop)},
              {"enrolment_id", T(kEnrolment)},
              {"day", I(day)},
              {"status", T(statuses[day - 1])},
              {"district_code", T(kPhrao)}});
    }
    Insert("visit", kVisit,
           {{"producer_id", T(kProducer)},
            {"visited_at", T("2024-03-10T02:00:00Z")},
            {"lat", Value::Real(19.3667)},
            {"purpose", T("ติดตามต้นแบบ")},
            {"district_code", T(kPhrao)}});
    Insert("contest_score", "c0000001",
           {{"product_id", T(kProduct)},
            {"contest", T("KBO CM CONTEST 2567")},
            {"judge", T("อาจารย์สมชาย")},
            {"identity", I(18)},
            {"uniqueness", I(17)},
            {"quality", I(16)},
            {"packaging", I(15)},
            {"marketability", I(14)},
            {"district_code", T(kPhrao)}});
  }

  void Insert(const std::string& entity, const std::string& id,
              const std::map<std::string, Value>& cells, bool deleted = false) {
    std::string cols = "id, deleted", marks = "?1, ?2";
    int i = 3;
    for (const auto& [name, v] : cells) {
      cols += ", " + name;
      marks += ", ?" + std::to_string(i++);
    }
    Statement st(store->db(), "INSERT INTO " + entity + " (" + cols +
                                  ") VALUES (" + marks + ")");
    REQUIRE(st.status().ok());
    st.Bind(1, std::string_view(id)).Bind(2, int64_t{deleted ? 1 : 0});
    i = 3;
    for (const auto& [name, v] : cells) st.Bind(i++, v);
    REQUIRE(st.Run().ok());
  }

  std::vector<XlsxSheet> Export(const ExportFilter& filter) {
    const std::string path = tmp.File("kbo.xlsx");
    Result<XlsxSummary> written = ExportXlsx(store->db(), path, filter);
    REQUIRE(written.ok());
    return ReadXlsx(path);
  }
};

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_EXPORT_FIXTURE_H_
