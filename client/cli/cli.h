#ifndef KBO_CLIENT_CLI_CLI_H_
#define KBO_CLIENT_CLI_CLI_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "shared/status.h"

namespace kbo::client {

// The `kbo` command line (DESIGN §7; docs/cli.md). A contract: scripts and
// people depend on its flags, its output and its exit codes.
//
// Output: every `add` (and `attendance mark`, `contest score`, `photo add`)
// prints the row's id alone on `out`, one line; `list`/`show`/`status` print
// their report on `out`; everything meant for a person (errors as
// "kbo: <message>", progress, usage after a usage error) goes to `err`.
//
// Exit codes (kbo::ExitCodeFor, shared/status.h): 0 done; 2 invalid input or usage, nothing
// written; 3 not found; 4 server unreachable; 5 rejected by the server;
// 1 anything else.
//
// Never throws: a stray exception from a library is reported as an internal
// error (exit 1).

// `args` is argv without the program name. Not thread-safe (opens the home's
// store for the duration of the command).
int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err);

// main(): RunCli with std::cout / std::cerr.
int RunCli(int argc, char** argv);

}  // namespace kbo::client

#endif  // KBO_CLIENT_CLI_CLI_H_
