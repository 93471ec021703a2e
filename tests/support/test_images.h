#ifndef KBO_TESTS_SUPPORT_TEST_IMAGES_H_
#define KBO_TESTS_SUPPORT_TEST_IMAGES_H_

// Real images for the photo tests, made with libvips (tests may link any
// library; only server/thumbnails.cc may include it in the product).

#include <string>
#include <string_view>

namespace kbo::testing {

// A w x h JPEG of a left-to-right gradient. `orientation` (1-8) is written
// as its EXIF orientation tag.
std::string SampleJpeg(int width, int height, int orientation = 1);
// A w x h JPEG as a phone camera writes it: the gradient of SampleJpeg
// with an EXIF block (little-endian TIFF, built here) holding `orientation`
// and a GPS position, Chiang Mai's Tha Phae Gate: 18°47'24" N, 98°59'6" E
// (18.79, 98.985 in decimal degrees).
std::string CameraJpeg(int width, int height, int orientation);
inline constexpr double kCameraLat = 18.79;
inline constexpr double kCameraLon = 98.985;
// A w x h PNG, RGBA (half transparent) if `alpha`, else RGB.
std::string SamplePng(int width, int height, bool alpha);
// A w x h RGBA PNG, 16 bits a sample, Adam7-interlaced (what libvips must
// decode whole: the hostile thumbnail).
std::string InterlacedPng16(int width, int height);
// A w x h progressive JPEG (4:2:0) of the same gradient.
std::string ProgressiveJpeg(int width, int height);

struct ImageSize {
  int width = 0;
  int height = 0;
  int bands = 0;
};
// The size of an encoded image as libvips reads it (no EXIF rotation
// applied); all zero if it does not decode.
ImageSize DecodedSize(std::string_view bytes);
// The pixel (0..255, band 0) at (x, y) of an encoded image; -1 on failure.
int PixelAt(std::string_view bytes, int x, int y);

}  // namespace kbo::testing

#endif  // KBO_TESTS_SUPPORT_TEST_IMAGES_H_
