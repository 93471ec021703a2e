#ifndef KBO_SERVER_THUMBNAILS_H_
#define KBO_SERVER_THUMBNAILS_H_

// Photo thumbnails, made on the server with libvips (docs/decisions.md,
// "Thumbnails"): a small JPEG of a complete photo blob for the console's
// gallery and for devices (GET /v1/thumbs/<sha256>, docs/protocol.md §8).
// The image work is shared/image.h's MakeJpegCopy (the client makes its
// upload copies with it too); libvips is included by shared/image.cc alone
// (tools/check-layering).
//
// Threads: thumbnails are decoded one at a time, process-wide
// (shared/image.h), and cache files are made under a mutex of this module,
// not the store's: a caller may hold the store mutex (the console does, for
// the whole request) or not (the sync API checks scope under it, then makes
// the thumbnail after releasing it). One at a time bounds memory: one decode
// of at most ThumbnailOptions::max_pixels, never eight at once.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/image.h"
#include "shared/result.h"

namespace kbo::server {

// What MakeJpegCopy is given for a thumbnail (shared/image.h): its bounds
// (50 megapixels, 20,000 px an edge, 64 MiB, the server's blob cap), JPEG
// quality 80, and a long edge of 320 px (a phone's gallery cell at 2x;
// 15-40 KB as JPEG).
struct ThumbnailOptions : JpegCopyOptions {
  ThumbnailOptions() { long_edge = 320; }
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
