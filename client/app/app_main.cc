// The phone app's core (issue 13, docs/phone-app.md): the client's store,
// outbox, sync and the UI's JSON API (UiApi) in a worker, called by
// client/app/web/worker.js one request at a time. The page's screens are
// kbo ui's (client/ui/assets); where kbo ui sends an /api request over
// HTTP to `kbo ui`, the app hands the same request to this file.
//
// The calls, in order for one request:
//   kbo_app_begin(method, path, content_type)   "/api/...", "/blob/SHA",
//                                               "/thumb/SHA"
//   kbo_app_query(key, value)                   each query parameter
//   kbo_app_part(name, filename, type, p, n, h, hn)  each multipart part
//                                               (h: FormPart::taken_head)
//   kbo_app_send(body, n)                       runs it; the HTTP status
//   kbo_app_reply_type(), _reply_data(), _reply_size()
// The reply stays valid until the next kbo_app_begin. Nothing here is
// thread-safe: the app has one worker thread.

#include <emscripten.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "client/app/opfs_vfs.h"
#include "client/home.h"
#include "client/store.h"
#include "client/ui/ui_api.h"
#include "shared/error_body.h"

namespace {

using kbo::Status;
using kbo::client::ClientStore;
using kbo::client::SyncProgressReport;
namespace ui = kbo::client::ui;

struct App {
  std::unique_ptr<ClientStore> store;
  std::unique_ptr<ui::UiApi> api;
  ui::ApiRequest request;
  ui::ApiReply reply;
  std::string open_error;
};

App& TheApp() {
  static App* app = new App();
  return *app;
}

// The page shows the sync's progress while the worker is busy with it:
// each report goes to the page at once (worker.js passes it on), as GET
// /api/sync/progress would answer it.
// clang-format off
EM_JS(void, kbo_app_post_progress, (const char* json), {
  if (typeof Module.kboProgress === "function") Module.kboProgress(UTF8ToString(json));
});
// clang-format on

ui::ApiReply ErrorAnswer(int http, const std::string& code,
                         const std::string& message) {
  ui::ApiReply r;
  r.http_status = http;
  r.body = kbo::EncodeErrorBody(code, message, http);
  return r;
}

// The OPFS VFS as SQLite's default; false (and open_error says why) if the
// browser's storage cannot be used.
bool RegisterStorage(App& app) {
  if (const int rc = kbo_opfs_vfs_register(); rc != 0) {
    app.open_error = "the browser's file storage (OPFS) could not be used as "
                     "the database's (SQLite error " + std::to_string(rc) + ")";
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

// Opens (creating if new) the client's home at `home`, whose field.db the
// OPFS VFS holds (client/app/opfs_vfs.h). 0 on success; else 1 and
// kbo_app_open_error() says why.
EMSCRIPTEN_KEEPALIVE int kbo_app_open(const char* home) {
  App& app = TheApp();
  if (app.api) return 0;
  if (!RegisterStorage(app)) return 1;
  kbo::Result<std::unique_ptr<ClientStore>> store =
      ClientStore::Open(home, kbo::client::ClientWallClock());
  if (!store.ok()) {
    app.open_error = store.status().ToString();
    return 1;
  }
  app.store = std::move(*store);
  ClientStore& s = *app.store;
  if (Status pragmas = s.db().Exec(KBO_APP_SQLITE_PRAGMAS); !pragmas.ok()) {
    app.open_error = pragmas.ToString();
    app.store.reset();
    return 1;
  }
  // The worker is busy for the whole sync (its XMLHttpRequests are
  // synchronous), so the page cannot ask for the progress: each report is
  // sent to it, at most five a second, as GET /api/sync/progress answers.
  ui::SyncHook sync = [&s, &app](kbo::client::SyncSummary* summary,
                                 const kbo::client::SyncProgress& progress,
                                 const ui::SyncRequest& request) {
    double last_ms = 0;
    int last_phase = -1;
    const kbo::client::SyncProgress tell =
        [&](const SyncProgressReport& report) {
          if (progress) progress(report);
          const double now_ms = emscripten_get_now();
          // A new phase, the end of one, or a wait is always sent: the
          // report before a long request (a photo's upload after the push)
          // was dropped when it came within 200 ms of the last, and the bar
          // said "sending 0 of 4" through the whole upload.
          const int phase = static_cast<int>(report.phase);
          const bool turn = phase != last_phase || report.busy_wait_ms > 0 ||
                            (report.total > 0 && report.done >= report.total);
          if (!turn && now_ms - last_ms < 200) return;
          last_phase = phase;
          last_ms = now_ms;
          ui::ApiRequest ask;
          ask.method = "GET";
          ask.path = "/api/sync/progress";
          kbo_app_post_progress(app.api->Handle(ask).body.c_str());
        };
    return kbo::client::RunSyncForUi(s, summary, tell, request.records_only);
  };
  app.api = std::make_unique<ui::UiApi>(s, std::move(sync));
  app.api->set_enrol(ui::EnrolHookFor(s));
  return 0;
}

// Before kbo_app_open on a first start: makes the device key in `home`
// (ClientStore::PrepareDeviceKey) so the worker can store it in OPFS before
// kbo_app_open commits the device row. 0 on success; else 1 and
// kbo_app_open_error() says why.
EMSCRIPTEN_KEEPALIVE int kbo_app_prepare_key(const char* home) {
  App& app = TheApp();
  if (!RegisterStorage(app)) return 1;
  if (Status s = ClientStore::PrepareDeviceKey(home); !s.ok()) {
    app.open_error = s.ToString();
    return 1;
  }
  return 0;
}

EMSCRIPTEN_KEEPALIVE const char* kbo_app_open_error() {
  return TheApp().open_error.c_str();
}

EMSCRIPTEN_KEEPALIVE void kbo_app_begin(const char* method, const char* path,
                                        const char* content_type) {
  App& app = TheApp();
  app.request = ui::ApiRequest();
  app.reply = ui::ApiReply();
  app.request.method = method;
  app.request.path = path;
  app.request.content_type = content_type;
}

EMSCRIPTEN_KEEPALIVE void kbo_app_query(const char* key, const char* value) {
  TheApp().request.query.emplace(key, value);
}

EMSCRIPTEN_KEEPALIVE void kbo_app_part(const char* name, const char* filename,
                                       const char* content_type,
                                       const char* data, size_t size,
                                       const char* head, size_t head_size) {
  ui::FormPart part;
  part.name = name;
  part.filename = filename;
  part.content_type = content_type;
  part.content.assign(data, size);
  part.taken_head.assign(head, head_size);
  TheApp().request.form.push_back(std::move(part));
}

EMSCRIPTEN_KEEPALIVE int kbo_app_send(const char* body, size_t size) {
  App& app = TheApp();
  if (!app.api) {
    app.reply = ErrorAnswer(503, "unavailable",
                            "the app's store is not open: " + app.open_error);
    return app.reply.http_status;
  }
  app.request.body.assign(body, size);
  const std::string& path = app.request.path;
  const auto tail = [&path](std::string_view prefix) {
    return std::string_view(path).substr(prefix.size());
  };
  if (path.rfind("/api/", 0) == 0) {
    app.reply = app.api->Handle(app.request);
  } else if (path.rfind("/blob/", 0) == 0 && app.request.method == "GET") {
    app.reply = app.api->Blob(tail("/blob/"));
  } else if (path.rfind("/thumb/", 0) == 0 && app.request.method == "GET") {
    app.reply = app.api->Thumb(tail("/thumb/"));
  } else {
    app.reply = ErrorAnswer(404, "not_found", "no such endpoint: " + path);
  }
  app.request = ui::ApiRequest();
  return app.reply.http_status;
}

EMSCRIPTEN_KEEPALIVE const char* kbo_app_reply_type() {
  return TheApp().reply.content_type.c_str();
}
EMSCRIPTEN_KEEPALIVE const char* kbo_app_reply_data() {
  return TheApp().reply.body.data();
}
EMSCRIPTEN_KEEPALIVE size_t kbo_app_reply_size() {
  return TheApp().reply.body.size();
}

}  // extern "C"
