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

// What the device that took a photo row said of its original (table
// photo_original).
struct OriginalRecord {
  std::string photo_id;
  std::string upload_sha256;
  std::string sha256;
  uint64_t bytes = 0;
  std::string mime;
  std::string device_id;
  std::string announced_at;
};

// A photo row's original as the console shows it beside the photo.
struct OriginalState {
  bool requested = false;      // the office asked for it
  std::string requested_at;    // "" if not asked
  std::string declined_reason; // the device keeps none ("" if not declined)
  std::string sha256;          // "" until announced (for the row's copy)
  uint64_t bytes = 0;          // what the server holds of it
  bool complete = false;       // the server holds it whole
};

// Originals on request (schema/server/0007_photo_originals.sql): the
// devices' notices of which original a photo row's upload copy was made
// from, and the office's requests for them. Callers hold the transactions.
class Originals {
 public:
  explicit Originals(Db& db) : db_(db) {}

  // nullopt if no device has said which original photo row `photo_id`'s
  // copy comes from.
  Result<std::optional<OriginalRecord>> Find(std::string_view photo_id);
  // Inserts or replaces the record of r.photo_id.
  Status Record(const OriginalRecord& r);

  // Asks for the original of photo row `photo` (the console's button,
  // `kbo-server photo ask-original`) of the device that took it: the writer
  // of its sha256 cell. Asking again re-opens a declined request. Returns
  // that device's id.
  //   kNotFound           no live photo row `photo` in `scope` (or no
  //                       picture named);
  //   kFailedPrecondition no device is known to have written its picture.
  Result<std::string> AskOf(const Uuid& photo, const Scope& scope,
                            std::string_view now_iso, std::string_view by);
  // Withdraws the office's open request for the original of photo row
  // `photo` (the console's "Cancel", `kbo-server photo cancel-original`):
  // the device is no longer told of it. A device that already heard of it
  // and began to send goes on (its notice is accepted as any device's
  // own); what the server then holds is kept. Returns the device asked.
  //   kNotFound           no live photo row `photo` in `scope`;
  //   kFailedPrecondition no open request (never asked, declined, or the
  //                       original is held whole already).
  Result<std::string> Cancel(const Uuid& photo, const Scope& scope);
  // The device that took photo row `photo_id` keeps no original of it:
  // its open request (if any) is closed with `reason`.
  Status Decline(std::string_view photo_id, std::string_view reason,
                 std::string_view now_iso);

  // The open requests of `device_id`: photo rows live in its districts,
  // naming the copy they named when asked, whose original the server does
  // not hold whole and which it has not declined; oldest request first, at
  // most `limit`.
  Result<std::vector<std::string>> OpenFor(std::string_view device_id, bool all_districts,
                                           const std::vector<std::string>& districts,
                                           size_t limit);

  // The state of the original of each photo row of `photo_ids` (in that
  // order), for the copy it names now.
  Result<std::vector<OriginalState>> StatesOf(const std::vector<std::string>& photo_ids);

  // The mime of the original `sha256` if a live photo row in `scope`
  // still names the copy it was announced for (the console's /blob/SHA);
  // nullopt otherwise.
  Result<std::optional<std::string>> MimeInScope(std::string_view sha256,
                                                 const Scope& scope);

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_ORIGINALS_H_
