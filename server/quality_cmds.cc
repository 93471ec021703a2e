#include "server/quality_cmds.h"

#include "server/data_quality.h"
#include "server/enrolment.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

namespace {

// Positional words and --reason R (or --reason=R) of args[from...]; a usage
// error for any other option. `command` names it in messages.
Status ParseReasonArgs(const std::vector<std::string>& args, size_t from,
                       const std::string& command,
                       std::vector<std::string>* words, std::string* reason,
                       bool* have_reason, bool* usage_error) {
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
    } else if (a.size() > 1 && a[0] == '-') {
      return usage(command + ": unknown option " + a);
    } else {
      words->push_back(a);
    }
  }
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
  Result<ServerStore*> s = store();
  if (!s.ok()) return s.status();
  ServerStore& st = **s;
  Scope all;
  all.all = true;
  Transaction tx(st.db());
  if (!tx.status().ok()) return tx.status();
  Result<MergeCounts> m =
      MergeProducers(st, all, ids[0], ids[1], reason, "cli", "");
  if (!m.ok()) return m.status();
  if (Status c = tx.Commit(); !c.ok()) return c;
  st.NoteCommittedSequences();
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
  Result<ServerStore*> s = store();
  if (!s.ok()) return s.status();
  ServerStore& st = **s;
  Scope all;
  all.all = true;
  Transaction tx(st.db());
  if (!tx.status().ok()) return tx.status();
  Result<RestoredRow> r =
      RestoreDeletedRow(st, all, words[0], words[1], reason, "cli", "");
  if (!r.ok()) return r.status();
  if (Status c = tx.Commit(); !c.ok()) return c;
  st.NoteCommittedSequences();
  out << "restored " << r->entity << " " << r->id << " (" << r->name
      << "): the reports count what is recorded under it again ("
      << r->rows_under << (r->rows_under == 1 ? " row names" : " rows name")
      << " it)\n";
  return Status();
}

}  // namespace kbo::server
