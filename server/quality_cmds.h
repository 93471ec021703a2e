#ifndef KBO_SERVER_QUALITY_CMDS_H_
#define KBO_SERVER_QUALITY_CMDS_H_

// The data-quality commands of `kbo-server` (docs/cli.md), kept out of
// server/cli.cc, which only hands them their arguments:
//
//   producer merge KEEP DROP --reason R
//   restore ENTITY ID --reason R
//   delete ENTITY ID --reason R [--cascade]
//
// `producer merge` merges producer DROP into KEEP (server/data_quality.h:
// references repointed, DROP tombstoned, all as signed changes of the
// server, one transaction, audited as actor "cli") and prints
// "merged DROP into KEEP: products=N enrolments=N visits=N photos=N".
// `restore` restores a deleted row that live rows are recorded under
// (RestoreDeletedRow: a signed change of the server, audited as "cli") and
// prints "restored ENTITY ID (NAME): the reports count what is recorded
// under it again (N rows name it)".
// `delete` deletes a row as the office (DeleteAsOffice: signed changes of
// the server, audited as "cli"), refusing while rows are recorded under it
// unless --cascade, and prints "deleted ENTITY ID (NAME)[ and N ROWS under
// it]; devices receive it when they next sync".

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server {

// `args` are the words after "producer". A usage error sets *usage_error
// and returns kInvalidArgument (the caller prints the usage, exit 2);
// MergeProducers' errors otherwise (kInvalidArgument: exit 2, e.g. across
// districts or a deleted producer; kNotFound: exit 3).
Status ProducerCommand(const std::vector<std::string>& args,
                       const std::function<Result<ServerStore*>()>& store,
                       std::ostream& out, bool* usage_error);

// `args` are the words after "restore". As ProducerCommand for usage
// errors; RestoreDeletedRow's errors otherwise (kInvalidArgument: exit 2,
// e.g. a row that is not deleted; kNotFound: exit 3).
Status RestoreCommand(const std::vector<std::string>& args,
                      const std::function<Result<ServerStore*>()>& store,
                      std::ostream& out, bool* usage_error);

// `args` are the words after "delete". As ProducerCommand for usage
// errors; DeleteAsOffice's errors otherwise (kInvalidArgument: exit 2,
// e.g. rows under it without --cascade, with the --cascade command line
// added to the message; kNotFound: exit 3).
Status DeleteCommand(const std::vector<std::string>& args,
                     const std::function<Result<ServerStore*>()>& store,
                     std::ostream& out, bool* usage_error);

#define KBO_SERVER_QUALITY_USAGE                                           \
  "  producer merge KEEP DROP --reason R   merge two records of one\n"      \
  "         producer (same district): references move to KEEP, DROP is\n"  \
  "         deleted\n"                                                      \
  "  restore ENTITY ID --reason R   undelete a row that live rows were\n"   \
  "         recorded under (the console's \"Recorded under a deleted row\"),\n" \
  "         so the reports count them again; or undo the office's delete\n"  \
  "         of a row, with what it took\n"                            \
  "  delete ENTITY ID --reason R [--cascade]   delete a row as the office;\n" \
  "         refused while rows are recorded under it, unless --cascade\n"   \
  "         deletes them with it\n"

}  // namespace kbo::server

#endif  // KBO_SERVER_QUALITY_CMDS_H_
