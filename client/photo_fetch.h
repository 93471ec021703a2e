#ifndef KBO_CLIENT_PHOTO_FETCH_H_
#define KBO_CLIENT_PHOTO_FETCH_H_

// Photos coming down from the server (docs/protocol.md §8; issue 10,
// deliverable 6): after a pull, the thumbnails of the photo rows this
// device holds but whose picture it does not (a trainer sees the field
// officer's pictures); and a photo's blob on demand (`kbo photo fetch`): the
// recording device's upload copy (client/photo_copy.h), whose camera
// original stays on that device.
// Speaks HTTP only through sync_client.h's HttpTransport and SignRequest.
//
// Files, beside the content-addressed originals of client/blob_store.h:
//   blobs/thumbs/<sha256>.jpg   the server's thumbnail (written atomically)
//   blobs/thumbs/<sha256>.none  the server said this photo has none (corrupt
//                               or too large): not asked for again
//   blobs/partial/<sha256>      an original being downloaded (resumed from
//                               its size; removed once whole and verified)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/blob_store.h"
#include "client/store.h"
#include "client/sync_client.h"
#include "shared/result.h"

namespace kbo::client {

// Thumbnails fetched in one sync, at most. Default 200 (about 6 MB at the
// server's 15-40 KB each): a first sync over a rural link stays short; the
// rest come with the next syncs.
inline constexpr size_t kDefaultThumbnailsPerSync = 200;

struct ThumbnailFetch {
  uint64_t fetched = 0;      // thumbnails now held
  uint64_t none = 0;         // photos the server has no thumbnail of
  uint64_t waiting = 0;      // photos the server does not hold yet
  uint64_t left = 0;         // not tried this time (the bound, or a stop)
  Status stopped;            // why it stopped early (OK if it did not)
};

// Where a photo's thumbnail lives under `blobs_dir` (empty if `sha256` is not
// a blob name).
std::string ThumbnailPath(const std::string& blobs_dir, std::string_view sha256);

// The thumbnail of `sha256` if this device holds one (JPEG bytes).
//   kNotFound if not; kInvalidArgument for a bad name; kIOError.
Result<std::string> ReadThumbnail(const std::string& blobs_dir,
                                  std::string_view sha256);

// Fetches the thumbnails of live photo rows (newest first) whose picture
// this device holds neither whole nor as a thumbnail, at most `max`, with
// signed GET /v1/thumbs/<sha256> to `base_url`. Never fails: a photo the
// server does not hold yet, a network error or a refusal leaves the photo
// for the next sync (`stopped` says why it stopped early); a thumbnail
// bigger than protocol::kMaxThumbBytes or not a JPEG is not kept.
ThumbnailFetch FetchThumbnails(ClientStore& store, HttpTransport& transport,
                               const std::string& base_url,
                               size_t max = kDefaultThumbnailsPerSync);

// Downloads the original of photo `sha256` from the enrolled server (or
// `server_url` if not empty) in chunks of protocol::kBlobChunkBytes (signed
// GET /v1/originals/<sha256>?offset=O), appending each to
// blobs/partial/<sha256> so an interrupted download resumes where it
// stopped; then checks its SHA-256 and stores it in the blob store. Returns
// what was stored (already held: nothing is downloaded).
//   kInvalidArgument     not a blob name;
//   kFailedPrecondition  not enrolled;
//   kNotFound            no photo row of this device names it, or the
//                        server does not hold it (not in scope / not yet
//                        uploaded: the server's message says which);
//   kCorruption          the bytes do not hash to `sha256` (discarded);
//   kUnavailable         the server cannot be reached (the partial file is
//                        kept: run it again);
//   others               as the server said.
Result<StoredBlob> FetchOriginal(ClientStore& store, HttpTransport& transport,
                                 std::string_view sha256,
                                 const std::string& server_url = "");

}  // namespace kbo::client

#endif  // KBO_CLIENT_PHOTO_FETCH_H_
