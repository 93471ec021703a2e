#include "tests/support/test_images.h"

#include <vips/vips.h>

#include <cstdint>
#include <mutex>
#include <string>

namespace kbo::testing {
namespace {

void Start() {
  static std::once_flag once;
  std::call_once(once, [] { (void)VIPS_INIT("kbo-tests"); });
}

struct Ref {
  VipsImage* image = nullptr;
  ~Ref() {
    if (image != nullptr) g_object_unref(image);
  }
};

// A w x h x `bands` uchar image: band 0 rises left to right (0 .. 255),
// the others constant, so orientation is visible in the pixels.
VipsImage* Gradient(int width, int height, int bands) {
  Ref x, scaled;
  if (vips_xyz(&x.image, width, height, nullptr) != 0) return nullptr;
  Ref xband;
  if (vips_extract_band(x.image, &xband.image, 0, nullptr) != 0) return nullptr;
  const double scale = width > 1 ? 255.0 / (width - 1) : 0;
  if (vips_linear1(xband.image, &scaled.image, scale, 0, "uchar", TRUE,
                   nullptr) != 0) {
    return nullptr;
  }
  if (bands == 1) {
    g_object_ref(scaled.image);
    return scaled.image;
  }
  Ref black, grey;
  if (vips_black(&black.image, width, height, "bands", bands - 1, nullptr) != 0)
    return nullptr;
  if (vips_linear1(black.image, &grey.image, 1, 128, "uchar", TRUE, nullptr) !=
      0) {
    return nullptr;
  }
  VipsImage* out = nullptr;
  if (vips_bandjoin2(scaled.image, grey.image, &out, nullptr) != 0)
    return nullptr;
  out->Type = VIPS_INTERPRETATION_sRGB;
  return out;
}

std::string Take(void* buf, size_t len) {
  std::string s(static_cast<const char*>(buf), len);
  g_free(buf);
  return s;
}

// The RGB gradient as a quality-90 JPEG: with EXIF `orientation`, or, if
// it is 0, with no metadata at all.
std::string GradientJpeg(int width, int height, int orientation) {
  Start();
  Ref img;
  img.image = Gradient(width, height, 3);
  if (img.image == nullptr) return "";
  Ref copy;
  if (vips_copy(img.image, &copy.image, nullptr) != 0) return "";
  if (orientation != 0) {
    vips_image_set_int(copy.image, "orientation", orientation);
  }
  void* buf = nullptr;
  size_t len = 0;
  if (vips_jpegsave_buffer(copy.image, &buf, &len, "Q", 90, "strip",
                           orientation == 0, nullptr) != 0)
    return "";
  return Take(buf, len);
}

}  // namespace

std::string SampleJpeg(int width, int height, int orientation) {
  return GradientJpeg(width, height, orientation);
}

namespace {

void Le16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v & 0xFF));
  out->push_back(static_cast<char>((v >> 8) & 0xFF));
}
void Le32(std::string* out, uint32_t v) {
  Le16(out, v & 0xFFFF);
  Le16(out, v >> 16);
}
// One 12-byte IFD entry: tag, type, count, value or offset.
void Entry(std::string* out, uint16_t tag, uint16_t type, uint32_t count,
           uint32_t value) {
  Le16(out, tag);
  Le16(out, type);
  Le32(out, count);
  Le32(out, value);
}
// An ASCII entry of one letter and its NUL, inline.
void Letter(std::string* out, uint16_t tag, char letter) {
  Le16(out, tag);
  Le16(out, 2);
  Le32(out, 2);
  out->push_back(letter);
  out->append(3, '\0');
}

// TIFF data: IFD0 (orientation, GPS pointer) at 8, the GPS IFD at 38
// (latitude ref and value, longitude ref and value), the six rationals
// from 92.
std::string CameraTiff(int orientation) {
  std::string t = "II";
  Le16(&t, 42);
  Le32(&t, 8);
  Le16(&t, 2);
  Entry(&t, 0x0112, 3, 1, static_cast<uint32_t>(orientation));  // SHORT
  Entry(&t, 0x8825, 4, 1, 38);                                  // GPS IFD
  Le32(&t, 0);
  Le16(&t, 4);
  Letter(&t, 0x0001, 'N');
  Entry(&t, 0x0002, 5, 3, 92);
  Letter(&t, 0x0003, 'E');
  Entry(&t, 0x0004, 5, 3, 116);
  Le32(&t, 0);
  for (uint32_t v : {18u, 1u, 47u, 1u, 24u, 1u, 98u, 1u, 59u, 1u, 6u, 1u}) {
    Le32(&t, v);
  }
  return t;
}

}  // namespace

std::string CameraJpeg(int width, int height, int orientation) {
  const std::string plain = GradientJpeg(width, height, 0);
  if (plain.empty()) return "";
  // SOI, then APP1 "Exif\0\0" + TIFF, then the rest as libvips wrote it.
  const std::string app1 = std::string("Exif\0\0", 6) + CameraTiff(orientation);
  std::string out = plain.substr(0, 2);
  out += "\xFF\xE1";
  out.push_back(static_cast<char>((app1.size() + 2) >> 8));
  out.push_back(static_cast<char>((app1.size() + 2) & 0xFF));
  out += app1;
  out += plain.substr(2);
  return out;
}

std::string SamplePng(int width, int height, bool alpha) {
  Start();
  Ref img;
  img.image = Gradient(width, height, alpha ? 4 : 3);
  if (img.image == nullptr) return "";
  void* buf = nullptr;
  size_t len = 0;
  if (vips_pngsave_buffer(img.image, &buf, &len, nullptr) != 0) return "";
  return Take(buf, len);
}

std::string ProgressiveJpeg(int width, int height) {
  Start();
  Ref img;
  img.image = Gradient(width, height, 3);
  if (img.image == nullptr) return "";
  void* buf = nullptr;
  size_t len = 0;
  if (vips_jpegsave_buffer(img.image, &buf, &len, "Q", 85, "interlace", TRUE, nullptr) != 0) {
    return "";
  }
  return Take(buf, len);
}

std::string InterlacedPng16(int width, int height) {
  Start();
  Ref img;
  img.image = Gradient(width, height, 4);
  if (img.image == nullptr) return "";
  // 16-bit samples from a 16-bit image (libvips 8.14 writes past its
  // buffer saving a uchar image at bitdepth 16, interlaced).
  Ref wide;
  if (vips_cast_ushort(img.image, &wide.image, nullptr) != 0) return "";
  void* buf = nullptr;
  size_t len = 0;
  if (vips_pngsave_buffer(wide.image, &buf, &len, "interlace", TRUE,
                          "bitdepth", 16, "compression", 9, nullptr) != 0) {
    return "";
  }
  return Take(buf, len);
}

ImageSize DecodedSize(std::string_view bytes) {
  Start();
  Ref img;
  img.image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "",
                                         nullptr);
  if (img.image == nullptr) {
    vips_error_clear();
    return {};
  }
  return {vips_image_get_width(img.image), vips_image_get_height(img.image),
          vips_image_get_bands(img.image)};
}

int PixelAt(std::string_view bytes, int x, int y) {
  Start();
  Ref img;
  img.image = vips_image_new_from_buffer(bytes.data(), bytes.size(), "",
                                         nullptr);
  if (img.image == nullptr) {
    vips_error_clear();
    return -1;
  }
  double* vector = nullptr;
  int n = 0;
  if (vips_getpoint(img.image, &vector, &n, x, y, nullptr) != 0 || n < 1) {
    vips_error_clear();
    return -1;
  }
  const int v = static_cast<int>(vector[0] + 0.5);
  g_free(vector);
  return v;
}

}  // namespace kbo::testing
