#ifndef KBO_SERVER_FAST_HASH_H_
#define KBO_SERVER_FAST_HASH_H_

// SHA-256 for the server's hot paths (request bodies, change sets, pull
// pages: about 1 MB each). libsodium's SHA-256 (shared/signing.h) is portable
// C; OpenSSL's libcrypto (already loaded by the server for TLS) uses the
// CPU's SHA extensions or AVX2 and is about 10x faster. Same function, same
// bytes, same digest: only the implementation differs.
//
// The messages below are the ones of shared/protocol.h, built by the shared
// functions themselves with the body's hash spliced in (every one of them
// ends with hex(SHA-256(body))). A self-check on first use compares both
// against the shared functions; if they ever differ, the shared functions
// are used.

#include <cstdint>
#include <string>
#include <string_view>

#include "shared/change_set.h"

namespace kbo::server {

Sha256Digest FastSha256(std::string_view bytes);

// = protocol::CanonicalRequest(method, path, time_ms, nonce, body)
std::string FastCanonicalRequest(std::string_view method,
                                 std::string_view path_with_query,
                                 int64_t time_ms, std::string_view nonce,
                                 std::string_view body);

// = protocol::PullPageMessage(device_id, after, next_cursor, more, body)
std::string FastPullPageMessage(std::string_view device_id, uint64_t after,
                                uint64_t next_cursor, bool more,
                                std::string_view body);

// = HashChangeSetBytes(encoded)
Sha256Digest FastHashChangeSetBytes(std::string_view encoded);

}  // namespace kbo::server

#endif  // KBO_SERVER_FAST_HASH_H_
