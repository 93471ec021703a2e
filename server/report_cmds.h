#ifndef KBO_SERVER_REPORT_CMDS_H_
#define KBO_SERVER_REPORT_CMDS_H_

// The reports' commands of `kbo-server` (docs/cli.md, "Reports"), kept out
// of server/cli.cc, which only hands them their arguments:
//
//   report reach|attendance|certificates|contest|stages|followups
//          [--fiscal-year BE] [--district CODE] [--workshop ID]
//          [--contest NAME] [--today YYYY-MM-DD] [--json] [--lang th|en]
//   target set --fiscal-year BE --groups N --entrepreneurs N [--producers N]
//   workshop min-days ID N
//
// A report prints text for people by default (Thai labels, Buddhist Era
// dates; --lang en for English) and the JSON of server/report_queries.h
// with --json. The shell sees every district. `target set` and
// `workshop min-days` write the setting and an audit entry (actor "cli").

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "server/server_store.h"
#include "shared/labels.h"
#include "shared/result.h"

namespace kbo::server {

// `noun` is "report", "target" or "workshop"; `args` are the words after
// it. `store` opens the store on first use. A usage error sets
// *usage_error and returns kInvalidArgument (the caller prints the usage
// and exits 2); kNotFound for an unknown workshop or contest (exit 3).
Status ReportCommand(std::string_view noun,
                     const std::vector<std::string>& args,
                     const std::function<Result<ServerStore*>()>& store,
                     std::ostream& out, bool* usage_error);

// A word of the reports ("reach", "target", "eligible", ...) in `lang`; the
// key itself if unknown. The console's report pages use them too.
std::string ReportWord(Lang lang, std::string_view key);

// The sentence an attendance or certificate report adds when marks lie
// after the workshop's last day (AttendanceGrid::marks_beyond_days): how
// many, after which day, up to which, and that they are kept but not
// counted. "" when `marks` is 0. The console's pages use it too.
std::string MarksBeyondDaysNote(Lang lang, int64_t marks, int64_t days,
                                int64_t last_marked_day);

// What the * beside a mark means: `marks` marks with a conflict the office
// has not decided (AttendanceGrid::disputed_marks); "" when 0. The
// console's pages use it too.
std::string DisputedMarksNote(Lang lang, int64_t marks);

// What the † beside a participant's name means: `people` enrolled more
// than once in the workshop (CertificateReport::enrolled_twice), their
// days together in brackets; "" when 0. The console's pages use it too.
std::string EnrolledTwiceNote(Lang lang, int64_t people);
// "(4 together)", "(รวม 4 วัน)": a person's days over their enrolments.
std::string DaysTogether(Lang lang, int64_t days);

// What the * beside a contest's rank means: `scores` of its counted scores
// with a conflict the office has not decided (ContestReport::
// disputed_scores); "" when 0. The console's pages use it too.
std::string DisputedScoresNote(Lang lang, int64_t scores);

// A person's text as one cell of a tab-separated report: its tabs and line
// breaks as spaces (they would end the cell or the row), and a text a
// spreadsheet would take for a formula guarded as the CSV export guards it
// (GuardFormula): the reports paste into a spreadsheet.
std::string TextCell(std::string_view text);

// The usage lines of these commands, spliced into kbo-server's usage text
// (a literal, so it joins the literal there).
#define KBO_SERVER_REPORT_USAGE                                              \
  "  report reach|attendance|certificates|contest|stages|followups\n"       \
  "         [--fiscal-year BE] [--district CODE] [--workshop ID]\n"         \
  "         [--contest NAME] [--today YYYY-MM-DD] [--json] [--lang th|en]\n" \
  "  target set --fiscal-year BE --groups N --entrepreneurs N\n"            \
  "         [--producers N]   reach targets of a fiscal year\n"             \
  "  workshop min-days ID N   days attended for a certificate (default 4,\n" \
  "         or every day of a workshop shorter than that)\n"

}  // namespace kbo::server

#endif  // KBO_SERVER_REPORT_CMDS_H_
