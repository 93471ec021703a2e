// The keys under which spellings of one name or phone number match
// (shared/name_match.h): what they ignore, and what they must not.

#include "shared/name_match.h"

#include <catch2/catch.hpp>

namespace kbo {
namespace {

TEST_CASE("NameMatch: spacing and ASCII case are ignored, Thai kept",
          "[name_match]") {
  CHECK(FoldSpaceAndCase("  Somchai \t  JAIDEE \n") == "somchai jaidee");
  CHECK(FoldSpaceAndCase("สมศรี\xC2\xA0\xC2\xA0ใจดี") == "สมศรี ใจดี");
  CHECK(FoldSpaceAndCase("") == "");
  CHECK(FoldSpaceAndCase("   ") == "");
}

TEST_CASE("NameMatch: a person's title goes, a name that starts like one "
          "stays",
          "[name_match]") {
  const std::string key = PersonNameKey("สมศรี ใจดี");
  CHECK(PersonNameKey("นางสาว สมศรี  ใจดี") == key);
  CHECK(PersonNameKey("นางสาวสมศรี ใจดี") == key);
  CHECK(PersonNameKey("นางสมศรี ใจดี") == key);
  CHECK(PersonNameKey("น.ส.สมศรี ใจดี") == key);
  CHECK(PersonNameKey("คุณ สมศรี ใจดี") == key);
  CHECK(PersonNameKey("Mrs. Somsri") == PersonNameKey("somsri"));
  CHECK(PersonNameKey("MR Somchai") == "somchai");
  // Spacing never tells two people apart (Thai has no spaces between words).
  CHECK(PersonNameKey("สมศรีใจดี") == key);
  CHECK(PersonNameKey("นางสาวสมศรีใจดี") == key);
  CHECK(PersonNameKey("Som Chai") == PersonNameKey("somchai"));
  // A given name, not คุณ + ากร; "Missy" is not Miss + y.
  CHECK(PersonNameKey("คุณากร มีสุข") == "คุณากรมีสุข");
  CHECK(PersonNameKey("Missy Chan") == "missychan");
  // นาง + สาวิตรี: the longer title นางสาว does not fit here.
  CHECK(PersonNameKey("นางสาวิตรี ดีใจ") == "สาวิตรีดีใจ");
  // Only a title: kept, so it still names something.
  CHECK(PersonNameKey("นาย") == "นาย");
  // Different people stay different.
  CHECK(PersonNameKey("สมศรี ใจดี") != PersonNameKey("สมศรี ใจงาม"));
  // A picture beside a name is no other person: an emoji, one joined of
  // several (a farmer: woman, joiner, sheaf), a symbol with its selector.
  CHECK(PersonNameKey("นางสมศรี  ใจดี 😊") == key);
  CHECK(PersonNameKey("\U0001F469\u200D\U0001F33E สมศรี ใจดี") == key);
  CHECK(PersonNameKey("สมศรี ใจดี \u2764\uFE0F") == key);
  CHECK(ProducerNameKey("กลุ่มทอผ้าบ้านป่าตุ้ม 🧵") == ProducerNameKey("ทอผ้าบ้านป่าตุ้ม"));
  // Only pictures: kept, so two such names are not one.
  CHECK(PersonNameKey("😊") != PersonNameKey("🙂"));
}

TEST_CASE("NameMatch: a producer's organisation word goes", "[name_match]") {
  const std::string key = ProducerNameKey("ทอผ้าบ้านป่าตุ้ม");
  CHECK(ProducerNameKey("กลุ่มทอผ้าบ้านป่าตุ้ม") == key);
  CHECK(ProducerNameKey(" กลุ่ม  ทอผ้าบ้านป่าตุ้ม ") == key);
  CHECK(ProducerNameKey("วิสาหกิจชุมชนทอผ้าบ้านป่าตุ้ม") == key);
  CHECK(ProducerNameKey("กลุ่มวิสาหกิจชุมชน ทอผ้าบ้านป่าตุ้ม") == key);
  CHECK(ProducerNameKey("นางสมศรี ใจดี") == PersonNameKey("สมศรี ใจดี"));
  CHECK(ProducerNameKey("ทอผ้าบ้านป่าแป๋") != key);
  CHECK(ProducerNameKey("กลุ่มทอผ้า บ้านป่าตุ้ม") == key);
  CHECK(ProducerNameKey("Doi Craft") == ProducerNameKey("DoiCraft"));
  CHECK(TambonKey("ตำบลป่าตุ้ม") == TambonKey("ป่าตุ้ม"));
  CHECK(TambonKey("ต. ป่าตุ้ม") == "ป่าตุ้ม");
}

TEST_CASE("NameMatch: phone numbers by their digits, nine at least",
          "[name_match]") {
  CHECK(PhoneKey("081-234-5678") == "0812345678");
  CHECK(PhoneKey("+66 81 234 5678") == "0812345678");
  CHECK(PhoneKey("(053) 123 456") == "053123456");
  CHECK(PhoneKey("+66 53 123 456") == "053123456");
  CHECK(PhoneKey("๐๘๑๒๓๔๕๖๗๘") == "0812345678");
  CHECK(PhoneKey("053-12345") == "");  // 8 digits: too short
  CHECK(PhoneKey("") == "");
  CHECK(PhoneKey("ไม่มี") == "");
}

TEST_CASE("NameMatch: a loose name key drops spacing and case, never a title",
          "[name_match]") {
  CHECK(LooseNameKey(" ประกวด  OTOP 2570 ") == "ประกวดotop2570");
  CHECK(LooseNameKey("อ.สุดา ") == LooseNameKey("อ. สุดา"));
  CHECK(LooseNameKey("นายสมชาย") != LooseNameKey("คุณสมชาย"));
  CHECK(LooseNameKey("นายสมชาย") == "นายสมชาย");
  CHECK(LooseNameKey("\xE0\xB8\x84\xE0\xB9\x8D\xE0\xB8\xB2") == "คำ");
  CHECK(LooseNameKey("") == "");
}

TEST_CASE("NameMatch: SARA AM typed as two characters is the one character",
          "[name_match]") {
  // "คําดี" with U+0E4D U+0E32, "คำดี" with U+0E33.
  CHECK(PersonNameKey("แสงเดือน \xE0\xB8\x84\xE0\xB9\x8D\xE0\xB8\xB2ดี") ==
        PersonNameKey("นางแสงเดือน คำดี"));
  CHECK(FoldSpaceAndCase("\xE0\xB9\x8D\xE0\xB8\xB2") == "\xE0\xB8\xB3");
  // A NIKHAHIT alone is kept.
  CHECK(FoldSpaceAndCase("\xE0\xB9\x8D") == "\xE0\xB9\x8D");
  // A tone mark typed between its two parts ("นํ้า": NIKHAHIT, MAI THO,
  // SARA AA) is "น้ำ" too: once a second producer on a register's import.
  CHECK(LooseNameKey("กลุ่มน\xE0\xB9\x8D\xE0\xB9\x89\xE0\xB8\xB2พริก บ้านแม่คำ") ==
        LooseNameKey("กลุ่มน้ำพริก บ้านแม่คำ"));
  CHECK(FoldSpaceAndCase("\xE0\xB9\x8D\xE0\xB9\x89\xE0\xB8\xB2") ==
        "\xE0\xB9\x89\xE0\xB8\xB3");
  // A tone mark after a NIKHAHIT with no SARA AA: kept as typed.
  CHECK(FoldSpaceAndCase("\xE0\xB9\x8D\xE0\xB9\x89") ==
        "\xE0\xB9\x8D\xE0\xB9\x89");
}

TEST_CASE("NameMatch: invisible characters and the order of a tone mark and its "
          "vowel sign never make two names",
          "[name_match]") {
  // U+200B zero-width space (a paste from a chat or a web page), U+200C,
  // U+2060, U+FEFF, U+00AD soft hyphen.
  CHECK(PersonNameKey("นายก้อง\u200Bเกียรติ") == PersonNameKey("นายก้องเกียรติ"));
  CHECK(PersonNameKey("นางสมศรี ใจดี\u200B") == PersonNameKey("นางสมศรี ใจดี"));
  CHECK(LooseNameKey("KBO CM 2570\u200B") == LooseNameKey("KBO CM 2570"));
  CHECK(LooseNameKey("นายสมชาย\u200C") == LooseNameKey("นายสมชาย"));
  CHECK(LooseNameKey("\uFEFFสม\u2060ชาย\u00AD") == "สมชาย");
  // Only invisible characters: nothing (a reason of them is empty).
  CHECK(FoldSpaceAndCase("\u200B\u200B") == "");
  // NIKHAHIT, U+200B, SARA AA: SARA AM once the space is gone.
  CHECK(FoldSpaceAndCase("\xE0\xB9\x8D\u200B\xE0\xB8\xB2") == "\xE0\xB8\xB3");
  // ก + MAI EK + SARA I and ก + SARA I + MAI EK ("กิ่ง"): one spelling,
  // with the vowel sign first.
  const std::string tone_first = "\xE0\xB8\x81\xE0\xB9\x88\xE0\xB8\xB4\xE0\xB8\x87";
  const std::string vowel_first = "\xE0\xB8\x81\xE0\xB8\xB4\xE0\xB9\x88\xE0\xB8\x87";
  CHECK(FoldSpaceAndCase(tone_first) == vowel_first);
  CHECK(PersonNameKey("นาย" + tone_first) == PersonNameKey("นาย" + vowel_first));
  // A tone mark under a below-vowel (ก + MAI THO + SARA U) too.
  CHECK(FoldSpaceAndCase("\xE0\xB8\x81\xE0\xB9\x89\xE0\xB8\xB8") ==
        "\xE0\xB8\x81\xE0\xB8\xB8\xE0\xB9\x89");
  // A mark run already in order, and one mark alone, are kept byte for byte.
  CHECK(FoldSpaceAndCase(vowel_first) == vowel_first);
  CHECK(FoldSpaceAndCase("\xE0\xB9\x88") == "\xE0\xB9\x88");
  // Distinct names stay distinct.
  CHECK(PersonNameKey("นางสมศรี") != PersonNameKey("นางสมศักดิ์"));
}

}  // namespace
}  // namespace kbo
