#ifndef KBO_CLIENT_CSV_IMPORT_H_
#define KBO_CLIENT_CSV_IMPORT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "client/store.h"
#include "shared/entities.h"
#include "shared/result.h"
#include "shared/uuid.h"

namespace kbo::client {

// Largest CSV file `kbo import` reads: 64 MiB is some 300,000 producer rows,
// far beyond a province's OTOP register, and still fits comfortably in the
// memory of the field laptops the import runs on.
inline constexpr size_t kMaxImportBytes = size_t{64} << 20;

// The column of `entity` that a person's name for it denotes, or nullptr.
// Accepted, after trimming ASCII spaces, lowercasing ASCII and turning '-' and
// ' ' into '_': the catalogue column name ("district_code", "otop_stars") and
// the `kbo` flag spelling of it ("district", "stars", "participant",
// "workshop", "producer", "fiscal-year", "cluster-brand", ...), and the
// column's label in Thai or English as shared/labels has it ("ระดับดาว OTOP",
// "OTOP stars", "ปีงบประมาณ (พ.ศ.)" or just "ปีงบประมาณ"; ASCII case and runs
// of spaces ignored; words that label two columns of the entity name none).
// Used for CSV headers and for `kbo edit --set` / `kbo list --where`. Never
// "id" or "deleted": those are the system's.
const Column* ResolveColumnName(const Entity& entity, std::string_view name);

// The rows of a file ImportCsv did not record, and why.
struct ImportSkipped {
  // Enrolments of a participant already enrolled for that producer in that
  // workshop (client/enrolment_rules.h).
  size_t already_enrolled = 0;
  // Producers without ids this device holds already, the same kind,
  // district and name (LooseNameKey), the file saying nothing else of them:
  // a register imported again.
  size_t already_registered = 0;
  // Rows whose id (the file's id column) names a row this device holds,
  // deleted or not: there already, and never written over.
  size_t already_held = 0;
  // Rows the file's deleted column marks deleted (a raw export's
  // tombstones): there is nothing to record.
  size_t deleted = 0;
  // Rows whose key this device holds with the same values already (a sheet
  // imported again): nothing written, nothing to send.
  size_t unchanged = 0;
  // Lines that say again, value for value, what an earlier line of the file
  // says about the same row (a row copied down by mistake): taken once. Two
  // lines that say one row differently are refused instead.
  size_t repeated = 0;
  size_t total() const {
    return already_enrolled + already_registered + already_held + deleted +
           unchanged + repeated;
  }
  // (Recorded, not skipped.) Enrolments with their ids (an export's) of a
  // participant who looks enrolled already for that producer in that
  // workshop (held here, or an earlier line): taken as the server holds
  // them, and said, since the office's duplicate check is where they meet.
  size_t near_duplicates = 0;
  // (Recorded, not skipped.) Rows whose key this device held with other
  // values: the file's values are written over them (a mark the file says
  // differently), and the person is told how many.
  size_t changed = 0;
  // (Recorded, not skipped.) Phone numbers given back the leading 0 a
  // spreadsheet drops (PhoneFromSpreadsheetCell), and said.
  size_t zero_restored = 0;
};

// A phone number's cell as a spreadsheet may have left it: Excel's
// ="0812345678" unwrapped, an export's Thai grouping undone
// (PhoneFromSpreadsheet), a national number's dropped leading 0 given back
// ("812345678" -> "0812345678", zero_restored); `digits_lost` for one
// shortened to scientific notation ("8.12E+08"), whose digits are gone.
struct SpreadsheetPhone {
  std::string text;
  bool zero_restored = false;
  bool digits_lost = false;
};
SpreadsheetPhone PhoneFromSpreadsheetCell(std::string_view typed);

// Records every data row of `csv_text` as a new row of `entity` ("producer",
// "enrolment", or any other catalogue entity), all in ONE transaction
// (ClientStore::RecordAll): either every row is recorded or none is.
//
// The text is UTF-8 CSV (RFC 4180), optionally starting with a byte order
// mark (as Excel writes it). Its first record is a header naming one column
// per field (see ResolveColumnName); each later record is one row. Every cell
// is converted with ClientStore::ParseText, so typed forms are accepted
// ("พร้าว" or "Phrao" for district 5011, Thai digits; "อาหาร" or "Food" for
// category food: EnumCodeOfName); an empty cell leaves
// the column unset (its default applies). Records whose fields are all empty
// (trailing ",,,," rows from spreadsheets) are skipped.
//
// A row whose key this device holds already (a mark of the same workshop,
// enrolment and day; a score of the same product, contest and judge) is
// recorded again keeping what the file does not say (a column it lacks, a
// cell left empty: a colleague's note stays), and writing only the values
// that differ: one the same as held throughout is skipped
// (skipped->unchanged), one that differs is counted in skipped->changed.
//
// Enrolments already held (the same participant, by PersonNameKey, for the
// same producer in the same workshop: client/enrolment_rules.h) are skipped
// and counted in skipped->already_enrolled, so importing a sheet again adds
// nothing; the same participant twice within the file is refused.
//
// A file kbo-server exported imports as it is (`export csv`, people's or
// --raw; docs/cli.md):
//   - its id column ("id", or the label "รหัส" / "ID") keeps each row's
//     identity: a row whose id this device holds (live or deleted) is
//     skipped (already_held; its other cells are not read), never written
//     over; a new id is recorded as given, so the row stays the same row
//     on every device and the server; an empty cell is a new row. An id
//     that is not a uuid, the nil uuid, or one on two lines is refused; so
//     is one that is not the derived id of a row with a natural key;
//   - its deleted column ("deleted", "ลบแล้ว" / "Deleted": 0/1, ไม่/ใช่,
//     no/yes, true/false, or empty) skips the rows marked deleted
//     (skipped->deleted);
//   - what it did to cells for a spreadsheet is undone: the apostrophe
//     before a formula sign (UnguardFormula), the Thai grouping of a phone
//     number (PhoneFromSpreadsheet);
//   - a reference written as the referenced row's name (a people's export
//     writes the producer's name, the workshop's title) is the one live row
//     on this device with exactly that name (kNotFound if none,
//     kInvalidArgument if several); an id is taken as it is.
//
// Returns the ids of the rows written, in row order. Errors, with nothing written; messages
// name the line of the file ("line 4: district_code '5099' is not ..."):
//   kInvalidArgument: not UTF-8 or malformed CSV, no header, an unknown,
//     empty or repeated header column, a record with the wrong number of
//     fields, a value that does not parse or validate, a missing required
//     column, a bad id or deleted cell, a name that names several rows;
//   kNotFound: a row references a row that does not exist (line named);
//   others as ClientStore::RecordAll (kIOError ...).
Result<std::vector<Uuid>> ImportCsv(ClientStore& store, std::string_view entity,
                                    std::string_view csv_text,
                                    ImportSkipped* skipped = nullptr);

}  // namespace kbo::client

#endif  // KBO_CLIENT_CSV_IMPORT_H_
