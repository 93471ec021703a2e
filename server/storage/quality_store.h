#ifndef KBO_SERVER_STORAGE_QUALITY_STORE_H_
#define KBO_SERVER_STORAGE_QUALITY_STORE_H_

// The reads of the data-quality findings, the producer merge and the
// restore of a deleted row (server/data_quality.cc): live producers,
// enrolments and workshops in a scope, live rows counted per key, the rows
// that name a producer, and live rows recorded under deleted rows. A fixed
// number of grouped queries whatever the size. Texts are as
// Statement::ColumnText gives them ("" for NULL).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/enrolment.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

struct QualityProducerRow {
  std::string id, name, kind, district_code, tambon, phone;
};

// A live enrolment of a live workshop, with the workshop's title and
// district and the producer's name.
struct QualityEnrolmentRow {
  std::string id, workshop_id, producer_id, participant_name;
  std::string workshop_title, district_code, producer_name;
};

struct QualityWorkshopRow {
  std::string id, title, district_code, start_date;
  std::optional<int64_t> fiscal_year;
  std::optional<int64_t> days;
};

// A live row whose district is not its live parent's (DistrictParentColumn).
struct DistrictMismatchRow {
  std::string entity, id, district_code;
  std::string parent_entity, parent_id, parent_name, parent_district;
};

struct ProducerHead {
  std::string name, district_code;
  bool deleted = false;
};

// One way live rows hang on a deleted row: from the deleted row (of
// `root_entity`) down `hops`, each a live row whose `ref_column` names a
// row of the hop before (the deleted row for the first). Entities and
// columns must be the catalogue's (shared/entities.h): they are written
// into the SQL, so anything else is refused.
struct RefHop {
  std::string entity;
  std::string ref_column;
  std::string label_column;  // what names the row for a person
};
struct RefPath {
  std::string root_entity;
  std::string root_name_column;
  std::vector<RefHop> hops;  // at least one
};

// A live row at the end of a RefPath, with the deleted row it is under.
struct UnderDeletedRow {
  std::string id, label, district_code;  // the live row
  std::string parent_id;  // the row it names: the deleted one for one hop
  std::string root_id, root_name, root_district_code;  // the deleted row
};

// A row of any entity, live or deleted, with what names it.
struct RowHead {
  std::string name, district_code;
  bool deleted = false;
};

// A row's id and the district it is recorded in ("" for none).
struct RowInDistrict {
  std::string id;
  std::string district_code;
  bool deleted = false;
};

class QualityStore {
 public:
  explicit QualityStore(Db& db) : db_(db) {}

  // Live producers in scope, by id.
  Result<std::vector<QualityProducerRow>> LiveProducers(const Scope& scope);
  // Live enrolments of live workshops in scope (the workshop's district),
  // by id.
  Result<std::vector<QualityEnrolmentRow>> LiveEnrolments(const Scope& scope);
  // Live workshops in scope, by start date, title, id.
  Result<std::vector<QualityWorkshopRow>> LiveWorkshops(const Scope& scope);
  // Workshop -> its enrolments that reports count: live, of a producer
  // that is not deleted (as the attendance and certificate reports).
  Result<std::map<std::string, int64_t>> CountedEnrolmentsPerWorkshop();
  // (workshop, day) -> those counted enrolments with a live attendance
  // mark for the day.
  Result<std::map<std::pair<std::string, int64_t>, int64_t>> MarkedPerDay();
  // Live rows of `table` per value of `column` (a table and column of the
  // catalogue, e.g. enrolment and producer_id).
  Result<std::map<std::string, int64_t>> LiveRowsPer(std::string_view table,
                                                     std::string_view column);

  // Live rows (product, visit, enrolment, attendance, progress, contest
  // score) whose district is not their live parent's, either district in
  // `scope`; by entity (catalogue order), then id. One query per entity.
  Result<std::vector<DistrictMismatchRow>> RowsOutsideParentDistrict(
      const Scope& scope);

  // A producer, live or deleted, whatever its district; nullopt if not held.
  Result<std::optional<ProducerHead>> FindProducer(const std::string& id);
  // The rows (live or deleted) of `entity` that name the producer, with
  // their districts: product, enrolment and visit by producer_id, photo as
  // its subject. kInvalidArgument for another entity.
  Result<std::vector<RowInDistrict>> RowsNamingProducer(
      std::string_view entity, const std::string& producer_id);

  // The live rows at the end of `path` whose district_code is in `scope`,
  // every row between them and the deleted row live, in no set order. One
  // query. kInvalidArgument for a path that is not the
  // catalogue's (an unknown entity or column, no hops).
  Result<std::vector<UnderDeletedRow>> LiveRowsUnderDeleted(
      const RefPath& path, const Scope& scope);
  // A row of `entity` (with `name_column`, "" for none), live or deleted,
  // whatever its district; nullopt if not held. kInvalidArgument for an
  // entity or column not in the catalogue.
  Result<std::optional<RowHead>> FindRow(std::string_view entity,
                                         std::string_view name_column,
                                         const std::string& id);
  // Live rows of `entity` whose `column` is `id`, whatever their district.
  // kInvalidArgument for an entity or column not in the catalogue.
  Result<int64_t> LiveRowsNaming(std::string_view entity,
                                 std::string_view column,
                                 const std::string& id);
  // The ids and districts of the live rows of `entity` whose `column` is
  // `id` (and, when `subject_type` is given, whose subject_type is it: a
  // row's photos), whatever their district, by id. kInvalidArgument for an
  // entity or column not in the catalogue.
  struct LiveChild {
    std::string id, district_code;
  };
  Result<std::vector<LiveChild>> LiveRowIdsNaming(
      std::string_view entity, std::string_view column, const std::string& id,
      std::string_view subject_type = {});
  // The same for the deleted rows (the rows a delete of `id` may have taken
  // with it).
  Result<std::vector<LiveChild>> DeletedRowIdsNaming(
      std::string_view entity, std::string_view column, const std::string& id,
      std::string_view subject_type = {});

 private:
  Result<std::vector<LiveChild>> RowIdsNaming(std::string_view entity,
                                              std::string_view column,
                                              const std::string& id,
                                              std::string_view subject_type,
                                              bool deleted);
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_QUALITY_STORE_H_
