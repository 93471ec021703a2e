#include "tests/support/test_images.h"

#include <vips/vips.h>

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

}  // namespace

std::string SampleJpeg(int width, int height, int orientation) {
  Start();
  Ref img;
  img.image = Gradient(width, height, 3);
  if (img.image == nullptr) return "";
  Ref copy;
  if (vips_copy(img.image, &copy.image, nullptr) != 0) return "";
  vips_image_set_int(copy.image, "orientation", orientation);
  void* buf = nullptr;
  size_t len = 0;
  if (vips_jpegsave_buffer(copy.image, &buf, &len, "Q", 90, nullptr) != 0)
    return "";
  return Take(buf, len);
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
