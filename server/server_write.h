#ifndef KBO_SERVER_SERVER_WRITE_H_
#define KBO_SERVER_SERVER_WRITE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/server_apply.h"
#include "server/server_store.h"
#include "shared/hlc.h"
#include "shared/result.h"
#include "shared/uuid.h"
#include "shared/value.h"

namespace kbo::server {

// What the office writes (an edit in the console): one row change from the
// server's own identity, sealed and signed in the server's chain of change
// sets and kept in change_set_log like a device's, merged with fresh
// sequences and indexed for pull, so every device in scope receives it.
// Each cell is stamped after the cell's current version (the server's
// clock observes it) with base = its current sequence, so the write is no
// conflict itself. Call inside a Transaction.
struct ServerWrite {
  AppliedSet applied;
  Hlc hlc;               // the change's stamp
  std::vector<std::string> lost;  // columns whose value did not win (a
                                  // forward column such as a stage never
                                  // moves back)
};
//   kInvalidArgument: an unknown entity or column, a value that does not
//     validate; kNotFound: the row is not held (office edits change rows,
//     they do not create them).
Result<ServerWrite> WriteAsServer(
    ServerStore& store, std::string_view entity, const Uuid& row_id,
    const std::vector<std::pair<std::string, Value>>& cells);

}  // namespace kbo::server

#endif  // KBO_SERVER_SERVER_WRITE_H_
