#ifndef KBO_SERVER_CONSOLE_USER_CMDS_H_
#define KBO_SERVER_CONSOLE_USER_CMDS_H_

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "server/server_store.h"
#include "shared/result.h"

namespace kbo::server::console {

// `kbo-server user add|list|disable|passwd` (DESIGN §7):
//   user add LOGIN --role admin|office|viewer [--districts CODE,...|all]
//       reads the password from the first line of standard input; prints
//       the new user's id alone on stdout;
//   user list [--json];  user disable LOGIN;  user enable LOGIN;
//   user passwd LOGIN     the new password from standard input.
// `args` are the words after "user". Sets *usage on a usage error (exit 2).
Status UserCommand(const std::vector<std::string>& args,
                   const std::function<Result<ServerStore*>()>& open_store,
                   std::istream& in, std::ostream& out, std::ostream& err,
                   bool* usage);

}  // namespace kbo::server::console

#endif  // KBO_SERVER_CONSOLE_USER_CMDS_H_
