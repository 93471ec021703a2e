#ifndef KBO_SERVER_APP_FILES_H_
#define KBO_SERVER_APP_FILES_H_

// The phone app's files, served by kbo-server at /app/ (docs/phone-app.md,
// "Served by kbo-server"). The app (WebAssembly + JavaScript) is built
// elsewhere into one flat folder (tools/wasm/build: build-wasm/app); the
// server only hands its files out. Free of HTTP types: server/http_api.cc
// maps these to routes.
//
// Only plain names in the folder itself are served: no subfolders, no
// dot-files, no "..", no symlinks, no devices or FIFOs, nothing over
// kMaxAppFileBytes. Files are read at each request, so replacing files in
// the folder is an app update, without a restart.

#include <cstddef>
#include <string>
#include <string_view>

#include "shared/result.h"
#include "shared/status.h"

namespace kbo::server {

inline constexpr size_t kMaxAppFileBytes = size_t{64} << 20;

// OK if `dir` is a folder holding a regular file index.html (what
// `serve --app DIR` requires at start); kInvalidArgument with a message
// naming `dir` otherwise.
Status CheckAppDir(const std::string& dir);

// True if `name` may be served: [A-Za-z0-9][A-Za-z0-9_.-]*, no "..", at
// most 255 bytes. (So no '/', no leading dot, no NUL.)
bool IsAppFileName(std::string_view name);

// The Content-Type of a served file, by its extension.
std::string AppContentType(std::string_view name);

struct AppFile {
  std::string bytes;
  // A strong entity tag, quoted: the first 128 bits of the SHA-256 of
  // `bytes` in hex.
  std::string etag;
};

// The file `name` (IsAppFileName) of folder `dir`, read now. kNotFound if
// the name is not servable or there is no such regular file (a symlink, a
// folder, a FIFO are "not found" too); kResourceExhausted if larger than
// kMaxAppFileBytes; kIOError if it cannot be read.
Result<AppFile> ReadAppFile(const std::string& dir, std::string_view name);

// True if an If-None-Match header value names `etag` (a list of tags,
// weak ones compared weakly as RFC 9110 §13.1.2 says, or "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

// The page /app/ answers (404) when no app folder is configured: Thai and
// English, UTF-8 HTML.
std::string AppNotInstalledPage();

}  // namespace kbo::server

#endif  // KBO_SERVER_APP_FILES_H_
