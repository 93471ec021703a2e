#ifndef KBO_CLIENT_UI_UI_SERVER_H_
#define KBO_CLIENT_UI_UI_SERVER_H_

// `kbo ui`: the phone-friendly web app, served by the client on the device.
// The page, its script, styles and translations are embedded in the binary
// (client/ui/assets/); the JSON API is client/ui/ui_api.h. This is the only
// client file that uses httplib's server (CONVENTIONS §1).

#include <iosfwd>
#include <memory>
#include <string>

#include "client/store.h"
#include "client/ui/ui_api.h"
#include "shared/result.h"
#include "shared/status.h"

namespace kbo::client::ui {

struct UiOptions {
  // "HOST:PORT" ("[::1]:PORT" for IPv6, or a bare PORT for 127.0.0.1).
  // Port 0 picks a free port. Default: 127.0.0.1:8080.
  std::string listen = "127.0.0.1:8080";
  // POST /api/sync calls it (see SyncHook); empty: 503 "sync not available".
  SyncHook sync;
  // `sync` uses a store of its own (UiApi::set_sync_uses_own_store).
  bool sync_own_store = false;
  // POST /api/enrol calls it (see EnrolHook); empty: 503 "enrolment not
  // available".
  EnrolHook enrol;
  // Where the "listening on http://HOST:PORT" line (and the PIN) go.
  // nullptr: std::cout.
  std::ostream* out = nullptr;
  // The PIN required when HOST is not loopback (127.0.0.0/8, ::1,
  // localhost). Empty: a random 6-digit PIN. Ignored on loopback.
  std::string pin;
  // Seconds the server waits for the next bytes of a request or for the
  // client to take the next bytes of a reply before it drops the
  // connection. Default 30: a photo crossing a hall's Wi-Fi keeps moving.
  int io_timeout_seconds = 30;
};

// A bound UI server. Requests are served on httplib's thread pool; the store
// is used by one request at a time (UiApi's lock).
//
// Security, in order, for every request:
//   - On loopback, the Host header must name a loopback host (a page on the
//     internet cannot reach the API through DNS rebinding).
//   - A write (POST/PATCH/DELETE) carrying an Origin header must come from
//     this server's own origin (no cross-site form posts).
//   - Off loopback, /api and /blob need the PIN: header X-KBO-PIN, or the
//     session cookie that POST /api/pin sets. Otherwise 401 JSON. Wrong
//     PINs count per client address: after 5, that address waits 1 s, then
//     2, 4, ... up to 15 min per further wrong PIN (429 with Retry-After;
//     its PIN is not compared meanwhile); other addresses and open sessions
//     are never affected.
//   - Content-Length above the route's cap (64 KiB JSON, 20 MiB photos) is
//     refused (413) before the body is read.
class UiServer {
 public:
  // Parses opts.listen and binds, exclusively (no SO_REUSEPORT).
  // kInvalidArgument for a malformed address; kFailedPrecondition, naming
  // the port, if the address cannot be bound (in use, not this machine's).
  // `store` must outlive the server.
  static Result<std::unique_ptr<UiServer>> Bind(ClientStore& store,
                                                const UiOptions& opts);
  ~UiServer();
  UiServer(const UiServer&) = delete;
  UiServer& operator=(const UiServer&) = delete;

  const std::string& host() const;
  int port() const;
  // "http://HOST:PORT" (IPv6 hosts in brackets).
  std::string url() const;
  bool pin_required() const;
  // The PIN ("" on loopback).
  const std::string& pin() const;

  // Serves until Stop(). kIOError if the listening socket fails.
  Status Serve();
  // Makes Serve() return; safe from any thread, also before Serve().
  void Stop();

 private:
  struct Impl;
  explicit UiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Prints "listening on http://HOST:PORT" and, off loopback, the PIN line to
// `out`, and flushes it.
void PrintBanner(const UiServer& server, std::ostream& out);

// Binds, prints "listening on http://HOST:PORT" (and, off loopback,
// "PIN: NNNNNN ...") to opts.out, flushed, then serves until the process is
// stopped. Errors as UiServer::Bind / Serve.
Status RunUi(ClientStore& store, const UiOptions& opts);

// True iff `host` is a loopback name: 127.0.0.0/8, ::1 or localhost.
bool IsLoopbackHost(const std::string& host);

// Splits "HOST:PORT", "[V6]:PORT" or "PORT" into host and port (0-65535).
// kInvalidArgument with a message naming the flag otherwise.
Status ParseListenAddress(const std::string& text, std::string* host,
                          int* port);

}  // namespace kbo::client::ui

#endif  // KBO_CLIENT_UI_UI_SERVER_H_
