// kbo photo add FILE --subject ENTITY:ID [--caption C] [--max-mib N]
//                    [--long-edge PX] [--quality Q] [--as-taken]
//
// Keeps the photo as it was taken in the home's blobs/originals/ and makes
// its upload copy in blobs/ (client/photo_copy.h: downscaled to --long-edge,
// JPEG at --quality, upright, no metadata; both content-addressed, atomic),
// then records a photo row naming the copy, with the date and position from
// the original's EXIF, queues the copy for upload and remembers which
// original it came from, in one transaction. Prints the photo row's id.
//
// Order and what is left behind: the subject is checked first (a photo of a
// row that does not exist is refused before anything is copied); a file
// that is not a picture libvips can decode is refused before anything is
// written; if the row is then refused, the stored files stay unreferenced.
// That is harmless: they are content-addressed, so adding the photo again
// reuses them.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/blob_store.h"
#include "client/cli/command.h"
#include "client/photo_copy.h"
#include "client/photo_fetch.h"
#include "client/sync_client.h"

namespace kbo::client::cli {
namespace {

// The photo catalogue caps a photo at 2 GiB (photo.bytes); --max-mib cannot
// go beyond it.
constexpr int64_t kMaxMaxMib = 2048;

// A whole number from `min` to `max` given as --`flag` (`fallback` when
// absent).
Result<int> BoundedIntArg(const std::string* text, const char* flag, int min,
                          int max, int fallback) {
  if (text == nullptr) return fallback;
  int64_t n = 0;
  bool digits = !text->empty() && text->size() <= 6;
  for (char c : *text) {
    if (c < '0' || c > '9') {
      digits = false;
      break;
    }
    n = n * 10 + (c - '0');
  }
  if (!digits || n < min || n > max) {
    return Status::InvalidArgument(
        std::string("--") + flag + " must be a whole number from " +
        std::to_string(min) + " to " + std::to_string(max) + " (got '" +
        *text + "')");
  }
  return static_cast<int>(n);
}

Result<size_t> MaxBytesArg(const std::string* text) {
  if (text == nullptr) return kDefaultMaxPhotoBytes;
  Result<int> mib = BoundedIntArg(text, "max-mib", 1, kMaxMaxMib, 0);
  if (!mib.ok()) return mib.status();
  return static_cast<size_t>(*mib) << 20;
}

Status RunPhotoAdd(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args,
                           {{"subject", true},
                            {"caption", false},
                            {"max-mib", false},
                            {"long-edge", false},
                            {"quality", false},
                            {"as-taken", false, /*takes_value=*/false}},
                           {"FILE"}, &parsed);
      !s.ok()) {
    return s;
  }
  const std::string& path = parsed.positional[0];

  // --subject ENTITY:ID
  const std::string& subject = *parsed.Get("subject");
  const size_t colon = subject.find(':');
  if (colon == std::string::npos) {
    return UsageError(ctx,
                      "--subject needs ENTITY:ID, e.g. producer:1b4e28ba-"
                      "2fa1-41d2-883f-0016d3cca427 (got '" +
                          subject + "')");
  }
  Result<const Entity*> entity = EntityArg(subject.substr(0, colon));
  if (!entity.ok()) return entity.status();
  Result<Value> subject_type =
      ClientStore::ParseText("photo", "subject_type", (*entity)->name);
  if (!subject_type.ok()) {
    return Status::InvalidArgument("--subject: " +
                                   subject_type.status().message());
  }
  Result<Uuid> subject_id =
      IdArg(subject.substr(colon + 1), std::string((*entity)->name) + " id");
  if (!subject_id.ok()) return subject_id.status();

  RowValues row;
  row["subject_type"] = std::move(*subject_type);
  row["subject_id"] = Value::Text(subject_id->ToString());
  if (const std::string* caption = parsed.Get("caption")) {
    Result<Value> v = ClientStore::ParseText("photo", "caption", *caption);
    if (!v.ok())
      return Status::InvalidArgument("--caption: " + v.status().message());
    if (!v->is_null()) row["caption"] = std::move(*v);
  }
  UploadCopyOptions copy_options;
  Result<size_t> max_bytes = MaxBytesArg(parsed.Get("max-mib"));
  if (!max_bytes.ok()) return max_bytes.status();
  copy_options.max_bytes = *max_bytes;
  Result<int> long_edge =
      BoundedIntArg(parsed.Get("long-edge"), "long-edge", kMinUploadLongEdge,
                    kMaxUploadLongEdge, kDefaultUploadLongEdge);
  if (!long_edge.ok()) return long_edge.status();
  copy_options.long_edge = *long_edge;
  Result<int> quality =
      BoundedIntArg(parsed.Get("quality"), "quality", kMinUploadQuality,
                    kMaxUploadQuality, kDefaultUploadQuality);
  if (!quality.ok()) return quality.status();
  copy_options.quality = *quality;
  copy_options.as_taken = parsed.Has("as-taken");
  if (copy_options.as_taken &&
      (parsed.Get("long-edge") != nullptr || parsed.Get("quality") != nullptr)) {
    return UsageError(ctx,
                      "--as-taken sends the photo as it is: no --long-edge "
                      "or --quality with it");
  }

  Result<ClientStore*> opened = ctx.Store();
  if (!opened.ok()) return opened.status();
  ClientStore& store = **opened;
  // Refuse a photo of nothing before copying it anywhere.
  Result<StoredRow> target = store.Show((*entity)->name, *subject_id);
  if (!target.ok()) return target.status();
  if (target->deleted) {
    return Status::NotFound("no " + std::string((*entity)->name) + " with id " +
                            subject_id->ToString() + " (it was deleted)");
  }

  // Messages from here name the file as given ("photo.txt is not a JPEG or
  // PNG image", "photo.jpg is 25.3 MiB; the limit is 20 MiB").
  Result<std::string> bytes = ReadPhotoFile(path, *max_bytes);
  if (!bytes.ok()) return bytes.status();
  Result<StoredPhoto> photo =
      StorePhoto(store.paths().blobs, *bytes, path, copy_options);
  if (!photo.ok()) return photo.status();
  SetPhotoCells(*photo, &row);
  const std::optional<ClientStore::PhotoOriginal> original =
      OriginalRecord(*photo);

  // The photo row, its outbox entry, its upload queue entry and the note of
  // its original commit together.
  Result<Uuid> id = store.RecordPhoto(std::move(row),
                                       original ? &*original : nullptr);
  if (!id.ok()) {
    if (id.status().code() == Code::kInvalidArgument) {
      return Status::InvalidArgument(path + ": " + id.status().message());
    }
    return id.status();
  }
  ctx.out << id->ToString() << '\n';
  return Status();
}

// kbo photo fetch SHA256 [--server URL]
//
// Downloads the original of a photo this device knows only as a row (and
// perhaps a thumbnail) from the server, resumably, checks its SHA-256 and
// stores it in blobs/; prints the stored file's path.
Status RunPhotoFetch(Context& ctx, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  if (Status s = ParseArgs(ctx, args, {{"server", false}}, {"SHA256"}, &parsed);
      !s.ok()) {
    return s;
  }
  const std::string& sha = parsed.positional[0];
  if (!IsBlobName(sha)) {
    return UsageError(ctx, "SHA256 is the photo's sha256 (64 lowercase hex "
                           "digits, as kbo list photo shows it); got '" +
                               sha + "'");
  }
  std::string server;
  if (const std::string* url = parsed.Get("server")) {
    Result<std::string> normal = NormalizeServerUrl(*url);
    if (!normal.ok()) return normal.status();
    server = *normal;
  }
  Result<ClientStore*> opened = ctx.Store();
  if (!opened.ok()) return opened.status();
  std::unique_ptr<HttpTransport> transport = NewHttpTransport(HttpTimeouts{});
  Result<StoredBlob> blob = FetchOriginal(**opened, *transport, sha, server);
  if (!blob.ok()) return blob.status();
  ctx.out << BlobStore((*opened)->paths().blobs).PathFor(blob->sha256) << '\n';
  return Status();
}

}  // namespace

std::vector<Command> PhotoCommands() {
  std::vector<Command> c;
  c.push_back(
      {"photo", "add",
       "photo add FILE --subject ENTITY:ID [--caption C] [--max-mib N]\n"
       "[--long-edge PX] [--quality Q] [--as-taken]",
       "store a JPEG or PNG photo of a row (date and GPS from its EXIF) and "
       "its upload copy (what syncs: upright, no metadata, long edge "
       "--long-edge 320-8192, default 1600, JPEG --quality 30-95, default "
       "80); the original stays on this device (--as-taken: no copy, the "
       "photo syncs as it is, EXIF and all); --max-mib defaults to 20",
       RunPhotoAdd});
  c.push_back({"photo", "fetch", "photo fetch SHA256 [--server URL]",
               "download a photo as the server holds it (the recording device's "
               "upload copy; this device may "
               "hold only its thumbnail); prints where it is stored",
               RunPhotoFetch});
  return c;
}

}  // namespace kbo::client::cli
