#ifndef KBO_TESTS_SUPPORT_ZSTD_FRAMES_H_
#define KBO_TESTS_SUPPORT_ZSTD_FRAMES_H_

// zstd frames the tests build on purpose: bombs (shared/compression.h's
// cap, the server's 413).

#include <zstd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>

namespace kbo::testing {

// `n` zero bytes as one zstd frame, written in 1 MiB pieces so that a bomb
// of any size is made without holding it. `window_log` 0: zstd's default.
// The content size is left out of the header (streamed).
inline std::string StreamedZeros(size_t n, int window_log = 0) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  if (window_log > 0) ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
  const std::string zeros(size_t{1} << 20, '\0');
  std::string out;
  std::string buf(ZSTD_CStreamOutSize(), '\0');
  size_t left = n;
  for (;;) {
    const size_t piece = std::min(left, zeros.size());
    left -= piece;
    const ZSTD_EndDirective mode = left == 0 ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer in{zeros.data(), piece, 0};
    size_t rest = 0;
    do {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      rest = ZSTD_compressStream2(c, &o, &in, mode);
      REQUIRE_FALSE(ZSTD_isError(rest));
      out.append(buf.data(), o.pos);
    } while (mode == ZSTD_e_end ? rest != 0 : in.pos < in.size);
    if (mode == ZSTD_e_end) break;
  }
  ZSTD_freeCCtx(c);
  return out;
}

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_ZSTD_FRAMES_H_
