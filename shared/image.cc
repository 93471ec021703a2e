#include "shared/image.h"

#include <vips/vips.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

namespace kbo {
namespace {

// One copy at a time in the process (see image.h): guards every libvips
// call.
std::mutex& VipsMutex() {
  static std::mutex mu;
  return mu;
}

// Starts libvips once: one worker thread per operation (the server's
// threads already serve requests in parallel; the machine may have two
// cores), no operation cache (each photo is copied once, then kept on
// disk), and no loader marked untrusted (ImageMagick, PDF, SVG ...): only
// the JPEG, PNG and WebP loaders are ever reached anyway (magic bytes are
// checked first).
bool StartVips() {
  static const bool started = [] {
    if (VIPS_INIT("kbo") != 0) return false;
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_block_untrusted_set(TRUE);
    // A damaged photo makes libjpeg warn once per bad scan line; the
    // outcome (a refusal, or a partial picture) is what matters, and a log
    // or a terminal is not the place for hundreds of lines about one photo.
    g_log_set_handler(
        "VIPS",
        static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                                    G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG),
        [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    return true;
  }();
  return started;
}

// The libvips error text (and clears it), one line, bounded.
std::string VipsError() {
  std::string e = vips_error_buffer();
  vips_error_clear();
  for (char& c : e) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!e.empty() && e.back() == ' ') e.pop_back();
  if (e.size() > 300) e.resize(300);
  return e.empty() ? "unknown libvips error" : e;
}

// Owns one VipsImage reference.
struct ImageRef {
  VipsImage* image = nullptr;
  ImageRef() = default;
  ImageRef(const ImageRef&) = delete;
  ImageRef& operator=(const ImageRef&) = delete;
  ~ImageRef() {
    if (image != nullptr) g_object_unref(image);
  }
  void Reset(VipsImage* next) {
    if (image != nullptr) g_object_unref(image);
    image = next;
  }
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The formats a phone's camera or gallery gives: JPEG, PNG, WebP.
bool IsPhotoFormat(std::string_view b) {
  return StartsWith(b, "\xFF\xD8\xFF") || StartsWith(b, "\x89PNG\r\n\x1A\n") ||
         (b.size() >= 12 && StartsWith(b, "RIFF") && b.substr(8, 4) == "WEBP");
}

// EXIF, XMP, IPTC or PNG text chunks, as libvips names them when loading.
bool HasMetadata(VipsImage* image) {
  for (const char* name : {"exif-data", "xmp-data", "iptc-data"}) {
    if (vips_image_get_typeof(image, name) != 0) return true;
  }
  gchar** fields = vips_image_get_fields(image);
  bool found = false;
  for (gchar** f = fields; f != nullptr && *f != nullptr; ++f) {
    if (StartsWith(*f, "png-comment-")) found = true;
  }
  g_strfreev(fields);
  return found;
}

// What libjpeg holds to decode `jpeg` if it is progressive (SOF2, SOF6,
// SOF10, SOF14): 2 bytes for each sample of each component at its own
// sampling, the whole picture; 0 for a baseline JPEG, or a header that
// does not say (the decoder's own checks speak for it then). Reads only
// the markers before the frame header, each within the bytes given.
uint64_t ProgressiveBytes(std::string_view jpeg) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(jpeg[i]); };
  size_t at = 2;  // after SOI
  while (at + 4 <= jpeg.size()) {
    if (byte(at) != 0xFF) return 0;
    const unsigned char marker = byte(at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    const size_t length = (static_cast<size_t>(byte(at + 2)) << 8) | byte(at + 3);
    if (length < 2 || at + 2 + length > jpeg.size()) return 0;
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 &&
                       marker != 0xC8 && marker != 0xCC;
    if (!frame) {
      if (marker == 0xDA || marker == 0xD9) return 0;  // scan before a frame
      at += 2 + length;
      continue;
    }
    const bool progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA ||
                             marker == 0xCE;
    // precision(1) height(2) width(2) count(1), then 3 bytes a component.
    if (!progressive || length < 8) return 0;
    const size_t p = at + 4;
    const uint64_t h = (static_cast<uint64_t>(byte(p + 1)) << 8) | byte(p + 2);
    const uint64_t w = (static_cast<uint64_t>(byte(p + 3)) << 8) | byte(p + 4);
    const size_t n = byte(p + 5);
    if (n == 0 || length < 8 + 3 * n) return 0;
    unsigned hmax = 1, vmax = 1;
    for (size_t i = 0; i < n; ++i) {
      const unsigned f = byte(p + 6 + 3 * i + 1);
      hmax = std::max(hmax, f >> 4);
      vmax = std::max(vmax, f & 0x0Fu);
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; ++i) {
      const unsigned f = byte(p + 6 + 3 * i + 1);
      const uint64_t hs = std::max(1u, f >> 4), vs = std::max(1u, f & 0x0Fu);
      bytes += ((w * hs + hmax - 1) / hmax) * ((h * vs + vmax - 1) / vmax) * 2;
    }
    return bytes;
  }
  return 0;
}

// An image the decoder would have to hold whole, over `cap` bytes.
Status TooMuchToDecode(const char* what, int64_t w, int64_t h, uint64_t bytes,
                       uint64_t cap) {
  return Status::ResourceExhausted("the image is " + std::string(what) + " of " +
                                   std::to_string(w) + " x " + std::to_string(h) +
                                   " pixels, which would take " + std::to_string(bytes >> 20) +
                                   " MiB to decode, more than the " +
                                   std::to_string(cap >> 20) + " MiB allowed")
      .WithReason("too_many_pixels");
}

Status Undecodable(std::string message) {
  return Status::FailedPrecondition(std::move(message));
}

// MakeJpegCopy with VipsMutex held.
Result<JpegCopy> MakeLocked(std::string_view image,
                            const JpegCopyOptions& options) {
  if (image.size() > options.max_input_bytes) {
    return Status::ResourceExhausted(
        "the photo is larger than " +
        std::to_string(options.max_input_bytes >> 20) + " MiB");
  }
  if (!IsPhotoFormat(image)) {
    return Undecodable("not a JPEG, PNG or WebP image");
  }
  if (!StartVips()) return Status::Internal("libvips did not start");
  void* data = const_cast<char*>(image.data());
  JpegCopy copy;

  // The header first: its size decides whether a pixel is decoded at all.
  {
    ImageRef header;
    header.image = vips_image_new_from_buffer(data, image.size(), "", "access",
                                              VIPS_ACCESS_SEQUENTIAL, nullptr);
    if (header.image == nullptr) {
      return Undecodable("the image does not decode: " + VipsError());
    }
    const int64_t w = vips_image_get_width(header.image);
    const int64_t h = vips_image_get_height(header.image);
    if (w <= 0 || h <= 0) return Undecodable("the image has no pixels");
    const bool jpeg = image.size() >= 3 && static_cast<unsigned char>(image[0]) == 0xFF &&
                      static_cast<unsigned char>(image[1]) == 0xD8 &&
                      static_cast<unsigned char>(image[2]) == 0xFF;
    const uint64_t limit = jpeg ? options.max_jpeg_pixels : options.max_pixels;
    const int max_edge = jpeg ? options.max_jpeg_edge : options.max_edge;
    if (w > max_edge || h > max_edge ||
        static_cast<uint64_t>(w) * static_cast<uint64_t>(h) > limit) {
      // No "; " in it: the phone screens read a message's parts apart.
      return Status::ResourceExhausted(
                 "the image is " + std::to_string(w) + " x " + std::to_string(h) +
                 " pixels, more than the " + std::to_string(limit / 1000000) +
                 " megapixels a photo may have")
          .WithReason("too_many_pixels");
    }
    // An interlaced PNG is decoded whole, at its own depth (IHDR, the first
    // chunk: its interlace method at byte 28).
    if (StartsWith(image, "\x89PNG\r\n\x1A\n") && image.size() > 28 &&
        image.substr(12, 4) == "IHDR" && image[28] != 0) {
      const uint64_t bytes =
          static_cast<uint64_t>(w) * static_cast<uint64_t>(h) *
          static_cast<uint64_t>(std::max(1, vips_image_get_bands(header.image))) *
          static_cast<uint64_t>(
              std::max<guint64>(1, vips_format_sizeof(vips_image_get_format(header.image))));
      if (bytes > options.max_interlaced_bytes) {
        return TooMuchToDecode("an interlaced PNG", w, h, bytes, options.max_interlaced_bytes);
      }
    }
    if (jpeg) {
      // libjpeg keeps every coefficient for a file of several scans: a
      // progressive one, or a baseline one whose first scan does not hold
      // every component. libvips says so from the header ("interlaced"),
      // however the markers before the frame were dressed (a restart
      // marker, a stray byte); the frame's own sampling, when it can be
      // read, counts the bytes exactly, else 2 bytes a sample of each band.
      int multi_scan = 0;
      if (vips_image_get_typeof(header.image, "interlaced") != 0 &&
          vips_image_get_int(header.image, "interlaced", &multi_scan) != 0) {
        multi_scan = 0;
        vips_error_clear();
      }
      uint64_t held = ProgressiveBytes(image);
      if (multi_scan != 0 && held == 0) {
        held = static_cast<uint64_t>(w) * static_cast<uint64_t>(h) *
               static_cast<uint64_t>(std::max(1, vips_image_get_bands(header.image))) * 2;
      }
      if (held > options.max_progressive_bytes) {
        return TooMuchToDecode("a progressive JPEG", w, h, held, options.max_progressive_bytes);
      }
    }
    // Turning upright swaps the edges, never changes the longer one.
    copy.downscaled = std::max(w, h) > options.long_edge;
    copy.source_has_metadata = HasMetadata(header.image);
  }

  // Shrink-on-load where the format has it (JPEG decodes at 1/2..1/8),
  // upright by EXIF orientation (vips_thumbnail's default), never enlarged.
  // With fail_on_truncated, a file cut short fails (fail_on=truncated,
  // libvips 8.12) instead of giving a picture whose lower part is one flat
  // colour: a photo half-copied from a phone's card is refused while the
  // person can still take it again.
  ImageRef out;
  if (vips_thumbnail_buffer(data, image.size(), &out.image, options.long_edge,
                            "height", options.long_edge, "size",
                            VIPS_SIZE_DOWN, "option_string",
                            options.fail_on_truncated ? "fail_on=truncated" : "",
                            nullptr) != 0) {
    return Undecodable("the image does not decode: " + VipsError());
  }
  if (vips_image_hasalpha(out.image)) {
    double white = 255;
    VipsArrayDouble* background = vips_array_double_new(&white, 1);
    VipsImage* flat = nullptr;
    const int rc =
        vips_flatten(out.image, &flat, "background", background, nullptr);
    vips_area_unref(VIPS_AREA(background));
    if (rc != 0) {
      return Undecodable("the image does not flatten: " + VipsError());
    }
    out.Reset(flat);
  }
  void* bytes = nullptr;
  size_t size = 0;
  // Pixels are decoded here (sequential access): a truncated or corrupt
  // file fails here, or gives a partial picture, never a crash.
  if (vips_jpegsave_buffer(out.image, &bytes, &size, "Q", options.quality,
                           "strip", TRUE, "optimize_coding", TRUE,
                           nullptr) != 0) {
    return Undecodable("the image does not decode: " + VipsError());
  }
  copy.jpeg.assign(static_cast<const char*>(bytes), size);
  g_free(bytes);
  copy.width = vips_image_get_width(out.image);
  copy.height = vips_image_get_height(out.image);
  return copy;
}

}  // namespace

Result<JpegCopy> MakeJpegCopy(std::string_view image,
                              const JpegCopyOptions& options) {
  std::lock_guard<std::mutex> lock(VipsMutex());
  return MakeLocked(image, options);
}

}  // namespace kbo
