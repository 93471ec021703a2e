#ifndef KBO_CLIENT_CLI_COMMAND_H_
#define KBO_CLIENT_CLI_COMMAND_H_

// Internal to client/cli: the command table and the argument parser shared
// by the command files (record_cmds.cc, data_cmds.cc, photo_cmd.cc,
// sync_cmds.cc). Nothing
// outside client/cli includes this.

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/store.h"
#include "shared/entities.h"
#include "shared/result.h"
#include "shared/uuid.h"

namespace kbo::client::cli {

// State of one invocation. Commands write ids and reports to `out`, anything
// for a person to `err`, and return a Status that RunCli maps to the exit
// code (after printing "kbo: <message>").
class Context {
 public:
  Context(std::ostream& out_stream, std::ostream& err_stream, std::string home)
      : out(out_stream), err(err_stream), home_flag(std::move(home)) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // The home's store, opened (and the home created) on first call.
  Result<ClientStore*> Store();

  std::ostream& out;
  std::ostream& err;
  std::string home_flag;     // --home, "" if not given
  bool usage_error = false;  // set by UsageError(): print the usage too
  // Lines for a person that belong after the failure's own "kbo: <message>"
  // (what was kept, what to do next); RunCli prints them, each as
  // "kbo: <line>", only when the command fails.
  std::vector<std::string> after_error;

 private:
  std::unique_ptr<ClientStore> store_;
};

// kInvalidArgument(`message`), and marks the context so that RunCli prints
// the command's usage after the message.
Status UsageError(Context& ctx, std::string message);

// One flag a command accepts: "--name VALUE" or "--name=VALUE", or a switch.
struct FlagSpec {
  std::string_view name;  // without the leading "--"
  bool required = false;
  bool takes_value = true;  // false: a switch such as --json
  bool repeatable = false;  // --set, --where
};

// Flags in the order given, and the positional arguments.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> flags;  // name, value

  bool Has(std::string_view name) const;
  // The value of `name`, or nullptr if absent.
  const std::string* Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
};

// Parses `args` (the words after the command) against `flags`, expecting
// exactly the positional arguments named in `positional` (e.g. {"ENTITY",
// "ID"}). "--home DIR" is accepted anywhere and stored in ctx.home_flag; "--"
// ends the flags. A UsageError for an unknown flag, a flag without its value,
// a non-repeatable flag given twice, a missing required flag, a missing or
// extra positional argument.
Status ParseArgs(Context& ctx, const std::vector<std::string>& args,
                 const std::vector<FlagSpec>& flags,
                 const std::vector<std::string_view>& positional,
                 ParsedArgs* parsed);

// The entity a person named: "producer", "producers", "contest-score" ...
// kInvalidArgument listing the entities if unknown.
Result<const Entity*> EntityArg(std::string_view name);

// An id typed on the command line (`what` names it in the message:
// "producer id"). kInvalidArgument if it is not a uuid.
Result<Uuid> IdArg(std::string_view text, std::string_view what);

// "producer" -> "producers", for "imported 3 producers".
std::string Plural(std::string_view entity, size_t n);

// A command: `kbo NOUN [VERB] ARGS...`.
struct Command {
  std::string_view noun;
  std::string_view verb;     // "" for one-word commands (list, status ...)
  std::string usage;         // the synopsis after "kbo "
  std::string_view summary;  // one line for `kbo help`
  std::function<Status(Context&, const std::vector<std::string>&)> run;
};

// Slips in a workshop as recorded or edited, said on stderr (stdout stays
// as it is): a fiscal year its start date is not in, and live marks for
// course days after today in Thailand (its start moved later). Nothing is
// refused; each warning says how to correct it (record_cmds.cc).
void WarnWorkshopSlips(Context& ctx, ClientStore& store, const Uuid& workshop);

// The command files' tables.
std::vector<Command> RecordCommands();  // producer add ... contest score
std::vector<Command> DataCommands();    // edit delete list show import status
std::vector<Command> PhotoCommands();   // photo add
std::vector<Command> SyncCommands();    // enroll sync bundle export

}  // namespace kbo::client::cli

#endif  // KBO_CLIENT_CLI_COMMAND_H_
