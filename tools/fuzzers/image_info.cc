// libFuzzer target: the JPEG/PNG/EXIF header reader (client/image_info.h)
// that `kbo photo add` and the web UI run on photos from anywhere.
// Properties: a result has a known type and positive size; a position is in
// range and comes as a pair; a date has the documented form.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "client/image_info.h"
#include "tools/fuzzers/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kbo;
  Result<client::ImageInfo> info = client::ReadImageInfo(fuzz::Bytes(data, size));
  if (!info.ok()) return 0;
  FUZZ_CHECK(info->mime == "image/jpeg" || info->mime == "image/png");
  FUZZ_CHECK(info->width > 0 && info->height > 0);
  FUZZ_CHECK(info->lat.has_value() == info->lon.has_value());
  if (info->lat) {
    FUZZ_CHECK(std::isfinite(*info->lat) && std::fabs(*info->lat) <= 90);
    FUZZ_CHECK(std::isfinite(*info->lon) && std::fabs(*info->lon) <= 180);
  }
  if (info->taken_at) {
    const std::string& t = *info->taken_at;
    FUZZ_CHECK(t.size() == 20 && t[4] == '-' && t[7] == '-' && t[10] == 'T' &&
               t[13] == ':' && t[16] == ':' && t[19] == 'Z');
  }
  return 0;
}
