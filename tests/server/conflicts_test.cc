#include "server/conflicts.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "server/conflict_view.h"
#include "server/data_quality.h"
#include "server/office_delete.h"
#include "server/pull_service.h"
#include "server/push_service.h"
#include "server/storage/change_log.h"
#include "tests/server/conflict_fixture.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

const Resolver kCli{"cli", "", ""};

// Two Phrao devices edit one producer's phone offline: one conflict.
struct PhoneConflict {
  ServerFixture f;
  TestDevice officer, trainer;
  Uuid producer = Uuid::Random();
  ConflictRecord conflict;

  PhoneConflict() {
    f.Enroll(officer, kPhrao, "field_officer");
    f.Enroll(trainer, kPhrao);
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(officer.id),
                      officer.SealNext(
                          {Producer(producer, officer.HlcAt(kT0), kPhrao),
                           Row("producer", producer, officer.HlcAt(kT0 + 10),
                               {{"phone", T("0811111111"), 0}})}))
                .ok());  // seqs 1, 2
    REQUIRE(push.Push(f.Record(trainer.id),
                      trainer.SealNext(
                          {Row("producer", producer, trainer.HlcAt(kT0 + 20),
                               {{"phone", T("0822222222"), 0}})}))
                .ok());  // seq 3, conflict feed 4
    auto list = Conflicts(*f.store).List();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    conflict = list->front();
  }
};

TEST_CASE(
    "Conflicts: resolving writes an ordinary change every device pulls, "
    "and marks the conflict resolved",
    "[server][conflict]") {
  PhoneConflict c;
  ServerFixture& f = c.f;
  f.wall.Advance(3600 * 1000);
  Conflicts conflicts(*f.store);
  auto r = conflicts.Resolve(c.conflict.id,
                             Resolution{Resolution::Kind::kKeepCurrent, "", 0},
                             kCli);
  REQUIRE(r.ok());
  CHECK(r->seq == 5);
  CHECK(r->conflict.resolved());
  CHECK(r->conflict.resolved_value == "0811111111");
  CHECK(r->conflict.resolution_seq == 5);
  CHECK(r->conflict.feed_seq == 6);
  CHECK(f.Text("SELECT phone FROM producer") == "0811111111");
  CHECK(conflicts.List(/*open_only=*/true)->empty());

  // The trainer pulls from its cursor (3) and receives the resolution,
  // stamped by the server after the value it replaces, base = that value.
  PullService pull(*f.store);
  f.PulledTo(c.trainer.id, 3);
  auto page = pull.Pull(f.Record(c.trainer.id), 3, 0, /*since=*/3);
  REQUIRE(page.ok());
  auto cs = DecodeChangeSet(page->body);
  REQUIRE(cs.ok());
  REQUIRE(cs->rows.size() == 1);
  const RowChange& row = cs->rows[0];
  CHECK(row.row_id == c.producer);
  CHECK(row.hlc.device == f.store->server_id());
  CHECK(row.hlc.wall_ms == kT0 + 3600 * 1000);
  REQUIRE(row.cells.size() == 1);
  CHECK(row.cells[0].column == "phone");
  CHECK(row.cells[0].value == T("0811111111"));
  CHECK(row.cells[0].base == 5);

  // The resolution itself is in the feed, after the trainer's conflict cursor.
  auto feed = pull.ConflictsAfter(f.Record(c.trainer.id), 4, 0);
  REQUIRE(feed.ok());
  CHECK(feed->count == 1);
  CHECK(feed->next == 6);

  // It is logged as the server's own signed change set (compressed: the
  // signature is over the set's bytes as the log gives them back).
  Statement st(
      f.store->db(),
      "SELECT seq, signature, bytes_zstd FROM change_set_log WHERE device_id = '" +
          f.store->server_id().ToString() + "'");
  REQUIRE(st.Step());
  CHECK(st.ColumnInt(2) == 1);
  Result<std::string> logged = storage::ChangeLog(f.store->db())
                                   .SetBytes(f.store->server_id().ToString(),
                                             static_cast<uint64_t>(st.ColumnInt(0)));
  REQUIRE(logged.ok());
  const std::string& bytes = *logged;
  const std::string sig_bytes = st.ColumnBlob(1);
  Signature sig{};
  REQUIRE(sig_bytes.size() == sig.size());
  std::copy(sig_bytes.begin(), sig_bytes.end(), sig.begin());
  CHECK(Verify(f.store->key().public_key(), kChangeSetDomain, bytes, sig));

  // Resolving twice is refused, saying when, by whom and to what.
  auto twice = conflicts.Resolve(c.conflict.id, Resolution{}, kCli);
  CHECK(twice.status().code() == Code::kFailedPrecondition);
  CHECK(twice.status().reason() == kAlreadyResolved);
  CHECK_THAT(twice.status().message(),
             Catch::Contains("was already resolved on " +
                             r->conflict.resolved_at + " by cli (value "
                             "'0811111111')"));
}

// A trainer cycles one roll-call mark offline (each tap a write, all with
// the base it last heard of) while another trainer marked it too.
struct RollCallTaps {
  ServerFixture f;
  TestDevice somchai, malee;
  Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
       enrolment = Uuid::Random();
  Uuid attendance = AttendanceId(workshop, enrolment, 5);
  Uuid day4 = AttendanceId(workshop, enrolment, 4);

  // Seq 4: somchai's "late" on day 5, seen by malee; seq 5: malee's
  // `malee_status`. Day 4 (seq 6, 7): the same, late then absent.
  explicit RollCallTaps(const std::string& malee_status) {
    f.Enroll(somchai, kPhrao, "trainer");
    f.Enroll(malee, kPhrao, "trainer");
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext(
                          {Producer(producer, somchai.HlcAt(kT0), kPhrao),
                           Workshop(workshop, somchai.HlcAt(kT0), kPhrao),
                           Enrolment(enrolment, somchai.HlcAt(kT0), workshop, producer,
                                     "นายประเสริฐ"),
                           Mark(attendance, somchai.HlcAt(kT0 + 10), workshop,
                                enrolment, 5, "late")}))
                .ok());
    f.Pulled(malee);
    REQUIRE(push.Push(f.Record(malee.id),
                      malee.SealNext({Tap(attendance, malee.HlcAt(kT0 + 20),
                                          malee_status)}))
                .ok());
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext({Mark(day4, somchai.HlcAt(kT0 + 11),
                                             workshop, enrolment, 4, "late")}))
                .ok());
    f.Pulled(malee);
    REQUIRE(push.Push(f.Record(malee.id),
                      malee.SealNext({Tap(day4, malee.HlcAt(kT0 + 21), "absent", 6)}))
                .ok());
    REQUIRE(OpenConflicts().empty());  // she had seen "late"
  }

  static RowChange Tap(const Uuid& id, const Hlc& hlc, const std::string& status,
                       uint64_t base = 4) {
    return Row("attendance", id, hlc, {{"status", T(status), base}});
  }

  // Somchai's taps on day 5, one change set, each with the base he last
  // heard of, from `at` on (before malee's kT0 + 20: his taps lose).
  void SomchaiTaps(const std::vector<std::string>& statuses, int64_t at = kT0 + 30) {
    std::vector<RowChange> rows;
    for (const std::string& status : statuses) {
      rows.push_back(Tap(attendance, somchai.HlcAt(at++), status));
    }
    SomchaiSends(std::move(rows));
  }

  // His taps as given, in one change set.
  void SomchaiSends(std::vector<RowChange> rows) {
    f.Pulled(somchai);  // what his bases name, he was served
    REQUIRE(PushService(*f.store).Push(f.Record(somchai.id), somchai.SealNext(rows)).ok());
  }

  // The office decides conflict `id` the `kind` way.
  void Decide(const std::string& id, Resolution::Kind kind) {
    auto decided = Conflicts(*f.store).Resolve(id, Resolution{kind, "", 0}, kCli);
    INFO(decided.status().ToString());
    REQUIRE(decided.ok());
  }

  std::string StatusOf(const Uuid& id) {
    return f.Text("SELECT status FROM attendance WHERE id = '" + id.ToString() + "'");
  }

  std::vector<ConflictRecord> OpenConflicts() {
    auto list = Conflicts(*f.store).List();
    REQUIRE(list.ok());
    std::vector<ConflictRecord> open;
    for (const ConflictRecord& c : *list) {
      if (!c.resolved()) open.push_back(c);
    }
    return open;
  }
};

TEST_CASE("Conflicts: a tap through another device's mark to another is a "
          "conflict with that mark, not a silent overwrite",
          "[conflicts][merge]") {
  // Malee marked ขาด (absent); somchai, never having seen it, taps his
  // mark on: ขาด (the same: no conflict), then ลา (excused). Once, the
  // first tap took the cell over and the second overwrote her mark
  // unseen, with no conflict.
  RollCallTaps taps("absent");
  taps.SomchaiTaps({"absent", "excused"});
  const std::vector<ConflictRecord> open = taps.OpenConflicts();
  REQUIRE(open.size() == 1);
  CHECK(open[0].column_name == "status");
  CHECK(open[0].current_value == T("absent"));
  CHECK(open[0].current_device == taps.malee.id.ToString());
  CHECK(open[0].current_seq == 5);
  CHECK(open[0].incoming_value == T("excused"));
  CHECK(open[0].incoming_device == taps.somchai.id.ToString());
  CHECK(open[0].incoming_base == 4);
  CHECK(open[0].winner == "incoming");
}

TEST_CASE("Conflicts: a device's taps on one mark are one conflict, on the "
          "mark it ends with",
          "[conflicts][merge]") {
  SECTION("ends with a third mark: the conflict shows it, not the first tap") {
    RollCallTaps taps("absent");
    taps.SomchaiTaps({"present", "late", "excused"});
    const std::vector<ConflictRecord> open = taps.OpenConflicts();
    REQUIRE(open.size() == 1);
    CHECK(open[0].current_value == T("absent"));
    CHECK(open[0].incoming_value == T("excused"));
    CHECK(open[0].incoming_seq == 10);
    CHECK(open[0].winner == "incoming");
    // The office keeps his last word: it is what the row holds.
    CHECK(taps.StatusOf(taps.attendance) == "excused");
    // Decided for hers, it is hers again.
    taps.Decide(open[0].id, Resolution::Kind::kKeepCurrent);
    CHECK(taps.StatusOf(taps.attendance) == "absent");
  }
  SECTION("his taps are older than her mark: one conflict on his last, hers shown") {
    RollCallTaps taps("absent");
    taps.SomchaiTaps({"present", "excused"}, kT0 + 12);
    const std::vector<ConflictRecord> open = taps.OpenConflicts();
    REQUIRE(open.size() == 1);
    CHECK(open[0].current_value == T("absent"));
    CHECK(open[0].incoming_value == T("excused"));
    CHECK(open[0].winner == "current");
    CHECK(taps.StatusOf(taps.attendance) == "absent");
    // Kept for his: his last word.
    taps.Decide(open[0].id, Resolution::Kind::kKeepIncoming);
    CHECK(taps.StatusOf(taps.attendance) == "excused");
  }
  SECTION("he saw her mark between his taps (a pull landed): his next tap "
          "writes over it knowingly, no conflict left") {
    RollCallTaps taps("absent");
    std::vector<RowChange> rows = {
        // Older than hers: it loses, a conflict...
        RollCallTaps::Tap(taps.attendance, taps.somchai.HlcAt(kT0 + 12), "present"),
        // ...then he has seen hers (base 5) and taps on.
        RollCallTaps::Tap(taps.attendance, taps.somchai.HlcAt(kT0 + 25), "excused", 5)};
    taps.SomchaiSends(std::move(rows));
    CHECK(taps.OpenConflicts().empty());
    CHECK(taps.StatusOf(taps.attendance) == "excused");
  }
  SECTION("two marks tapped in turn: the one he ends agreeing on has none, the "
          "other one, on his last word") {
    RollCallTaps taps("absent");
    // Day 5: present (conflict), later absent (hers: none). Day 4: absent
    // (hers, an agreement), then excused (a conflict with her absent).
    std::vector<RowChange> rows = {
        RollCallTaps::Tap(taps.attendance, taps.somchai.HlcAt(kT0 + 30), "present"),
        RollCallTaps::Tap(taps.day4, taps.somchai.HlcAt(kT0 + 31), "absent", 6),
        RollCallTaps::Tap(taps.attendance, taps.somchai.HlcAt(kT0 + 32), "late"),
        RollCallTaps::Tap(taps.day4, taps.somchai.HlcAt(kT0 + 33), "excused", 6),
        RollCallTaps::Tap(taps.attendance, taps.somchai.HlcAt(kT0 + 34), "absent")};
    taps.SomchaiSends(std::move(rows));
    const std::vector<ConflictRecord> open = taps.OpenConflicts();
    REQUIRE(open.size() == 1);
    CHECK(open[0].row_id == taps.day4.ToString());
    CHECK(open[0].current_value == T("absent"));
    CHECK(open[0].incoming_value == T("excused"));
    CHECK(taps.StatusOf(taps.attendance) == "absent");
    CHECK(taps.StatusOf(taps.day4) == "excused");
  }
  SECTION("ends with the other device's mark: they agree, no conflict") {
    RollCallTaps taps("absent");
    taps.SomchaiTaps({"present", "absent"});
    CHECK(taps.OpenConflicts().empty());
  }
  SECTION("agrees, differs, agrees again: no conflict") {
    RollCallTaps taps("absent");
    taps.SomchaiTaps({"absent", "present", "absent"});
    CHECK(taps.OpenConflicts().empty());
  }
}

TEST_CASE("Conflicts: an edit of a row deleted since its writer last synced "
          "is a conflict on deleted, and keeping the edit brings the row back "
          "with it",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  const Uuid producer = Uuid::Random(), other = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext(
                        {Producer(producer, officer.HlcAt(kT0), kPhrao),
                         Producer(other, officer.HlcAt(kT0 + 1), kPhrao,
                                  "กลุ่มที่สอง")}))
              .ok());  // seqs 1, 2
  // The officer deletes the group; the trainer, who received it at seq 1
  // and has not synced since, changes its phone; and the same, but the
  // trainer writes what is already there (no edit), for the other group.
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", producer,
                                          officer.HlcAt(kT0 + 10),
                                          {{"deleted", I(1), 1}}),
                                      Row("producer", other,
                                          officer.HlcAt(kT0 + 11),
                                          {{"deleted", I(1), 2}})}))
              .ok());  // seqs 3, 4
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 19),
                                          {{"phone", T("0899999999"), 0}}),
                                      Row("producer", producer,
                                          trainer.HlcAt(kT0 + 20),
                                          {{"phone", T("0822222222"), 0}}),
                                      Row("producer", other,
                                          trainer.HlcAt(kT0 + 21),
                                          {{"name", T("กลุ่มที่สอง"), 2}})}))
              .ok());
  Conflicts conflicts(*f.store);
  auto list = conflicts.List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  const ConflictRecord& c = list->front();
  CHECK(c.row_id == producer.ToString());
  CHECK(c.column_name == "deleted");
  CHECK(c.current_value == I(1));
  CHECK(c.current_device == officer.id.ToString());
  CHECK(c.current_seq == 3);
  CHECK(c.incoming_value == I(0));
  CHECK(c.incoming_device == trainer.id.ToString());
  CHECK(c.incoming_base == 0);
  CHECK(c.winner == "current");
  // Shown for a person: the trainer edited it, not knowing.
  auto views = DescribeConflicts(f.store->db(), {c}, Lang::kEn);
  REQUIRE(views.ok());
  CHECK(views->front().current.value == "deleted");
  CHECK(views->front().incoming.value ==
        "edited it, not knowing it was deleted (still in use)");
  // The row stays deleted until a person decides; the edit is kept in it.
  CHECK(f.Text("SELECT phone FROM producer WHERE id = '" + producer.ToString() +
               "'") == "0822222222");
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" +
                producer.ToString() + "'") == 1);

  // Two edits in one set were one crossing; a later edit of the trainer's,
  // while it is open, is the same one.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 25),
                                          {{"village", T("บ้านป่าตุ้ม"), 0}})}))
              .ok());
  CHECK(conflicts.List()->size() == 1);
  // A set that edits a deleted row and deletes it too took it for deleted.
  TestDevice third;
  f.Enroll(third, kPhrao);
  REQUIRE(push.Push(f.Record(third.id),
                    third.SealNext({Row("producer", other,
                                        third.HlcAt(kT0 + 26),
                                        {{"phone", T("0844444444"), 2}}),
                                    Row("producer", other,
                                        third.HlcAt(kT0 + 27),
                                        {{"deleted", I(1), 2}})}))
              .ok());
  CHECK(conflicts.List()->size() == 1);

  // The officer's later edit of a row it deleted itself is no conflict
  // (it cannot happen on a device; it can in a replayed bundle).
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", producer,
                                          officer.HlcAt(kT0 + 30),
                                          {{"tambon", T("เวียง"), 0}})}))
              .ok());
  CHECK(conflicts.List()->size() == 1);

  auto r = conflicts.Resolve(c.id,
                             Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                             kCli);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" +
                producer.ToString() + "'") == 0);
  CHECK(f.Text("SELECT phone FROM producer WHERE id = '" + producer.ToString() +
               "'") == "0822222222");
  CHECK(f.Text("SELECT tambon FROM producer WHERE id = '" +
               producer.ToString() + "'") == "เวียง");
}

TEST_CASE("Conflicts: an edit of a deleted row is settled when its writer "
          "deletes the row too, in a later set",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer, third;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  f.Enroll(third, kPhrao);
  const Uuid producer = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0),
                                               kPhrao)}))
              .ok());  // seq 1
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", producer,
                                          officer.HlcAt(kT0 + 10),
                                          {{"deleted", I(1), 1}})}))
              .ok());  // seq 2
  // Two devices edit it, not knowing: two crossings.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 20),
                                          {{"phone", T("0822222222"), 0}})}))
              .ok());
  REQUIRE(push.Push(f.Record(third.id),
                    third.SealNext({Row("producer", producer,
                                        third.HlcAt(kT0 + 21),
                                        {{"village", T("บ้านป่าตุ้ม"), 0}})}))
              .ok());
  Conflicts conflicts(*f.store);
  REQUIRE(conflicts.List(/*open_only=*/true)->size() == 2);

  // The trainer, having pulled the delete, deletes the row too: its
  // crossing is settled, the other device's stays open for a person.
  auto pushed = push.Push(f.Record(trainer.id),
                          trainer.SealNext({Row("producer", producer,
                                                trainer.HlcAt(kT0 + 30),
                                                {{"deleted", I(1), 2}})}));
  REQUIRE(pushed.ok());
  auto open = conflicts.List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  CHECK(open->front().incoming_device == third.id.ToString());
  auto all = conflicts.List(/*open_only=*/false);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  const ConflictRecord& settled =
      all->at(0).incoming_device == trainer.id.ToString() ? all->at(0) : all->at(1);
  CHECK(settled.resolved());
  CHECK(settled.resolved_value == "1");
  CHECK(settled.resolved_by == "device:" + trainer.id.ToString());
  CHECK(settled.resolution_reason == "the device that edited it deleted it too");
  CHECK(settled.feed_seq > open->front().feed_seq);  // devices hear of it
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE subject = 'conflict:" +
                settled.id + "'") == 1);
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" +
                producer.ToString() + "'") == 1);
  // Resolving it again is refused: it is settled.
  CHECK(conflicts.Resolve(settled.id, Resolution{}, kCli).status().reason() ==
        kAlreadyResolved);
}

TEST_CASE("Conflicts: a set that deletes a row and brings it back settles "
          "nothing",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  const Uuid producer = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0), kPhrao)}))
              .ok());  // seq 1
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", producer,
                                          officer.HlcAt(kT0 + 10),
                                          {{"deleted", I(1), 1}})}))
              .ok());  // seq 2
  f.PulledTo(trainer.id, 1);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 20),
                                          {{"phone", T("0811111111"), 1}})}))
              .ok());
  Conflicts conflicts(*f.store);
  REQUIRE(conflicts.List(/*open_only=*/true)->size() == 1);
  f.Pulled(trainer);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 30),
                                          {{"deleted", I(1), 2}}),
                                      Row("producer", producer,
                                          trainer.HlcAt(kT0 + 31),
                                          {{"deleted", I(0), 2}})}))
              .ok());
  CHECK(f.Count("SELECT deleted FROM producer") == 0);
  CHECK(conflicts.List(/*open_only=*/true)->size() == 1);
}

TEST_CASE("Conflicts: a stale edit of a producer merged away says so, and "
          "keeping the edit is refused (it would make the duplicate again)",
          "[server][conflict][merge]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  const Uuid keep = Uuid::Random(), drop = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext(
                        {Producer(keep, officer.HlcAt(kT0), kPhrao,
                                  "กลุ่มทอผ้าบ้านป่าตุ้ม"),
                         Producer(drop, officer.HlcAt(kT0 + 1), kPhrao,
                                  "กลุ่มทอผ้า บ้านป่าตุ้ม")}))
              .ok());  // seqs 1, 2
  {
    Transaction tx(f.store->db());
    Scope all;
    all.all = true;
    REQUIRE(MergeProducers(*f.store, all, keep.ToString(), drop.ToString(),
                           "กลุ่มเดียวกัน", "cli", "")
                .ok());
    REQUIRE(tx.Commit().ok());
    f.store->NoteCommittedSequences();
  }
  // The trainer, who had the duplicate from seq 2, changes its phone.
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", drop,
                                          trainer.HlcAt(kT0 + 20),
                                          {{"phone", T("0822222222"), 2}})}))
              .ok());
  Conflicts conflicts(*f.store);
  auto open = conflicts.List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  const ConflictRecord c = open->front();
  CHECK(c.column_name == "deleted");
  for (Lang lang : {Lang::kEn, Lang::kTh}) {
    auto views = DescribeConflicts(f.store->db(), {c}, lang);
    REQUIRE(views.ok());
    CHECK_THAT(views->front().current.value,
               Catch::Contains("'กลุ่มทอผ้าบ้านป่าตุ้ม'"));
    CHECK_THAT(views->front().current.value,
               Catch::Contains(lang == Lang::kEn ? "merged into" : "รวมเข้ากับ"));
  }
  auto revive = conflicts.Resolve(
      c.id, Resolution{Resolution::Kind::kKeepIncoming, "", 0}, kCli);
  CHECK(revive.status().code() == Code::kFailedPrecondition);
  CHECK(revive.status().reason() == "merged_away");
  CHECK_THAT(revive.status().message(),
             Catch::Contains("merged into " + keep.ToString()));
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" + drop.ToString() +
                "'") == 1);
  CHECK(conflicts.List(/*open_only=*/true)->size() == 1);
  // Typing 0 is the same revival.
  CHECK(conflicts.Resolve(c.id, Resolution{Resolution::Kind::kValue, "0", 0}, kCli)
            .status()
            .reason() == "merged_away");
  // Keeping the delete closes it.
  REQUIRE(conflicts
              .Resolve(c.id, Resolution{Resolution::Kind::kKeepCurrent, "", 0}, kCli)
              .ok());
  CHECK(conflicts.List(/*open_only=*/true)->empty());

  // A producer the office deleted without a merge can still be brought
  // back by keeping an edit (the rule of the test above).
  auto merged = MergedInto(f.store->db(), f.store->server_id().ToString(),
                           keep.ToString());
  REQUIRE(merged.ok());
  CHECK(!merged->has_value());
}

TEST_CASE("Conflicts: bringing a deleted row back decides every edit of it "
          "that did not know of the delete",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer, third;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  f.Enroll(third, kPhrao);
  const Uuid producer = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0), kPhrao)}))
              .ok());  // seq 1
  Scope all;
  all.all = true;
  const auto office = [&](auto write) {
    Transaction tx(f.store->db());
    auto r = write();
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    REQUIRE(tx.Commit().ok());
    f.store->NoteCommittedSequences();
  };
  // Each device a column of its own: no conflict between the two edits.
  const auto edit_offline = [&](TestDevice& d, const char* column,
                                const char* value, int64_t at) {
    REQUIRE(push.Push(f.Record(d.id),
                      d.SealNext({Row("producer", producer, d.HlcAt(kT0 + at),
                                      {{column, T(value), 1}})}))
                .ok());
  };
  Conflicts conflicts(*f.store);

  SECTION("the office undoes its delete") {
    office([&] {
      return DeleteAsOffice(*f.store, all, "producer", producer.ToString(),
                            "ซ้ำ", RowsUnder::kRefuse, "user:office", "");
    });
    edit_offline(trainer, "phone", "0811111111", 20);
    edit_offline(third, "village", "บ้านป่าตุ้ม", 21);
    REQUIRE(conflicts.List(/*open_only=*/true)->size() == 2);
    office([&] {
      return RestoreDeletedRow(*f.store, all, "producer", producer.ToString(),
                               "ไม่ได้ซ้ำ", "user:office", "192.0.2.1");
    });
    CHECK(conflicts.List(/*open_only=*/true)->empty());
    auto all_conflicts = conflicts.List();
    REQUIRE(all_conflicts.ok());
    REQUIRE(all_conflicts->size() == 2);
    for (const ConflictRecord& c : *all_conflicts) {
      CHECK(c.resolved_value == "0");
      CHECK(c.resolved_by == "user:office");
      CHECK(c.resolution_reason == "restored: ไม่ได้ซ้ำ");
    }
    CHECK(f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'resolve'") == 2);
  }
  SECTION("keeping one device's edit decides the other's too") {
    REQUIRE(push.Push(f.Record(officer.id),
                      officer.SealNext({Row("producer", producer,
                                            officer.HlcAt(kT0 + 10),
                                            {{"deleted", I(1), 1}})}))
                .ok());
    edit_offline(trainer, "phone", "0811111111", 20);
    edit_offline(third, "village", "บ้านป่าตุ้ม", 21);
    auto open = conflicts.List(/*open_only=*/true);
    REQUIRE(open->size() == 2);
    REQUIRE(conflicts
                .Resolve(open->front().id,
                         {Resolution::Kind::kKeepIncoming, "", 0}, kCli)
                .ok());
    CHECK(conflicts.List(/*open_only=*/true)->empty());
    CHECK(f.Count("SELECT deleted FROM producer") == 0);
  }
}

TEST_CASE("Conflicts: a typed value, or either side by its sequence",
          "[server][conflict]") {
  SECTION("--value, parsed for the column") {
    PhoneConflict c;
    Conflicts conflicts(*c.f.store);
    CHECK(
        conflicts
            .Resolve(c.conflict.id, {Resolution::Kind::kValue, "053-111222", 0}, kCli)
            .ok());
    CHECK(c.f.Text("SELECT phone FROM producer") == "053111222");  // as typed on a device
  }
  SECTION("--keep SEQ") {
    PhoneConflict c;
    Conflicts conflicts(*c.f.store);
    auto bad =
        conflicts.Resolve(c.conflict.id, {Resolution::Kind::kKeepSeq, "", 99}, kCli);
    CHECK(bad.status().code() == Code::kInvalidArgument);
    CHECK(conflicts.Resolve(c.conflict.id, {Resolution::Kind::kKeepSeq, "", 3}, kCli)
              .ok());
    CHECK(c.f.Text("SELECT phone FROM producer") == "0822222222");
  }
  SECTION("unknown id") {
    PhoneConflict c;
    Conflicts conflicts(*c.f.store);
    CHECK(conflicts.Resolve("nope", {}, kCli).status().code() == Code::kNotFound);
  }
}

TEST_CASE("Conflicts: deciding a field settles its earlier open conflicts, and later ones "
          "whose values were in view, each saying with which",
          "[server][conflict]") {
  PhoneConflict c;  // conflict 1: 0811111111 (seq 2) against 0822222222 (seq 3)
  PushService push(*c.f.store);
  // The officer, still not having seen the trainer's, writes again: conflict 2.
  REQUIRE(push.Push(c.f.Record(c.officer.id),
                    c.officer.SealNext({Row("producer", c.producer, c.officer.HlcAt(kT0 + 30),
                                            {{"phone", T("0833333333"), 0}})}))
              .ok());
  Conflicts conflicts(*c.f.store);
  auto open = conflicts.List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 2);
  const ConflictRecord& second =
      open->front().id == c.conflict.id ? open->back() : open->front();
  Resolver by = kCli;
  by.reason = "ตามที่กลุ่มแจ้ง";
  auto r = conflicts.Resolve(second.id, {Resolution::Kind::kValue, "0844444444", 0}, by);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->settled_with == 1);
  auto first = conflicts.Get(c.conflict.id);
  REQUIRE(first.ok());
  CHECK(first->resolved());
  CHECK(first->resolved_value == "0844444444");
  CHECK(first->resolution_reason == "settled with conflict " + second.id + ": ตามที่กลุ่มแจ้ง");
  CHECK(conflicts.List(/*open_only=*/true)->empty());
  // Devices hear of both (each its own feed record).
  CHECK(c.f.Count("SELECT COUNT(*) FROM conflict WHERE resolved_at IS NOT NULL") == 2);

  // Deciding the earlier one first, with the later write in view (the page
  // shows it), settles the later one too: both its values were seen (the
  // trainer's, of this conflict, and the officer's later one). Left open,
  // a colleague was offered to undo the decision with the value it decided
  // against.
  PhoneConflict d;
  PushService push2(*d.f.store);
  REQUIRE(push2.Push(d.f.Record(d.officer.id),
                     d.officer.SealNext({Row("producer", d.producer, d.officer.HlcAt(kT0 + 30),
                                             {{"phone", T("0833333333"), 0}})}))
              .ok());
  Conflicts later(*d.f.store);
  auto both = later.List(/*open_only=*/true);
  REQUIRE(both->size() == 2);
  Resolution keep{Resolution::Kind::kValue, "0844444444", 0};
  auto unseen = later.Resolve(d.conflict.id, keep, kCli);
  REQUIRE_FALSE(unseen.ok());
  const int64_t* now_seq = unseen.status().IntegerField("now_seq");
  REQUIRE(now_seq != nullptr);
  keep.seen_seq = static_cast<uint64_t>(*now_seq);
  auto early = later.Resolve(d.conflict.id, keep, kCli);
  INFO(early.status().message());
  REQUIRE(early.ok());
  CHECK(early->settled_with == 1);
  CHECK(later.List(/*open_only=*/true)->empty());
  CHECK(d.f.Text("SELECT phone FROM producer") == "0844444444");

  // A later conflict with a value the decision did not have in view stays
  // open: the trainer wrote twice more without seeing, and the page showed
  // only the newest.
  PhoneConflict e;
  PushService push3(*e.f.store);
  REQUIRE(push3.Push(e.f.Record(e.officer.id),
                     e.officer.SealNext({Row("producer", e.producer, e.officer.HlcAt(kT0 + 30),
                                             {{"phone", T("0833333333"), 0}})}))
              .ok());  // a conflict with the trainer's first write
  REQUIRE(push3.Push(e.f.Record(e.trainer.id),
                     e.trainer.SealNext({Row("producer", e.producer, e.trainer.HlcAt(kT0 + 40),
                                             {{"phone", T("0855555555"), 3}})}))
              .ok());  // a conflict with the officer's second write
  Conflicts third(*e.f.store);
  REQUIRE(third.List(/*open_only=*/true)->size() == 3);
  Resolution decide{Resolution::Kind::kValue, "0844444444", 0};
  auto refused = third.Resolve(e.conflict.id, decide, kCli);
  REQUIRE(refused.status().IntegerField("now_seq") != nullptr);
  decide.seen_seq = static_cast<uint64_t>(*refused.status().IntegerField("now_seq"));
  auto decided = third.Resolve(e.conflict.id, decide, kCli);
  INFO(decided.status().message());
  REQUIRE(decided.ok());
  CHECK(decided->settled_with == 0);  // each later one has the officer's second write, not shown
  CHECK(third.List(/*open_only=*/true)->size() == 2);
}

TEST_CASE("Conflicts: --value takes a named value by its Thai or English "
          "name, as the device does",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  const Uuid producer = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(producer, officer.HlcAt(kT0), kPhrao),
                                      Row("producer", producer,
                                          officer.HlcAt(kT0 + 10),
                                          {{"category", T("herbal_nonfood"), 1}})}))
              .ok());
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", producer,
                                          trainer.HlcAt(kT0 + 20),
                                          {{"category", T("beverage"), 1}})}))
              .ok());
  Conflicts conflicts(*f.store);
  auto list = conflicts.List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  auto r = conflicts.Resolve(list->front().id,
                             {Resolution::Kind::kValue, "อาหาร", 0}, kCli);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(f.Text("SELECT category FROM producer") == "food");
}

TEST_CASE("Conflicts: an invalid value resolves nothing",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice a, b;
  f.Enroll(a, kPhrao);
  f.Enroll(b, kPhrao);
  PushService push(*f.store);
  const Uuid id = Uuid::Random();
  REQUIRE(push.Push(f.Record(a.id),
                    a.SealNext({Producer(id, a.HlcAt(kT0), kPhrao),
                                Row("producer", id, a.HlcAt(kT0 + 1),
                                    {{"otop_stars", I(3), 0}})}))
              .ok());
  REQUIRE(push.Push(f.Record(b.id),
                    b.SealNext({Row("producer", id, b.HlcAt(kT0 + 2),
                                    {{"otop_stars", I(4), 0}})}))
              .ok());
  Conflicts conflicts(*f.store);
  auto list = conflicts.List();
  REQUIRE(list->size() == 1);
  const uint64_t next = f.NextSeq();
  CHECK(conflicts.Resolve(list->front().id, {Resolution::Kind::kValue, "9", 0}, kCli)
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(
      conflicts.Resolve(list->front().id, {Resolution::Kind::kValue, "five", 0}, kCli)
          .status()
          .code() == Code::kInvalidArgument);
  CHECK(f.NextSeq() == next);
  CHECK(conflicts.List(true)->size() == 1);
  CHECK(f.Count("SELECT otop_stars FROM producer") == 4);
  auto ok = conflicts.Resolve(list->front().id,
                              {Resolution::Kind::kKeepIncoming, "", 0}, kCli);
  REQUIRE(ok.ok());
  CHECK(ok->conflict.resolved_value == "4");
}


// A trainer whose device covers Phrao and Fang deletes a Phrao workshop
// with everything under it (one hlc, as `kbo delete --cascade` writes
// them): a Phrao participant's enrolment and mark, and a Fang
// participant's, recorded while the workshop was still set in Fang. Another
// trainer, offline, sets the workshop's venue: a conflict on its delete.
struct WorkshopDeletedWithRows {
  ServerFixture f;
  TestDevice somchai, malee;
  Uuid producer = Uuid::Random(), workshop = Uuid::Random(), near = Uuid::Random(),
       far = Uuid::Random(), photo = Uuid::Random(), blurred = Uuid::Random();
  Uuid near_mark = AttendanceId(workshop, near, 1), far_mark = AttendanceId(workshop, far, 1);
  ConflictRecord conflict;

  WorkshopDeletedWithRows() {
    f.Enroll(somchai, std::string(kPhrao) + "," + kFang);
    f.Enroll(malee, kPhrao);
    const auto enrolment = [&](const Uuid& id, const char* district, const char* name) {
      return Row("enrolment", id, somchai.HlcAt(kT0),
                 {{"workshop_id", T(workshop.ToString()), 0},
                  {"producer_id", T(producer.ToString()), 0},
                  {"participant_name", T(name), 0},
                  {"district_code", T(district), 0}});
    };
    const auto mark = [&](const Uuid& id, const Uuid& of, const char* district) {
      RowChange row = Mark(id, somchai.HlcAt(kT0), workshop, of, 1, "present");
      row.cells.back().value = T(district);
      return row;
    };
    const auto photo_row = [&](const Uuid& id, char sha) {
      return Row("photo", id, somchai.HlcAt(kT0 + 5),
                 {{"subject_type", T("workshop"), 0},
                  {"subject_id", T(workshop.ToString()), 0},
                  {"sha256", T(std::string(64, sha)), 0},
                  {"bytes", I(1000), 0},
                  {"mime", T("image/jpeg"), 0},
                  {"district_code", T(kPhrao), 0}});
    };
    PushService push(*f.store);
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext(
                          {Producer(producer, somchai.HlcAt(kT0), kFang),
                           Workshop(workshop, somchai.HlcAt(kT0), kFang, "อบรม KBO"),
                           enrolment(far, kFang, "นายคำปัน ฝางเหนือ"),
                           mark(far_mark, far, kFang)}))
                .ok());
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext(
                          {Row("workshop", workshop, somchai.HlcAt(kT0 + 5),
                               {{"district_code", T(kPhrao), 0}}),
                           enrolment(near, kPhrao, "นางบัวคำ แสนดี"),
                           mark(near_mark, near, kPhrao),
                           photo_row(photo, 'a'), photo_row(blurred, 'b')}))
                .ok());
    REQUIRE(f.Count("SELECT COUNT(*) FROM enrolment WHERE deleted = 0") == 2);
    REQUIRE(f.Count("SELECT COUNT(*) FROM attendance WHERE district_code = '" +
                    std::string(kFang) + "'") == 1);
    REQUIRE(f.Count("SELECT COUNT(*) FROM photo WHERE deleted = 0") == 2);
    const auto tombstone = [&](const char* entity, const Uuid& id, const Hlc& hlc) {
      return Row(entity, id, hlc, {{"deleted", I(1), 0}});
    };
    // Malee, who has pulled everything so far, deletes the blurred photo
    // and syncs; somchai, not having pulled, still holds it live.
    RowChange blurred_gone = tombstone("photo", blurred, malee.HlcAt(kT0 + 15));
    blurred_gone.cells[0].base = f.NextSeq() - 1;
    f.Pulled(malee);
    REQUIRE(push.Push(f.Record(malee.id), malee.SealNext({blurred_gone})).ok());
    // Somchai deletes one photo on its own (its own hlc), then the
    // workshop with everything under it: one hlc for all of those (the
    // blurred photo too, deleted already), in the same set.
    const Hlc cascade = somchai.HlcAt(kT0 + 20);
    REQUIRE(push.Push(f.Record(somchai.id),
                      somchai.SealNext({tombstone("photo", photo, somchai.HlcAt(kT0 + 10)),
                                        tombstone("photo", blurred, cascade),
                                        tombstone("attendance", near_mark, cascade),
                                        tombstone("attendance", far_mark, cascade),
                                        tombstone("enrolment", near, cascade),
                                        tombstone("enrolment", far, cascade),
                                        tombstone("workshop", workshop, cascade)}))
                .ok());
    REQUIRE(push.Push(f.Record(malee.id),
                      malee.SealNext({Row("workshop", workshop, malee.HlcAt(kT0 + 30),
                                          {{"venue", T("ศาลาวัดพร้าว"), 0}})}))
                .ok());
    auto list = Conflicts(*f.store).List();
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    conflict = list->front();
    REQUIRE(conflict.column_name == "deleted");
  }

  int64_t Deleted(const char* entity, const Uuid& id) {
    return f.Count(std::string("SELECT deleted FROM ") + entity + " WHERE id = '" +
                   id.ToString() + "'");
  }
};

TEST_CASE("Conflicts: keeping an edit of a row a device deleted with --cascade brings "
          "back what that delete took, not a row deleted on its own nor one another "
          "device had deleted first",
          "[server][conflict]") {
  WorkshopDeletedWithRows c;
  auto r = Conflicts(*c.f.store)
               .Resolve(c.conflict.id, Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                        Resolver{"cli", "ยังจัดอบรมอยู่", ""});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->brought_back == 4);
  CHECK(r->left_deleted == 0);
  CHECK(c.Deleted("workshop", c.workshop) == 0);
  CHECK(c.Deleted("enrolment", c.near) == 0);
  CHECK(c.Deleted("enrolment", c.far) == 0);
  CHECK(c.Deleted("attendance", c.near_mark) == 0);
  CHECK(c.Deleted("attendance", c.far_mark) == 0);
  CHECK(c.Deleted("photo", c.photo) == 1);
  CHECK(c.Deleted("photo", c.blurred) == 1);
  // The resolution, and each row back as the office's edit of it.
  CHECK(c.f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'resolve'") == 1);
  CHECK(c.f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'edit' AND subject = "
                  "'attendance:" +
                  c.near_mark.ToString() + "' AND actor = 'cli'") == 1);
  CHECK(c.f.Count("SELECT COUNT(*) FROM audit_log WHERE action = 'edit'") == 4);
}

TEST_CASE("Conflicts: a row another device deleted offline stays deleted when the "
          "cascade that also took it arrived first and is decided against",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao);
  f.Enroll(malee, kPhrao);
  const Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
             enrolment = Uuid::Random(), photo = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext(
                        {Producer(producer, somchai.HlcAt(kT0), kPhrao),
                         Workshop(workshop, somchai.HlcAt(kT0), kPhrao),
                         Enrolment(enrolment, somchai.HlcAt(kT0), workshop, producer,
                                     "นางบัวคำ แสนดี"),
                         Row("photo", photo, somchai.HlcAt(kT0),
                             {{"subject_type", T("workshop"), 0},
                              {"subject_id", T(workshop.ToString()), 0},
                              {"sha256", T(std::string(64, 'd')), 0},
                              {"bytes", I(1000), 0},
                              {"mime", T("image/jpeg"), 0},
                              {"district_code", T(kPhrao), 0}})}))
              .ok());
  const auto tombstone = [](const char* entity, const Uuid& id, const Hlc& hlc) {
    return Row(entity, id, hlc, {{"deleted", I(1), 0}});
  };
  // Somchai's cascade (one hlc) reaches the server first; malee's delete of
  // the photo, made earlier offline, arrives after it and loses the cell.
  const Hlc cascade = somchai.HlcAt(kT0 + 20);
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({tombstone("photo", photo, cascade),
                                      tombstone("enrolment", enrolment, cascade),
                                      tombstone("workshop", workshop, cascade)}))
              .ok());
  REQUIRE(push.Push(f.Record(malee.id),
                    malee.SealNext({tombstone("photo", photo, malee.HlcAt(kT0 + 15)),
                                    Row("workshop", workshop, malee.HlcAt(kT0 + 16),
                                        {{"venue", T("ศาลาวัดพร้าว"), 0}})}))
              .ok());
  auto list = Conflicts(*f.store).List(/*open_only=*/true);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  auto r = Conflicts(*f.store).Resolve(list->front().id,
                                       Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                                       Resolver{"cli", "ยังจัดอบรมอยู่", ""});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->brought_back == 1);  // the enrolment
  CHECK(f.Count("SELECT deleted FROM enrolment") == 0);
  CHECK(f.Count("SELECT deleted FROM photo") == 1);
}

// Two devices' cascades over the same rows: malee deletes the producer
// with everything under it, somchai (not having pulled) the workshop with
// everything under it; the participant's enrolment and mark were taken by
// both. Each delete is then decided against (an edit of the producer and
// one of the workshop, kept): the rows come back with the second decision,
// whichever is first, and not with the first alone.
TEST_CASE("Conflicts: a row two devices' cascades took comes back when both deletes are "
          "decided against, in either order, and not before",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao);
  f.Enroll(malee, kPhrao);
  const Uuid producer = Uuid::Random(), workshop = Uuid::Random(), enrolment = Uuid::Random();
  const Uuid mark = AttendanceId(workshop, enrolment, 1);
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({Producer(producer, somchai.HlcAt(kT0), kPhrao),
                                      Workshop(workshop, somchai.HlcAt(kT0), kPhrao),
                                      Enrolment(enrolment, somchai.HlcAt(kT0), workshop, producer,
                                     "นางบัวคำ แสนดี"),
                                      Mark(mark, somchai.HlcAt(kT0), workshop, enrolment, 1,
                                           "present")}))
              .ok());
  const auto tombstone = [](const char* entity, const Uuid& id, const Hlc& hlc) {
    return Row(entity, id, hlc, {{"deleted", I(1), 0}});
  };
  const Hlc by_malee = malee.HlcAt(kT0 + 10), by_somchai = somchai.HlcAt(kT0 + 20);
  // Each had pulled the rows (seq 1) before deleting them.
  const auto seen = [](RowChange r) {
    r.cells[0].base = 1;
    return r;
  };
  f.PulledTo(malee.id, 1);
  f.PulledTo(somchai.id, 1);
  REQUIRE(push.Push(f.Record(malee.id),
                    malee.SealNext({seen(tombstone("attendance", mark, by_malee)),
                                    seen(tombstone("enrolment", enrolment, by_malee)),
                                    seen(tombstone("producer", producer, by_malee))}))
              .ok());
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({seen(tombstone("attendance", mark, by_somchai)),
                                      seen(tombstone("enrolment", enrolment, by_somchai)),
                                      seen(tombstone("workshop", workshop, by_somchai))}))
              .ok());
  // Each device edits the row the other deleted, not knowing of it.
  REQUIRE(push.Push(f.Record(malee.id),
                    malee.SealNext({Row("workshop", workshop, malee.HlcAt(kT0 + 30),
                                        {{"venue", T("ศาลาวัดพร้าว"), 0}})}))
              .ok());
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({Row("producer", producer, somchai.HlcAt(kT0 + 40),
                                          {{"phone", T("0811111111"), 0}})}))
              .ok());
  auto open = Conflicts(*f.store).List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 2);
  const auto conflict_of = [&](const char* entity) {
    for (const ConflictRecord& c : *open) {
      if (c.entity == entity) return c.id;
    }
    FAIL("no conflict on " << entity);
    return std::string();
  };
  const auto deleted = [&](const char* entity, const Uuid& id) {
    return f.Count(std::string("SELECT deleted FROM ") + entity + " WHERE id = '" +
                   id.ToString() + "'");
  };
  const auto keep_edit = [&](const char* entity) {
    auto r = Conflicts(*f.store).Resolve(conflict_of(entity),
                                         Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                                         Resolver{"cli", "ยังใช้อยู่", ""});
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return r->brought_back;
  };
  const char* first = GENERATE("workshop", "producer");
  const char* second = std::string(first) == "workshop" ? "producer" : "workshop";
  CAPTURE(first);
  // The first decision: its row is back, the shared rows not (the other
  // device's delete of them stands).
  CHECK(keep_edit(first) == 0);
  CHECK(deleted(first, std::string(first) == "workshop" ? workshop : producer) == 0);
  CHECK(deleted("enrolment", enrolment) == 1);
  CHECK(deleted("attendance", mark) == 1);
  // The second: both deletes decided against, the shared rows come back.
  CHECK(keep_edit(second) == 2);
  CHECK(deleted("workshop", workshop) == 0);
  CHECK(deleted("producer", producer) == 0);
  CHECK(deleted("enrolment", enrolment) == 0);
  CHECK(deleted("attendance", mark) == 0);
  CHECK(f.Count("SELECT COUNT(*) FROM delete_decided_against") == 2);
}

// The mirror of an edit of a deleted row: a delete that had not seen a
// colleague's edit. The deleter created the row and has not pulled its
// own write back (its versions' sequences unknown: a push-only sync or a
// bundle), so its tombstone's base is 0.
TEST_CASE("Conflicts: a delete of a row another device edited after what the deleter had "
          "seen is a conflict on deleted, also when the deleter wrote the row itself",
          "[server][conflict]") {
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao);
  f.Enroll(malee, kPhrao);
  const Uuid producer = Uuid::Random(), seen = Uuid::Random();
  PushService push(*f.store);
  // (Its `deleted` written by somchai too, as a key recorded again over a
  // deleted row writes it: the per-cell rule sees the same writer there.)
  RowChange made = Producer(producer, somchai.HlcAt(kT0), kPhrao);
  made.cells.push_back({"deleted", I(0), 0});
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext({made,
                                      Producer(seen, somchai.HlcAt(kT0), kPhrao, "กลุ่มสอง")}))
              .ok());  // seqs 1, 2
  f.Pulled(malee);
  REQUIRE(push.Push(f.Record(malee.id),
                    malee.SealNext({Row("producer", producer, malee.HlcAt(kT0 + 10),
                                        {{"phone", T("0899999999"), 1}}),
                                    Row("producer", seen, malee.HlcAt(kT0 + 10),
                                        {{"phone", T("0877777777"), 2}})}))
              .ok());  // seqs 3, 4
  // Somchai deletes both: the first not having seen malee's edit (base 0),
  // the second having pulled it (base 4).
  RowChange gone = Row("producer", producer, somchai.HlcAt(kT0 + 20), {{"deleted", I(1), 0}});
  RowChange knew = Row("producer", seen, somchai.HlcAt(kT0 + 20), {{"deleted", I(1), 4}});
  f.PulledTo(somchai.id, 4);
  REQUIRE(push.Push(f.Record(somchai.id), somchai.SealNext({gone, knew})).ok());
  auto open = Conflicts(*f.store).List(/*open_only=*/true);
  REQUIRE(open.ok());
  REQUIRE(open->size() == 1);
  const ConflictRecord& c = open->front();
  CHECK(c.row_id == producer.ToString());
  CHECK(c.column_name == "deleted");
  CHECK(c.current_value == I(0));
  CHECK(c.current_device == malee.id.ToString());
  CHECK(c.incoming_value == I(1));
  CHECK(c.winner == "incoming");
  CHECK(f.Count("SELECT deleted FROM producer WHERE id = '" + producer.ToString() + "'") == 1);
}

TEST_CASE("Conflicts: keeping the delete brings nothing back",
          "[server][conflict]") {
  WorkshopDeletedWithRows c;
  auto r = Conflicts(*c.f.store)
               .Resolve(c.conflict.id, Resolution{Resolution::Kind::kKeepCurrent, "", 0},
                        Resolver{"cli", "ยกเลิกการอบรมแล้ว", ""});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->brought_back == 0);
  CHECK(c.f.Count("SELECT COUNT(*) FROM enrolment WHERE deleted = 0") == 0);
  CHECK(c.f.Count("SELECT COUNT(*) FROM attendance WHERE deleted = 0") == 0);
  CHECK(c.Deleted("workshop", c.workshop) == 1);
}

TEST_CASE("Conflicts: a console user cannot keep an edit whose delete took rows "
          "outside their districts, and nothing is changed",
          "[server][conflict]") {
  WorkshopDeletedWithRows c;
  Scope phrao;
  phrao.districts = {kPhrao};
  const uint64_t next = c.f.NextSeq();
  auto r = Conflicts(*c.f.store)
               .Resolve(c.conflict.id, Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                        Resolver{"user:phrao.office", "ยังจัดอบรมอยู่", "127.0.0.1", phrao});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kPermissionDenied);
  CHECK(r.status().reason() == "rows_out_of_scope");
  CHECK(c.Deleted("workshop", c.workshop) == 1);
  CHECK(c.Deleted("enrolment", c.near) == 1);
  CHECK(c.f.NextSeq() == next);
  CHECK(c.f.Count("SELECT COUNT(*) FROM audit_log") == 0);
  CHECK(Conflicts(*c.f.store).List(/*open_only=*/true)->size() == 1);

  // A user of both districts can.
  Scope both;
  both.districts = {kFang, kPhrao};
  auto ok = Conflicts(*c.f.store)
                .Resolve(c.conflict.id, Resolution{Resolution::Kind::kKeepIncoming, "", 0},
                         Resolver{"user:province", "ยังจัดอบรมอยู่", "127.0.0.1", both});
  INFO(ok.status().ToString());
  REQUIRE(ok.ok());
  CHECK(ok->brought_back == 4);
}


TEST_CASE("Conflicts: a workshop's days are not decided shorter than the days its "
          "marks are on, whichever side the row shows",
          "[server][conflict]") {
  // Which trainer's cut writes last: the row shows 6 days, or already the
  // cut to 3.
  const bool cut_shown = GENERATE(false, true);
  ServerFixture f;
  TestDevice somchai, malee;
  f.Enroll(somchai, kPhrao);
  f.Enroll(malee, kPhrao);
  const Uuid producer = Uuid::Random(), workshop = Uuid::Random(),
             enrolment = Uuid::Random();
  PushService push(*f.store);
  REQUIRE(push.Push(f.Record(somchai.id),
                    somchai.SealNext(
                        {Producer(producer, somchai.HlcAt(kT0), kPhrao),
                         Workshop(workshop, somchai.HlcAt(kT0), kPhrao, "อบรม KBO พร้าว"),
                         Enrolment(enrolment, somchai.HlcAt(kT0), workshop, producer,
                                     "นางบัวคำ แสนดี"),
                         Mark(AttendanceId(workshop, enrolment, 4), somchai.HlcAt(kT0),
                              workshop, enrolment, 4, "present"),
                         Row("workshop", workshop, somchai.HlcAt(kT0 + 10),
                             {{"days", I(6), 0}})}))
              .ok());
  REQUIRE(push.Push(f.Record(malee.id),
                    malee.SealNext({Row("workshop", workshop,
                                        malee.HlcAt(cut_shown ? kT0 + 20 : kT0 + 5),
                                        {{"days", I(3), 0}})}))
              .ok());
  auto list = Conflicts(*f.store).List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  const ConflictRecord conflict = list->front();
  REQUIRE(conflict.column_name == "days");
  CHECK(f.Count("SELECT days FROM workshop") == (cut_shown ? 3 : 6));

  Conflicts conflicts(*f.store);
  const auto resolve = [&](Resolution how) {
    return conflicts.Resolve(conflict.id, how, Resolver{"cli", "ตกลงกันแล้ว", ""});
  };
  auto cut = resolve(Resolution{Resolution::Kind::kKeepIncoming, "", 0});
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.status().code() == Code::kInvalidArgument);
  CHECK(cut.status().reason() == "marks_beyond_days");
  CHECK_THAT(cut.status().message(), Catch::Contains("day 4"));
  CHECK(f.Count("SELECT days FROM workshop") == (cut_shown ? 3 : 6));
  CHECK(conflicts.List(/*open_only=*/true)->size() == 1);
  CHECK(f.Count("SELECT COUNT(*) FROM audit_log") == 0);

  // Four days cover the mark: decided.
  auto four = resolve(Resolution{Resolution::Kind::kValue, "4", 0});
  INFO(four.status().ToString());
  REQUIRE(four.ok());
  CHECK(f.Count("SELECT days FROM workshop") == 4);
  CHECK(conflicts.List(/*open_only=*/true)->empty());
}

}  // namespace
}  // namespace kbo::server::testing
