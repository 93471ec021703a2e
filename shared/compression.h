#ifndef KBO_SHARED_COMPRESSION_H_
#define KBO_SHARED_COMPRESSION_H_

// zstd for sync bodies (docs/protocol.md §1 "Compressed bodies",
// docs/decisions.md "Compressed sync bodies"): a push body (signature +
// change set) goes up as one zstd frame with `Content-Encoding: zstd`, a pull
// page comes down as one when the device asked with `Accept-Encoding: zstd`. Compression is
// transport only: what is signed, stored, hashed and logged is always the
// uncompressed canonical bytes.
//
// Decompression never trusts the frame: only the current frame format is
// read (not zstd 0.x's legacy formats, whose decoders ignore the window
// cap), the content size a frame declares is ignored, the output is streamed into a buffer that stops at `max_bytes`,
// and the window a frame may ask for is capped (kMaxWindowLog), so neither a
// decompression bomb nor a lying header makes the reader allocate more than
// about max_bytes plus a 4 MiB window.

#include <cstddef>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo::compression {

// The content coding's name in Content-Encoding and Accept-Encoding.
inline constexpr std::string_view kZstd = "zstd";

// The zstd level sync bodies are compressed at. On the attendance workload
// level 1 is both smaller and about 3x faster than level 3 (docs/decisions.md
// "Compressed sync bodies").
inline constexpr int kDefaultLevel = 1;
// The largest window (log2 bytes) a frame may ask the decoder for: 4 MiB.
// The compressor never asks for more (it is capped to the same value), so
// every frame this code writes decodes within it.
inline constexpr int kMaxWindowLog = 22;

// One zstd frame of `bytes` (content size in the header, no checksum: the
// signature over the decompressed bytes is the check).
std::string ZstdCompress(std::string_view bytes, int level = kDefaultLevel);

// The bytes of exactly one zstd frame. Errors:
//   kResourceExhausted (reason "too_large") if the output would pass
//     `max_bytes`, or the frame asks for a window over kMaxWindowLog;
//   kCorruption (reason "bad_encoding") if `frame` is not one complete,
//     valid zstd frame of the current format (magic 0xFD2FB528) with nothing
//     after it (empty, truncated, damaged, legacy, skippable).
// The message names `what` ("the push body", "the pull page").
Result<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes,
                                   std::string_view what = "the body");

// True if a Content-Encoding value names zstd (any case, spaces around).
bool IsZstdCoding(std::string_view content_encoding);
// True if a Content-Encoding value names no coding ("" or "identity").
bool IsIdentityCoding(std::string_view content_encoding);

// True if an Accept-Encoding value lists zstd with a weight above 0
// ("zstd", "gzip, zstd;q=0.5"; not "zstd;q=0", not "zstdx"). Names are
// compared without regard to case (RFC 9110 §8.4.1).
bool AcceptsZstd(std::string_view accept_encoding);

}  // namespace kbo::compression

#endif  // KBO_SHARED_COMPRESSION_H_
