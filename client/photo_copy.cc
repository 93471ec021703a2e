#include "client/photo_copy.h"

#include <unistd.h>

#include <utility>

#include "client/image_info.h"
#include "shared/image.h"
#include "shared/protocol.h"
#include "shared/signing.h"
#include "shared/status.h"

namespace kbo::client {

Result<StoredPhoto> StorePhoto(const std::string& blobs_dir,
                               std::string_view bytes,
                               std::string_view display_name,
                               const UploadCopyOptions& options) {
  const std::string name(display_name);
  if (bytes.size() > options.max_bytes) {
    // BlobStore words it ("photo.jpg is 25.3 MiB; the limit is 20 MiB").
    return BlobStore(blobs_dir).AddPhotoBytes(bytes, name, options.max_bytes)
        .status();
  }
  if (options.as_taken) {
    // Sent as it is, so it must be within what a server takes.
    if (bytes.size() > protocol::kMaxBlobBytes) {
      return Status::InvalidArgument(
          name + " is " + HumanSize(bytes.size(), /*round_up=*/true) +
          "; a photo sent as taken may be at most " +
          HumanSize(protocol::kMaxBlobBytes, /*round_up=*/false) +
          ", the most the server takes (without --as-taken a smaller copy "
          "is sent and this one kept on the device)");
    }
    return StorePhotoAsGiven(blobs_dir, bytes, name, options.max_bytes);
  }
  // The original's own headers: its type, and the date and position that
  // go into the row (the copy carries no EXIF).
  Result<ImageInfo> info = ReadImageInfo(bytes);
  if (!info.ok()) {
    return Status::InvalidArgument(name + " is " + info.status().message());
  }
  JpegCopyOptions copy_options;
  copy_options.long_edge = options.long_edge;
  copy_options.quality = options.quality;
  copy_options.max_input_bytes = options.max_bytes;
  copy_options.fail_on_truncated = true;
  Result<JpegCopy> copy = MakeJpegCopy(bytes, copy_options);
  if (!copy.ok()) {
    switch (copy.status().code()) {
      case Code::kFailedPrecondition:
        // Most often a file copied before it was whole (a phone's card
        // pulled out, a transfer cut): the person can copy it again.
        // No "; " in it: the phone screens read a message's parts apart.
        return Status::InvalidArgument(
            name + " does not decode as a picture: it is damaged or cut short "
                   "(a copy made before the file was whole?), copy it again "
                   "from the camera or phone. Nothing was recorded. (" +
            copy.status().message() + ")");
      case Code::kResourceExhausted:
        return Status::InvalidArgument(name + ": " + copy.status().message());
      default:
        return copy.status();
    }
  }

  // A photo already within the long edge is sent as it is only when the
  // copy would gain nothing: it carries no metadata to strip (no EXIF, so
  // no GPS, no camera serial, and it is upright already) and re-encoding
  // does not make it smaller. Otherwise the copy goes, even if a few bytes
  // larger: the position must travel in the row, never in the file, and a
  // re-encode of a small picture costs little on the link.
  const bool keep_as_is = !copy->downscaled && !copy->source_has_metadata &&
                          copy->jpeg.size() >= bytes.size();

  StoredPhoto photo;
  BlobStore blobs(blobs_dir);
  if (keep_as_is) {
    Result<StoredBlob> stored = blobs.AddPhotoBytes(bytes, name, options.max_bytes);
    if (!stored.ok()) return stored.status();
    photo.upload = *stored;
    photo.original = std::move(*stored);
    photo.copied = false;
    return photo;
  }
  // The copy written here and the original not (a disk that filled
  // between the two): the copy goes again, so that "nothing was recorded"
  // leaves nothing behind on a disk already short of room.
  const bool copy_was_here = blobs.Has(HexEncode(Sha256(copy->jpeg)));
  Result<StoredBlob> upload =
      blobs.AddPhotoBytes(copy->jpeg, name, copy->jpeg.size());
  if (!upload.ok()) return upload.status();
  BlobStore originals(OriginalsDir(blobs_dir));
  Result<StoredBlob> original =
      originals.AddPhotoBytes(bytes, name, options.max_bytes);
  if (!original.ok()) {
    if (!copy_was_here) (void)::unlink(blobs.PathFor(upload->sha256).c_str());
    return original.status();
  }
  photo.upload = std::move(*upload);
  photo.upload.info.taken_at = info->taken_at;
  photo.upload.info.lat = info->lat;
  photo.upload.info.lon = info->lon;
  photo.original = std::move(*original);
  photo.copied = true;
  return photo;
}

}  // namespace kbo::client
