#include "client/sync_client.h"

#include <httplib.h>

#include <exception>
#include <memory>

#include "client/sync_internal.h"

namespace kbo::client {
namespace {

class HttplibTransport final : public HttpTransport {
 public:
  explicit HttplibTransport(const HttpTimeouts& timeouts)
      : timeouts_(timeouts) {}

  Result<HttpResponse> Send(const std::string& base_url,
                            const HttpRequest& request) override {
    // cpp-httplib and std::regex inside it may throw; nothing crosses this.
    try {
      return SendOrThrow(base_url, request);
    } catch (const std::exception& e) {
      client_.reset();
      return Status::Internal(std::string("HTTP client: ") + e.what());
    }
  }

 private:
  // cpp-httplib's error names ("Connection", "Read") for a person.
  static std::string Describe(httplib::Error error) {
    switch (error) {
      case httplib::Error::Connection:
        return "could not connect (no network, a wrong address, or the server "
               "is not running)";
      case httplib::Error::ConnectionTimeout:
        return "no answer to the connection attempt in time";
      case httplib::Error::Read:
        return "the connection broke or stalled before the answer came";
      case httplib::Error::Write:
        return "the connection broke or stalled while sending";
      case httplib::Error::SSLConnection:
        return "the TLS (https) connection failed (a server without TLS is "
               "reached with http://, not https://)";
      case httplib::Error::SSLServerVerification:
        return "the server's TLS certificate is not trusted by this device (a "
               "network in between answering for it, such as a Wi-Fi sign-in "
               "page, or a certificate this device's system does not know: ask "
               "the office whether the address and its certificate are right)";
      case httplib::Error::SSLLoadingCerts:
        return "cannot load the system's TLS certificates";
      default:
        return "HTTP error: " + httplib::to_string(error);
    }
  }

  static void SplitMs(int64_t ms, time_t* sec, time_t* usec) {
    *sec = static_cast<time_t>(ms / 1000);
    *usec = static_cast<time_t>((ms % 1000) * 1000);
  }

  Result<HttpResponse> SendOrThrow(const std::string& base_url,
                                   const HttpRequest& request) {
    if (!client_ || client_url_ != base_url) {
      client_ = std::make_unique<httplib::Client>(base_url);
      if (!client_->is_valid()) {
        client_.reset();
        return Status::InvalidArgument("cannot use the server URL " + base_url);
      }
      time_t sec = 0, usec = 0;
      SplitMs(timeouts_.connect_ms, &sec, &usec);
      client_->set_connection_timeout(sec, usec);
      SplitMs(timeouts_.read_ms, &sec, &usec);
      client_->set_read_timeout(sec, usec);
      SplitMs(timeouts_.write_ms, &sec, &usec);
      client_->set_write_timeout(sec, usec);
      client_->set_keep_alive(true);
      // Without it, the last segment of a request waits for the server's
      // delayed ACK (Nagle): up to 40 ms per request, 28 ms measured.
      client_->set_tcp_nodelay(true);
      client_->set_follow_location(false);
      client_url_ = base_url;
    }
    httplib::Request req;
    req.method = request.method;
    req.path = request.path;
    req.body = request.body;
    for (const auto& [name, value] : request.headers)
      req.headers.emplace(name, value);
    if (!request.content_type.empty()) {
      req.headers.emplace("Content-Type", request.content_type);
    }
    HttpResponse out;
    bool too_large = false;
    const size_t cap = request.max_response_bytes;
    req.content_receiver = [&out, &too_large, cap](const char* data, size_t n,
                                                   uint64_t, uint64_t) {
      if (n > cap - out.body.size()) {
        too_large = true;
        return false;
      }
      out.body.append(data, n);
      return true;
    };
    httplib::Result res = client_->send(req);
    if (too_large) {
      client_.reset();
      return Status::ResourceExhausted("the answer to " + request.method + " " +
                                       request.path + " is larger than " +
                                       std::to_string(cap) + " bytes");
    }
    if (!res) {
      // A failed exchange may leave a half-used keep-alive socket: start over.
      client_.reset();
      return Status::Unavailable(Describe(res.error()));
    }
    out.status = res->status;
    for (const auto& [name, value] : res->headers)
      out.headers[Lower(name)] = value;
    return out;
  }

  HttpTimeouts timeouts_;
  std::unique_ptr<httplib::Client> client_;
  std::string client_url_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewHttpTransport(const HttpTimeouts& timeouts) {
  return std::make_unique<HttplibTransport>(timeouts);
}

}  // namespace kbo::client
