// libFuzzer target: a raw HTTP request as kbo-server receives it.
//
// The server's routing and query parsing are cpp-httplib's (0.11.4, a
// compiled Debian library, not instrumented: libFuzzer gets no coverage from
// inside it, but ASan still sees its heap and the allocation cap applies).
// Our route table and handlers live in server/http_api.cc's anonymous
// namespace, so this target runs httplib's request parser
// (Server::process_request, protected, over an in-memory stream) with the
// routes of docs/protocol.md (the same protocol.h paths and blob pattern),
// and hands what it parsed to the pieces of ours that have a header:
//   - POST /v1/enroll: wire::ParseEnrollRequest, then Enrolment::Enroll;
//   - every other /v1 route: RequestAuth::Authenticate on the signed-request
//     headers and the request target (with one enrolled device whose id the
//     seeds use, so lookups of a known device are reached), and the query
//     numbers (?after=, ?limit=, ?offset=, ?total=) through
//     server/http_params.h, the parser http_api.cc's ParamU64 calls: a
//     number it accepts must print back to its text (less leading zeros).
// Not reached (no header): http_api.cc's handlers; see docs/fuzzing.md.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <httplib.h>

#include "server/enrolment.h"
#include "server/http_params.h"
#include "server/request_auth.h"
#include "server/server_store.h"
#include "shared/protocol.h"
#include "tools/fuzzers/fuzz_support.h"

namespace {

using namespace kbo;

constexpr const char* kEnrolledDevice = "66666666-6666-4666-8666-666666666666";

class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override {
    written_ += size;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "192.0.2.7";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8787;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  size_t written_ = 0;
};

class Server final : public httplib::Server {
 public:
  Server() {
    Result<std::unique_ptr<server::ServerStore>> opened =
        server::ServerStore::Open(dir_.File("data"));
    FUZZ_CHECK(opened.ok());
    store_ = std::move(opened).value();
    enrolment_ = std::make_unique<server::Enrolment>(*store_);
    auth_ = std::make_unique<server::RequestAuth>(*store_);
    Result<std::string> token = enrolment_->CreateToken("trainer", "5011",
                                                        server::Enrolment::kDefaultTtlMs);
    FUZZ_CHECK(token.ok());
    server::EnrollRequest request;
    request.token = *token;
    request.device_id = *Uuid::Parse(kEnrolledDevice);
    request.public_key = KeyPair::Generate().public_key();
    FUZZ_CHECK(enrolment_->Enroll(request).ok());

    set_payload_max_length(protocol::kMaxPushBytes);
    auto authed = [this](const httplib::Request& req, httplib::Response& res) {
      const std::string device = req.get_header_value(protocol::kDeviceHeader);
      const std::string time = req.get_header_value(protocol::kTimeHeader);
      const std::string nonce = req.get_header_value(protocol::kNonceHeader);
      const std::string sig = req.get_header_value(protocol::kSignatureHeader);
      const server::SignedRequest signed_request{
          req.method, req.target, device, time, nonce, sig, req.body};
      Result<server::DeviceRecord> d = auth_->Authenticate(signed_request);
      fuzz::Say(req.path.c_str(), d.status().ToString());
      FUZZ_CHECK(!d.ok());  // nothing here is signed by the enrolled key
      for (const char* name : {"after", "limit", "offset", "total"}) {
        const size_t count = req.get_param_value_count(name);
        const std::string value = count > 0 ? req.get_param_value(name) : "";
        uint64_t n = 7;
        const bool ok = server::QueryU64(count, value, 7, &n);
        fuzz::Say(name, ok ? std::to_string(n) : "refused");
        // Leading zeros are allowed ("007" is 7); nothing else is dropped.
        const size_t digits = value.find_first_not_of('0');
        const std::string canonical =
            digits == std::string::npos ? "0" : value.substr(digits);
        FUZZ_CHECK(!ok || count == 0 || std::to_string(n) == canonical);
        FUZZ_CHECK(!ok || n <= static_cast<uint64_t>(INT64_MAX));
        FUZZ_CHECK(ok || n == 7);  // a refusal leaves the output alone
      }
      res.status = 401;
    };
    Post(std::string(protocol::kEnrollPath),
         [this](const httplib::Request& req, httplib::Response& res) {
           Result<server::EnrollRequest> parsed =
               wire::ParseEnrollRequest(req.body);
           fuzz::Say("enroll", parsed.status().ToString());
           if (!parsed.ok()) {
             res.status = 400;
             return;
           }
           Result<server::EnrollReply> reply = enrolment_->Enroll(*parsed);
           res.status = reply.ok() ? 200 : 401;
         });
    Get(std::string(protocol::kHealthPath),
        [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
    Post(std::string(protocol::kPushPath), authed);
    Get(std::string(protocol::kPullPath), authed);
    Get(std::string(protocol::kConflictsPath), authed);
    Get(std::string(protocol::kBlobsMissingPath), authed);
    Get(std::string(protocol::kOriginalsPath), authed);
    Post(std::string(protocol::kOriginalsPath), authed);
    const std::string blob_pattern =
        std::string(protocol::kBlobPathPrefix) + "([^/]+)";
    Get(blob_pattern, authed);
    Put(blob_pattern, authed);
  }

  void Handle(std::string_view request) {
    MemoryStream stream(request);
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/true, closed,
                                    [](httplib::Request&) {});
    fuzz::Say("request", ok ? "answered" : "not answered");
  }

 private:
  fuzz::ScratchDir dir_;
  std::unique_ptr<server::ServerStore> store_;
  std::unique_ptr<server::Enrolment> enrolment_;
  std::unique_ptr<server::RequestAuth> auth_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server();  // lives until exit
  server->Handle(fuzz::Bytes(data, size));
  return 0;
}
