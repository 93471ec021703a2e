#ifndef KBO_SHARED_VALUE_JSON_H_
#define KBO_SHARED_VALUE_JSON_H_

#include <nlohmann/json.hpp>

#include "shared/value.h"

namespace kbo {

// A cell as every JSON answer of KBO Field gives it (`kbo list --json`,
// `kbo-server list --json`, kbo ui's and the console's /api/): integers and
// reals as numbers, null as null, text as a UTF-8 string.
nlohmann::ordered_json ValueJson(const Value& v);

}  // namespace kbo

#endif  // KBO_SHARED_VALUE_JSON_H_
