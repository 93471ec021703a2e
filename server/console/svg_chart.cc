#include "server/console/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

// Geometry, in viewBox units (1 unit = 1 CSS px on a 360-px phone):
//   HorizontalBarChart: title row (24), legend row (18, if a target is
//   drawn), then per bar a label line (16) and a bar (16) and a gap (8).
//   The bar plot spans x = 8 .. 300, leaving 52 units for the value text.
//   ColumnChart: title row (24), plot 140 high, labels row (20).
// Font sizes 12-14 stay legible at 360 px; max-width keeps them from
// growing huge on a wide screen.

namespace kbo::server::console {
namespace {

constexpr double kWidth = 360;
constexpr double kLeft = 8;
constexpr double kPlotRight = 300;
constexpr const char* kBarColour = "#2e7d32";
constexpr const char* kTargetColour = "#c62828";

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

double Clean(double v) { return std::isfinite(v) && v > 0 ? v : 0; }

// A number as people read it: whole numbers without decimals.
std::string ValueText(const ChartBar& bar) {
  if (!bar.value_text.empty()) return bar.value_text;
  const double v = Clean(bar.value);
  if (std::floor(v) == v && v < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

double Scale(const std::vector<ChartBar>& bars, double max) {
  if (Clean(max) > 0) return max;
  double scale = 0;
  for (const ChartBar& b : bars) {
    scale = std::max(scale, Clean(b.value));
    if (b.target) scale = std::max(scale, Clean(*b.target));
  }
  return scale;
}

// The fraction of the plot a value takes, 0..1 (0 when scale is 0).
double Fraction(double value, double scale) {
  if (scale <= 0) return 0;
  return std::min(1.0, Clean(value) / scale);
}

std::string Open(double height, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 " +
         Num(kWidth) + " " + Num(height) +
         "\" width=\"100%\" style=\"max-width:640px;height:auto\""
         " role=\"img\" aria-label=\"" + XmlEscape(title) +
         "\" font-family=\"sans-serif\"><title>" + XmlEscape(title) +
         "</title><text x=\"" + Num(kLeft) +
         "\" y=\"17\" font-size=\"14\" font-weight=\"bold\">" +
         XmlEscape(title) + "</text>";
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string HorizontalBarChart(const std::vector<ChartBar>& bars,
                               const ChartOptions& options) {
  const double scale = Scale(bars, options.max);
  const bool any_target = std::any_of(bars.begin(), bars.end(),
                                      [](const ChartBar& b) { return b.target.has_value(); });
  const double legend_h = any_target ? 18 : 0;
  const double row_h = 40;
  const double top = 24 + legend_h;
  const double height =
      top + row_h * static_cast<double>(std::max<size_t>(bars.size(), 1)) + 4;
  std::string svg = Open(height, options.title);
  if (any_target) {
    const std::string y = Num(24 + 9);
    svg += "<rect x=\"" + Num(kLeft) + "\" y=\"27\" width=\"12\" height=\"10\" fill=\"" +
           kBarColour + "\"/><text x=\"" + Num(kLeft + 16) + "\" y=\"" + y +
           "\" font-size=\"12\" dominant-baseline=\"middle\">" +
           XmlEscape(options.value_legend) + "</text>";
    svg += "<line x1=\"150\" y1=\"26\" x2=\"150\" y2=\"39\" stroke=\"" +
           std::string(kTargetColour) +
           "\" stroke-width=\"3\"/><text x=\"156\" y=\"" + y +
           "\" font-size=\"12\" dominant-baseline=\"middle\">" +
           XmlEscape(options.target_legend) + "</text>";
  }
  if (bars.empty()) {
    svg += "<text x=\"" + Num(kLeft) + "\" y=\"" + Num(top + 20) +
           "\" font-size=\"12\" fill=\"#555\">-</text>";
  }
  const double plot_w = kPlotRight - kLeft;
  for (size_t i = 0; i < bars.size(); ++i) {
    const ChartBar& b = bars[i];
    const double y = top + row_h * static_cast<double>(i);
    const double w = plot_w * Fraction(b.value, scale);
    svg += "<text x=\"" + Num(kLeft) + "\" y=\"" + Num(y + 12) +
           "\" font-size=\"13\">" + XmlEscape(b.label) + "</text>";
    // The track shows the full scale, so an empty bar still reads as zero.
    svg += "<rect x=\"" + Num(kLeft) + "\" y=\"" + Num(y + 16) + "\" width=\"" +
           Num(plot_w) + "\" height=\"16\" fill=\"#e8e8e8\"/>";
    svg += "<rect class=\"bar\" data-value=\"" + XmlEscape(ValueText(b)) +
           "\" x=\"" + Num(kLeft) + "\" y=\"" + Num(y + 16) + "\" width=\"" +
           Num(w) + "\" height=\"16\" fill=\"" + kBarColour + "\"/>";
    if (b.target) {
      const double tx = kLeft + plot_w * Fraction(*b.target, scale);
      svg += "<line class=\"target\" x1=\"" + Num(tx) + "\" y1=\"" +
             Num(y + 13) + "\" x2=\"" + Num(tx) + "\" y2=\"" + Num(y + 35) +
             "\" stroke=\"" + kTargetColour + "\" stroke-width=\"3\"/>";
    }
    svg += "<text x=\"" + Num(kPlotRight + 6) + "\" y=\"" + Num(y + 28) +
           "\" font-size=\"12\">" + XmlEscape(ValueText(b)) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

std::string ColumnChart(const std::vector<ChartBar>& bars,
                        const ChartOptions& options) {
  const double scale = Scale(bars, options.max);
  const double top = 44;  // title, then room for the value above a full bar
  const double plot_h = 120;
  const double base = top + plot_h;
  const double height = base + 24;
  std::string svg = Open(height, options.title);
  const double plot_w = kWidth - 2 * kLeft;
  svg += "<line x1=\"" + Num(kLeft) + "\" y1=\"" + Num(base) + "\" x2=\"" +
         Num(kLeft + plot_w) + "\" y2=\"" + Num(base) +
         "\" stroke=\"#555\" stroke-width=\"1\"/>";
  if (bars.empty()) {
    svg += "<text x=\"" + Num(kLeft) + "\" y=\"" + Num(base - 8) +
           "\" font-size=\"12\" fill=\"#555\">-</text></svg>";
    return svg;
  }
  const double slot = plot_w / static_cast<double>(bars.size());
  const double col_w = std::max(2.0, slot * 0.6);
  const double font = std::min(12.0, std::max(8.0, slot / 4));
  for (size_t i = 0; i < bars.size(); ++i) {
    const ChartBar& b = bars[i];
    const double cx = kLeft + slot * (static_cast<double>(i) + 0.5);
    const double h = plot_h * Fraction(b.value, scale);
    svg += "<rect class=\"bar\" data-value=\"" + XmlEscape(ValueText(b)) +
           "\" x=\"" + Num(cx - col_w / 2) + "\" y=\"" + Num(base - h) +
           "\" width=\"" + Num(col_w) + "\" height=\"" + Num(h) +
           "\" fill=\"" + kBarColour + "\"/>";
    svg += "<text x=\"" + Num(cx) + "\" y=\"" + Num(base - h - 4) +
           "\" font-size=\"" + Num(font) + "\" text-anchor=\"middle\">" +
           XmlEscape(ValueText(b)) + "</text>";
    svg += "<text x=\"" + Num(cx) + "\" y=\"" + Num(base + 16) +
           "\" font-size=\"" + Num(font) + "\" text-anchor=\"middle\">" +
           XmlEscape(b.label) + "</text>";
    if (b.target) {
      const double ty = base - plot_h * Fraction(*b.target, scale);
      svg += "<line class=\"target\" x1=\"" + Num(cx - slot / 2 + 2) +
             "\" y1=\"" + Num(ty) + "\" x2=\"" + Num(cx + slot / 2 - 2) +
             "\" y2=\"" + Num(ty) + "\" stroke=\"" + kTargetColour +
             "\" stroke-width=\"3\"/>";
    }
  }
  svg += "</svg>";
  return svg;
}

}  // namespace kbo::server::console
