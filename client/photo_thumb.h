#ifndef KBO_CLIENT_PHOTO_THUMB_H_
#define KBO_CLIENT_PHOTO_THUMB_H_

// Thumbnails of the photos this device holds, for the phone UI's photo grids
// (`kbo ui`, GET /thumb/<sha256>; docs/ui.md): a list of 30 photos then
// downloads 30 small JPEGs rather than 30 upload copies of up to 1600 px.
// Made with libvips (shared/image.h, MakeJpegCopy) at the server's thumbnail
// size, and cached where kbo sync keeps the thumbnails it fetches of other
// devices' photos (client/photo_fetch.h):
//   blobs/thumbs/<sha256>.jpg
// Photos are content-addressed, so a cached thumbnail is never stale.

#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo::client {

// The long edge of a thumbnail, in pixels (the server's: server/thumbnails.h).
inline constexpr int kThumbLongEdge = 320;
inline constexpr int kThumbQuality = 80;

// The thumbnail of photo `sha256` (JPEG bytes): the cached one if there is
// one (made here before, or fetched by kbo sync); else made from the blob
// this device holds, written to the cache atomically, and returned. A photo
// whose long edge is already at most kThumbLongEdge gets a JPEG copy of its
// own size (never enlarged).
//   kInvalidArgument    `sha256` is not a blob name;
//   kNotFound           the device holds neither the photo nor a thumbnail;
//   kFailedPrecondition the stored photo does not decode as a picture;
//   kResourceExhausted  it has more pixels than a photo has;
//   kCorruption, kIOError as BlobStore::Read; kInternal: libvips did not
//   start.
// A thumbnail that cannot be written to the cache is still returned.
// Thread-safe (decodes are serialised by shared/image.h).
Result<std::string> LocalThumbnail(const std::string& blobs_dir,
                                   std::string_view sha256);

}  // namespace kbo::client

#endif  // KBO_CLIENT_PHOTO_THUMB_H_
