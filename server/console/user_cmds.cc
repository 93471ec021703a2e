#include "server/console/user_cmds.h"

#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "server/cli_args.h"
#include "server/console/users.h"
#include "shared/entities.h"

namespace kbo::server::console {
namespace {

// The first line of `in`, without its line end. kInvalidArgument if there
// is none (an empty standard input) or it is empty.
Result<std::string> ReadPassword(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) {
    return Status::InvalidArgument(
        "give the password on the first line of standard input, e.g. "
        "read -rs P && printf '%s\\n' \"$P\" | kbo-server user add ...");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return Status::InvalidArgument("the password is empty");
  }
  return line;
}

}  // namespace

Status UserCommand(const std::vector<std::string>& args,
                   const std::function<Result<ServerStore*>()>& open_store,
                   std::istream& in, std::ostream& out, std::ostream& err,
                   bool* usage) {
  const auto usage_error = [&](const std::string& message) {
    *usage = true;
    // (The command line prints the user commands' usage after it, once.)
    return Status::InvalidArgument(message);
  };
  if (args.empty()) return usage_error("user needs a command");
  const std::string verb = args[0];
  if (verb != "add" && verb != "list" && verb != "disable" && verb != "enable" &&
      verb != "passwd") {
    return usage_error("unknown command 'user " + verb + "'");
  }
  // Flags and positionals after the verb (server/cli_args.h).
  const bool adding = verb == "add", listing = verb == "list";
  CliArgs parsed;
  KBO_RETURN_IF_ERROR(ParseCliArgs(
      args, 1, adding ? FlagNames{"role", "districts"} : FlagNames{},
      listing ? FlagNames{"json"} : FlagNames{}, listing ? 0 : 1, &parsed, usage));
  const std::vector<std::string>& positional = parsed.positional;
  const bool json = parsed.Has("json");
  if (positional.size() != (listing ? 0u : 1u)) {
    return usage_error("user " + verb + " needs one LOGIN");
  }
  const std::string* role = parsed.Get("role");
  const std::string* districts = parsed.Get("districts");
  if (verb == "add") {
    if (!role) return usage_error("user add needs --role");
    KBO_ASSIGN_OR_RETURN(WebRole r, ParseWebRole(*role));
    // Districts by name too ("พร้าว", "Phrao"): ParseCliArgs gives codes.
    KBO_ASSIGN_OR_RETURN(Scope scope, Scope::Parse(districts ? *districts : "all"));
    KBO_RETURN_IF_ERROR(ValidateLogin(positional[0]));
    KBO_ASSIGN_OR_RETURN(std::string password, ReadPassword(in));
    // Before a server is opened, or made in a new folder.
    KBO_RETURN_IF_ERROR(ValidatePassword(password));
    KBO_ASSIGN_OR_RETURN(ServerStore * store, open_store());
    Users users(*store);
    Result<WebUser> added = users.Add(positional[0], r, scope, password, "cli");
    if (!added.ok() && added.status().code() == Code::kAlreadyExists) {
      // A login taken is the person's input, as docs/operations.md says of
      // every such refusal: exit 2 (AlreadyExists alone exits 1).
      return Status::InvalidArgument(added.status().message() +
                                     "; choose another login, or `user passwd` "
                                     "to set this one's password");
    }
    KBO_ASSIGN_OR_RETURN(WebUser u, std::move(added));
    out << u.id << "\n";
    err << "user " << u.login << " (" << WebRoleName(u.role) << ", "
        << u.scope.ToString() << ") may now sign in to the console\n";
    return Status();
  }
  if (verb == "passwd") {
    KBO_ASSIGN_OR_RETURN(std::string password, ReadPassword(in));
    KBO_RETURN_IF_ERROR(ValidatePassword(password));
    KBO_ASSIGN_OR_RETURN(ServerStore * store, open_store());
    Users users(*store);
    KBO_RETURN_IF_ERROR(users.SetPassword(positional[0], password, "cli"));
    err << "password changed; " << positional[0]
        << "'s sessions have ended\n";
    KBO_ASSIGN_OR_RETURN(WebUser u, users.Find(positional[0]));
    if (u.disabled()) {
      err << positional[0] << " is disabled (since " << u.disabled_at
          << ") and cannot sign in until `kbo-server user enable " << positional[0]
          << "`\n";
    }
    return Status();
  }
  KBO_ASSIGN_OR_RETURN(ServerStore * store, open_store());
  Users users(*store);
  if (verb == "disable") {
    KBO_RETURN_IF_ERROR(users.Disable(positional[0], "cli"));
    err << "user " << positional[0] << " disabled; their sessions have ended\n";
    return Status();
  }
  if (verb == "enable") {
    KBO_ASSIGN_OR_RETURN(WebUser u, users.Find(positional[0]));
    KBO_RETURN_IF_ERROR(users.Enable(positional[0], "cli"));
    err << "user " << positional[0]
        << (u.disabled() ? " may sign in again, with the password they had (`user passwd` "
                           "sets a new one)\n"
                         : " was not disabled; nothing changed\n");
    return Status();
  }
  KBO_ASSIGN_OR_RETURN(std::vector<WebUser> list, users.List());
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const WebUser& u : list) {
      arr.push_back({{"id", u.id},
                     {"login", u.login},
                     {"role", WebRoleName(u.role)},
                     {"districts", u.scope.ToString()},
                     {"created_at", u.created_at},
                     {"disabled", u.disabled()},
                     {"disabled_at", u.disabled() ? nlohmann::json(u.disabled_at)
                                                  : nlohmann::json(nullptr)}});
    }
    out << arr.dump(2) << "\n";
    return Status();
  }
  if (list.empty()) {
    out << "no users; add one with: kbo-server user add LOGIN --role admin\n";
    return Status();
  }
  for (const WebUser& u : list) {
    out << u.login << "\t" << WebRoleName(u.role) << "\t" << u.scope.ToString()
        << "\t" << (u.disabled() ? "disabled " + u.disabled_at : "active")
        << "\t" << u.id << "\n";
  }
  return Status();
}

}  // namespace kbo::server::console
