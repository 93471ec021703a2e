// libFuzzer target: the two readers of a bundle file (the offline sync file
// that travels on a USB stick, docs/protocol.md "Bundles"):
//   - client/bundle.h ParseBundle (tests and tools);
//   - server/bundle_import.h ImportBundle, what `kbo-server bundle import
//     FILE` runs: each record goes through the push or blob checks of a
//     server store that lives for the whole run.
// Property: ParseBundle's records account for every byte of the input.
// With -malloc_limit_mb (tools/fuzzers), a record length that the file does
// not hold must not be allocated.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "client/bundle.h"
#include "server/bundle_import.h"
#include "server/server_store.h"
#include "shared/protocol.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

using namespace kbo;

struct Server {
  fuzz::ScratchDir dir;
  std::unique_ptr<server::ServerStore> store;
  std::string file;
  Server() {
    Result<std::unique_ptr<server::ServerStore>> opened =
        server::ServerStore::Open(dir.File("data"));
    FUZZ_CHECK(opened.ok());
    store = std::move(opened).value();
    file = dir.File("input.kbobundle");
  }
};

Server& TheServer() {
  static Server* s = new Server();  // lives until exit; its dir stays on a crash
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = fuzz::Bytes(data, size);

  Result<std::vector<client::BundleRecord>> records = client::ParseBundle(bytes);
  if (records.ok()) {
    size_t total = protocol::kBundleMagic.size();
    for (const client::BundleRecord& r : *records) {
      FUZZ_CHECK(r.kind == client::kBundleChangeSet ||
                 r.kind == client::kBundlePhoto);
      total += 5 + r.bytes.size();
    }
    FUZZ_CHECK(total == size);
  }

  Server& s = TheServer();
  {
    std::FILE* f = std::fopen(s.file.c_str(), "wb");
    FUZZ_CHECK(f != nullptr);
    FUZZ_CHECK(size == 0 || std::fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(std::fclose(f) == 0);
  }
  Result<server::BundleSummary> summary = server::ImportBundle(*s.store, s.file);
  if (fuzz::Debug() && summary.ok()) {
    fuzz::Say("import", "applied " + std::to_string(summary->change_sets_applied) +
                            " refused " + std::to_string(summary->change_sets_refused) +
                            " blobs " + std::to_string(summary->blobs_stored) + "+" +
                            std::to_string(summary->blobs_present) + " framing " +
                            summary->framing.ToString());
    for (const std::string& r : summary->refusals) fuzz::Say("refused", r);
  }
  if (summary.ok()) {
    // A file the client reader refuses is one the server stops reading
    // somewhere too (framing), or refuses records of.
    if (!records.ok()) FUZZ_CHECK(!summary->all_ok());
  }
  return 0;
}
