#include "client/photo_record.h"

#include <utility>

#include "client/image_info.h"

namespace kbo::client {

std::string OriginalsDir(const std::string& blobs_dir) {
  // BlobStore's fan-out folders are two hex digits: no clash.
  return blobs_dir + "/originals";
}

Result<std::string> ReadQueuedBlob(const std::string& blobs_dir,
                                   std::string_view sha256, size_t max_bytes) {
  Result<std::string> bytes = BlobStore(blobs_dir).Read(sha256, max_bytes);
  if (bytes.ok() || bytes.status().code() != Code::kNotFound) return bytes;
  Result<std::string> original =
      BlobStore(OriginalsDir(blobs_dir)).Read(sha256, max_bytes);
  if (original.status().code() == Code::kNotFound) return bytes;  // its message
  return original;
}

Result<StoredPhoto> StorePhotoAsGiven(const std::string& blobs_dir,
                                      std::string_view bytes,
                                      std::string_view display_name,
                                      size_t max_bytes) {
  BlobStore blobs(blobs_dir);
  Result<StoredBlob> stored = blobs.AddPhotoBytes(bytes, display_name, max_bytes);
  if (!stored.ok()) return stored.status();
  StoredPhoto photo;
  photo.upload = *stored;
  photo.original = std::move(*stored);
  return photo;
}

void SetPhotoCells(const StoredPhoto& photo, RowValues* row) {
  const StoredBlob& blob = photo.upload;
  (*row)["sha256"] = Value::Text(blob.sha256);
  (*row)["bytes"] = Value::Integer(blob.bytes);
  (*row)["mime"] = Value::Text(blob.info.mime);
  (*row)["width"] = Value::Integer(blob.info.width);
  (*row)["height"] = Value::Integer(blob.info.height);
  if (blob.info.taken_at) (*row)["taken_at"] = Value::Text(*blob.info.taken_at);
  if (blob.info.lat && blob.info.lon) {
    (*row)["lat"] = Value::Real(*blob.info.lat);
    (*row)["lon"] = Value::Real(*blob.info.lon);
  }
}

Result<StoredPhoto> StorePageCopy(const std::string& blobs_dir,
                                  std::string_view bytes,
                                  std::string_view display_name,
                                  std::string_view taken_head,
                                  size_t max_bytes) {
  Result<StoredPhoto> photo =
      StorePhotoAsGiven(blobs_dir, bytes, display_name, max_bytes);
  if (!photo.ok() || taken_head.empty()) return photo;
  photo->original_kept = false;
  Result<ImageInfo> taken = ReadImageInfo(taken_head);
  if (taken.ok()) {
    photo->upload.info.taken_at = taken->taken_at;
    photo->upload.info.lat = taken->lat;
    photo->upload.info.lon = taken->lon;
  }
  return photo;
}

std::optional<ClientStore::PhotoOriginal> OriginalRecord(const StoredPhoto& photo) {
  if (!photo.original_kept) return std::nullopt;
  ClientStore::PhotoOriginal o;
  o.sha256 = photo.original.sha256;
  o.bytes = photo.original.bytes;
  o.mime = photo.original.info.mime;
  o.width = photo.original.info.width;
  o.height = photo.original.info.height;
  return o;
}

}  // namespace kbo::client
