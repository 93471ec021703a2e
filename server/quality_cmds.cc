#include "server/quality_cmds.h"

#include "server/data_quality.h"
#include "server/enrolment.h"
#include "server/office_delete.h"
#include "shared/rows_under.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

namespace {

// Positional words and --reason R (or --reason=R) of args[from...]; a usage
// error for any other option. `command` names it in messages.
// With `cascade` given, --cascade sets it.
Status ParseReasonArgs(const std::vector<std::string>& args, size_t from,
                       const std::string& command,
                       std::vector<std::string>* words, std::string* reason,
                       bool* have_reason, bool* usage_error,
                       bool* cascade = nullptr) {
  const auto usage = [usage_error](const std::string& message) {
    *usage_error = true;
    return Status::InvalidArgument(message);
  };
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--reason") {
      if (i + 1 >= args.size()) return usage("--reason needs a text");
      *reason = args[++i];
      *have_reason = true;
    } else if (a.rfind("--reason=", 0) == 0) {
      *reason = a.substr(9);
      *have_reason = true;
    } else if (a == "--cascade" && cascade != nullptr) {
      *cascade = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage(command + ": unknown option " + a);
    } else {
      words->push_back(a);
    }
  }
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
  bool have_reason = false;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 1, "producer merge", &ids, &reason,
                                      &have_reason, usage_error));
  if (ids.size() != 2) return usage("producer merge needs KEEP and DROP ids");
  if (!have_reason) return usage("producer merge needs --reason R");
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
  const auto usage = [usage_error](const std::string& message) {
    *usage_error = true;
    return Status::InvalidArgument(message);
  };
  std::vector<std::string> words;
  std::string reason;
  bool have_reason = false;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 0, "restore", &words, &reason,
                                      &have_reason, usage_error));
  if (words.size() != 2) return usage("restore needs ENTITY and ID");
  if (!have_reason) return usage("restore needs --reason R");
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
  const auto usage = [usage_error](const std::string& message) {
    *usage_error = true;
    return Status::InvalidArgument(message);
  };
  std::vector<std::string> words;
  std::string reason;
  bool have_reason = false, cascade = false;
  KBO_RETURN_IF_ERROR(ParseReasonArgs(args, 0, "delete", &words, &reason,
                                      &have_reason, usage_error, &cascade));
  if (words.size() != 2) return usage("delete needs ENTITY and ID");
  if (!have_reason) return usage("delete needs --reason R");
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
