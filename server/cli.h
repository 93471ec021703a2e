#ifndef KBO_SERVER_CLI_H_
#define KBO_SERVER_CLI_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "shared/status.h"

namespace kbo::server {

// The `kbo-server` command line (DESIGN §7; docs/operations.md). A contract:
//   kbo-server [--data DIR] [--help | --version] COMMAND ...
//     serve [--listen 127.0.0.1:8787] [--tls-cert F --tls-key F]
//     token create --role field_officer|trainer|central_office
//                  --districts CODE[,CODE...]|all [--ttl 24h]
//     device list [--json] | device revoke ID
//     list ENTITY [--json]
//     conflicts list [--json] [--open]
//     conflicts resolve ID --value V | --keep SEQ|current|incoming
//     export csv --out DIR [--fiscal-year BE] [--district CODE]
//                [--lang th|en] [--raw]
//     export xlsx --out FILE.xlsx [--fiscal-year BE] [--district CODE]
//                 [--lang th|en]
//     bundle import FILE
// Reports go to `out` (`token create` prints the token alone; `serve` prints
// "listening on HOST:PORT" once bound); errors go to `err` as
// "kbo-server: <message>". Exit codes (kbo::ExitCodeFor, shared/status.h): 0 done;
// 2 usage or invalid input; 3 not found; 4 the database is busy or
// unreachable (try again); 5 refused (a bundle record refused, ...);
// 1 anything else. Never throws.
int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err);

// main(): RunCli with std::cout / std::cerr.
int RunCli(int argc, char** argv);

}  // namespace kbo::server

#endif  // KBO_SERVER_CLI_H_
