#include "server/quality_cmds.h"

#include <utility>

#include "server/cli_args.h"
#include "server/data_quality.h"
#include "server/enrolment.h"
#include "server/office_delete.h"
#include "shared/rows_under.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

namespace {

// KEEP DROP, or ENTITY ID, and --reason R of args[from...] (server/cli_args.h);
// with `cascade` given, the switch --cascade too. A reason is required.
Status ParseReasonArgs(const std::vector<std::string>& args, size_t from,
                       const std::string& command, const char* words_needed,
                       std::vector<std::string>* words, std::string* reason,
                       bool* usage_error, bool* cascade = nullptr) {
  CliArgs parsed;
  KBO_RETURN_IF_ERROR(ParseCliArgs(args, from, {"reason"},
                                   cascade ? FlagNames{"cascade"} : FlagNames{},
                                   2, &parsed, usage_error));
  const auto usage = [usage_error](const std::string& message) {
    *usage_error = true;
    return Status::InvalidArgument(message);
  };
  if (parsed.positional.size() != 2) return usage(command + " needs " + words_needed);
  const std::string* r = parsed.Get("reason");
  if (!r) return usage(command + " needs --reason R");
  *words = std::move(parsed.positional);
  *reason = *r;
  if (cascade) *cascade = parsed.Has("cascade");
  return Status();
}

// Runs `write` on the store, all districts in scope, in one transaction,
// committed (and the sequences noted) when it succeeds.
Status WriteAsCli(const std::function<Result<ServerStore*>()>& store,
                  const std::function<Status(ServerStore&, const Scope&)>& write) {
  Result<ServerStore*> s = store();
  if (!s.ok()) return s.status();
  ServerStore& st = **s;
  Scope all;
  all.all = true;
  Transaction tx(st.db());
  if (!tx.status().ok()) return tx.status();
  KBO_RETURN_IF_ERROR(write(st, all));
  KBO_RETURN_IF_ERROR(tx.Commit());
  st.NoteCommittedSequences();
  return Status();
}

}  // namespace

Status ProducerCommand(const std::vector<std::string>& args,
                       const std::function<Result<ServerStore*>()>& store,
                       std::ostream& out, bool* usage_error) {
  const auto usage = [usage_error](const std::string& message) {
    *usage_error = true;
    return Status::InvalidArgument(message);
  };
  if (args.empty() || args[0] != "merge") {
    return usage("producer: the command is 'producer merge KEEP DROP --reason R'");
  }
  std::vector<std::string> ids;
  std::string reason;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 1, "producer merge", "KEEP and DROP ids",
                                      &ids, &reason, usage_error));
  Result<MergeCounts> m = Status::Internal("not merged");
  KBO_RETURN_IF_ERROR(WriteAsCli(store, [&](ServerStore& st, const Scope& all) {
    m = MergeProducers(st, all, ids[0], ids[1], reason, "cli", "");
    return m.status();
  }));
  out << "merged " << ids[1] << " (" << m->drop_name << ") into " << ids[0]
      << " (" << m->keep_name << "): " << m->Summary() << "\n";
  return Status();
}

Status RestoreCommand(const std::vector<std::string>& args,
                      const std::function<Result<ServerStore*>()>& store,
                      std::ostream& out, bool* usage_error) {
  std::vector<std::string> words;
  std::string reason;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 0, "restore", "ENTITY and ID", &words,
                                      &reason, usage_error));
  Result<RestoredRow> r = Status::Internal("not restored");
  KBO_RETURN_IF_ERROR(WriteAsCli(store, [&](ServerStore& st, const Scope& all) {
    r = RestoreDeletedRow(st, all, words[0], words[1], reason, "cli", "");
    return r.status();
  }));
  if (!r->moved_into.empty()) {
    out << "not restored: " << r->entity << " " << r->id << " (" << r->name
        << ") was merged into " << r->moved_into
        << (r->moved_into_name.empty() ? "" : " (" + r->moved_into_name + ")") << "; "
        << r->moved << (r->moved == 1 ? " row" : " rows")
        << " recorded under it since were moved there\n";
    return Status();
  }
  if (r->undone) {
    out << "restored " << r->entity << " " << r->id << " (" << r->name
        << ")";
    if (r->restored_with > 0) {
      out << " and " << r->restored_with
          << (r->restored_with == 1 ? " row" : " rows") << " deleted with it";
    }
    out << ": the office's delete is undone\n";
    return Status();
  }
  out << "restored " << r->entity << " " << r->id << " (" << r->name << ")";
  if (r->restored_with > 0) {
    out << " and " << r->restored_with << (r->restored_with == 1 ? " row" : " rows")
        << " its delete took with it";
  }
  out << ": the reports count what is recorded under it again (" << r->rows_under
      << (r->rows_under == 1 ? " row names" : " rows name") << " it)\n";
  return Status();
}

Status DeleteCommand(const std::vector<std::string>& args,
                     const std::function<Result<ServerStore*>()>& store,
                     std::ostream& out, bool* usage_error) {
  std::vector<std::string> words;
  std::string reason;
  bool cascade = false;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 0, "delete", "ENTITY and ID", &words,
                                      &reason, usage_error, &cascade));
  Result<OfficeDeleted> d = Status::Internal("not deleted");
  const Status done =
      WriteAsCli(store, [&](ServerStore& st, const Scope& all) {
        d = DeleteAsOffice(st, all, words[0], words[1], reason,
                           cascade ? RowsUnder::kCascade : RowsUnder::kRefuse,
                           "cli", "");
        return d.status();
      });
  if (!done.ok()) {
    // The way out, in this program's words.
    return WithCascadeHint(done, "kbo-server delete " + words[0] + " " + words[1] +
                                     " --reason R --cascade");
  }
  out << "deleted " << d->entity << " " << d->id;
  if (!d->name.empty()) out << " (" << d->name << ")";
  if (!d->under.empty()) out << " and " << CountedRows(d->under) << " under it";
  out << "; devices receive it when they next sync\n";
  return Status();
}

}  // namespace kbo::server
