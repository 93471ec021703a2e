// libFuzzer target: the decoder of a row's cell versions (the private
// encoding in shared/replica/apply.cc that every entity row keeps in its
// cell_versions column). The bytes come from the database, so they are
// trusted, but a damaged database must give kCorruption, never a crash.
//
// The decoder has no header of its own; it is reached the way the product
// reaches it: the input is stored as the cell_versions of a producer row in
// an in-memory replica, then read (ReadCellVersions) and
// merged into (ApplyRowChange: the merge reads the versions, decides each
// cell, and writes the versions back through the encoder).
//
// Input: mode:u8 versions-bytes. Mode picks how the row change is applied:
// 0 as the server applies a push (sequence + conflict sink), 1 as the
// client applies a pull page (sequence from base), 2 as a local write.
// Property: after a merge that succeeds, the versions written back decode,
// and name every cell the row change wrote with its hlc or a later one.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "schema/schema.h"
#include "shared/replica/apply.h"
#include "shared/sqlite/db.h"
#include "shared/sqlite/migrate.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

using namespace kbo;

class CountingSink : public ConflictSink {
 public:
  Status OnConflict(const ConflictEvent&) override {
    ++count;
    return Status();
  }
  size_t count = 0;
};

Db& Replica() {
  static std::unique_ptr<Db> db = [] {
    Result<std::unique_ptr<Db>> opened = Db::Open(":memory:");
    FUZZ_CHECK(opened.ok());
    FUZZ_CHECK(Migrate(**opened, schema::kReplicaMigrations,
                       schema::kReplicaMigrations_count)
                   .ok());
    return std::move(opened).value();
  }();
  return *db;
}

const Uuid& RowId() {
  static const Uuid id = *Uuid::Parse("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b");
  return id;
}

RowChange Incoming() {
  RowChange row;
  row.entity = "producer";
  row.row_id = RowId();
  row.hlc = Hlc{1710000000000, 7,
                *Uuid::Parse("0a0b0c0d-0e0f-4011-8213-141516171819")};
  row.cells = {{"kind", Value::Text("group"), 3},
               {"name", Value::Text("Ban Pa Tueng weavers"), 3},
               {"district_code", Value::Text("5011"), 0}};
  return row;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  const std::string_view versions = fuzz::Bytes(data + 1, size - 1);
  Db& db = Replica();
  Transaction txn(db);  // rolled back: every input starts from an empty table
  FUZZ_CHECK(txn.status().ok());
  {
    Statement ins(db,
                  "INSERT INTO producer (id, kind, name, district_code,"
                  " cell_versions) VALUES (?1, 'entrepreneur', 'old',"
                  " '5001', ?2)");
    ins.Bind(1, std::string_view(RowId().ToString())).BindBlob(2, versions);
    FUZZ_CHECK(ins.Run().ok());
  }
  (void)ReadCellVersions(db, "producer", RowId());

  RowChange row = Incoming();
  Status applied;
  CountingSink sink;
  if (mode == 0) {
    ApplyOptions options;
    options.seq = 100;
    options.conflicts = &sink;
    applied = ApplyRowChange(db, row, options);
  } else if (mode == 1) {
    ApplyOptions options;
    options.seq_from_base = true;
    applied = ApplyRowChange(db, row, options);
  } else {
    applied = ApplyLocalRowChange(db, &row);
  }
  fuzz::Say("apply", applied.ToString());
  if (applied.ok()) {
    auto after = ReadCellVersions(db, "producer", RowId());
    FUZZ_CHECK(after.ok());
    for (const CellWrite& cell : row.cells) {
      auto it = after->find(cell.column);
      FUZZ_CHECK(it != after->end());
      FUZZ_CHECK(!(it->second.hlc < row.hlc));
    }
  }
  return 0;
}
