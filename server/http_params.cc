#include "server/http_params.h"

#include <cstdint>
#include <optional>

#include "shared/encoding.h"

namespace kbo::server {

bool ParseQueryU64(std::string_view text, uint64_t* out) {
  if (text.size() > 19) return false;
  const std::optional<uint64_t> n =
      ParseUint64(text, static_cast<uint64_t>(INT64_MAX));
  if (!n) return false;
  *out = *n;
  return true;
}

bool QueryU64(size_t count, std::string_view value, uint64_t fallback,
              uint64_t* out) {
  if (count == 0) {
    *out = fallback;
    return true;
  }
  if (count != 1) return false;
  return ParseQueryU64(value, out);
}

}  // namespace kbo::server
