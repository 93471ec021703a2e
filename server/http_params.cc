#include "server/http_params.h"

#include <cstdint>

namespace kbo::server {

bool ParseQueryU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');  // 19 digits fit in uint64
  }
  if (n > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = n;
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
