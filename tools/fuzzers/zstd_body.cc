// libFuzzer target: zstd bodies (shared/compression.h) as the server decodes
// a push body and the client a pull page: ZstdDecompress with a cap, then
// what decoded through DecodePushBody and DecodeChangeSet. Also the
// Accept-Encoding / Content-Encoding readers on the input as text.
// Properties: the output never passes the cap; what decodes is what zstd's
// own one-shot decoder makes of the same frame, and compresses and decodes
// back to itself; any input compresses and decodes back to itself; a value
// AcceptsZstd takes names zstd.

#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "shared/change_set_codec.h"
#include "shared/compression.h"
#include "shared/protocol.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

// Well under the 8 MiB allocation cap of tools/fuzz (the output grows by
// doubling, and the decoder's window may take 4 MiB).
constexpr size_t kCap = size_t{1} << 20;

bool NamesZstd(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("zstd") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  const std::string_view input = fuzz::Bytes(data, size);

  if (compression::AcceptsZstd(input)) FUZZ_CHECK(NamesZstd(input));
  if (compression::IsZstdCoding(input)) FUZZ_CHECK(NamesZstd(input));

  Result<std::string> plain = compression::ZstdDecompress(input, kCap, "fuzz");
  if (plain.ok()) {
    FUZZ_CHECK(plain->size() <= kCap);
    // zstd's one-shot decoder agrees where it decodes (ours takes exactly
    // one frame of the current format). libzstd's own two decoders differ
    // on a corner: its streaming one (ours) takes a frame whose last block
    // is an empty compressed block, which its one-shot one refuses
    // (tests/corpus/zstd_body/empty_last_block, found by this target in
    // CI): the cap above holds either way, and what it decodes must be
    // what the one-shot decoder makes of it when that one decodes at all.
    std::string reference(plain->size() + 1, '\0');
    const size_t n =
        ZSTD_decompress(reference.data(), reference.size(), input.data(), input.size());
    if (!ZSTD_isError(n)) {
      reference.resize(n);
      FUZZ_CHECK(reference == *plain);
    }
    Result<std::string> again = compression::ZstdDecompress(
        compression::ZstdCompress(*plain), plain->size());
    FUZZ_CHECK(again.ok() && *again == *plain);
    // Then as the server reads a push body.
    Signature signature{};
    std::string_view change_set;
    if (protocol::DecodePushBody(*plain, &signature, &change_set).ok()) {
      DecodeLimits limits;
      limits.max_bytes = kCap;
      (void)DecodeChangeSet(change_set, limits);
    }
  } else {
    const Code code = plain.status().code();
    FUZZ_CHECK(code == Code::kCorruption || code == Code::kResourceExhausted);
  }

  // Any bytes, compressed as a device sends them, come back whole.
  Result<std::string> round =
      compression::ZstdDecompress(compression::ZstdCompress(input), input.size());
  FUZZ_CHECK(round.ok() && *round == input);
  return 0;
}
