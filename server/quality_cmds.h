#ifndef KBO_SERVER_QUALITY_CMDS_H_
#define KBO_SERVER_QUALITY_CMDS_H_

// The data-quality commands of `kbo-server` (docs/cli.md), kept out of
// server/cli.cc, which only hands them their arguments:
//
//   producer merge KEEP DROP --reason R
//
// Merges producer DROP into KEEP (server/data_quality.h: references
// repointed, DROP tombstoned, all as signed changes of the server, one
// transaction, audited as actor "cli") and prints
// "merged DROP into KEEP: products=N enrolments=N visits=N photos=N".

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

#define KBO_SERVER_QUALITY_USAGE                                          \
  "  producer merge KEEP DROP --reason R   merge two records of one\n"     \
  "         producer (same district): references move to KEEP, DROP is\n" \
  "         deleted\n"

}  // namespace kbo::server

#endif  // KBO_SERVER_QUALITY_CMDS_H_
