#ifndef KBO_TESTS_SUPPORT_SAMPLE_DATA_H_
#define KBO_TESTS_SUPPORT_SAMPLE_DATA_H_

#include <string>

#include <catch2/catch.hpp>

#include "client/store.h"

namespace kbo::testing {

inline Value T(const char* s) { return Value::Text(s); }
inline Value I(int64_t v) { return Value::Integer(v); }

// A Phrao producer group, a five-day workshop, and one enrolment.
struct PhraoFixture {
  Uuid producer, workshop, enrolment;

  explicit PhraoFixture(client::ClientStore& store) {
    auto p = store.Record("producer", {{"kind", T("group")},
                                       {"name", T("กลุ่มทอผ้าบ้านป่าตุ้ม")},
                                       {"district_code", T("5011")},
                                       {"tambon", T("ป่าตุ้ม")},
                                       {"category", T("textile")}});
    REQUIRE(p.ok());
    producer = *p;
    auto w = store.Record("workshop", {{"title", T("พัฒนาผลิตภัณฑ์ KBO รุ่นที่ 1")},
                                       {"fiscal_year", I(2557)},
                                       {"district_code", T("5011")},
                                       {"start_date", T("2014-03-10")}});
    REQUIRE(w.ok());
    workshop = *w;
    auto e = store.Record("enrolment", {{"workshop_id", T(workshop.ToString().c_str())},
                                        {"producer_id", T(producer.ToString().c_str())},
                                        {"participant_name", T("นางสมศรี ใจดี")}});
    REQUIRE(e.ok());
    enrolment = *e;
  }

  RowValues Mark(int day, const char* status) const {
    return {{"workshop_id", Value::Text(workshop.ToString())},
            {"enrolment_id", Value::Text(enrolment.ToString())},
            {"day", I(day)},
            {"status", T(status)}};
  }
};

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_SAMPLE_DATA_H_
