#include "server/cli.h"

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/app_files.h"
#include "server/blob_service.h"
#include "server/bundle_import.h"
#include "server/cli_args.h"
#include "server/conflict_view.h"
#include "server/conflicts.h"
#include "server/console/user_cmds.h"
#include "server/console/users.h"
#include "server/csv_export.h"
#include "server/enrolment.h"
#include "server/quality_cmds.h"
#include "server/report_cmds.h"
#include "server/http_api.h"
#include "server/row_history.h"
#include "server/server_store.h"
#include "server/storage/change_log.h"
#include "server/storage/copy_to_postgres.h"
#include "server/storage/originals.h"
#include "server/storage/pg_db.h"
#include "server/storage/server_state.h"
#include "schema/schema.h"
#include "shared/sqlite/migrate.h"
#include "server/xlsx_export.h"
#include "shared/encoding.h"
#include "shared/entities.h"
#include "shared/fs.h"
#include "shared/hlc.h"
#include "shared/protocol.h"
#include "shared/value_json.h"
#include "shared/version.h"

// Command line grammar:
//   kbo-server [--data DIR | --data=DIR] [--db URL | --db=URL]
//              [--help | -h | --version] COMMAND
//   ARGS...
// Flags take their value as the next argument or after '='; `--` ends flags.

namespace kbo::server {

namespace {

using nlohmann::json;

constexpr const char* kUsage =
    "usage: kbo-server [--data DIR] [--db sqlite:PATH|postgresql://...] COMMAND ...\n"
    "\n"
    "  serve [--listen 127.0.0.1:8787] [--tls-cert FILE --tls-key FILE]\n"
    "        [--connections-per-address 32] [--max-write-wait 15]\n"
    "        [--no-zstd] [--app DIR]   (--app: serve the phone app from DIR at\n"
    "        /app/; default $KBO_APP_DIR; DIR must hold index.html)\n"
    "        [--behind-proxy]   (a proxy on this machine sets X-Real-IP)\n"
    "        [--min-free-mb 512]   (photos wait while the disk has less free)\n"
    "  token create --role field_officer|trainer|central_office\n"
    "               --districts CODE[,CODE...]|all [--ttl 24h] [--label L]\n"
    "  token list [--json]   tokens not yet used, expired or cancelled\n"
    "  token cancel ID       (ID: the list's id, or a unique prefix)\n"
    "  device list [--json]\n"
    "  device revoke ID      (ID: the list's id, or a unique start of 8+)\n"
    "  device grant ID --districts CODE[,CODE...]|all   (ID or a unique start)\n"
    "  device label ID TEXT\n"
    "  list ENTITY [--json]\n"
    "  conflicts list [--json] [--open]\n"
    "  conflicts resolve ID --value V | --keep SEQ|current|incoming [--seen SEQ]\n"
    "               [--reason R]   (ID may be a unique prefix)\n"
    "  refused list [--all] [--json]   rows the server refused and the device\n"
    "                          has not yet fixed (--all: settled ones too)\n"
    "  history ENTITY ID [--json] [--lang th|en]   a row's changes\n"
    "  export csv --out DIR [--fiscal-year BE] [--district CODE]\n"
    "             [--lang th|en] [--raw]\n"
    "  export xlsx --out FILE.xlsx [--fiscal-year BE] [--district CODE]\n"
    "             [--lang th|en]\n"
    "  bundle import FILE [--accept-revoked DEVICE]\n"
    "  photo ask-original PHOTO_ID   ask the device that took the photo for it\n"
    "                         as taken (it syncs a downscaled copy); sent with\n"
    "                         its next sync\n"
    "  photo cancel-original PHOTO_ID  withdraw that request (while still open)\n"
    "  copy-to-postgres URL   copy DIR/server.db into a new PostgreSQL database\n"
    "                         and check every table's count (docs/operations.md)\n"
    KBO_SERVER_REPORT_USAGE
    KBO_SERVER_QUALITY_USAGE
    "  user add LOGIN --role admin|office|viewer [--districts CODE,...|all]\n"
    "               (password on the first line of standard input)\n"
    "  user list [--json] | user disable LOGIN | user enable LOGIN\n"
    "  user passwd LOGIN\n"
    "\n"
    "--data DIR   the server's data folder (default ./kbo-data)\n"
    "--db URL     the database: sqlite:PATH (default sqlite:DIR/server.db), or\n"
    "             PostgreSQL (postgresql://USER@HOST[:PORT]/DB; a password from\n"
    "             ~/.pgpass or PGPASSWORD); the key and photos stay in DIR\n"
    "             (docs/operations.md)\n"
    "             --data and --db may also follow the command\n"
    "--help       this text;  --version  the version\n";

// The usage lines of command `noun` (its lines of kUsage, with their
// continuation lines), for a usage error in it; all of kUsage if `noun`
// names no command.
std::string UsageOf(std::string_view noun) {
  std::string lines;
  bool in = false;
  std::string_view rest = kUsage;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end == std::string_view::npos ? rest.size() : end + 1);
    rest.remove_prefix(line.size());
    const bool command = line.size() > 2 && line.substr(0, 2) == "  " && line[2] != ' ';
    if (command) {
      const std::string_view name = line.substr(2);
      in = name.substr(0, noun.size()) == noun &&
           (name.size() == noun.size() || name[noun.size()] == ' ' ||
            name[noun.size()] == '\n' || name[noun.size()] == '|');
    } else if (line.substr(0, 4) != "    ") {
      in = false;
    }
    if (in) lines.append(line);
  }
  if (lines.empty()) return kUsage;
  return "usage: kbo-server [--data DIR] [--db sqlite:PATH|postgresql://...] COMMAND ...\n" + lines +
         "(kbo-server --help: every command)\n";
}

struct Context {
  std::ostream& out;
  std::ostream& err;
  std::string data_dir;
  std::string db_url;
  bool usage_error = false;
  std::unique_ptr<ServerStore> store;
  // Only the commands that set a server up (serve, token create, user add)
  // may make a new one in a folder that holds none: a report, an export or
  // a list pointed at a mistyped --data must not answer from a new, empty
  // province (with a new server key) and exit 0.
  bool may_create = false;
  // DIR/serving, held while the command runs (FolderLock): shared, or
  // exclusive for copy-to-postgres.
  FolderLock::Kind lock_kind = FolderLock::Kind::kShared;
  std::optional<FolderLock> folder_lock;

  Result<ServerStore*> Store() {
    if (!store) {
      std::error_code ec;
      // (A folder whose server.db names a server but has lost its key is
      // a server whose key went missing: the store says to restore it. A
      // server.db with no server in it (empty, half made) is no server:
      // opening it would make one.)
      const std::filesystem::path dir(data_dir);
      bool a_server = std::filesystem::exists(dir / "server.key", ec);
      const std::optional<std::string> sqlite_file = SqliteUrlPath(db_url);
      const std::string db_file =
          sqlite_file ? *sqlite_file : (dir / "server.db").string();
      if (!a_server && (db_url.empty() || sqlite_file) &&
          std::filesystem::exists(db_file, ec)) {
        Result<std::unique_ptr<Db>> db = Db::Open(db_file);
        Result<std::optional<std::string>> id =
            db.ok() ? storage::ServerState(**db).ServerId()
                    : Result<std::optional<std::string>>(db.status());
        // (One that cannot be read is left to the store to say why.)
        a_server = !db.ok() || (id.ok() && id->has_value());
      }
      // A database named by --db sqlite:PATH that is not there: a typo
      // (only the commands that set a server up make one).
      if (sqlite_file && !may_create && !std::filesystem::exists(*sqlite_file, ec)) {
        return Status::NotFound("there is no database at " + *sqlite_file +
                                " (--db sqlite:PATH): check the path; nothing was made");
      }
      if (!may_create && !a_server) {
        return Status::NotFound(
            "there is no server in " + data_dir +
            " (no server.key there): check --data (default ./kbo-data), or set a "
            "server up with `kbo-server --data DIR token create ...` or `serve`");
      }
      // Before the store opens (its guards may write): a folder there is.
      if (!folder_lock && std::filesystem::is_directory(dir, ec)) {
        Result<FolderLock> lock = FolderLock::Take(PathsFor(data_dir), lock_kind);
        if (!lock.ok()) return lock.status();
        folder_lock.emplace(std::move(lock).value());
      }
      Result<std::unique_ptr<ServerStore>> opened = ServerStore::Open(
          data_dir, SystemWallClock::Default(), db_url);
      if (!opened.ok()) {
        if (opened.status().code() == Code::kCorruption ||
            opened.status().code() == Code::kInvalidArgument) {
          return Status::IOError(data_dir + ": " + opened.status().message());
        }
        return opened.status();
      }
      store = std::move(opened).value();
      if (!folder_lock) {  // a folder made just now
        Result<FolderLock> lock = FolderLock::Take(store->paths(), lock_kind);
        if (!lock.ok()) return lock.status();
        folder_lock.emplace(std::move(lock).value());
      }
    }
    return store.get();
  }

  Status Usage(std::string message) {
    usage_error = true;
    return Status::InvalidArgument(std::move(message));
  }
};

// Parsed flags and positional arguments of one command (server/cli_args.h).
using Args = CliArgs;

Status ParseArgs(Context& ctx, const std::vector<std::string>& args,
                 size_t from, const FlagNames& value_flags,
                 const FlagNames& switch_flags, size_t max_positional,
                 Args* parsed) {
  return ParseCliArgs(args, from, value_flags, switch_flags, max_positional,
                      parsed, &ctx.usage_error);
}

std::string Pad(std::string s, size_t width) {
  // Width in terminal columns (a Thai tone mark takes none), so Thai and
  // ASCII columns line up as seen.
  const size_t columns = TerminalColumns(s);
  if (columns < width) s.append(width - columns, ' ');
  return s;
}

std::string OffsetText(const DeviceRecord& d) {
  if (!d.clock_offset_ms) return "-";
  const int64_t ms = *d.clock_offset_ms;
  const int64_t abs_ms = ms < 0 ? -ms : ms;
  std::string text = ms < 0 ? "-" : "+";
  if (abs_ms < 120000) {
    text += std::to_string(abs_ms / 1000) + "s";
  } else if (abs_ms < 48LL * 3600000) {
    text += std::to_string(abs_ms / 60000) + "m";
  } else {
    text += std::to_string(abs_ms / 86400000) + "d";
  }
  return text;
}

json DistrictsJson(const Scope& scope) {
  json a = json::array();
  if (scope.all) {
    a.push_back("all");
  } else {
    for (const std::string& d : scope.districts) a.push_back(d);
  }
  return a;
}

std::string HlcTime(const std::string& text) {
  Result<Hlc> h = Hlc::Parse(text);
  return h.ok() ? FormatIsoUtc(h->wall_ms) : text;
}

// A value on its one line of a listing: its line breaks read as spaces (a
// note's line break split a conflict's line, as `kbo conflicts` once did),
// and no control character a device sent reaches the operator's terminal
// (an escape sequence would rewrite what the screen shows).
std::string OneLine(std::string text) {
  for (char& ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) ch = ' ';
  }
  return text;
}

std::string Shown(const Value& v) {
  if (v.is_null()) return "(empty)";
  return "'" + OneLine(v.ToDisplay()) + "'";
}

// The audit log line of a token or device action from the shell (actor
// "cli"). The action is already committed: a failure to record it is
// reported, not undone.
void Audit(ServerStore& store, std::string_view action,
           std::string_view subject, std::string_view detail) {
  Status s = console::AppendAudit(store, "cli", action, subject, detail, "");
  if (!s.ok()) {
    std::cerr << "kbo-server: could not write the audit log: " << s.ToString()
              << "\n";
  }
}

// The shortest start of a device id that `device revoke` takes.
constexpr size_t kMinRevokePrefix = 8;

// The device a person names: its whole id, or the start of it (at least
// kMinIdPrefix characters, any case) when one device alone starts so, as a
// token or a conflict is named. kNotFound for none, kInvalidArgument for
// several (up to three named) or too short a start.
Result<DeviceRecord> FindDevice(Enrolment& enrolment, std::string_view named) {
  std::string prefix(named);
  for (char& ch : prefix) {
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  }
  const bool id_like =
      prefix.size() <= 36 && prefix.find_first_not_of("0123456789abcdef-") == std::string::npos;
  if (!id_like) {
    return Status::InvalidArgument("'" + std::string(named) +
                                   "' is not a device id (kbo-server device list "
                                   "shows them; the start of one will do)");
  }
  if (prefix.size() < kMinIdPrefix) {
    return Status::InvalidArgument(
        "a device id or the start of one (at least " + std::to_string(kMinIdPrefix) +
        " characters; kbo-server device list shows them) was expected, got '" +
        std::string(named) + "'");
  }
  Result<std::vector<DeviceRecord>> devices = enrolment.ListDevices();
  if (!devices.ok()) return devices.status();
  std::vector<const DeviceRecord*> found;
  for (const DeviceRecord& d : *devices) {
    const std::string id = d.id.ToString();
    if (id == prefix) return d;
    if (id.compare(0, prefix.size(), prefix) == 0) found.push_back(&d);
  }
  if (found.empty()) {
    return Status::NotFound(
        prefix.size() == 36
            ? "no device " + prefix + " is enrolled on this server"
            : "no device enrolled on this server has an id starting with " + prefix +
                  " (kbo-server device list shows them)");
  }
  if (found.size() > 1) {
    std::string names;
    for (size_t i = 0; i < found.size() && i < 3; ++i) {
      const DeviceRecord& d = *found[i];
      names += (i ? ", " : "") + d.id.ToString() + (d.label.empty() ? "" : " '" + d.label + "'");
    }
    return Status::InvalidArgument(
        "the id start " + prefix + " matches " +
        (found.size() > 3 ? std::string("more than 3") : std::to_string(found.size())) +
        " devices (" + names + (found.size() > 3 ? ", ..." : "") +
        "); give more of the id");
  }
  return *found.front();
}

// "6f1c2a3b-… 'สมชาย · พร้าว'": a device as the shell names it back.
std::string DeviceName(const DeviceRecord& d) {
  return d.id.ToString() + (d.label.empty() ? "" : " '" + d.label + "'");
}

// ---- Commands

Status Serve(Context& ctx, const std::vector<std::string>& args, size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from,
                           {"listen", "tls-cert", "tls-key",
                            "connections-per-address", "max-write-wait", "min-free-mb",
                            "app"},
                           {"no-zstd", "behind-proxy"}, 0, &a);
      !s.ok()) {
    return s;
  }
  ServeOptions options;
  if (const std::string* listen = a.Get("listen")) {
    if (Status s = ParseListen(*listen, &options); !s.ok())
      return ctx.Usage(s.message());
  }
  if (const std::string* f = a.Get("tls-cert")) options.tls_cert = *f;
  if (const std::string* f = a.Get("tls-key")) options.tls_key = *f;
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return ctx.Usage("TLS needs both --tls-cert and --tls-key");
  }
  if (const std::string* n = a.Get("connections-per-address")) {
    const std::optional<int64_t> v = ParseInt64(*n, 1, 4096);
    if (!v) {
      return ctx.Usage("--connections-per-address must be a whole number from "
                       "1 to 4096; got '" + *n + "'");
    }
    options.connections_per_address = static_cast<int>(*v);
  }
  if (const std::string* n = a.Get("max-write-wait")) {
    const std::optional<int64_t> v = ParseInt64(*n, 1, 25);
    if (!v) {
      return ctx.Usage("--max-write-wait must be a whole number of seconds from "
                       "1 to 25 (under the devices' 30 s timeout); got '" + *n + "'");
    }
    options.max_write_wait = std::chrono::seconds(*v);
  }
  // As a server from before zstd (docs/protocol.md §1 "Compressed bodies"):
  // no compressed pull pages, zstd push bodies refused with 415, nothing
  // said about encodings.
  if (a.Has("no-zstd")) options.zstd = false;
  options.behind_proxy = a.Has("behind-proxy");
  if (const std::string* n = a.Get("min-free-mb")) {
    const std::optional<int64_t> v = ParseInt64(*n, 0, int64_t{1} << 40);
    if (!v) {
      return ctx.Usage("--min-free-mb must be a whole number of MiB from 0; got '" + *n + "'");
    }
    options.min_free_bytes = static_cast<uint64_t>(*v) << 20;
  }
  // The phone app's folder (docs/phone-app.md "Served by kbo-server"),
  // checked before the store is opened: a wrong folder is exit 2 at once,
  // not a server that answers /app/ with 404s.
  if (const std::string* dir = a.Get("app")) {
    options.app_dir = *dir;
    if (Status s = CheckAppDir(options.app_dir); !s.ok()) return s;
  } else if (const char* env = std::getenv("KBO_APP_DIR");
             env != nullptr && *env != '\0') {
    options.app_dir = env;
    if (Status s = CheckAppDir(options.app_dir); !s.ok()) {
      return Status::InvalidArgument("KBO_APP_DIR: " + s.message());
    }
  }
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // Photos whose files outlived their rows (a restore): received, not asked
  // for again.
  if (Result<size_t> adopted = BlobService(**store).AdoptFiles(); !adopted.ok()) {
    return adopted.status();
  }
  return kbo::server::Serve(**store, options, ctx.out);
}

Status TokenCreate(Context& ctx, const std::vector<std::string>& args,
                   size_t from) {
  Args a;
  if (Status s =
          ParseArgs(ctx, args, from, {"role", "districts", "ttl", "label"}, {},
                    0, &a);
      !s.ok()) {
    return s;
  }
  const std::string* role = a.Get("role");
  const std::string* districts = a.Get("districts");
  if (role == nullptr || districts == nullptr) {
    return ctx.Usage("token create needs --role and --districts");
  }
  int64_t ttl = Enrolment::kDefaultTtlMs;
  if (const std::string* t = a.Get("ttl")) {
    Result<int64_t> parsed = ParseTtl(*t);
    if (!parsed.ok()) return parsed.status();
    ttl = *parsed;
  }
  const std::string* label = a.Get("label");
  // Checked before a server is opened, or made in a new folder: a mistyped
  // role made a province.
  if (Status s = Enrolment::CheckTokenRequest(*role, *districts, ttl,
                                              label ? *label : std::string_view());
      !s.ok()) {
    return s;
  }
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<std::string> token = enrolment.CreateToken(
      *role, *districts, ttl, label ? *label : std::string_view());
  if (!token.ok()) return token.status();
  const std::string expires = FormatIsoUtc((*store)->NowMillis() + ttl);
  Audit(**store, "token_create", TokenId(*token),
        "role " + *role + ", districts " + *districts + ", label '" +
            (label ? *label : "") + "', expires " + expires);
  ctx.out << *token << "\n";
  // The districts as the token holds them (a code given twice is one).
  Result<Scope> held = Scope::Parse(*districts);
  // The token is the line on stdout; its id (what `token list` and `token
  // cancel` name it by) is not the token: said so, as a newcomer typed the
  // id into a phone.
  ctx.err << "the token above is for a " << *role << " in "
          << (held.ok() ? held->ToString() : *districts) << ", one time, valid until "
          << expires << " (its id, for token cancel: " << TokenId(*token)
          << "; type the token itself, not the id)\n";
  if (label != nullptr && !label->empty()) {
    // The label is how the conflict inbox names a device: two of one name
    // are told apart there only by their ids.
    Result<std::vector<DeviceRecord>> devices = enrolment.ListDevices();
    if (devices.ok()) {
      for (const DeviceRecord& d : *devices) {
        if (!d.revoked() && d.label == *label) {
          ctx.err << "kbo-server: note: device " << d.id.ToString()
                  << " is labelled '" << *label
                  << "' already; a label of its own for each person "
                     "(e.g. with a surname) keeps them apart in the "
                     "conflict inbox\n";
          break;
        }
      }
    }
  }
  return Status();
}

Status TokenList(Context& ctx, const std::vector<std::string>& args,
                 size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {"json"}, 0, &a); !s.ok())
    return s;
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<std::vector<TokenInfo>> tokens = enrolment.ListTokens();
  if (!tokens.ok()) return tokens.status();
  if (a.Has("json")) {
    json list = json::array();
    for (const TokenInfo& t : *tokens) {
      list.push_back({{"id", t.id},
                      {"role", t.role},
                      {"districts", DistrictsJson(t.scope)},
                      {"label", t.label},
                      {"created_at", t.created_at},
                      {"expires_at", t.expires_at}});
    }
    ctx.out << list.dump(2) << "\n";
    return Status();
  }
  if (tokens->empty()) {
    ctx.out << "no tokens waiting to be used\n";
    return Status();
  }
  ctx.out << Pad("ID", 14) << Pad("ROLE", 16) << Pad("DISTRICTS", 16)
          << Pad("EXPIRES", 22) << "LABEL\n";
  for (const TokenInfo& t : *tokens) {
    ctx.out << Pad(t.id, 14) << Pad(t.role, 16) << Pad(t.scope.ToString(), 16)
            << Pad(t.expires_at, 22) << t.label << "\n";
  }
  return Status();
}

Status TokenCancel(Context& ctx, const std::vector<std::string>& args,
                   size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {}, 1, &a); !s.ok()) return s;
  if (a.positional.size() != 1)
    return ctx.Usage("token cancel needs a token id (see token list)");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<TokenInfo> t = enrolment.CancelToken(a.positional[0]);
  if (!t.ok()) return t.status();
  if (!t->already_cancelled_at.empty()) {
    ctx.out << "token " << t->id << " was cancelled already, on "
            << t->already_cancelled_at << "; nothing changed\n";
    return Status();
  }
  Audit(**store, "token_cancel", t->id, t->label);
  ctx.out << "cancelled " << t->id << "\n";
  return Status();
}

Status DeviceList(Context& ctx, const std::vector<std::string>& args,
                  size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {"json"}, 0, &a); !s.ok())
    return s;
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<std::vector<DeviceRecord>> devices = enrolment.ListDevices();
  if (!devices.ok()) return devices.status();
  if (a.Has("json")) {
    json list = json::array();
    for (const DeviceRecord& d : *devices) {
      list.push_back(
          {{"device_id", d.id.ToString()},
           {"label", d.label},
           {"role", d.role},
           {"districts", DistrictsJson(d.scope)},
           {"enrolled_at", d.enrolled_at},
           {"revoked", d.revoked()},
           {"revoked_at", d.revoked() ? json(d.revoked_at) : json(nullptr)},
           {"last_seq", d.last_seq},
           {"last_seen_at",
            d.last_seen_at.empty() ? json(nullptr) : json(d.last_seen_at)},
           {"clock_offset_ms",
            d.clock_offset_ms ? json(*d.clock_offset_ms) : json(nullptr)},
           {"clock_off", d.clock_off()}});
    }
    ctx.out << list.dump(2) << "\n";
    return Status();
  }
  if (devices->empty()) {
    ctx.out << "no devices enrolled\n";
    return Status();
  }
  ctx.out << Pad("DEVICE", 38) << Pad("LABEL", 30) << Pad("ROLE", 16) << Pad("DISTRICTS", 16)
          << Pad("ENROLLED", 22) << Pad("LAST SEQ", 10) << Pad("LAST SEEN", 22)
          << Pad("CLOCK", 8) << "STATUS\n";
  for (const DeviceRecord& d : *devices) {
    std::string status = d.revoked() ? "revoked " + d.revoked_at : "active";
    if (d.clock_off()) status += "  clock off";
    ctx.out << Pad(d.id.ToString(), 38)
            // A long label is cut to its column (the table's other columns
            // stay under their headings; --json has it whole).
            << Pad(FitColumns(d.label.empty() ? "-" : d.label, 29) + " ", 30) << Pad(d.role, 16)
            << Pad(d.scope.ToString(), 16) << Pad(d.enrolled_at, 22)
            << Pad(std::to_string(d.last_seq), 10)
            << Pad(d.last_seen_at.empty() ? "-" : d.last_seen_at, 22)
            << Pad(OffsetText(d), 8) << status << "\n";
  }
  return Status();
}

Status DeviceRevoke(Context& ctx, const std::vector<std::string>& args,
                    size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {}, 1, &a); !s.ok()) return s;
  if (a.positional.size() != 1)
    return ctx.Usage("device revoke needs a device id");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // A revocation cannot be undone: a start of the id that a slip of the
  // keyboard could make another phone's is not enough.
  if (a.positional[0].size() < kMinRevokePrefix) {
    return ctx.Usage("device revoke cannot be undone: give at least " +
                     std::to_string(kMinRevokePrefix) +
                     " characters of the device id (kbo-server device list shows "
                     "them), got '" + a.positional[0] + "'");
  }
  Enrolment enrolment(**store);
  Result<DeviceRecord> device = FindDevice(enrolment, a.positional[0]);
  if (!device.ok()) return device.status();
  const std::string id = device->id.ToString();
  if (device->revoked()) {
    ctx.out << "device " << DeviceName(*device) << " was revoked already, at "
            << device->revoked_at << "; nothing changed\n";
    return Status();
  }
  if (Status s = enrolment.Revoke(id); !s.ok()) return s;
  Audit(**store, "device_revoke", id, "");
  ctx.out << "revoked " << DeviceName(*device)
          << "; its next sync is refused, and its records not yet sent can come in a "
             "bundle (bundle import --accept-revoked)\n";
  return Status();
}

Status DeviceGrant(Context& ctx, const std::vector<std::string>& args,
                   size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {"districts"}, {}, 1, &a); !s.ok())
    return s;
  const std::string* districts = a.Get("districts");
  if (a.positional.size() != 1 || districts == nullptr)
    return ctx.Usage("device grant needs a device id and --districts");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<DeviceRecord> device = FindDevice(enrolment, a.positional[0]);
  if (!device.ok()) return device.status();
  const std::string id = device->id.ToString();
  bool changed = false;
  Result<Scope> scope = enrolment.Grant(id, *districts, &changed);
  if (!scope.ok()) return scope.status();
  if (!changed) {
    ctx.out << "device " << DeviceName(*device) << " already holds "
            << scope->ToString() << "; nothing changed\n";
    return Status();
  }
  Audit(**store, "device_grant", id,
        "added " + *districts + "; now " + scope->ToString());
  ctx.out << "device " << DeviceName(*device) << " now holds " << scope->ToString()
          << "; its next sync brings the new districts' rows whole\n";
  return Status();
}

Status DeviceLabel(Context& ctx, const std::vector<std::string>& args,
                   size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {}, 2, &a); !s.ok()) return s;
  if (a.positional.size() != 2)
    return ctx.Usage("device label needs a device id and the label text");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Enrolment enrolment(**store);
  Result<DeviceRecord> device = FindDevice(enrolment, a.positional[0]);
  if (!device.ok()) return device.status();
  const std::string id = device->id.ToString();
  if (Status s = enrolment.SetLabel(id, a.positional[1]); !s.ok()) return s;
  Audit(**store, "device_label", id, a.positional[1]);
  ctx.out << "device " << id << " is labelled '"
          << a.positional[1] << "'\n";
  return Status();
}

Status ListEntity(Context& ctx, const std::vector<std::string>& args,
                  size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {"json"}, 1, &a); !s.ok())
    return s;
  if (a.positional.size() != 1)
    return ctx.Usage("list needs an entity, e.g. list producer");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<EntityTable> table = ReadEntityTable((*store)->db(), a.positional[0]);
  if (!table.ok()) return table.status();
  if (a.Has("json")) {
    // As `kbo list --json` prints a row (docs/cli.md, "Output formats"):
    // "id", the columns in catalogue order, "deleted" a boolean (not the
    // tombstone's 0 or 1).
    using Ordered = nlohmann::ordered_json;
    Ordered rows = Ordered::array();
    for (const std::vector<Value>& row : table->rows) {
      Ordered o = Ordered::object();
      for (size_t i = 0; i < row.size(); ++i) {
        const Value& v = row[i];
        Ordered& cell = o[table->header[i]];
        if (table->header[i] == kDeletedColumn) {
          cell = v.type() == Value::Type::kInteger && v.integer() != 0;
        } else {
          cell = ValueJson(v);
        }
      }
      rows.push_back(std::move(o));
    }
    ctx.out << rows.dump(2) << "\n";
    return Status();
  }
  for (size_t i = 0; i < table->header.size(); ++i) {
    ctx.out << (i ? "\t" : "") << table->header[i];
  }
  ctx.out << "\n";
  for (const std::vector<Value>& row : table->rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i].ToDisplay();
      for (char& c : cell) {
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';  // one row, one line
      }
      ctx.out << (i ? "\t" : "") << cell;
    }
    ctx.out << "\n";
  }
  return Status();
}

// Rows of accepted change sets the server did not apply (DESIGN §6), newest
// first: which device, which set, the reason, and the row's cells as sent.
Status RefusedList(Context& ctx, const std::vector<std::string>& args,
                   size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {"json", "all"}, 0, &a);
      !s.ok())
    return s;
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // Settled ones (sent again and accepted, or deleted) only with --all.
  Result<std::vector<storage::RefusedRowView>> refused =
      storage::RefusedRows((*store)->db()).List(a.Has("all"));
  if (!refused.ok()) return refused.status();
  json arr = json::array();
  for (const storage::RefusedRowView& v : *refused) {
    const storage::RefusedRowRecord& r = v.row;
    json cells = json::parse(r.cells_json, nullptr, false);
    arr.push_back({{"device_id", r.device_id},
                   {"role", v.role ? json(*v.role) : json(nullptr)},
                   {"seq", static_cast<int64_t>(r.seq)},
                   {"index", static_cast<int64_t>(r.row_index)},
                   {"entity", r.entity},
                   {"row_id", r.row_id},
                   {"reason", r.reason},
                   {"message", r.message},
                   {"cells", cells.is_discarded() ? json::object() : cells},
                   {"refused_at", r.refused_at},
                   {"settled_at", v.settled_at ? json(*v.settled_at) : json(nullptr)},
                   {"settled_seq", v.settled_seq ? json(*v.settled_seq) : json(nullptr)}});
  }
  if (a.Has("json")) {
    ctx.out << arr.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return Status();
  }
  if (arr.empty()) {
    ctx.out << (a.Has("all") ? "no refused rows\n"
                             : "no open refused rows (--all shows settled ones)\n");
    return Status();
  }
  for (const json& r : arr) {
    ctx.out << r["refused_at"].get<std::string>() << "  "
            << r["entity"].get<std::string>() << " "
            << r["row_id"].get<std::string>() << "  ["
            << r["reason"].get<std::string>() << "]\n"
            << "  from device " << r["device_id"].get<std::string>()
            << (r["role"].is_string() ? " (" + r["role"].get<std::string>() + ")" : "")
            << ", change set " << r["seq"].get<int64_t>()
            << (r["settled_at"].is_string()
                    ? "; settled " + r["settled_at"].get<std::string>() +
                          " by change set " +
                          std::to_string(r["settled_seq"].get<int64_t>())
                    : std::string())
            << "\n"
            << "  " << r["message"].get<std::string>() << "\n"
            << "  cells: "
            << r["cells"].dump(-1, ' ', false, json::error_handler_t::replace)
            << "\n";
  }
  return Status();
}

Status ConflictsList(Context& ctx, const std::vector<std::string>& args,
                     size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {"json", "open"}, 0, &a);
      !s.ok())
    return s;
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Conflicts conflicts(**store);
  Result<std::vector<ConflictRecord>> list = conflicts.List(a.Has("open"));
  if (!list.ok()) return list.status();
  // A write after an open conflict changed what its row shows: shown
  // instead of either side (resolving replaces it).
  Result<std::vector<std::optional<LaterWrite>>> laters =
      LaterWritesOf((*store)->db(), *list);
  if (!laters.ok()) return laters.status();
  // The row each conflict is about, by the names a person knows it by (its
  // producer, workshop, participant, product, course day), as the console
  // names it: an id alone sent the office to `list` to find out.
  Result<std::vector<ConflictView>> views =
      DescribeConflicts((*store)->db(), *list, Lang::kEn);
  if (!views.ok()) return views.status();
  if (a.Has("json")) {
    json arr = json::array();
    for (size_t i = 0; i < list->size(); ++i) {
      json j = json::parse(ConflictJson((*list)[i]));
      j["subject"] = (*views)[i].subject;
      const std::optional<LaterWrite>& l = (*laters)[i];
      j["later"] = l.has_value()
                       ? json{{"value", l->value.is_null()
                                            ? json(nullptr)
                                            : json(l->value.ToDisplay())},
                              {"seq", l->seq},
                              {"device_id", l->device},
                              {"time", HlcTime(l->hlc)}}
                       : json(nullptr);
      arr.push_back(std::move(j));
    }
    ctx.out << arr.dump(2) << "\n";
    return Status();
  }
  if (list->empty()) {
    ctx.out << (a.Has("open") ? "no open conflicts\n" : "no conflicts\n");
    return Status();
  }
  // Who wrote each side, as the console names them: a device's label (its
  // id after it), the office for the server's own writes.
  std::set<std::string> devices;
  for (size_t i = 0; i < list->size(); ++i) {
    devices.insert((*list)[i].current_device);
    devices.insert((*list)[i].incoming_device);
    if ((*laters)[i].has_value()) devices.insert((*laters)[i]->device);
  }
  auto labels = LoadDeviceLabels((*store)->db(), devices);
  if (!labels.ok()) return labels.status();
  Result<std::string> server_id = LoadServerId((*store)->db());
  if (!server_id.ok()) return server_id.status();
  auto who = [&](const std::string& device) {
    const WriterInfo w = DescribeWriter(Lang::kEn, device, *server_id, *labels, "");
    if (w.office) return w.who;
    return w.who.rfind("device ", 0) == 0 ? w.who + " (" + device + ")"
                                          : w.who + " (device " + device + ")";
  };
  for (size_t i = 0; i < list->size(); ++i) {
    const ConflictRecord& c = (*list)[i];
    const std::optional<LaterWrite>* later = &(*laters)[i];
    ctx.out << "conflict " << c.id << "  "
            << (c.resolved() ? "resolved " + c.resolved_at + " -> '" +
                                   c.resolved_value + "'"
                             : std::string("OPEN"))
            << "\n";
    ctx.out << "  " << c.entity << " " << c.row_id << " ." << c.column_name
            << "  (district "
            << (c.district_code.empty() ? "-" : c.district_code) << ")\n";
    ctx.out << "  about   : " << OneLine((*views)[i].subject) << "\n";
    // "current" and "incoming" are the words --keep takes: each line says
    // what it is (the value received first, and the one received later),
    // and the "shown now" line gives its value, so keeping what shows is
    // never read as "--keep current".
    // A column that only moves forward (a product's stage) keeps the
    // further value: the side that cannot be kept is said so, not offered.
    const KeepableSides keepable =
        Keepable(c, later->has_value() ? &(*later)->value : nullptr);
    const char* kForwardOnly = "cannot be kept: this column only moves forward";
    ctx.out << "  current : " << Shown(c.current_value) << " by "
            << who(c.current_device) << " at " << HlcTime(c.current_hlc) << "  [seq "
            << c.current_seq << "]  received first"
            << (c.resolved() ? std::string()
                             : std::string(" (") +
                                   (keepable.current ? "--keep current" : kForwardOnly) + ")")
            << "\n";
    ctx.out << "  incoming: " << Shown(c.incoming_value) << " by "
            << who(c.incoming_device) << " at " << HlcTime(c.incoming_hlc)
            << "  [seq " << c.incoming_seq << ", base " << c.incoming_base
            << "]  received later"
            << (c.resolved() ? std::string()
                             : std::string(" (") +
                                   (keepable.incoming ? "--keep incoming" : kForwardOnly) + ")")
            << "\n";
    // `winner` is the merge's choice when the conflict was found; once it
    // is resolved, the resolution is what shows; a write after the
    // conflict (LaterWriteOf) shows instead of either side.
    if (later->has_value()) {
      const LaterWrite& l = **later;
      ctx.out << "  later   : " << Shown(l.value) << " by " << who(l.device) << " at "
              << HlcTime(l.hlc) << "  [seq " << l.seq
              << "]  written after this conflict; shown now, and resolving "
                 "replaces it (--keep "
              << l.seq << ", or --seen " << l.seq << " with your choice)\n";
    }
    const Value& winning =
        c.winner == "incoming" ? c.incoming_value : c.current_value;
    ctx.out << (c.resolved() ? "  the merge had shown: "
                : later->has_value() ? "  the merge had shown: "
                                     : "  shown now: ")
            << c.winner << " " << Shown(winning);
    if (!c.resolved() && !later->has_value()) {
      ctx.out << " (to keep it: --keep " << c.winner << ")";
    }
    ctx.out << "; detected " << c.detected_at << "\n";
    if (c.resolved()) {
      ctx.out << "  resolved by " << (c.resolved_by.empty() ? "-" : c.resolved_by)
              << (c.resolution_reason.empty()
                      ? std::string()
                      : ": " + c.resolution_reason)
              << "\n";
    }
  }
  return Status();
}

Status ConflictsResolve(Context& ctx, const std::vector<std::string>& args,
                        size_t from) {
  Args a;
  if (Status s =
          ParseArgs(ctx, args, from, {"value", "keep", "reason", "seen"}, {}, 1, &a);
      !s.ok())
    return s;
  if (a.positional.size() != 1)
    return ctx.Usage("conflicts resolve needs a conflict id");
  const std::string* value = a.Get("value");
  const std::string* keep = a.Get("keep");
  if ((value == nullptr) == (keep == nullptr)) {
    return ctx.Usage(
        "conflicts resolve needs exactly one of --value V or --keep "
        "SEQ|current|incoming");
  }
  Resolution how;
  if (value != nullptr) {
    how.kind = Resolution::Kind::kValue;
    how.text = *value;
  } else if (*keep == "current") {
    how.kind = Resolution::Kind::kKeepCurrent;
  } else if (*keep == "incoming") {
    how.kind = Resolution::Kind::kKeepIncoming;
  } else {
    how.kind = Resolution::Kind::kKeepSeq;
    const std::optional<uint64_t> seq = ParseUint64(*keep, INT64_MAX);
    if (!seq) {
      return ctx.Usage("--keep takes a sequence number, current or incoming");
    }
    how.seq = *seq;
  }
  if (const std::string* seen = a.Get("seen")) {
    const std::optional<uint64_t> seq = ParseUint64(*seen, INT64_MAX);
    if (!seq) return ctx.Usage("--seen takes the later write's sequence number");
    how.seen_seq = *seq;
  }
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Conflicts conflicts(**store);
  Resolver by;
  by.actor = "cli";
  if (const std::string* reason = a.Get("reason")) by.reason = *reason;
  Result<ResolveOutcome> r = conflicts.Resolve(a.positional[0], how, by);
  if (!r.ok()) {
    // Already resolved, or a value that cannot win (a stage never moves
    // back): the person's input, nothing written, so exit 2 (DESIGN §7),
    // not 1. The console answers these 409.
    if (r.status().code() == Code::kFailedPrecondition) {
      Status refused = Status::InvalidArgument(r.status().message());
      refused.WithReason(r.status().reason());
      return refused;
    }
    return r.status();
  }
  ctx.out << "resolved " << r->conflict.id << ": " << r->conflict.column_name
          << " = '" << r->conflict.resolved_value << "' (server sequence "
          << r->seq << ")";
  if (r->brought_back > 0) {
    ctx.out << "; " << r->brought_back << (r->brought_back == 1 ? " row" : " rows")
            << " deleted with it came back with it";
  }
  if (r->left_deleted > 0) {
    ctx.out << "; " << r->left_deleted << (r->left_deleted == 1 ? " row" : " rows")
            << " deleted with it stayed deleted (under a row still deleted)";
  }
  if (r->settled_with > 0) {
    ctx.out << "; " << r->settled_with
            << (r->settled_with == 1 ? " other conflict" : " other conflicts")
            << " on this field settled with it";
  }
  ctx.out << "\n";
  return Status();
}

// `history ENTITY ID` (docs/cli.md): a row's changes from the change-set
// log, with conflicts and resolutions; Thai unless --lang en.
Status HistoryCmd(Context& ctx, const std::vector<std::string>& args,
                  size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {"lang"}, {"json"}, 2, &a);
      !s.ok())
    return s;
  if (a.positional.size() != 2) return ctx.Usage("history needs ENTITY and ID");
  Lang lang = Lang::kTh;
  if (const std::string* code = a.Get("lang")) {
    std::optional<Lang> parsed = ParseLang(*code);
    if (!parsed) return ctx.Usage("--lang takes th or en");
    lang = *parsed;
  }
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  Result<RowHistory> h =
      LoadRowHistory(**store, a.positional[0], a.positional[1], lang);
  if (!h.ok()) return h.status();
  if (a.Has("json")) {
    ctx.out << RowHistoryJson(a.positional[0], a.positional[1], *h) << "\n";
  } else {
    ctx.out << RowHistoryText(*h, lang);
  }
  return Status();
}

// `export csv` and `export xlsx` (docs/cli.md, "Exports"): people's files
// by default (labels, names, Buddhist Era, deleted rows left out), codes
// for machines with `csv --raw`.
Status ExportCmd(Context& ctx, const std::vector<std::string>& args,
                 size_t from, bool xlsx) {
  Args a;
  std::set<std::string, std::less<>> switches;
  if (!xlsx) switches.insert("raw");
  if (Status s = ParseArgs(ctx, args, from,
                           {"out", "fiscal-year", "district", "lang"},
                           switches, 0, &a);
      !s.ok())
    return s;
  const std::string* out = a.Get("out");
  if (out == nullptr || out->empty()) {
    return ctx.Usage(xlsx ? "export xlsx needs --out FILE.xlsx"
                          : "export csv needs --out DIR");
  }
  auto flag = [&](std::string_view name) {
    const std::string* v = a.Get(name);
    return v ? *v : std::string();
  };
  Result<ExportFilter> filter = ParseExportFilter(
      flag("fiscal-year"), flag("district"), flag("lang"));
  if (!filter.ok()) return ctx.Usage(filter.status().message());
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  if (xlsx) {
    Result<XlsxSummary> sheets = ExportXlsx((*store)->db(), *out, *filter);
    if (!sheets.ok()) return sheets.status();
    ctx.out << *out << "\n";
    for (const auto& [title, rows] : *sheets)
      ctx.out << "  " << title << "\t" << rows << (rows == 1 ? " row\n" : " rows\n");
    return Status();
  }
  CsvExportOptions options;
  options.filter = *filter;
  options.raw = a.Has("raw");
  Result<CsvExportSummary> files = ExportCsv((*store)->db(), *out, options);
  if (!files.ok()) return files.status();
  for (const auto& [path, rows] : files->written)
    ctx.out << path << "\t" << rows << (rows == 1 ? " row\n" : " rows\n");
  // On stderr: scripts read stdout's lines as this export's files.
  for (const std::string& path : files->removed) {
    ctx.err << "kbo-server: removed " << path
            << ": an earlier export's sheet, not part of this one\n";
  }
  for (const std::string& why : files->not_removed) {
    ctx.err << "kbo-server: warning: " << why
            << " (an earlier export's sheet, not part of this one: delete it)\n";
  }
  return Status();
}

Status BundleImport(Context& ctx, const std::vector<std::string>& args,
                    size_t from) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {"accept-revoked"}, {}, 1, &a);
      !s.ok()) {
    return s;
  }
  if (a.positional.size() != 1) return ctx.Usage("bundle import needs a FILE");
  Result<ServerStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // --accept-revoked DEVICE: the office vouches for a revoked device's
  // bundle (docs/operations.md "A revoked device's records").
  std::optional<Uuid> accept;
  if (const std::string* named = a.Get("accept-revoked")) {
    Enrolment enrolment(**store);
    Result<DeviceRecord> device = FindDevice(enrolment, *named);
    if (!device.ok()) {
      if (device.status().code() == Code::kInvalidArgument) {
        return ctx.Usage("--accept-revoked: " + device.status().message());
      }
      return device.status();
    }
    if (!device->revoked()) {
      return ctx.Usage("device " + DeviceName(*device) +
                       " is not revoked: its bundle imports without "
                       "--accept-revoked");
    }
    accept = device->id;
  }
  Result<BundleSummary> summary =
      ImportBundle(**store, a.positional[0], accept ? &*accept : nullptr);
  if (!summary.ok()) return summary.status();
  const BundleSummary& s = *summary;
  ctx.out << "change sets: " << s.change_sets_applied << " applied, "
          << s.change_sets_repeated << " already applied, "
          << s.change_sets_refused << " refused\n";
  if (accept && s.change_sets_from_revoked > 0) {
    ctx.out << "  of them " << s.change_sets_from_revoked
            << " from revoked device " << accept->ToString()
            << ", accepted as asked (each audited)\n";
  }
  ctx.out << "photos: " << s.blobs_stored << " stored, " << s.blobs_present
          << " already held, " << s.blobs_refused << " refused\n";
  for (const std::string& line : s.refusals)
    ctx.err << "kbo-server: refused " << line << "\n";
  if (!s.row_refusals.empty()) {
    ctx.out << "rows refused in applied change sets: " << s.row_refusals.size()
            << " (kept for the office: kbo-server refused list)\n";
    for (const std::string& line : s.row_refusals)
      ctx.err << "kbo-server: row refused in " << line << "\n";
  }
  // What went in before a stop, in words that are true when nothing did.
  const size_t taken = s.change_sets_applied + s.change_sets_repeated +
                       s.blobs_stored + s.blobs_present + s.change_sets_refused +
                       s.blobs_refused;
  const std::string before =
      taken == 0 ? "; nothing of the file was imported"
                 : "; the records before it were imported";
  if (!s.framing.ok()) {
    return Status::Corruption("the bundle is damaged: " + s.framing.message() + before);
  }
  if (!s.stopped.ok()) {
    return Status::FromCode(
               s.stopped.code(),
               "the import stopped at " + s.stopped.message() + before +
                   ", nothing after it. " +
                   (s.stopped.reason() == "storage_full"
                        ? "Free space on this server's disk, then import"
                        : "Mend this, then import") +
                   " the same file again: what the server already holds is "
                   "recognised and not taken twice")
        .WithReason(s.stopped.reason());
  }
  if (s.change_sets_refused + s.blobs_refused > 0) {
    const uint64_t refused = s.change_sets_refused + s.blobs_refused;
    const bool none = s.change_sets_applied + s.change_sets_repeated +
                          s.blobs_stored + s.blobs_present ==
                      0;
    return Status::PermissionDenied(
        std::to_string(refused) + (refused == 1 ? " record" : " records") +
        " refused (see above); " +
        (none ? "nothing was imported" : "the others were imported"));
  }
  // Rows refused inside change sets that went in (a revoked device's rows
  // after its revocation, a row outside its districts) are refusals too:
  // a script checking the exit code must not read them as all taken.
  if (!s.row_refusals.empty()) {
    const size_t rows = s.row_refusals.size();
    return Status::PermissionDenied(
        std::to_string(rows) + (rows == 1 ? " row" : " rows") +
        " refused (see above; kept for the office: kbo-server refused list); "
        "everything else was imported");
  }
  return Status();
}

// The one argument of `kbo-server photo VERB PHOTO_ID`: a usage error
// without it, kInvalidArgument if it is not a uuid.
Result<Uuid> PhotoIdArg(Context& ctx, const std::vector<std::string>& args,
                        size_t from, const std::string& verb) {
  Args a;
  if (Status s = ParseArgs(ctx, args, from, {}, {}, 1, &a); !s.ok()) return s;
  if (a.positional.size() != 1) return ctx.Usage(verb + " needs a photo id");
  Result<Uuid> photo = Uuid::Parse(a.positional[0]);
  if (!photo.ok()) {
    return Status::InvalidArgument("not a photo id (a uuid): " + a.positional[0]);
  }
  return photo;
}

// kbo-server photo ask-original PHOTO_ID: what the console's "Ask for the
// original" does, from the shell (docs/protocol.md §8).
Status PhotoAskOriginal(Context& ctx, const std::vector<std::string>& args,
                        size_t from) {
  KBO_ASSIGN_OR_RETURN(const Uuid photo,
                       PhotoIdArg(ctx, args, from, "photo ask-original"));
  KBO_ASSIGN_OR_RETURN(ServerStore * store, ctx.Store());
  Scope everywhere;
  everywhere.all = true;
  std::string device;
  {
    Transaction txn(store->db());
    if (!txn.status().ok()) return txn.status();
    KBO_ASSIGN_OR_RETURN(device, storage::Originals(store->db())
                                     .AskOf(photo, everywhere, store->NowIso(), "cli"));
    if (Status s = txn.Commit(); !s.ok()) return s;
  }
  Audit(*store, "original_request", "photo:" + photo.ToString(), "device " + device);
  ctx.out << "asked device " << device << " for the original of photo "
          << photo.ToString() << "; it is sent with the device's next sync\n";
  return Status();
}

// kbo-server photo cancel-original PHOTO_ID: the console's "Cancel the
// request", from the shell.
Status PhotoCancelOriginal(Context& ctx, const std::vector<std::string>& args,
                           size_t from) {
  KBO_ASSIGN_OR_RETURN(const Uuid photo,
                       PhotoIdArg(ctx, args, from, "photo cancel-original"));
  KBO_ASSIGN_OR_RETURN(ServerStore * store, ctx.Store());
  Scope everywhere;
  everywhere.all = true;
  std::string device;
  {
    Transaction txn(store->db());
    if (!txn.status().ok()) return txn.status();
    KBO_ASSIGN_OR_RETURN(device,
                         storage::Originals(store->db()).Cancel(photo, everywhere));
    if (Status s = txn.Commit(); !s.ok()) return s;
  }
  Audit(*store, "original_request_cancelled", "photo:" + photo.ToString(),
        "device " + device);
  ctx.out << "withdrew the request for the original of photo " << photo.ToString()
          << " (device " << device
          << " is no longer asked; an upload it already began goes on)\n";
  return Status();
}

// kbo-server --data DIR copy-to-postgres URL: moves a province from
// DIR/server.db to a new PostgreSQL database (docs/operations.md).
Status CopyToPostgresCmd(Context& ctx, const std::vector<std::string>& args, size_t at) {
  if (IsPostgresUrl(ctx.db_url)) {
    return ctx.Usage("copy-to-postgres reads DIR/server.db (or --db sqlite:PATH): give "
                     "the PostgreSQL URL after the command, not as --db");
  }
  if (at >= args.size()) return ctx.Usage("copy-to-postgres needs the PostgreSQL URL");
  if (at + 1 < args.size()) return ctx.Usage("unexpected argument: " + args[at + 1]);
  const std::string& url = args[at];
  if (!IsPostgresUrl(url)) {
    return ctx.Usage("not a PostgreSQL URL (postgresql://USER@HOST/DB): " +
                     RedactUrl(url).substr(0, 80));
  }
  ctx.lock_kind = FolderLock::Kind::kCopy;  // no other command while it copies
  KBO_ASSIGN_OR_RETURN(ServerStore * store, ctx.Store());
  KBO_ASSIGN_OR_RETURN(std::unique_ptr<Db> pg, OpenPostgres(url));
  if (Status s = Migrate(*pg, schema::kServerPgMigrations, schema::kServerPgMigrations_count);
      !s.ok()) {
    return s;
  }
  std::vector<CopiedTable> copied;
  int64_t rows = 0;
  Status s = CopyToPostgres(store->db(), *pg, &copied, [&](const CopiedTable& t) {
    ctx.out << "  " << t.table << ": " << t.postgres_rows << " rows\n" << std::flush;
  });
  if (!s.ok()) return s;
  for (const CopiedTable& t : copied) rows += t.postgres_rows;
  // From now on the province is the PostgreSQL database: server.db stays as
  // the copy's source, and a command without --db is told so instead of
  // using it.
  if (Status m = WriteFileAtomically(store->paths().moved,
                                     RedactUrl(url) + ", " + FormatIsoUtc(store->NowMillis()) + "\n",
                                     0600);
      !m.ok()) {
    return m;
  }
  ctx.out << "copied " << copied.size() << " tables, " << rows << " rows from "
          << store->paths().db << " to " << RedactUrl(url)
          << "; every table's count matches.\n"
          << "Serve from it with: kbo-server --data " << ctx.data_dir << " --db URL serve\n"
          << "(keep " << ctx.data_dir << ": it holds the server key and the photos; "
          << "server.db is left as it was, and commands without --db now say the "
          << "province moved)\n";
  return Status();
}

Status Dispatch(Context& ctx, const std::vector<std::string>& args, size_t at) {
  const std::string& noun = args[at];
  const std::string verb = at + 1 < args.size() ? args[at + 1] : "";
  ctx.may_create = noun == "serve" || (noun == "token" && verb == "create") ||
                   (noun == "user" && verb == "add");
  if (noun == "serve") return Serve(ctx, args, at + 1);
  if (noun == "copy-to-postgres") return CopyToPostgresCmd(ctx, args, at + 1);
  if (noun == "list") return ListEntity(ctx, args, at + 1);
  if (noun == "token" && verb == "create")
    return TokenCreate(ctx, args, at + 2);
  if (noun == "token" && verb == "list") return TokenList(ctx, args, at + 2);
  if (noun == "token" && verb == "cancel")
    return TokenCancel(ctx, args, at + 2);
  if (noun == "device" && verb == "label")
    return DeviceLabel(ctx, args, at + 2);
  if (noun == "device" && verb == "list") return DeviceList(ctx, args, at + 2);
  if (noun == "device" && verb == "revoke")
    return DeviceRevoke(ctx, args, at + 2);
  if (noun == "device" && verb == "grant")
    return DeviceGrant(ctx, args, at + 2);
  if (noun == "conflicts" && verb == "list")
    return ConflictsList(ctx, args, at + 2);
  if (noun == "refused" && verb == "list") return RefusedList(ctx, args, at + 2);
  if (noun == "conflicts" && verb == "resolve")
    return ConflictsResolve(ctx, args, at + 2);
  if (noun == "export" && verb == "csv")
    return ExportCmd(ctx, args, at + 2, /*xlsx=*/false);
  if (noun == "export" && verb == "xlsx")
    return ExportCmd(ctx, args, at + 2, /*xlsx=*/true);
  if (noun == "user") {
    return console::UserCommand(
        std::vector<std::string>(args.begin() + static_cast<long>(at) + 1,
                                 args.end()),
        [&ctx] { return ctx.Store(); }, std::cin, ctx.out, ctx.err,
        &ctx.usage_error);
  }
  if (noun == "history") return HistoryCmd(ctx, args, at + 1);
  if (noun == "photo" && verb == "ask-original")
    return PhotoAskOriginal(ctx, args, at + 2);
  if (noun == "photo" && verb == "cancel-original")
    return PhotoCancelOriginal(ctx, args, at + 2);
  if (noun == "bundle" && verb == "import")
    return BundleImport(ctx, args, at + 2);
  if (noun == "producer") {
    return ProducerCommand(
        std::vector<std::string>(args.begin() + static_cast<long>(at) + 1,
                                 args.end()),
        [&ctx] { return ctx.Store(); }, ctx.out, &ctx.usage_error);
  }
  if (noun == "restore") {
    return RestoreCommand(
        std::vector<std::string>(args.begin() + static_cast<long>(at) + 1,
                                 args.end()),
        [&ctx] { return ctx.Store(); }, ctx.out, &ctx.usage_error);
  }
  if (noun == "delete") {
    return DeleteCommand(
        std::vector<std::string>(args.begin() + static_cast<long>(at) + 1,
                                 args.end()),
        [&ctx] { return ctx.Store(); }, ctx.out, &ctx.usage_error);
  }
  if (noun == "report" || noun == "target" || noun == "workshop") {
    return ReportCommand(
        noun,
        std::vector<std::string>(args.begin() + static_cast<long>(at) + 1,
                                 args.end()),
        [&ctx] { return ctx.Store(); }, ctx.out, &ctx.usage_error);
  }
  // A command named without its subcommand ("token"): said so, with its
  // usage after it.
  if (verb.empty() && UsageOf(noun) != kUsage) {
    return ctx.Usage("'" + noun + "' needs a command after it:");
  }
  return ctx.Usage("unknown command '" + noun +
                   (verb.empty() ? "" : " " + verb) + "'");
}

// The global flags (--data, --db) given after the command (`kbo-server
// serve --data DIR --listen ...`, `list producer --data DIR`, as `kbo`
// takes --home anywhere), moved before it. Not a "--data" that is another
// flag's value (`--reason --data`: after a flag that takes one, which is
// every flag but the switches below), nor one with no value after it (a
// bare "--data" last took the command word as the folder): those stay for
// the command to refuse.
std::vector<std::string> GlobalFlagsFirst(const std::vector<std::string>& args) {
  // Every switch (a flag without a value) of every kbo-server command.
  static const std::set<std::string, std::less<>> kSwitches = {
      "--json", "--all", "--open", "--cascade", "--no-zstd", "--raw", "--help", "-h"};
  size_t command = 0;
  while (command < args.size()) {
    const std::string& a = args[command];
    if (a == "--data" || a == "--db") {
      command += 2;
    } else if (!a.empty() && a[0] == '-') {
      ++command;
    } else {
      break;
    }
  }
  if (command >= args.size()) return args;
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(command));
  std::vector<std::string> rest;
  const auto takes_value = [&](const std::string& flag) {
    return flag.size() > 2 && flag.rfind("--", 0) == 0 &&
           flag.find('=') == std::string::npos && kSwitches.count(flag) == 0;
  };
  for (size_t j = command; j < args.size(); ++j) {
    const std::string& a = args[j];
    if (a == "--") {  // the rest is the command's, as given
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(j), args.end());
      break;
    }
    const bool a_value = !rest.empty() && j > command && takes_value(rest.back());
    if (!a_value && (a == "--data" || a == "--db") && j + 1 < args.size() &&
        !args[j + 1].empty() && args[j + 1][0] != '-') {
      out.push_back(a);
      out.push_back(args[++j]);
      continue;
    }
    if (!a_value && (a.rfind("--data=", 0) == 0 || a.rfind("--db=", 0) == 0)) {
      out.push_back(a);
      continue;
    }
    rest.push_back(a);
  }
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

int Run(const std::vector<std::string>& as_given, std::ostream& out,
        std::ostream& err) {
  const std::vector<std::string> args = GlobalFlagsFirst(as_given);
  Context ctx{out, err, "kbo-data", "", false, nullptr, false, FolderLock::Kind::kShared, std::nullopt};
  // The global flags, once each (as every other flag): a second --data
  // silently won, and a list could read another province than meant.
  bool data_given = false;
  bool db_given = false;
  const auto twice = [&](bool* given, const char* flag) {
    if (!*given) {
      *given = true;
      return false;
    }
    err << "kbo-server: " << flag << " given twice\n" << kUsage;
    return true;
  };
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
    if (a == "--version") {
      out << "kbo-server " << kVersion << " (protocol " << protocol::kVersion
          << ")\n";
      return 0;
    }
    if ((a == "--data" || a.rfind("--data=", 0) == 0) && twice(&data_given, "--data")) {
      return 2;
    }
    if ((a == "--db" || a.rfind("--db=", 0) == 0) && twice(&db_given, "--db")) return 2;
    if (a == "--data") {
      if (i + 1 >= args.size()) {
        err << "kbo-server: --data needs a folder\n" << kUsage;
        return 2;
      }
      ctx.data_dir = args[++i];
      continue;
    }
    if (a.rfind("--data=", 0) == 0) {
      ctx.data_dir = a.substr(7);
      continue;
    }
    if (a == "--db" || a.rfind("--db=", 0) == 0) {
      if (a == "--db" && i + 1 >= args.size()) {
        err << "kbo-server: --db needs a URL (postgresql://USER@HOST/DB)\n" << kUsage;
        return 2;
      }
      ctx.db_url = a == "--db" ? args[++i] : a.substr(5);
      if (!IsPostgresUrl(ctx.db_url) && !SqliteUrlPath(ctx.db_url)) {
        err << "kbo-server: --db takes sqlite:PATH or a PostgreSQL URL "
               "(postgresql://USER@HOST/DB), not '"
            << RedactUrl(ctx.db_url).substr(0, 80)
            << "'; without --db the database is DIR/server.db\n";
        return 2;
      }
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      err << "kbo-server: unknown option " << a << "\n" << kUsage;
      return 2;
    }
    break;
  }
  if (i >= args.size()) {
    err << kUsage;
    return 2;
  }
  if (ctx.data_dir.empty()) {
    err << "kbo-server: --data needs a folder\n";
    return 2;
  }
  // --db sqlite:DIR/server.db alone, DIR a server's folder (its key there)
  // and ./kbo-data not: the folder is DIR, not ./kbo-data, where no key
  // would be found. A database kept apart from its folder (another disk)
  // still takes --data, or ./kbo-data.
  if (!data_given) {
    if (const std::optional<std::string> file = SqliteUrlPath(ctx.db_url)) {
      std::string folder = std::filesystem::path(*file).parent_path().string();
      if (folder.empty()) folder = ".";
      std::error_code ec;
      if (!std::filesystem::exists(ctx.data_dir + "/server.key", ec) &&
          std::filesystem::exists(folder + "/server.key", ec)) {
        ctx.data_dir = folder;
      }
    }
  }
  for (size_t j = i; j < args.size(); ++j) {
    if (args[j] == "--help" || args[j] == "-h") {
      out << kUsage;
      return 0;
    }
  }
  const Status s = Dispatch(ctx, args, i);
  if (s.ok()) return 0;
  err << "kbo-server: " << s.message() << "\n";
  if (s.reason() == kBusyReason) {
    err << "kbo-server: nothing was written; another process (the server, "
           "an import) was writing to the database: run the command again\n";
  }
  if (ctx.usage_error) {
    err << UsageOf(args[i]);
    return 2;
  }
  return ExitCodeFor(s.code());
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  try {
    return Run(args, out, err);
  } catch (const std::exception& e) {
    err << "kbo-server: internal error: " << e.what() << "\n";
  } catch (...) {
    err << "kbo-server: internal error\n";
  }
  return 1;
}

int RunCli(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return RunCli(args, std::cout, std::cerr);
}

}  // namespace kbo::server
