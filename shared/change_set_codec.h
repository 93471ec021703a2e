#ifndef KBO_SHARED_CHANGE_SET_CODEC_H_
#define KBO_SHARED_CHANGE_SET_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/change_set.h"
#include "shared/result.h"

namespace kbo {

// Bounds for decoding untrusted bytes. The input is capped at `max_bytes`
// before decoding, and every length prefix and count is checked against the
// limits and the bytes that remain before anything is allocated, so memory
// use is proportional to the input (at most ~7x: a 14-byte cell becomes a
// ~96-byte object) and no length prefix can cause a large allocation.
struct DecodeLimits {
  // Whole encoded change set, checked before decoding. Default: 8 MiB.
  size_t max_bytes = size_t{8} << 20;
  // Row changes in one set. Default: 50,000 (a whole roll-call import).
  uint32_t max_rows = 50000;
  // Cells in one row change. Default: 64 (the widest entity has 14).
  uint32_t max_cells_per_row = 64;
  // One text or blob value. Default: 64 KiB.
  size_t max_text_bytes = 65536;
  // An entity or column name. Default: 64 bytes.
  size_t max_name_bytes = 64;
};

// Encodes `cs` in format 1 (docs/changeset-format.md). Deterministic: equal
// change sets give equal bytes.
std::string EncodeChangeSet(const ChangeSet& cs);

// Decodes bytes produced by EncodeChangeSet. kCorruption with a reason for
// anything else: truncation, trailing bytes, a length beyond what remains or
// beyond `limits`, an unknown value type or format version, bytes over
// max_bytes (kResourceExhausted). Never a partial result.
Result<ChangeSet> DecodeChangeSet(std::string_view bytes,
                                  const DecodeLimits& limits = DecodeLimits{});

// SHA-256 of the encoded bytes: the `prev_hash` of the next change set.
Sha256Digest HashChangeSetBytes(std::string_view encoded);

}  // namespace kbo

#endif  // KBO_SHARED_CHANGE_SET_CODEC_H_
