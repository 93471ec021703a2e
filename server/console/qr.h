#ifndef KBO_SERVER_CONSOLE_QR_H_
#define KBO_SERVER_CONSOLE_QR_H_

// QR codes for the console's enrolment tokens, drawn on the server as SVG
// (libqrencode makes the module matrix; it stays behind qr.cc). A phone's
// camera or `kbo`'s scanner reads the enrolment URL from the screen.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kbo::server::console {

// A QR symbol's modules, row by row, without the quiet zone.
struct QrModules {
  int size = 0;           // modules per side (21 for version 1, +4 a version)
  std::vector<bool> dark; // size * size, row-major

  bool at(int x, int y) const {
    return dark[static_cast<size_t>(y) * static_cast<size_t>(size) +
                static_cast<size_t>(x)];
  }
};

// Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
inline constexpr int kQrQuietModules = 4;
// The SVG's width and height in CSS pixels; it shrinks to fit narrower
// screens (the console's CSS caps svg at 100% width).
inline constexpr int kQrPixels = 360;
// Longest text QrSvg takes (an enrolment URL is about 130 bytes); past it the
// symbol gets too dense for a phone camera at 360 px.
inline constexpr size_t kQrMaxBytes = 512;

// Encodes `text` as bytes (8-bit mode), error correction level M (15%:
// a smudged or glare-struck screen still reads), the smallest version that
// fits. nullopt if `text` is empty, longer than kQrMaxBytes, or libqrencode
// fails (out of memory).
std::optional<QrModules> QrEncode(std::string_view text);

// A standalone <svg> element of `text`'s QR code: black squares on white
// (one path of crisp-edged runs), a kQrQuietModules quiet zone, a viewBox in
// modules so it scales cleanly, kQrPixels wide and high, with role="img" and
// `text` (escaped) as its title. "" if QrEncode fails.
std::string QrSvg(std::string_view text);

} // namespace kbo::server::console

#endif // KBO_SERVER_CONSOLE_QR_H_
