#ifndef KBO_CLIENT_HOME_H_
#define KBO_CLIENT_HOME_H_

#include <string>

#include "shared/result.h"

namespace kbo::client {

// The client's home folder: field.db (SQLite, WAL), device.key (Ed25519,
// mode 0600), blobs/ (content-addressed photos).
struct HomePaths {
  std::string dir;
  std::string db;     // <dir>/field.db
  std::string key;    // <dir>/device.key
  std::string blobs;  // <dir>/blobs
};

// `flag` (--home) if non-empty, else $KBO_HOME, else
// $XDG_DATA_HOME/kbo or ~/.local/share/kbo. kInvalidArgument if none can be
// found (no HOME).
Result<std::string> ResolveHomeDir(const std::string& flag);

HomePaths PathsFor(const std::string& dir);

}  // namespace kbo::client

#endif  // KBO_CLIENT_HOME_H_
