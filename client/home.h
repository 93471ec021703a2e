#ifndef KBO_CLIENT_HOME_H_
#define KBO_CLIENT_HOME_H_

#include <string>

#include "shared/result.h"
#include "shared/wall_clock.h"

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

// The wall clock kbo uses: the system's, shifted by $KBO_TEST_CLOCK_OFFSET_MS
// milliseconds if that is set (a signed integer). For tests only: the
// end-to-end tests play a phone whose date is wrong with it
// (tests/integration/clock_test.cc; docs/cli.md). Anything else in the
// variable is ignored.
WallClock* ClientWallClock();

}  // namespace kbo::client

#endif  // KBO_CLIENT_HOME_H_
