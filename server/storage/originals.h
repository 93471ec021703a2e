#ifndef KBO_SERVER_STORAGE_ORIGINALS_H_
#define KBO_SERVER_STORAGE_ORIGINALS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/enrolment.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"
#include "shared/uuid.h"

namespace kbo::server::storage {

// What the device that took a photo said of its original (table
// photo_original).
struct OriginalRecord {
  std::string upload_sha256;
  std::string sha256;
  uint64_t bytes = 0;
  std::string mime;
  std::string device_id;
  std::string announced_at;
};

// An original as the console shows it beside its photo.
struct OriginalState {
  bool requested = false;     // the office asked for it
  std::string requested_at;   // "" if not asked
  bool announced = false;     // the device said which file it is
  std::string sha256;         // "" until announced
  uint64_t bytes = 0;
  bool complete = false;      // the server holds it whole
};

// Originals on request (schema/server/0007_photo_originals.sql): the
// devices' notices of which original an upload copy was made from, and the
// office's requests for them. Callers hold the transactions.
class Originals {
 public:
  explicit Originals(Db& db) : db_(db) {}

  // nullopt if no device has said which original `upload_sha256` comes from.
  Result<std::optional<OriginalRecord>> Find(std::string_view upload_sha256);
  Status Record(const OriginalRecord& r);

  // The office asks `device_id` for the original of `upload_sha256`; a
  // second request of the same original keeps the first.
  Status Request(std::string_view upload_sha256, std::string_view device_id,
                 std::string_view now_iso, std::string_view by);

  // Asks for the original of photo row `photo` (the console's button,
  // `kbo-server photo ask-original`) of the device that took it: the writer
  // of its sha256 cell. Returns that device's id.
  //   kNotFound           no live photo row `photo` in `scope` (or no
  //                       picture named);
  //   kFailedPrecondition no device is known to have written its picture.
  Result<std::string> AskOf(const Uuid& photo, const Scope& scope,
                            std::string_view now_iso, std::string_view by);

  // The open requests of `device_id`: photos a live photo row in its
  // districts names whose original the server does not hold whole, oldest
  // request first, at most `limit`.
  Result<std::vector<std::string>> OpenFor(std::string_view device_id, bool all_districts,
                                           const std::vector<std::string>& districts,
                                           size_t limit);

  // The state of the original of each of `upload_sha256s` (in that order).
  Result<std::vector<OriginalState>> StatesOf(const std::vector<std::string>& upload_sha256s);

  // The mime of the original `sha256` if a live photo row in `scope` names
  // its upload copy (the console's /blob/SHA); nullopt otherwise.
  Result<std::optional<std::string>> MimeInScope(std::string_view sha256,
                                                 const Scope& scope);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_ORIGINALS_H_
