#ifndef KBO_SERVER_HTTP_API_H_
#define KBO_SERVER_HTTP_API_H_

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

#include "server/blob_service.h"
#include "server/server_store.h"
#include "shared/protocol.h"
#include "shared/result.h"
#include "shared/status.h"

namespace kbo::server {

struct ServeOptions {
  // Loopback by default: exposing the server is a deliberate act.
  std::string host = "127.0.0.1";
  // 0 binds a free port (tests, scripts).
  int port = 8787;
  // Both set: HTTPS (httplib::SSLServer) with this PEM certificate and key.
  std::string tls_cert;
  std::string tls_key;
  // Connections one client address may hold at once (shared/edge_guard.h);
  // more are refused with 503 at once. Behind a reverse proxy every device
  // arrives from the proxy's address: raise it to the proxy's own limit.
  int connections_per_address = 32;
  // zstd bodies (docs/protocol.md §1 "Compressed bodies"): push bodies taken with
  // Content-Encoding: zstd, pull pages compressed for a device that asks,
  // and Accept-Encoding: zstd said on enrolment, push and pull answers.
  // false (serve --no-zstd): the server speaks as one from before zstd,
  // and refuses a zstd push body with 415.
  bool zstd = true;
  // How long a device's request waits for its turn at the database (other
  // devices' merges ahead of it) before it is refused with 503 "busy" and a
  // Retry-After; nothing is stored then. Under the devices' 30 s read
  // timeout (protocol::kDefaultMaxWriteWaitMs).
  std::chrono::milliseconds max_write_wait{protocol::kDefaultMaxWriteWaitMs};
  // The phone app's folder (serve --app DIR, else $KBO_APP_DIR), served at
  // /app/ (server/app_files.h); empty: no app installed, /app/ says so.
  std::string app_dir;
  // serve --behind-proxy: a reverse proxy on this machine (nginx,
  // tools/deploy/nginx/kbo.conf) sets X-Real-IP, and a request from
  // loopback is counted as from that address (console sign-in limits, the
  // enrolment rate). Without it X-Real-IP is never believed: anyone who
  // reaches the port through a forwarder that passes the header on (an ssh
  // tunnel) would choose their own address and guess passwords unlimited.
  bool behind_proxy = false;
  // serve --min-free-mb N: photos are refused (503 disk_full) while the disk
  // under blobs/ would keep less free (BlobService::kDefaultMinFreeBytes).
  uint64_t min_free_bytes = BlobService::kDefaultMinFreeBytes;
};

// Parses --listen "HOST:PORT" ("127.0.0.1:8787", "0.0.0.0:443",
// "[::1]:8787"). kInvalidArgument otherwise.
Status ParseListen(std::string_view text, ServeOptions* options);

// Serves the sync protocol (docs/protocol.md), the phone app at /app/ (when
// options.app_dir is set) and the dashboard at / until
// SIGINT or SIGTERM, then stops gracefully (requests in flight finish) and
// returns OK. Once the socket is bound, writes exactly one line
// "listening on HOST:PORT" to `ready` and flushes it. Requests are served
// by a thread pool; service calls are serialized on store.mutex(). Each
// request is logged to stderr: method, path, status, milliseconds, device.
//   kUnavailable: the address cannot be bound;
//   kInvalidArgument: the TLS certificate or key cannot be loaded, or
//     options.app_dir is set but fails CheckAppDir (server/app_files.h).
// Installs SIGINT/SIGTERM handlers for its duration (restored on return)
// and ignores SIGPIPE.
Status Serve(ServerStore& store, const ServeOptions& options,
             std::ostream& ready);

}  // namespace kbo::server

#endif  // KBO_SERVER_HTTP_API_H_
