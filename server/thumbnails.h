#ifndef KBO_SERVER_THUMBNAILS_H_
#define KBO_SERVER_THUMBNAILS_H_

// Photo thumbnails, made on the server with libvips (docs/decisions.md,
// "Thumbnails"): a small JPEG of a complete photo blob for the console's
// gallery and for devices (GET /v1/thumbs/<sha256>, docs/protocol.md §8).
// libvips is an implementation detail of thumbnails.cc, the only file that
// includes it (tools/check-layering).
//
// Threads: libvips is started once per process (VIPS_INIT) with its own
// worker threads set to 1, its operation cache off and its untrusted loaders
// blocked. Thumbnails are made one at a time, process-wide (a mutex of this
// module, not the store's): a caller may hold the store mutex (the console
// does, for the whole request) or not (the sync API checks scope under it,
// then makes the thumbnail after releasing it). One at a time bounds memory:
// one decode of at most ThumbnailOptions::max_pixels, never eight at once.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo::server {

struct ThumbnailOptions {
  // The long edge of a thumbnail, in pixels. Default: 320 (a phone's gallery
  // cell at 2x; 15-40 KB as JPEG).
  int long_edge = 320;
  // JPEG quality. Default: 80.
  int quality = 80;
  // Images whose header says more pixels than this get no thumbnail; checked
  // before any pixel is decoded. Default: 50 megapixels (a phone camera is
  // 12-50 MP; a "photo" of 30000 x 30000 is an attack, not a picture).
  uint64_t max_pixels = 50'000'000;
  // Longest edge accepted, whatever the pixel count (a 1 x 10^7 strip).
  // Default: 20,000.
  int max_edge = 20'000;
  // Largest photo read into memory. Default: 64 MiB (the server's blob cap).
  size_t max_input_bytes = size_t{64} << 20;
};

// A JPEG thumbnail of `image` (JPEG, PNG or WebP bytes): the long edge
// options.long_edge (never enlarged), turned upright by its EXIF orientation,
// flattened on white if it has alpha, in sRGB, with every piece of metadata
// (EXIF, GPS, XMP, ICC) stripped. Never crashes on bad bytes. Errors, each
// with its Status::reason():
//   kFailedPrecondition "no_thumbnail": not a JPEG/PNG/WebP, or it does not
//     decode (garbage; a truncated file may still give a partial picture);
//   kResourceExhausted "too_large": its header says more than max_pixels
//     or an edge longer than max_edge, or the bytes exceed max_input_bytes.
Result<std::string> MakeThumbnail(std::string_view image,
                                  const ThumbnailOptions& options);

// Thumbnails of the complete blobs in `blobs_dir` (the server's blobs/),
// cached as <blobs_dir>/thumbs/<sha256>.jpg (written atomically, mode 0600)
// and made the first time they are asked for. A blob that cannot have one
// is remembered as <blobs_dir>/thumbs/<sha256>.none (its reason inside), so
// a corrupt photo is decoded once, not on every request. Blobs are
// content-addressed and never change, so neither file ever goes stale.
// Cheap to construct; holds no state beyond the folder and options.
class ThumbnailCache {
 public:
  explicit ThumbnailCache(std::string blobs_dir,
                          ThumbnailOptions options = ThumbnailOptions{});
  ThumbnailCache(const ThumbnailCache&) = delete;
  ThumbnailCache& operator=(const ThumbnailCache&) = delete;

  // The thumbnail of blob `sha256` (JPEG bytes). It does not check who may
  // see it: callers check the photo row's district first. Errors:
  //   kInvalidArgument: not a blob name (64 lowercase hex digits);
  //   kNotFound "not_uploaded": the server does not hold the blob whole;
  //   kFailedPrecondition "no_thumbnail" / kResourceExhausted "too_large":
  //     as MakeThumbnail, now or remembered from an earlier try;
  //   kIOError: the cache could not be read or written.
  Result<std::string> Get(std::string_view sha256);

  // <blobs_dir>/thumbs/<sha256>.jpg (whether or not it exists).
  std::string PathFor(std::string_view sha256) const;

 private:
  std::string blobs_dir_;
  ThumbnailOptions options_;
};

// A neutral picture (SVG, 4:3, a camera outline and `label`) shown where a
// photo has no thumbnail. `label` is plain text (escaped here).
std::string PlaceholderSvg(std::string_view label);

}  // namespace kbo::server

#endif  // KBO_SERVER_THUMBNAILS_H_
