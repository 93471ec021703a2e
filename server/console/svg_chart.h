#ifndef KBO_SERVER_CONSOLE_SVG_CHART_H_
#define KBO_SERVER_CONSOLE_SVG_CHART_H_

// Charts for the report pages, drawn on the server as inline SVG: no chart
// library, no script, no font or CDN to fetch. Each chart is one <svg> with
// a viewBox 360 units wide and width="100%" (capped by max-width), so it
// reads on a 360-px phone at its natural size, scales down cleanly, and
// prints as vectors. Text is XML-escaped; the font is the page's
// (sans-serif), which renders Thai. Bars carry class="bar" and data-value,
// target markers class="target", so tests and print CSS can find them.
//
// Scaling: every bar is value / scale of the plot, where scale is the
// largest value or target (or the given maximum); a scale of zero (no
// data, all zeros) draws empty bars instead of dividing by zero. Negative
// and non-finite values draw as zero.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kbo::server::console {

struct ChartBar {
  std::string label;                  // plain text (escaped when drawn)
  double value = 0;
  std::optional<double> target;       // drawn as a marker line
  std::string value_text;             // shown beside the bar; "" = the number
};

struct ChartOptions {
  std::string title;        // plain text; also the svg's aria-label
  // The value of a full-width bar; 0 = the largest value or target.
  double max = 0;
  std::string target_legend;  // e.g. "เป้าหมาย"; legend shown if any target
  std::string value_legend;   // e.g. "เข้าถึงแล้ว"
};

// Horizontal bars, one row per bar: its label above, the bar below with its
// value at the end, and the target (if any) as a vertical marker. For reach
// against targets and products by stage.
std::string HorizontalBarChart(const std::vector<ChartBar>& bars,
                               const ChartOptions& options);

// Vertical columns with their labels below and values above. For daily
// attendance rates (max = 1, value_text "55%").
std::string ColumnChart(const std::vector<ChartBar>& bars,
                        const ChartOptions& options);

// Escapes & < > " ' for XML text and attributes.
std::string XmlEscape(std::string_view text);

}  // namespace kbo::server::console

#endif  // KBO_SERVER_CONSOLE_SVG_CHART_H_
