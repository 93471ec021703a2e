#include "server/quality_cmds.h"

#include "server/data_quality.h"
#include "server/enrolment.h"
#include "shared/sqlite/db.h"

namespace kbo::server {

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
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--reason") {
      if (i + 1 >= args.size()) return usage("--reason needs a text");
      reason = args[++i];
      have_reason = true;
    } else if (a.rfind("--reason=", 0) == 0) {
      reason = a.substr(9);
      have_reason = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage("producer merge: unknown option " + a);
    } else {
      ids.push_back(a);
    }
  }
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

}  // namespace kbo::server
