// kbo enroll --server URL --token TOKEN [--force]
// kbo sync [--server URL] [--full]
// kbo bundle export FILE [--photos] [--from SEQ]
//
// Output (docs/cli.md):
//   enroll  "device id: …", "server: …", "role: …", "districts: …" lines on
//           stdout.
//   sync    progress lines on stderr when stderr is a terminal; one summary
//           line on stdout: "synced with URL: pushed 2 change sets (40
//           changes), pulled 12 changes, uploaded 1 photo (2.4 MiB)".
//   bundle  one line on stdout naming what was written.
//
// Exit codes (DESIGN §7): 2 not enrolled / usage; 4 the server cannot be
// reached or failed (everything is kept); 5 the server refused (its reason
// printed); 1 an answer that does not verify against the pinned key or does
// not decode, a wrong device clock, a photo missing from blobs/. Every 4xx
// from the server is exit 5, whatever its code would map to: the server, not
// the person's typing, refused it (ForExit).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "client/bundle.h"
#include "client/cli/cli.h"
#include "client/cli/command.h"
#include "shared/fs.h"
#include "client/sync_client.h"
#include "client/sync_internal.h"

namespace kbo::client::cli {
namespace {

constexpr const char* kHowToEnroll =
    "ask the central office for an enrolment token, then run: kbo enroll "
    "--server URL --token TOKEN";

// The Status RunCli maps to the exit code for a failed enroll or sync.
// An answer that does not decode, or does not verify against the pinned
// key (a page unsigned or cut, a receipt damaged), not a server's refusal.
bool AnswerDidNotCheckOut(const SyncClient& client, const Status& s) {
  return !client.refused_by_server() &&
         (s.code() == Code::kCorruption || s.code() == Code::kUnauthenticated);
}

Status ForExit(const SyncClient& client, const Status& s) {
  if (client.refused_by_server()) {
    // DESIGN §7: 5 = rejected by the server, with its reason.
    if (ExitCodeFor(s.code()) == 5) return s;
    return Status::PermissionDenied(s.message());
  }
  if (AnswerDidNotCheckOut(client, s)) {
    // Not the person's input (exit 2), not a refusal by the server (exit 5):
    // an answer that does not decode, or does not verify against the pinned
    // key. Exit 1, with the message.
    return Status::Internal(s.message());
  }
  return s;
}

// Progress on a terminal: one line per phase, rewritten in place.
class ProgressLine {
 public:
  explicit ProgressLine(std::ostream& err) : err_(err) {}
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() { Finish(); }

  // Ends the line being rewritten (before anything else is printed).
  void Finish() {
    if (open_) err_ << '\n' << std::flush;
    open_ = false;
  }

  // Records and bytes done, the rate and the time left (FormatSyncProgress),
  // measured from the phase's first report.
  void Show(const SyncProgressReport& report) {
    const auto now = std::chrono::steady_clock::now();
    if (!started_ || report.phase != phase_) {
      if (open_) err_ << '\n';
      phase_ = report.phase;
      phase_start_ = now;
      phase_bytes_ = report.wire_bytes;
      started_ = true;
    }
    const double seconds =
        std::chrono::duration<double>(now - phase_start_).count();
    err_ << "\rkbo: "
         << FormatSyncProgress(report, report.wire_bytes - phase_bytes_, seconds)
         << "\x1b[K" << std::flush;
    open_ = true;
  }

 private:
  std::ostream& err_;
  bool open_ = false;
  bool started_ = false;
  SyncPhase phase_ = SyncPhase::kPush;
  std::chrono::steady_clock::time_point phase_start_;
  uint64_t phase_bytes_ = 0;
};

// --server URL into options.server_url (normalized).
Status ServerArg(const ParsedArgs& parsed, SyncOptions* options) {
  if (const std::string* server = parsed.Get("server")) {
    Result<std::string> url = NormalizeServerUrl(*server);
    if (!url.ok())
      return Status::InvalidArgument("--server: " + url.status().message());
    options->server_url = *url;
  }
  return Status();
}

// One sync of an enrolled `store`, as `kbo sync` shows it: progress on a
// terminal, a busy server said on stderr, the summary line on stdout
// ("synced with URL: ..."). `enrolled_url` is where it syncs unless
// options.server_url says otherwise. On failure what went before the cut and
// `on_failure` (if not empty) are said on stderr after the failure's own
// line, and the Status is the one for the exit code.
// `original_refusals` (may be null) gets why the server would not take an
// original asked for.
Status SyncAndSay(Context& ctx, ClientStore& store, SyncOptions options,
                  const std::string& enrolled_url, const std::string& on_failure,
                  std::vector<std::string>* original_refusals) {
  const std::string url =
      options.server_url.empty() ? enrolled_url : options.server_url;
  ProgressLine line(ctx.err);
  if (&ctx.err == &std::cerr && isatty(STDERR_FILENO) == 1) {
    options.progress = [&line](const SyncProgressReport& report) {
      line.Show(report);
    };
  }
  // A busy server (an evening rush) is waited for, said on stderr.
  options.on_busy = [&line, &ctx](int64_t wait_ms) {
    line.Finish();
    ctx.err << "kbo: the server is busy (other devices' changes, or its database); "
               "trying again in "
            << (wait_ms + 999) / 1000 << " s (everything is kept)\n"
            << std::flush;
  };
  // A clock a few minutes off: the sync goes on by the server's clock,
  // and the person hears the phone's is wrong.
  options.on_clock_off = [&line, &ctx](int64_t off_ms) {
    line.Finish();
    const int64_t minutes = (std::abs(off_ms) + 30000) / 60000;
    ctx.err << "kbo: this device's clock is " << minutes
            << (minutes == 1 ? " minute " : " minutes ")
            << (off_ms > 0 ? "ahead of" : "behind")
            << " the server's; this sync goes by the server's clock. Set the "
               "device's date and time right (automatic time is best)\n"
            << std::flush;
  };
  SyncClient client(store, options);
  Result<SyncSummary> r = client.Sync();
  line.Finish();
  if (!r.ok()) {
    // Cut part-way: what went before the cut is kept; a retry does the rest.
    const SyncSummary& done = client.last_summary();
    if (done.pushed_sets > 0 || done.pulled_rows > 0 || done.new_conflicts > 0 ||
        done.blobs_uploaded > 0 || done.originals_uploaded > 0) {
      ctx.after_error.push_back("before it stopped: " + DescribeSummary(done) +
                                " (kept; the next sync goes on from there)");
    }
    if (!on_failure.empty()) ctx.after_error.push_back(on_failure);
    // An answer that did not check out (a page unsigned or cut, a receipt
    // damaged: a bad link or something between the device and the server
    // changed it): nothing of it was taken, and nothing here is lost.
    if (AnswerDidNotCheckOut(client, r.status())) {
      ctx.after_error.push_back(
          "nothing of that answer was taken and everything recorded here is "
          "kept: sync again; if it goes on, the link or something on it (a "
          "proxy) is changing the server's answers — tell the office");
    }
    // Refused at another address than the enrolled one: perhaps another
    // server altogether.
    if (client.refused_by_server() && !options.server_url.empty() &&
        options.server_url != enrolled_url) {
      ctx.after_error.push_back(
          "this device is enrolled with " + enrolled_url +
          "; --server reaches that same server at another address, not "
          "another server (enrolling with another server: kbo enroll)");
    }
    return ForExit(client, r.status());
  }
  ctx.out << "synced with " << url << ": " << DescribeSummary(*r) << '\n';
  // Conflicts waiting for the office, new or not: a sync cut short may have
  // brought some without a summary to say so.
  if (Result<int64_t> open = store.OpenConflictCount(); open.ok() && *open > 0) {
    ctx.err << "kbo: " << *open << (*open == 1 ? " conflict is" : " conflicts are")
            << " waiting for the office (kbo conflicts lists "
            << (*open == 1 ? "it" : "them")
            << "); both values are kept\n";
  }
  // Rows recorded under a row deleted elsewhere (two devices crossing
  // offline): kept, but out of the reports until the office settles them.
  if (Result<int64_t> under = store.UnderDeletedCount(); under.ok() && *under > 0) {
    ctx.err << "kbo: " << *under << (*under == 1 ? " row is" : " rows are")
            << " recorded under a row that was deleted (a producer, workshop, "
               "participant or product): kept, but the reports leave "
            << (*under == 1 ? "it" : "them")
            << " out until the office restores that row or deletes "
            << (*under == 1 ? "it" : "them") << "\n";
  }
  if (original_refusals != nullptr) *original_refusals = client.original_refusals();
  return Status();
}

Status RunEnroll(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(
          ctx, args,
          {{"server", true}, {"token", true}, {"force", false, false}}, {},
          &parsed);
      !s.ok()) {
    return s;
  }
  Result<std::string> url = NormalizeServerUrl(*parsed.Get("server"));
  if (!url.ok())
    return Status::InvalidArgument("--server: " + url.status().message());
  if (parsed.Get("token")->empty()) return UsageError(ctx, "--token is empty");
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  SyncClient client(**store);
  Result<EnrollResult> r =
      client.Enroll(*url, *parsed.Get("token"), parsed.Has("force"));
  if (!r.ok()) {
    if (r.status().code() == Code::kFailedPrecondition &&
        !client.refused_by_server()) {
      // Enrolled elsewhere with data still on its way there: the person
      // decides (--force); nothing was written.
      return Status::InvalidArgument(r.status().message());
    }
    return ForExit(client, r.status());
  }
  ctx.out << "device id:  " << r->device_id.ToString() << '\n'
          << "server:     " << r->server_url << '\n'
          << "role:       " << r->role << '\n'
          << "districts:  " << r->districts << '\n';
  ctx.err << "kbo: enrolled; the server's key "
          << r->server_public_key.substr(0, 16) << "… is pinned"
          << (r->server_changed
                  ? " (this device was enrolled with another server "
                    "before; its changes will go to this one)"
                  : "")
          << '\n';
  if (r->rows_left > 0) {
    ctx.err << "kbo: " << r->rows_left << (r->rows_left == 1 ? " row" : " rows")
            << " of districts this device no longer has "
            << (r->rows_left == 1 ? "was" : "were")
            << " removed from it (the server keeps them; what was typed into "
               "them and not yet sent still goes, and is refused)\n";
  }
  if (r->forked_from.has_value() && r->key_was_taken) {
    ctx.err << "kbo: this device's key (device.key) was already enrolled as another "
               "device (its field.db lost or replaced?), so it is enrolled as device "
            << r->device_id.ToString()
            << " with a new key; the office may revoke the other one\n";
  } else if (r->forked_from.has_value() && r->was_revoked) {
    ctx.err << "kbo: the server had revoked this device, "
            << r->forked_from->ToString() << ", so it is enrolled with the new token as a "
               "new device, "
            << r->device_id.ToString() << ", with a new key; "
            << r->moved_rows << (r->moved_rows == 1 ? " change" : " changes")
            << " the server had not confirmed will go as its own at the next "
               "kbo sync, and what the server holds comes back then.\n";
  } else if (r->forked_from.has_value()) {
    ctx.err << "kbo: this device's change sets had forked from the server's (a "
               "phone restored from a backup, or copied), so it is enrolled as a "
               "new device, "
            << r->device_id.ToString() << ", with a new key; "
            << r->moved_rows << (r->moved_rows == 1 ? " change" : " changes")
            << " the server had not confirmed will go as its own at the next "
               "kbo sync, and what the server holds comes back then. The office "
               "may revoke the old device, "
            << r->forked_from->ToString() << ".\n";
  }
  return Status();
}

Status RunSync(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s =
          ParseArgs(ctx, args, {{"server", false}, {"full", false, false}}, {}, &parsed);
      !s.ok()) {
    return s;
  }
  SyncOptions options;
  options.full_pull = parsed.Has("full");
  if (Status s = ServerArg(parsed, &options); !s.ok()) return s;
  Result<ClientStore*> opened = ctx.Store();
  if (!opened.ok()) return opened.status();
  ClientStore& store = **opened;
  Result<StoreStatus> st = store.GetStatus();
  if (!st.ok()) return st.status();
  if (!st->enrolled) {
    return Status::InvalidArgument("this device is not enrolled yet: " +
                                   std::string(kHowToEnroll));
  }
  return SyncAndSay(ctx, store, std::move(options), st->server, "", nullptr);
}

// kbo photo upload-originals (--photo ID ... | --all) [--server URL]
//
// Photos sync as downscaled upload copies; the originals stay here. This
// asks for the originals of the given photos (or all) to go too, and syncs
// at once (push first: the server takes an original only of a photo row it
// holds). What could not go now stays asked for and goes with the next
// `kbo sync`; so do the originals the office asks for in its console.
// Exit codes as `kbo sync`; 3 for a photo with no original here; 5 when the
// server refused an original (its reasons on stderr).
Status RunUploadOriginals(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args,
                           {{"photo", false, true, true},
                            {"all", false, false},
                            {"server", false}},
                           {}, &parsed);
      !s.ok()) {
    return s;
  }
  const std::vector<std::string> given = parsed.GetAll("photo");
  if (given.empty() && !parsed.Has("all")) {
    return UsageError(ctx, "name the photos (--photo ID, repeatable) or give --all");
  }
  std::vector<Uuid> photos;
  for (const std::string& text : given) {
    Result<Uuid> id = IdArg(text, "photo id");
    if (!id.ok()) return id.status();
    photos.push_back(*id);
  }
  SyncOptions options;
  if (Status s = ServerArg(parsed, &options); !s.ok()) return s;
  Result<ClientStore*> opened = ctx.Store();
  if (!opened.ok()) return opened.status();
  ClientStore& store = **opened;
  Result<StoreStatus> st = store.GetStatus();
  if (!st.ok()) return st.status();
  if (!st->enrolled) {
    return Status::InvalidArgument("this device is not enrolled yet: " +
                                   std::string(kHowToEnroll));
  }
  Result<ClientStore::OriginalsAsked> asked =
      store.AskForOriginals(photos, parsed.Has("all"));
  if (!asked.ok()) return asked.status();
  if (asked->originals == 0) {
    ctx.out << "no originals to send"
            << (asked->sent_before > 0
                    ? " (" + std::to_string(asked->sent_before) +
                          " sent before; `kbo sync` finishes any cut short)"
                    : "")
            << '\n';
    return Status();
  }
  ctx.err << "kbo: " << asked->originals
          << (asked->originals == 1 ? " original (" : " originals (")
          << MiB(asked->bytes) << ") to send\n";
  std::vector<std::string> refusals;
  if (Status s = SyncAndSay(ctx, store, std::move(options), st->server,
                            "the originals stay asked for; they go with the "
                            "next kbo sync",
                            &refusals);
      !s.ok()) {
    return s;
  }
  if (!refusals.empty()) {
    for (const std::string& why : refusals) ctx.err << "kbo: " << why << '\n';
    return Status::PermissionDenied(
        std::to_string(refusals.size()) +
        " original(s) not taken by the server (kept here, still asked for)");
  }
  return Status();
}

Status RunBundleExport(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s =
          ParseArgs(ctx, args, {{"photos", false, false}, {"from"}}, {"FILE"}, &parsed);
      !s.ok()) {
    return s;
  }
  const std::string& path = parsed.positional[0];
  // --from SEQ: the sets from SEQ on, confirmed ones too (the office's
  // restored server asks for them by number).
  uint64_t from_seq = 0;
  if (const std::string* from = parsed.Get("from")) {
    const std::optional<uint64_t> n = ParseUint64(*from, INT64_MAX);
    if (!n || *n == 0) {
      return UsageError(ctx, "--from takes a change set number (1 or more), as the "
                             "office's import names it; not '" + *from + "'");
    }
    from_seq = *n;
  }
  if (IsDirectory(path)) {
    return UsageError(ctx, path + " is a folder; name the bundle file in it, "
                           "e.g. " + path + "/phrao.kbo");
  }
  // A folder that is not there (a USB stick not mounted, a typo): said
  // before anything is prepared.
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : path.substr(0, slash);
  if (!folder.empty() && !IsDirectory(folder)) {
    return Status::NotFound("no folder " + folder + " to write " + path +
                            " in (is the USB stick plugged in?); nothing was written");
  }
  Result<ClientStore*> opened = ctx.Store();
  if (!opened.ok()) return opened.status();
  ClientStore& store = **opened;
  Result<StoreStatus> st = store.GetStatus();
  if (!st.ok()) return st.status();
  Result<BundleSummary> b = ExportBundle(store, path, parsed.Has("photos"), from_seq);
  if (!b.ok()) return b.status();

  std::string line = "wrote " + path + ": ";
  if (b->change_sets == 0) {
    line += "no change sets (nothing is waiting for the server)";
  } else {
    line += std::to_string(b->change_sets) +
            (b->change_sets == 1 ? " change set (#" : " change sets (#") +
            std::to_string(b->first_seq) +
            (b->first_seq == b->last_seq ? ""
                                         : "-#" + std::to_string(b->last_seq)) +
            ", " + std::to_string(b->rows) +
            (b->rows == 1 ? " change)" : " changes)");
  }
  if (parsed.Has("photos")) {
    line += ", " + std::to_string(b->photos) +
            (b->photos == 1 ? " photo (" : " photos (") + MiB(b->photo_bytes) +
            ")";
  }
  line += "; " + std::to_string(b->file_bytes) + " bytes";
  ctx.out << line << '\n';
  if (!st->enrolled) {
    ctx.err << "kbo: this device is not enrolled yet; the server refuses its "
               "change sets until it is ("
            << kHowToEnroll << ")\n";
  } else if (!parsed.Has("photos") && st->pending_blobs > 0) {
    ctx.err << "kbo: " << st->pending_blobs
            << (st->pending_blobs == 1 ? " photo is" : " photos are")
            << " not in the bundle (add --photos to carry them too)\n";
  }
  if (st->refused_blobs > 0) {
    ctx.err << "kbo: " << st->refused_blobs
            << (st->refused_blobs == 1 ? " photo" : " photos")
            << " larger than a server takes "
            << (st->refused_blobs == 1 ? "is" : "are")
            << " not in the bundle; kept on this device only\n";
  }
  return Status();
}

}  // namespace

std::vector<Command> SyncCommands() {
  std::vector<Command> c;
  c.push_back({"enroll", "", "enroll --server URL --token TOKEN [--force]",
               "register this device with the server, once (token from the "
               "office)",
               RunEnroll});
  c.push_back({"sync", "", "sync [--server URL] [--full]",
               "push changes, pull this device's districts, upload photos "
               "(--full: pull every row whole again, e.g. to repair rows with empty "
               "fields pulled by an older kbo)",
               RunSync});
  c.push_back(
      {"photo", "upload-originals",
       "photo upload-originals (--photo ID ... | --all) [--server URL]",
       "send the photos as taken (photos sync as downscaled copies; the "
       "originals stay on this device until asked for, here or by the office) "
       "and sync now; what cannot go now goes with the next sync",
       RunUploadOriginals});
  c.push_back(
      {"bundle", "export", "bundle export FILE [--photos] [--from SEQ]",
       "write unsynced changes (and photos) to a file for bundle import",
       RunBundleExport});
  return c;
}

}  // namespace kbo::client::cli
