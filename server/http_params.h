#ifndef KBO_SERVER_HTTP_PARAMS_H_
#define KBO_SERVER_HTTP_PARAMS_H_

// The numbers in kbo-server's query strings (?after=, ?limit=, ?offset=,
// ?total=), parsed without the HTTP library, so unit tests and the
// http_request fuzz target reach the same code server/http_api.cc runs.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kbo::server {

// A strict decimal from 0 to INT64_MAX (sequences and offsets are int64 in
// the store, so nothing larger may wrap there): 1 to 19 ASCII digits, no
// sign, no space, no other byte. False for anything else (`out` untouched).
bool ParseQueryU64(std::string_view text, uint64_t* out);

// One query parameter given `count` times with (the first) value `value`:
// absent (count 0) -> `fallback`; once -> ParseQueryU64; repeated -> false
// (two values are never silently resolved to one).
bool QueryU64(size_t count, std::string_view value, uint64_t fallback,
              uint64_t* out);

}  // namespace kbo::server

#endif  // KBO_SERVER_HTTP_PARAMS_H_
