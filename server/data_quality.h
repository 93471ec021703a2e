#ifndef KBO_SERVER_DATA_QUALITY_H_
#define KBO_SERVER_DATA_QUALITY_H_

// Data quality (issue 10, deliverable 9; docs/decisions.md, "Data
// quality" and "Deleting a row with rows under it"): what needs the
// office's attention in the merged state, the merge of two records of one
// producer, and the restore of a deleted row that rows are recorded under.
// Free of HTTP: the console (console/quality.cc) and `kbo-server producer
// merge` / `kbo-server restore` (quality_cmds.cc) call these.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "server/server_store.h"
#include "shared/entities.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

// ---- Findings ------------------------------------------------------------

struct QualityProducer {
  std::string id, name, kind, district_code, tambon, phone;
  int64_t enrolments = 0, products = 0, visits = 0;  // live rows naming it
};

// Live producers that are likely one: connected by the same
// ProducerNameKey in the same district and TambonKey (empty tambon
// matches empty tambon), or by the same PhoneKey (any district). Members
// in name order; `reasons` holds "name" and/or "phone".
struct DuplicateProducers {
  std::vector<QualityProducer> members;
  std::vector<std::string> reasons;
  bool same_district = true;  // a merge is possible only then
};

// Live enrolments of one participant (PersonNameKey) for one producer in
// one live workshop, more than one of them.
struct DuplicateEnrolments {
  std::string workshop_id, workshop_title, producer_id, producer_name,
      district_code;
  struct Entry {
    std::string id, participant_name;
    int64_t marks = 0;  // live attendance marks (which one to keep)
  };
  std::vector<Entry> enrolments;  // id order
};

// A live workshop whose fiscal_year is not the Thai fiscal year of its
// start_date (fiscal years start on 1 October).
struct FiscalYearMismatch {
  std::string workshop_id, title, district_code, start_date;
  int64_t fiscal_year = 0;           // as recorded
  int64_t expected_fiscal_year = 0;  // of start_date
};

// Day `day` of a live workshop (its date start_date + day - 1, before
// today) with live enrolments that have no live attendance mark for it.
struct MissingAttendance {
  std::string workshop_id, title, district_code, date;
  int64_t day = 0;
  int64_t enrolled = 0;  // live enrolments of the workshop
  int64_t missing = 0;   // of them, without a mark for the day
};

// Day `day` of a live workshop whose date (start_date + day - 1) is after
// today with live marks already: a tap on the wrong day, most likely. The
// reports count them (a certificate's days among them), so the office
// checks them with the trainer.
struct FutureAttendance {
  std::string workshop_id, title, district_code, date;
  int64_t day = 0;
  int64_t marked = 0;  // live enrolments with a live mark for the day
};

// A deleted row that live rows are recorded under: rows naming it through
// a required reference of the catalogue (a product's or enrolment's or
// visit's producer_id, an enrolment's or mark's workshop_id, a mark's
// enrolment_id, a progress entry's or score's product_id), and the live
// rows under those (a live enrolment's marks), all left out of the reports
// while it is deleted. Two devices crossing offline make them: one deletes
// a producer, another enrols a participant under it. Photos are left out:
// a photo's subject_id names a row of any entity (no ref_entity in the
// catalogue), and a photo counts in no report.
struct RowsUnderDeleted {
  std::string entity, id;  // the deleted row
  std::string name;        // its name, title or participant_name
  std::string district_code;
  struct Row {
    std::string entity, id;
    // What names it: a product's name, a participant's name, a mark's day
    // ("3"), a visit's visited_at, a progress entry's stage, a score's
    // contest. As stored: the console shows it in the person's language.
    std::string label;
    // The row it names: the deleted row itself, or a live row listed
    // before it in `rows` (a mark under a listed enrolment).
    std::string parent_entity, parent_id;
  };
  // Each row once, a row before those under it; siblings by entity
  // (catalogue order), label, id.
  std::vector<Row> rows;
};

// A live row whose district is not its live parent's: a producer (or
// workshop, product) moved on one device while another recorded under it,
// a move that reached only the rows its device held. The reports count it
// in its own district; a device holding both districts sets it to its
// parent's (`kbo edit visit ID --set district=CODE`).
struct DistrictMismatch {
  std::string entity, id, district_code;
  std::string parent_entity, parent_id, parent_name, parent_district;
};

struct QualityReport {
  std::string today;  // "YYYY-MM-DD", Bangkok
  std::vector<DuplicateProducers> duplicate_producers;
  std::vector<DuplicateEnrolments> duplicate_enrolments;
  std::vector<FiscalYearMismatch> fiscal_year_mismatches;
  std::vector<MissingAttendance> missing_attendance;
  std::vector<FutureAttendance> future_attendance;
  // By the deleted row's district, entity (catalogue order), name, id.
  std::vector<RowsUnderDeleted> under_deleted;
  // By entity (catalogue order), then id.
  std::vector<DistrictMismatch> district_mismatches;
};

// Everything that needs attention among the rows in `scope` (by each row's
// district_code; a row under a deleted one by the live row's own); `today`
// is the Bangkok date ("YYYY-MM-DD"). A fixed number of grouped queries
// whatever the size (no query per row).
// kInvalidArgument if `today` is not a date; SQLite errors as they come.
Result<QualityReport> FindQualityIssues(Db& db, const Scope& scope,
                                        const std::string& today);

// {"today", "duplicate_producers": [{"reasons", "same_district", "members":
// [{"id","name","kind","district_code","tambon","phone","enrolments",
// "products","visits"}]}], "duplicate_enrolments": [...],
// "fiscal_year_mismatches": [...], "missing_attendance": [...],
// "under_deleted": [{"entity","id","name","district_code","rows":
// [{"entity","id","label","parent_entity","parent_id"}]}],
// "district_mismatches": [{"entity","id","district_code","parent_entity",
// "parent_id","parent_name","parent_district"}]}
std::string QualityReportJson(const QualityReport& report);

// ---- Merge ----------------------------------------------------------------

struct MergeCounts {
  std::string keep_name, drop_name, district_code;
  // Rows (live or deleted) repointed from the dropped producer to the kept.
  int64_t products = 0, enrolments = 0, visits = 0, photos = 0;
  // Fields the kept producer lacked and took from the dropped one.
  std::vector<std::string> fields_taken;
  // "products=2 enrolments=3 visits=1 photos=0", and " fields_taken=members,phone"
  // when some were.
  std::string Summary() const;
};

// Merges producer `drop` into `keep`: every product, enrolment and visit
// whose producer_id is `drop`, and every photo whose subject is producer
// `drop`, is repointed to `keep`, each field `keep` lacks (null or empty)
// that `drop` holds is written to `keep` (fields_taken), then `drop` is
// tombstoned; each row
// written with WriteAsServer (a signed change of the server's identity
// that devices in scope pull). `actor` ("user:LOGIN" or "cli") and
// `reason` go into the audit log: one "merge_producers" entry (subject
// "producer:KEEP", both ids and the counts) and an "edit" entry per row
// written, so each row's history names who merged and why.
// Call inside a Transaction (the whole merge commits or none of it);
// after the commit call store.NoteCommittedSequences().
//   kInvalidArgument: keep == drop, an id that is not a uuid, an empty
//     reason, either producer deleted, or the two in different districts;
//   kNotFound: either producer not held, or outside `scope`.
Result<MergeCounts> MergeProducers(ServerStore& store, const Scope& scope,
                                   std::string_view keep_id,
                                   std::string_view drop_id,
                                   std::string_view reason,
                                   std::string_view actor,
                                   std::string_view address);

// The producer `drop_id` was merged into, when it is deleted by a merge
// (MergeProducers' audit line is its last delete) and that tombstone is
// still the server's own write (`server_id`); nullopt otherwise (live,
// deleted otherwise, or brought back and deleted again since).
struct MergedProducer {
  std::string keep_id, keep_name;
};
Result<std::optional<MergedProducer>> MergedInto(Db& db, std::string_view server_id,
                                                 std::string_view drop_id);

// A row the office acts on (a restore, a delete), as the request names it.
struct OfficeRow {
  const Entity* entity = nullptr;
  Uuid id;
  std::string subject;  // "producer UUID", for messages
  // The column that names it for a person (name, title, participant_name,
  // a mark's day, ...; the id if none), its value, its district.
  std::string name, district_code;
  bool named = false;  // `name` is a name, title or participant's name
  bool deleted = false;
};
// Checks what the office sent and reads the row, live or deleted:
//   kInvalidArgument: an unknown entity, an id that is not a uuid, an
//     empty reason ("say why the row is `done` (reason)");
//   kNotFound: the row is not held, or is outside `scope`.
Result<OfficeRow> FindOfficeRow(Db& db, const Scope& scope,
                                std::string_view entity, std::string_view id,
                                std::string_view reason, std::string_view done);

// ---- Restore ----------------------------------------------------------------

struct RestoredRow {
  std::string entity, id, name, district_code;
  int64_t rows_under = 0;  // live rows naming it (any district)
  // An office delete undone (UndoOfficeDelete). How many rows the delete
  // had taken with it were restored too: the office's, or a device's
  // `--cascade` (BringBackTakenWith).
  bool undone = false;
  int64_t restored_with = 0;
  // A producer merged away stays deleted; the rows recorded under it since
  // the merge are moved to the producer it was merged into instead.
  std::string moved_into, moved_into_name;
  int64_t moved = 0;
};

// Restores deleted row `entity` `id` that live rows are recorded under
// (RowsUnderDeleted), so they count in the reports again: deleted=0 written
// with WriteAsServer (a signed change of the server's identity that devices
// in scope pull), and an "edit" audit entry (subject "ENTITY:ID",
// "deleted: '1' -> '0' (restored: rows were recorded under it); reason:
// R") as `actor` from `address`. The rows a device's `--cascade` delete of
// it took come back with it (BringBackTakenWith, `restored_with`); other
// rows under it are not touched.
// A deleted row that no live row is recorded under is restored only when
// the office deleted it (server/office_delete.h, UndoOfficeDelete: the row
// and what that delete took with it, `undone` set); a device's delete is
// not undone here. A producer merged into another (MergedInto) is not
// restored: its rows recorded since the merge are moved to the other
// (`moved_into`, `moved`), as the merge moved the rest, and audited as a
// merge.
// Call inside a Transaction; after the commit call
// store.NoteCommittedSequences().
//   kInvalidArgument: an unknown entity, an id that is not a uuid, an
//     empty reason, a row that is not deleted, or (reason
//     "not_deleted_by_office") one that no live row is recorded under and
//     that the office did not delete;
//   kPermissionDenied: a row the office's delete took is outside `scope`;
//   kNotFound: the row is not held, or is outside `scope`.
Result<RestoredRow> RestoreDeletedRow(ServerStore& store, const Scope& scope,
                                      std::string_view entity,
                                      std::string_view id,
                                      std::string_view reason,
                                      std::string_view actor,
                                      std::string_view address);

}  // namespace kbo::server

#endif  // KBO_SERVER_DATA_QUALITY_H_
