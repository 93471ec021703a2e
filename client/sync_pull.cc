#include "client/sync_client.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <future>
#include <optional>
#include <utility>
#include <vector>

#include "client/outbox.h"
#include "client/sync_internal.h"
#include "client/sync_state.h"
#include "shared/change_set_codec.h"
#include "shared/district_scope.h"
#include "shared/compression.h"
#include "shared/entities.h"
#include "shared/protocol.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"
#include "shared/wire.h"

namespace kbo::client {

namespace {

// When a group of applied pages is committed at the latest (Pull, below).
constexpr size_t kPullGroupRows = 20000;
constexpr std::chrono::milliseconds kPullGroupTime{250};

// One pull page as fetched, verified and decoded (off the applying thread).
struct FetchedPage {
  Result<HttpResponse> response = Status::Unavailable("not fetched");
  Status status;  // verification or decoding, once the answer is a 200
  uint64_t next = 0;
  bool more = false;
  bool departures = false;  // it marks departures, its districts signed
  ChangeSet rows;
};

// The row changes of an applied page that are news to this device: all but
// its own writes coming back unchanged (a pull returns every row the device
// pushed, so that it learns their server sequences; its first sync would
// otherwise count everything it had just pushed as pulled). A row change of
// this device that still changed something here (a home restored from an
// older copy) counts; so does every other device's, even one a later local
// edit outranks: it was still received. A pull sent back to an earlier
// cursor (`sent_back`: a restored server, districts granted) brings again
// what this device held, some of it numbered anew by the restored server:
// there only what changed something here is news.
uint64_t NewsIn(const ChangeSet& page, const std::vector<RowApplyInfo>& applied,
                const Uuid& self, bool sent_back) {
  uint64_t news = 0;
  for (size_t i = 0; i < page.rows.size(); ++i) {
    const bool unchanged = i < applied.size() && applied[i].won_cells == 0;
    if ((page.rows[i].hlc.device == self || sent_back) && unchanged) continue;
    ++news;
  }
  return news;
}

}  // namespace

Status RemoveRowsLeaving(Db& db, const Uuid& self,
                         std::set<std::pair<std::string, Uuid>>* rows, uint64_t* removed) {
  // A photo whose original (as taken) is only on this device stays, in its
  // new district: the office may still ask for the original, and it is
  // found through the row.
  for (auto it = rows->begin(); it != rows->end();) {
    bool keep = false;
    if (it->first == "photo") {
      Statement& st = db.Cached(
          "SELECT EXISTS (SELECT 1 FROM photo p JOIN photo_original o ON "
          "o.upload_sha256 = p.sha256 WHERE p.id = ?1 AND "
          "o.original_sha256 != o.upload_sha256)");
      st.Bind(1, std::string_view(it->second.ToString()));
      if (st.Step()) keep = st.ColumnInt(0) != 0;
      if (!st.status().ok()) return st.status();
      if (Status s = st.Reset(); !s.ok()) return s;
      if (keep) {
        // Taken here: this device wrote the picture (another device's row
        // naming the same copy holds no original of this one).
        Result<std::map<std::string, StoredCellVersion, std::less<>>> versions =
            ReadCellVersions(db, "photo", it->second);
        if (!versions.ok()) return versions.status();
        auto sha = versions->find("sha256");
        keep = sha != versions->end() && sha->second.hlc.device == self;
      }
    }
    it = keep ? rows->erase(it) : std::next(it);
  }
  for (const auto& [entity, id] : *rows) {
    const Entity* e = FindEntity(entity);
    if (e == nullptr) continue;  // named by a page's decoder or the catalogue
    Statement del(db, "DELETE FROM " + std::string(e->name) + " WHERE id = ?1");
    del.Bind(1, std::string_view(id.ToString()));
    if (Status s = del.Run(); !s.ok()) return s;
    if (removed != nullptr) *removed += static_cast<uint64_t>(db.Changes());
    // Its conflicts went with it on the server (to the office of its new
    // district): this device would never hear how they were decided.
    Statement gone(db, "DELETE FROM conflict WHERE entity = ?1 AND row_id = ?2");
    gone.Bind(1, std::string_view(entity)).Bind(2, std::string_view(id.ToString()));
    if (Status s = gone.Run(); !s.ok()) return s;
  }
  return Status();
}

namespace {

// Takes the departure markers out of a verified page that marks them
// (kDeparturesHeader) before it is applied: row changes of a district cell
// alone naming a district outside `districts` (the page's, signed with it;
// a server asked with left=1 marks each row that left them so,
// server/pull_service.h). A marked row this device holds is removed from it
// (as a filtered replication drops what leaves its filter): it is another
// district's now, the server keeps it, and a move back sends it whole
// again. What this device typed into it and had not had taken stays in the
// outbox and then in refused_row, as any refused edit. `removed` (if given)
// grows by the rows removed. Nothing to do for a device of every district.
Status TakeDepartures(Db& db, std::string_view districts, const Uuid& self,
                      ChangeSet* page, uint64_t* removed) {
  if (districts.empty()) return Status();
  const DistrictScope scope = DistrictScope::ReadStored(districts);
  if (scope.all) return Status();
  std::set<std::pair<std::string, Uuid>> left;
  for (const RowChange& rc : page->rows) {
    // A marker is its district cell alone (PullService); anything else
    // outside the districts is not one.
    if (rc.cells.size() != 1) continue;
    const CellWrite& cell = rc.cells.front();
    if (cell.column == kDistrictColumn && cell.value.type() == Value::Type::kText &&
        !scope.Contains(cell.value.text())) {
      left.emplace(rc.entity, rc.row_id);
    }
  }
  if (left.empty()) return Status();
  if (Status s = RemoveRowsLeaving(db, self, &left, removed); !s.ok()) return s;
  if (left.empty()) return Status();
  page->rows.erase(std::remove_if(page->rows.begin(), page->rows.end(),
                                  [&left](const RowChange& rc) {
                                    return left.count({rc.entity, rc.row_id}) != 0;
                                  }),
                   page->rows.end());
  return Status();
}

// The rows of an applied page that carry an edit the server refused and
// that were not put back to the server's cells when it refused them (it
// sent none: the row was outside this device's districts then, moved
// away). The refused write's cells that the page now brings (a row moved
// back comes whole) take the server's values, whatever their hlcs
// (RestoreRow, cells the page lacks left alone), so a refused edit does not
// stay on the device outranking the server's; a later local write is kept.
// The refusal is marked put back once every cell it wrote came.
Status SettleRefusedCells(Db& db, const ChangeSet& page) {
  struct Open {
    int64_t seq;
    int64_t index;
    bool waiting;  // kept on the server for this row (kWaitsForRowReason)
  };
  std::map<std::pair<std::string, std::string>, std::vector<Open>> open;
  {
    Statement& st = db.Cached(
        "SELECT entity, row_id, seq, row_index, reason FROM refused_row WHERE restored = 0 "
        "AND seq > 0");
    while (st.Step()) {
      open[{st.ColumnText(0), st.ColumnText(1)}].push_back(
          {st.ColumnInt(2), st.ColumnInt(3),
           st.ColumnText(4) == protocol::kWaitsForRowReason});
    }
    if (!st.status().ok()) return st.status();
    if (Status s = st.Reset(); !s.ok()) return s;
  }
  if (open.empty()) return Status();
  std::map<std::pair<std::string, std::string>, std::vector<const RowChange*>> in_page;
  for (const RowChange& rc : page.rows) {
    std::pair<std::string, std::string> key{rc.entity, rc.row_id.ToString()};
    if (open.count(key) != 0) in_page[key].push_back(&rc);
  }
  // Each refused change set decoded once, however many of its rows come.
  std::map<int64_t, Result<ChangeSet>> sets;
  for (const auto& [key, changes] : in_page) {
    std::set<std::string> brought;
    std::vector<RowChange> held;
    for (const RowChange* rc : changes) {
      held.push_back(*rc);
      for (const CellWrite& c : rc->cells) brought.insert(c.column);
    }
    for (const Open& o : open.at(key)) {
      auto cached = sets.find(o.seq);
      if (cached == sets.end()) cached = sets.emplace(o.seq, LoadSealedSet(db, o.seq)).first;
      const Result<ChangeSet>& sent = cached->second;
      if (!sent.ok() && sent.status().code() != Code::kCorruption) return sent.status();
      if (!sent.ok() || o.index < 0 ||
          static_cast<size_t>(o.index) >= sent->rows.size()) {
        continue;  // its bytes are gone: nothing to compare with
      }
      const RowChange& refused = sent->rows[static_cast<size_t>(o.index)];
      if (refused.entity != key.first || refused.row_id.ToString() != key.second) continue;
      // One that waited on the server for this row and was applied there
      // with it: every cell it wrote comes with its hlc or a later one (what
      // won over it). Settled, and nothing here is put back.
      bool applied_there = o.waiting;
      for (const CellWrite& c : refused.cells) {
        bool later = false;
        for (const RowChange* rc : changes) {
          for (const CellWrite& got : rc->cells) {
            if (got.column == c.column && !(rc->hlc < refused.hlc)) later = true;
          }
        }
        applied_there = applied_there && later;
      }
      if (applied_there) {
        Statement settled(db, "DELETE FROM refused_row WHERE seq = ?1 AND row_index = ?2");
        settled.Bind(1, o.seq).Bind(2, o.index);
        if (Status s = settled.Run(); !s.ok()) return s;
        continue;
      }
      // (A waiting one the row came without was refused there after all:
      // as any refusal.)
      if (Status s = RestoreRow(db, key.first, refused.row_id, held, refused.hlc, nullptr,
                                /*keep_unheld=*/true);
          !s.ok()) {
        return s;
      }
      const bool whole = std::all_of(
          refused.cells.begin(), refused.cells.end(),
          [&brought](const CellWrite& c) { return brought.count(c.column) != 0; });
      if (!whole) continue;
      Statement mark(db, o.waiting
                             ? "UPDATE refused_row SET restored = 1, reason = "
                               "'refused_after_waiting', message = 'the server refused it "
                               "when the row it waited for arrived (the office sees why: "
                               "kbo-server refused list)' WHERE seq = ?1 AND row_index = ?2"
                             : "UPDATE refused_row SET restored = 1 WHERE seq = ?1 AND "
                               "row_index = ?2");
      mark.Bind(1, o.seq).Bind(2, o.index);
      if (Status s = mark.Run(); !s.ok()) return s;
    }
  }
  return Status();
}

}  // namespace

Status SyncClient::Pull(SyncSummary* summary) {
  refused_ = false;
  counters_ = summary;
  Result<Enrolment> e = LoadEnrolment();
  if (!e.ok()) return e.status();
  Db& db = store_.db();
  Result<uint64_t> cursor = ReadCursor(db, "pull_cursor");
  if (!cursor.ok()) return cursor.status();
  uint64_t after = *cursor;
  // Where this pull began: the end of the last complete one (an interrupted
  // pull goes on from its cursor, still from there).
  Result<uint64_t> began = ReadCursor(db, "pull_since");
  if (!began.ok()) return began.status();
  uint64_t since = std::min(*began, after);
  Result<uint64_t> answered_before = ReadCursor(db, "server_since");
  if (!answered_before.ok()) return answered_before.status();
  bool server_since = *answered_before != 0;
  const int limit = std::clamp(options_.pull_limit, 1, protocol::kMaxPullLimit);
  DecodeLimits limits;
  limits.max_bytes = kMaxPageBytes;
  limits.max_rows = static_cast<uint32_t>(protocol::kMaxPullLimit);
  const PublicKey server_key = e->server_key;
  // The newest photo uploaded from here, asked about on the last page
  // (protocol.h kLastUploadHeader).
  last_upload_.clear();
  last_upload_lost_ = false;
  {
    Statement& newest = db.Cached(
        "SELECT sha256 FROM blob_upload WHERE done_at IS NOT NULL AND refused_at IS NULL "
        "ORDER BY done_seq DESC, done_at DESC, rowid DESC LIMIT 1");
    if (newest.Step()) last_upload_ = newest.ColumnText(0);
    if (!newest.status().ok()) return newest.status();
    if (Status s = newest.Reset(); !s.ok()) return s;
  }
  // Request, signature check and decoding of the page after `from`. Touches
  // only the transport, the device key and the wall clock, never the
  // database: while page k is applied, page k+1 is fetched with this on
  // another thread (the server builds it and the signature is checked in
  // the meantime). It is still applied only after page k is committed, and
  // only if it verified.
  const auto fetch = [this, limit, limits, server_key](uint64_t from,
                                                       uint64_t floor) {
    FetchedPage f;
    std::vector<std::pair<std::string, std::string>> headers = {
        {protocol::kAcceptEncodingHeader, std::string(compression::kZstd)}};
    if (!last_upload_.empty()) headers.emplace_back(protocol::kLastUploadHeader, last_upload_);
    f.response = Call("GET",
                      std::string(protocol::kPullPath) +
                          "?after=" + std::to_string(from) +
                          "&since=" + std::to_string(floor) +
                          "&limit=" + std::to_string(limit) + "&left=1",
                      "", "", kMaxPageBytes, headers);
    if (!f.response.ok() || f.response->status != 200) return f;
    // A zstd page (docs/protocol.md §1 "Compressed bodies"): decoded within the page cap, then
    // checked as any page (the signature is over the decoded bytes).
    if (const std::string* coding =
            f.response->Header(protocol::kContentEncodingHeader);
        coding != nullptr && compression::IsZstdCoding(*coding)) {
      Result<std::string> plain = compression::ZstdDecompress(
          f.response->body, kMaxPageBytes, "the pull page");
      if (!plain.ok()) {
        f.status = Status::FromCode(
            plain.status().code(),
            "the pull after " + std::to_string(from) + " from " + base_url_ +
                ": " + plain.status().message() +
                "; nothing of it was applied");
        return f;
      }
      f.response->body = std::move(plain).value();
    }
    // Verified before a byte of it is decoded.
    f.status = VerifyPullPage(server_key, store_.device_id(), from,
                              *f.response, &f.next, &f.more, floor, &f.departures);
    if (!f.status.ok() || f.response->body.empty()) return f;
    Result<ChangeSet> decoded = wire::DecodePullPage(f.response->body, limits);
    if (!decoded.ok()) {
      f.status = Status::Corruption(
          "the pull after " + std::to_string(from) + " from " + base_url_ +
          " does not decode (" + decoded.status().message() +
          "); nothing of it was applied");
      return f;
    }
    f.rows = std::move(decoded).value();
    return f;
  };
  uint64_t pulled = 0;
  Progress(SyncPhase::kPull, 0, 0, 0, 0);
  // Pages are applied in groups, one transaction each (docs/protocol.md §6):
  // each page in a savepoint of its own with the cursor after it, the group
  // committed when the next page has not arrived yet (the wait for it would
  // be idle anyway), after kPullGroupRows rows or kPullGroupTime, after the
  // last page, and whenever the pull stops: what was applied is kept. On a
  // slow link that is a commit per page, as before; on a fast one a commit's
  // sync is paid once for several pages.
  // A crash loses at most the group's pages, which the server still holds
  // and the next pull fetches again.
  std::optional<Transaction> group;
  size_t group_rows = 0;
  // Changes of other devices in the group: counted as received once it
  // is committed (a sync cut part-way says what it kept).
  uint64_t group_news = 0;
  std::chrono::steady_clock::time_point group_start;
  const auto commit_group = [&group, &group_news, summary]() -> Status {
    if (!group) return Status();
    Status s = group->Commit();
    group.reset();
    if (s.ok() && summary != nullptr) summary->pulled_rows += group_news;
    group_news = 0;
    return s;
  };
  // Every way out of the loop below keeps the pages applied so far.
  const auto stop = [&commit_group](Status s) -> Status {
    Status committed = commit_group();
    return s.ok() ? committed : s;
  };
  FetchedPage current = fetch(after, since);
  // Declared after everything `fetch` uses: a pending fetch is waited for
  // before any of it goes away, whichever way this function returns.
  std::future<FetchedPage> ahead;
  // The rows of the page applied last: freed by the next fetch, off this
  // thread (they were allocated on the fetching one).
  std::vector<RowChange> spent;
  // What applying each row change of the page did.
  std::vector<RowApplyInfo> applied;
  bool restarted = false;
  // Pulling again from an earlier cursor: held rows come again (NewsIn).
  bool sent_back = false;
  // Back to the start: the cursors at 0 and the first page fetched again,
  // every row whole (docs/protocol.md §6). Pulling again from 0 is always
  // safe.
  // Back to `from` (< after): the cursors there, the cells from there on
  // (or from where this pull began, if earlier), and the conflict records
  // from there too (those of granted districts, or numbered again by a
  // restored server, sit behind its conflict cursor as well; one held
  // already is taken again as a no-op).
  // `rewound`: the server was restored (below): the photos are asked
  // after too, noted with the cursors (the server does not send the device
  // back twice, and a sync cut before the photos are asked must still ask).
  const auto restart_from = [&](uint64_t from, bool rewound) -> Status {
    if (Status s = commit_group(); !s.ok()) return s;
    sent_back = true;
    const uint64_t floor = std::min(since, from);
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    if (Status s = SetCursor(db, "pull_cursor", from); !s.ok()) return s;
    if (Status s = SetCursor(db, "pull_since", floor); !s.ok()) return s;
    Statement lower(db, "UPDATE sync_state SET conflict_cursor = ?1 "
                        "WHERE singleton = 1 AND conflict_cursor > ?1");
    lower.Bind(1, static_cast<int64_t>(from));
    if (Status s = lower.Run(); !s.ok()) return s;
    if (rewound) {
      if (Status s = SetCursor(db, "photos_recheck", 1); !s.ok()) return s;
    }
    if (Status s = txn.Commit(); !s.ok()) return s;
    after = from;
    since = floor;
    current = fetch(from, floor);
    return Status();
  };
  const auto restart_from_zero = [&]() -> Status { return restart_from(0, false); };
  for (;;) {
    const std::string what = "the pull after " + std::to_string(after);
    if (!current.response.ok()) return stop(current.response.status());
    if (current.response->status == 409 && !restarted && after > 0) {
      const Status said = ServerError(*current.response);
      if (said.reason() == "pull_restart") {
        // Granted more districts: their rows come whole from the start. Or
        // the server was restored from a backup taken before it handed this
        // device its cursor: back to the last cursor it remembers handing
        // ("expected"), from which it misses nothing. Unsigned: a forged one
        // costs a pull of rows this device holds, once per sync.
        restarted = true;
        uint64_t back = 0;
        const bool rewound = ServerNumber(said, field::kExpected, &back) && back < after;
        if (rewound && summary != nullptr) summary->server_rewound = true;
        if (Status s = restart_from(rewound ? back : 0, rewound); !s.ok()) return stop(s);
        continue;
      }
    }
    if (current.response->status != 200) {
      return stop(Refusal(*current.response, what));
    }
    if (!current.status.ok()) return stop(current.status);
    const bool answers_since =
        current.response->Header(protocol::kPullSinceHeader) != nullptr;
    if (!answers_since && server_since) {
      return stop(Status::Unauthenticated(
          what + " from " + base_url_ + " does not say where the pull began (" +
          protocol::kPullSinceHeader +
          "), though this server did before: an old page replayed, or the "
          "server went back to an older kbo-server; nothing of it was applied"));
    }
    if (answers_since && !server_since) {
      // The first answer of a server that sends the cells from where the
      // pull began: what this device pulled before (from an older server,
      // or as an older kbo) may lack the early cells of rows edited later.
      // Every row whole, once.
      server_since = true;
      if (Status s = db.Exec("UPDATE sync_state SET server_since = 1 WHERE singleton = 1");
          !s.ok()) {
        return stop(s);
      }
      if (after > 0 || since > 0) {
        if (Status s = restart_from_zero(); !s.ok()) return stop(s);
        continue;
      }
    }
    if (Status s = NoteEncodings(*current.response); !s.ok()) return stop(s);
    const std::string* districts =
        current.response->Header(protocol::kDeviceDistrictsHeader);
    if (districts != nullptr && !DistrictScope::IsHeader(*districts)) {
      // Not what a server sends (it may be absent: an older server). Refused
      // before anything of the page is used.
      return stop(Status::Corruption(
          what + " from " + base_url_ + " names this device's districts as \"" +
          ShownHeader(*districts) + "\" (" +
          std::to_string(districts->size()) + " bytes of " +
          protocol::kDeviceDistrictsHeader +
          "), which is not 'all' or district codes (four digits), each once; nothing "
          "of that page was applied and this device's districts are "
          "unchanged"));
    }
    if (!current.more) {
      // The server's restores so far (protocol.h): absent is 0.
      uint64_t epoch = 0;
      const std::string* said = current.response->Header(protocol::kSeqEpochHeader);
      if (said == nullptr || ParseU64(*said, &epoch)) server_seq_epoch_ = epoch;
    }
    if (const std::string* seq = current.response->Header(protocol::kDeviceLastSeqHeader)) {
      uint64_t v = 0;
      if (ParseU64(*seq, &v)) server_device_seq_ = v;
    }
    if (const std::string* asked =
            current.response->Header(protocol::kOriginalsRequestedHeader)) {
      // The office asked for originals of this device's photos
      // (SendOriginals lists them). A hint: anything but a number is none.
      uint64_t n = 0;
      originals_requested_ = ParseU64(*asked, &n) && n > 0;
    }
    if (const std::string* held = current.response->Header(protocol::kLastUploadHeldHeader);
        held != nullptr && !current.more && !last_upload_.empty()) {
      last_upload_lost_ = *held == "0";
    }
    if (const std::string* ds = districts; ds != nullptr) {
      // Granted more districts (docs/protocol.md §6): record in them too.
      Statement st(db, "UPDATE device SET districts = ?1 WHERE singleton = 1 "
                       "AND districts IS NOT ?1");
      st.Bind(1, std::string_view(*ds));
      if (Status s = st.Run(); !s.ok()) return stop(s);
    }
    const uint64_t next = current.next;
    const bool more = current.more;
    ChangeSet& page = current.rows;
    if (more) {
      ahead = std::async(kOverlap, [&fetch, next, since,
                                    drop = std::move(spent)]() mutable {
        std::vector<RowChange>().swap(drop);
        return fetch(next, since);
      });
      spent.clear();  // moved from; empty again, to be sure
    }
    // Every hlc is checked before any is observed: a refused page moves
    // neither the data nor the clock.
    for (const RowChange& row : page.rows) {
      if (Status s = store_.clock().CheckSkew(row.hlc); !s.ok()) {
        return stop(Status::FailedPrecondition(
            "a change from " + base_url_ + " is dated " + row.hlc.ToString() +
            ", more than a day ahead of this device's clock. Set this device's "
            "date and time, then sync again (nothing of that page was "
            "applied)"));
      }
    }
    for (const RowChange& row : page.rows) {
      if (Status s = store_.clock().Observe(row.hlc); !s.ok()) return stop(s);
    }
    if (!group) {
      group.emplace(db);
      if (!group->status().ok()) {
        Status s = group->status();
        group.reset();
        return s;  // nothing of this pull is left uncommitted
      }
      group_rows = 0;
      group_start = std::chrono::steady_clock::now();
    }
    if (Status s = db.Exec("SAVEPOINT kbo_pull_page"); !s.ok()) return stop(s);
    // Undoes this page alone; the group's earlier pages are kept.
    const auto undo_page = [&db, &stop](Status s) -> Status {
      db.ResetCached();
      (void)db.Exec("ROLLBACK TO kbo_pull_page");
      (void)db.Exec("RELEASE kbo_pull_page");
      return stop(std::move(s));
    };
    ApplyOptions options;
    options.seq_from_base = true;
    // Most pulled rows are new here (a first pull, others' roll-calls): each
    // is inserted without a lookup first, and merged as usual if it exists.
    options.insert_first = true;
    // Decoded by DecodePullPage: its texts are valid UTF-8 already.
    options.texts_decoded = true;
    applied.clear();
    uint64_t left_here = 0;
    if (current.departures && districts != nullptr) {
      if (Status s = TakeDepartures(db, *districts, store_.device_id(), &page, &left_here);
          !s.ok()) {
        return undo_page(s);
      }
    }
    if (Status s = ApplyChangeSet(db, page, options, &applied); !s.ok()) {
      if (s.code() == Code::kIOError) return undo_page(s);  // our disk, not their page
      return undo_page(Status::Corruption(what + " from " + base_url_ +
                                          " does not apply (" + s.message() +
                                          "); nothing of it was applied"));
    }
    if (Status s = SettleRefusedCells(db, page); !s.ok()) return undo_page(s);
    if (Status s = SetCursor(db, "pull_cursor", next); !s.ok()) return undo_page(s);
    if (!more) {
      // The pull is complete: everything up to its end is held, and the
      // next pull begins there.
      if (Status s = SetCursor(db, "pull_since", next); !s.ok()) return undo_page(s);
    }
    if (Status s = store_.SaveClock(); !s.ok()) return undo_page(s);
    if (Status s = db.Exec("RELEASE kbo_pull_page"); !s.ok()) return undo_page(s);
    if (summary != nullptr) summary->rows_left_districts += left_here;
    group_rows += page.rows.size();
    group_news += NewsIn(page, applied, store_.device_id(), sent_back);
    const bool next_waiting =
        more && (options_.pull_group_always ||
                 ahead.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    if (!next_waiting || group_rows >= kPullGroupRows ||
        std::chrono::steady_clock::now() - group_start >= kPullGroupTime) {
      if (Status s = commit_group(); !s.ok()) return s;
    }
    pulled += page.rows.size();
    if (summary != nullptr) ++summary->pull_pages;
    Progress(SyncPhase::kPull, pulled, 0, pulled, 0);
    after = next;
    if (!more) break;
    spent = std::move(page.rows);
    current = ahead.get();
  }
  return PullConflicts(*e, summary);
}

Status SyncClient::PullConflicts(const Enrolment& e, SyncSummary* summary) {
  Db& db = store_.db();
  Result<uint64_t> cursor = ReadCursor(db, "conflict_cursor");
  if (!cursor.ok()) return cursor.status();
  uint64_t after = *cursor;
  uint64_t received = 0;
  bool restarted = false;
  for (int page = 0; page < kMaxConflictPages; ++page) {
    const std::string what = "the conflict list after " + std::to_string(after);
    // restart=1: this client goes back when the server says its cursor is
    // past what it holds (a restore), as on a pull.
    Result<HttpResponse> r = Call("GET",
                                  std::string(protocol::kConflictsPath) +
                                      "?after=" + std::to_string(after) + "&restart=1",
                                  "", "", kMaxConflictsBytes);
    if (!r.ok()) return r.status();
    if (r->status == 409 && !restarted) {
      const Status said = ServerError(*r);
      uint64_t back = 0;
      if (said.reason() == "pull_restart" && ServerNumber(said, field::kExpected, &back) &&
          back < after) {
        // Unsigned, like a pull's: a forged one costs records this device
        // holds, once per sync.
        restarted = true;
        Transaction txn(db);
        if (!txn.status().ok()) return txn.status();
        if (Status s = SetCursor(db, "conflict_cursor", back); !s.ok()) return s;
        if (Status s = SetCursor(db, "photos_recheck", 1); !s.ok()) return s;
        if (Status s = txn.Commit(); !s.ok()) return s;
        if (summary != nullptr) summary->server_rewound = true;
        after = back;
        continue;
      }
    }
    if (r->status != 200) return Refusal(*r, what);
    if (Status s = VerifyConflicts(e.server_key, store_.device_id(), after, *r);
        !s.ok()) {
      return s;
    }
    Result<wire::ConflictsPage> parsed = wire::ParseConflictsPage(r->body);
    if (!parsed.ok()) {
      return Status::Corruption(what + " from " + base_url_ + ": " +
                                parsed.status().message() +
                                "; nothing of it was kept");
    }
    const bool more = parsed->more;
    uint64_t next = std::max(after, parsed->next);
    Transaction txn(db);
    if (!txn.status().ok()) return txn.status();
    uint64_t fresh = 0;
    for (const wire::ConflictRecord& c : parsed->conflicts) {
      bool is_new = false;
      if (Status s = UpsertConflict(db, c, &is_new); !s.ok()) return s;
      next = std::max(next, c.feed_seq);
      if (is_new) ++fresh;
    }
    if (Status s = SetCursor(db, "conflict_cursor", next); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
    received += parsed->conflicts.size();
    if (summary != nullptr) {
      summary->conflicts += parsed->conflicts.size();
      summary->new_conflicts += fresh;
    }
    Progress(SyncPhase::kConflicts, received, 0);
    if (!more || next == after) break;
    after = next;
  }
  return Status();
}


}  // namespace kbo::client
