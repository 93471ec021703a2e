#include "shared/name_match.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace kbo {
namespace {

// A key without its spaces: Thai is written without spaces between words,
// so "สมศรีใจดี" and "สมศรี ใจดี" (or "Doi Craft" and "DoiCraft") are one
// name; spacing never tells two people apart.
std::string Unspaced(std::string key) {
  key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
  return key;
}

// UTF-8 of the Thai block is E0 B8 80 .. E0 B9 BF (U+0E00 .. U+0E7F).
// Consonants U+0E01..U+0E2E: E0 B8 81..AE. Leading vowels เ แ โ ใ ไ
// U+0E40..U+0E44: E0 B9 80..84. Thai digits U+0E50..U+0E59: E0 B9 90..99.
bool StartsThaiSyllable(std::string_view s) {
  if (s.size() < 3 || static_cast<unsigned char>(s[0]) != 0xE0) return false;
  const auto b1 = static_cast<unsigned char>(s[1]);
  const auto b2 = static_cast<unsigned char>(s[2]);
  if (b1 == 0xB8) return b2 >= 0x81 && b2 <= 0xAE;
  if (b1 == 0xB9) return b2 >= 0x80 && b2 <= 0x84;
  return false;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Removes one leading word of `words` (ordered longest first, so นางสาว is
// tried before นาง) from folded `s`, following the rules of PersonNameKey.
// `thai` words may be glued to what follows if that starts a Thai syllable;
// a word ending in '.' may be glued to anything; other words need a space.
std::string StripLeading(const std::string& s, const std::string_view* words,
                         size_t count, bool thai) {
  for (size_t i = 0; i < count; ++i) {
    const std::string_view w = words[i];
    if (!StartsWith(s, w)) continue;
    std::string_view rest = std::string_view(s).substr(w.size());
    if (rest.empty()) return s;  // only the title: keep it
    if (rest[0] == ' ') {
      rest.remove_prefix(1);
    } else if (w.back() == '.') {
      // "น.ส.สมศรี", "mr.smith"
    } else if (!(thai && StartsThaiSyllable(rest))) {
      continue;  // "คุณากร", "missy": a name, not a title
    }
    if (rest.empty()) return s;
    return std::string(rest);
  }
  return s;
}

constexpr std::string_view kThaiTitles[] = {
    "เด็กหญิง", "เด็กชาย", "นางสาว", "น.ส.", "ด.ช.", "ด.ญ.",
    "นาง",     "นาย",    "คุณ",
};
constexpr std::string_view kEnglishTitles[] = {
    "miss", "mrs.", "mrs", "mr.", "ms.", "dr.", "mr", "ms", "dr",
};
constexpr std::string_view kOrganisationWords[] = {
    "กลุ่มวิสาหกิจชุมชน", "ห้างหุ้นส่วนจำกัด", "วิสาหกิจชุมชน", "บริษัท",
    "กลุ่ม",            "หจก.",            "บจก.",
};
constexpr std::string_view kTambonWords[] = {"ตำบล", "ต."};

template <size_t N>
std::string Strip(const std::string& s, const std::string_view (&words)[N],
                  bool thai) {
  return StripLeading(s, words, N, thai);
}

std::string StripTitle(const std::string& folded) {
  std::string out = Strip(folded, kThaiTitles, /*thai=*/true);
  if (out != folded) return out;
  return Strip(folded, kEnglishTitles, /*thai=*/false);
}

}  // namespace

namespace {

// U+0E31, U+0E34..U+0E3A, U+0E47 (vowel signs above and below, MAITAIKHU):
// 0; U+0E48..U+0E4E (tone marks, THANTHAKHAT, NIKHAHIT, YAMAKKAN): 1; not
// a Thai mark: -1. `p` is 3 bytes at least.
int ThaiMarkClass(const char* p) {
  const auto b1 = static_cast<unsigned char>(p[1]);
  const auto b2 = static_cast<unsigned char>(p[2]);
  if (static_cast<unsigned char>(p[0]) != 0xE0) return -1;
  if (b1 == 0xB8 && (b2 == 0xB1 || (b2 >= 0xB4 && b2 <= 0xBA))) return 0;
  if (b1 == 0xB9 && b2 == 0x87) return 0;
  if (b1 == 0xB9 && b2 >= 0x88 && b2 <= 0x8E) return 1;
  return -1;
}

// Invisible characters that never tell two names apart: their UTF-8
// length at text[i], else 0.
size_t InvisibleAt(std::string_view text, size_t i) {
  if (text.compare(i, 2, "\xC2\xAD") == 0) return 2;  // U+00AD soft hyphen
  if (text.compare(i, 3, "\xE2\x80\x8B") == 0 ||    // U+200B
      text.compare(i, 3, "\xE2\x80\x8C") == 0 ||    // U+200C
      text.compare(i, 3, "\xE2\x81\xA0") == 0 ||    // U+2060
      text.compare(i, 3, "\xEF\xBB\xBF") == 0) {    // U+FEFF
    return 3;
  }
  return 0;
}

// Each run of Thai marks in `s` with its vowel signs before its tone marks
// (a stable order otherwise): "ก่ิ" and "กิ่" are one spelling.
void OrderThaiMarks(std::string* s) {
  for (size_t i = 0; i + 3 <= s->size();) {
    if (ThaiMarkClass(s->data() + i) < 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end + 3 <= s->size() && ThaiMarkClass(s->data() + end) >= 0) end += 3;
    if (end - i > 3) {
      std::vector<std::string> marks;
      for (size_t j = i; j < end; j += 3) marks.push_back(s->substr(j, 3));
      std::stable_sort(marks.begin(), marks.end(),
                       [](const std::string& a, const std::string& b) {
                         return ThaiMarkClass(a.data()) < ThaiMarkClass(b.data());
                       });
      std::string run;
      for (const std::string& m : marks) run += m;
      s->replace(i, end - i, run);
    }
    i = end;
  }
}

}  // namespace

std::string FoldSpaceAndCase(std::string_view text) {
  // Without the invisible characters first, so that what they stood
  // between is read together (NIKHAHIT, U+200B, SARA AA is SARA AM).
  std::string visible;
  for (size_t i = 0; i < text.size(); ++i) {
    if (InvisibleAt(text, i) == 0) continue;
    visible.assign(text.substr(0, i));
    while (i < text.size()) {
      const size_t n = InvisibleAt(text, i);
      if (n > 0) {
        i += n;
      } else {
        visible += text[i++];
      }
    }
    text = visible;
    break;
  }
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t space_bytes = 0;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space_bytes = 1;
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      space_bytes = 2;  // U+00A0 no-break space (pasted from Word, Excel)
    } else if (c == 0xE3 && i + 2 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               static_cast<unsigned char>(text[i + 2]) == 0x80) {
      space_bytes = 3;  // U+3000 ideographic space
    }
    if (space_bytes > 0) {
      pending_space = !out.empty();
      i += space_bytes;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    // SARA AM typed as its two parts, NIKHAHIT then SARA AA (U+0E4D U+0E32,
    // as some keyboards and fonts produce it: "คําดี"), is the one
    // character U+0E33 ("คำดี") that every other keyboard writes; with a
    // tone mark typed between the two ("นํ้า": NIKHAHIT, MAI THO, SARA AA)
    // too, the tone mark first ("น้ำ").
    if (text.compare(i, 3, "\xE0\xB9\x8D") == 0) {
      size_t j = i + 3;
      while (j + 3 <= text.size() && ThaiMarkClass(text.data() + j) == 1 &&
             text.compare(j, 3, "\xE0\xB9\x8D") != 0) {
        j += 3;
      }
      if (text.compare(j, 3, "\xE0\xB8\xB2") == 0) {
        out.append(text.substr(i + 3, j - i - 3));
        out += "\xE0\xB8\xB3";
        i = j + 3;
        continue;
      }
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a')
                                  : static_cast<char>(c);
    ++i;
  }
  OrderThaiMarks(&out);
  return out;
}

std::string LooseNameKey(std::string_view name) {
  return Unspaced(FoldSpaceAndCase(name));
}

// `key` without pictographs: emoji (U+1F000..U+1FAFF and the rest of the
// F0 9F lead: F0 9F 80 80 .. F0 9F BF BF), the symbols and dingbats
// U+2600..U+27BF (E2 98 80 .. E2 9E BF), the emoji variation selector
// U+FE0F (EF B8 8F) and the joiner U+200D (E2 80 8D) between them. A
// picture beside a name never tells two people or groups apart.
std::string WithoutPictographs(std::string key) {
  std::string out;
  out.reserve(key.size());
  const auto byte = [&key](size_t j) {
    return j < key.size() ? static_cast<unsigned char>(key[j]) : 0;
  };
  for (size_t i = 0; i < key.size();) {
    if (byte(i) == 0xF0 && byte(i + 1) == 0x9F && i + 3 < key.size()) {
      i += 4;
    } else if (byte(i) == 0xE2 && byte(i + 1) >= 0x98 && byte(i + 1) <= 0x9E &&
               i + 2 < key.size()) {
      i += 3;
    } else if ((byte(i) == 0xEF && byte(i + 1) == 0xB8 && byte(i + 2) == 0x8F) ||
               (byte(i) == 0xE2 && byte(i + 1) == 0x80 && byte(i + 2) == 0x8D)) {
      i += 3;
    } else {
      out.push_back(key[i++]);
    }
  }
  return out;
}

// FoldSpaceAndCase of `name` without pictographs; of `name` whole when it
// is nothing but pictographs (so two such names are not one).
std::string FoldedWords(std::string_view name) {
  std::string folded = FoldSpaceAndCase(WithoutPictographs(std::string(name)));
  return folded.empty() ? FoldSpaceAndCase(name) : folded;
}

std::string PersonNameKey(std::string_view name) {
  return Unspaced(StripTitle(FoldedWords(name)));
}

std::string ProducerNameKey(std::string_view name) {
  const std::string folded = FoldedWords(name);
  return Unspaced(StripTitle(Strip(folded, kOrganisationWords, /*thai=*/true)));
}

std::string TambonKey(std::string_view tambon) {
  return Unspaced(Strip(FoldSpaceAndCase(tambon), kTambonWords, /*thai=*/true));
}

std::string PhoneKey(std::string_view phone) {
  std::string digits;
  for (size_t i = 0; i < phone.size(); ++i) {
    const auto c = static_cast<unsigned char>(phone[i]);
    if (c >= '0' && c <= '9') {
      digits += static_cast<char>(c);
    } else if (c == 0xE0 && i + 2 < phone.size() &&
               static_cast<unsigned char>(phone[i + 1]) == 0xB9) {
      const auto d = static_cast<unsigned char>(phone[i + 2]);
      if (d >= 0x90 && d <= 0x99) {
        digits += static_cast<char>('0' + (d - 0x90));
        i += 2;
      }
    }
  }
  // +66 8x xxx xxxx (11 digits) is 08x xxx xxxx; +66 53 xxx xxx (10) is
  // 053 xxx xxx.
  if (digits.size() >= 10 && digits.compare(0, 2, "66") == 0) {
    digits = "0" + digits.substr(2);
  }
  if (digits.size() < 9) return "";
  return digits;
}

}  // namespace kbo
