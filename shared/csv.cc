#include "shared/csv.h"

#include <cstdint>
#include <string>

// Reader grammar (RFC 4180, with the line endings real spreadsheets write):
//   document := [BOM] record*
//   record   := field ("," field)* eol | eol            (an empty line:
//   skipped) field    := quoted | bare quoted   := '"' (any byte but '"' |
//   '""')* '"'      (may span lines) bare     := (any byte but ',' '"' CR LF)*
//   eol      := CRLF | LF | CR | end of text
// A lone CR is a line end because Excel for Mac ("CSV (Macintosh)") still
// writes one. Line numbers count physical lines (what an editor shows), so a
// quoted field that spans lines moves the next record's line on.

namespace kbo {
namespace {

// 1-based physical line of byte `offset` (CRLF, LF and lone CR each end one).
size_t LineOf(std::string_view text, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
    } else if (text[i] == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') continue;  // CRLF: once
      ++line;
    }
  }
  return line;
}

Status LineError(size_t line, const std::string& what) {
  return Status::InvalidArgument("CSV line " + std::to_string(line) + ": " +
                                 what);
}

}  // namespace

Result<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) {
    text.remove_prefix(kUtf8Bom.size());
  }
  // One pass over the whole document first: every field is a substring of
  // it, so this reports the first bad byte with its line, whatever field it
  // falls in, and the parser below never sees invalid UTF-8.
  if (const size_t bad = FirstInvalidUtf8(text); bad != text.size()) {
    return LineError(LineOf(text, bad),
                     "not valid UTF-8 text (save the file as \"CSV UTF-8\")");
  }

  std::vector<CsvRecord> records;
  const size_t n = text.size();
  size_t i = 0;
  size_t line = 1;

  // Consumes one line end at `i` if there is one; returns whether it did.
  auto consume_eol = [&]() {
    if (i < n && text[i] == '\r') {
      ++i;
      if (i < n && text[i] == '\n') ++i;
      ++line;
      return true;
    }
    if (i < n && text[i] == '\n') {
      ++i;
      ++line;
      return true;
    }
    return false;
  };

  while (i < n) {
    if (consume_eol()) continue;  // blank line
    CsvRecord record;
    record.line = line;
    bool record_done = false;
    while (!record_done) {
      std::string field;
      if (i < n && text[i] == '"') {
        const size_t quote_line = line;
        ++i;
        bool closed = false;
        while (i < n) {
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          // Embedded line ends are kept byte for byte; only the count moves.
          if (c == '\n' || (c == '\r' && !(i + 1 < n && text[i + 1] == '\n'))) {
            ++line;
          }
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          return LineError(quote_line,
                           "a quoted field is never closed (missing '\"')");
        }
        if (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          return LineError(line,
                           "unexpected text after a closing quote (a quote "
                           "inside a quoted field must be doubled: \"\")");
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') {
            return LineError(line,
                             "stray quote in an unquoted field (quote the "
                             "whole field and double the quote: \"\")");
          }
          field.push_back(text[i]);
          ++i;
        }
      }
      record.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;  // another field follows, possibly empty at the line end
      } else {
        consume_eol();
        record_done = true;
      }
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string FormatCsvRow(const CsvRow& row) {
  std::string out;
  for (size_t f = 0; f < row.size(); ++f) {
    if (f > 0) out.push_back(',');
    const std::string& field = row[f];
    bool quote = field.find_first_of(",\"\r\n") != std::string::npos;
    // Leading/trailing blanks: many readers (and people) trim bare fields.
    if (!field.empty()) {
      const char first = field.front();
      const char last = field.back();
      if (first == ' ' || first == '\t' || last == ' ' || last == '\t') {
        quote = true;
      }
    }
    // A record of one empty field would otherwise be an empty line, which the
    // reader skips: quote it so the record survives the round trip.
    if (row.size() == 1 && field.empty()) quote = true;
    if (!quote) {
      out += field;
      continue;
    }
    out.push_back('"');
    for (char c : field) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out += "\r\n";
  return out;
}

namespace {

// Whether `text`, past its leading apostrophes, starts as a spreadsheet
// formula would (=, +, -, @, a tab or a CR). A text that is a guarded one
// ("'-ลาย", typed so) is guarded again, so that unguarding gives it back.
bool StartsAsFormula(std::string_view text) {
  const size_t i = text.find_first_not_of('\'');
  if (i == std::string_view::npos) return false;
  const char c = text[i];
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

}  // namespace

std::string GuardFormula(std::string_view text) {
  if (StartsAsFormula(text)) return "'" + std::string(text);
  return std::string(text);
}

std::string UnguardFormula(std::string_view text) {
  if (!text.empty() && text[0] == '\'' && StartsAsFormula(text)) {
    return std::string(text.substr(1));
  }
  return std::string(text);
}

std::string PhoneForSpreadsheet(std::string_view phone) {
  if (phone.size() < 9 || phone.size() > 10 || phone[0] != '0' ||
      phone.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::string(phone);
  }
  const std::string p(phone);
  if (p.size() == 10)
    return p.substr(0, 3) + "-" + p.substr(3, 3) + "-" + p.substr(6);
  // Nine digits: Bangkok's 02 numbers, else a provincial 0XX number.
  if (p[1] == '2')
    return p.substr(0, 2) + "-" + p.substr(2, 3) + "-" + p.substr(5);
  return p.substr(0, 3) + "-" + p.substr(3, 3) + "-" + p.substr(6);
}

std::string PhoneFromSpreadsheet(std::string_view text) {
  if (text.find('-') == std::string_view::npos) return std::string(text);
  std::string digits;
  for (char c : text) {
    if (c != '-') digits.push_back(c);
  }
  // Only what PhoneForSpreadsheet writes, byte for byte, is undone.
  if (PhoneForSpreadsheet(digits) == text) return digits;
  return std::string(text);
}

}  // namespace kbo
