#include "server/xlsx_export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "shared/encoding.h"
#include "shared/fs.h"

namespace kbo::server {

namespace {

// Excel's limits: 1,048,576 rows (one is the header), 32,767 characters in
// a cell (libxlsxwriter counts bytes), 31 characters in a sheet name.
constexpr size_t kMaxDataRows = LXW_ROW_MAX - 1;
constexpr size_t kMaxCellBytes = 32767;
constexpr size_t kMaxSheetNameChars = 31;
// Column widths, in Excel's character units: wide enough for a short code,
// never wider than a screen.
constexpr double kMinWidth = 6;
constexpr double kMaxWidth = 60;

Status Errno(const std::string& what, const std::string& path, int err) {
  return Status::IOError(what + " '" + path + "': " + std::strerror(err));
}

// A sheet name Excel accepts: no []:*?/\, at most 31 characters, not empty,
// not starting or ending with an apostrophe, unique (case-insensitively for
// ASCII, as Excel compares) among `used`.
std::string SheetName(const std::string& title, std::set<std::string>* used) {
  std::string name;
  for (char c : title) {
    name += std::strchr("[]:*?/\\", c) != nullptr ? ' ' : c;
  }
  while (!name.empty() && name.front() == '\'') name.erase(0, 1);
  if (name.empty()) name = "Sheet";
  auto cut = [](const std::string& s, size_t chars) {
    size_t count = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 &&
          count++ == chars) {
        return s.substr(0, i);
      }
    }
    return s;
  };
  auto folded = [](std::string s) {
    for (char& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string candidate = cut(name, kMaxSheetNameChars);
  for (int n = 2; used->count(folded(candidate)) > 0; ++n) {
    const std::string suffix = " " + std::to_string(n);
    candidate = cut(name, kMaxSheetNameChars - suffix.size()) + suffix;
  }
  while (!candidate.empty() && candidate.back() == '\'') candidate.pop_back();
  used->insert(folded(candidate));
  return candidate;
}

// Owns a workbook until it is closed.
class Workbook {
 public:
  explicit Workbook(const std::string& path) {
    lxw_workbook_options options = {};
    options.constant_memory = LXW_FALSE;
    options.tmpdir = nullptr;
    options.use_zip64 = LXW_FALSE;
    wb_ = workbook_new_opt(path.c_str(), &options);
  }
  ~Workbook() {
    if (wb_ != nullptr) workbook_close(wb_);  // frees; a failure is moot here
  }
  Workbook(const Workbook&) = delete;
  Workbook& operator=(const Workbook&) = delete;

  lxw_workbook* get() { return wb_; }
  lxw_error Close() {
    lxw_workbook* wb = wb_;
    wb_ = nullptr;
    return workbook_close(wb);
  }

 private:
  lxw_workbook* wb_ = nullptr;
};

Status LxwStatus(lxw_error err, const std::string& what) {
  if (err == LXW_NO_ERROR) return Status();
  return Status::IOError(what + ": " + lxw_strerror(err));
}

// `text` with what XML 1.0 may not hold (U+FFFE, U+FFFF; control bytes
// other than tab and line breaks) as U+FFFD: a name pushed with them made
// the workbook one Excel calls damaged (the server refuses them now; a
// database may hold them from before).
std::string XmlSafe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += "\xEF\xBF\xBD";
    } else if (c == 0xEF && i + 2 < text.size() && text[i + 1] == '\xBF' &&
               (text[i + 2] == '\xBE' || text[i + 2] == '\xBF')) {
      out += "\xEF\xBF\xBD";
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

Status WriteString(lxw_worksheet* ws, lxw_row_t row, lxw_col_t col,
                   const std::string& text, lxw_format* format) {
  const std::string cell = XmlSafe(Utf8Prefix(text, kMaxCellBytes));
  return LxwStatus(worksheet_write_string(ws, row, col, cell.c_str(), format),
                   "writing a cell");
}

// The directory part of `path` ("." when it has none).
std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Makes an empty, private temporary file from `pattern` (ending in XXXXXX).
Result<std::string> MakeTemp(std::string pattern) {
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) return Errno("create", pattern, errno);
  if (::fchmod(fd, 0600) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(pattern.c_str());
    return Errno("chmod", pattern, err);
  }
  ::close(fd);
  return pattern;
}

Status FsyncPath(const std::string& path, bool directory) {
  const int fd =
      ::open(path.c_str(),
             (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Errno("open", path, errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return Errno("fsync", path, err);
  }
  ::close(fd);
  return Status();
}

}  // namespace

Status WriteXlsx(const std::vector<ExportSheet>& sheets,
                 const std::string& path, Lang lang) {
  for (const ExportSheet& sheet : sheets) {
    if (sheet.rows.size() > kMaxDataRows) {
      return Status::ResourceExhausted(
          "sheet '" + sheet.title + "' has " +
          std::to_string(sheet.rows.size()) + " rows, more than Excel's " +
          std::to_string(kMaxDataRows) +
          "; narrow the export by fiscal year or district");
    }
  }
  Workbook wb(path);
  if (wb.get() == nullptr) {
    return Status::IOError("cannot create workbook '" + path + "'");
  }
  std::string title = lang == Lang::kTh ? "ข้อมูล KBO Field" : "KBO Field data";
  lxw_doc_properties props = {};
  props.title = title.data();
  if (Status s = LxwStatus(workbook_set_properties(wb.get(), &props),
                           "workbook properties");
      !s.ok()) {
    return s;
  }
  lxw_format* header = workbook_add_format(wb.get());
  format_set_bold(header);
  format_set_bg_color(header, 0xE8EEF4);
  format_set_bottom(header, LXW_BORDER_THIN);
  format_set_text_wrap(header);
  format_set_align(header, LXW_ALIGN_VERTICAL_TOP);
  lxw_format* percent = workbook_add_format(wb.get());
  format_set_num_format(percent, "0.0%");  // as the reports: 85.7%
  // Text cells keep the Text number format too, so a person editing a
  // phone number in Excel does not turn it into a number either.
  lxw_format* text = workbook_add_format(wb.get());
  format_set_num_format(text, "@");

  std::set<std::string> used;
  for (const ExportSheet& sheet : sheets) {
    const std::string name = SheetName(sheet.title, &used);
    lxw_worksheet* ws = workbook_add_worksheet(wb.get(), name.c_str());
    if (ws == nullptr) {
      return Status::IOError("cannot add sheet '" + name + "'");
    }
    const size_t ncols = sheet.header.size();
    std::vector<size_t> widths(ncols, 0);
    for (size_t c = 0; c < ncols; ++c) {
      if (Status s = WriteString(ws, 0, static_cast<lxw_col_t>(c),
                                 sheet.header[c], header);
          !s.ok()) {
        return s;
      }
      widths[c] = DisplayWidth(sheet.header[c]);
    }
    for (size_t r = 0; r < sheet.rows.size(); ++r) {
      const auto row = static_cast<lxw_row_t>(r + 1);
      const std::vector<ExportCell>& cells = sheet.rows[r];
      for (size_t c = 0; c < cells.size() && c < ncols; ++c) {
        const ExportCell& cell = cells[c];
        const auto col = static_cast<lxw_col_t>(c);
        Status s;
        switch (cell.kind) {
          case ExportCell::Kind::kEmpty:
            continue;
          case ExportCell::Kind::kNumber:
            s = LxwStatus(
                worksheet_write_number(ws, row, col, cell.number, nullptr),
                "writing a cell");
            break;
          case ExportCell::Kind::kPercent:
            s = LxwStatus(
                worksheet_write_number(ws, row, col, cell.number, percent),
                "writing a cell");
            break;
          case ExportCell::Kind::kPhone:
          case ExportCell::Kind::kText:
            s = WriteString(ws, row, col, cell.text, text);
            break;
        }
        if (!s.ok()) return s;
        widths[c] = std::max(widths[c], DisplayWidth(cell.text));
      }
    }
    for (size_t c = 0; c < ncols; ++c) {
      // Thai script sets wider than its character count in Excel's unit
      // (the width of a Latin digit), hence the margin.
      const double w = std::clamp(static_cast<double>(widths[c]) * 1.15 + 2,
                                  kMinWidth, kMaxWidth);
      worksheet_set_column(ws, static_cast<lxw_col_t>(c),
                           static_cast<lxw_col_t>(c), w, nullptr);
    }
    // Phone numbers and ids are text on purpose: no green "number stored
    // as text" triangles on every one of them.
    if (!sheet.rows.empty()) {
      worksheet_ignore_errors(ws, LXW_IGNORE_NUMBER_STORED_AS_TEXT,
                              "A1:XFD1048576");
    }
    worksheet_freeze_panes(ws, 1, 0);
    if (ncols > 0) {
      worksheet_autofilter(ws, 0, 0, static_cast<lxw_row_t>(sheet.rows.size()),
                           static_cast<lxw_col_t>(ncols - 1));
    }
  }
  return LxwStatus(wb.Close(), "writing '" + path + "'");
}

Result<XlsxSummary> ExportXlsx(Db& db, const std::string& path,
                               const ExportFilter& filter) {
  if (path.empty()) return Status::InvalidArgument("no file to write to");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(
        "'" + path + "' is a folder; give a file, e.g. " + path + "/kbo.xlsx");
  }
  auto ends_xlsx = [](const std::string& p) {
    if (p.size() < 5) return false;
    std::string tail = p.substr(p.size() - 5);
    for (char& c : tail)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tail == ".xlsx";
  };
  if (!ends_xlsx(path)) {
    return Status::InvalidArgument(
        "'" + path + "' does not end in .xlsx (Excel opens only such files)");
  }
  const size_t slash = path.find_last_of('/');
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  // ".xlsx" alone is a hidden file with no name, not what was meant.
  if (base.size() == 5) {
    return Status::InvalidArgument("'" + path +
                                   "' has no name before .xlsx: give the file a "
                                   "name, e.g. phrao-2569.xlsx");
  }
  const std::string dir = DirOf(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("folder '" + dir + "' does not exist");
  }
  if (Status s = EnsureReplaceableFile(path); !s.ok()) return s;

  Result<std::vector<ExportSheet>> sheets = BuildPeopleSheets(db, filter);
  if (!sheets.ok()) return sheets.status();

  Result<std::string> tmp = MakeTemp(dir + "/." + base + ".XXXXXX");
  if (!tmp.ok()) {
    // Said of the folder: the temporary file's name means nothing to the
    // person (the system's words are the last part of the message).
    const std::string& m = tmp.status().message();
    const size_t colon = m.rfind(": ");
    return Status::FromCode(tmp.status().code(),
                            "cannot write a file in folder '" + dir + "'" +
                                (colon == std::string::npos ? "" : m.substr(colon)))
        .WithReason(tmp.status().reason());
  }
  Status s = WriteXlsx(*sheets, *tmp, filter.lang);
  if (s.ok()) s = FsyncPath(*tmp, false);
  if (s.ok() && ::rename(tmp->c_str(), path.c_str()) != 0) {
    s = Errno("rename to", path, errno);
  }
  if (!s.ok()) {
    ::unlink(tmp->c_str());
    return s;
  }
  if (Status d = FsyncPath(dir, true); !d.ok()) return d;
  XlsxSummary summary;
  for (const ExportSheet& sheet : *sheets) {
    summary.emplace_back(sheet.title, sheet.rows.size());
  }
  return summary;
}

Result<std::string> XlsxBytes(Db& db, const ExportFilter& filter) {
  Result<std::vector<ExportSheet>> sheets = BuildPeopleSheets(db, filter);
  if (!sheets.ok()) return sheets.status();
  std::string dir;
  try {
    dir = std::filesystem::temp_directory_path().string();
  } catch (const std::filesystem::filesystem_error&) {
    dir = "/tmp";
  }
  Result<std::string> tmp = MakeTemp(dir + "/kbo-export-XXXXXX");
  if (!tmp.ok()) return tmp.status();
  Status s = WriteXlsx(*sheets, *tmp, filter.lang);
  Result<std::string> bytes =
      s.ok() ? ReadFileBounded(*tmp, size_t{1} << 31) : Result<std::string>(s);
  ::unlink(tmp->c_str());
  return bytes;
}

}  // namespace kbo::server
