#include "client/home.h"

#include <cstdlib>

namespace kbo::client {

Result<std::string> ResolveHomeDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KBO_HOME"); env && *env) return std::string(env);
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/kbo";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/share/kbo";
  }
  return Status::InvalidArgument(
      "no home folder: pass --home DIR or set KBO_HOME");
}

HomePaths PathsFor(const std::string& dir) {
  return {dir, dir + "/field.db", dir + "/device.key", dir + "/blobs"};
}

}  // namespace kbo::client
