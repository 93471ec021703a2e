#include "server/pull_service.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "server/push_service.h"
#include "tests/server/server_fixture.h"

namespace kbo::server::testing {
namespace {

ChangeSet DecodePage(const ServerFixture& f, const DeviceRecord& device,
                     const PullPage& page) {
  // What the client does first: verify the page with the pinned key.
  auto sig = SignatureFromHex(page.signature_hex);
  REQUIRE(sig.ok());
  REQUIRE(
      Verify(f.store->key().public_key(), kPullPageDomain,
             protocol::PullPageMessage(
                 device.id.ToString(), page.after, page.next_cursor, page.more,
                 page.body, page.since,
                 page.departures ? std::optional<std::string_view>(page.districts)
                                 : std::nullopt),
             *sig));
  auto cs = DecodeChangeSet(page.body);
  REQUIRE(cs.ok());
  CHECK(cs->device.IsNil());
  CHECK(cs->seq == 0);
  return *cs;
}

std::set<std::string> RowIds(const ChangeSet& cs) {
  std::set<std::string> ids;
  for (const RowChange& r : cs.rows) ids.insert(r.row_id.ToString());
  return ids;
}

TEST_CASE("PullService: a Phrao device never receives a Fang row",
          "[server][pull][scope]") {
  ServerFixture f;
  TestDevice phrao, fang, office;
  f.Enroll(phrao, kPhrao);
  f.Enroll(fang, kFang);
  f.Enroll(office, "all", "central_office");
  PushService push(*f.store);
  const Uuid p = Uuid::Random(), q = Uuid::Random();
  REQUIRE(push.Push(f.Record(phrao.id),
                    phrao.SealNext({Producer(p, phrao.HlcAt(kT0), kPhrao)}))
              .ok());
  REQUIRE(push.Push(f.Record(fang.id),
                    fang.SealNext({Producer(q, fang.HlcAt(kT0), kFang)}))
              .ok());

  PullService pull(*f.store);
  auto phrao_page = pull.Pull(f.Record(phrao.id), 0, 0);
  REQUIRE(phrao_page.ok());
  CHECK(RowIds(DecodePage(f, f.Record(phrao.id), *phrao_page)) ==
        std::set<std::string>{p.ToString()});
  auto fang_page = pull.Pull(f.Record(fang.id), 0, 0);
  REQUIRE(fang_page.ok());
  CHECK(RowIds(DecodePage(f, f.Record(fang.id), *fang_page)) ==
        std::set<std::string>{q.ToString()});
  auto all_page = pull.Pull(f.Record(office.id), 0, 0);
  REQUIRE(all_page.ok());
  CHECK(RowIds(DecodePage(f, f.Record(office.id), *all_page)).size() == 2);
  CHECK(all_page->next_cursor == 2);
  CHECK_FALSE(all_page->more);
  // The cursor still moves past what the device may not see.
  CHECK(phrao_page->next_cursor == 1);
}

TEST_CASE("PullService: the server records a sequence no cursor it handed a device is "
          "past, and sends one pulling past it (a restored server) back there",
          "[server][pull][restore]") {
  ServerFixture f;
  TestDevice trainer, officer;
  f.Enroll(trainer, kPhrao);
  f.Enroll(officer, kPhrao, "field_officer");
  PushService push(*f.store);
  std::vector<RowChange> rows;
  for (int i = 0; i < 4; ++i) {
    rows.push_back(Producer(Uuid::Random(), trainer.HlcAt(kT0 + i), kPhrao));
  }
  REQUIRE(push.Push(f.Record(trainer.id), trainer.SealNext(rows)).ok());  // 1-4
  PullService pull(*f.store);
  const auto served = [&] { return f.Record(officer.id).served_seq; };
  // Enrolled: served nothing yet. A cursor it was never handed goes back to 0.
  CHECK(served() == std::optional<uint64_t>(0));
  auto unknown = pull.Pull(f.Record(officer.id), 3, 0, 3);
  CHECK(unknown.status().code() == Code::kSequenceGap);
  CHECK(unknown.status().reason() == "pull_restart");
  REQUIRE(unknown.status().IntegerField(field::kExpected) != nullptr);
  CHECK(*unknown.status().IntegerField(field::kExpected) == 0);
  CHECK(served() == std::optional<uint64_t>(0));  // a refusal records nothing

  // A page whose cursor is past it raises it to the last sequence, before
  // the page goes: once for the pull, not at every page.
  auto first = pull.Pull(f.Record(officer.id), 0, 2, 0);
  REQUIRE(first.ok());
  CHECK(first->next_cursor == 2);
  CHECK(served() == std::optional<uint64_t>(4));
  REQUIRE(f.store->db().Exec("UPDATE device SET served_seq = 3").ok());  // (to see it)
  auto second = pull.Pull(f.Record(officer.id), 2, 2, 0);
  REQUIRE(second.ok());
  CHECK(second->next_cursor == 4);
  CHECK(served() == std::optional<uint64_t>(4));
  // Never lowered: a pull from 0 again (kbo sync --full) keeps it.
  REQUIRE(pull.Pull(f.Record(officer.id), 0, 1, 0).ok());
  CHECK(served() == std::optional<uint64_t>(4));
  REQUIRE(pull.Pull(f.Record(officer.id), 4, 0, 4).ok());  // nothing new: fine
  // The conflict feed raises it too, and a client that takes a restart is
  // sent back from it the same way; an older one is not checked.
  REQUIRE(f.store->db().Exec("UPDATE device SET served_seq = 1").ok());
  auto conflicts = pull.ConflictsAfter(f.Record(officer.id), 3, 0, /*takes_restart=*/true);
  CHECK(conflicts.status().reason() == "pull_restart");
  REQUIRE(conflicts.status().IntegerField(field::kExpected) != nullptr);
  CHECK(*conflicts.status().IntegerField(field::kExpected) == 1);
  REQUIRE(pull.ConflictsAfter(f.Record(officer.id), 3, 0).ok());
  CHECK(served() == std::optional<uint64_t>(4));
  // An older client's unchecked cursor never raises it past the last
  // sequence (else a restore would go unseen).
  REQUIRE(pull.ConflictsAfter(f.Record(officer.id), 1000, 0).ok());
  CHECK(served() == std::optional<uint64_t>(4));

  // The database restored from before its last pages: the device's cursor
  // (4) is past what it remembers (2).
  REQUIRE(f.store->db().Exec("UPDATE device SET served_seq = 2").ok());
  auto past = pull.Pull(f.Record(officer.id), 4, 0, 4);
  CHECK(past.status().code() == Code::kSequenceGap);
  CHECK(past.status().reason() == "pull_restart");
  REQUIRE(past.status().IntegerField(field::kExpected) != nullptr);
  CHECK(*past.status().IntegerField(field::kExpected) == 2);
  auto back = pull.Pull(f.Record(officer.id), 2, 0, 2);
  REQUIRE(back.ok());
  CHECK(RowIds(DecodePage(f, f.Record(officer.id), *back)).size() == 2);

  // Unknown (NULL: not a state a migrated database holds): never checked;
  // its next pull records where it stands.
  REQUIRE(f.store->db().Exec("UPDATE device SET served_seq = NULL").ok());
  REQUIRE(pull.Pull(f.Record(officer.id), 4, 0, 4).ok());
  CHECK(served() == std::optional<uint64_t>(4));
}

TEST_CASE(
    "PullService: pages follow the cursor, say whether more remain, and "
    "are signed",
    "[server][pull]") {
  ServerFixture f;
  TestDevice trainer;
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  std::vector<RowChange> rows;
  std::set<std::string> all;
  for (int i = 0; i < 5; ++i) {
    const Uuid id = Uuid::Random();
    all.insert(id.ToString());
    rows.push_back(Producer(id, trainer.HlcAt(kT0), kPhrao));
  }
  REQUIRE(
      push.Push(f.Record(trainer.id), trainer.SealNext(rows)).ok());

  PullService pull(*f.store);
  const DeviceRecord d = f.Record(trainer.id);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  std::vector<uint64_t> cursors;
  for (int page_no = 0; page_no < 10; ++page_no) {
    auto page = pull.Pull(f.Record(d.id), cursor, 2);
    REQUIRE(page.ok());
    const ChangeSet cs = DecodePage(f, d, *page);
    CHECK(cs.rows.size() <= 2);
    for (const std::string& id : RowIds(cs)) CHECK(seen.insert(id).second);
    cursor = page->next_cursor;
    cursors.push_back(cursor);
    if (!page->more) break;
  }
  CHECK(seen == all);
  CHECK(cursors == std::vector<uint64_t>{2, 4, 5});
  // Nothing after the end; the cursor stays.
  auto empty = pull.Pull(f.Record(d.id), cursor, 2);
  REQUIRE(empty.ok());
  CHECK(empty->next_cursor == cursor);
  CHECK_FALSE(empty->more);
  CHECK(DecodePage(f, d, *empty).rows.empty());

  // A signature checked against another cursor fails.
  auto page = pull.Pull(f.Record(d.id), 0, 2);
  REQUIRE(page.ok());
  auto sig = SignatureFromHex(page->signature_hex);
  CHECK_FALSE(Verify(
      f.store->key().public_key(), kPullPageDomain,
      protocol::PullPageMessage(d.id.ToString(), 0, page->next_cursor + 1,
                                page->more, page->body),
      *sig));
}

TEST_CASE(
    "PullService: each cell's base is its server sequence, and only cells "
    "written after the cursor come down",
    "[server][pull]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid id = Uuid::Random();
  REQUIRE(
      push.Push(f.Record(officer.id),
                officer.SealNext({Producer(id, officer.HlcAt(kT0), kPhrao)}))
          .ok());  // seq 1
  const Hlc edit_hlc = trainer.HlcAt(kT0 + 5000);
  REQUIRE(push.Push(f.Record(trainer.id),
                    trainer.SealNext({Row("producer", id, edit_hlc,
                                          {{"phone", T("053-123456"), 1},
                                           {"members", I(25), 0}})}))
              .ok());  // seq 2

  PullService pull(*f.store);
  const DeviceRecord d = f.Record(officer.id);
  auto full = pull.Pull(f.Record(d.id), 0, 0);
  REQUIRE(full.ok());
  const ChangeSet all = DecodePage(f, d, *full);
  REQUIRE(all.rows.size() == 2);  // two hlcs: the creation and the edit
  CHECK(all.rows[0].hlc.device == officer.id);
  CHECK(all.rows[1].hlc == edit_hlc);
  for (const CellWrite& c : all.rows[0].cells) CHECK(c.base == 1);
  for (const CellWrite& c : all.rows[1].cells) CHECK(c.base == 2);

  // A device whose last complete pull ended at 1 (since = 1).
  auto since = pull.Pull(f.Record(d.id), 1, 0, 1);
  REQUIRE(since.ok());
  const ChangeSet later = DecodePage(f, d, *since);
  REQUIRE(later.rows.size() == 1);
  REQUIRE(later.rows[0].cells.size() == 2);
  CHECK(later.rows[0].cells[0].column == "members");
  CHECK(later.rows[0].cells[0].value == I(25));
  CHECK(later.rows[0].cells[1].column == "phone");
  CHECK(later.rows[0].cells[1].value == T("053-123456"));
  CHECK(later.rows[0].cells[1].base == 2);
}

TEST_CASE("PullService: cells come from where the device's pull began, so a "
          "row written again past later pages still comes whole",
          "[server][pull]") {
  ServerFixture f;
  TestDevice officer, trainer;
  f.Enroll(officer, kPhrao, "field_officer");
  f.Enroll(trainer, kPhrao);
  PushService push(*f.store);
  const Uuid early = Uuid::Random(), a = Uuid::Random(), b = Uuid::Random();
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Producer(early, officer.HlcAt(kT0), kPhrao,
                                               "กลุ่มสอง"),
                                      Producer(a, officer.HlcAt(kT0 + 1), kPhrao),
                                      Producer(b, officer.HlcAt(kT0 + 2), kPhrao)}))
              .ok());  // seqs 1-3
  REQUIRE(push.Push(f.Record(officer.id),
                    officer.SealNext({Row("producer", early, officer.HlcAt(kT0 + 10),
                                          {{"village", T("บ้านใหม่"), 1}})}))
              .ok());  // seq 4: `early` now sits after a and b

  PullService pull(*f.store);
  const DeviceRecord d = f.Record(trainer.id);
  // A pull from the start, one row a page: a (2), b (3), then early (4).
  uint64_t after = 0;
  std::map<std::string, std::set<std::string>> columns;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = pull.Pull(f.Record(d.id), after, 1, /*since=*/0);
    REQUIRE(page.ok());
    for (const RowChange& r : DecodePage(f, d, *page).rows) {
      for (const CellWrite& c : r.cells) columns[r.row_id.ToString()].insert(c.column);
    }
    after = page->next_cursor;
    if (!page->more) break;
  }
  CHECK(after == 4);
  CHECK(columns[early.ToString()].count("name") == 1);
  CHECK(columns[early.ToString()].count("village") == 1);
  // A page built from its own cursor (the old rule, since = after) sends
  // the early row's new cell alone: right only for a device that already
  // holds the rest.
  auto stale = pull.Pull(f.Record(d.id), 3, 1, /*since=*/3);
  REQUIRE(stale.ok());
  const ChangeSet partial = DecodePage(f, d, *stale);
  REQUIRE(partial.rows.size() == 1);
  REQUIRE(partial.rows[0].cells.size() == 1);
  CHECK(partial.rows[0].cells[0].column == "village");
  // A device that does not say where its pull began (an older client)
  // gets every row whole.
  auto old_client = pull.Pull(f.Record(d.id), 3, 1);
  REQUIRE(old_client.ok());
  std::set<std::string> whole;
  for (const RowChange& r : DecodePage(f, d, *old_client).rows) {
    for (const CellWrite& c : r.cells) whole.insert(c.column);
  }
  CHECK(whole.count("name") == 1);
  // since past after is refused.
  CHECK(pull.Pull(f.Record(d.id), 2, 1, 3).status().code() == Code::kInvalidArgument);
  // The page is signed with its since: it does not verify as another's.
  auto sig = SignatureFromHex(stale->signature_hex);
  REQUIRE(sig.ok());
  CHECK_FALSE(Verify(f.store->key().public_key(), kPullPageDomain,
                     protocol::PullPageMessage(d.id.ToString(), 3, stale->next_cursor,
                                               stale->more, stale->body, 0),
                     *sig));
}

TEST_CASE("PullService: a row that left a device's districts is marked for "
          "it, its new district alone, once, in sequence order, not when back",
          "[server][pull][scope][moved]") {
  ServerFixture f;
  TestDevice office, phrao, both;
  f.Enroll(office, "all", "central_office");
  f.Enroll(phrao, kPhrao, "field_officer");
  f.Enroll(both, std::string(kPhrao) + "," + kFang, "field_officer");
  PushService push(*f.store);
  const Uuid p = Uuid::Random(), q = Uuid::Random(), r = Uuid::Random();
  REQUIRE(push.Push(f.Record(office.id),
                    office.SealNext({Producer(p, office.HlcAt(kT0), kPhrao),
                                     Producer(q, office.HlcAt(kT0 + 1), kPhrao)}))
              .ok());  // seqs 1-2
  const Hlc moved_at = office.HlcAt(kT0 + 10);
  REQUIRE(push.Push(f.Record(office.id),
                    office.SealNext({Row("producer", p, moved_at,
                                         {{"district_code", T(kFang), 1}}),
                                     Producer(r, office.HlcAt(kT0 + 11), kPhrao)}))
              .ok());  // seq 3: p to Fang; seq 4: r
  // Fang's later edit of p: none of it goes to Phrao.
  REQUIRE(push.Push(f.Record(office.id),
                    office.SealNext({Row("producer", p, office.HlcAt(kT0 + 12),
                                         {{"phone", T("053-999999"), 1}})}))
              .ok());  // seq 5

  PullService pull(*f.store);
  const auto pulled = [&](TestDevice& device, uint64_t after, int limit,
                          bool departures) {
    f.PulledTo(device.id, after);
    const DeviceRecord d = f.Record(device.id);
    auto page = pull.Pull(d, after, limit, after, departures);
    REQUIRE(page.ok());
    return std::make_pair(DecodePage(f, d, *page), *page);
  };
  // Phrao, which held p up to 2: a marker of p (in Fang), then r.
  {
    auto [cs, page] = pulled(phrao, 2, 0, true);
    CHECK(page.next_cursor == 4);
    CHECK_FALSE(page.more);
    REQUIRE(cs.rows.size() == 2);
    CHECK(cs.rows[0].row_id == p);
    CHECK(cs.rows[0].hlc == moved_at);
    REQUIRE(cs.rows[0].cells.size() == 1);
    CHECK(cs.rows[0].cells[0].column == "district_code");
    CHECK(cs.rows[0].cells[0].value == T(kFang));
    CHECK(cs.rows[0].cells[0].base == 3);
    CHECK(cs.rows[1].row_id == r);
    CHECK(page.body.find("053-999999") == std::string::npos);
    // Its districts are signed with it: the page does not verify as one
    // naming other districts, nor as one without them.
    CHECK(page.departures);
    CHECK(page.districts == kPhrao);
    auto sig = SignatureFromHex(page.signature_hex);
    REQUIRE(sig.ok());
    const std::string id = f.Record(phrao.id).id.ToString();
    CHECK_FALSE(Verify(f.store->key().public_key(), kPullPageDomain,
                       protocol::PullPageMessage(id, page.after, page.next_cursor,
                                                 page.more, page.body, page.since,
                                                 std::string_view("5009")),
                       *sig));
    CHECK_FALSE(Verify(f.store->key().public_key(), kPullPageDomain,
                       protocol::PullPageMessage(id, page.after, page.next_cursor,
                                                 page.more, page.body, page.since),
                       *sig));
  }
  // From the start (a new device of Phrao, or a pull from 0): the marker
  // still says no more than where p went.
  {
    auto [cs, page] = pulled(phrao, 0, 0, true);
    for (const RowChange& rc : cs.rows) {
      if (rc.row_id != p) continue;
      REQUIRE(rc.cells.size() == 1);
      CHECK(rc.cells[0].column == "district_code");
    }
    CHECK(page.body.find("053-999999") == std::string::npos);
  }
  // An older client, which does not ask for departures, is sent none.
  {
    auto [cs, page] = pulled(phrao, 2, 0, false);
    CHECK(RowIds(cs) == std::set<std::string>{r.ToString()});
    CHECK(page.next_cursor == 4);
  }
  // One row a page: the marker is a page of its own, the cursor at it.
  {
    auto [cs, page] = pulled(phrao, 2, 1, true);
    CHECK(RowIds(cs) == std::set<std::string>{p.ToString()});
    CHECK(page.next_cursor == 3);
    CHECK(page.more);
  }
  // A device of both districts gets p from its own entry (whole from 2:
  // it moved), no marker.
  {
    auto [cs, page] = pulled(both, 2, 0, true);
    std::set<std::string> columns;
    for (const RowChange& rc : cs.rows) {
      if (rc.row_id != p) continue;
      for (const CellWrite& c : rc.cells) columns.insert(c.column);
    }
    CHECK(columns.count("name") == 1);
    CHECK(columns.count("phone") == 1);
  }
  // Back in Phrao (seq 6): its departure is not marked beside it; the row
  // comes whole.
  REQUIRE(push.Push(f.Record(office.id),
                    office.SealNext({Row("producer", p, office.HlcAt(kT0 + 20),
                                         {{"district_code", T(kPhrao), 3}})}))
              .ok());
  {
    auto [cs, page] = pulled(phrao, 2, 0, true);
    CHECK(page.next_cursor == 6);
    std::set<std::string> columns;
    for (const RowChange& rc : cs.rows) {
      if (rc.row_id != p) continue;
      for (const CellWrite& c : rc.cells) {
        columns.insert(c.column);
        if (c.column == "district_code") CHECK(c.value == T(kPhrao));
      }
    }
    CHECK(columns.count("name") == 1);
    CHECK(columns.count("phone") == 1);
  }
  // A device of every district reads no departures at all.
  {
    auto [cs, page] = pulled(office, 5, 0, true);
    CHECK(RowIds(cs) == std::set<std::string>{p.ToString()});
    for (const RowChange& rc : cs.rows) CHECK(rc.cells.size() >= 1);
  }
}

TEST_CASE("PullService: the conflict feed is scoped, cursored and signed",
          "[server][pull][conflict]") {
  ServerFixture f;
  TestDevice a, b, fang;
  f.Enroll(a, kPhrao);
  f.Enroll(b, kPhrao);
  f.Enroll(fang, kFang);
  PushService push(*f.store);
  const Uuid id = Uuid::Random();
  REQUIRE(push.Push(f.Record(a.id),
                    a.SealNext({Producer(id, a.HlcAt(kT0), kPhrao)}))
              .ok());
  REQUIRE(push.Push(f.Record(b.id),
                    b.SealNext({Row("producer", id, b.HlcAt(kT0 + 1),
                                    {{"name", T("กลุ่มใหม่"), 0}})}))
              .ok());
  PullService pull(*f.store);
  auto page = pull.ConflictsAfter(f.Record(a.id), 0, 0);
  REQUIRE(page.ok());
  auto sig = SignatureFromHex(page->signature_hex);
  REQUIRE(sig.ok());
  CHECK(Verify(f.store->key().public_key(), kPullPageDomain,
               protocol::ConflictsMessage(a.id.ToString(), 0, page->body),
               *sig));
  const auto j = nlohmann::json::parse(page->body);
  REQUIRE(j["conflicts"].size() == 1);
  CHECK(j["conflicts"][0]["column_name"] == "name");
  CHECK(j["conflicts"][0]["current_value"] == "กลุ่มทอผ้าบ้านป่าตุ้ม");
  CHECK(j["conflicts"][0]["incoming_value"] == "กลุ่มใหม่");
  CHECK(j["next"] == 3);
  CHECK(j["more"] == false);

  auto after = pull.ConflictsAfter(f.Record(a.id), 3, 0);
  REQUIRE(after.ok());
  CHECK(nlohmann::json::parse(after->body)["conflicts"].empty());
  auto other = pull.ConflictsAfter(f.Record(fang.id), 0, 0);
  REQUIRE(other.ok());
  CHECK(nlohmann::json::parse(other->body)["conflicts"].empty());
}

}  // namespace
}  // namespace kbo::server::testing
