#ifndef KBO_SERVER_CLI_ARGS_H_
#define KBO_SERVER_CLI_ARGS_H_

// The flags and positional arguments of one `kbo-server` command, parsed
// one way for every command (server/cli.cc, report_cmds.cc, quality_cmds.cc,
// console/user_cmds.cc): `--name VALUE` or `--name=VALUE` for a flag that
// takes a value, `--name` for a switch, at most `max_positional` other
// words, and `--` ending the flags. A flag given twice, an unknown one, a
// switch given a value or a value flag without one is a usage error. A
// district (`--district`, `--districts`) is taken by code or by Thai or
// English name, as kbo takes it, and stored as codes.

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace kbo::server {

using FlagNames = std::set<std::string, std::less<>>;

struct CliArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> values;
  FlagNames switches;

  // The flag's value; nullptr when it was not given.
  const std::string* Get(std::string_view name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
  // The flag's value; "" when it was not given.
  std::string ValueOr(std::string_view name, std::string fallback = {}) const {
    const std::string* v = Get(name);
    return v ? *v : fallback;
  }
  bool Has(std::string_view name) const { return switches.count(name) > 0; }
};

// Parses args[from..] into *parsed. A usage error sets *usage_error and
// returns kInvalidArgument with a message naming the flag or word (the
// caller prints the command's usage and exits 2).
Status ParseCliArgs(const std::vector<std::string>& args, size_t from,
                    const FlagNames& value_flags, const FlagNames& switch_flags,
                    size_t max_positional, CliArgs* parsed, bool* usage_error);

}  // namespace kbo::server

#endif  // KBO_SERVER_CLI_ARGS_H_
