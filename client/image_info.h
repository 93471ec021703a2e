#ifndef KBO_CLIENT_IMAGE_INFO_H_
#define KBO_CLIENT_IMAGE_INFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shared/result.h"

namespace kbo::client {

// What `kbo photo add` records about a photo, read from the file's own
// headers (no image library: photos are untrusted bytes and only their
// headers are parsed).
struct ImageInfo {
  std::string mime;    // "image/jpeg" or "image/png"
  int64_t width = 0;   // pixels, > 0
  int64_t height = 0;  // pixels, > 0
  // When the photo was taken, as ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ", from
  // EXIF DateTimeOriginal, else IFD0 DateTime (JPEG only).
  // EXIF dates carry no zone. The zone is taken from OffsetTimeOriginal
  // (resp. OffsetTime for DateTime) when the camera wrote one; otherwise the
  // date is taken to be Thailand local time, UTC+7 (the field devices work
  // in Chiang Mai province, and phones write local time). A date that is not
  // a real calendar date ("0000:00:00 00:00:00" is common) gives no taken_at.
  std::optional<std::string> taken_at;
  // WGS 84 decimal degrees from the EXIF GPS IFD (north and east positive).
  // Both present or both absent. A position that is out of range, or exactly
  // 0,0 (what cameras write when they had no fix), gives neither.
  std::optional<double> lat;
  std::optional<double> lon;
};

// Reads the type and pixel size of a JPEG or PNG image, and for a JPEG the
// EXIF date and GPS position when present. Never reads outside `bytes`,
// whatever they hold.
//
// kInvalidArgument if `bytes` are not a JPEG or PNG image, or if no non-zero
// width and height can be found in them. The message is phrased to follow
// "<file name> is ", e.g. "not a JPEG or PNG image"; the caller adds the
// name.
// A damaged or unusual EXIF block never fails the call: the photo simply has
// no taken_at / lat / lon.
// Thread-safe (pure function).
Result<ImageInfo> ReadImageInfo(std::string_view bytes);

}  // namespace kbo::client

#endif  // KBO_CLIENT_IMAGE_INFO_H_
