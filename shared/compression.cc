#include "shared/compression.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "shared/encoding.h"

namespace kbo::compression {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One compression context per thread, reused: a new one per body would cost
// its allocation (about 1 MiB at level 3) every time.
ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  return cctx.get();
}

uint32_t ReadLe32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 |
         uint32_t{b[3]} << 24;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// A weight of exactly zero ("q=0", "q=0.0", "q=0.000"): refused.
bool IsZeroWeight(std::string_view params) {
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view p = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? "" : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    std::string_view v = p.substr(2);
    if (v.empty() || v[0] != '0') return false;
    v.remove_prefix(1);
    if (!v.empty() && v[0] == '.') v.remove_prefix(1);
    for (char c : v) {
      if (c != '0') return false;
    }
    return true;
  }
  return false;
}

}  // namespace

std::string ZstdCompress(std::string_view bytes, int level) {
  ZSTD_CCtx* cctx = ThreadCCtx();
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  size_t n = 0;
  if (cctx != nullptr) {
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
    // Explicit, so that no level asks a reader for more than it grants.
    // zstd still shrinks the window to fit a smaller body.
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, kMaxWindowLog);
    n = ZSTD_compress2(cctx, out.data(), out.size(), bytes.data(), bytes.size());
  }
  if (cctx == nullptr || ZSTD_isError(n)) {
    // Out of memory only (the bound always fits): the one-shot API with its
    // own context, whose level-1 window is within kMaxWindowLog.
    n = ZSTD_compress(out.data(), out.size(), bytes.data(), bytes.size(),
                      kDefaultLevel);
  }
  out.resize(ZSTD_isError(n) ? 0 : n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view frame, size_t max_bytes,
                                   std::string_view what) {
  const std::string subject(what);
  const auto too_large = [&] {
    return Status::ResourceExhausted(
               subject + " decompresses to more than " +
               std::to_string(max_bytes) +
               " bytes, more than this side accepts; send smaller change sets")
        .WithReason("too_large");
  };
  const auto corrupt = [&](const std::string& why) {
    return Status::Corruption(subject + " is not a valid zstd frame (" + why +
                              ")")
        .WithReason("bad_encoding");
  };
  // Exactly the current frame format. libzstd also decodes the legacy
  // formats of zstd 0.x (Debian builds it with them), whose decoders size
  // their buffers from the frame's header and ignore ZSTD_d_windowLogMax (a
  // 49-byte v0.6 frame asked for 128 MiB: fuzz finding); and a skippable
  // frame is not a body. No sender of ours writes either.
  if (frame.size() < 4 || ReadLe32(frame.data()) != ZSTD_MAGICNUMBER) {
    return corrupt("not a zstd frame");
  }
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return Status::Internal("zstd: cannot create a decoder");
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kMaxWindowLog);
  // Never sized from the frame's declared content size (attacker's text):
  // it grows with what the decoder actually produces, up to max_bytes.
  std::vector<char> chunk(ZSTD_DStreamOutSize());
  std::string out;
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  for (;;) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const size_t ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(ret)) {
      if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge) {
        return Status::ResourceExhausted(
                   subject + " asks for a zstd window over " +
                   std::to_string(size_t{1} << kMaxWindowLog) + " bytes")
            .WithReason("too_large");
      }
      return corrupt(ZSTD_getErrorName(ret));
    }
    if (o.pos > max_bytes - out.size()) return too_large();
    out.append(chunk.data(), o.pos);
    if (ret == 0) {  // the frame is complete
      if (in.pos != in.size) return corrupt("bytes after the frame");
      return out;
    }
    // Input used up, output not full, frame not complete: it was cut short.
    if (in.pos == in.size && o.pos < o.size) return corrupt("truncated");
  }
}

bool IsZstdCoding(std::string_view content_encoding) {
  return EqualsIgnoreAsciiCase(Trim(content_encoding), kZstd);
}

bool IsIdentityCoding(std::string_view content_encoding) {
  const std::string_view v = Trim(content_encoding);
  return v.empty() || EqualsIgnoreAsciiCase(v, "identity");
}

bool AcceptsZstd(std::string_view accept_encoding) {
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string_view name = Trim(item.substr(0, semi));
    if (!EqualsIgnoreAsciiCase(name, kZstd)) continue;
    return semi == std::string_view::npos || !IsZeroWeight(item.substr(semi + 1));
  }
  return false;
}

}  // namespace kbo::compression
