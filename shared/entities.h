#ifndef KBO_SHARED_ENTITIES_H_
#define KBO_SHARED_ENTITIES_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/result.h"
#include "shared/uuid.h"
#include "shared/value.h"

namespace kbo {

// The entity catalogue (DESIGN §3): the nine synced entities, their columns,
// types, enumerations and validation. Both sides validate every write
// against it; the schema's entity tables have exactly these columns.

enum class ColumnType : uint8_t {
  kText,      // free UTF-8 text
  kInteger,
  kReal,
  kEnum,      // text, one of `enum_values`
  kRef,       // text uuid of a row of `ref_entity`
  kDistrict,  // DOPA district code of Chiang Mai, e.g. "5011"
  kDate,      // YYYY-MM-DD
  kDateTime,  // ISO 8601 UTC, YYYY-MM-DDTHH:MM:SSZ
  kSha256,    // lowercase hex SHA-256 (a blob reference)
};

enum class MergePolicy : uint8_t {
  kLastWriterWins,  // highest hlc wins
  kForward,         // ordered enumeration: furthest value wins, then hlc
};

struct Column {
  std::string_view name;
  ColumnType type;
  bool required = false;                       // must be non-null on insert
  std::vector<std::string_view> enum_values;   // kEnum (ordered for kForward)
  std::string_view ref_entity;                 // kRef
  bool has_range = false;                      // kInteger / kReal bounds
  double min = 0;
  double max = 0;
  MergePolicy policy = MergePolicy::kLastWriterWins;
  std::string_view default_text;               // applied on insert if absent
  int64_t default_integer = 0;
  bool has_default_integer = false;
};

// Every synced entity table also has these columns, managed by the system:
//   id TEXT PRIMARY KEY, deleted INTEGER NOT NULL DEFAULT 0 (the tombstone).
inline constexpr std::string_view kIdColumn = "id";
inline constexpr std::string_view kDeletedColumn = "deleted";
inline constexpr std::string_view kDistrictColumn = "district_code";
// Not a column: the office's contest_score export adds it (which scores the
// ranking counts, worked out from the scores), and an import reads past it.
inline constexpr std::string_view kCountedColumn = "counted";

struct Entity {
  std::string_view name;        // also the table name
  std::vector<Column> columns;  // includes district_code; excludes id, deleted
  // Columns whose values name the row (attendance: workshop_id, enrolment_id,
  // day); empty when ids are random.
  std::vector<std::string_view> natural_key;
  // The entity has a position (lat and lon columns): CheckPositionPair.
  bool has_position = false;

  const Column* FindColumn(std::string_view column) const;
};

// All nine entities, in dependency order (producer first).
const std::vector<Entity>& Catalogue();
// nullptr if unknown.
const Entity* FindEntity(std::string_view name);
// As a person types an entity on a command line: ASCII case and '-' for
// '_' aside, singular or with a plural 's' ("producers", "Contest-Scores").
const Entity* FindEntityByWord(std::string_view word);

// An entity's name with its article, for messages: "a producer",
// "an enrolment", "an attendance".
std::string WithArticle(std::string_view entity_name);

// Whether `column` records its row under a row of `parent`: a required
// reference naming that entity (a product under its producer, a mark under
// its workshop and its enrolment). What `kbo delete` refuses to leave behind
// and the office's "Recorded under a deleted row" lists. Photos hang on
// their subject through photo.subject_id, which names no entity.
bool RecordsUnder(const Column& column, std::string_view parent);

// Status::reason() of a delete refused because live rows are recorded under
// the row (`kbo delete`, the console's delete); its field "children" counts
// them by entity (texts: entity -> count).
inline constexpr const char* kHasChildrenReason = "has_children";
inline constexpr std::string_view kChildrenField = "children";

// A fiscal year (Buddhist Era) as a filter or a target names it: within
// workshop.fiscal_year's bounds (2500 to 2700). kInvalidArgument, reason
// "bad_fiscal_year", naming the bounds; a Western year (2026) is said as
// the Buddhist Era year it is (field "buddhist_era": 2569).
Status CheckFiscalYear(int64_t year);
// The same of typed text: digits only.
Result<int64_t> ParseFiscalYear(std::string_view text);

// Rows counted by entity, for a person: "2 enrolments, 1 product and
// 3 attendance marks".
std::string CountedRows(
    const std::vector<std::pair<std::string, int64_t>>& by_entity);

// A row's values by column name (no id). Thai text is plain UTF-8.
using RowValues = std::map<std::string, Value, std::less<>>;

// Checks one value against its column: type, enumeration, range, format.
// Null is accepted here (required-ness is a row rule). kInvalidArgument with
// a message in the person's terms ("stars must be 0 to 5, got 7") and the
// column as field::kField.
Status ValidateCell(const Entity& entity, const Column& column,
                    const Value& value);
// As above, for a value whose text is known to be valid UTF-8 already (it
// came out of DecodeChangeSet, which refuses any other): every other check,
// that one not made a second time. Same answers for such values.
Status ValidateDecodedCell(const Entity& entity, const Column& column,
                           const Value& value);
// As ValidateCell, for a value a person puts in place of one a row holds
// (an edit, a conflict's resolution): a required column may not be
// emptied either (kInvalidArgument "COLUMN is required and cannot be
// emptied", field::kField, problem "err.required").
Status ValidateEdit(const Entity& entity, const Column& column, const Value& value);
// What a device or a push may not write into a text, though a row that
// holds it is still valid (pulled, exported, shown): the bidi embeddings,
// overrides and isolates (U+202A-E, U+2066-9) in a short text, and U+FFFE
// or U+FFFF in any (kInvalidArgument "COLUMN contains a control character
// (U+XXXX, ...)", problem "err.control"). ParseCellText applies it; the
// server to every pushed cell. Not in ValidateCell: a row stored before the
// rule must still pull.
Status CheckWrittenText(const Column& column, const Value& value);
// As ValidateCell above, looking up the column, and also accepts the system column
// "deleted" (0 or 1). kInvalidArgument for an unknown column.
Status ValidateCell(const Entity& entity, std::string_view column,
                    const Value& value);

// Validates a whole new row: every column known and valid, every required
// column present and non-null (empty or all-space text counts as missing).
// Every problem at once ("a; b"); those about a column are also in
// field::kFields (column -> problem, catalogue order), the first one's column
// in field::kField.
Status ValidateNewRow(const Entity& entity, const RowValues& row);

// A position (lat, lon) is both of its numbers or neither: a latitude alone
// puts a visit or photo nowhere. kInvalidArgument naming the missing one
// (field::kField). ValidateNewRow applies it; an edit of either applies it
// to the row as it would become.
Status CheckPositionPair(const Entity& entity, const RowValues& row);

// Fills defaults (workshop days = 5, product stage = "idea", ...) into `row`
// for columns that are absent.
void ApplyDefaults(const Entity& entity, RowValues* row);

// Whether a text column is free-form (notes, descriptions, comments,
// captions: long, line breaks kept) rather than a short text (names,
// places: tidied, one line).
bool IsLongTextColumn(std::string_view column);

// Whether `column` of `entity` is a fact of a file the system recorded (a
// photo's sha256, bytes, mime, width, height: they name and describe the
// picture that syncs). A person never edits one: a photo given another
// sha256 names a picture no device holds.
bool IsFileFact(const Entity& entity, std::string_view column);

// Thai digits (๐..๙) to ASCII ones, everything else as it is: Thai
// keyboards and forms produce them, and they mean the same numbers.
std::string NormalizeThaiDigits(std::string_view s);

// Converts text typed by a person (CLI flag, CSV cell, form field) into the
// column's value type. Empty text is null. kInvalidArgument if it does not
// parse ("members must be a whole number, got 'ten'"). Thai digits are
// digits; a time may carry its offset ("2024-02-29T16:30:00+07:00", turned
// into UTC), and a refusal quotes it as typed.
Result<Value> ParseCellText(const Entity& entity, const Column& column,
                            std::string_view text);

// The derived id for rows with a natural key (DESIGN §3): a name-based uuid
// over the entity name and the key columns' values. kInvalidArgument if a key
// column is missing; kFailedPrecondition if the entity has no natural key.
Result<Uuid> DerivedRowId(const Entity& entity, const RowValues& row);

// Ordinal of `value` in a kForward column's enumeration; -1 if not found.
int EnumRank(const Column& column, const Value& value);

// Chiang Mai districts (from schema/chiangmai-districts.csv).
struct District {
  std::string_view code;     // "5011"
  std::string_view name_th;  // "พร้าว"
  std::string_view name_en;  // "Phrao"
};
const std::vector<District>& Districts();
const District* FindDistrict(std::string_view code);
// Districts as a person types them, comma-separated ("พร้าว, Fang",
// "๕๐๑๑", "อำเภอพร้าว"): each piece that names a district by its code or its
// Thai or English name becomes its code; any other piece ("all", a typo)
// stays as typed, for its parser to judge.
std::string DistrictsAsCodes(std::string_view typed);

}  // namespace kbo

#endif  // KBO_SHARED_ENTITIES_H_
