#include "server/thumbnails.h"

#include <vips/vips.h>

#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "server/blob_service.h"
#include "shared/fs.h"

namespace kbo::server {
namespace {

// A cached thumbnail is a few tens of KB; anything bigger than this in the
// cache folder is not ours.
constexpr size_t kMaxThumbnailBytes = size_t{4} << 20;

// One thumbnail at a time in the process (see thumbnails.h): guards every
// libvips call and the making of cache files.
std::mutex& VipsMutex() {
  static std::mutex mu;
  return mu;
}

// Starts libvips once: one worker thread per operation (kbo-server's threads
// already serve requests in parallel; the machine may have two cores), no
// operation cache (each photo is thumbnailed once, then read from disk), and
// no loader marked untrusted (ImageMagick, PDF, SVG ...): only the JPEG, PNG
// and WebP loaders are ever reached anyway (magic bytes are checked first).
bool StartVips() {
  static const bool started = [] {
    if (VIPS_INIT("kbo-server") != 0) return false;
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    vips_block_untrusted_set(TRUE);
    // A damaged photo makes libjpeg warn once per bad scan line; the
    // outcome (a refusal, or a partial picture) is what matters, and the
    // server's log is not the place for hundreds of lines about one upload.
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

Status NoThumbnail(std::string message) {
  return Status::FailedPrecondition(std::move(message))
      .WithReason("no_thumbnail");
}
Status TooLarge(std::string message) {
  return Status::ResourceExhausted(std::move(message)).WithReason("too_large");
}

// MakeThumbnail with VipsMutex held.
Result<std::string> MakeLocked(std::string_view image,
                               const ThumbnailOptions& options) {
  if (image.size() > options.max_input_bytes) {
    return TooLarge("the photo is larger than " +
                    std::to_string(options.max_input_bytes >> 20) + " MiB");
  }
  if (!IsPhotoFormat(image)) {
    return NoThumbnail("not a JPEG, PNG or WebP image");
  }
  if (!StartVips()) return Status::Internal("libvips did not start");
  void* data = const_cast<char*>(image.data());

  // The header first: its size decides whether a pixel is decoded at all.
  {
    ImageRef header;
    header.image = vips_image_new_from_buffer(data, image.size(), "", "access",
                                              VIPS_ACCESS_SEQUENTIAL, nullptr);
    if (header.image == nullptr) {
      return NoThumbnail("the image does not decode: " + VipsError());
    }
    const int64_t w = vips_image_get_width(header.image);
    const int64_t h = vips_image_get_height(header.image);
    if (w <= 0 || h <= 0) return NoThumbnail("the image has no pixels");
    if (w > options.max_edge || h > options.max_edge ||
        static_cast<uint64_t>(w) * static_cast<uint64_t>(h) >
            options.max_pixels) {
      return TooLarge(
          "the image is " + std::to_string(w) + " x " + std::to_string(h) +
          " pixels; thumbnails are made up to " +
          std::to_string(options.max_pixels / 1000000) + " megapixels");
    }
  }

  // Shrink-on-load where the format has it (JPEG decodes at 1/2..1/8),
  // upright by EXIF orientation (vips_thumbnail's default), never enlarged.
  ImageRef thumb;
  if (vips_thumbnail_buffer(data, image.size(), &thumb.image,
                            options.long_edge, "height", options.long_edge,
                            "size", VIPS_SIZE_DOWN, nullptr) != 0) {
    return NoThumbnail("the image does not decode: " + VipsError());
  }
  if (vips_image_hasalpha(thumb.image)) {
    double white = 255;
    VipsArrayDouble* background = vips_array_double_new(&white, 1);
    VipsImage* flat = nullptr;
    const int rc = vips_flatten(thumb.image, &flat, "background", background,
                                nullptr);
    vips_area_unref(VIPS_AREA(background));
    if (rc != 0) {
      return NoThumbnail("the image does not flatten: " + VipsError());
    }
    thumb.Reset(flat);
  }
  void* out = nullptr;
  size_t out_bytes = 0;
  // Pixels are decoded here (sequential access): a truncated or corrupt
  // file fails here, or gives a partial picture, never a crash.
  if (vips_jpegsave_buffer(thumb.image, &out, &out_bytes, "Q", options.quality,
                           "strip", TRUE, "optimize_coding", TRUE,
                           nullptr) != 0) {
    return NoThumbnail("the image does not decode: " + VipsError());
  }
  std::string jpeg(static_cast<const char*>(out), out_bytes);
  g_free(out);
  return jpeg;
}

}  // namespace

Result<std::string> MakeThumbnail(std::string_view image,
                                  const ThumbnailOptions& options) {
  std::lock_guard<std::mutex> lock(VipsMutex());
  return MakeLocked(image, options);
}

ThumbnailCache::ThumbnailCache(std::string blobs_dir, ThumbnailOptions options)
    : blobs_dir_(std::move(blobs_dir)), options_(options) {}

std::string ThumbnailCache::PathFor(std::string_view sha256) const {
  return blobs_dir_ + "/thumbs/" + std::string(sha256) + ".jpg";
}

Result<std::string> ThumbnailCache::Get(std::string_view sha256) {
  if (!IsBlobName(sha256)) {
    return Status::InvalidArgument(
        "a photo is named by its SHA-256: 64 lowercase hex digits");
  }
  const std::string jpg = PathFor(sha256);
  const std::string none = blobs_dir_ + "/thumbs/" + std::string(sha256) + ".none";
  // "<reason>\n<message>": an earlier try found it has none.
  const auto remembered = [&]() -> std::optional<Status> {
    Result<std::string> why = ReadFileBounded(none, 4096);
    if (!why.ok()) return std::nullopt;
    const size_t nl = why->find('\n');
    const std::string reason = why->substr(0, nl);
    const std::string message =
        nl == std::string::npos ? "no thumbnail" : why->substr(nl + 1);
    if (reason == "too_large") return TooLarge(message);
    return NoThumbnail(message);
  };
  const auto cached = [&]() -> std::optional<Result<std::string>> {
    Result<std::string> bytes = ReadFileBounded(jpg, kMaxThumbnailBytes);
    if (bytes.ok()) return bytes;
    if (bytes.status().code() != Code::kNotFound) {
      return Result<std::string>(Status::IOError(
          "thumbnail cache: " + bytes.status().message()));
    }
    if (std::optional<Status> s = remembered()) {
      return Result<std::string>(std::move(*s));
    }
    return std::nullopt;
  };
  // Most requests end here, without the lock.
  if (auto hit = cached()) return std::move(*hit);

  std::lock_guard<std::mutex> lock(VipsMutex());
  // Another request may have made it while this one waited.
  if (auto hit = cached()) return std::move(*hit);
  Result<std::string> blob = ReadFileBounded(
      blobs_dir_ + "/" + std::string(sha256), options_.max_input_bytes);
  Result<std::string> thumb = Status::Internal("unset");
  if (!blob.ok() && blob.status().code() == Code::kNotFound) {
    return Status::NotFound("the photo has not been uploaded yet")
        .WithReason("not_uploaded");
  } else if (!blob.ok() &&
             blob.status().code() == Code::kResourceExhausted) {
    thumb = TooLarge("the photo is larger than " +
                     std::to_string(options_.max_input_bytes >> 20) + " MiB");
  } else if (!blob.ok()) {
    return Status::IOError("photo blob: " + blob.status().message());
  } else {
    thumb = MakeLocked(*blob, options_);
  }
  if (Status s = EnsureDir(blobs_dir_ + "/thumbs"); !s.ok()) return s;
  if (!thumb.ok()) {
    const std::string& why = thumb.status().reason();
    if (why.empty()) return thumb.status();  // not the image's fault
    // Remembered, so a bad photo costs one decode, not one per request.
    if (Status s = WriteFileAtomically(
            none, why + "\n" + thumb.status().message(), 0600);
        !s.ok()) {
      return s;
    }
    return thumb.status();
  }
  if (Status s = WriteFileAtomically(jpg, *thumb, 0600); !s.ok()) return s;
  return thumb;
}

std::string PlaceholderSvg(std::string_view label) {
  std::string text;
  for (char c : label) {
    switch (c) {
      case '&': text += "&amp;"; break;
      case '<': text += "&lt;"; break;
      case '>': text += "&gt;"; break;
      case '"': text += "&quot;"; break;
      default: text += c;
    }
  }
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" "
         "height=\"240\" viewBox=\"0 0 320 240\"><rect width=\"320\" "
         "height=\"240\" fill=\"#eeeae4\"/><g fill=\"none\" stroke=\"#8a8f96\" "
         "stroke-width=\"6\"><rect x=\"115\" y=\"80\" width=\"90\" "
         "height=\"64\" rx=\"8\"/><circle cx=\"160\" cy=\"112\" r=\"18\"/>"
         "</g><text x=\"160\" y=\"185\" font-family=\"sans-serif\" "
         "font-size=\"16\" text-anchor=\"middle\" fill=\"#5b6573\">" +
         text + "</text></svg>";
}

}  // namespace kbo::server
