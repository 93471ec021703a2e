// Many-devices load generator (issue #4 §14): a bounded number of simulated
// devices push to the real kbo-server over loopback at the same moment.
//
// Every device is real: its own ClientStore in a temp home (its own Ed25519
// key), enrolled with its own one-time trainer token for district 5011, its
// records taken from the attendance workload of ../shared/bench-workload.md
// (device d gets records [d*R, (d+1)*R): 200 x 500 is exactly the 100,000
// of bench_sync), recorded through ClientStore like bench_client_write.
//
// Not timed (prepare and warm-up): tokens, enrolment, each device's parent
// rows (producer, the workshops it uses, one enrolment per participant)
// pushed, its R marks recorded and sealed into one signed change set. The
// seal is device-local work that 200 real tablets do on their own CPUs, so
// it is kept out of the server's load here (bench_sync times it).
//
// Single-device rate, same run, same server: one more device pushes S
// records (default 10 x R) alone, sealed in sets of R rows like the others,
// i.e. the rate one device reaches when nothing else is pushing.
//
// Timed: all D devices' SyncClient::Push at once, one thread and one push
// (one change set of R rows, one HTTP connection) per device: bounded. Each
// latency runs from the common start to that device's verified receipt.
// Errors: a push that fails, or whose receipt does not count R rows (the
// client's own retries on network errors, and its waits when a busy server
// answers 503 with Retry-After, are counted apart, as retries). Each device
// is a real SyncClient with its defaults: 30 s read timeout, 10 minutes of
// patience for a busy server.
// Server memory: VmHWM (peak resident set) of the kbo-server process.
//
// Several servers (--servers N, issue 11): N kbo-server processes on one
// database and one shared data folder (as tests/integration/scale_out_test),
// device d syncing with server d mod N, the solo device with the first.
// The figures are the aggregate over all of them; memory is each server's
// VmHWM (server_peak_mib: the largest).
// On PostgreSQL (--db URL): the servers run with `--db`, their tables in a
// schema of this run (dropped at the end, tools/bench/pg_support.h).
//
// Many devices, one address: every simulated device connects from
// 127.0.0.1, where real ones come from addresses of their own. So the
// servers run with `--connections-per-address 4096` (the setting for a
// reverse proxy in front, docs/decisions.md), and devices enrol through
// short-lived extra servers on the same database, 50 devices each, because
// enrolment attempts are limited per address and per process (60 at once,
// then one a second): the servers measured never see an enrolment.
//
// Prints one JSON line.
// Usage: loadgen [--devices D=200] [--records R=500] [--solo-records S=10R]
//                [--setup-threads T=2] [--servers N=1]
//                [--db postgresql://...]
// The server binary: $KBO_SERVER_BIN, else <build>/server/kbo-server.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/pg_support.h"
#include "tools/bench/sync_support.h"

namespace {

constexpr const char* kTool = "loadgen";

using kbo::bench::Check;
using kbo::bench::Clock;
using kbo::bench::Die;
using kbo::bench::Seconds;
using kbo::client::SyncClient;
using kbo::client::SyncSummary;

struct Options {
  size_t devices = 200;
  size_t records = 500;
  size_t solo_records = 0;  // 0: 10 x records
  size_t setup_threads = 2;
  size_t servers = 1;
  std::string db;  // a PostgreSQL URL, or empty for SQLite
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> size_t {
      if (i + 1 >= argc) Die(kTool, arg + " needs a number");
      return std::strtoul(argv[++i], nullptr, 10);
    };
    if (arg == "--devices") {
      o.devices = value();
    } else if (arg == "--records") {
      o.records = value();
    } else if (arg == "--solo-records") {
      o.solo_records = value();
    } else if (arg == "--setup-threads") {
      o.setup_threads = value();
    } else if (arg == "--servers") {
      o.servers = value();
    } else if (arg == "--db" && i + 1 < argc) {
      o.db = argv[++i];
    } else {
      Die(kTool,
          "usage: loadgen [--devices 200] [--records 500] "
          "[--solo-records 5000] [--setup-threads 2] [--servers 1] "
          "[--db postgresql://...]");
    }
  }
  if (o.solo_records == 0) o.solo_records = 10 * o.records;
  if (o.devices == 0 || o.records == 0 || o.setup_threads == 0 || o.servers == 0) {
    Die(kTool, "--devices, --records, --setup-threads and --servers must be > 0");
  }
  return o;
}

// TcpExt ListenOverflows (system-wide): connections the kernel dropped
// because a listen queue was full. A diagnostic for the accept backlog.
long ListenOverflows() {
  std::ifstream in("/proc/net/netstat");
  std::string names, values;
  while (std::getline(in, names) && std::getline(in, values)) {
    if (names.rfind("TcpExt:", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string name, val;
    while (n >> name && v >> val) {
      if (name == "ListenOverflows") return std::strtol(val.c_str(), nullptr, 10);
    }
  }
  return -1;
}

// The attendance rows the servers hold: on PostgreSQL in the run's schema,
// else in the shared server.db (readable beside a running server: WAL).
int64_t CountAttendance(const kbo::bench::PgRunSchema* schema, const std::string& data) {
  if (schema != nullptr) return kbo::bench::PgCount(kTool, schema->url(), "attendance");
  auto db = kbo::Db::Open(data + "/server.db");
  if (!db.ok()) Check(kTool, db.status(), "open server.db");
  kbo::Statement st(**db, "SELECT count(*) FROM attendance");
  return st.Step() ? st.ColumnInt(0) : -1;
}

// Devices enrolled through one enrolment server (the header comment).
constexpr size_t kDevicesPerEnrolServer = 50;
// What a server measured here is started with.
const std::vector<std::string> kServeArgs = {"--connections-per-address", "4096"};

// Opens, enrols (through `enrol_url`) and prepares one device with records
// [begin, end) for the server at `url`: parent rows pushed there, marks
// recorded and sealed in sets of `set_rows`.
void PrepareDevice(kbo::bench::Device& d, const std::string& home,
                   const std::string& enrol_url, const std::string& url,
                   const std::string& token,
                   const std::vector<kbo::bench::AttendanceRecord>& records,
                   size_t begin, size_t end, size_t set_rows) {
  auto opened = kbo::client::ClientStore::Open(home);
  if (!opened.ok()) Check(kTool, opened.status(), "open " + home);
  d.store = std::move(opened).value();
  {
    SyncClient enrol(*d.store);
    auto e = enrol.Enroll(enrol_url, token);
    if (!e.ok()) Check(kTool, e.status(), "enrol " + home);
  }
  kbo::client::SyncOptions so;
  so.server_url = url;
  SyncClient c(*d.store, so);
  kbo::bench::RecordParents(kTool, d, records, begin, end);
  Check(kTool, c.Push(nullptr), "warm-up push of " + home);
  kbo::bench::RecordAttendance(kTool, d, records, begin, end);
  kbo::client::Outbox outbox(*d.store);
  auto sealed = outbox.SealAll(set_rows);
  if (!sealed.ok()) Check(kTool, sealed.status(), "seal " + home);
}

// The real transport, noting why an exchange failed or was answered "come
// back later" (each is retried by SyncClient after a wait, counted as a
// retry).
class NotingTransport : public kbo::client::HttpTransport {
 public:
  NotingTransport(std::mutex* mu, std::map<std::string, size_t>* causes)
      : inner_(kbo::client::NewHttpTransport(kbo::client::HttpTimeouts{})),
        mu_(mu),
        causes_(causes) {}
  kbo::Result<kbo::client::HttpResponse> Send(
      const std::string& base_url,
      const kbo::client::HttpRequest& request) override {
    auto r = inner_->Send(base_url, request);
    if (!r.ok()) {
      std::lock_guard<std::mutex> lock(*mu_);
      ++(*causes_)[r.status().message()];
    } else if (kbo::client::RetryAfterMs(*r)) {
      // Back-pressure: the server said when to come back (SyncClient does).
      std::lock_guard<std::mutex> lock(*mu_);
      ++(*causes_)["HTTP " + std::to_string(r->status) + " with Retry-After"];
    }
    return r;
  }

 private:
  std::unique_ptr<kbo::client::HttpTransport> inner_;
  std::mutex* mu_;
  std::map<std::string, size_t>* causes_;
};

struct DeviceRun {
  double latency_ms = 0;
  bool ok = false;
  std::string error;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank.
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  rank = std::min(std::max<size_t>(rank, 1), v.size());
  return v[rank - 1];
}

}  // namespace

int main(int argc, char** argv) {
  // A server that closes a connection while a request is being written
  // (its connection caps) must fail that exchange, not end this process
  // without a word (the client library does not ignore SIGPIPE).
  std::signal(SIGPIPE, SIG_IGN);
  const Options opt = ParseArgs(argc, argv);
  const size_t total = opt.devices * opt.records;
  const auto w =
      kbo::bench::GenerateWorkload(std::max(total, opt.solo_records), 42);
  const std::string root = kbo::bench::MakeRoot("kbo-loadgen");
  const std::string data = root + "/server";
  const auto setup_start = Clock::now();
  // On PostgreSQL: every server's tables in one schema of this run.
  std::unique_ptr<kbo::bench::PgRunSchema> schema;
  std::vector<std::string> db_args;
  if (!opt.db.empty()) {
    schema = std::make_unique<kbo::bench::PgRunSchema>(kTool, opt.db, "kbo_loadgen");
    db_args = {"--db", schema->url()};
  }

  // ---- Prepare (not timed).
  // The first token makes the data folder and the server key; the rest
  // are made by the setup threads, each for its device.
  std::vector<std::string> tokens(opt.devices + 1);
  tokens[opt.devices] = kbo::bench::CreateToken(kTool, data, db_args);
  // N servers on one database and one data folder (they share its log).
  std::vector<std::unique_ptr<kbo::testing::ServerProcess>> servers;
  std::vector<std::string> urls;
  for (size_t i = 0; i < opt.servers; ++i) {
    servers.push_back(std::make_unique<kbo::testing::ServerProcess>(
        kbo::bench::ServerBinary(), data, kServeArgs, db_args));
    if (!servers.back()->running()) {
      Die(kTool, "kbo-server " + std::to_string(i + 1) +
                     " did not start: " + servers.back()->log());
    }
    urls.push_back(servers.back()->url());
  }
  kbo::testing::ServerProcess& server = *servers.front();
  // The enrolment servers (stopped once every device is enrolled).
  std::vector<std::unique_ptr<kbo::testing::ServerProcess>> enrollers;
  for (size_t i = 0; i * kDevicesPerEnrolServer < opt.devices + 1; ++i) {
    enrollers.push_back(std::make_unique<kbo::testing::ServerProcess>(
        kbo::bench::ServerBinary(), data, kServeArgs, db_args));
    if (!enrollers.back()->running()) {
      Die(kTool, "an enrolment server did not start: " + enrollers.back()->log());
    }
  }
  auto enrol_url = [&](size_t device) {
    return enrollers[device / kDevicesPerEnrolServer]->url();
  };

  std::vector<kbo::bench::Device> devices(opt.devices);
  {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (size_t t = 0; t < std::min(opt.setup_threads, opt.devices); ++t) {
      workers.emplace_back([&] {
        for (size_t d = next++; d < opt.devices; d = next++) {
          tokens[d] = kbo::bench::CreateToken(kTool, data, db_args);
          PrepareDevice(devices[d], root + "/dev-" + std::to_string(d),
                        enrol_url(d), urls[d % urls.size()],
                        tokens[d], w.records, d * opt.records,
                        (d + 1) * opt.records, opt.records);
        }
      });
    }
    for (std::thread& t : workers) t.join();
  }
  kbo::bench::Device solo;
  PrepareDevice(solo, root + "/solo", enrol_url(opt.devices), urls.front(),
                tokens[opt.devices], w.records, 0,
                opt.solo_records, opt.records);
  enrollers.clear();  // stopped: only the measured servers run from here
  const double setup_s = Seconds(setup_start);

  // ---- One device alone (timed): the single-device rate of this run.
  double solo_s = 0;
  SyncSummary solo_summary;
  {
    kbo::client::SyncOptions so;
    so.server_url = urls.front();
    SyncClient c(*solo.store, so);
    const auto t = Clock::now();
    Check(kTool, c.Push(&solo_summary), "solo push");
    solo_s = Seconds(t);
  }
  if (solo_summary.pushed_rows != opt.solo_records) {
    Die(kTool, "the solo push was acknowledged for " +
                   std::to_string(solo_summary.pushed_rows) + " rows");
  }
  const double solo_rate = static_cast<double>(opt.solo_records) / solo_s;

  // ---- All devices at once (timed).
  const size_t log_from = server.log().size();
  const long overflows_before = ListenOverflows();
  std::vector<DeviceRun> runs(opt.devices);
  std::atomic<uint64_t> retries{0};
  std::mutex causes_mu;
  std::map<std::string, size_t> causes;  // failed exchanges by reason
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  Clock::time_point start;
  std::vector<Clock::time_point> ends(opt.devices);
  std::vector<std::thread> threads;
  threads.reserve(opt.devices);
  for (size_t d = 0; d < opt.devices; ++d) {
    threads.emplace_back([&, d] {
      NotingTransport transport(&causes_mu, &causes);
      kbo::client::SyncOptions so;
      so.transport = &transport;
      so.server_url = urls[d % urls.size()];
      so.sleep_ms = [&retries](int64_t ms) {
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      };
      SyncSummary summary;
      kbo::Status s;
      {
        // One client, one connection, one push; closed when it returns.
        SyncClient c(*devices[d].store, so);
        {
          std::unique_lock<std::mutex> lock(mu);
          cv.wait(lock, [&] { return go; });
        }
        s = c.Push(&summary);
      }
      ends[d] = Clock::now();
      DeviceRun& r = runs[d];
      r.ok = s.ok() && summary.pushed_rows == opt.records;
      if (!s.ok()) {
        r.error = s.ToString();
      } else if (!r.ok) {
        r.error = "receipt for " + std::to_string(summary.pushed_rows) +
                  " rows, not " + std::to_string(opt.records);
      }
    });
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    start = Clock::now();
    go = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) t.join();
  // What the servers had committed when the last device was done (or gave
  // up): with errors, the records the devices offered are not what was
  // merged in the window, so the merged rate is counted apart.
  const int64_t stored_at_end = CountAttendance(schema.get(), data);
  Clock::time_point last = start;
  std::vector<double> latencies;
  size_t errors = 0;
  std::string first_error;
  for (size_t d = 0; d < opt.devices; ++d) {
    last = std::max(last, ends[d]);
    runs[d].latency_ms =
        std::chrono::duration<double, std::milli>(ends[d] - start).count();
    latencies.push_back(runs[d].latency_ms);
    if (!runs[d].ok) {
      ++errors;
      if (first_error.empty()) first_error = runs[d].error;
    }
  }
  const double wall_s = std::chrono::duration<double>(last - start).count();
  const long overflows = ListenOverflows() - overflows_before;
  const std::string log = server.log();
  size_t logged_ok = 0;
  for (size_t at = log.find(" POST /v1/push 200 ", log_from);
       at != std::string::npos; at = log.find(" POST /v1/push 200 ", at + 1)) {
    ++logged_ok;
  }
  // Each server's peak and current resident set; the largest is reported
  // as the server's.
  long hwm_kib = 0, rss_kib = 0;
  std::string each_hwm;
  for (const auto& sp : servers) {
    const long hwm = kbo::bench::ProcStatusKib(sp->pid(), "VmHWM");
    hwm_kib = std::max(hwm_kib, hwm);
    rss_kib = std::max(rss_kib, kbo::bench::ProcStatusKib(sp->pid(), "VmRSS"));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.1f", each_hwm.empty() ? "" : ",",
                  static_cast<double>(hwm) / 1024.0);
    each_hwm += buf;
  }
  for (const auto& [why, count] : causes) {
    std::fprintf(stderr, "loadgen: %zu exchange(s) failed and were retried: %s\n",
                 count, why.c_str());
  }
  if (!first_error.empty()) {
    std::fprintf(stderr, "loadgen: %zu push(es) failed; first: %s\n", errors,
                 first_error.c_str());
  }

  for (const auto& sp : servers) sp->Stop();
  // Every acknowledged mark must be on the server: count them in its
  // database.
  const size_t expected = total + opt.solo_records;
  int64_t stored = -1;
  if (schema) {
    stored = kbo::bench::PgCount(kTool, schema->url(), "attendance");
  } else {
    auto db = kbo::Db::Open(data + "/server.db");
    if (!db.ok()) Check(kTool, db.status(), "open server.db");
    kbo::Statement st(**db, "SELECT count(*) FROM attendance");
    if (st.Step()) stored = st.ColumnInt(0);
  }
  if (stored != static_cast<int64_t>(expected)) {
    std::fprintf(stderr, "loadgen: the server holds %lld attendance rows, not %zu\n",
                 static_cast<long long>(stored), expected);
    ++errors;
  }
  devices.clear();
  solo.store.reset();
  std::error_code ec;
  std::filesystem::remove_all(root, ec);

  const double rate = static_cast<double>(total) / wall_s;
  // Merged in the timed window: rows held then, less the solo device's.
  const int64_t merged = stored_at_end - static_cast<int64_t>(opt.solo_records);
  const double merged_rate = static_cast<double>(merged) / wall_s;
  const double hwm_mib = static_cast<double>(hwm_kib) / 1024.0;
  std::printf(
      "{\"bench\":\"loadgen\",\"db\":\"%s\",\"servers\":%zu,"
      "\"devices\":%zu,\"records_per_device\":%zu,"
      "\"records\":%zu,\"s\":%.3f,\"per_s\":%.0f,"
      "\"merged_in_window\":%lld,\"merged_per_s\":%.0f,"
      "\"latency_ms\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
      "\"errors\":%zu,\"retries\":%llu,\"server_pushes_ok\":%zu,"
      "\"server_rows\":%lld,"
      "\"listen_overflows\":%ld,"
      "\"solo\":{\"records\":%zu,\"sets\":%llu,\"per_s\":%.0f},"
      "\"ratio_vs_solo\":%.3f,\"server_peak_mib\":%.1f,\"server_rss_mib\":%.1f,"
      "\"servers_peak_mib\":[%s],"
      "\"setup_s\":%.1f,"
      "\"targets\":{\"errors\":0,\"ratio_vs_solo\":0.5,\"server_peak_mib\":256}}\n",
      schema ? "postgresql" : "sqlite", opt.servers, opt.devices, opt.records, total,
      wall_s, rate, static_cast<long long>(merged), merged_rate,
      Percentile(latencies, 50), Percentile(latencies, 99),
      Percentile(latencies, 100), errors,
      static_cast<unsigned long long>(retries.load()), logged_ok,
      static_cast<long long>(stored),
      overflows, opt.solo_records,
      static_cast<unsigned long long>(solo_summary.pushed_sets),
      solo_rate, rate / solo_rate, hwm_mib,
      static_cast<double>(rss_kib) / 1024.0, each_hwm.c_str(), setup_s);
  return errors == 0 ? 0 : 1;
}
