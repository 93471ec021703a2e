#ifndef KBO_TESTS_SERVER_CONFLICT_FIXTURE_H_
#define KBO_TESTS_SERVER_CONFLICT_FIXTURE_H_

// Two Phrao trainers' attendance conflict (ขาด / ลา), for the conflict view,
// history and console tests.

#include <string>

#include "server/conflicts.h"
#include "server/push_service.h"
#include "shared/entities.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {

inline Uuid AttendanceId(const Uuid& workshop, const Uuid& enrolment, int64_t day) {
  RowValues key;
  key["workshop_id"] = T(workshop.ToString());
  key["enrolment_id"] = T(enrolment.ToString());
  key["day"] = I(day);
  return DerivedRowId(*FindEntity("attendance"), key).value();
}

// A participant of `workshop` from `producer`, in Phrao.
inline RowChange Enrolment(const Uuid& id, const Hlc& hlc, const Uuid& workshop,
                           const Uuid& producer, const std::string& participant) {
  return Row("enrolment", id, hlc,
             {{"workshop_id", T(workshop.ToString()), 0},
              {"producer_id", T(producer.ToString()), 0},
              {"participant_name", T(participant), 0},
              {"district_code", T(kPhrao), 0}});
}

inline RowChange Mark(const Uuid& id, const Hlc& hlc, const Uuid& workshop,
               const Uuid& enrolment, int64_t day, const std::string& status) {
  return Row("attendance", id, hlc,
             {{"workshop_id", T(workshop.ToString()), 0},
              {"enrolment_id", T(enrolment.ToString()), 0},
              {"day", I(day), 0},
              {"status", T(status), 0},
              {"district_code", T(kPhrao), 0}});
}

// Two Phrao trainers mark one participant's day 3 offline: ขาด (absent)
// and ลา (excused). One conflict on attendance.status.
struct AttendanceConflict {
  ServerFixture f;
  TestDevice somchai, malee;
  Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
       enrolment = Uuid::Random();
  Uuid attendance = AttendanceId(workshop, enrolment, 3);
  ConflictRecord conflict;

  AttendanceConflict() {
    f.Enroll(somchai, kPhrao, "trainer");
    f.Enroll(malee, kPhrao, "trainer");
    REQUIRE(f.store->db()
                .Exec("UPDATE device SET label = 'สมชาย พร้าว A14' WHERE "
                      "device_id = '" +
                      somchai.id.ToString() + "'")
                .ok());
    PushService push(*f.store);
    REQUIRE(push.Push(
                    f.Record(somchai.id),
                    somchai.SealNext(
                        {Producer(producer, somchai.HlcAt(kT0), kPhrao,
                                  "กลุ่มจักสานไม้ไผ่"),
                         Workshop(workshop, somchai.HlcAt(kT0), kPhrao,
                                  "อบรมพัฒนาผลิตภัณฑ์ KBO พร้าว"),
                         Enrolment(enrolment, somchai.HlcAt(kT0), workshop, producer,
                                   "นางสมศรี ใจดี"),
                         Mark(attendance, somchai.HlcAt(kT0 + 10), workshop,
                              enrolment, 3, "absent")}))
                .ok());  // seqs 1..4
    REQUIRE(push.Push(f.Record(malee.id),
                      malee.SealNext({Mark(attendance, malee.HlcAt(kT0 + 20),
                                           workshop, enrolment, 3, "excused")}))
                .ok());
    auto list = Conflicts(*f.store).List();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    conflict = list->front();
    REQUIRE(conflict.column_name == "status");
  }
};

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_CONFLICT_FIXTURE_H_
