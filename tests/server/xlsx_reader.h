#ifndef KBO_TESTS_SERVER_XLSX_READER_H_
#define KBO_TESTS_SERVER_XLSX_READER_H_

// Reads back what an .xlsx holds, the way Excel would see it: the sheet
// names in order, and each cell's text and type (shared string, inline
// string, number). An .xlsx is a zip of XML parts; the parts are read with
// Debian's `unzip -p` (tools/install-deps), run without a shell. Only what
// libxlsxwriter writes is understood; for tests.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/run_cli.h"

namespace kbo::server::testing {

struct XlsxCell {
  std::string type;  // the t attribute: "s" (shared string), "inlineStr",
                     // "str", or "" (a number)
  std::string text;  // the string, or the number as written
};

struct XlsxSheet {
  std::string name;
  // rows[r][c], 0-based; missing cells are absent from the map.
  std::map<int, std::map<int, XlsxCell>> cells;

  const XlsxCell* At(int row, int col) const {
    auto r = cells.find(row);
    if (r == cells.end()) return nullptr;
    auto c = r->second.find(col);
    return c == r->second.end() ? nullptr : &c->second;
  }
  std::string Text(int row, int col) const {
    const XlsxCell* c = At(row, col);
    return c ? c->text : "";
  }
  // The header row's texts.
  std::vector<std::string> Header() const {
    std::vector<std::string> out;
    auto r = cells.find(0);
    if (r == cells.end()) return out;
    for (const auto& [col, cell] : r->second) {
      out.resize(static_cast<size_t>(col) + 1);
      out[static_cast<size_t>(col)] = cell.text;
    }
    return out;
  }
  // Column index of a header text; -1 if none.
  int Column(const std::string& header) const {
    const std::vector<std::string> h = Header();
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i] == header) return static_cast<int>(i);
    }
    return -1;
  }
  // Every cell's text, to search in.
  std::vector<std::string> AllText() const {
    std::vector<std::string> out;
    for (const auto& [r, row] : cells) {
      for (const auto& [c, cell] : row) out.push_back(cell.text);
    }
    return out;
  }
  bool Contains(const std::string& text) const {
    for (const std::string& t : AllText()) {
      if (t == text) return true;
    }
    return false;
  }
  int rows() const { return cells.empty() ? 0 : cells.rbegin()->first + 1; }
};

inline std::string UnzipBinary() {
  for (const char* p :
       {"/usr/bin/unzip", "/bin/unzip", "/usr/local/bin/unzip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// One part of the zip, or "" if absent.
inline std::string ReadZipPart(const std::string& zip,
                               const std::string& part) {
  const std::string unzip = UnzipBinary();
  REQUIRE_FALSE(unzip.empty());  // tools/install-deps installs unzip
  kbo::testing::CliResult r = kbo::testing::RunBinary(unzip, {"-p", zip, part});
  return r.exit_code == 0 ? r.out : "";
}

inline std::string XmlUnescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const size_t semi = s.find(';', i);
    const std::string ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else
      out += "&" + ent + ";";
    i = semi;
  }
  return out;
}

// "B12" → (11, 1).
inline void CellRef(const std::string& ref, int* row, int* col) {
  int c = 0;
  size_t i = 0;
  for (; i < ref.size() && ref[i] >= 'A' && ref[i] <= 'Z'; ++i) {
    c = c * 26 + (ref[i] - 'A' + 1);
  }
  *col = c - 1;
  *row = std::atoi(ref.c_str() + i) - 1;
}

inline std::vector<XlsxSheet> ReadXlsx(const std::string& path) {
  std::vector<std::string> shared;
  {
    const std::string sst = ReadZipPart(path, "xl/sharedStrings.xml");
    const std::regex si("<si>([\\s\\S]*?)</si>");
    const std::regex t("<t[^>]*>([\\s\\S]*?)</t>");
    for (auto it = std::sregex_iterator(sst.begin(), sst.end(), si);
         it != std::sregex_iterator(); ++it) {
      const std::string inner = (*it)[1];
      std::string text;
      for (auto jt = std::sregex_iterator(inner.begin(), inner.end(), t);
           jt != std::sregex_iterator(); ++jt) {
        text += XmlUnescape((*jt)[1]);
      }
      shared.push_back(text);
    }
  }
  std::vector<XlsxSheet> sheets;
  const std::string workbook = ReadZipPart(path, "xl/workbook.xml");
  const std::regex sheet_re("<sheet name=\"([^\"]*)\"");
  for (auto it =
           std::sregex_iterator(workbook.begin(), workbook.end(), sheet_re);
       it != std::sregex_iterator(); ++it) {
    XlsxSheet sheet;
    sheet.name = XmlUnescape((*it)[1]);
    sheets.push_back(sheet);
  }
  const std::regex cell_re(
      "<c r=\"([A-Z]+[0-9]+)\"([^>]*?)(/>|>([\\s\\S]*?)</c>)");
  const std::regex type_re("t=\"([^\"]*)\"");
  const std::regex v_re("<v>([\\s\\S]*?)</v>");
  const std::regex is_re("<t[^>]*>([\\s\\S]*?)</t>");
  for (size_t i = 0; i < sheets.size(); ++i) {
    const std::string xml = ReadZipPart(
        path, "xl/worksheets/sheet" + std::to_string(i + 1) + ".xml");
    for (auto it = std::sregex_iterator(xml.begin(), xml.end(), cell_re);
         it != std::sregex_iterator(); ++it) {
      int row = 0, col = 0;
      CellRef((*it)[1], &row, &col);
      XlsxCell cell;
      const std::string attrs = (*it)[2];
      const std::string inner = (*it)[4];
      std::smatch m;
      if (std::regex_search(attrs, m, type_re)) cell.type = m[1];
      if (cell.type == "inlineStr") {
        if (std::regex_search(inner, m, is_re)) cell.text = XmlUnescape(m[1]);
      } else if (std::regex_search(inner, m, v_re)) {
        cell.text = XmlUnescape(m[1]);
        if (cell.type == "s") {
          const size_t index = std::stoul(cell.text);
          cell.text = index < shared.size() ? shared[index] : "";
        }
      } else {
        continue;  // a styled empty cell
      }
      sheets[i].cells[row][col] = cell;
    }
  }
  return sheets;
}

inline const XlsxSheet* FindSheet(const std::vector<XlsxSheet>& sheets,
                                  const std::string& name) {
  for (const XlsxSheet& s : sheets) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace kbo::server::testing

#endif  // KBO_TESTS_SERVER_XLSX_READER_H_
