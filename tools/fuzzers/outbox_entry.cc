// libFuzzer target: the outbox entry decoder (client/outbox_codec.h). The
// bytes are the device's own, read back from its database; a damaged file
// must give kCorruption, never a crash or a huge allocation.
//
// Property: what decodes is stable under the writer: encoding the decoded
// rows and decoding that again gives the same rows, byte for byte once
// re-encoded (the format allows non-minimal varints, so the input itself
// need not be canonical).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client/outbox_codec.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

std::string Reencode(const std::vector<kbo::RowChange>& rows) {
  kbo::client::OutboxEntryWriter writer(rows.empty() ? kbo::Uuid()
                                                     : rows.front().hlc.device);
  for (const kbo::RowChange& row : rows) writer.Add(row);
  return writer.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  Result<std::vector<RowChange>> rows =
      client::DecodeOutboxEntry(fuzz::Bytes(data, size));
  if (!rows.ok()) return 0;
  const std::string once = Reencode(*rows);
  Result<std::vector<RowChange>> again = client::DecodeOutboxEntry(once);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == rows->size());
  FUZZ_CHECK(Reencode(*again) == once);
  return 0;
}
