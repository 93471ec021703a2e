#ifndef KBO_SHARED_NAME_MATCH_H_
#define KBO_SHARED_NAME_MATCH_H_

// Keys under which two spellings of one person, producer or phone number
// are "the same" for data quality (issue 10, deliverable 9): the client
// refuses a participant enrolled twice, the server lists likely duplicate
// producers. Deliberately conservative (docs/decisions.md, "Data quality"):
// a key only drops what never tells two people or groups apart — spacing,
// ASCII case, a title in front of a name — so a false "duplicate" is rare
// and a human still decides every merge. Pure functions; no locale.

#include <string>
#include <string_view>

namespace kbo {

// Trims and collapses white space (ASCII space, tab, CR, LF, U+00A0 and
// U+3000 count as one space), drops the invisible characters a paste or a
// keyboard leaves in a name (U+200B zero-width space, U+200C, U+2060 word
// joiner, U+FEFF, U+00AD soft hyphen) and lowercases ASCII letters; Thai
// and other text is kept byte for byte, except SARA AM typed as two
// characters (U+0E4D U+0E32), which becomes the one U+0E33, and a Thai
// tone mark typed before the vowel sign it sits on ("ก" U+0E48 U+0E34),
// which is put after it, as the other typing order writes it (Unicode's
// normalisation does not reorder Thai marks).
// "  Somchai   JAIDEE " -> "somchai jaidee".
std::string FoldSpaceAndCase(std::string_view text);

// Each key below is without spaces ("สมศรีใจดี" and "สมศรี ใจดี" are one:
// Thai puts no space between words, and people type one or not).
//
// A name as a key with nothing dropped but spacing and ASCII case: a
// contest's or a judge's name (no title is dropped: "นายสมชาย" and
// "คุณสมชาย" may be two judges). The phone screens' looseKey
// (client/ui/assets/app.js) is the same key in JavaScript.
std::string LooseNameKey(std::string_view name);

// A person's name as a key: without pictographs (emoji and the symbols
// U+2600..U+27BF: "สมศรี ใจดี 😊" is สมศรี ใจดี; a name of pictographs
// only keeps them), FoldSpaceAndCase, then one leading title
// removed: Thai นาย, นาง, นางสาว, น.ส., ด.ช., ด.ญ., คุณ and English
// mr, mrs, ms, miss, dr (with or without a dot). A Thai title written
// without a space is removed only if what follows starts a Thai syllable
// (a consonant or a leading vowel), so "คุณากร" (a given name) is kept
// whole. A name that is only a title stays as it is.
// "นางสาว สมศรี  ใจดี" and "สมศรีใจดี" both give "สมศรีใจดี".
std::string PersonNameKey(std::string_view name);

// A producer's name as a key: without pictographs, FoldSpaceAndCase, then one leading
// organisation word removed (กลุ่มวิสาหกิจชุมชน, วิสาหกิจชุมชน, กลุ่ม,
// ห้างหุ้นส่วนจำกัด, หจก., บริษัท, บจก.), then a person's title as in
// PersonNameKey (entrepreneurs are registered under their own names).
// "กลุ่ม ทอผ้าบ้านป่าตุ้ม" and "กลุ่มทอผ้า บ้านป่าตุ้ม" give "ทอผ้าบ้านป่าตุ้ม".
std::string ProducerNameKey(std::string_view name);

// A tambon as a key: FoldSpaceAndCase without a leading "ต." or "ตำบล"
// ("ตำบลเวียง" and "เวียง" match).
std::string TambonKey(std::string_view tambon);

// A phone number as a key: its ASCII and Thai digits only, with Thailand's
// country code turned back into the trunk 0 ("+66 81 234 5678" and
// "081-234-5678" give "0812345678"); "" when fewer than 9 digits remain
// (too short to name one line).
std::string PhoneKey(std::string_view phone);

}  // namespace kbo

#endif  // KBO_SHARED_NAME_MATCH_H_
