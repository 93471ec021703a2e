#include "client/cli/cli.h"


#include <cstddef>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/cli/command.h"
#include "client/home.h"
#include "client/ui/ui_cmd.h"
#include "shared/encoding.h"
#include "shared/version.h"

// Command line grammar:
//   kbo [--home DIR | --home=DIR] [--help | -h | --version] COMMAND ARGS...
//   COMMAND := NOUN [VERB]             (see the table in Commands())
// `--help` or `-h` among a command's arguments prints that command's usage.

namespace kbo::client {

namespace cli {

// ---- Context and argument helpers ------------------------------------------

Result<ClientStore*> Context::Store() {
  if (store_) return store_.get();
  Result<std::string> dir = ResolveHomeDir(home_flag);
  if (!dir.ok()) return dir.status();
  Result<std::unique_ptr<ClientStore>> opened = ClientStore::Open(*dir, ClientWallClock());
  if (!opened.ok()) {
    // A damaged field.db or key is not the person's input (exit 2 would say
    // "you typed it wrong"): report it as the I/O failure it is.
    if (opened.status().code() == Code::kCorruption) {
      return Status::IOError(dir.value() + ": " + opened.status().message());
    }
    return opened.status();
  }
  store_ = std::move(opened).value();
  return store_.get();
}

Status UsageError(Context& ctx, std::string message) {
  ctx.usage_error = true;
  return Status::InvalidArgument(std::move(message));
}

bool ParsedArgs::Has(std::string_view name) const {
  return Get(name) != nullptr;
}

const std::string* ParsedArgs::Get(std::string_view name) const {
  const std::string* found = nullptr;
  for (const auto& [flag, value] : flags) {
    if (flag == name) found = &value;
  }
  return found;
}

std::vector<std::string> ParsedArgs::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [flag, value] : flags) {
    if (flag == name) out.push_back(value);
  }
  return out;
}

Status ParseArgs(Context& ctx, const std::vector<std::string>& args,
                 const std::vector<FlagSpec>& specs,
                 const std::vector<std::string_view>& positional,
                 ParsedArgs* parsed) {
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-' ||
        (arg[1] != '-' && arg != "-h")) {
      // Not a flag ("-" alone and "-98.5" are values too).
      if (parsed->positional.size() >= positional.size()) {
        return UsageError(ctx, "unexpected argument '" + arg + "'");
      }
      parsed->positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = nullptr;
    FlagSpec home{"home"};
    if (name == "home") {
      spec = &home;
    } else {
      for (const FlagSpec& s : specs) {
        if (s.name == name) spec = &s;
      }
    }
    if (spec == nullptr) return UsageError(ctx, "unknown flag --" + name);
    if (!spec->takes_value) {
      if (value) return UsageError(ctx, "--" + name + " takes no value");
      value = "";
    } else if (!value) {
      // A following "--flag" is the next flag, not this one's value: the
      // value was forgotten. (Values that start with "--" can use --f=V.)
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        return UsageError(ctx, "--" + name + " needs a value");
      }
      value = args[++i];
    }
    if (spec == &home) {
      if (value->empty()) return UsageError(ctx, "--home needs a folder");
      // Two homes: which one was meant is not for kbo to guess.
      if (!ctx.home_flag.empty()) return UsageError(ctx, "--home is given twice");
      ctx.home_flag = *value;
      continue;
    }
    if (!spec->repeatable && parsed->Has(name)) {
      return UsageError(ctx, "--" + name + " is given twice");
    }
    parsed->flags.emplace_back(std::move(name), std::move(*value));
  }
  for (const FlagSpec& s : specs) {
    if (s.required && !parsed->Has(s.name)) {
      return UsageError(ctx, "missing --" + std::string(s.name));
    }
  }
  if (parsed->positional.size() < positional.size()) {
    return UsageError(
        ctx, "missing " + std::string(positional[parsed->positional.size()]));
  }
  return Status();
}

Result<const Entity*> EntityArg(std::string_view name) {
  if (const Entity* e = FindEntityByWord(name)) return e;
  std::string known;
  for (const Entity& e : Catalogue()) {
    if (!known.empty()) known += ", ";
    known.append(e.name);
  }
  return Status::InvalidArgument("unknown entity '" + std::string(name) +
                                 "' (one of: " + known + ")");
}

Result<Uuid> IdArg(std::string_view text, std::string_view what) {
  Result<Uuid> id = Uuid::Parse(text);
  if (!id.ok()) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not a " +
                                   std::string(what) +
                                   " (ids look like 1b4e28ba-2fa1-41d2-883f-"
                                   "0016d3cca427)");
  }
  return id;
}

std::string Plural(std::string_view entity, size_t n) {
  std::string out(entity);
  if (n == 1) return out;
  if (entity == "progress") return "progress entries";
  if (entity == "attendance") return "attendance marks";
  return out + "s";
}

namespace {

// ---- The command table -----------------------------------------------------

Status RunInit(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {}, {}, &parsed); !s.ok()) return s;
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  ctx.out << (*store)->device_id().ToString() << '\n';
  ctx.err << "kbo: home is " << (*store)->paths().dir << '\n';
  return Status();
}

// kbo ui [--listen ADDR:PORT]: the mobile web UI (client/ui/ui_cmd.h).
Status RunUiCmd(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;  // checks the flags and takes --home
  if (Status s = ParseArgs(ctx, args, {{"listen"}}, {}, &parsed); !s.ok())
    return s;
  Result<ClientStore*> store = ctx.Store();
  if (!store.ok()) return store.status();
  // The sync button syncs through a connection of its own: a sync stalled
  // on a dropping link does not hold the roll-call.
  return ui::RunUiCommand(**store, args, ctx.out,
                          ui::OwnStoreSyncHookFor((*store)->paths().dir, &(*store)->wall()),
                          /*sync_own_store=*/true);
}

const std::vector<Command>& Commands();

// `prefix` + the command's synopsis, its continuation lines indented under
// the command's first flag.
std::string Synopsis(std::string_view prefix, const Command& c) {
  const size_t indent = prefix.size() + c.noun.size() + c.verb.size() + 2;
  std::string out(prefix);
  for (char ch : c.usage) {
    out += ch;
    if (ch == '\n') out.append(indent, ' ');
  }
  return out;
}

// A command's summary under its synopsis: each of its lines, and any line
// longer than a terminal's 80 columns, wrapped at a space and indented by
// `indent` (a line break in a summary once went to column 0).
std::string Summary(std::string_view text, size_t indent) {
  constexpr size_t kWidth = 79;
  const std::string pad(indent, ' ');
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    // Wrap by terminal columns, not bytes (Thai letters are three bytes).
    while (indent + TerminalColumns(line) > kWidth) {
      size_t cut = std::string_view::npos;
      for (size_t i = 0, cols = 0; i < line.size() && indent + cols <= kWidth; ++i) {
        if (line[i] == ' ') cut = i;
        cols += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
      }
      if (cut == std::string_view::npos || cut == 0) break;
      out += pad;
      out.append(line.substr(0, cut));
      out += '\n';
      line.remove_prefix(cut + 1);
    }
    out += pad;
    out.append(line);
    out += '\n';
    start = end + 1;
  }
  return out;
}

void PrintUsage(std::ostream& os) {
  os << "usage: kbo [--home DIR] COMMAND [ARGS...]\n"
        "       kbo --help | --version\n"
        "\n"
        "The home folder (field.db, the device key, blobs/) is --home, else\n"
        "$KBO_HOME, else ~/.local/share/kbo; it is created on first use.\n"
        "Every add prints the new id alone on stdout. Exit codes: 0 done,\n"
        "2 invalid input or usage (nothing written), 3 not found, 4 server\n"
        "unreachable, 5 rejected by the server, 1 anything else.\n"
        "\n"
        "Commands:\n";
  for (const Command& c : Commands()) {
    os << Synopsis("  kbo ", c) << "\n" << Summary(c.summary, 6);
  }
  os << "\nSee docs/cli.md for examples.\n";
}

Status RunHelp(Context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintUsage(ctx.out);
    return Status();
  }
  bool any = false;
  for (const Command& c : Commands()) {
    if (c.noun == args[0] && (args.size() < 2 || c.verb == args[1])) {
      ctx.out << Synopsis("usage: kbo ", c) << "\n" << Summary(c.summary, 2);
      any = true;
    }
  }
  if (!any) return UsageError(ctx, "no command '" + args[0] + "'");
  return Status();
}

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const commands = [] {
    auto* all = new std::vector<Command>();
    all->push_back({"init", "", "init",
                    "create the home folder and print this device's id",
                    RunInit});
    for (auto* part :
         {RecordCommands, PhotoCommands, DataCommands, SyncCommands}) {
      for (Command& c : part()) all->push_back(std::move(c));
    }
    all->push_back({"ui", "", std::string(ui::kUiCommandUsage),
                    ui::kUiCommandSummary, RunUiCmd});
    all->push_back({"help", "", "help [COMMAND]", "print this help", RunHelp});
    return all;
  }();
  return *commands;
}

bool IsHelpFlag(std::string_view arg) { return arg == "--help" || arg == "-h"; }

// Runs `args` (argv without the program name); statuses come back to RunCli.
Status Dispatch(Context& ctx, const std::vector<std::string>& args,
                const Command** chosen) {
  size_t i = 0;
  // Global flags, before the command.
  for (; i < args.size() && args[i].rfind("-", 0) == 0; ++i) {
    const std::string& arg = args[i];
    if (IsHelpFlag(arg)) {
      PrintUsage(ctx.out);
      return Status();
    }
    if (arg == "--version") {
      ctx.out << "kbo " << kVersion << '\n';
      return Status();
    }
    std::string home;
    if (arg == "--home") {
      if (i + 1 >= args.size()) return UsageError(ctx, "--home needs a folder");
      home = args[++i];
    } else if (arg.rfind("--home=", 0) == 0) {
      home = arg.substr(7);
    } else {
      return UsageError(ctx, "unknown flag " + arg);
    }
    if (home.empty()) return UsageError(ctx, "--home needs a folder");
    // Two homes: which one was meant is not for kbo to guess.
    if (!ctx.home_flag.empty()) return UsageError(ctx, "--home is given twice");
    ctx.home_flag = std::move(home);
  }
  if (i >= args.size()) return UsageError(ctx, "no command given");
  const std::string& noun = args[i];
  bool noun_known = false;
  for (const Command& c : Commands()) {
    if (c.noun != noun) continue;
    noun_known = true;
    size_t rest = i + 1;
    if (!c.verb.empty()) {
      if (rest >= args.size() || args[rest] != c.verb) continue;
      ++rest;
    }
    *chosen = &c;
    std::vector<std::string> tail(
        args.begin() + static_cast<std::ptrdiff_t>(rest), args.end());
    for (const std::string& a : tail) {
      if (a == "--") break;
      if (IsHelpFlag(a)) {
        ctx.out << Synopsis("usage: kbo ", c) << "\n" << Summary(c.summary, 2);
        return Status();
      }
    }
    return c.run(ctx, tail);
  }
  if (noun_known && i + 1 < args.size() && IsHelpFlag(args[i + 1])) {
    // `kbo producer --help`: every command of that noun.
    for (const Command& c : Commands()) {
      if (c.noun != noun) continue;
      ctx.out << Synopsis("usage: kbo ", c) << "\n" << Summary(c.summary, 2);
    }
    return Status();
  }
  if (noun_known) {
    std::string verbs;
    for (const Command& c : Commands()) {
      if (c.noun != noun) continue;
      verbs += (verbs.empty() ? "" : ", ") + std::string(c.verb);
      if (*chosen == nullptr) *chosen = &c;  // its usage follows the message
    }
    const std::string given =
        i + 1 < args.size() ? " '" + args[i + 1] + "'" : "";
    return UsageError(ctx, "kbo " + noun + " needs one of: " + verbs +
                               (given.empty() ? "" : " (got" + given + ")"));
  }
  return UsageError(ctx, "unknown command '" + noun + "'");
}

}  // namespace
}  // namespace cli

int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  try {
    cli::Context ctx(out, err, "");
    const cli::Command* chosen = nullptr;
    const Status s = cli::Dispatch(ctx, args, &chosen);
    out.flush();
    if (s.ok()) return 0;
    err << "kbo: " << s.message() << '\n';
    for (const std::string& line : ctx.after_error) err << "kbo: " << line << '\n';
    // This device's own disk or database, not the server: say what was
    // kept and what to do, as the phone screens do (err.storage_full).
    if (s.reason() == "storage_full") {
      err << "kbo: the step that failed wrote nothing; everything saved before "
             "it is kept. Free space on the disk that holds this device's data "
             "(the --home folder), then run the command again.\n";
    } else if (s.reason() == kBusyReason) {
      err << "kbo: the step that failed wrote nothing; everything saved before "
             "it is kept. Another kbo (a sync, or kbo ui) was writing to this "
             "device's data: run the command again when it is done.\n";
    }
    if (ctx.usage_error) {
      if (chosen != nullptr) {
        err << cli::Synopsis("usage: kbo ", *chosen) << '\n';
      } else {
        err << "usage: kbo [--home DIR] COMMAND [ARGS...]  (kbo --help lists "
               "the commands)\n";
      }
    }
    err.flush();
    return ExitCodeFor(s.code());
  } catch (const std::exception& e) {
    err << "kbo: internal error: " << e.what() << '\n';
  } catch (...) {
    err << "kbo: internal error\n";
  }
  return ExitCodeFor(Code::kInternal);
}

int RunCli(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  const int code = RunCli(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}

}  // namespace kbo::client
