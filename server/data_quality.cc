#include "server/data_quality.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <utility>

#include "server/conflicts.h"
#include "server/console/users.h"
#include "server/office_delete.h"
#include "server/report_queries.h"
#include "server/server_write.h"
#include "server/storage/quality_store.h"
#include "server/storage/rows.h"
#include "server/storage/history.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/labels.h"
#include "shared/name_match.h"
#include "shared/uuid.h"

namespace kbo::server {
namespace {

// An office action's reason, as a person wrote it: not blank (`blank` says
// what to give), UTF-8 text, at most kMaxReasonBytes (the audit log and the
// console show it whole).
Status CheckReason(std::string_view reason, const std::string& blank) {
  if (!IsValidUtf8(reason)) {
    return Status::InvalidArgument("the reason is not UTF-8 text").With(field::kField, "reason");
  }
  if (FoldSpaceAndCase(reason).empty()) {
    return Status::InvalidArgument(blank).WithReason("no_reason").With(field::kField, "reason");
  }
  KBO_RETURN_IF_ERROR(CheckReasonLength(reason));
  return Status();
}

using Json = nlohmann::ordered_json;

using storage::QualityStore;

// producer_id (or another key column) -> live rows of `table`.
Result<std::map<std::string, int64_t>> CountBy(Db& db, const std::string& table,
                                               const std::string& column) {
  return QualityStore(db).LiveRowsPer(table, column);
}

int64_t Get(const std::map<std::string, int64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// Union-find over producer indexes.
struct Sets {
  std::vector<size_t> parent;
  explicit Sets(size_t n) : parent(n) {
    std::iota(parent.begin(), parent.end(), size_t{0});
  }
  size_t Find(size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void Join(size_t a, size_t b) { parent[Find(a)] = Find(b); }
};

Status FindDuplicateProducers(Db& db, const Scope& scope,
                              QualityReport* report) {
  KBO_ASSIGN_OR_RETURN(std::vector<storage::QualityProducerRow> rows,
                       QualityStore(db).LiveProducers(scope));
  std::vector<QualityProducer> all;
  for (storage::QualityProducerRow& row : rows) {
    QualityProducer p;
    p.id = std::move(row.id);
    p.name = std::move(row.name);
    p.kind = std::move(row.kind);
    p.district_code = std::move(row.district_code);
    p.tambon = std::move(row.tambon);
    p.phone = std::move(row.phone);
    all.push_back(std::move(p));
  }

  // Keys -> first producer with it; a later one joins that one's set.
  Sets sets(all.size());
  std::vector<bool> by_name(all.size()), by_phone(all.size());
  std::map<std::string, size_t> names, phones;
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string name = ProducerNameKey(all[i].name);
    if (!name.empty()) {
      const std::string key = all[i].district_code + '\x1f' +
                              TambonKey(all[i].tambon) + '\x1f' + name;
      auto [it, fresh] = names.emplace(key, i);
      if (!fresh) {
        sets.Join(i, it->second);
        by_name[i] = by_name[it->second] = true;
      }
    }
    const std::string phone = PhoneKey(all[i].phone);
    if (!phone.empty()) {
      auto [it, fresh] = phones.emplace(phone, i);
      if (!fresh) {
        sets.Join(i, it->second);
        by_phone[i] = by_phone[it->second] = true;
      }
    }
  }
  std::map<size_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < all.size(); ++i) {
    if (by_name[i] || by_phone[i]) groups[sets.Find(i)].push_back(i);
  }
  if (groups.empty()) return Status();

  KBO_ASSIGN_OR_RETURN(auto enrolments, CountBy(db, "enrolment", "producer_id"));
  KBO_ASSIGN_OR_RETURN(auto products, CountBy(db, "product", "producer_id"));
  KBO_ASSIGN_OR_RETURN(auto visits, CountBy(db, "visit", "producer_id"));
  for (auto& [root, members] : groups) {
    (void)root;
    DuplicateProducers d;
    bool name = false, phone = false;
    for (size_t i : members) {
      QualityProducer p = all[i];
      p.enrolments = Get(enrolments, p.id);
      p.products = Get(products, p.id);
      p.visits = Get(visits, p.id);
      name = name || by_name[i];
      phone = phone || by_phone[i];
      if (p.district_code != all[members.front()].district_code) {
        d.same_district = false;
      }
      d.members.push_back(std::move(p));
    }
    if (name) d.reasons.emplace_back("name");
    if (phone) d.reasons.emplace_back("phone");
    std::sort(d.members.begin(), d.members.end(),
              [](const QualityProducer& a, const QualityProducer& b) {
                return std::tie(a.name, a.id) < std::tie(b.name, b.id);
              });
    report->duplicate_producers.push_back(std::move(d));
  }
  std::sort(report->duplicate_producers.begin(),
            report->duplicate_producers.end(),
            [](const DuplicateProducers& a, const DuplicateProducers& b) {
              return std::tie(a.members.front().district_code,
                              a.members.front().name) <
                     std::tie(b.members.front().district_code,
                              b.members.front().name);
            });
  return Status();
}

Status FindDuplicateEnrolments(Db& db, const Scope& scope,
                               QualityReport* report) {
  KBO_ASSIGN_OR_RETURN(std::vector<storage::QualityEnrolmentRow> rows,
                       QualityStore(db).LiveEnrolments(scope));
  std::map<std::string, DuplicateEnrolments> by_key;
  for (const storage::QualityEnrolmentRow& row : rows) {
    const std::string& participant = row.participant_name;
    const std::string key = row.workshop_id + '\x1f' + row.producer_id +
                            '\x1f' + PersonNameKey(participant);
    DuplicateEnrolments& d = by_key[key];
    if (d.enrolments.empty()) {
      d.workshop_id = row.workshop_id;
      d.producer_id = row.producer_id;
      d.workshop_title = row.workshop_title;
      d.district_code = row.district_code;
      d.producer_name = row.producer_name;
    }
    d.enrolments.push_back({row.id, participant, 0});
  }
  std::vector<DuplicateEnrolments> found;
  for (auto& [key, d] : by_key) {
    (void)key;
    if (d.enrolments.size() > 1) found.push_back(std::move(d));
  }
  if (found.empty()) return Status();
  KBO_ASSIGN_OR_RETURN(auto marks, CountBy(db, "attendance", "enrolment_id"));
  for (DuplicateEnrolments& d : found) {
    for (auto& e : d.enrolments) e.marks = Get(marks, e.id);
  }
  std::sort(found.begin(), found.end(),
            [](const DuplicateEnrolments& a, const DuplicateEnrolments& b) {
              return std::tie(a.workshop_title, a.workshop_id,
                              a.enrolments.front().participant_name) <
                     std::tie(b.workshop_title, b.workshop_id,
                              b.enrolments.front().participant_name);
            });
  report->duplicate_enrolments = std::move(found);
  return Status();
}

Status FindWorkshopIssues(Db& db, const Scope& scope, QualityReport* report) {
  struct Workshop {
    std::string id, title, district, start;
    int64_t fiscal_year = 0, days = 5;
  };
  std::vector<Workshop> workshops;
  {
    KBO_ASSIGN_OR_RETURN(std::vector<storage::QualityWorkshopRow> rows,
                         QualityStore(db).LiveWorkshops(scope));
    for (storage::QualityWorkshopRow& row : rows) {
      Workshop w;
      w.id = std::move(row.id);
      w.title = std::move(row.title);
      w.district = std::move(row.district_code);
      w.start = std::move(row.start_date);
      w.fiscal_year = row.fiscal_year.value_or(0);
      w.days = row.days.value_or(5);
      workshops.push_back(std::move(w));
    }
  }
  for (const Workshop& w : workshops) {
    const std::optional<int64_t> expected = FiscalYearOfDate(w.start);
    if (expected && *expected != w.fiscal_year) {
      report->fiscal_year_mismatches.push_back(
          {w.id, w.title, w.district, w.start, w.fiscal_year, *expected});
    }
  }
  if (workshops.empty()) return Status();

  // Enrolments of a deleted producer are left out, as the reports leave
  // them out; the finding "Recorded under a deleted row" lists them.
  KBO_ASSIGN_OR_RETURN(auto enrolled,
                       QualityStore(db).CountedEnrolmentsPerWorkshop());
  // (workshop, day) -> those enrolments with a live mark.
  KBO_ASSIGN_OR_RETURN(const auto marked, QualityStore(db).MarkedPerDay());
  for (const Workshop& w : workshops) {
    const int64_t n = Get(enrolled, w.id);
    if (n == 0) continue;
    for (int64_t day = 1; day <= w.days; ++day) {
      const std::string date = AddDaysToDate(w.start, day - 1);
      if (date.empty()) break;
      auto it = marked.find({w.id, day});
      const int64_t have = it == marked.end() ? 0 : it->second;
      if (report->today < date) {
        if (have > 0) {
          report->future_attendance.push_back(
              {w.id, w.title, w.district, date, day, have});
        }
        continue;
      }
      if (!(date < report->today) || have >= n) continue;
      report->missing_attendance.push_back(
          {w.id, w.title, w.district, date, day, n, n - have});
    }
  }
  return Status();
}

// ---- Rows under a deleted row ---------------------------------------------

// The column that names a row of `e` for a person (RowsUnderDeleted::Row::
// label, RowsUnderDeleted::name, OfficeRow::name).
std::string_view LabelColumn(const Entity& e) {
  for (std::string_view c : {"name", "title", "participant_name"}) {
    if (e.FindColumn(c) != nullptr) return c;
  }
  if (e.name == "attendance") return "day";
  if (e.name == "visit") return "visited_at";
  if (e.name == "progress") return "stage";
  if (e.name == "contest_score") return "contest";
  return kIdColumn;
}

// Which columns put a row under another: RecordsUnder (shared/entities.h);
// photos are left out here (RowsUnderDeleted), optional references
// (progress.workshop_id) put no row under another.
// Paths from any row down required references, fewest hops first: today
// eight of one hop (product, enrolment and visit under a producer,
// enrolment and mark under a workshop, mark under an enrolment, progress
// and score under a product) and four of two (a product's progress and
// scores, and an enrolment's marks, under its producer; an enrolment's
// marks under its workshop). The catalogue lists entities in dependency
// order, so references point back and paths end; kMaxHops only guards a
// future catalogue.
const std::vector<storage::RefPath>& PathsUnderDeleted() {
  static const std::vector<storage::RefPath> paths = [] {
    constexpr size_t kMaxHops = 4;
    std::vector<storage::RefPath> all, frontier;
    for (const Entity& root : Catalogue()) {
      frontier.push_back(storage::RefPath{std::string(root.name),
                                          std::string(LabelColumn(root)), {}});
    }
    for (size_t hops = 1; hops <= kMaxHops && !frontier.empty(); ++hops) {
      std::vector<storage::RefPath> next;
      for (const storage::RefPath& p : frontier) {
        const std::string& last =
            p.hops.empty() ? p.root_entity : p.hops.back().entity;
        for (const Entity& child : Catalogue()) {
          for (const Column& c : child.columns) {
            if (!RecordsUnder(c, last)) continue;
            storage::RefPath longer = p;
            longer.hops.push_back({std::string(child.name), std::string(c.name),
                                   std::string(LabelColumn(child))});
            next.push_back(std::move(longer));
          }
        }
      }
      all.insert(all.end(), next.begin(), next.end());
      frontier = std::move(next);
    }
    return all;
  }();
  return paths;
}

size_t EntityRank(std::string_view entity) {
  const std::vector<Entity>& all = Catalogue();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name == entity) return i;
  }
  return all.size();
}

// Labels in a person's order: whole numbers (a mark's day) by value.
bool LabelLess(const std::string& a, const std::string& b) {
  const auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 19 &&
           std::all_of(s.begin(), s.end(),
                       [](char c) { return c >= '0' && c <= '9'; });
  };
  if (digits(a) && digits(b) && a.size() != b.size()) {
    return a.size() < b.size();
  }
  return a < b;
}

bool RowLess(const RowsUnderDeleted::Row& a, const RowsUnderDeleted::Row& b) {
  const size_t ra = EntityRank(a.entity), rb = EntityRank(b.entity);
  if (ra != rb) return ra < rb;
  if (a.label != b.label) return LabelLess(a.label, b.label);
  return a.id < b.id;
}

// Orders g.rows so each row comes before the rows under it; a row whose
// parent is not listed (a live row outside the scope) goes last.
void OrderRows(RowsUnderDeleted* g) {
  using Row = RowsUnderDeleted::Row;
  using Key = std::pair<std::string, std::string>;
  std::map<Key, std::vector<Row>> children;
  for (Row& r : g->rows) {
    children[{r.parent_entity, r.parent_id}].push_back(std::move(r));
  }
  for (auto& [key, list] : children) {
    (void)key;
    std::sort(list.begin(), list.end(), RowLess);
  }
  std::vector<Row> ordered;
  // Depth first; no row is under itself (ids are per entity), and each row
  // is taken from `children` once, so this ends.
  std::vector<std::pair<Key, size_t>> walk;  // (parent, next child index)
  walk.emplace_back(Key{g->entity, g->id}, 0);
  while (!walk.empty()) {
    auto& [parent, next] = walk.back();
    auto it = children.find(parent);
    if (it == children.end() || next >= it->second.size()) {
      if (it != children.end()) children.erase(it);
      walk.pop_back();
      continue;
    }
    Row r = std::move(it->second[next++]);
    Key below{r.entity, r.id};
    ordered.push_back(std::move(r));
    walk.emplace_back(std::move(below), 0);
  }
  std::vector<Row> rest;
  for (auto& [key, list] : children) {
    (void)key;
    for (Row& r : list) rest.push_back(std::move(r));
  }
  std::sort(rest.begin(), rest.end(), RowLess);
  for (Row& r : rest) ordered.push_back(std::move(r));
  g->rows = std::move(ordered);
}

// One query per path (PathsUnderDeleted): the live rows in scope at its
// end whose first row names a deleted row.
Status FindUnderDeleted(Db& db, const Scope& scope, QualityReport* report) {
  using Key = std::pair<std::string, std::string>;  // (entity, id)
  std::map<Key, RowsUnderDeleted> groups;
  std::map<Key, std::set<Key>> listed;  // per group: rows already in it
  for (const storage::RefPath& path : PathsUnderDeleted()) {
    KBO_ASSIGN_OR_RETURN(std::vector<storage::UnderDeletedRow> rows,
                         QualityStore(db).LiveRowsUnderDeleted(path, scope));
    const std::string& entity = path.hops.back().entity;
    const std::string& parent = path.hops.size() == 1
                                    ? path.root_entity
                                    : path.hops[path.hops.size() - 2].entity;
    for (storage::UnderDeletedRow& r : rows) {
      const Key root{path.root_entity, r.root_id};
      RowsUnderDeleted& g = groups[root];
      if (g.id.empty()) {
        g.entity = path.root_entity;
        g.id = r.root_id;
        g.name = std::move(r.root_name);
        g.district_code = std::move(r.root_district_code);
      }
      // A mark under a deleted workshop is reached directly and through
      // its enrolment: the shorter path (first) names its parent.
      if (!listed[root].insert({entity, r.id}).second) continue;
      g.rows.push_back({entity, std::move(r.id), std::move(r.label), parent,
                        std::move(r.parent_id)});
    }
  }
  for (auto& [key, g] : groups) {
    (void)key;
    OrderRows(&g);
    report->under_deleted.push_back(std::move(g));
  }
  std::sort(report->under_deleted.begin(), report->under_deleted.end(),
            [](const RowsUnderDeleted& a, const RowsUnderDeleted& b) {
              const size_t ra = EntityRank(a.entity), rb = EntityRank(b.entity);
              return std::tie(a.district_code, ra, a.name, a.id) <
                     std::tie(b.district_code, rb, b.name, b.id);
            });
  return Status();
}

}  // namespace

Result<QualityReport> FindQualityIssues(Db& db, const Scope& scope,
                                        const std::string& today) {
  if (AddDaysToDate(today, 0) != today) {
    return Status::InvalidArgument("today must be a date YYYY-MM-DD, got '" +
                                   today.substr(0, 40) + "'");
  }
  QualityReport report;
  report.today = today;
  KBO_RETURN_IF_ERROR(FindDuplicateProducers(db, scope, &report));
  KBO_RETURN_IF_ERROR(FindDuplicateEnrolments(db, scope, &report));
  KBO_RETURN_IF_ERROR(FindWorkshopIssues(db, scope, &report));
  KBO_RETURN_IF_ERROR(FindUnderDeleted(db, scope, &report));
  KBO_ASSIGN_OR_RETURN(std::vector<storage::DistrictMismatchRow> moved,
                       QualityStore(db).RowsOutsideParentDistrict(scope));
  for (storage::DistrictMismatchRow& m : moved) {
    report.district_mismatches.push_back(
        {std::move(m.entity), std::move(m.id), std::move(m.district_code),
         std::move(m.parent_entity), std::move(m.parent_id),
         std::move(m.parent_name), std::move(m.parent_district)});
  }
  return report;
}

std::string QualityReportJson(const QualityReport& r) {
  Json out = Json::object();
  out["today"] = r.today;
  Json dups = Json::array();
  for (const DuplicateProducers& d : r.duplicate_producers) {
    Json members = Json::array();
    for (const QualityProducer& p : d.members) {
      members.push_back({{"id", p.id},
                         {"name", p.name},
                         {"kind", p.kind},
                         {"district_code", p.district_code},
                         {"tambon", p.tambon},
                         {"phone", p.phone},
                         {"enrolments", p.enrolments},
                         {"products", p.products},
                         {"visits", p.visits}});
    }
    dups.push_back({{"reasons", d.reasons},
                    {"same_district", d.same_district},
                    {"members", std::move(members)}});
  }
  out["duplicate_producers"] = std::move(dups);
  Json enrolments = Json::array();
  for (const DuplicateEnrolments& d : r.duplicate_enrolments) {
    Json list = Json::array();
    for (const auto& e : d.enrolments) {
      list.push_back({{"id", e.id},
                      {"participant_name", e.participant_name},
                      {"attendance_marks", e.marks}});
    }
    enrolments.push_back({{"workshop_id", d.workshop_id},
                          {"workshop_title", d.workshop_title},
                          {"producer_id", d.producer_id},
                          {"producer_name", d.producer_name},
                          {"district_code", d.district_code},
                          {"enrolments", std::move(list)}});
  }
  out["duplicate_enrolments"] = std::move(enrolments);
  Json years = Json::array();
  for (const FiscalYearMismatch& m : r.fiscal_year_mismatches) {
    years.push_back({{"workshop_id", m.workshop_id},
                     {"title", m.title},
                     {"district_code", m.district_code},
                     {"start_date", m.start_date},
                     {"fiscal_year", m.fiscal_year},
                     {"expected_fiscal_year", m.expected_fiscal_year}});
  }
  out["fiscal_year_mismatches"] = std::move(years);
  Json missing = Json::array();
  for (const MissingAttendance& m : r.missing_attendance) {
    missing.push_back({{"workshop_id", m.workshop_id},
                       {"title", m.title},
                       {"district_code", m.district_code},
                       {"day", m.day},
                       {"date", m.date},
                       {"enrolled", m.enrolled},
                       {"missing", m.missing}});
  }
  out["missing_attendance"] = std::move(missing);
  Json future = Json::array();
  for (const FutureAttendance& m : r.future_attendance) {
    future.push_back({{"workshop_id", m.workshop_id},
                      {"title", m.title},
                      {"district_code", m.district_code},
                      {"day", m.day},
                      {"date", m.date},
                      {"marked", m.marked}});
  }
  out["future_attendance"] = std::move(future);
  Json under = Json::array();
  for (const RowsUnderDeleted& g : r.under_deleted) {
    Json rows = Json::array();
    for (const RowsUnderDeleted::Row& row : g.rows) {
      rows.push_back({{"entity", row.entity},
                      {"id", row.id},
                      {"label", row.label},
                      {"parent_entity", row.parent_entity},
                      {"parent_id", row.parent_id}});
    }
    under.push_back({{"entity", g.entity},
                     {"id", g.id},
                     {"name", g.name},
                     {"district_code", g.district_code},
                     {"rows", std::move(rows)}});
  }
  out["under_deleted"] = std::move(under);
  Json moved = Json::array();
  for (const DistrictMismatch& m : r.district_mismatches) {
    moved.push_back({{"entity", m.entity},
                     {"id", m.id},
                     {"district_code", m.district_code},
                     {"parent_entity", m.parent_entity},
                     {"parent_id", m.parent_id},
                     {"parent_name", m.parent_name},
                     {"parent_district", m.parent_district}});
  }
  out["district_mismatches"] = std::move(moved);
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---- Merge ------------------------------------------------------------------

std::string MergeCounts::Summary() const {
  std::string taken;
  for (const std::string& column : fields_taken) taken += (taken.empty() ? "" : ",") + column;
  return "products=" + std::to_string(products) +
         " enrolments=" + std::to_string(enrolments) +
         " visits=" + std::to_string(visits) +
         " photos=" + std::to_string(photos) +
         (taken.empty() ? std::string() : " fields_taken=" + taken);
}

namespace {

struct HeldProducer {
  std::string name, district;
  bool deleted = false;
};

Result<HeldProducer> LoadProducer(Db& db, const Scope& scope,
                                  const std::string& id, const char* which) {
  KBO_ASSIGN_OR_RETURN(std::optional<storage::ProducerHead> found,
                       QualityStore(db).FindProducer(id));
  if (!found.has_value()) {
    return Status::NotFound(std::string("no producer ") + which + " " + id);
  }
  HeldProducer p{found->name, found->district_code, found->deleted};
  if (!scope.Contains(p.district)) {
    return Status::NotFound(std::string("no producer ") + which + " " + id);
  }
  return p;
}

}  // namespace

namespace {

// Every product, enrolment and visit naming producer `drop`, and every photo
// of it, repointed to `keep`: a merge's move, and a merged producer's late
// rows (recorded offline before the device heard of the merge) moved after
// it. Each row written with WriteAsServer and audited.
// Refused whole, before anything is written, when a row to repoint is
// recorded in a district outside `scope` (a Phrao participant of a Fang
// producer: a Fang officer's merge would change a Phrao row); like an
// office delete, it does not say which row or how many.
Status RepointProducerRows(ServerStore& store, const Scope& scope,
                           const std::string& drop,
                           const std::string& keep, const std::string& why,
                           std::string_view actor, std::string_view address,
                           MergeCounts* counts) {
  struct Repoint {
    const char* entity;
    const char* column;
    int64_t* count;
  };
  const Repoint repoints[] = {
      {"product", "producer_id", &counts->products},
      {"enrolment", "producer_id", &counts->enrolments},
      {"visit", "producer_id", &counts->visits},
      {"photo", "subject_id", &counts->photos},
  };
  std::vector<std::vector<storage::RowInDistrict>> found;
  for (const Repoint& r : repoints) {
    KBO_ASSIGN_OR_RETURN(std::vector<storage::RowInDistrict> rows,
                         QualityStore(store.db()).RowsNamingProducer(r.entity, drop));
    // A deleted row of another district (a participant enrolled there by
    // mistake and removed) is neither in the way nor the user's to write:
    // left as it is.
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&scope](const storage::RowInDistrict& row) {
                                return row.deleted && !scope.Contains(row.district_code);
                              }),
               rows.end());
    for (const storage::RowInDistrict& row : rows) {
      if (!scope.Contains(row.district_code)) {
        return Status::PermissionDenied(
                   "rows recorded under producer " + drop +
                   " are in districts outside yours: a person of all their "
                   "districts (or the central office) merges it; nothing "
                   "was changed")
            .WithReason("rows_out_of_scope");
      }
    }
    found.push_back(std::move(rows));
  }
  for (size_t k = 0; k < std::size(repoints); ++k) {
    const Repoint& r = repoints[k];
    for (const storage::RowInDistrict& named : found[k]) {
      const std::string& id = named.id;
      KBO_ASSIGN_OR_RETURN(Uuid row, Uuid::Parse(id));
      KBO_ASSIGN_OR_RETURN(
          ServerWrite w,
          WriteAsServer(store, r.entity, row, {{r.column, Value::Text(keep)}}));
      if (!w.lost.empty()) {
        return Status::Internal(std::string(r.entity) + " " + id +
                                " could not be repointed");
      }
      KBO_RETURN_IF_ERROR(console::AppendAudit(
          store, actor, "edit", std::string(r.entity) + ":" + id,
          std::string(r.column) + ": '" + drop + "' -> '" + keep +
              "' (producers merged); reason: " + why,
          address));
      ++*r.count;
    }
  }
  return Status();
}

}  // namespace

Result<MergeCounts> MergeProducers(ServerStore& store, const Scope& scope,
                                   std::string_view keep_id,
                                   std::string_view drop_id,
                                   std::string_view reason,
                                   std::string_view actor,
                                   std::string_view address) {
  Result<Uuid> keep_uuid = Uuid::Parse(keep_id);
  if (!keep_uuid.ok()) {
    return Status::InvalidArgument("keep: not a producer id: '" +
                                   std::string(keep_id.substr(0, 40)) + "'");
  }
  Result<Uuid> drop_uuid = Uuid::Parse(drop_id);
  if (!drop_uuid.ok()) {
    return Status::InvalidArgument("drop: not a producer id: '" +
                                   std::string(drop_id.substr(0, 40)) + "'");
  }
  const std::string keep = keep_uuid->ToString();
  const std::string drop = drop_uuid->ToString();
  if (keep == drop) {
    return Status::InvalidArgument("a producer cannot be merged into itself")
        .WithReason("merge_self");
  }
  KBO_RETURN_IF_ERROR(CheckReason(reason, "say why the two producers are one (reason)"));
  Db& db = store.db();
  KBO_ASSIGN_OR_RETURN(HeldProducer kept, LoadProducer(db, scope, keep, "to keep"));
  KBO_ASSIGN_OR_RETURN(HeldProducer dropped,
                       LoadProducer(db, scope, drop, "to drop"));
  if (kept.deleted || dropped.deleted) {
    return Status::InvalidArgument(
        "producer " + (kept.deleted ? keep : drop) +
        " is deleted: only two live producers can be merged");
  }
  if (kept.district != dropped.district) {
    return Status::InvalidArgument(
        "the producers are in different districts (" + kept.district + ", " +
        dropped.district + "): move one first, then merge");
  }

  MergeCounts counts;
  counts.keep_name = kept.name;
  counts.drop_name = dropped.name;
  counts.district_code = kept.district;
  const std::string why(reason);
  KBO_RETURN_IF_ERROR(RepointProducerRows(store, scope, drop, keep, why, actor,
                                          address, &counts));
  // What the dropped producer holds and the kept one lacks (its members, a
  // phone number): taken by the kept one, so the merge loses nothing a
  // person recorded. A field both hold keeps the kept one's value (the
  // dropped one's stays in its history).
  {
    const Entity* producer = FindEntity("producer");
    KBO_ASSIGN_OR_RETURN(std::optional<ReplicaRow> kept_row,
                         storage::Rows(db).Read(*producer, *keep_uuid));
    KBO_ASSIGN_OR_RETURN(std::optional<ReplicaRow> dropped_row,
                         storage::Rows(db).Read(*producer, *drop_uuid));
    std::vector<std::pair<std::string, Value>> taken;
    size_t kind = 0;
    while (kind < producer->columns.size() && producer->columns[kind].name != "kind") ++kind;
    if (kept_row.has_value() && dropped_row.has_value() && kind < kept_row->values.size() &&
        kind < dropped_row->values.size()) {
      for (size_t c = 0; c < producer->columns.size() && c < kept_row->values.size() &&
                         c < dropped_row->values.size();
           ++c) {
        const Value& mine = kept_row->values[c];
        const Value& theirs = dropped_row->values[c];
        const bool lacking =
            mine.is_null() || (mine.type() == Value::Type::kText && mine.text().empty());
        const bool holds = !theirs.is_null() &&
                           !(theirs.type() == Value::Type::kText && theirs.text().empty());
        // A group's members are no entrepreneur's: taken only between two
        // of one kind.
        const std::string_view column = producer->columns[c].name;
        if (column == "members" && !(kept_row->values[kind] == dropped_row->values[kind])) {
          continue;
        }
        if (lacking && holds) taken.emplace_back(std::string(column), theirs);
      }
    }
    if (!taken.empty()) {
      KBO_ASSIGN_OR_RETURN(ServerWrite filled,
                           WriteAsServer(store, "producer", *keep_uuid, taken));
      if (!filled.lost.empty()) {
        return Status::Internal("producer " + keep + " could not take " + drop + "'s fields");
      }
      std::string detail;
      for (const auto& [column, value] : taken) {
        counts.fields_taken.push_back(column);
        detail += (detail.empty() ? "" : ", ") + column + ": '' -> '" + value.ToDisplay() + "'";
      }
      KBO_RETURN_IF_ERROR(console::AppendAudit(
          store, actor, "edit", "producer:" + keep,
          detail + " (taken from " + drop + ", merged into it); reason: " + why, address));
    }
  }
  KBO_ASSIGN_OR_RETURN(ServerWrite gone,
                       WriteAsServer(store, "producer", *drop_uuid,
                                     {{"deleted", Value::Integer(1)}}));
  if (!gone.lost.empty()) {
    return Status::Internal("producer " + drop + " could not be deleted");
  }
  KBO_RETURN_IF_ERROR(console::AppendAudit(
      store, actor, "edit", "producer:" + drop,
      "deleted: '0' -> '1' (merged into " + keep + "); reason: " + why,
      address));
  KBO_RETURN_IF_ERROR(console::AppendAudit(
      store, actor, "merge_producers", "producer:" + keep,
      "keep=" + keep + " drop=" + drop + " " + counts.Summary() +
          "; reason: " + why,
      address));
  return counts;
}

// ---- The office's row actions -------------------------------------------------

Result<OfficeRow> FindOfficeRow(Db& db, const Scope& scope,
                                std::string_view entity, std::string_view id,
                                std::string_view reason, std::string_view done) {
  OfficeRow row;
  row.entity = FindEntity(entity);
  if (row.entity == nullptr) {
    return Status::InvalidArgument("no entity '" +
                                   std::string(entity.substr(0, 40)) + "'");
  }
  Result<Uuid> uuid = Uuid::Parse(id);
  if (!uuid.ok()) {
    return Status::InvalidArgument("not " + WithArticle(row.entity->name) +
                                   " id: '" + std::string(id.substr(0, 40)) +
                                   "'");
  }
  KBO_RETURN_IF_ERROR(
      CheckReason(reason, "say why the row is " + std::string(done) + " (reason)"));
  row.id = *uuid;
  row.subject = std::string(row.entity->name) + " " + uuid->ToString();
  const std::string_view name_column = LabelColumn(*row.entity);
  KBO_ASSIGN_OR_RETURN(
      std::optional<storage::RowHead> found,
      QualityStore(db).FindRow(row.entity->name,
                               name_column == kIdColumn ? "" : name_column,
                               uuid->ToString()));
  if (!found.has_value() || !scope.Contains(found->district_code)) {
    return Status::NotFound("no " + row.subject);
  }
  row.name = std::move(found->name);
  row.named = name_column == "name" || name_column == "title" ||
              name_column == "participant_name";
  row.district_code = std::move(found->district_code);
  row.deleted = found->deleted;
  return row;
}

Result<std::optional<MergedProducer>> MergedInto(Db& db, std::string_view server_id,
                                                 std::string_view drop_id) {
  constexpr std::string_view kMarker = "(merged into ";
  KBO_ASSIGN_OR_RETURN(std::vector<storage::History::Marked> edits,
                       storage::History(db).EditsStartingWith(
                           "producer:" + std::string(drop_id), "deleted: '0' -> '1' "));
  if (edits.empty()) return std::optional<MergedProducer>();
  const std::string& d = edits.back().detail;
  const size_t at = d.find(kMarker);
  if (at == std::string::npos) return std::optional<MergedProducer>();
  const size_t from = at + kMarker.size(), to = d.find(')', from);
  if (to == std::string::npos) return std::optional<MergedProducer>();
  Result<Uuid> drop = Uuid::Parse(drop_id);
  if (!drop.ok()) return std::optional<MergedProducer>();
  KBO_ASSIGN_OR_RETURN(auto versions, storage::Rows(db).CellVersions("producer", *drop));
  auto v = versions.find(kDeletedColumn);
  if (v == versions.end() || v->second.hlc.device.ToString() != server_id) {
    return std::optional<MergedProducer>();
  }
  // Still deleted: a merged producer brought back since (a restore of the
  // rows recorded under it) is just a producer again.
  KBO_ASSIGN_OR_RETURN(std::optional<storage::RowHead> dropped,
                       QualityStore(db).FindRow("producer", "name", std::string(drop_id)));
  if (!dropped.has_value() || !dropped->deleted) return std::optional<MergedProducer>();
  MergedProducer m;
  m.keep_id = d.substr(from, to - from);
  KBO_ASSIGN_OR_RETURN(std::optional<storage::RowHead> keep,
                       QualityStore(db).FindRow("producer", "name", m.keep_id));
  if (keep.has_value()) m.keep_name = std::move(keep->name);
  return std::optional<MergedProducer>(std::move(m));
}

// ---- Restore ----------------------------------------------------------------

Result<RestoredRow> RestoreDeletedRow(ServerStore& store, const Scope& scope,
                                      std::string_view entity,
                                      std::string_view id,
                                      std::string_view reason,
                                      std::string_view actor,
                                      std::string_view address) {
  Db& db = store.db();
  KBO_ASSIGN_OR_RETURN(OfficeRow found, FindOfficeRow(db, scope, entity, id,
                                                      reason, "restored"));
  const Entity* e = found.entity;
  const std::string row_id = found.id.ToString();
  const std::string& subject = found.subject;
  if (!found.deleted) {
    return Status::InvalidArgument(subject +
                                   " is not deleted: there is nothing to restore");
  }
  RestoredRow restored;
  restored.entity = std::string(e->name);
  restored.id = row_id;
  restored.name = found.name;
  restored.district_code = found.district_code;
  // A producer merged away is not brought back (that would make the
  // duplicate again): the rows recorded under it since the merge, by a
  // device that had not heard of it, go where the merge put the others.
  if (e->name == "producer") {
    KBO_ASSIGN_OR_RETURN(std::optional<MergedProducer> merged,
                         MergedInto(db, store.server_id().ToString(), row_id));
    if (merged.has_value()) {
      // Where the merge's rows are now: the kept producer, or the one it was
      // merged into in turn. It must be live and in this producer's
      // district (and the user's), or nothing is moved.
      std::string keep_id = merged->keep_id, keep_name = merged->keep_name;
      std::optional<storage::ProducerHead> keep;
      for (int hops = 0;; ++hops) {
        KBO_ASSIGN_OR_RETURN(keep, QualityStore(db).FindProducer(keep_id));
        if (!keep.has_value() || !keep->deleted || hops == 16) break;
        KBO_ASSIGN_OR_RETURN(std::optional<MergedProducer> next,
                             MergedInto(db, store.server_id().ToString(), keep_id));
        if (!next.has_value()) break;
        keep_id = next->keep_id;
        keep_name = next->keep_name;
      }
      if (!keep.has_value() || keep->deleted ||
          keep->district_code != found.district_code || !scope.Contains(keep->district_code)) {
        return Status::InvalidArgument(
                   subject + " was merged into producer " + keep_id +
                   (keep_name.empty() ? "" : " ('" + keep_name + "')") + ", which is " +
                   (!keep.has_value() ? "not held"
                    : keep->deleted   ? "deleted"
                                      : "in another district now") +
                   ": the rows recorded under it since the merge stay where they are "
                   "(restore or move that producer first); nothing was changed")
            .WithReason("merged_away");
      }
      merged->keep_id = keep_id;
      merged->keep_name = keep_name;
      MergeCounts moved;
      KBO_RETURN_IF_ERROR(RepointProducerRows(store, scope, row_id, merged->keep_id,
                                              std::string(reason), actor, address,
                                              &moved));
      restored.moved_into = merged->keep_id;
      restored.moved_into_name = merged->keep_name;
      restored.moved = moved.products + moved.enrolments + moved.visits + moved.photos;
      KBO_RETURN_IF_ERROR(console::AppendAudit(
          store, actor, "merge_producers", "producer:" + merged->keep_id,
          "keep=" + merged->keep_id + " drop=" + row_id + " " + moved.Summary() +
              " (recorded under it after the merge); reason: " + std::string(reason),
          address));
      return restored;
    }
  }
  for (const Entity& child : Catalogue()) {
    for (const Column& c : child.columns) {
      if (!RecordsUnder(c, e->name)) continue;
      KBO_ASSIGN_OR_RETURN(int64_t n,
                           QualityStore(db).LiveRowsNaming(child.name, c.name, row_id));
      restored.rows_under += n;
    }
  }
  // The office's own delete is undone whole, with what it took, whether or
  // not a device has recorded under the row since; a device's delete is
  // restored only for the rows recorded under it (the finding).
  Result<int64_t> undone =
      UndoOfficeDelete(store, scope, found, reason, actor, address);
  if (undone.ok()) {
    restored.undone = true;
    restored.restored_with = *undone;
    return restored;
  }
  if (undone.status().reason() != "not_deleted_by_office" ||
      restored.rows_under == 0) {
    return undone.status();
  }
  // The device's delete, by its stamp, before the write below replaces it:
  // what it took with the row (`--cascade`) comes back too.
  KBO_ASSIGN_OR_RETURN(std::optional<ReplicaRow> held, storage::Rows(db).Read(*e, found.id));
  const std::optional<Hlc> stamp =
      held.has_value() ? DeviceDeleteStamp(*held, store.server_id()) : std::nullopt;
  KBO_ASSIGN_OR_RETURN(ServerWrite w,
                       WriteAsServer(store, e->name, found.id,
                                     {{"deleted", Value::Integer(0)}}));
  if (!w.lost.empty()) return Status::Internal(subject + " could not be restored");
  const Resolver by{std::string(actor), "restored: " + std::string(reason),
                    std::string(address), scope};
  // An edit of it that did not know of the delete is decided: it is back.
  KBO_RETURN_IF_ERROR(SettleDeleteConflicts(store, e->name, row_id, Value::Integer(0),
                                            w.applied.first_seq, "", by));
  if (stamp.has_value()) {
    KBO_ASSIGN_OR_RETURN(BroughtBack back, BringBackTakenWith(store, *e, row_id, *stamp, by));
    restored.restored_with = back.back;
  }
  KBO_RETURN_IF_ERROR(console::AppendAudit(
      store, actor, "edit", std::string(e->name) + ":" + row_id,
      "deleted: '1' -> '0' (restored: rows were recorded under it); reason: " +
          std::string(reason),
      address));
  return restored;
}

}  // namespace kbo::server
