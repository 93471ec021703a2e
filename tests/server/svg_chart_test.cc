// The report charts (server/console/svg_chart.h): well-formed inline SVG
// that scales with its data and survives empty, zero and hostile input.

#include "server/console/svg_chart.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

namespace kbo::server::console {
namespace {

// Tags balance (every opened element closed, in order), attributes quoted,
// no raw '<' or '&' in text: enough of XML to catch what a browser would
// choke on.
bool WellFormed(const std::string& svg, std::string* why) {
  std::vector<std::string> open;
  size_t i = 0;
  while (i < svg.size()) {
    if (svg[i] == '&') {
      const size_t semi = svg.find(';', i);
      if (semi == std::string::npos || semi - i > 6) {
        *why = "bare & at " + std::to_string(i);
        return false;
      }
      i = semi + 1;
      continue;
    }
    if (svg[i] != '<') {
      if (svg[i] == '>') {
        *why = "bare > at " + std::to_string(i);
        return false;
      }
      ++i;
      continue;
    }
    const size_t end = svg.find('>', i);
    if (end == std::string::npos) {
      *why = "unclosed tag";
      return false;
    }
    std::string tag = svg.substr(i + 1, end - i - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0 ||
        tag.find('<') != std::string::npos) {
      *why = "bad tag " + tag;
      return false;
    }
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) {
        *why = "mismatched </" + name + ">";
        return false;
      }
      open.pop_back();
    } else if (!tag.empty() && tag.back() != '/') {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    i = end + 1;
  }
  if (!open.empty()) {
    *why = "unclosed <" + open.back() + ">";
    return false;
  }
  return true;
}

void CheckWellFormed(const std::string& svg) {
  std::string why;
  INFO(svg);
  INFO(why);
  CHECK(WellFormed(svg, &why));
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("viewBox=\"0 0 360 ") != std::string::npos);
  CHECK(svg.find("width=\"100%\"") != std::string::npos);
  CHECK(svg.find("http://", 40) == std::string::npos);  // nothing fetched
  for (const char* bad : {"\"nan", "\"-nan", "\"inf", "\"-inf"}) {
    CHECK(svg.find(bad) == std::string::npos);
  }
}

// The width (horizontal) or height (column) of each class="bar" rect.
std::vector<double> BarSizes(const std::string& svg, const char* attr) {
  std::vector<double> out;
  const std::regex bar(std::string("<rect class=\"bar\"[^>]* ") + attr +
                       "=\"([0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar);
       it != std::sregex_iterator(); ++it) {
    out.push_back(std::stod((*it)[1]));
  }
  return out;
}

TEST_CASE("SvgChart: horizontal bars are proportional to their values and "
          "targets are marked",
          "[reports][svg]") {
  std::vector<ChartBar> bars = {{"กลุ่มผู้ผลิต", 8, 94, ""},
                                {"ผู้ประกอบการ", 12, 206, ""},
                                {"รวม", 20, 300, ""}};
  ChartOptions o;
  o.title = "การเข้าถึงผู้ผลิต 2569";
  o.value_legend = "เข้าถึงแล้ว";
  o.target_legend = "เป้าหมาย";
  const std::string svg = HorizontalBarChart(bars, o);
  CheckWellFormed(svg);
  CHECK(svg.find("กลุ่มผู้ผลิต") != std::string::npos);
  CHECK(svg.find("เป้าหมาย") != std::string::npos);
  const std::vector<double> w = BarSizes(svg, "width");
  REQUIRE(w.size() == 3);
  // The scale is the largest target (300) over a 292-unit plot.
  CHECK(w[0] == Approx(292.0 * 8 / 300).margin(0.06));
  CHECK(w[1] == Approx(292.0 * 12 / 300).margin(0.06));
  CHECK(w[2] == Approx(292.0 * 20 / 300).margin(0.06));
  CHECK(w[1] / w[0] == Approx(1.5).epsilon(0.02));
  // One target marker per bar; the total's at the plot's right edge.
  const std::regex target("class=\"target\" x1=\"([0-9.]+)\"");
  std::vector<double> xs;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), target);
       it != std::sregex_iterator(); ++it) {
    xs.push_back(std::stod((*it)[1]));
  }
  REQUIRE(xs.size() == 3);
  CHECK(xs[2] == Approx(300));
  CHECK(xs[0] == Approx(8 + 292.0 * 94 / 300).margin(0.06));
}

TEST_CASE("SvgChart: empty, zero and non-finite data draw without dividing "
          "by zero",
          "[reports][svg]") {
  ChartOptions o;
  o.title = "ว่าง";
  for (const std::string& svg :
       {HorizontalBarChart({}, o), ColumnChart({}, o),
        HorizontalBarChart({{"a", 0, std::nullopt, ""}, {"b", 0, 0.0, ""}}, o),
        ColumnChart({{"วัน 1", 0, std::nullopt, ""}}, o),
        HorizontalBarChart(
            {{"x1", std::nan(""), std::nullopt, ""},
             {"x2", std::numeric_limits<double>::infinity(), std::nullopt,
              ""},
             {"x3", -5, std::nullopt, ""}},
            o)}) {
    CheckWellFormed(svg);
    const bool columns = svg.find("text-anchor") != std::string::npos;
    for (double v : BarSizes(svg, columns ? "height" : "width")) CHECK(v == 0);
  }
  const std::string zeros =
      ColumnChart({{"1", 0, std::nullopt, ""}, {"2", 0, std::nullopt, ""}}, o);
  for (double h : BarSizes(zeros, "height")) CHECK(h == 0);
}

TEST_CASE("SvgChart: columns of daily rates scale to a fixed maximum",
          "[reports][svg]") {
  std::vector<ChartBar> days;
  const double rates[] = {0.55, 0.6, 1.0, 0.0, 0.3};
  for (int d = 0; d < 5; ++d) {
    days.push_back({"วัน " + std::to_string(d + 1), rates[d], std::nullopt,
                    std::to_string(static_cast<int>(rates[d] * 100)) + "%"});
  }
  ChartOptions o;
  o.title = "อัตราการเข้าอบรมรายวัน";
  o.max = 1;
  const std::string svg = ColumnChart(days, o);
  CheckWellFormed(svg);
  const std::vector<double> h = BarSizes(svg, "height");
  REQUIRE(h.size() == 5);
  for (int d = 0; d < 5; ++d) CHECK(h[d] == Approx(120 * rates[d]).margin(0.06));
  CHECK(svg.find(">55%<") != std::string::npos);
  CHECK(svg.find("วัน 5") != std::string::npos);
  // A value over the maximum is clipped to the plot, not drawn off it.
  const std::string over = ColumnChart({{"x", 2, std::nullopt, ""}}, o);
  CHECK(BarSizes(over, "height").at(0) == Approx(120));
}

TEST_CASE("SvgChart: labels and titles are escaped", "[reports][svg]") {
  ChartOptions o;
  o.title = "<script>alert('x')</script> & co";
  const std::string svg = HorizontalBarChart(
      {{"\"><img src=x onerror=alert(1)>", 3, std::nullopt, "a&b"}}, o);
  CheckWellFormed(svg);
  CHECK(svg.find("<script") == std::string::npos);
  CHECK(svg.find("<img") == std::string::npos);
  CHECK(svg.find("&lt;script&gt;") != std::string::npos);
  CHECK(svg.find("a&amp;b") != std::string::npos);
  CHECK(XmlEscape("a\x01" "b") == "a b");
}

}  // namespace
}  // namespace kbo::server::console
