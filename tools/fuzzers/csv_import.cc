// libFuzzer target: CSV import (client/csv_import.h), `kbo import ENTITY
// FILE` on a spreadsheet from anywhere: the reader (shared/csv.h), the
// header mapping, every cell through ClientStore::ParseText and the
// catalogue's validation, references, and the one-transaction write.
//
// Input: entity:u8 (index into the catalogue) csv-text. The device home
// (tools/fuzzers/client_home.h) holds a workshop, producer, enrolment and
// product with fixed ids for rows to reference; it is replaced with a fresh
// one every few thousand imports so that it does not grow without end.
// Property: an import that succeeds returns one new id per data row, and
// those rows exist.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "client/csv_import.h"
#include "shared/entities.h"
#include "tools/fuzzers/client_home.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  static std::unique_ptr<fuzz::ClientHome> home;
  static int imports = 0;
  if (size == 0) return 0;
  if (!home || imports >= 2000) {
    home.reset();
    home = std::make_unique<fuzz::ClientHome>();
    imports = 0;
  }
  const std::vector<Entity>& catalogue = Catalogue();
  const Entity& entity = catalogue[data[0] % catalogue.size()];
  Result<std::vector<Uuid>> ids = client::ImportCsv(
      home->store(), entity.name, fuzz::Bytes(data + 1, size - 1));
  fuzz::Say(std::string(entity.name).c_str(),
            ids.ok() ? std::to_string(ids->size()) + " rows"
                     : ids.status().ToString());
  if (ids.ok()) {
    ++imports;
    for (const Uuid& id : *ids) {
      FUZZ_CHECK(home->store().Show(entity.name, id).ok());
    }
  }
  return 0;
}
