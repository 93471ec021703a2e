#ifndef KBO_SHARED_IMAGE_H_
#define KBO_SHARED_IMAGE_H_

// Downscaled JPEG copies of photos, made with libvips (docs/decisions.md,
// "Thumbnails" and "Photos sized for the link"): the server's thumbnails
// (server/thumbnails.h) and the client's upload copies (client/photo_copy.h)
// are both this one operation with different sizes. libvips is an
// implementation detail of image.cc, the only library file that includes it
// (tools/check-layering); it lives in its own target, kbo_image, so that
// only the binaries that make images link it.
//
// Threads: libvips is started once per process (VIPS_INIT) with its own
// worker threads set to 1, its operation cache off and its untrusted loaders
// blocked. Copies are made one at a time, process-wide (a mutex of this
// module): one decode of at most JpegCopyOptions::max_pixels at a time
// bounds memory, however many threads ask.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo {

struct JpegCopyOptions {
  // The long edge of the copy, in pixels; an image whose long edge is
  // shorter keeps its size (never enlarged).
  int long_edge = 1600;
  // JPEG quality, 1..100.
  int quality = 80;
  // Images (PNG, WebP) whose header says more pixels than this are
  // refused, checked before any pixel is decoded. Default: 50 megapixels
  // (a "picture" of 30000 x 30000 is an attack, not a photo).
  uint64_t max_pixels = 50'000'000;
  // Longest edge accepted, whatever the pixel count (a 1 x 10^7 strip).
  int max_edge = 20'000;
  // The same two for a JPEG, which is decoded shrunk (1/2 to 1/8 on load)
  // when a smaller copy is made: a 108- or 200-megapixel phone camera's
  // photo costs a few megapixels of memory, not its own size.
  uint64_t max_jpeg_pixels = 200'000'000;
  int max_jpeg_edge = 32'768;
  // An interlaced PNG cannot be decoded a strip at a time: libvips holds
  // all of its pixels at their full depth (a 400 KB 16-bit RGBA PNG of
  // 50 megapixels took 400 MB and 13 s). Such an image whose pixels would
  // take more than this many bytes is refused from its header. Default:
  // 64 MiB (a 16-megapixel RGBA photo; no phone saves interlaced PNG).
  uint64_t max_interlaced_bytes = uint64_t{64} << 20;
  // A progressive JPEG is not shrunk on load for free either: libjpeg
  // holds every DCT coefficient of the whole picture (2 bytes a sample,
  // each component at its own sampling) until the last scan, from a file
  // of a few hundred KB. Refused from its header above this many bytes.
  // Default 256 MiB (about 85 megapixels of a 4:2:0 photo; phone cameras
  // write baseline JPEG, which this does not touch).
  uint64_t max_progressive_bytes = uint64_t{256} << 20;
  // Largest image read. Default: 64 MiB (the server's blob cap).
  size_t max_input_bytes = size_t{64} << 20;
  // Refuse a file cut short (its pixels end early) instead of filling the
  // rest with one colour: for a photo being recorded, which the person can
  // take again. Off for thumbnails of photos already stored, which are
  // shown as well as they decode.
  bool fail_on_truncated = false;
};

struct JpegCopy {
  std::string jpeg;  // the copy's bytes
  // The copy's size in pixels: upright, as a viewer shows it.
  int64_t width = 0;
  int64_t height = 0;
  // The source's upright long edge was longer than options.long_edge, so
  // the copy is smaller than the source in pixels.
  bool downscaled = false;
  // The source carries metadata the copy does not: EXIF (which holds the
  // orientation, dates, GPS, camera serials), XMP, IPTC or PNG text.
  bool source_has_metadata = false;
};

// A JPEG copy of `image` (JPEG, PNG or WebP bytes): the long edge at most
// options.long_edge (never enlarged), turned upright by its EXIF
// orientation, flattened on white if it has alpha, with every piece of
// metadata (EXIF, GPS, XMP, IPTC, ICC) stripped. Never crashes on bad bytes.
// Errors (messages follow "the image " / "the photo " in a sentence, or
// stand alone):
//   kFailedPrecondition: not a JPEG/PNG/WebP, or it does not decode
//     (garbage; a truncated file may still give a partial picture);
//   kResourceExhausted: its header says more than max_pixels or an edge
//     longer than max_edge, or an interlaced PNG over max_interlaced_bytes,
//     or a progressive JPEG over max_progressive_bytes (reason
//     "too_many_pixels" for these), or the bytes exceed
//     max_input_bytes;
//   kInternal: libvips did not start.
// Thread-safe (serialised, see above).
Result<JpegCopy> MakeJpegCopy(std::string_view image,
                              const JpegCopyOptions& options);

}  // namespace kbo

#endif  // KBO_SHARED_IMAGE_H_
