#include "server/server_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "schema/schema.h"
#include "server/log.h"
#include "shared/encoding.h"
#include "shared/fs.h"
#include "server/storage/devices.h"
#include "server/storage/pg_db.h"
#include "server/storage/server_state.h"
#include "shared/labels.h"
#include "shared/protocol.h"
#include "shared/uuid.h"
#include "shared/sqlite/migrate.h"

namespace kbo::server {

namespace {
// A one-line file's text without the spaces and line break around it.
std::string Trimmed(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return std::string(text);
}
}  // namespace

ServerPaths PathsFor(const std::string& dir) {
  ServerPaths p;
  p.dir = dir;
  while (p.dir.size() > 1 && p.dir.back() == '/') p.dir.pop_back();
  p.db = p.dir + "/server.db";
  p.key = p.dir + "/server.key";
  p.blobs = p.dir + "/blobs";
  p.partial = p.dir + "/blobs/partial";
  p.high_water = p.dir + "/sequence-high-water";
  p.revocations = p.dir + "/revoked-devices";
  p.used_tokens = p.dir + "/used-tokens";
  p.identity = p.dir + "/server-id";
  p.moved = p.dir + "/moved-to-postgres";
  p.serving = p.dir + "/serving";
  return p;
}

std::optional<std::string> SqliteUrlPath(std::string_view db_url) {
  if (db_url.rfind("sqlite:", 0) != 0) return std::nullopt;
  std::string_view path = db_url.substr(7);
  if (path.rfind("//", 0) == 0) path.remove_prefix(2);  // sqlite:///abs, sqlite://rel
  if (path.empty() || path.find('\0') != std::string_view::npos) return std::nullopt;
  // A file, never what SQLite reads as other than a file name: ":memory:"
  // (or any name beginning ':'), a "file:" URI (?mode=memory served and
  // signed receipts, then lost everything; ?nolock=1 dropped the locking
  // between processes).
  if (path[0] == ':' || path.rfind("file:", 0) == 0) return std::nullopt;
  return std::string(path);
}

std::string FormatIsoUtc(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  if (unix_ms < 0 && unix_ms % 1000 != 0) --secs;  // floor, not truncation
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm_utc{};
  gmtime_r(&t, &tm_utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
  return buf;
}

namespace {

constexpr std::string_view kHighWaterPrefix = "next_seq ";

// The next_seq `text` names ("next_seq N\n"); nullopt if it names none.
std::optional<uint64_t> ParseHighWater(std::string_view text) {
  if (text.compare(0, kHighWaterPrefix.size(), kHighWaterPrefix) != 0) return std::nullopt;
  const size_t newline = text.find('\n', kHighWaterPrefix.size());
  if (newline == std::string_view::npos) return std::nullopt;
  return ParseUint64(text.substr(kHighWaterPrefix.size(), newline - kHighWaterPrefix.size()));
}

// The file's next_seq, read under a shared lock (NoteHighWater writes it
// under an exclusive one: several servers share a folder, and a read of a
// half-written number could jump the sequences); nullopt if it is absent
// or unreadable.
std::optional<uint64_t> ReadHighWater(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[256];
  ssize_t n = -1;
  if (::flock(fd, LOCK_SH) == 0) n = ::pread(fd, buf, sizeof buf, 0);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  return ParseHighWater(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace

ServerStore::~ServerStore() = default;

Result<std::unique_ptr<ServerStore>> ServerStore::Open(const std::string& dir,
                                                       WallClock* wall,
                                                       const std::string& db_url) {
  std::unique_ptr<ServerStore> store(new ServerStore());
  store->paths_ = PathsFor(dir);
  const std::optional<std::string> sqlite_file = SqliteUrlPath(db_url);
  if (sqlite_file) store->paths_.db = *sqlite_file;
  store->wall_ = wall;
  const ServerPaths& p = store->paths_;
  for (const std::string* d : {&p.dir, &p.blobs, &p.partial}) {
    if (Status s = EnsureDir(*d); !s.ok()) return s;
  }

  if (!db_url.empty() && !sqlite_file) {
    Result<std::unique_ptr<Db>> db = OpenPostgres(db_url);
    if (!db.ok()) return db.status();
    store->db_ = std::move(db).value();
    store->db_where_ = store->db_->path();
    if (Status s = Migrate(*store->db_, schema::kServerPgMigrations,
                           schema::kServerPgMigrations_count);
        !s.ok()) {
      return s;
    }
  } else {
    store->db_where_ = p.db;
    // Moved to PostgreSQL: server.db is what was copied, not the province
    // any more. A command without --db used it, and its guards moved the
    // sequences (both databases then leapt over each other), a token made
    // there was unknown to the servers, a revocation never reached them.
    if (FileExists(p.moved)) {
      Result<std::string> said = ReadFileBounded(p.moved, 4096);
      return Status::FailedPrecondition(
                 "this province moved to PostgreSQL (" +
                 (said.ok() ? Trimmed(*said) : std::string("copy-to-postgres")) +
                 "): give --db with its URL; " + p.db +
                 " is kept as the copy's source and not used (delete " + p.moved +
                 " only to go back to it)")
          .WithReason("moved_to_postgres");
    }
    // Names and phone numbers live here: only the owner may read the file
    // (SQLite gives its -wal and -shm files the same mode).
    if (Status s = CreateFileIfMissing(p.db, 0600); !s.ok()) return s;
    Result<std::unique_ptr<Db>> db = Db::Open(p.db);
    if (!db.ok()) return db.status();
    store->db_ = std::move(db).value();
    Db& d = *store->db_;
    if (Status s = storage::TuneSqliteServerDb(d); !s.ok()) return s;
    if (Status s = Migrate(d, schema::kServerMigrations,
                           schema::kServerMigrations_count);
        !s.ok()) {
      return s;
    }
    static const RequiredColumn kLayout[] = {
        {"attendance", "cell_versions"},
        {"row_seq", "max_seq", /*primary_key=*/true},
    };
    if (Status s = CheckLayout(d, kLayout, std::size(kLayout), p.db); !s.ok()) {
      return s;
    }
  }
  Db& d = *store->db_;
  storage::ServerState state(d);
  std::string server_id;
  {
    Result<std::optional<std::string>> stored = state.ServerId();
    if (!stored.ok()) {
      // ServerId's kCorruption is the missing row: name the database.
      if (stored.status().code() == Code::kCorruption) {
        return Status::Corruption("server_state is missing from " + store->db_where_);
      }
      return stored.status();
    }
    if (stored->has_value()) server_id = **stored;
  }
  // The folder and the database are one server's, checked before anything
  // is written to either (the guards below move sequences and write the
  // revocation list).
  std::string folder_id;
  if (FileExists(p.identity)) {
    Result<std::string> text = ReadFileBounded(p.identity, 256);
    if (!text.ok()) return text.status();
    folder_id = Trimmed(*text);
  }
  if (!folder_id.empty() && folder_id != server_id) {
    if (server_id.empty()) {
      return Status::FailedPrecondition(
                 store->db_where_ + " holds no server, but " + p.dir +
                 " is server " + folder_id +
                 "'s (its key, its photos): is --db the right database? A new "
                 "province is set up with a new --data folder")
          .WithReason("wrong_database");
    }
    return Status::FailedPrecondition(
               p.dir + " is server " + folder_id + "'s (its key, its photos), but " +
               store->db_where_ + " is server " + server_id +
               "'s: --data and --db name two provinces; give the folder and the "
               "database of one")
        .WithReason("wrong_database");
  }
  if (!server_id.empty() && !FileExists(p.key)) {
    return Status::FailedPrecondition(
        p.key +
        " is missing but this server already has an identity; "
        "restore server.key from your backup (a new key would make every "
        "enrolled device refuse this server)");
  }
  if (Status s = store->GuardSequences(); !s.ok()) return s;
  if (Status s = store->GuardRevocations(); !s.ok()) return s;

  // The key before the id: a crash between the two must never leave an id
  // without its key (Open would then refuse the data directory for good).
  Result<KeyPair> key = KeyPair::LoadFromFile(p.key);
  if (!key.ok() && key.status().code() == Code::kNotFound) {
    if (!server_id.empty()) {
      return Status::FailedPrecondition(
          p.key +
          " is missing but this server already has an identity; "
          "restore server.key from your backup (a new key would make every "
          "enrolled device refuse this server)");
    }
    KeyPair made = KeyPair::Generate();
    if (Status s = made.SaveToFile(p.key); !s.ok()) return s;
    key = std::move(made);
  }
  if (!key.ok()) return key.status();
  store->key_ = std::make_unique<KeyPair>(std::move(key).value());

  if (server_id.empty()) {
    Transaction txn(d);
    if (!txn.status().ok()) return txn.status();
    const Uuid id = Uuid::Random();
    Hlc zero;
    zero.device = id;
    if (Status s = state.SetServerIdIfUnset(id, zero); !s.ok()) return s;
    if (Status s = txn.Commit(); !s.ok()) return s;
    Result<std::optional<std::string>> again = state.ServerId();
    if (!again.ok() || !again->has_value()) {
      return Status::Corruption("server_state has no server id");
    }
    server_id = **again;
  }
  Result<Uuid> id = Uuid::Parse(server_id);
  if (!id.ok())
    return Status::Corruption("server id in " + store->db_where_ + " is damaged");
  store->server_id_ = *id;
  // The folder remembers whose it is (a folder from before this file: the
  // database it is opened with now).
  if (folder_id.empty()) {
    if (Status s = WriteFileAtomically(p.identity, server_id + "\n", 0600); !s.ok()) return s;
  }
  ServerStore* opened = store.get();
  d.SetReconnectCheck([opened] { return opened->CheckAfterReconnect(); });
  return store;
}

Status ServerStore::CheckIdentity() {
  Result<std::optional<std::string>> stored = storage::ServerState(*db_).ServerId();
  if (!stored.ok()) {
    if (stored.status().code() != Code::kCorruption) return stored.status();
    return Status::Unavailable(db_where_ + " holds no server_state: not this server's database")
        .WithReason("wrong_database");
  }
  const std::string mine = server_id_.ToString();
  if (stored->has_value() && **stored == mine) return Status();
  const Status s =
      Status::Unavailable(db_where_ + " holds " +
                          (stored->has_value() ? "server " + **stored + "'s data"
                                               : std::string("no server")) +
                          ", not this server's (" + mine +
                          "): another province's backup restored there? Nothing is read or "
                          "written until it is this server's database again")
          .WithReason("wrong_database");
  LogLine(s.message());
  return s;
}

Status ServerStore::CheckStillOurs() {
  if (Status s = CheckIdentity(); !s.ok()) return s;
  Result<int64_t> next_seq = storage::ServerState(*db_).NextSeq();
  if (!next_seq.ok()) return next_seq.status();
  const int64_t next = *next_seq;
  const std::optional<uint64_t> high = ReadHighWater(paths_.high_water);
  if (high.has_value() && next >= 0 && static_cast<uint64_t>(next) < *high) {
    // Restored under us: what Open does, before this request is answered.
    if (Status s = GuardSequences(); !s.ok()) return s;
    if (Status s = GuardRevocations(); !s.ok()) return s;
  }
  return Status();
}

Status ServerStore::CheckAfterReconnect() {
  if (Status s = CheckIdentity(); !s.ok()) return s;
  // Restored from a backup, or a standby that was behind: the same checks
  // as at start, before anything is handed out.
  if (Status s = GuardSequences(); !s.ok()) return s;
  if (Status s = GuardRevocations(); !s.ok()) return s;
  LogLine("the connection to " + db_where_ +
          " was lost and is open again; its server, sequences and revocations checked");
  return Status();
}


Result<uint64_t> ServerStore::TakeSeqs(uint64_t n) {
  storage::ServerState state(*db_);
  Result<int64_t> first = state.NextSeq();
  if (!first.ok()) return first.status();
  if (*first < 1) return Status::Corruption("server_state.next_seq is damaged");
  uint64_t next = static_cast<uint64_t>(*first);
  // Numbers this folder has seen handed out are ahead of the database's:
  // a backup was restored into the database while this server ran (and
  // kept its connection), so Open's and the reconnect check's guard never
  // saw it. Jumped here, under the write lock, before a number a device
  // has passed is handed out again. One small file read per write.
  if (const std::optional<uint64_t> high = ReadHighWater(paths_.high_water);
      high.has_value() && next < *high) {
    const uint64_t now = *high + kRestoreGap;
    if (Status s = state.SetNextSeq(now); !s.ok()) return s;
    LogLine(db_where_ + " hands out sequences from " + std::to_string(next) +
            " but this data folder has seen up to " + std::to_string(*high - 1) +
            " (a backup restored while the server ran?): they jump to " +
            std::to_string(now) + " so that every device's pull cursor stays valid");
    next = now;
  }
  if (Status s = state.AdvanceNextSeq(n); !s.ok()) return s;
  return next;
}

void ServerStore::NoteCommittedSequences() {
  if (Result<uint64_t> last = LastSeq(); last.ok()) NoteHighWater(*last + 1);
}

void ServerStore::NoteHighWater(uint64_t next_seq) {
  // Best effort and cheap (no fsync): after a crash the file may say less
  // than server.db, which is normal; it only has to say more than a
  // database restored from an older backup. It only ever rises: a database
  // rewound under a running server must not lower it (the next write would
  // not see the rewind), nor a server that noted after another.
  const int fd = ::open(paths_.high_water.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::flock(fd, LOCK_EX) == 0) {
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
    const std::optional<uint64_t> noted =
        n > 0 ? ParseHighWater(std::string_view(buf, static_cast<size_t>(n))) : std::nullopt;
    if (!noted.has_value() || *noted < next_seq) {
      const std::string text =
          std::string(kHighWaterPrefix) + std::to_string(next_seq) + "\n";
      if (::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
        (void)::ftruncate(fd, static_cast<off_t>(text.size()));
      }
    }
  }
  ::close(fd);  // and its lock
}

Status ServerStore::GuardSequences() {
  const std::optional<uint64_t> high = ReadHighWater(paths_.high_water);
  // Rewound: this folder handed out higher numbers than server.db knows.
  // No record at all, with a database that has handed out numbers: a
  // backup restored into a fresh folder (or a folder from before this
  // record existed). Either way, jump past anything a device may have seen.
  const auto rewound_at = [&high](uint64_t next) {
    return high.has_value() ? next < *high : next > 1;
  };
  // Read first, with no write transaction: every start but one after a
  // restore writes nothing, so a command that only reads (a list, an
  // export) is not kept waiting by a writer.
  Result<uint64_t> last = LastSeq();
  if (!last.ok()) return last.status();
  uint64_t next = *last + 1;
  bool rewound = rewound_at(next);
  uint64_t now = next;
  if (rewound) {
    Transaction txn(*db_);
    if (!txn.status().ok()) return txn.status();
    last = LastSeq();  // again, under the write lock
    if (!last.ok()) return last.status();
    next = *last + 1;
    rewound = rewound_at(next);
    now = next;
    if (rewound) {
      now = std::max(next, high.value_or(0)) + kRestoreGap;
      if (Status s = storage::ServerState(*db_).SetNextSeq(now); !s.ok()) return s;
    }
    if (Status s = txn.Commit(); !s.ok()) return s;
  }
  if (rewound) {
    LogLine(db_where_ + " is older than the sequences this data folder has handed out (" +
            std::string(high.has_value() ? "restored from a backup?"
                                         : "no record of them: restored into a new folder?") +
            "): server sequences jump from " + std::to_string(next) + " to " +
            std::to_string(now) +
            " so that every device's pull cursor stays valid; change sets lost since the "
            "backup come back from the devices' own copies");
  }
  NoteHighWater(now);
  return Status();
}

// The restore guard's jump is one sequence epoch (the pull header devices
// watch to send again photos a restore lost).
static_assert(ServerStore::kRestoreGap == uint64_t{1} << protocol::kSeqEpochShift);

namespace {

// Appends `line` to the file (created 0600) and flushes it to disk; after a
// line an earlier append cut short (a crash, a full disk), on a line of its
// own.
Status AppendLineSynced(const std::string& path, const std::string& line,
                        const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot record the " + what + " in " + path + ": " +
                           std::strerror(errno));
  }
  std::string bytes = line;
  struct stat st {};
  char last = '\n';
  if (::fstat(fd, &st) == 0 && st.st_size > 0 &&
      ::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
    bytes.insert(bytes.begin(), '\n');
  }
  const bool ok = ::write(fd, bytes.data(), bytes.size()) ==
                      static_cast<ssize_t>(bytes.size()) &&
                  ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    return Status::IOError("cannot record the " + what + " in " + path + ": " +
                           std::strerror(err));
  }
  return Status();
}

}  // namespace

Status ServerStore::NoteRevocation(std::string_view device_id,
                                   std::string_view revoked_at) {
  return AppendLineSynced(paths_.revocations,
                          std::string(device_id) + " " + std::string(revoked_at) + "\n",
                          "revocation");
}

Status ServerStore::NoteTokenUse(std::string_view token_hash, std::string_view device_id,
                                 std::string_view public_key_hex, std::string_view used_at) {
  return AppendLineSynced(paths_.used_tokens,
                          std::string(token_hash) + " " + std::string(device_id) + " " +
                              std::string(public_key_hex) + " " + std::string(used_at) + "\n",
                          "token's use");
}

Result<std::map<std::string, ServerStore::TokenUse, std::less<>>> ServerStore::TokenUses() {
  std::map<std::string, TokenUse, std::less<>> uses;
  // A line per device ever enrolled here: about 200 bytes each.
  Result<std::string> text = ReadFileBounded(paths_.used_tokens, size_t{64} << 20);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return uses;
    return Status::IOError("cannot read the record of used enrolment tokens (" +
                           paths_.used_tokens + "): " + text.status().message());
  }
  for (size_t at = 0; at < text->size();) {
    size_t end = text->find('\n', at);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // TOKEN_HASH DEVICE_ID PUBLIC_KEY USED_AT (a line cut short names less:
    // the token is used all the same).
    std::vector<std::string> words;
    for (std::string_view rest = line; !rest.empty();) {
      const size_t space = rest.find(' ');
      words.emplace_back(rest.substr(0, space));
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    if (words.size() < 2 || words[0].empty()) continue;
    TokenUse& use = uses[words[0]];  // the first use a line records stands
    if (!use.device_id.empty()) continue;
    use.device_id = words[1];
    if (words.size() > 2) use.public_key_hex = words[2];
    if (words.size() > 3) use.used_at = words[3];
  }
  return uses;
}

Result<std::optional<ServerStore::TokenUse>> ServerStore::TokenUseNoted(
    std::string_view token_hash) {
  KBO_ASSIGN_OR_RETURN(auto uses, TokenUses());
  auto it = uses.find(token_hash);
  if (token_hash.empty() || it == uses.end()) return std::optional<TokenUse>();
  return std::optional<TokenUse>(std::move(it->second));
}

Status ServerStore::GuardRevocations() {
  // A line per revocation ever made here: a few dozen bytes each.
  Result<std::string> text = ReadFileBounded(paths_.revocations, size_t{64} << 20);
  if (!text.ok() && text.status().code() != Code::kNotFound) {
    return Status::FromCode(text.status().code(),
                  "cannot read the record of revoked devices (" + paths_.revocations +
                      "): " + text.status().message() +
                      "; the server does not start without it, so a revoked device "
                      "is never let in again (docs/operations.md, \"Backups\")");
  }
  if (!text.ok()) text = std::string();
  std::set<std::string> noted;  // ids with a line that parses
  std::vector<std::pair<std::string, std::string>> lines;  // (id, when)
  size_t skipped = 0;
  size_t at = 0;
  while (at < text->size()) {
    size_t end = text->find('\n', at);
    if (end == std::string::npos) end = text->size();  // a line cut by a crash
    std::string line = text->substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // edited on Windows
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    Result<Uuid> parsed = Uuid::Parse(line.substr(0, space));
    if (!parsed.ok()) {
      // Names no device (damaged, or edited by hand): skipped, said once.
      ++skipped;
      continue;
    }
    const std::string id = parsed->ToString();
    // A device named with a time that does not parse stays revoked all the
    // same, from now.
    std::string when = space == std::string::npos ? "" : line.substr(space + 1);
    if (!ParseIsoUtcMillis(when).has_value()) {
      ++skipped;
      when = NowIso();
    }
    noted.insert(id);
    lines.emplace_back(id, std::move(when));
  }
  // Read first: a write transaction only when a device the file names is
  // active in the database (a restore older than its revocation), so a
  // command that only reads (a list, an export) is not kept waiting by a
  // writer. Then each is revoked under the write lock (RevokeIfActive
  // looks again).
  storage::Devices devices(*db_);
  bool active = false;
  for (const auto& [id, when] : lines) {
    Result<std::optional<storage::DeviceRow>> row = devices.Find(id);
    if (!row.ok()) return row.status();
    if (row->has_value() && (*row)->revoked_at.empty()) {
      active = true;
      break;
    }
  }
  std::vector<std::string> again;
  if (active) {
    Transaction txn(*db_);
    if (!txn.status().ok()) return txn.status();
    for (const auto& [id, when] : lines) {
      Result<bool> revoked = devices.RevokeIfActive(id, when);
      if (!revoked.ok()) return revoked.status();
      if (*revoked) again.push_back(id + " (revoked " + when + ")");
    }
    if (Status s = txn.Commit(); !s.ok()) return s;
  }
  // Revocations the database holds that the file lacks (made before the
  // file existed, or with a line since damaged): written now, so a later
  // restore keeps them too.
  {
    Result<std::vector<std::pair<std::string, std::string>>> revoked =
        storage::Devices(*db_).Revoked();
    if (!revoked.ok()) return revoked.status();
    for (const auto& [id, when] : *revoked) {
      if (noted.count(id) != 0) continue;
      if (Status s = NoteRevocation(id, when); !s.ok()) return s;
    }
  }
  if (skipped != 0) {
    LogLine(paths_.revocations + ": " + std::to_string(skipped) +
            " damaged line(s): one that names no device is skipped; a device "
            "named without a time is revoked from now");
  }
  for (const std::string& d : again) {
    LogLine("device " + d + " was active in " + db_where_ + " (restored from a backup older than "
            "its revocation?): revoked again, as " + paths_.revocations + " records");
  }
  return Status();
}

Result<uint64_t> ServerStore::LastSeq() {
  Result<int64_t> next = storage::ServerState(*db_).NextSeq();
  if (!next.ok()) return next.status();
  return *next > 0 ? static_cast<uint64_t>(*next - 1) : 0;
}

Result<Hlc> ServerStore::LoadClock() {
  Result<std::optional<std::string>> text = storage::ServerState(*db_).ClockText();
  if (!text.ok()) return text.status();
  Hlc last;
  last.device = server_id_;
  if (text->has_value()) {
    Result<Hlc> h = Hlc::Parse(**text);
    if (!h.ok()) return Status::Corruption("server clock state is damaged");
    last = *h;
  }
  return last;
}

Status ServerStore::SaveClock(const Hlc& state) {
  return storage::ServerState(*db_).SaveClock(state);
}

Result<FolderLock> FolderLock::Take(const ServerPaths& paths, Kind kind) {
  const int fd = ::open(paths.serving.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot open " + paths.serving + ": " + std::strerror(errno));
  }
  if (::flock(fd, (kind == Kind::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) {
    return FolderLock(fd);
  }
  const int err = errno;
  if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {
    // A filesystem without locks (NFS mounted nolock, some FUSE): servers
    // sharing the folder there still run; only the copy's check is lost.
    LogLine("cannot lock " + paths.serving + " (" + std::strerror(err) +
            "): a copy-to-postgres cannot tell whether a server still uses this folder");
    return FolderLock(fd);
  }
  ::close(fd);
  if (err != EWOULDBLOCK) {
    return Status::IOError("cannot lock " + paths.serving + ": " + std::strerror(err));
  }
  if (kind == Kind::kShared) {
    return Status::FailedPrecondition(
               "copy-to-postgres is copying " + paths.db +
               " now: try again when it has ended (then with --db and the PostgreSQL URL)")
        .WithReason("folder_in_use");
  }
  return Status::FailedPrecondition(
             "a kbo-server is using " + paths.dir +
             " (serve, or a command still running): stop it first (what a device sent it "
             "after the copy would be in " + paths.db +
             " alone), then copy, then serve with --db and the URL")
      .WithReason("folder_in_use");
}

FolderLock::FolderLock(FolderLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // the lock goes with the descriptor
}

}  // namespace kbo::server
