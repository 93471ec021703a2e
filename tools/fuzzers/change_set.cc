// libFuzzer target: the change set decoder (shared/change_set_codec.h), the
// bytes of every push, pull page and bundle record, and the push body
// framing around it (shared/protocol.h DecodePushBody).
//
// Properties beyond "no crash, no leak, no allocation over the cap":
//   - a set that decodes re-encodes to exactly the input bytes (the format
//     has one byte string per set: signatures and the hash chain are over
//     the exact bytes, docs/changeset-format.md);
//   - tight limits refuse rather than truncate: a set that decodes under
//     small limits decodes to the same set under the defaults.

#include <cstddef>
#include <cstdint>

#include "shared/change_set_codec.h"
#include "shared/protocol.h"
#include "tools/fuzzers/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  const std::string_view bytes = fuzz::Bytes(data, size);

  Result<ChangeSet> cs = DecodeChangeSet(bytes);
  if (cs.ok()) {
    FUZZ_CHECK(EncodeChangeSet(*cs) == bytes);
    (void)HashChangeSetBytes(bytes);
  }

  DecodeLimits tight;
  tight.max_bytes = 4096;
  tight.max_rows = 4;
  tight.max_cells_per_row = 4;
  tight.max_text_bytes = 32;
  tight.max_name_bytes = 16;
  Result<ChangeSet> small = DecodeChangeSet(bytes, tight);
  if (small.ok()) {
    FUZZ_CHECK(cs.ok());
    FUZZ_CHECK(EncodeChangeSet(*small) == bytes);
    FUZZ_CHECK(small->rows.size() <= tight.max_rows);
  }

  // The same bytes as a push body: signature[64] || change set.
  Signature sig;
  std::string_view inner;
  if (protocol::DecodePushBody(bytes, &sig, &inner).ok()) {
    FUZZ_CHECK(inner.size() <= bytes.size());
    FUZZ_CHECK(inner.data() >= bytes.data() &&
               inner.data() + inner.size() <= bytes.data() + bytes.size());
    Result<ChangeSet> pushed = DecodeChangeSet(inner);
    if (pushed.ok()) FUZZ_CHECK(EncodeChangeSet(*pushed) == inner);
  }
  return 0;
}
