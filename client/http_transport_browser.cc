// The browser's HttpTransport (the WebAssembly build, docs/phone-app.md): a
// synchronous XMLHttpRequest, which a worker may make (the app's core runs
// in a worker, one thread, and SyncClient's calls are synchronous). The one
// file of the sync that differs from the native build (http_transport.cc,
// cpp-httplib).
//
// What the browser does for us, and how that is told apart:
//   - it decodes a compressed answer itself (Content-Encoding), so the body
//     handed over is always plain and that header is dropped;
//   - it refuses to send headers it owns (Accept-Encoding, Content-Length,
//     Connection, ...): those are not set (none is signed);
//   - the whole answer is in memory before we see it: max_response_bytes is
//     checked on it, and on Content-Length before the body is copied.
#include <emscripten.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "client/sync_client.h"
#include "client/sync_internal.h"

// Sends one request; keeps the answer in Module.kboXhr. Returns the HTTP
// status, 0 when the exchange did not complete (no network, refused,
// timeout), -1 when there is no XMLHttpRequest here (Node), -2 when the
// browser refused the request itself (Module.kboXhr.error says why).
// clang-format off
EM_JS(int, kbo_xhr_send, (const char* method, const char* url,
                          const char* headers, const char* body, int body_len,
                          int timeout_ms), {
  Module.kboXhr = null;
  if (typeof XMLHttpRequest === "undefined") return -1;
  const xhr = new XMLHttpRequest();
  const inWorker = typeof WorkerGlobalScope !== "undefined";
  try {
    xhr.open(UTF8ToString(method), UTF8ToString(url), false);
    if (inWorker) {
      xhr.responseType = "arraybuffer";
      xhr.timeout = timeout_ms;
    } else {
      xhr.overrideMimeType("text/plain; charset=x-user-defined");
    }
    for (const line of UTF8ToString(headers).split("\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) xhr.setRequestHeader(line.slice(0, colon), line.slice(colon + 1));
    }
    xhr.send(body_len > 0 ? HEAPU8.slice(body, body + body_len) : null);
  } catch (e) {
    if (e && e.name === "NetworkError") return 0;
    Module.kboXhr = {error: String(e)};
    return -2;
  }
  let bytes;
  if (inWorker) {
    bytes = new Uint8Array(xhr.response || new ArrayBuffer(0));
  } else {
    const text = xhr.responseText || "";
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; ++i) bytes[i] = text.charCodeAt(i) & 0xff;
  }
  Module.kboXhr = {headers: xhr.getAllResponseHeaders() || "", body: bytes};
  return xhr.status;
});

EM_JS(int, kbo_xhr_body_size, (), {
  return Module.kboXhr && Module.kboXhr.body ? Module.kboXhr.body.length : 0;
});

EM_JS(void, kbo_xhr_copy_body, (char* out), {
  HEAPU8.set(Module.kboXhr.body, out);
});

// Module.kboXhr's headers or error text, malloc'ed (the caller frees).
EM_JS(char*, kbo_xhr_text, (int which), {
  const x = Module.kboXhr || {};
  const text = (which === 0 ? x.headers : x.error) || "";
  const n = lengthBytesUTF8(text) + 1;
  const p = _malloc(n);
  stringToUTF8(text, p, n);
  return p;
});
// clang-format on

namespace kbo::client {
namespace {

// Headers a browser sets itself and refuses from a page (the Fetch
// standard's forbidden request headers that this client could send).
bool BrowserOwns(std::string_view name) {
  const std::string n = Lower(name);
  return n == "accept-encoding" || n == "content-length" ||
         n == "connection" || n == "host" || n == "keep-alive" ||
         n == "transfer-encoding" || n == "te" || n == "date" ||
         n == "expect";
}

std::string TakeText(int which) {
  std::unique_ptr<char, decltype(&std::free)> p(kbo_xhr_text(which), &std::free);
  return p ? std::string(p.get()) : std::string();
}

class BrowserTransport final : public HttpTransport {
 public:
  explicit BrowserTransport(const HttpTimeouts& timeouts)
      : timeout_ms_(static_cast<int>(timeouts.connect_ms + timeouts.read_ms)) {}

  Result<HttpResponse> Send(const std::string& base_url,
                            const HttpRequest& request) override {
    std::string headers;
    for (const auto& [name, value] : request.headers) {
      if (BrowserOwns(name)) continue;
      headers += name + ":" + value + "\n";
    }
    if (!request.content_type.empty()) {
      headers += "Content-Type:" + request.content_type + "\n";
    }
    const std::string url = base_url + request.path;
    const int status = kbo_xhr_send(
        request.method.c_str(), url.c_str(), headers.c_str(),
        request.body.data(), static_cast<int>(request.body.size()), timeout_ms_);
    if (status == -1) {
      return Status::Unavailable(
          "this build speaks HTTP through the browser's XMLHttpRequest, and "
          "there is none here");
    }
    if (status == -2) {
      return Status::Unavailable("the browser refused the request to " + url +
                                 ": " + TakeText(1));
    }
    if (status == 0) {
      return Status::Unavailable(
          "could not reach " + base_url +
          " (no network, a wrong address, or the server is not running)");
    }
    HttpResponse response;
    response.status = status;
    const std::string all = TakeText(0);
    size_t start = 0;
    while (start < all.size()) {
      size_t end = all.find("\r\n", start);
      if (end == std::string::npos) end = all.size();
      const std::string_view line(all.data() + start, end - start);
      start = end + 2;
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) continue;
      std::string name = Lower(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      // Decoded by the browser already: the body below is plain.
      if (name == "content-encoding") continue;
      response.headers[std::move(name)] = std::string(value);
    }
    const int size = kbo_xhr_body_size();
    if (size < 0 || static_cast<size_t>(size) > request.max_response_bytes) {
      return Status::ResourceExhausted(
          "the answer from " + url + " is larger than " +
          std::to_string(request.max_response_bytes) + " bytes");
    }
    response.body.resize(static_cast<size_t>(size));
    if (size > 0) kbo_xhr_copy_body(response.body.data());
    return response;
  }

 private:
  int timeout_ms_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewHttpTransport(const HttpTimeouts& timeouts) {
  return std::make_unique<BrowserTransport>(timeouts);
}

}  // namespace kbo::client
