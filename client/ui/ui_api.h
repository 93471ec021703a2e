#ifndef KBO_CLIENT_UI_UI_API_H_
#define KBO_CLIENT_UI_UI_API_H_

// The JSON API of `kbo ui` over ClientStore, with no HTTP types: the server
// (client/ui/ui_server.cc) turns an httplib request into an ApiRequest and
// the ApiReply back, so the API can be tested without a socket. Every write
// goes through the same ClientStore calls the CLI makes (same validation,
// same messages, one transaction per action). docs/ui.md lists the routes.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/blob_store.h"
#include "client/photo_record.h"
#include "client/store.h"
#include "client/sync_client.h"
#include "shared/status.h"

namespace kbo::client::ui {

// Largest JSON request body: 64 KiB, the catalogue's cap on one long text
// value; a form never comes near it.
inline constexpr size_t kMaxJsonBodyBytes = size_t{64} << 10;
// Largest photo upload: the CLI's default cap (client/blob_store.h).
inline constexpr size_t kMaxPhotoUploadBytes = kDefaultMaxPhotoBytes;

// Called by POST /api/sync; fills `summary` with a line for a person on
// success. kUnavailable means "no signal" (everything stays in the store).
// Called with the API's store lock held (unless UiApi::set_sync_uses_own_store,
// for a hook with a store of its own), so it may use the same ClientStore
// (which is not thread-safe); other UI requests wait until it returns, but
// GET /api/sync/progress, which reads only what the hook reports through
// `progress` (call it as SyncOptions::progress is called).
// On success it fills `summary` (the screen says it in the person's
// language; the API also gives DescribeSummary's English line).
// What POST /api/sync asked for: {"records_only": true} is
// SyncOptions::records_only (the phone app's sync when the signal returns).
struct SyncRequest {
  bool records_only = false;
};
using SyncHook = std::function<Status(SyncSummary* summary, const SyncProgress& progress,
                                      const SyncRequest& request)>;

// Called by POST /api/enrol with a server URL (already normalized by
// NormalizeServerUrl) and a token: what `kbo enroll --server URL --token
// TOKEN` does (SyncClient::Enroll; `force` as --force). Errors as
// SyncClient::Enroll; a refusal by the server should come back as
// kInvalidArgument with reason "enrol_refused" (its message says why: an
// unknown, used, expired or cancelled token). The API turns any other
// 401/403 status into that too, so the page never takes it for its own PIN.
// Called with the API's store lock held.
// `force`: as `kbo enroll --force` (changes still waiting for another
// server go to this one; kFailedPrecondition "pending_elsewhere" without).
using EnrolHook = std::function<Result<EnrollResult>(
    const std::string& server_url, const std::string& token, bool force)>;

// How a photo given to the UI becomes blobs, and how its thumbnail is made:
// one per build, like the transport (client/sync_client.h). Natively
// (client/ui/photo_hooks_native.cc) with libvips: the upload copy of
// client/photo_copy.h and the thumbnails of client/photo_thumb.h. In the
// phone app (client/app/photo_hooks_app.cc) the page has already made the
// upload copy with a canvas, so the core stores the bytes as given, and a
// thumbnail is the one kbo sync fetched or else the photo itself.
struct PhotoHooks {
  // Stores the photo `bytes` (at most kMaxPhotoUploadBytes) under the
  // blobs folder; errors as StorePhoto (kInvalidArgument: nothing written).
  // `taken_head`: FormPart::taken_head (the app's), else empty.
  std::function<Result<StoredPhoto>(
      const std::string& blobs_dir, std::string_view bytes,
      std::string_view display_name, std::string_view taken_head)>
      store;
  // The thumbnail of photo `sha256`, as LocalThumbnail.
  std::function<Result<std::string>(const std::string& blobs_dir,
                                    std::string_view sha256)>
      thumbnail;
};

// This build's PhotoHooks.
PhotoHooks BuildPhotoHooks();

// What `kbo sync` does, as a SyncHook for the UI's sync button:
// SyncClient(store).Sync() with the default options (the enrolled server,
// retries, timeouts), the summary being the sync's. `store` must
// outlive the hook. Errors as SyncClient::Sync: kUnavailable when the server
// cannot be reached ("no signal"), kFailedPrecondition when the device is not
// enrolled, the server's refusal otherwise.
SyncHook SyncHookFor(ClientStore& store);

// The same through a store of its own, opened on `home_dir` for each sync
// (a second SQLite connection; ClientStore::RefreshFromDisk keeps the two
// clocks one): for UiApi::set_sync_uses_own_store, natively. Not in the
// phone app, whose storage takes one connection.
SyncHook OwnStoreSyncHookFor(const std::string& home_dir, WallClock* wall);

// What `kbo enroll --server URL --token TOKEN` does, as an EnrolHook for the
// UI's enrolment screen: SyncClient(store).Enroll(url, token) (no --force),
// a refusal by the server (refused_by_server()) as kInvalidArgument with
// reason "enrol_refused". kbo ui (RunUiCommand) and the app wire it in. `store` must outlive it.
EnrolHook EnrolHookFor(ClientStore& store);

// One part of a multipart/form-data body: a text field (filename empty) or
// a file.
struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string content;
  // The phone app only: when `content` is the upload copy its page drew
  // (client/app), the first bytes of the photo as taken, where its EXIF
  // date and position are (the copy carries none). Empty otherwise.
  std::string taken_head = {};
};

struct ApiRequest {
  std::string method;  // "GET", "POST", "PATCH", "DELETE"
  std::string path;    // "/api/producer/ID", without the query
  std::multimap<std::string, std::string> query;
  std::string content_type;    // of the body, as sent
  std::string body;            // JSON, or raw photo bytes
  std::vector<FormPart> form;  // multipart/form-data parts, if any
};

struct ApiReply {
  int http_status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
};

// Routes (all JSON unless noted; errors are
//   {"error": code name, "message": text, "field": column?, "fields": {...}?}
// with 400 for invalid input, 404 not found, 503 unavailable, 500 internal):
//   GET    /api/status                  store status and sync facts
//   GET    /api/reference               districts, tambon, enums, columns
//   GET    /api/ENTITY[?COLUMN=VALUE]   live rows (any of the nine entities)
//   GET    /api/ENTITY/ID               one row (deleted ones too)
//   POST   /api/ENTITY                  record (JSON object, or multipart
//                                       with optional "photo" file parts)
//   PATCH  /api/ENTITY/ID               edit the given columns
//   DELETE /api/ENTITY/ID[?cascade=1]   tombstone; 400 "has_children"
//                                        ({"children": {entity: n}}) while
//                                        rows are recorded under it, unless
//                                        cascade=1 deletes them too; 200
//                                        {"id","deleted","rows","by_entity"}
//   POST   /api/attendance              one mark, or {"marks": [...]} in one
//                                       transaction
//   GET    /api/workshop/ID/rollcall?day=N
//   POST   /api/photo                   multipart (file, subject, caption) or
//                                       raw image body (?subject=&caption=)
//   GET    /api/conflicts               the local conflict table, read-only:
//                                        open first; resolved ones with
//                                        resolved_at and resolved_value
//   POST   /api/enrol                   {"server", "token"}: the EnrolHook,
//                                        when the device is not enrolled
//                                        (409 "already_enrolled" when it
//                                        is); 200 {"device_id", "server",
//                                        "role", "districts"}
//   POST   /api/sync                    the SyncHook
//   GET    /api/sync/progress           while a sync runs (answered without
//                                        waiting for it): {"running", "phase",
//                                        "done", "total" (0: unknown),
//                                        "unit" ("records"|"bytes"),
//                                        "fraction" (null: unknown),
//                                        "per_s", "seconds_left" (null),
//                                        "wire_bytes" (the phase's), "text",
//                                        "busy_s": seconds the busy server
//                                        asked to wait, left (null: none)}
// Thread-safe: requests are served one at a time (a mutex around the store).
class UiApi {
 public:
  // `store` must outlive the UiApi. `sync` may be empty (503 "sync not
  // available").
  UiApi(ClientStore& store, SyncHook sync,
        PhotoHooks photos = BuildPhotoHooks());
  UiApi(const UiApi&) = delete;
  UiApi& operator=(const UiApi&) = delete;

  // Answers one /api request. Never throws.
  ApiReply Handle(const ApiRequest& request);

  // GET /blob/SHA256: the stored photo with its mime type (from its own
  // header bytes). 400 for a name that is not 64 lowercase hex digits, 404
  // if the store does not hold it.
  ApiReply Blob(std::string_view sha256);

  // GET /thumb/SHA256: the photo's thumbnail, a JPEG of at most 320 px on
  // the long edge (client/photo_thumb.h: made from the stored photo on the
  // first request and cached beside the blob store, or the one kbo sync
  // fetched of another device's photo). The photo grids draw these; the
  // whole photo (Blob) only when a person opens one. 400 for a bad name,
  // 404 if neither the photo nor a thumbnail is held, 415 if the stored
  // photo does not decode.
  ApiReply Thumb(std::string_view sha256);

  bool sync_available() const { return static_cast<bool>(sync_); }

  // The sync hook uses a store of its own (OwnStoreSyncHookFor): POST
  // /api/sync then runs without the store lock, and every other request is
  // answered meanwhile (a sync stalled on a dropping link no longer holds
  // the roll-call for minutes). Set before serving.
  void set_sync_uses_own_store(bool own) { sync_own_store_ = own; }

  // What POST /api/enrol runs; empty (the default): 503 "enrolment not
  // available". Set before serving.
  void set_enrol(EnrolHook enrol) { enrol_ = std::move(enrol); }

 private:
  // Where the running sync is (GET /api/sync/progress): written by the
  // hook's progress calls, read without the store lock.
  struct SyncBoard {
    std::mutex mu;
    bool running = false;
    bool reported = false;
    SyncProgressReport last;
    std::chrono::steady_clock::time_point phase_start;
    std::chrono::steady_clock::time_point started;  // of the running sync
    // The server asked to wait until then (busy_wait_ms).
    std::chrono::steady_clock::time_point busy_until;
    uint64_t phase_bytes = 0;  // wire_bytes at the phase's first report
  };
  ApiReply Progress();
  Status RunSync(SyncSummary* summary, const SyncRequest& request);

  ClientStore& store_;
  SyncHook sync_;
  bool sync_own_store_ = false;
  PhotoHooks photos_;
  EnrolHook enrol_;
  std::mutex mu_;
  SyncBoard board_;
};

}  // namespace kbo::client::ui

#endif  // KBO_CLIENT_UI_UI_API_H_
