#include "server/thumbnails.h"

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

// Guards the making of cache files, so that two requests for one new
// thumbnail decode it once (shared/image.h serialises the decoding itself).
std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}

Status NoThumbnail(std::string message) {
  return Status::FailedPrecondition(std::move(message))
      .WithReason("no_thumbnail");
}
Status TooLarge(std::string message) {
  return Status::ResourceExhausted(std::move(message)).WithReason("too_large");
}

}  // namespace

Result<std::string> MakeThumbnail(std::string_view image,
                                  const ThumbnailOptions& options) {
  Result<JpegCopy> copy = MakeJpegCopy(image, options);
  if (copy.ok()) return std::move(copy->jpeg);
  const Status& s = copy.status();
  switch (s.code()) {
    case Code::kFailedPrecondition:
      return NoThumbnail(s.message());
    case Code::kResourceExhausted:
      return TooLarge(s.message());
    default:
      return s;
  }
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

  std::lock_guard<std::mutex> lock(CacheMutex());
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
    thumb = MakeThumbnail(*blob, options_);
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
