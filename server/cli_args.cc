#include "server/cli_args.h"

#include <optional>
#include <utility>

#include "shared/entities.h"

namespace kbo::server {

Status ParseCliArgs(const std::vector<std::string>& args, size_t from,
                    const FlagNames& value_flags, const FlagNames& switch_flags,
                    size_t max_positional, CliArgs* parsed, bool* usage_error) {
  const auto usage = [usage_error](std::string message) {
    *usage_error = true;
    return Status::InvalidArgument(std::move(message));
  };
  bool flags_done = false;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!flags_done && a == "--") {
      flags_done = true;
      continue;
    }
    if (flags_done || a.size() < 3 || a.compare(0, 2, "--") != 0) {
      if (parsed->positional.size() >= max_positional) {
        return usage("unexpected argument '" + a + "'");
      }
      parsed->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (switch_flags.count(name)) {
      if (value) return usage("--" + name + " takes no value");
      if (parsed->switches.count(name)) return usage("--" + name + " given twice");
      parsed->switches.insert(name);
      continue;
    }
    if (!value_flags.count(name)) return usage("unknown option --" + name);
    if (!value) {
      if (i + 1 >= args.size()) return usage("--" + name + " needs a value");
      value = args[++i];
    }
    if (parsed->values.count(name)) return usage("--" + name + " given twice");
    // Districts by name too ("พร้าว", "Phrao"), as kbo takes them.
    if (name == "district" || name == "districts") *value = DistrictsAsCodes(*value);
    parsed->values[name] = std::move(*value);
  }
  return Status();
}

}  // namespace kbo::server
