#ifndef KBO_SERVER_STORAGE_OVERVIEW_H_
#define KBO_SERVER_STORAGE_OVERVIEW_H_

// The counts of the dashboard and the console's overview and device pages
// (server/reports.cc, server/console/home.cc, server/console/devices.cc):
// live rows per entity and district, open conflicts, devices, photos whose
// bytes have not arrived, refused rows, the sequence. Read-only; reads the
// sync tables (conflict, device, blob, refused_row, server_state) without
// owning them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/entities.h"
#include "shared/result.h"
#include "shared/sqlite/db.h"

namespace kbo::server::storage {

// Per device: unsettled rows the server refused from it, and live photo
// rows in its districts whose bytes the server does not hold whole.
struct DeviceBacklog {
  int64_t refused_rows = 0;
  int64_t pending_photos = 0;
};

class OverviewStore {
 public:
  explicit OverviewStore(Db& db) : db_(db) {}

  // Live rows of the entity by district code ("" for none).
  Result<std::map<std::string, int64_t>> LiveRowsByDistrict(const Entity& e);
  // Unresolved conflicts, in all and by district code ("" for none).
  Result<int64_t> OpenConflicts();
  Result<std::map<std::string, int64_t>> OpenConflictsByDistrict();
  // Enrolled devices, and how many of them are revoked.
  Result<int64_t> Devices();
  Result<int64_t> RevokedDevices();
  // The districts text ("all", "5009,5011") of each active device.
  Result<std::vector<std::string>> ActiveDeviceDistricts();
  // Photos (distinct sha256 per district) of live rows the server does not
  // hold whole: PhotosMissingByDistrict added up.
  Result<int64_t> PhotosMissing();
  // The same by the photo row's district code ("" for none).
  Result<std::map<std::string, int64_t>> PhotosMissingByDistrict();
  // Refused rows not yet settled.
  Result<int64_t> UnsettledRefusedRows();
  // server_state.next_seq (1 if the row is missing).
  Result<int64_t> NextSeq();
  // Refused rows, newest first (then device, set, row); the settled ones
  // only with `include_settled`.
  // By device id, every enrolled device.
  Result<std::map<std::string, DeviceBacklog>> DeviceBacklogs();

 private:
  Db& db_;
};

}  // namespace kbo::server::storage

#endif  // KBO_SERVER_STORAGE_OVERVIEW_H_
