#ifndef KBO_SHARED_DISTRICT_SCOPE_H_
#define KBO_SHARED_DISTRICT_SCOPE_H_

#include <string>
#include <string_view>
#include <vector>

#include "shared/result.h"
#include "shared/status.h"

namespace kbo {

// The districts a device may read and write (DESIGN §6): a list of Chiang
// Mai district codes, or every district ("all"). One reading of the text
// for both sides: the server's tokens and devices, the client's device row
// and the districts a pull page names.
struct DistrictScope {
  bool all = false;
  std::vector<std::string> districts;  // sorted, unique; empty when `all`

  bool Contains(std::string_view district_code) const;
  // "all" or "5009,5011" (the form stored, shown and sent).
  std::string ToString() const;
  // Parses "all" or a comma-separated list of known district codes (spaces
  // and tabs around codes ignored, a code given twice once).
  // kInvalidArgument naming the bad code otherwise (reasons "bad_districts",
  // "bad_district").
  static Result<DistrictScope> Parse(std::string_view text);
  // A district filter asked of these districts (a console page's or a
  // report's ?district=CODE): "" (no filter) is OK; kInvalidArgument
  // (reason "bad_district") for a code that is not a Chiang Mai district;
  // kPermissionDenied (reason "district_not_yours") for one outside them.
  // Both with the field "code". Said, never answered as an empty list: an
  // office worker sent another district's link must not read "none".
  Status CheckFilter(std::string_view code) const;
  // The districts a device stored from its enrolment answer, read as they
  // are: never refused (a code this build does not know, from a server with
  // newer reference data, is still a district; empty pieces name none).
  static DistrictScope ReadStored(std::string_view text);
  // Whether `text` is what a server's X-KBO-Device-Districts says: "all", or
  // codes (four ASCII digits, as Thailand's district codes are; known to
  // this build or not)
  // separated by commas, each once, no spaces; at most 4096 bytes.
  static bool IsHeader(std::string_view text);
};

}  // namespace kbo

#endif  // KBO_SHARED_DISTRICT_SCOPE_H_
