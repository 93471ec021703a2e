// FetchThumbnails over the batched POST /v1/thumbs (docs/protocol.md §8,
// "Thumbnails in one request"), against a scripted server: the answer's
// states, "later" resumed by the next request, and an older server's 404
// met by asking one by one. The real server's side is in
// tests/integration (photo_sync_test, attack_test).

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/photo_fetch.h"
#include "shared/error_body.h"
#include "shared/fs.h"
#include "shared/protocol.h"
#include "shared/wire.h"
#include "tests/support/client_store.h"
#include "tests/support/sample_data.h"
#include "tests/support/temp_dir.h"

namespace kbo::client {
namespace {

using testing::TempDir;

std::string Sha(char c) { return std::string(64, c); }
std::string Jpeg(char c) { return std::string("\xFF\xD8\xFF\xE0", 4) + std::string(100, c); }

// Answers POST /v1/thumbs from `script` (one answer per request, in order)
// or, as an older server, 404 to it and GET /v1/thumbs/<sha> from `held`.
class ScriptedServer : public HttpTransport {
 public:
  std::vector<std::vector<wire::ThumbAnswer>> script;
  bool old_server = false;
  std::map<std::string, std::string> held;
  std::vector<std::string> requests;  // "POST a,b,c" or "GET sha"
  std::vector<std::vector<std::string>> asked;

  Result<HttpResponse> Send(const std::string&, const HttpRequest& req) override {
    HttpResponse r;
    if (req.method == "POST" && req.path == protocol::kThumbsPath) {
      requests.push_back("POST");
      if (old_server) {
        r.status = 404;
        r.body = EncodeErrorBody(Status::NotFound("no such endpoint"));
        return r;
      }
      Result<std::vector<std::string>> shas = wire::ParseThumbsRequest(req.body);
      REQUIRE(shas.ok());
      asked.push_back(*shas);
      REQUIRE_FALSE(script.empty());
      std::vector<wire::ThumbAnswer> answer = script.front();
      script.erase(script.begin());
      REQUIRE(answer.size() == shas->size());
      r.status = 200;
      r.body = wire::EncodeThumbs(answer);
      return r;
    }
    const std::string prefix(protocol::kThumbPathPrefix);
    REQUIRE(req.method == "GET");
    REQUIRE(req.path.compare(0, prefix.size(), prefix) == 0);
    const std::string sha = req.path.substr(prefix.size());
    requests.push_back("GET");
    auto it = held.find(sha);
    if (it == held.end()) {
      r.status = 404;
      r.body = EncodeErrorBody(
          Status::NotFound("the photo has not been uploaded yet").WithReason("not_uploaded"));
      return r;
    }
    r.status = 200;
    r.body = it->second;
    return r;
  }
};

struct Device {
  TempDir dir;
  std::unique_ptr<ClientStore> store = testing::OpenStore(dir.path());
  testing::PhraoFixture f{*store};

  void Photo(char c) { PhotoOf(Sha(c)); }
  void PhotoOf(const std::string& sha) {
    auto id = store->RecordPhoto({{"subject_type", testing::T("producer")},
                                  {"subject_id", Value::Text(f.producer.ToString())},
                                  {"sha256", Value::Text(sha)},
                                  {"bytes", Value::Integer(1234)},
                                  {"mime", testing::T("image/jpeg")},
                                  {"district_code", testing::T("5011")}});
    REQUIRE(id.ok());
  }
  bool HasThumb(char c) { return FileExists(ThumbnailPath(store->paths().blobs, Sha(c))); }
};

wire::ThumbAnswer A(wire::ThumbState s, std::string jpeg = "") {
  wire::ThumbAnswer a;
  a.state = s;
  a.jpeg = std::move(jpeg);
  return a;
}

TEST_CASE("Thumbnails: many in one request, each state kept as it says, and "
          "what the answer had no room for asked again from there",
          "[photo_fetch][thumbs]") {
  Device d;
  for (char c : {'a', 'b', 'c', 'd', 'e'}) d.Photo(c);
  ScriptedServer server;
  using S = wire::ThumbState;
  // The first answer: a thumbnail, none ever, not uploaded, then full.
  server.script.push_back({A(S::kThumb, Jpeg('1')), A(S::kNone), A(S::kNotUploaded),
                           A(S::kLater), A(S::kLater)});
  server.script.push_back({A(S::kThumb, Jpeg('2')), A(S::kNotHere)});
  ThumbnailFetch got = FetchThumbnails(*d.store, server, "http://server");
  INFO(got.stopped.ToString());
  CHECK(got.stopped.ok());
  CHECK(got.fetched == 2);
  CHECK(got.none == 1);
  CHECK(got.waiting == 1);
  CHECK(got.left == 0);
  REQUIRE(server.asked.size() == 2);  // two round trips for five photos
  CHECK(server.asked[0].size() == 5);
  // The second starts at the first "later", in the same order.
  CHECK(server.asked[1] ==
        std::vector<std::string>{server.asked[0][3], server.asked[0][4]});
  const auto kept = [&](size_t k) {
    Result<std::string> t = ReadThumbnail(d.store->paths().blobs, server.asked[0][k]);
    return t.ok() ? *t : std::string();
  };
  CHECK(kept(0) == Jpeg('1'));
  CHECK(kept(3) == Jpeg('2'));
  CHECK(kept(1).empty());
  CHECK(kept(4).empty());

  // The next sync asks only for the one not uploaded yet, and the one no
  // longer in scope; never again for the one the server has none of.
  server.script.push_back({A(S::kThumb, Jpeg('3')), A(S::kNotHere)});
  ThumbnailFetch again = FetchThumbnails(*d.store, server, "http://server");
  CHECK(again.fetched == 1);
  REQUIRE(server.asked.size() == 3);
  CHECK(server.asked[2] ==
        std::vector<std::string>{server.asked[0][2], server.asked[0][4]});
}

TEST_CASE("Thumbnails: a full batch of kThumbsPerRequest, and the bound on one sync",
          "[photo_fetch][thumbs]") {
  Device d;
  const size_t n = protocol::kThumbsPerRequest + 3;
  for (size_t i = 0; i < n; ++i) {
    const char hex[] = "0123456789abcdef";
    d.PhotoOf(std::string(62, 'f') + hex[i / 16] + hex[i % 16]);
  }
  ScriptedServer server;
  using S = wire::ThumbState;
  server.script.push_back(std::vector<wire::ThumbAnswer>(protocol::kThumbsPerRequest,
                                                         A(S::kThumb, Jpeg('x'))));
  server.script.push_back({A(S::kThumb, Jpeg('y'))});
  // At most kThumbsPerRequest + 1 this sync: the last two are left.
  ThumbnailFetch got =
      FetchThumbnails(*d.store, server, "http://server", protocol::kThumbsPerRequest + 1);
  CHECK(got.fetched == protocol::kThumbsPerRequest + 1);
  CHECK(got.left == 2);
  CHECK(server.requests == std::vector<std::string>{"POST", "POST"});
}

TEST_CASE("Thumbnails: an older server (no POST /v1/thumbs) is asked one by one",
          "[photo_fetch][thumbs]") {
  Device d;
  for (char c : {'a', 'b', 'c'}) d.Photo(c);
  ScriptedServer server;
  server.old_server = true;
  server.held[Sha('a')] = Jpeg('a');
  server.held[Sha('c')] = Jpeg('c');
  ThumbnailFetch got = FetchThumbnails(*d.store, server, "http://server");
  CHECK(got.stopped.ok());
  CHECK(got.fetched == 2);
  CHECK(got.waiting == 1);
  CHECK(server.requests == std::vector<std::string>{"POST", "GET", "GET", "GET"});
  CHECK(d.HasThumb('a'));
  CHECK_FALSE(d.HasThumb('b'));
  CHECK(d.HasThumb('c'));
}

TEST_CASE("Thumbnails: an answer that does not parse keeps nothing and stops "
          "for this sync", "[photo_fetch][thumbs]") {
  Device d;
  for (char c : {'a', 'b'}) d.Photo(c);
  class Garbled : public HttpTransport {
   public:
    Result<HttpResponse> Send(const std::string&, const HttpRequest&) override {
      HttpResponse r;
      r.status = 200;
      r.body = std::string("KBOTHUMB1\x00\xff\xff\xff\x7f", 14);  // past the cap
      return r;
    }
  } garbled;
  ThumbnailFetch got = FetchThumbnails(*d.store, garbled, "http://server");
  CHECK(got.stopped.code() == Code::kCorruption);
  CHECK(got.fetched == 0);
  CHECK(got.left == 2);
  CHECK_FALSE(d.HasThumb('a'));
}

}  // namespace
}  // namespace kbo::client
