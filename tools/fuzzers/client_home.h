#ifndef KBO_TOOLS_FUZZERS_CLIENT_HOME_H_
#define KBO_TOOLS_FUZZERS_CLIENT_HOME_H_

// A device home for the client fuzz targets: a ClientStore on tmpfs with a
// fixed clock, enrolled (as central office, all districts) with an
// in-process fake server whose key the fake transport signs with, and a few
// rows with fixed ids that seed inputs can reference.

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "client/store.h"
#include "client/sync_client.h"
#include "shared/change_set.h"
#include "shared/replica/apply.h"
#include "shared/signing.h"
#include "shared/sqlite/db.h"
#include "shared/wall_clock.h"
#include "shared/wire.h"
#include "tools/fuzzers/fuzz_support.h"

namespace kbo::fuzz {

inline constexpr int64_t kNowMs = 1710000000000;  // 2024-03-09T16:00:00Z
inline constexpr const char* kServerUrl = "http://fuzz.kbo.test:8787";

// Fixed ids of the rows every home holds (the seeds name them).
inline constexpr const char* kWorkshopId = "11111111-1111-4111-8111-111111111111";
inline constexpr const char* kProducerId = "22222222-2222-4222-8222-222222222222";
inline constexpr const char* kEnrolmentId = "33333333-3333-4333-8333-333333333333";
inline constexpr const char* kProductId = "44444444-4444-4444-8444-444444444444";
inline constexpr const char* kOtherDevice = "55555555-5555-4555-8555-555555555555";

// Answers each request with `handler`; nothing is checked.
class FakeTransport : public client::HttpTransport {
 public:
  std::function<client::HttpResponse(const client::HttpRequest&)> handler;
  Result<client::HttpResponse> Send(const std::string&,
                                    const client::HttpRequest& request) override {
    if (!handler) return Status::Unavailable("no handler");
    return handler(request);
  }
};

inline client::HttpResponse JsonAnswer(int status, std::string body) {
  client::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers["content-type"] = "application/json";
  return r;
}

class ClientHome {
 public:
  ClientHome() : wall_(kNowMs), server_(KeyPair::Generate()) {
    Result<std::unique_ptr<client::ClientStore>> opened =
        client::ClientStore::Open(dir_.File("home"), &wall_);
    FUZZ_CHECK(opened.ok());
    store_ = std::move(opened).value();
    transport_.handler = [this](const client::HttpRequest&) {
      wire::EnrollReply reply;
      reply.device_id = store_->device_id();
      reply.role = "central_office";
      reply.districts = {"all"};
      reply.server_id = Uuid::Random();
      reply.server_public_key = server_.public_key();
      return JsonAnswer(200, wire::EncodeEnrollReply(reply));
    };
    {
      client::SyncClient c(*store_, Options());
      FUZZ_CHECK(c.Enroll(kServerUrl, "fuzz-token").ok());
    }
    transport_.handler = nullptr;
    SeedRows();
  }

  client::ClientStore& store() { return *store_; }
  const KeyPair& server_key() const { return server_; }
  FakeTransport& transport() { return transport_; }
  client::SyncOptions Options() {
    client::SyncOptions o;
    o.transport = &transport_;
    o.retry_backoff_ms = {};
    o.sleep_ms = [](int64_t) {};
    return o;
  }

 private:
  // A workshop, a producer, an enrolment and a product, as if pulled.
  void SeedRows() {
    const Uuid other = *Uuid::Parse(kOtherDevice);
    auto row = [&](const char* entity, const char* id,
                   std::vector<CellWrite> cells) {
      RowChange r;
      r.entity = entity;
      r.row_id = *Uuid::Parse(id);
      r.hlc = Hlc{kNowMs - 86400000, 0, other};
      r.cells = std::move(cells);
      return r;
    };
    ChangeSet page;
    page.rows = {
        row("workshop", kWorkshopId,
            {{"title", Value::Text("KBO Phrao 2567"), 1},
             {"fiscal_year", Value::Integer(2567), 1},
             {"district_code", Value::Text("5011"), 1},
             {"start_date", Value::Text("2024-03-04"), 1},
             {"days", Value::Integer(5), 1}}),
        row("producer", kProducerId,
            {{"kind", Value::Text("group"), 2},
             {"name", Value::Text("Ban Pa Tueng weavers"), 2},
             {"district_code", Value::Text("5011"), 2}}),
        row("enrolment", kEnrolmentId,
            {{"workshop_id", Value::Text(kWorkshopId), 3},
             {"producer_id", Value::Text(kProducerId), 3},
             {"participant_name", Value::Text("Somchai"), 3},
             {"district_code", Value::Text("5011"), 3}}),
        row("product", kProductId,
            {{"producer_id", Value::Text(kProducerId), 4},
             {"name", Value::Text("Indigo scarf"), 4},
             {"category", Value::Text("textile"), 4},
             {"district_code", Value::Text("5011"), 4}}),
    };
    Db& db = store_->db();
    Transaction txn(db);
    FUZZ_CHECK(txn.status().ok());
    ApplyOptions options;
    options.seq_from_base = true;
    Status s = ApplyChangeSet(db, page, options);
    if (!s.ok()) {
      std::fprintf(stderr, "seed rows: %s\n", s.ToString().c_str());
      std::abort();
    }
    FUZZ_CHECK(txn.Commit().ok());
  }

  ScratchDir dir_;
  ManualWallClock wall_;
  KeyPair server_;
  std::unique_ptr<client::ClientStore> store_;
  FakeTransport transport_;
};

}  // namespace kbo::fuzz

#endif  // KBO_TOOLS_FUZZERS_CLIENT_HOME_H_
