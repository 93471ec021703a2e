#include "server/console/qr.h"

#include <qrencode.h>

#include <memory>
#include <mutex>
#include <string>

#include "server/console/console.h"

// The SVG drawn here:
//   <svg viewBox="0 0 N N" width=360 height=360 shape-rendering=crispEdges>
//     <title>TEXT</title>
//     <rect width=N height=N fill=#fff/>          white, quiet zone included
//     <path fill=#000 d="M{x} {y}h{run}v1h-{run}z ..."/>
//   </svg>
// with N = modules + 2 * quiet zone, one unit per module, and each run of
// dark modules in a row one closed rectangle (a 33x33 symbol is a few
// hundred runs, ~5 KiB). Whole-unit coordinates and crispEdges keep the
// squares sharp at any scale, so a camera sees clean edges.

namespace kbo::server::console {
namespace {

struct QrFree {
  void operator()(QRcode *code) const { QRcode_free(code); }
};

// libqrencode is thread-safe only when built with pthread (Debian's is);
// a lock costs nothing next to the encoding and holds for any build.
std::mutex &EncoderMutex() {
  static std::mutex m;
  return m;
}

} // namespace

std::optional<QrModules> QrEncode(std::string_view text) {
  if (text.empty() || text.size() > kQrMaxBytes)
    return std::nullopt;
  std::unique_ptr<QRcode, QrFree> code;
  {
    std::lock_guard<std::mutex> lock(EncoderMutex());
    code.reset(QRcode_encodeData(
        static_cast<int>(text.size()),
        reinterpret_cast<const unsigned char *>(text.data()), 0, QR_ECLEVEL_M));
  }
  if (!code || code->width <= 0 || code->data == nullptr)
    return std::nullopt;
  QrModules m;
  m.size = code->width;
  const size_t n = static_cast<size_t>(m.size) * static_cast<size_t>(m.size);
  m.dark.resize(n);
  // Bit 0 of each byte is the module's colour (1 = dark); the other bits
  // say what the module is for (finder, timing, data).
  for (size_t i = 0; i < n; ++i)
    m.dark[i] = (code->data[i] & 1) != 0;
  return m;
}

std::string QrSvg(std::string_view text) {
  std::optional<QrModules> m = QrEncode(text);
  if (!m)
    return "";
  const int side = m->size + 2 * kQrQuietModules;
  const std::string n = std::to_string(side);
  const std::string px = std::to_string(kQrPixels);
  std::string svg;
  svg.reserve(4096 + static_cast<size_t>(m->size) * 64);
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " +
         n + "\" width=\"" + px + "\" height=\"" + px +
         "\" shape-rendering=\"crispEdges\" role=\"img\" class=\"qr\">";
  svg += "<title>" + Escape(text) + "</title>";
  svg += "<rect width=\"" + n + "\" height=\"" + n + "\" fill=\"#fff\"/>";
  svg += "<path fill=\"#000\" d=\"";
  for (int y = 0; y < m->size; ++y) {
    int x = 0;
    while (x < m->size) {
      if (!m->at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < m->size && m->at(x + run, y))
        ++run;
      svg += "M" + std::to_string(x + kQrQuietModules) + " " +
             std::to_string(y + kQrQuietModules) + "h" + std::to_string(run) +
             "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  svg += "\"/></svg>";
  return svg;
}

} // namespace kbo::server::console
